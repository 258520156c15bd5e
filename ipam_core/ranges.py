"""Address ranges and range sets, read the way host-local reads them.

A range is a slice of one subnet; a range set is an ordered list of
ranges of one IP family from which one address is taken per attachment.
Addresses are walked as integers in fixed blocks of 256 so that a walk
maps onto short, bounded prefix scans of the store.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from .errors import InvalidConfig

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
IPInterface: TypeAlias = ipaddress.IPv4Interface | ipaddress.IPv6Interface

BLOCK = 256


@dataclass(frozen=True)
class IPRange:
    """One ``{subnet, rangeStart, rangeEnd, gateway}`` entry."""

    subnet: IPNetwork
    start: IPAddress
    end: IPAddress
    gateway: IPAddress | None = None

    @property
    def version(self) -> int:
        return self.subnet.version

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return False
        return ip.version == self.version and int(self.start) <= int(
            ip
        ) <= int(self.end)

    def overlaps(self, other: IPRange) -> bool:
        return (
            self.version == other.version
            and int(self.start) <= int(other.end)
            and int(other.start) <= int(self.end)
        )

    def interface(self, ip: IPAddress) -> IPInterface:
        return ipaddress.ip_interface(f"{ip}/{self.subnet.prefixlen}")


@dataclass(frozen=True)
class Segment:
    """Consecutive addresses ``first..last`` of one range in one block."""

    range: IPRange
    first: int
    last: int

    def addresses(self) -> Iterator[IPAddress]:
        make = ipaddress.ip_address
        return (make(i) for i in range(self.first, self.last + 1))


@dataclass(frozen=True)
class RangeSet:
    """Ranges of one family; an attachment gets one address from them."""

    ranges: tuple[IPRange, ...]
    excluded: tuple[IPNetwork, ...] = field(default=())

    @property
    def version(self) -> int:
        return self.ranges[0].version

    @property
    def name(self) -> str:
        """A stable identity, used to key node-local hints."""
        return ",".join(f"{r.start}-{r.end}" for r in self.ranges)

    @property
    def size(self) -> int:
        return sum(int(r.end) - int(r.start) + 1 for r in self.ranges)

    def range_for(self, ip: IPAddress) -> IPRange | None:
        for r in self.ranges:
            if ip in r:
                return r
        return None

    def usable(self, ip: IPAddress) -> bool:
        """Whether ``ip`` may be handed out from this set."""
        r = self.range_for(ip)
        if r is None or ip == r.gateway:
            return False
        if ip == r.subnet.network_address:
            return False
        if r.version == 4 and ip == r.subnet.broadcast_address:
            return False
        return not any(ip in net for net in self.excluded)

    def address_at(self, offset: int) -> IPAddress:
        """The ``offset``-th address of the set, counting across ranges."""
        offset %= self.size
        for r in self.ranges:
            width = int(r.end) - int(r.start) + 1
            if offset < width:
                return ipaddress.ip_address(int(r.start) + offset)
            offset -= width
        raise AssertionError("offset reduced modulo size")

    def walk(self, after: IPAddress | None) -> Iterator[Segment]:
        """Every address once, in segments, starting just after ``after``.

        The walk continues to the end of the last range, wraps to the
        first, and ends with ``after`` itself: host-local's round-robin
        order.
        """
        index, pos = self._position(after)
        order = self.ranges[index:] + self.ranges[:index]
        head, *tail = order
        yield from _segments(head, pos, int(head.end))
        for r in tail:
            yield from _segments(r, int(r.start), int(r.end))
        if pos > int(head.start):
            yield from _segments(head, int(head.start), pos - 1)

    def _position(self, after: IPAddress | None) -> tuple[int, int]:
        if after is not None:
            for index, r in enumerate(self.ranges):
                if after in r:
                    if after == r.end:
                        nxt = (index + 1) % len(self.ranges)
                        return nxt, int(self.ranges[nxt].start)
                    return index, int(after) + 1
        return 0, int(self.ranges[0].start)


def _segments(r: IPRange, first: int, last: int) -> Iterator[Segment]:
    while first <= last:
        block_end = first - first % BLOCK + BLOCK - 1
        yield Segment(r, first, min(last, block_end))
        first = block_end + 1


def parse_range(raw: object, where: str) -> IPRange:
    """Parse one host-local range object; ``where`` names it in errors."""
    if not isinstance(raw, dict):
        raise InvalidConfig(f"{where}: expected an object")
    subnet = _network(raw.get("subnet"), f"{where}.subnet")
    if subnet.num_addresses < 4 and subnet.version == 4:
        raise InvalidConfig(
            f"{where}.subnet: {subnet} is too small to allocate from"
        )
    if subnet.num_addresses < 2:
        raise InvalidConfig(
            f"{where}.subnet: {subnet} is too small to allocate from"
        )
    first = subnet.network_address + 1
    last = subnet.broadcast_address - (1 if subnet.version == 4 else 0)
    start = _address_in(raw.get("rangeStart"), subnet, f"{where}.rangeStart")
    end = _address_in(raw.get("rangeEnd"), subnet, f"{where}.rangeEnd")
    gateway = _address_in(raw.get("gateway"), subnet, f"{where}.gateway")
    start = start or first
    end = end or last
    if int(start) > int(end):
        raise InvalidConfig(
            f"{where}: rangeStart {start} is after rangeEnd {end}"
        )
    return IPRange(subnet, start, end, gateway or first)


def parse_cidr_range(text: object, where: str) -> IPRange:
    """Parse whereabouts' ``range``: ``CIDR`` or ``first-last/prefix``."""
    if not isinstance(text, str):
        raise InvalidConfig(f"{where}: expected a string like 10.0.0.0/24")
    if "-" not in text:
        subnet = _network(text, where)
        return parse_range({"subnet": str(subnet)}, where)
    span, _, prefix = text.partition("/")
    low, _, high = span.partition("-")
    if not prefix:
        raise InvalidConfig(f"{where}: {text!r} needs a /prefix")
    subnet = _network(f"{low}/{prefix}", where)
    return parse_range(
        {"subnet": str(subnet), "rangeStart": low, "rangeEnd": high}, where
    )


def parse_range_set(ranges: Sequence[IPRange], where: str) -> RangeSet:
    if not ranges:
        raise InvalidConfig(f"{where}: a range set needs at least one range")
    families = {r.version for r in ranges}
    if len(families) > 1:
        raise InvalidConfig(f"{where}: mixes IPv4 and IPv6 ranges")
    _reject_overlaps(ranges, where)
    return RangeSet(tuple(ranges))


def check_disjoint(sets: Sequence[RangeSet], where: str) -> None:
    _reject_overlaps([r for s in sets for r in s.ranges], where)


def parse_excluded(raw: object, where: str) -> tuple[IPNetwork, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidConfig(f"{where}: expected a list of CIDRs")
    return tuple(_network(item, f"{where}[{i}]") for i, item in enumerate(raw))


def parse_address(text: object, where: str) -> IPAddress:
    """An address, also accepting ``a.b.c.d/len`` as CNI args send it."""
    if not isinstance(text, str):
        raise InvalidConfig(f"{where}: expected an IP address string")
    try:
        return ipaddress.ip_interface(text.strip()).ip
    except ValueError:
        raise InvalidConfig(
            f"{where}: {text!r} is not an IP address"
        ) from None


def _reject_overlaps(ranges: Sequence[IPRange], where: str) -> None:
    for i, a in enumerate(ranges):
        for b in ranges[i + 1 :]:
            if a.overlaps(b):
                raise InvalidConfig(
                    f"{where}: range {a.start}-{a.end} overlaps "
                    f"{b.start}-{b.end}"
                )


def _network(text: object, where: str) -> IPNetwork:
    if not isinstance(text, str):
        raise InvalidConfig(f"{where}: expected a CIDR like 10.0.0.0/24")
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InvalidConfig(f"{where}: {text!r} is not a CIDR") from None


def _address_in(
    text: object, subnet: IPNetwork, where: str
) -> IPAddress | None:
    if text is None or text == "":
        return None
    ip = parse_address(text, where)
    if ip not in subnet:
        raise InvalidConfig(f"{where}: {ip} is not in subnet {subnet}")
    return ip
