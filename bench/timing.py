"""Timing loops that suit a shared, noisy 2-core machine.

Candidates are measured *interleaved*, round after round, with the order
rotated each round: a burst of load from a neighbour then slows every
candidate about equally instead of landing on one of them, and the ratio of
medians stays meaningful even when the absolute numbers wander.
"""

from __future__ import annotations

import statistics
import time
import timeit
from collections.abc import Callable, Mapping, Sequence

Samples = dict[str, list[float]]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> float | None:
    """Interquartile range relative to the median: how much to trust one figure."""
    if len(values) < 4:
        return None
    q1, _, q3 = statistics.quantiles(values, n=4)
    return (q3 - q1) / statistics.median(values)


def summary(name: str, values: Sequence[float], fmt: Callable[[float], str]) -> str:
    iqr = spread(values)
    iqr_text = f"{iqr:.0%} of median" if iqr is not None else "n/a"
    return f"{name}: median {fmt(median(values))}, min {fmt(min(values))}, IQR {iqr_text}, n={len(values)}"


def paired_ratio(measured: Sequence[float], floor: Sequence[float]) -> float:
    """Median of round-by-round ratios: a second opinion that ignores slow drifts in load."""
    return median([m / f for m, f in zip(measured, floor, strict=True)])


def paired_difference(measured: Sequence[float], floor: Sequence[float]) -> float:
    """Median of round-by-round differences (the same idea, in seconds)."""
    return median([m - f for m, f in zip(measured, floor, strict=True)])


def _rotated(names: Sequence[str], round_no: int) -> list[str]:
    shift = round_no % len(names)
    return [*names[shift:], *names[:shift]]


def interleaved_calls(candidates: Mapping[str, Callable[[], object]], rounds: int) -> Samples:
    """Seconds per call: each candidate called once per round (for slow calls, >1 ms)."""
    names = list(candidates)
    samples: Samples = {name: [] for name in names}
    for round_no in range(rounds):
        for name in _rotated(names, round_no):
            start = time.perf_counter()
            candidates[name]()
            samples[name].append(time.perf_counter() - start)
    return samples


def loops_for(call: Callable[[], object], seconds: float) -> int:
    """How many calls one timeit repeat needs to last about ``seconds``."""
    timer = timeit.Timer(call)
    number = 1
    # Grow by tens until a trial lasts a tenth of the goal, then scale to the goal.
    while number < 1_000_000 and timer.timeit(number) < seconds / 10:
        number *= 10
    elapsed = timer.timeit(number)
    return max(1, round(number * seconds / max(elapsed, 1e-9)))


def interleaved_loops(
    candidates: Mapping[str, Callable[[], object]], repeats: int, seconds_per_repeat: float
) -> Samples:
    """Seconds per call, timeit style (gc off, tight loop), for fast calls.

    Each repeat of each candidate runs ``number`` calls sized to last about
    ``seconds_per_repeat``; one sample is that repeat's time divided by ``number``.
    """
    names = list(candidates)
    timers = {name: timeit.Timer(call) for name, call in candidates.items()}
    numbers = {name: loops_for(call, seconds_per_repeat) for name, call in candidates.items()}
    samples: Samples = {name: [] for name in names}
    for round_no in range(repeats):
        for name in _rotated(names, round_no):
            samples[name].append(timers[name].timeit(numbers[name]) / numbers[name])
    return samples
