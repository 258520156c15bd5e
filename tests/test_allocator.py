"""The allocator over the reference store: semantics users rely on."""

import ipaddress
from collections.abc import Sequence

import pytest

from macvlan_ipam.core.allocator import ATTEMPTS, Allocator
from macvlan_ipam.core.cursor import MemoryCursors
from macvlan_ipam.core.errors import (
    AddressNotInRange,
    AddressTaken,
    CheckFailed,
    ContentionError,
    InvalidConfig,
    PoolExhausted,
)
from macvlan_ipam.core.housekeeping import check_ready, collect_garbage
from macvlan_ipam.core.kv import Condition, Delete, Operation, Put
from macvlan_ipam.core.memory import MemoryStore
from macvlan_ipam.core.records import Attachment, encode_owner

from .helpers import CountingStore, dump, network

ip = ipaddress.ip_address


def a(n: int | str) -> Attachment:
    return Attachment(f"c{n}", "eth0")


def test_first_addresses_in_order_like_host_local() -> None:
    allocator = Allocator(MemoryStore(), network("10.0.0.0/24"))
    got = [allocator.allocate(a(i))[0] for i in range(3)]
    assert [str(r.interface) for r in got] == [
        "10.0.0.2/24",
        "10.0.0.3/24",
        "10.0.0.4/24",
    ]
    assert got[0].gateway == ip("10.0.0.1")


def test_released_address_is_not_reused_at_once() -> None:
    allocator = Allocator(MemoryStore(), network("10.0.0.0/24"))
    first = allocator.allocate(a(1))[0].address
    allocator.allocate(a(2))
    allocator.release(a(1))
    assert allocator.allocate(a(3))[0].address != first


def test_walk_wraps_around_to_released_addresses() -> None:
    allocator = Allocator(MemoryStore(), network("10.0.0.0/29"))
    for i in range(5):
        allocator.allocate(a(i))
    allocator.release(a(1))
    assert allocator.allocate(a(9))[0].address == ip("10.0.0.3")


def test_dual_stack_is_all_or_nothing() -> None:
    store = MemoryStore()
    allocator = Allocator(store, network("10.0.0.0/24", "fd00::/126"))
    allocator.allocate(a(1))
    allocator.allocate(a(2))  # fd00::2 and ::3; ::1 is the gateway
    before = dump(store)
    with pytest.raises(PoolExhausted, match="fd00::1-fd00::3"):
        allocator.allocate(a(3))
    assert dump(store) == before


def test_requested_addresses() -> None:
    store = MemoryStore()
    allocator = Allocator(store, network("10.0.0.0/24", "fd00::/120"))
    got = allocator.allocate(a(1), [ip("fd00::42"), ip("10.0.0.42")])
    assert [r.address for r in got] == [ip("10.0.0.42"), ip("fd00::42")]
    before = dump(store)
    taken = r"10\.0\.0\.42 is already reserved"
    with pytest.raises(AddressTaken, match=taken):
        allocator.allocate(a(2), [ip("10.0.0.42")])
    with pytest.raises(AddressNotInRange, match="outside every"):
        allocator.allocate(a(2), [ip("192.0.2.1")])
    with pytest.raises(AddressNotInRange, match="gateway"):
        allocator.allocate(a(2), [ip("10.0.0.1")])
    with pytest.raises(InvalidConfig, match="same range set"):
        allocator.allocate(a(2), [ip("10.0.0.7"), ip("10.0.0.8")])
    assert dump(store) == before


def test_repeated_add_returns_the_same_addresses() -> None:
    store = CountingStore()
    allocator = Allocator(store, network("10.0.0.0/24"))
    first = allocator.allocate(a(1))
    store.reset()
    assert allocator.allocate(a(1)) == first
    assert store.round_trips == 1
    assert len(dump(store)) == 2


def test_round_trips_per_add_and_del() -> None:
    store = CountingStore()
    allocator = Allocator(store, network("10.0.0.0/16", "fd00::/112"))
    for i in range(300):
        store.reset()
        held = allocator.allocate(a(i))
        assert store.round_trips == 2
    store.reset()
    allocator.check(a(5), [r.address for r in allocator.allocate(a(5))])
    assert store.round_trips == 2  # the repeated ADD's read, then CHECK
    store.reset()
    allocator.release(a(5))
    assert store.round_trips == 2
    del held


def test_nodes_start_in_different_blocks_of_a_large_range() -> None:
    config_a = network("10.0.0.0/16", nodeName="node-a")
    config_b = network("10.0.0.0/16", nodeName="node-b")
    store = MemoryStore()
    first_a = Allocator(store, config_a).allocate(a(1))[0].address
    first_b = Allocator(store, config_b).allocate(a(2))[0].address
    assert int(first_a) // 256 != int(first_b) // 256


def test_search_continues_past_a_full_window() -> None:
    store = CountingStore()
    config = network("10.0.0.0/21")
    cursors = MemoryCursors()
    cursors.set(config.range_sets[0].name, ip("10.0.7.254"))
    allocator = Allocator(store, config, cursors)
    for i in range(1278):  # 10.0.0.2 to 10.0.4.255: the first window
        allocator.allocate(a(i))
    cursors.set(config.range_sets[0].name, ip("10.0.7.254"))
    store.reset()
    got = allocator.allocate(a("late"))[0].address
    assert got == ip("10.0.5.0")
    assert (store.reads, store.commits) == (2, 1)


def test_exhausted_pool_reads_every_window_once() -> None:
    store = CountingStore()
    allocator = Allocator(store, network("10.0.0.0/21"))
    for i in range(2045):
        allocator.allocate(a(i))
    store.reset()
    with pytest.raises(PoolExhausted):
        allocator.allocate(a("late"))
    assert store.reads == 2  # 8 blocks, four per window
    assert store.commits == 0


class LosingStore(MemoryStore):
    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        return False


def test_endless_conflicts_give_up_with_try_again() -> None:
    allocator = Allocator(LosingStore(), network("10.0.0.0/24"))
    with pytest.raises(ContentionError, match=f"lost {ATTEMPTS}"):
        allocator.allocate(a(1))


def test_check_reports_what_differs() -> None:
    store = MemoryStore()
    allocator = Allocator(store, network("10.0.0.0/24"))
    held = allocator.allocate(a(1))[0].address
    allocator.check(a(1), [held])
    with pytest.raises(CheckFailed, match="holds no addresses"):
        allocator.check(a(2), [held])
    with pytest.raises(CheckFailed, match=r"previous result says 10\.0\.0\.9"):
        allocator.check(a(1), [ip("10.0.0.9")])
    store.commit([], [Put(allocator.keys.ip(held), encode_owner(a(7)))])
    with pytest.raises(CheckFailed, match="reserved by c7/eth0"):
        allocator.check(a(1), [held])


def test_gc_removes_orphans_and_keeps_valid() -> None:
    store = MemoryStore()
    allocator = Allocator(store, network("10.0.0.0/24"))
    for i in range(4):
        allocator.allocate(a(i))
    orphan = allocator.keys.ip(ip("10.0.0.200"))
    store.commit([], [Put(orphan, encode_owner(a("ghost")))])
    report = collect_garbage(allocator, [a(0), a(3)])
    assert sorted(report.released) == [a(1), a(2)]
    assert report.orphans == 1
    assert {
        allocator.keys.address(k) for k in dump(store) if "/ips/" in k
    } == {
        ip("10.0.0.2"),
        ip("10.0.0.5"),
    }


def test_status_fails_only_when_full() -> None:
    store = MemoryStore()
    allocator = Allocator(store, network("10.0.0.0/29"))
    check_ready(allocator)
    for i in range(5):
        allocator.allocate(a(i))
    with pytest.raises(PoolExhausted):
        check_ready(allocator)
    store.commit([], [Delete(allocator.keys.ip(ip("10.0.0.4")))])
    check_ready(allocator)


def test_gc_leaves_other_nodes_attachments_alone() -> None:
    store = MemoryStore()
    on_a = Allocator(store, network("10.0.0.0/24", nodeName="node-a"))
    on_b = Allocator(store, network("10.0.0.0/24", nodeName="node-b"))
    on_a.allocate(a("a1"))
    on_a.allocate(a("a2"))
    kept = on_b.allocate(a("b1"))[0].address
    report = collect_garbage(on_a, [a("a1")])
    assert report.released == [a("a2")]
    on_b.check(a("b1"), [kept])
    assert report.orphans == 0
