"""Gatehouse benchmarks (issue #6): run them all with ``make bench`` or ``python -m bench``."""
