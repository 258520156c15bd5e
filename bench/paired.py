"""ADD latency on an empty and a nearly full pool, in alternation.

A shared machine's speed drifts over minutes.  Measuring the two pools
sample by sample, one after the other, lets that drift hit both alike,
so the ratio of their medians is the pool's own effect on latency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from macvlan_ipam.core.kv import KVStore

from .cni import Invocation, invoke
from .impls import Implementation
from .latency import NODE
from .stats import Spread

LOG = logging.getLogger(__name__)


@dataclass
class PairedRun:
    name: str
    fill: float
    empty: Spread
    full: Spread

    @property
    def ratio(self) -> float:
        return self.full.p50 / self.empty.p50


def measure_paired(
    impl: Implementation,
    subnets: tuple[str, str],
    workdir: Path,
    fill: float,
    samples: int,
    store: KVStore,
) -> PairedRun:
    empty = impl.conf(f"pair-{impl.slug}-0", subnets[0], workdir / "0", NODE)
    full = impl.conf(f"pair-{impl.slug}-1", subnets[1], workdir / "1", NODE)
    filler = impl.filler(full, workdir / "1", seed=7, store=store)
    assert filler is not None, f"{impl.name} cannot be filled"
    filler.fill_to(fill)
    LOG.info("%s: empty and %.0f%% full, alternating", impl.name, fill * 100)

    times: dict[str, list[Invocation]] = {"0": [], "1": []}
    for n in range(samples + 1):  # the first pair warms up
        for tag, conf in (("0", empty), ("1", full)):
            added = invoke(impl.path, "ADD", f"pair{n:03d}", conf)
            added.result()
            invoke(impl.path, "DEL", f"pair{n:03d}", conf).result()
            if n:
                times[tag].append(added)
    return PairedRun(
        impl.name,
        fill,
        Spread.of([inv.seconds for inv in times["0"]]),
        Spread.of([inv.seconds for inv in times["1"]]),
    )
