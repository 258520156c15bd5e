"""Store round trips per command on the plugin's own code path.

``LocalService`` is what the plugin executable calls: it opens the
store, builds an ``Allocator`` with the node's cursor files and closes
the store again, so every call here is as cold as a new plugin process
(the interpreter start aside).  The opener wraps each store it opens in
a ``CountingStore``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from macvlan_ipam.core.config import IpamConfig
from macvlan_ipam.core.kv import KVStore
from macvlan_ipam.core.records import Attachment
from macvlan_ipam.core.service import LocalService

from .counting import CountingStore, Counts


@dataclass
class Tally:
    """Round trips of every call of one command."""

    calls: list[Counts] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return sum(c.round_trips for c in self.calls) / len(self.calls)

    @property
    def worst(self) -> int:
        return max(c.round_trips for c in self.calls)

    @property
    def over_two(self) -> int:
        """Calls that needed more than two round trips."""
        return sum(c.round_trips > 2 for c in self.calls)

    @property
    def lost(self) -> int:
        return sum(c.lost for c in self.calls)


@dataclass
class RoundTrips:
    add: Tally = field(default_factory=Tally)
    check: Tally = field(default_factory=Tally)
    delete: Tally = field(default_factory=Tally)


def count_round_trips(
    config: IpamConfig,
    open_store: Callable[[], KVStore],
    samples: int,
    tag: str = "rt",
) -> RoundTrips:
    """ADD, CHECK and DEL ``samples`` attachments one after another.

    Each attachment is released before the next is added, so the pool
    stays as full as it was.
    """
    result = RoundTrips()
    current = Counts()

    def opener(_config: IpamConfig) -> KVStore:
        return CountingStore(open_store(), current)

    service = LocalService(opener)
    for n in range(samples):
        attachment = Attachment(f"{tag}-{n:04d}", "eth0")
        current = Counts()
        held = service.add(config, attachment, [])
        result.add.calls.append(current)
        current = Counts()
        service.check(config, attachment, [r.address for r in held])
        result.check.calls.append(current)
        current = Counts()
        service.delete(config, attachment)
        result.delete.calls.append(current)
    return result
