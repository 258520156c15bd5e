"""The allocator against a plain model, as a hypothesis state machine."""

import ipaddress

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from macvlan_ipam.core.allocator import Allocator
from macvlan_ipam.core.errors import AddressTaken, CheckFailed, PoolExhausted
from macvlan_ipam.core.housekeeping import collect_garbage
from macvlan_ipam.core.memory import MemoryStore
from macvlan_ipam.core.records import Attachment, decode_holding, decode_owner

from .helpers import network

IDS = st.sampled_from([Attachment(f"c{i}", "eth0") for i in range(12)])
V4 = [ipaddress.ip_address(f"10.1.0.{i}") for i in range(2, 15)]


class AllocatorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.config = network("10.1.0.0/28", "fd00:1::/125")
        self.allocator = Allocator(self.store, self.config)
        self.model: dict[Attachment, set[ipaddress._BaseAddress]] = {}

    def _in_use(self) -> set[ipaddress._BaseAddress]:
        return set().union(*self.model.values())

    @rule(who=IDS)
    def add(self, who: Attachment) -> None:
        full = len(self.model) == 6  # fd00:1::2 .. ::7
        try:
            got = {r.address for r in self.allocator.allocate(who)}
        except PoolExhausted:
            assert full and who not in self.model
            return
        if who in self.model:
            assert got == self.model[who]
            return
        assert not got & self._in_use()
        assert {ip.version for ip in got} == {4, 6}
        self.model[who] = got

    @rule(who=IDS, ip=st.sampled_from(V4))
    def add_requested(
        self, who: Attachment, ip: ipaddress.IPv4Address
    ) -> None:
        if who in self.model:
            return
        try:
            got = {r.address for r in self.allocator.allocate(who, [ip])}
        except AddressTaken:
            assert ip in self._in_use()
            return
        except PoolExhausted:
            assert len(self.model) == 6
            return
        assert ip in got and not got & self._in_use()
        self.model[who] = got

    @rule(who=IDS)
    def release(self, who: Attachment) -> None:
        released = set(self.allocator.release(who))
        assert released == self.model.pop(who, set())

    @rule(who=IDS)
    def check(self, who: Attachment) -> None:
        held = sorted(self.model.get(who, {V4[0]}), key=_order)
        try:
            self.allocator.check(who, held)
        except CheckFailed:
            assert who not in self.model
        else:
            assert who in self.model

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def gc(self, data: st.DataObject) -> None:
        keep = data.draw(st.sets(st.sampled_from(sorted(self.model))))
        report = collect_garbage(self.allocator, keep)
        assert set(report.released) == set(self.model) - keep
        self.model = {k: v for k, v in self.model.items() if k in keep}

    @invariant()
    def store_matches_model(self) -> None:
        keys = self.allocator.keys
        owners = {
            keys.address(e.key): decode_owner(e.value, e.key)
            for e in self.store.scan_all(keys.ips)
        }
        expected = {ip: who for who, ips in self.model.items() for ip in ips}
        assert owners == expected
        records = {
            Attachment(*keys.attachment_of(e.key)): {
                i.ip for i in decode_holding(e.value, e.key)
            }
            for e in self.store.scan_all(keys.attachments)
        }
        assert records == self.model


AllocatorMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=40, deadline=None
)
TestAllocatorModel = AllocatorMachine.TestCase


def _order(ip: ipaddress._BaseAddress) -> tuple[int, int]:
    return ip.version, int(ip)
