"""Reserving and releasing addresses: the allocation service.

No lock is ever taken.  An ADD reads (one round trip) and then commits
every range set's address together with the attachment record in one
conditional commit: the address keys must be absent and so must the
attachment record.  Losing a race only means trying again.
"""

from __future__ import annotations

import logging
import random
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_address

from .config import IpamConfig
from .cursor import Cursors, MemoryCursors
from .errors import (
    AddressNotInRange,
    AddressTaken,
    CheckFailed,
    ContentionError,
    InvalidConfig,
    PoolExhausted,
)
from .keys import KeyLayout
from .kv import (
    Absent,
    Condition,
    Delete,
    Entry,
    Get,
    KVStore,
    Operation,
    Put,
    Read,
    Unchanged,
)
from .ranges import BLOCK, IPAddress, RangeSet
from .records import (
    Attachment,
    Reservation,
    decode_holding,
    decode_owner,
    encode_holding,
    encode_owner,
)
from .search import Search, Window

LOG = logging.getLogger(__name__)

#: How often an operation may lose its conditional commit.
ATTEMPTS = 16
#: Addresses read per search round trip, in blocks of 256.  At 99 %
#: fill with free addresses scattered at random, a window of 1024 holds
#: none with odds of about 3 in 100,000, so an ADD stays at two round
#: trips; each window is at most 1024 keys, keys only.
WINDOW_BLOCKS = 4
#: The first try takes the free address numbered by the node-local lane
#: (the first one when nothing else runs, as host-local does); after a
#: lost commit the pick is random among this many first free addresses.
SPREAD = 8


_Chooser = Callable[[list[IPAddress]], IPAddress]


@dataclass
class _Plan:
    """What one attempt read, and what it would commit."""

    existing: list[Reservation] | None = None
    picks: list[Reservation] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)


class Allocator:
    """Allocation for one network, on one store."""

    def __init__(
        self,
        store: KVStore,
        config: IpamConfig,
        cursors: Cursors | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.keys = KeyLayout(config.prefix, config.network)
        self.cursors = cursors or MemoryCursors()
        self.rng = rng or random.Random()

    # ADD

    def allocate(
        self,
        attachment: Attachment,
        requested: Sequence[IPAddress] = (),
    ) -> list[Reservation]:
        """Reserve one address per range set, or return what is held.

        Raises ``AddressNotInRange`` / ``InvalidConfig`` for a bad
        request, ``AddressTaken``, ``PoolExhausted``,
        ``ContentionError`` after ``ATTEMPTS`` lost commits, and
        ``StoreError`` from the store.
        """
        wanted = self._match_requests(requested)
        with self.cursors.lane() as lane:
            for attempt in range(1, ATTEMPTS + 1):
                choose = self._nth(lane) if attempt == 1 else self._any
                plan = self._plan(attachment, wanted, choose)
                if plan.existing is not None:
                    LOG.debug("%s already holds addresses", attachment)
                    return plan.existing
                if self.store.commit(plan.conditions, plan.operations):
                    self._advance(plan.picks)
                    return plan.picks
                LOG.debug("lost commit for %s (try %d)", attachment, attempt)
        raise ContentionError(
            f"lost {ATTEMPTS} conditional commits in a row; try again"
        )

    def _match_requests(
        self, requested: Sequence[IPAddress]
    ) -> dict[int, IPAddress]:
        wanted: dict[int, IPAddress] = {}
        for ip in requested:
            index = self._set_index(ip)
            if index in wanted:
                raise InvalidConfig(
                    f"requested {wanted[index]} and {ip} from the same "
                    "range set; ask for one address per range set"
                )
            wanted[index] = ip
        return wanted

    def _set_index(self, ip: IPAddress) -> int:
        for index, rangeset in enumerate(self.config.range_sets):
            if rangeset.range_for(ip) is not None:
                if not rangeset.usable(ip):
                    raise AddressNotInRange(
                        f"requested {ip} is reserved (network, broadcast, "
                        "gateway or excluded) and cannot be assigned"
                    )
                return index
        raise AddressNotInRange(
            f"requested {ip} is outside every configured range"
        )

    def _plan(
        self,
        attachment: Attachment,
        wanted: Mapping[int, IPAddress],
        choose: _Chooser,
    ) -> _Plan:
        record_key = self.keys.attachment(
            attachment.container_id, attachment.ifname
        )
        sets = self.config.range_sets
        searches = {
            i: Search(s, self.keys, self._start(s), WINDOW_BLOCKS)
            for i, s in enumerate(sets)
            if i not in wanted
        }
        windows = {i: s.next_window() for i, s in searches.items()}
        reads: list[Read] = [Get(record_key)]
        reads += [Get(self.keys.ip(ip)) for ip in wanted.values()]
        for window in windows.values():
            reads += window.reads if window else []

        found = iter(self.store.read(reads))
        record = next(found)
        if record:
            return _Plan(existing=self._reservations(record[0]))
        picks: dict[int, IPAddress] = {}
        for index, ip in wanted.items():
            _refuse_taken(ip, next(found))
            picks[index] = ip
        for index, search in searches.items():
            window = windows[index]
            batch = [next(found) for _ in window.reads] if window else []
            picks[index] = self._pick(search, window, batch, choose)

        held = [self._reservation(sets[i], picks[i]) for i in sorted(picks)]
        return self._reserve(attachment, record_key, held)

    def _reserve(
        self, attachment: Attachment, record_key: str, held: list[Reservation]
    ) -> _Plan:
        """The commit: every address key and the record, all absent."""
        plan = _Plan(picks=held)
        owner = encode_owner(attachment)
        plan.conditions.append(Absent(record_key))
        for pick in held:
            key = self.keys.ip(pick.address)
            plan.conditions.append(Absent(key))
            plan.operations.append(Put(key, owner))
        holding = encode_holding([p.interface for p in held], self.config.node)
        plan.operations.append(Put(record_key, holding))
        return plan

    def _pick(
        self,
        search: Search,
        window: Window | None,
        found: list[list[Entry]],
        choose: _Chooser,
    ) -> IPAddress:
        """A free address: from the window already read, else further."""
        while window is not None:
            free = window.free(search.rangeset, self.keys, found, SPREAD)
            if free:
                return choose(free)
            window = search.next_window()
            if window is not None:
                found = self.store.read(window.reads)
        raise PoolExhausted(
            f"no free address left in range set {search.rangeset.name} "
            f"of network {self.config.network}"
        )

    @staticmethod
    def _nth(lane: int) -> _Chooser:
        """Lane N takes the N-th free address (the last if fewer)."""
        return lambda free: free[min(lane % SPREAD, len(free) - 1)]

    def _any(self, free: list[IPAddress]) -> IPAddress:
        return self.rng.choice(free)

    def _start(self, rangeset: RangeSet) -> IPAddress | None:
        """Where this node's walk begins: its cursor, or its own block."""
        last = self.cursors.get(rangeset.name)
        if last is not None and rangeset.range_for(last) is not None:
            return last
        blocks = rangeset.size // BLOCK
        if blocks < 2:
            return None
        seed = f"{self.config.network}/{self.config.node}".encode()
        target = int(rangeset.address_at(zlib.crc32(seed) % blocks * BLOCK))
        before = ip_address(target - target % BLOCK - 1)
        return before if rangeset.range_for(before) else None

    def _advance(self, picks: Sequence[Reservation]) -> None:
        for rangeset, pick in zip(self.config.range_sets, picks, strict=True):
            self.cursors.set(rangeset.name, pick.address)

    def _reservation(self, rangeset: RangeSet, ip: IPAddress) -> Reservation:
        r = rangeset.range_for(ip)
        assert r is not None
        return Reservation(r.interface(ip), r.gateway)

    def _reservations(self, record: Entry) -> list[Reservation]:
        """What a record holds, with gateways from today's config."""
        held = decode_holding(record.value, record.key)
        return [Reservation(i, self._gateway(i.ip)) for i in held]

    def _gateway(self, ip: IPAddress) -> IPAddress | None:
        for rangeset in self.config.range_sets:
            r = rangeset.range_for(ip)
            if r is not None:
                return r.gateway
        return None

    # DEL

    def release(self, attachment: Attachment) -> list[IPAddress]:
        """Release everything ``attachment`` holds; fine if nothing.

        Two round trips: read the attachment record, then delete it and
        its address keys on condition that it is unchanged.
        """
        key = self.keys.attachment(attachment.container_id, attachment.ifname)
        for _ in range(ATTEMPTS):
            record = self.store.get(key)
            if record is None:
                return []
            if self.release_record(record):
                return [i.ip for i in decode_holding(record.value, key)]
        raise ContentionError(f"could not release {attachment}; try again")

    def release_record(
        self, record: Entry, extra: Sequence[Condition] = ()
    ) -> bool:
        held = decode_holding(record.value, record.key)
        operations: list[Operation] = [
            Delete(self.keys.ip(i.ip)) for i in held
        ]
        operations.append(Delete(record.key))
        conditions = [Unchanged(record.key, record.version), *extra]
        return self.store.commit(conditions, operations)

    # CHECK

    def check(
        self, attachment: Attachment, expected: Sequence[IPAddress]
    ) -> None:
        """Raise ``CheckFailed`` unless the store holds exactly ``expected``
        for ``attachment``.  One round trip."""
        key = self.keys.attachment(attachment.container_id, attachment.ifname)
        reads: list[Read] = [Get(key)]
        reads += [Get(self.keys.ip(ip)) for ip in expected]
        record, *owners = self.store.read(reads)
        if not record:
            raise CheckFailed(f"the store holds no addresses for {attachment}")
        held = {i.ip for i in decode_holding(record[0].value, key)}
        if held != set(expected):
            raise CheckFailed(
                f"{attachment} holds {_listing(held)} in the store, but the "
                f"previous result says {_listing(expected)}"
            )
        for ip, hit in zip(expected, owners, strict=True):
            owner = decode_owner(hit[0].value, hit[0].key) if hit else None
            if owner != attachment:
                raise CheckFailed(
                    f"address {ip} of {attachment} is "
                    + (f"reserved by {owner}" if owner else "not reserved")
                )


def _listing(ips: Iterable[IPAddress]) -> str:
    return ", ".join(sorted(map(str, ips))) or "nothing"


def _refuse_taken(ip: IPAddress, hit: list[Entry]) -> None:
    if hit:
        owner = decode_owner(hit[0].value, hit[0].key)
        raise AddressTaken(
            f"requested address {ip} is already reserved by container "
            f"{owner.container_id} (interface {owner.ifname})"
        )
