"""The whole benchmark: what runs, in which order, with what sizes.

Environment: ``BENCH_QUICK=1`` for a smoke run of about a minute,
``BENCH_RESULTS`` for the output directory (default bench/results),
``BENCH_PEER_*`` for a third implementation (see ``impls``).
"""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from macvlan_ipam.core.registry import open_store

from .agent import running_agent
from .etcd import Etcd, running_etcd
from .impls import (
    Conf,
    Implementation,
    Ours,
    implementations,
    ipam_config,
)
from .inprocess import InProcessRun, measure_in_process
from .latency import LatencyRun, measure_latency
from .paired import PairedRun, measure_paired
from .report import write_report
from .roundtrips import RoundTrips, count_round_trips
from .throughput import Rate, measure_throughput

LOG = logging.getLogger(__name__)

LEVELS = [0.0, 0.5, 0.9, 0.99]
WORKERS = [1, 2, 4, 8]
SUBNET = "10.{n}.0.0/16"


@dataclass(frozen=True)
class Sizes:
    samples: int  # plugin runs per command and fill level
    round_trips: int  # in-process ADD/CHECK/DEL cycles per level
    adds_per_worker: int  # plugin ADDs per worker and repeat
    repeats: int
    adds_per_client: int  # in-process ADDs per client
    adds_when_full: int  # in-process ADDs per client at 99%


FULL = Sizes(30, 200, 4, 3, 300, 8)
QUICK = Sizes(5, 40, 2, 1, 60, 4)


@dataclass
class Results:
    quick: bool
    sizes: Sizes
    machine: dict[str, str] = field(default_factory=dict)
    latency: list[LatencyRun] = field(default_factory=list)
    throughput: dict[str, list[Rate]] = field(default_factory=dict)
    paired: PairedRun | None = None
    in_process: list[InProcessRun] = field(default_factory=list)
    seconds: float = 0.0


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    default_out = Path(__file__).parent / "results"
    out = Path(os.environ.get("BENCH_RESULTS") or default_out)
    started = time.monotonic()
    with (
        running_etcd() as etcd,
        tempfile.TemporaryDirectory(prefix="bench-") as work,
        running_agent(Path(work)) as agent,
    ):
        results = Results(quick, QUICK if quick else FULL)
        results.machine = _machine(etcd)
        run_all(etcd, Path(work), agent, results)
        results.machine["load after"] = _load()
    results.seconds = time.monotonic() - started
    print(write_report(results, out))


def run_all(etcd: Etcd, work: Path, agent: Path, results: Results) -> None:
    sizes = results.sizes
    impls = implementations(etcd.store_config(), agent)
    with open_store(etcd.store_config()) as store:
        for n, impl in enumerate(impls):
            ours = isinstance(impl, Ours)
            LOG.info("latency of %s", impl.name)
            results.latency.append(
                measure_latency(
                    impl,
                    SUBNET.format(n=100 + n),
                    work / f"lat-{n}",
                    LEVELS,
                    sizes.samples,
                    store,
                    etcd.rpc_counts if ours else None,
                    _counter(etcd, sizes.round_trips) if ours else None,
                )
            )
        results.paired = measure_paired(
            impls[0],
            (SUBNET.format(n=150), SUBNET.format(n=151)),
            work / "paired",
            LEVELS[-1],
            sizes.samples,
            store,
        )
    for n, impl in enumerate(impls):
        LOG.info("throughput of %s", impl.name)
        results.throughput[impl.name] = [
            measure_throughput(
                impl,
                SUBNET.format(n=120 + n),
                work / f"tput-{n}",
                workers,
                sizes.adds_per_worker,
                sizes.repeats,
                etcd.rpc_counts if isinstance(impl, Ours) else None,
            )
            for workers in WORKERS
        ]
    _in_process(etcd, impls[0], results)


def _in_process(etcd: Etcd, ours: Implementation, results: Results) -> None:
    sizes, store = results.sizes, etcd.store_config()
    for clients in WORKERS:
        LOG.info("in-process allocator, %d clients", clients)
        results.in_process.append(
            measure_in_process(
                store,
                etcd.cpu_seconds,
                SUBNET.format(n=140),
                clients,
                sizes.adds_per_client,
                sizes.repeats,
            )
        )
    LOG.info("in-process allocator, 8 clients on one node")
    results.in_process.append(
        measure_in_process(
            store,
            etcd.cpu_seconds,
            SUBNET.format(n=141),
            8,
            sizes.adds_per_client,
            sizes.repeats,
            same_node=True,
        )
    )
    LOG.info("in-process allocator, 8 clients, pool %.0f%% full", 99.0)
    full = f"lat-{ours.name}"
    results.in_process.append(
        measure_in_process(
            store,
            etcd.cpu_seconds,
            SUBNET.format(n=100),
            8,
            sizes.adds_when_full,
            filled=(full, LEVELS[-1]),
        )
    )


def _counter(etcd: Etcd, samples: int) -> Callable[[Conf, str], RoundTrips]:
    def count(conf: Conf, tag: str) -> RoundTrips:
        config = ipam_config(conf)
        return count_round_trips(
            config, lambda: open_store(etcd.store_config()), samples, tag
        )

    return count


def _machine(etcd: Etcd) -> dict[str, str]:
    version = subprocess.run(
        ["etcd", "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "etcd": version[0] if version else "?",
        "etcd data": "tmpfs" if etcd.data_on_tmpfs else "disk",
        "load before": _load(),
    }


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"
