"""The benchmark's round-trip counter, as a structural check in CI.

A cold ADD should be one read and one commit at any fill level; DEL and
CHECK cost the same however large the pool is.  Counted over the memory
store on the plugin's code path, so no server and no timing is involved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fill import StoreFiller
from bench.roundtrips import RoundTrips, count_round_trips
from macvlan_ipam.core.config import parse_ipam
from macvlan_ipam.core.memory import MemoryStore

USABLE = 4093  # a /20 less network, gateway and broadcast


def _count(fraction: float, tmp_path: Path) -> RoundTrips:
    config = parse_ipam(
        "smoke",
        {
            "ranges": [[{"subnet": "10.40.0.0/20"}]],
            "store": {"type": "memory"},
            "dataDir": str(tmp_path),
            "nodeName": "node-a",
        },
    )
    store = MemoryStore()
    filler = StoreFiller(store, config, seed=7)
    assert filler.fill_to(fraction) == round(fraction * USABLE)
    assert len(store.scan_all("/macvlan-ipam/smoke/ips/")) == filler.taken
    return count_round_trips(config, lambda: store, samples=40)


@pytest.mark.parametrize("fraction", [0.0, 0.99])
def test_del_and_check_cost_the_same_at_any_fill(
    fraction: float, tmp_path: Path
) -> None:
    counted = _count(fraction, tmp_path)

    assert counted.delete.worst <= 2
    assert counted.check.worst <= 1
    assert counted.add.lost == 0


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.99])
def test_add_takes_at_most_two_round_trips(
    fraction: float, tmp_path: Path
) -> None:
    counted = _count(fraction, tmp_path)

    assert counted.add.worst <= 2, [c.round_trips for c in counted.add.calls]
