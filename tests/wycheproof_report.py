"""Run tests/gatehouse/jose/test_wycheproof.py and print its counts as Markdown tables for docs/SECURITY.md.

    .venv/bin/python -m tests.wycheproof_report

Every number comes from this run: a vector counts as passed only if its
pytest case passed, and the rejection reasons are the ones the cases
recorded (``record_property``).
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.wycheproof_cases import ED25519_FILE, JWK_FILE, JWS_FILE, P256_FILE, RESULTS, jose_vectors

FILES = {
    "test_jws_vector": JWS_FILE,
    "test_jwk_vector": JWK_FILE,
    "test_ed25519_vector": ED25519_FILE,
    "test_p256_vector": P256_FILE,
}
_NODE = re.compile(r"::(test_\w+_vector)\[tc(\d+)-(valid|invalid|acceptable)-")


@dataclass
class Tally:
    passed: int = 0
    total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    key_sets: Counter[str] = field(default_factory=Counter)

    def add(self, passed: bool, properties: dict[str, Any]) -> None:
        self.total += 1
        self.passed += passed
        if "outcome" in properties:
            self.outcomes[str(properties["outcome"])] += 1
        if "key_set" in properties:
            self.key_sets[str(properties["key_set"])] += 1


class Collector:
    def __init__(self) -> None:
        self.by_file: dict[tuple[str, str], Tally] = defaultdict(Tally)
        self.by_group: dict[tuple[str, str, str], Tally] = defaultdict(Tally)
        self.groups = {(name, v.tc_id): v.group for name in (JWS_FILE, JWK_FILE) for v in jose_vectors(name)}
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        match = _NODE.search(report.nodeid)
        if match is None or not (report.when == "call" or report.failed):
            return
        name, tc_id, result = FILES[match.group(1)], int(match.group(2)), match.group(3)
        properties = dict(report.user_properties)
        self.by_file[(name, result)].add(report.passed, properties)
        if (name, tc_id) in self.groups:
            self.by_group[(name, self.groups[(name, tc_id)], result)].add(report.passed, properties)
        if report.failed:
            self.failed.append(report.nodeid)


def _reasons(tally: Tally) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in sorted(tally.outcomes.items()))


def render(collector: Collector) -> str:
    lines = [
        "| file | result | passed / total | outcomes | key set (loaded / refused) |",
        "|---|---|---|---|---|",
    ]
    for name in FILES.values():
        for result in RESULTS:
            tally = collector.by_file.get((name, result))
            if tally is None:
                lines.append(f"| `{name}` | {result} | 0 / 0 | | |")
                continue
            keys = (
                f"{tally.key_sets['loaded']} / {tally.key_sets['refused']}"
                if tally.key_sets
                else "n/a (primitive)"
            )
            lines.append(
                f"| `{name}` | {result} | {tally.passed} / {tally.total} | {_reasons(tally)} | {keys} |"
            )
    lines += ["", "| file | group | valid passed / total | invalid passed / total |", "|---|---|---|---|"]
    seen: list[tuple[str, str]] = []
    for name, group, _ in collector.by_group:
        if (name, group) not in seen:
            seen.append((name, group))
    for name, group in seen:
        cells = []
        for result in ("valid", "invalid"):
            tally = collector.by_group.get((name, group, result))
            cells.append(f"{tally.passed} / {tally.total}" if tally else "0 / 0")
        lines.append(f"| `{name}` | {group} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main() -> int:
    collector = Collector()
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "tests/gatehouse/jose/test_wycheproof.py"], plugins=[collector]
    )
    print()
    print(render(collector))
    if collector.failed:
        print(f"\n{len(collector.failed)} vector(s) failed:", *collector.failed, sep="\n  ")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
