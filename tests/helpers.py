"""Small shared pieces for the unit tests."""

from __future__ import annotations

from collections.abc import Sequence

from macvlan_ipam.core.config import IpamConfig, parse_ipam
from macvlan_ipam.core.kv import (
    Condition,
    Entry,
    KVStore,
    Operation,
    Read,
)
from macvlan_ipam.core.memory import MemoryStore


def network(*subnets: str, name: str = "net", **ipam: object) -> IpamConfig:
    return parse_ipam(
        name, {"ranges": [[{"subnet": s}] for s in subnets], **ipam}
    )


class CountingStore(MemoryStore):
    """The reference store, counting round trips and lost commits."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.commits = 0
        self.lost = 0

    @property
    def round_trips(self) -> int:
        return self.reads + self.commits

    def reset(self) -> None:
        self.reads = self.commits = self.lost = 0

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        self.reads += 1
        return super().read(requests)

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        self.commits += 1
        ok = super().commit(conditions, operations)
        self.lost += not ok
        return ok


def dump(store: KVStore) -> dict[str, bytes]:
    return {e.key: e.value for e in store.scan_all("")}
