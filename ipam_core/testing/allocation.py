"""Allocator tests every backend must pass on its real server."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable

import pytest

from ..allocator import Allocator
from ..config import IpamConfig, parse_ipam
from ..errors import AddressTaken, ContentionError, PoolExhausted
from ..housekeeping import collect_garbage
from ..kv import KVStore
from ..ranges import IPAddress
from ..records import Attachment


class AllocatorContract:
    """The allocator over the subclass's ``store`` fixture."""

    @pytest.fixture
    def network(self) -> Callable[..., IpamConfig]:
        def make(*subnets: str) -> IpamConfig:
            return parse_ipam(
                f"kit-{uuid.uuid4().hex[:12]}",
                {"ranges": [[{"subnet": s}] for s in subnets]},
            )

        return make

    def test_dual_stack_add_and_release(
        self, store: KVStore, network: Callable[..., IpamConfig]
    ) -> None:
        config = network("10.9.0.0/28", "fd00:9::/120")
        allocator = Allocator(store, config)
        first = allocator.allocate(Attachment("c1", "eth0"))
        assert [r.address.version for r in first] == [4, 6]
        again = allocator.allocate(Attachment("c1", "eth0"))
        assert again == first
        released = allocator.release(Attachment("c1", "eth0"))
        assert set(released) == {r.address for r in first}
        assert allocator.release(Attachment("c1", "eth0")) == []
        assert store.scan_all(allocator.keys.base + "/") == []

    def test_exhaustion_and_requested_addresses(
        self, store: KVStore, network: Callable[..., IpamConfig]
    ) -> None:
        config = network("10.9.1.0/29")  # .2 to .6: gateway .1 kept back
        allocator = Allocator(store, config)
        held = {
            allocator.allocate(Attachment(f"c{i}", "eth0"))[0].address
            for i in range(5)
        }
        assert len(held) == 5
        with pytest.raises(PoolExhausted):
            allocator.allocate(Attachment("late", "eth0"))
        taken = min(held)
        with pytest.raises(AddressTaken):
            allocator.allocate(Attachment("late", "eth0"), [taken])
        allocator.release(Attachment("c0", "eth0"))
        freed = (held - _addresses(allocator)).pop()
        got = allocator.allocate(Attachment("late", "eth0"), [freed])
        assert got[0].address == freed

    def test_gc_keeps_only_valid_attachments(
        self, store: KVStore, network: Callable[..., IpamConfig]
    ) -> None:
        allocator = Allocator(store, network("10.9.2.0/28"))
        for i in range(6):
            allocator.allocate(Attachment(f"c{i}", "eth0"))
        keep = [Attachment("c1", "eth0"), Attachment("c4", "eth0")]
        report = collect_garbage(allocator, keep)
        assert sorted(report.released) == sorted(
            Attachment(f"c{i}", "eth0") for i in (0, 2, 3, 5)
        )
        assert report.errors == []
        for attachment in keep:
            held = allocator.allocate(attachment)
            allocator.check(attachment, [r.address for r in held])
        assert len(_addresses(allocator)) == 2

    def test_concurrent_allocators_never_share_an_address(
        self, store: KVStore, network: Callable[..., IpamConfig]
    ) -> None:
        """Eight allocators churn through a small pool at once."""
        config = network("10.9.3.0/27")  # 29 usable addresses
        owners: dict[IPAddress, Attachment] = {}
        lock = threading.Lock()
        failures: list[str] = []

        def churn(worker: int) -> None:
            rng = random.Random(worker)
            allocator = Allocator(store, config, rng=rng)
            mine: list[Attachment] = []
            for step in range(25):
                if mine and rng.random() < 0.4:
                    gone = mine.pop(rng.randrange(len(mine)))
                    with lock:
                        for ip, who in list(owners.items()):
                            if who == gone:
                                del owners[ip]
                    allocator.release(gone)
                    continue
                attachment = Attachment(f"w{worker}-{step}", "eth0")
                try:
                    got = allocator.allocate(attachment)
                except (PoolExhausted, ContentionError):
                    continue
                mine.append(attachment)
                with lock:
                    for r in got:
                        if r.address in owners:
                            failures.append(
                                f"{r.address} given to {attachment} while "
                                f"held by {owners[r.address]}"
                            )
                        owners[r.address] = attachment

        threads = [threading.Thread(target=churn, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert failures == []
        assert _addresses(Allocator(store, config)) == set(owners)


def _addresses(allocator: Allocator) -> set[IPAddress]:
    entries = allocator.store.scan_all(allocator.keys.ips)
    return {allocator.keys.address(e.key) for e in entries}
