"""Whole-process latency of ADD, CHECK and DEL as the pool fills.

At each fill level the same fresh attachments are added, checked and
released again by the plugin executable, so the level stays put.  For
our plugin the etcd server's gRPC counters are read around each phase:
they count every round trip those processes made.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from macvlan_ipam.core.kv import KVStore

from .cni import Invocation, invoke
from .impls import Conf, Implementation
from .roundtrips import RoundTrips
from .stats import Spread

LOG = logging.getLogger(__name__)

NODE = "bench-node"
#: Seconds of plugin runs per command and level before sampling stops
#: early, and the fewest samples taken even so.
BUDGET = 8.0
MINIMUM = 8


@dataclass
class LevelResult:
    fill: float
    add: Spread
    check: Spread
    delete: Spread
    max_rss_kib: int
    #: The measuring reaper's own peak: no process can show less.
    floor_kib: int
    #: gRPC calls at the server per command, by method (ours only).
    rpcs: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Counted in process on the plugin's code path (ours only).
    round_trips: RoundTrips | None = None


@dataclass
class LatencyRun:
    name: str
    levels: list[LevelResult] = field(default_factory=list)
    skipped: list[float] = field(default_factory=list)


def measure_latency(
    impl: Implementation,
    subnet: str,
    workdir: Path,
    levels: list[float],
    samples: int,
    store: KVStore,
    rpc_counts: Callable[[], Counter[str]] | None = None,
    count: Callable[[Conf, str], RoundTrips] | None = None,
) -> LatencyRun:
    """``rpc_counts`` reads the server's counters and ``count`` counts
    round trips in process, at each level; ``None`` skips either."""
    conf = impl.conf(f"lat-{impl.slug}", subnet, workdir, NODE)
    filler = impl.filler(conf, workdir, seed=2024, store=store)
    run = LatencyRun(impl.name)
    _cycle(impl, conf, "warmup", 1)
    for level in levels:
        if level > 0 and filler is None:
            run.skipped.append(level)
            continue
        if filler is not None:
            filler.fill_to(level)
        LOG.info("%s at %.0f%% full", impl.name, level * 100)
        result = _measure_level(impl, conf, level, samples, rpc_counts)
        if count is not None:
            result.round_trips = count(conf, f"rt{round(level * 1000)}")
        run.levels.append(result)
    return run


def _measure_level(
    impl: Implementation,
    conf: Conf,
    level: float,
    samples: int,
    rpc_counts: Callable[[], Counter[str]] | None,
) -> LevelResult:
    tag = f"l{round(level * 1000):04d}"
    rpcs: dict[str, dict[str, float]] = {}
    before = rpc_counts() if rpc_counts else Counter()

    adds = _repeat(
        samples, lambda n: invoke(impl.path, "ADD", f"{tag}-{n:03d}", conf)
    )
    ids = [f"{tag}-{n:03d}" for n in range(len(adds))]
    before = _rpc_delta("ADD", before, len(adds), rpc_counts, rpcs)
    checks = _repeat(
        min(samples, max(MINIMUM, samples // 3)),
        lambda n: invoke(
            impl.path,
            "CHECK",
            ids[n],
            {**conf, "prevResult": adds[n].result()},
        ),
        limit=len(ids),
    )
    before = _rpc_delta("CHECK", before, len(checks), rpc_counts, rpcs)
    dels = [invoke(impl.path, "DEL", cid, conf) for cid in ids]
    _rpc_delta("DEL", before, len(dels), rpc_counts, rpcs)

    everything = adds + checks + dels
    for inv in everything:
        inv.result()
    return LevelResult(
        level,
        _seconds(adds),
        _seconds(checks),
        _seconds(dels),
        max(inv.max_rss_kib for inv in everything),
        max(inv.floor_kib for inv in everything),
        rpcs,
    )


def _repeat(
    samples: int,
    run: Callable[[int], Invocation],
    limit: int | None = None,
) -> list[Invocation]:
    """Up to ``samples`` runs, fewer (not under ``MINIMUM``) once they
    took ``BUDGET`` seconds: slow implementations get fewer samples."""
    done: list[Invocation] = []
    spent = 0.0
    count = samples if limit is None else min(samples, limit)
    for n in range(count):
        if n >= min(MINIMUM, samples) and spent > BUDGET:
            break
        done.append(run(n))
        spent += done[-1].seconds
    return done


def _rpc_delta(
    command: str,
    before: Counter[str],
    calls: int,
    rpc_counts: Callable[[], Counter[str]] | None,
    into: dict[str, dict[str, float]],
) -> Counter[str]:
    if rpc_counts is None:
        return before
    after = rpc_counts()
    into[command] = {
        method: (after[method] - before[method]) / calls
        for method in after
        if after[method] != before[method]
    }
    return after


def _cycle(impl: Implementation, conf: Conf, cid: str, times: int) -> None:
    for _ in range(times):
        invoke(impl.path, "ADD", cid, conf).result()
        invoke(impl.path, "DEL", cid, conf).result()


def _seconds(invocations: list[Invocation]) -> Spread:
    return Spread.of([inv.seconds for inv in invocations])
