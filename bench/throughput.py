"""ADDs per second of plugin processes run side by side.

Each worker runs plugin processes one after another, as one node's
runtime would.  Our plugin's workers act as different nodes (own
``nodeName`` and data dir) on one network; host-local's share its data
dir, the only way it can share a pool.  Every level starts on an
empty pool.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .cni import run_quietly
from .impls import Conf, Implementation


@dataclass(frozen=True)
class Rate:
    workers: int
    #: Median over the repeats.
    adds_per_second: float
    #: Store RPCs the server answered per ADD (ours only).
    rpcs_per_add: float | None
    failures: int


def measure_throughput(
    impl: Implementation,
    subnet: str,
    workdir: Path,
    workers: int,
    adds_per_worker: int,
    repeats: int,
    rpc_counts: Callable[[], Counter[str]] | None = None,
) -> Rate:
    rates, rpcs, failures = [], [], 0
    for repeat in range(repeats):
        network = f"tput-{impl.slug}-{workers}-{repeat}"
        where = workdir / network
        confs = [
            impl.conf(network, subnet, where, f"node-{w}")
            for w in range(workers)
        ]
        before = rpc_counts() if rpc_counts else Counter()

        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            jobs = [
                pool.submit(_work, impl.path, conf, w, adds_per_worker)
                for w, conf in enumerate(confs)
            ]
            failures += sum(job.result() for job in jobs)
        elapsed = time.perf_counter() - started

        total = workers * adds_per_worker
        rates.append(total / elapsed)
        if rpc_counts:
            rpcs.append((rpc_counts() - before).total() / total)
    return Rate(
        workers,
        statistics.median(rates),
        statistics.median(rpcs) if rpcs else None,
        failures,
    )


def _work(path: str, conf: Conf, worker: int, adds: int) -> int:
    """One worker's ADDs, one process after another; returns failures."""
    failed = 0
    for n in range(adds):
        cid = f"t{worker}-{n:04d}"
        failed += run_quietly(path, "ADD", cid, conf) != 0
    return failed
