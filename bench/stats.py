"""Summaries of repeated measurements."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Median, p90 and p99 of one series, in the series' unit."""

    p50: float
    p90: float
    p99: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if len(values) < 2:
            only = values[0] if values else float("nan")
            return cls(only, only, only, len(values))
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        return cls(statistics.median(values), cuts[89], cuts[98], len(values))

    def scaled(self, factor: float) -> Spread:
        return Spread(
            self.p50 * factor, self.p90 * factor, self.p99 * factor, self.count
        )
