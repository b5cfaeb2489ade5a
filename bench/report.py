"""Results of one bench run and the table they print as.

Every figure is a measured value compared with a target.  Most targets are
ratios to a floor measured in the same run (so a noisy, shared machine
slows both sides alike); the rest are absolute limits (bytes, seconds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Formatter = Callable[[float], str]


def fmt_seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.1f} µs"


def fmt_megabytes(value: float) -> str:
    return f"{value / 1e6:.2f} MB"


@dataclass
class Result:
    """One row of the table.

    With a ``floor`` the target is a ratio (``measured / floor <= limit``);
    without one it is an absolute limit on ``measured`` itself.  A ``limit``
    of None marks a row shown for information only.
    """

    figure: str
    measured: float
    limit: float | None
    fmt: Formatter = fmt_seconds
    floor: float | None = None
    floor_label: str = ""
    details: list[str] = field(default_factory=list)
    error: str | None = None
    not_run: str | None = None  # why the row has no numbers, when it was not asked for
    target: str = ""  # the target as text, for rows without numbers to derive it from

    @property
    def ratio(self) -> float | None:
        return self.measured / self.floor if self.floor else None

    @property
    def compared(self) -> float:
        """The number the limit applies to: the ratio, or the value itself."""
        ratio = self.ratio
        return ratio if ratio is not None else self.measured

    @property
    def passed(self) -> bool | None:
        if self.limit is None or self.error or self.not_run:
            return None
        return self.compared <= self.limit

    def target_text(self) -> str:
        if self.target:
            return self.target
        if self.limit is None:
            return "info"
        return f"≤ {self.limit:.2f}x" if self.floor is not None else f"≤ {self.fmt(self.limit)}"

    def verdict(self) -> str:
        if self.error:
            return "ERROR"
        if self.limit is None:
            return "—"
        distance = abs(self.limit - self.compared)
        gap = f"{distance:.2f}x" if self.floor is not None else self.fmt(distance)
        if self.limit == 0:  # "none at all": no budget to be a share of
            return "PASS" if self.compared <= 0 else f"MISS by {gap}"
        # Relative to the budget, so 10 % means the same thing on every row.
        margin = (self.limit - self.compared) / self.limit
        if margin >= 0:
            return f"PASS, {gap} ({margin:.0%}) to spare"
        return f"MISS by {gap} ({-margin:.0%} over)"

    def cells(self) -> list[str]:
        if self.error or self.not_run:
            verdict = f"ERROR: {self.error}" if self.error else self.not_run or ""
            return [self.figure, "—", "—", "—", self.target_text(), verdict]
        ratio = self.ratio
        floor = f"{self.fmt(self.floor)} {self.floor_label}".strip() if self.floor else "—"
        return [
            self.figure,
            self.fmt(self.measured),
            floor,
            f"{ratio:.2f}x" if ratio is not None else "—",
            self.target_text(),
            self.verdict(),
        ]


def failed(figure: str, target: str, error: BaseException) -> Result:
    """A row for a figure that could not be measured (the rest of the run goes on)."""
    message = f"{type(error).__name__}: {error}".splitlines()[0][:160]
    return Result(figure=figure, measured=0.0, limit=None, error=message, target=target)


def skipped(figure: str, target: str, why: str) -> Result:
    """A row for a figure left out of this run, so the table always lists every target."""
    return Result(figure=figure, measured=0.0, limit=None, not_run=why, target=target)


HEADERS = ["figure", "measured (median)", "floor (median)", "ratio", "target", "verdict"]


def text_table(results: Sequence[Result]) -> str:
    rows = [HEADERS, *(r.cells() for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(results: Sequence[Result]) -> str:
    rows = [HEADERS, ["---"] * len(HEADERS), *(r.cells() for r in results)]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows)


def details(results: Sequence[Result]) -> str:
    blocks = []
    for result in results:
        if result.details:
            blocks.append(result.figure + "\n" + "\n".join("  " + line for line in result.details))
    return "\n\n".join(blocks)
