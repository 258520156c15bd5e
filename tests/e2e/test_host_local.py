"""The problem: host-local on two hosts of one L2 segment.

Each host keeps its own allocation file, so both hand out the first
address of the range and the segment ends up with a duplicate.
"""

from __future__ import annotations

import pytest

from . import cni
from .lab import Lab

pytestmark = pytest.mark.e2e


def test_each_host_hands_out_the_same_address(lab: Lab) -> None:
    cable = lab.segment()
    network = lab.name("hl")
    host_a = lab.host(
        cni.macvlan(network, cable.a, cni.host_local(lab.tmp / "a"))
    )
    host_b = lab.host(
        cni.macvlan(network, cable.b, cni.host_local(lab.tmp / "b"))
    )

    on_a = host_a.start("a1")
    on_b = host_b.start("b1")

    assert on_a.address == on_b.address
    # A ping "to the other container" is answered at home: it never
    # crosses the cable.
    assert on_a.netns.is_local(on_b.ip)
    assert on_b.netns.is_local(on_a.ip)
    # And the segment has two stations claiming the one address.
    assert on_a.netns.duplicate_on_segment(on_a.ip)
    assert on_b.netns.duplicate_on_segment(on_b.ip)
