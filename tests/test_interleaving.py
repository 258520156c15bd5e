"""Concurrent allocators whose store calls run in an order hypothesis picks.

Each worker thread runs the real allocator over a gated view of one
reference store.  A worker stops at every read and commit until the
scheduler lets exactly one worker through, so hypothesis explores
interleavings of reads and commits and shrinks any that hands one
address to two attachments or loses a release.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from typing import Self

from hypothesis import given, settings
from hypothesis import strategies as st

from macvlan_ipam.core.allocator import Allocator
from macvlan_ipam.core.errors import ContentionError, PoolExhausted
from macvlan_ipam.core.kv import (
    Condition,
    Entry,
    KVStore,
    Operation,
    Read,
)
from macvlan_ipam.core.memory import MemoryStore
from macvlan_ipam.core.records import Attachment, decode_holding

from .helpers import network


class Scheduler:
    """Lets one gated worker at a time make its next store call."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting: set[int] = set()
        self.running: int | None = None
        self.finished: set[int] = set()

    def gate(self, worker: int) -> None:
        with self.cond:
            self.waiting.add(worker)
            self.running = None
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.running == worker)

    def finish(self, worker: int) -> None:
        with self.cond:
            self.finished.add(worker)
            self.running = None
            self.cond.notify_all()

    def step(self, choose: object, workers: int) -> bool:
        """Let one waiting worker run until its next gate; False when done.

        Returns only once every worker is parked again, so the caller
        sees the store between two calls, never during one.
        """
        with self.cond:
            self._settle(workers)
            if not self.waiting:
                return False
            assert callable(choose)
            worker = choose(sorted(self.waiting))
            self.waiting.discard(worker)
            self.running = worker
            self.cond.notify_all()
            self._settle(workers)
            return True

    def _settle(self, workers: int) -> None:
        settled = self.cond.wait_for(
            lambda: (
                self.running is None
                and len(self.waiting) + len(self.finished) == workers
            ),
            timeout=30,
        )
        assert settled, "a worker neither reached a gate nor finished"


class GatedStore(KVStore):
    def __init__(
        self, inner: KVStore, scheduler: Scheduler, worker: int
    ) -> None:
        self.inner = inner
        self.scheduler = scheduler
        self.worker = worker

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        raise NotImplementedError

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        self.scheduler.gate(self.worker)
        return self.inner.read(requests)

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        self.scheduler.gate(self.worker)
        return self.inner.commit(conditions, operations)


OPS = st.lists(
    st.tuples(st.sampled_from(["add", "del"]), st.integers(0, 5)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(OPS, min_size=2, max_size=4), st.data())
def test_interleaved_allocators_never_duplicate_or_lose(
    plans: list[list[tuple[str, int]]], data: st.DataObject
) -> None:
    store = MemoryStore()
    config = network("10.2.0.0/29")  # five usable addresses
    scheduler = Scheduler()
    done: dict[int, set[Attachment]] = {}
    errors: list[BaseException] = []

    def work(worker: int, plan: list[tuple[str, int]]) -> None:
        # A seeded pick after a lost commit keeps each run replayable.
        allocator = Allocator(
            GatedStore(store, scheduler, worker),
            config,
            rng=random.Random(worker),
        )
        released: set[Attachment] = set()
        try:
            for op, n in plan:
                who = Attachment(f"w{worker}-{n}", "eth0")
                if op == "del":
                    allocator.release(who)
                    released.add(who)
                    continue
                try:
                    allocator.allocate(who)
                    released.discard(who)
                except (PoolExhausted, ContentionError):
                    pass
        except BaseException as exc:  # surfaced by the main thread
            errors.append(exc)
        finally:
            done[worker] = released
            scheduler.finish(worker)

    threads = [
        threading.Thread(target=work, args=(w, p), daemon=True)
        for w, p in enumerate(plans)
    ]
    for t in threads:
        t.start()
    choose = lambda options: data.draw(st.sampled_from(options))  # noqa: E731
    while scheduler.step(choose, len(plans)):
        _assert_consistent(store, config)
    for t in threads:
        t.join(10)
    assert errors == []
    _assert_consistent(store, config)
    held = _holdings(store, config)
    for released in done.values():
        assert not released & set(held), "a completed release was lost"


def _holdings(store: KVStore, config: object) -> dict[Attachment, set[str]]:
    from macvlan_ipam.core.keys import KeyLayout

    keys = KeyLayout("/macvlan-ipam", "net")
    return {
        Attachment(*keys.attachment_of(e.key)): {
            str(i.ip) for i in decode_holding(e.value, e.key)
        }
        for e in store.scan_all(keys.attachments)
    }


def _assert_consistent(store: KVStore, config: object) -> None:
    holdings = _holdings(store, config)
    owners: dict[str, Attachment] = {}
    for who, ips in holdings.items():
        for ip in ips:
            assert ip not in owners, f"{ip} held by {owners[ip]} and {who}"
            owners[ip] = who
    ip_keys = {
        e.key.rsplit("/", 1)[1]
        for e in store.scan_all("/macvlan-ipam/net/ips/")
    }
    assert len(ip_keys) == len(owners)
