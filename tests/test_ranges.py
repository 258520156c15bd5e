"""Range parsing and the round-robin walk, with properties over any range."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from macvlan_ipam.core.errors import InvalidConfig
from macvlan_ipam.core.ranges import (
    RangeSet,
    parse_cidr_range,
    parse_range,
    parse_range_set,
)


def test_defaults_follow_host_local() -> None:
    r = parse_range({"subnet": "10.1.2.0/24"}, "r")
    assert (str(r.start), str(r.end), str(r.gateway)) == (
        "10.1.2.1",
        "10.1.2.254",
        "10.1.2.1",
    )
    v6 = parse_range({"subnet": "fd00::/120"}, "r")
    assert (str(v6.start), str(v6.end)) == ("fd00::1", "fd00::ff")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"subnet": "10.0.0.0/31"}, "r.subnet: 10.0.0.0/31 is too small"),
        ({"subnet": "bogus"}, "r.subnet: 'bogus' is not a CIDR"),
        ({"subnet": "10.0.0.0/24", "rangeStart": "10.0.1.5"}, "not in"),
        (
            {
                "subnet": "10.0.0.0/24",
                "rangeStart": "10.0.0.9",
                "rangeEnd": "10.0.0.3",
            },
            "rangeStart 10.0.0.9 is after rangeEnd 10.0.0.3",
        ),
    ],
)
def test_bad_ranges_name_the_field(raw: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidConfig, match=message):
        parse_range(raw, "r")


def test_whereabouts_span_form() -> None:
    r = parse_cidr_range("192.168.2.225-192.168.2.230/24", "ipam.range")
    assert (str(r.subnet), str(r.start), str(r.end)) == (
        "192.168.2.0/24",
        "192.168.2.225",
        "192.168.2.230",
    )


def test_overlapping_ranges_are_rejected() -> None:
    a = parse_range({"subnet": "10.0.0.0/24"}, "a")
    b = parse_range({"subnet": "10.0.0.128/25"}, "b")
    with pytest.raises(InvalidConfig, match="overlaps"):
        parse_range_set([a, b], "set")


def test_mixed_families_are_rejected() -> None:
    a = parse_range({"subnet": "10.0.0.0/24"}, "a")
    b = parse_range({"subnet": "fd00::/64"}, "b")
    with pytest.raises(InvalidConfig, match="mixes IPv4 and IPv6"):
        parse_range_set([a, b], "set")


@st.composite
def range_sets(draw: st.DrawFn) -> RangeSet:
    """One or two disjoint IPv4 ranges with random bounds and exclusions."""
    base = draw(st.integers(0, 2**24 - 64)) << 8
    prefix = draw(st.integers(21, 29))
    net = ipaddress.IPv4Network((base, prefix), strict=False)
    size = net.num_addresses
    cut = draw(st.integers(2, size - 2))
    first = parse_range(
        {
            "subnet": str(net),
            "rangeStart": str(net[draw(st.integers(1, cut - 1))]),
            "rangeEnd": str(net[cut]),
        },
        "a",
    )
    ranges = [first]
    if draw(st.booleans()) and cut + 2 < size - 1:
        ranges.append(
            parse_range(
                {
                    "subnet": str(net),
                    "rangeStart": str(net[cut + 1]),
                    "rangeEnd": str(net[draw(st.integers(cut + 1, size - 2))]),
                    "gateway": str(net[1]),
                },
                "b",
            )
        )
    excluded = tuple(
        ipaddress.IPv4Network(
            (int(net[draw(st.integers(0, size - 1))]), 30), strict=False
        )
        for _ in range(draw(st.integers(0, 2)))
    )
    return RangeSet(tuple(ranges), excluded)


@given(range_sets(), st.data())
def test_walk_covers_each_address_once_ending_at_cursor(
    rangeset: RangeSet, data: st.DataObject
) -> None:
    after = None
    if data.draw(st.booleans()):
        after = rangeset.address_at(data.draw(st.integers(0, rangeset.size)))
    walked = [ip for seg in rangeset.walk(after) for ip in seg.addresses()]
    every = [rangeset.address_at(i) for i in range(rangeset.size)]
    assert sorted(walked) == sorted(every)
    assert len(set(walked)) == len(walked)
    if after is not None:
        assert walked[-1] == after
        assert walked[0] == every[(every.index(after) + 1) % len(every)]
    for seg in rangeset.walk(after):
        assert seg.first // 256 == seg.last // 256


@given(range_sets())
def test_usable_is_exactly_in_range_minus_reserved(rangeset: RangeSet) -> None:
    r0 = rangeset.ranges[0]
    net = r0.subnet
    for ip in net:
        r = rangeset.range_for(ip)
        reserved = ip in (
            r0.gateway,
            net.network_address,
            net.broadcast_address,
        ) or any(ip in x for x in rangeset.excluded)
        assert rangeset.usable(ip) == (r is not None and not reserved)
