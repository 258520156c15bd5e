"""A store wrapper that counts round trips and lost commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

from macvlan_ipam.core.errors import InvalidConfig
from macvlan_ipam.core.kv import Condition, Entry, KVStore, Operation, Read
from macvlan_ipam.core.registry import open_store


@dataclass
class Counts:
    reads: int = 0
    commits: int = 0
    #: Commits that returned ``False``: a condition failed.
    lost: int = 0

    @property
    def round_trips(self) -> int:
        return self.reads + self.commits

    def add(self, other: Counts) -> None:
        self.reads += other.reads
        self.commits += other.commits
        self.lost += other.lost


class CountingStore(KVStore):
    """Delegates every call to ``inner`` and counts it in ``counts``.

    As a backend its ``store`` block is ``{"type": ..., "inner": {the
    real store block}}``.  Capabilities are not forwarded: the
    allocator uses none.
    """

    def __init__(self, inner: KVStore, counts: Counts | None = None) -> None:
        self.inner = inner
        self.counts = counts if counts is not None else Counts()

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        inner = config.get("inner")
        if not isinstance(inner, Mapping):
            raise InvalidConfig("store.inner: expected the real store block")
        return cls(open_store(inner))

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        self.counts.reads += 1
        return self.inner.read(requests)

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        self.counts.commits += 1
        applied = self.inner.commit(conditions, operations)
        if not applied:
            self.counts.lost += 1
        return applied

    def close(self) -> None:
        self.inner.close()
