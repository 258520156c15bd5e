"""Finding free addresses of a range set with bounded reads.

A search walks the set in host-local's round-robin order, one window of
a few 256-address blocks at a time.  Each block is one keys-only prefix
scan, so a window costs one round trip and at most ``BLOCK`` keys per
block, however full the pool is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import ip_address

from .keys import KeyLayout
from .kv import Entry, Read, Scan
from .ranges import BLOCK, IPAddress, RangeSet, Segment


@dataclass
class Window:
    """The reads for the next stretch of a walk, and what they found."""

    segments: list[Segment]
    reads: list[Read]

    def free(
        self,
        rangeset: RangeSet,
        keys: KeyLayout,
        found: list[list[Entry]],
        want: int = BLOCK,
    ) -> list[IPAddress]:
        """Up to ``want`` free addresses, in walk order."""
        taken = {int(keys.address(e.key)) for batch in found for e in batch}
        free: list[IPAddress] = []
        for segment in self.segments:
            for value in range(segment.first, segment.last + 1):
                if value in taken:
                    continue
                ip = ip_address(value)
                if rangeset.usable(ip):
                    free.append(ip)
                    if len(free) == want:
                        return free
        return free


class Search:
    """A walk over one range set, handed out window by window."""

    def __init__(
        self,
        rangeset: RangeSet,
        keys: KeyLayout,
        after: IPAddress | None,
        blocks: int,
    ) -> None:
        self.rangeset = rangeset
        self.keys = keys
        self.blocks = blocks
        self._segments: Iterator[Segment] = rangeset.walk(after)

    def next_window(self) -> Window | None:
        """The next window, or ``None`` once the whole set was walked.

        A window spans ``blocks * BLOCK`` addresses (less at the end of
        the walk) in at most ``2 * blocks`` scans, so a partial first
        block does not shrink it.
        """
        segments: list[Segment] = []
        covered = 0
        for segment in self._segments:
            segments.append(segment)
            covered += segment.last - segment.first + 1
            if covered >= self.blocks * BLOCK:
                break
            if len(segments) == 2 * self.blocks:
                break
        if not segments:
            return None
        return Window(segments, [self._scan(s) for s in segments])

    def _scan(self, segment: Segment) -> Scan:
        first = segment.range.start.__class__(segment.first)
        after = None
        if segment.first % BLOCK:
            after = self.keys.ip(first - 1)
        return Scan(
            self.keys.block(first),
            start_after=after,
            limit=BLOCK,
            keys_only=True,
        )
