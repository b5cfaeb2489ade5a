"""Gatehouse benchmarks: run them all with ``make bench`` or ``python -m bench``."""
