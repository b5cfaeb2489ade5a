"""``python -m bench [figure ...] [--all]``: measure Gatehouse's figures and print the table.

Figures: cold, zip, deployed, deployed-instructions, warm, instructions, login, enumeration,
forgot, reset, package (the default, about four minutes; the two instruction counts run under
valgrind, a minute and a half each); clients (the ways tried to create the session check's
DynamoDB client, about 40 s) and tests, which runs the whole ``make test`` and
so takes as long as it does (minutes): ask for them by name or with ``--all``.  Each figure
that cannot be measured becomes an ERROR row; the others still run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from bench import (
    cold_start,
    deployed,
    enumeration,
    forgot,
    lambda_zip,
    login,
    package_size,
    reset,
    suite_time,
    warm_authorizer,
    warm_instructions,
)
from bench.fixtures import ROOT, Fixture, make_fixture
from bench.report import (
    Result,
    details,
    failed,
    fmt_megabytes,
    fmt_seconds,
    markdown_table,
    skipped,
    text_table,
)


@dataclass(frozen=True)
class Effort:
    """How many samples each figure takes; the defaults keep `make bench` near one minute."""

    cold_rounds: int = 21
    zip_rounds: int = 11  # four children per round
    deployed_rounds: int = 11  # three children per round, each importing botocore
    clients_rounds: int = 9  # five children per round
    # Many short repeats rather than a few long ones: a burst of load from a
    # neighbour then spoils a few samples of every candidate, not one candidate.
    warm_repeats: int = 31
    warm_seconds_per_repeat: float = 0.02
    login_rounds: int = 21
    test_runs: int = 1


QUICK = Effort(5, 3, 3, 3, 5, 0.02, 5, 1)
Runner = Callable[[Effort], list[Result]]


def _fixture(**overrides: int) -> Fixture:
    return make_fixture(int(time.time()), **overrides)


def _cold(effort: Effort) -> list[Result]:
    return cold_start.measure(_fixture(), effort.cold_rounds)


def _zip(effort: Effort) -> list[Result]:
    return lambda_zip.measure(_fixture(), effort.zip_rounds)


def _deployed(effort: Effort) -> list[Result]:
    return deployed.measure(_fixture(), effort.deployed_rounds)


def _deployed_instructions(_effort: Effort) -> list[Result]:
    return [deployed.measure_instructions(_fixture())]


def _clients(effort: Effort) -> list[Result]:
    return deployed.measure_clients(_fixture(), effort.clients_rounds)


def _warm(effort: Effort) -> list[Result]:
    return [warm_authorizer.measure(_fixture(), effort.warm_repeats, effort.warm_seconds_per_repeat)]


def _instructions(_effort: Effort) -> list[Result]:
    return [warm_instructions.measure()]


def _login(effort: Effort) -> list[Result]:
    return login.measure(_fixture(), effort.login_rounds)


def _enumeration(effort: Effort) -> list[Result]:
    # Lockout out of reach: every round's attempts must be checked, not refused.
    return enumeration.measure(_fixture(lockout_threshold=100), effort.login_rounds)


def _forgot(effort: Effort) -> list[Result]:
    # Each forgot takes at least the floor (400 ms by default): fewer rounds than a login.
    return forgot.measure(int(time.time()), max(5, effort.login_rounds // 3))


def _reset(effort: Effort) -> list[Result]:
    # A wrong code costs about 30 ms (no argon2): three times a login's rounds in a few seconds.
    return reset.measure(int(time.time()), 3 * effort.login_rounds)


def _package(_effort: Effort) -> list[Result]:
    return package_size.measure()


def _tests(effort: Effort) -> list[Result]:
    return [suite_time.measure(effort.test_runs)]


# name -> (runner, title and target of the row shown if it cannot run or is not asked for)
FIGURES: dict[str, tuple[Runner, str, str]] = {
    "cold": (_cold, "authorizer cold start, venv (session check off)", f"≤ {cold_start.LIMIT:.2f}x"),
    "zip": (
        _zip,
        "authorizer cold start, make package's zip run as Lambda runs it",
        f"≤ {lambda_zip.LIMIT:.2f}x",
    ),
    "deployed": (
        _deployed,
        "authorizer cold start as deployed (session check on, moto server)",
        f"≤ {deployed.LIMIT:.2f}x",
    ),
    "deployed-instructions": (
        _deployed_instructions,
        "authorizer cold start as deployed, instructions executed (callgrind)",
        f"≤ {deployed.LIMIT:.2f}x",
    ),
    "clients": (
        _clients,
        "session check's client: dynamodb_only_client() + read_session",
        "info",
    ),
    "warm": (_warm, "warm authorizer call (session check cached)", f"≤ {warm_authorizer.LIMIT:.2f}x"),
    "instructions": (
        _instructions,
        "warm authorizer call, instructions executed (callgrind)",
        f"≤ {warm_authorizer.LIMIT:.2f}x",
    ),
    "login": (_login, "password login", f"≤ {login.LIMIT:.2f}x"),
    "enumeration": (
        _enumeration,
        "failed login, unknown user vs wrong password",
        f"≤ {enumeration.LIMIT:.2f}x",
    ),
    "forgot": (
        _forgot,
        "forgot password: code mailed vs no account",
        f"≤ {forgot.LIMIT:.2f}x",
    ),
    "reset": (
        _reset,
        "wrong-code reset, pending codes vs none",
        f"≤ {reset.LIMIT:.2f}x",
    ),
    "package": (
        _package,
        "deployment package (chalice package zip)",
        f"≤ {fmt_megabytes(package_size.LIMIT_BYTES)}",
    ),
    "tests": (_tests, "make test wall time", f"≤ {fmt_seconds(suite_time.LIMIT_SECONDS)}"),
}
# The suite alone can outlast the bench's budget of about a minute.
OPT_IN = {
    "clients": "not run: make bench BENCH_ARGS=clients (or --all), about 40 s",
    "tests": "not run: make bench BENCH_ARGS=tests (or --all)",
}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_state() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = " + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{git('rev-parse', '--short', 'HEAD') or 'unknown'}{dirty}"


def machine(load_at_start: float) -> str:
    # The load average says how much the neighbours were competing for the cores.
    return (
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; nproc {os.cpu_count()}; "
        f"CPU {_cpu_model()}; Python {platform.python_version()}; {platform.system()} "
        f"{platform.release()}; commit {_git_state()}; "
        f"1-min load average {load_at_start:.1f} at start, {os.getloadavg()[0]:.1f} at end"
    )


def run(names: list[str], effort: Effort) -> list[Result]:
    results: list[Result] = []
    for name in FIGURES:
        runner, title, target = FIGURES[name]
        if name not in names:
            if name in OPT_IN:
                results.append(skipped(title, target, OPT_IN[name]))
            continue
        started = time.perf_counter()
        print(f"… {name}", flush=True)
        try:
            results += runner(effort)
        except Exception as error:  # one broken figure must not hide the others
            results.append(failed(title, target, error))
        print(f"  {name} took {time.perf_counter() - started:.0f} s", flush=True)
    return results


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "figures", nargs="*", metavar="figure", help=f"any of {', '.join(FIGURES)} (default: all but tests)"
    )
    parser.add_argument("--all", action="store_true", help="every figure, `make test` included")
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke test, not numbers")
    parser.add_argument("--test-runs", type=int, help="how many times to run `make test` (default 1)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    args = parser.parse_args()
    unknown = set(args.figures) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}; choose from {', '.join(FIGURES)}")
    return args


def main() -> int:
    args = _arguments()
    effort = QUICK if args.quick else Effort()
    if args.test_runs:
        effort = replace(effort, test_runs=args.test_runs)
    started, load = time.perf_counter(), os.getloadavg()[0]
    default = [name for name in FIGURES if name not in OPT_IN]
    results = run(list(FIGURES) if args.all else args.figures or default, effort)
    print(f"\nGatehouse bench, {machine(load)}; took {time.perf_counter() - started:.0f} s\n")
    print(text_table(results))
    verdicts = [r.passed for r in results]
    errors = sum(bool(r.error) for r in results)
    print(f"\n{verdicts.count(True)} PASS, {verdicts.count(False)} MISS, {errors} ERROR")
    print("\n" + details(results))
    if args.markdown:
        print("\n" + markdown_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
