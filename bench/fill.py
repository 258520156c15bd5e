"""Filling a pool to a given fraction, at random, without the plugin.

Our store is filled with the very records the allocator writes (its
key layout and record encoders); host-local's data dir with one file
per address, as host-local writes it.  Each filler shuffles the usable
addresses once and takes them in that order, so filling further keeps
what is there and the taken set stays uniformly random.
"""

from __future__ import annotations

import abc
import ipaddress
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from macvlan_ipam.core.config import IpamConfig
from macvlan_ipam.core.keys import KeyLayout
from macvlan_ipam.core.kv import KVStore, Operation, Put
from macvlan_ipam.core.ranges import IPAddress, RangeSet
from macvlan_ipam.core.records import (
    Attachment,
    encode_holding,
    encode_owner,
)

#: Attachments per fill commit: two puts each, within etcd's 128 ops.
BATCH = 60
#: Fill commits in flight at once.
WRITERS = 4
FILL_NODE = "bench-fill"
IFNAME = "eth0"


def usable_addresses(rangeset: RangeSet) -> list[IPAddress]:
    return [
        ipaddress.ip_address(i)
        for r in rangeset.ranges
        for i in range(int(r.start), int(r.end) + 1)
        if rangeset.usable(ipaddress.ip_address(i))
    ]


class Filler(abc.ABC):
    """Takes random usable addresses of one range set, as fill."""

    def __init__(self, rangeset: RangeSet, seed: int) -> None:
        self.rangeset = rangeset
        self.order = usable_addresses(rangeset)
        random.Random(seed).shuffle(self.order)
        self.taken = 0

    @property
    def usable(self) -> int:
        return len(self.order)

    def fill_to(self, fraction: float) -> int:
        """Hold ``fraction`` of the usable addresses; returns how many."""
        target = round(fraction * self.usable)
        if target > self.taken:
            self._write(self.order[self.taken : target], self.taken)
            self.taken = target
        return self.taken

    @abc.abstractmethod
    def _write(self, ips: list[IPAddress], first: int) -> None:
        """Reserve ``ips`` for fill attachments numbered from ``first``."""


class StoreFiller(Filler):
    """Fills the store the allocator of ``config`` reads."""

    def __init__(self, store: KVStore, config: IpamConfig, seed: int) -> None:
        super().__init__(config.range_sets[0], seed)
        self.store = store
        self.keys = KeyLayout(config.prefix, config.network)

    def _write(self, ips: list[IPAddress], first: int) -> None:
        starts = range(0, len(ips), BATCH)
        with ThreadPoolExecutor(WRITERS) as pool:
            for done in pool.map(lambda s: self._batch(ips, first, s), starts):
                if not done:
                    raise RuntimeError("an unconditional fill commit failed")

    def _batch(self, ips: list[IPAddress], first: int, start: int) -> bool:
        ops: list[Operation] = []
        for n, ip in enumerate(ips[start : start + BATCH], first + start):
            ops += self._records(fill_attachment(n), ip)
        return self.store.commit([], ops)

    def _records(self, attachment: Attachment, ip: IPAddress) -> list[Put]:
        r = self.rangeset.range_for(ip)
        assert r is not None
        record = self.keys.attachment(attachment.container_id, IFNAME)
        return [
            Put(self.keys.ip(ip), encode_owner(attachment)),
            Put(record, encode_holding([r.interface(ip)], FILL_NODE)),
        ]


class HostLocalFiller(Filler):
    """Fills host-local's ``<dataDir>/<network>`` directory.

    host-local keeps one file per address, named by the address and
    holding ``<container id>\\r\\n<ifname>``, and the last address it
    handed out in ``last_reserved_ip.<range set index>``.
    """

    def __init__(self, directory: Path, rangeset: RangeSet, seed: int) -> None:
        super().__init__(rangeset, seed)
        self.directory = directory

    def _write(self, ips: list[IPAddress], first: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for n, ip in enumerate(ips, first):
            owner = fill_attachment(n).container_id + "\r\n" + IFNAME
            (self.directory / str(ip)).write_text(owner)
        if ips:
            (self.directory / "last_reserved_ip.0").write_text(str(ips[-1]))


def fill_attachment(n: int) -> Attachment:
    return Attachment(f"fill-{n:06d}", IFNAME)
