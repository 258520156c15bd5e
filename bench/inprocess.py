"""The allocator in long-lived processes: throughput and conflicts.

Each client is its own process with its own store connection and
node name, as allocators on different nodes would be; they start
together on one network and each adds a fixed number of attachments.
Afterwards every address handed out is checked against the store:
none may have been given twice.
"""

from __future__ import annotations

import contextlib
import ipaddress
import multiprocessing
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from pathlib import Path

from macvlan_ipam.core.allocator import Allocator
from macvlan_ipam.core.config import IpamConfig, parse_ipam
from macvlan_ipam.core.cursor import FileCursors
from macvlan_ipam.core.keys import KeyLayout
from macvlan_ipam.core.kv import Get
from macvlan_ipam.core.records import Attachment, decode_owner
from macvlan_ipam.core.registry import open_store

from .counting import CountingStore, Counts

Store = Mapping[str, object]


@dataclass(frozen=True)
class ClientResult:
    started: float
    finished: float
    held: list[tuple[str, str]]  # (address, container id)
    counts: Counts
    cpu_seconds: float


@dataclass(frozen=True)
class InProcessRun:
    clients: int
    fill: float
    same_node: bool
    adds: int
    #: Median over the repeats.
    adds_per_second: float
    conflicts_per_add: float
    round_trips_per_add: float
    duplicates: int
    #: CPU milliseconds per ADD in the clients and in the etcd server.
    client_cpu_ms: float
    server_cpu_ms: float

    def capacity(self, cores: int) -> float:
        """ADD/s this machine could do with nothing else running."""
        return cores * 1000 / (self.client_cpu_ms + self.server_cpu_ms)


def measure_in_process(
    store: Store,
    server_cpu: Callable[[], float],
    subnet: str,
    clients: int,
    adds_per_client: int,
    repeats: int = 1,
    same_node: bool = False,
    filled: tuple[str, float] | None = None,
) -> InProcessRun:
    """``filled`` names a network already filled to that fraction, to
    run on instead of fresh empty ones (then once only)."""
    rates: list[float] = []
    total = Counts()
    adds = duplicates = 0
    fill = filled[1] if filled else 0.0
    client_cpu = server = 0.0
    for repeat in range(1 if filled else repeats):
        tag = f"{clients}{'s' if same_node else 'n'}-{repeat}"
        network = filled[0] if filled else f"inproc-{tag}"
        config = _config(store, network, subnet, "bench")
        results, etcd_cpu = _run_clients(
            store, config, clients, adds_per_client, same_node, server_cpu
        )
        server += etcd_cpu
        span = max(r.finished for r in results) - min(
            r.started for r in results
        )
        count = sum(len(r.held) for r in results)
        rates.append(count / span)
        adds += count
        for r in results:
            total.add(r.counts)
            client_cpu += r.cpu_seconds
        duplicates += _duplicates(store, config, results)
    return InProcessRun(
        clients,
        fill,
        same_node,
        adds,
        statistics.median(rates),
        total.lost / adds,
        total.round_trips / adds,
        duplicates,
        client_cpu * 1000 / adds,
        server * 1000 / adds,
    )


def _config(store: Store, network: str, subnet: str, node: str) -> IpamConfig:
    ipam = {
        "ranges": [[{"subnet": subnet}]],
        "store": dict(store),
        "nodeName": node,
        "dataDir": "/nonexistent",  # cursors stay in memory here
    }
    return parse_ipam(network, ipam)


def _run_clients(
    store: Store,
    config: IpamConfig,
    clients: int,
    adds: int,
    same_node: bool,
    server_cpu: Callable[[], float],
) -> tuple[list[ClientResult], float]:
    """The clients' results, and the server's CPU seconds meanwhile."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients + 1)  # and this process
    queue = context.SimpleQueue()
    subnet = str(config.range_sets[0].ranges[0].subnet)
    processes = [
        context.Process(
            target=_client,
            args=(
                store,
                config.network,
                subnet,
                c,
                "node-0" if same_node else f"node-{c}",
                same_node,
                adds,
                barrier,
                queue,
            ),
        )
        for c in range(clients)
    ]
    for process in processes:
        process.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    cpu = server_cpu()
    results = [queue.get() for _ in processes]
    cpu = server_cpu() - cpu
    for process in processes:
        process.join()
    failed = [r for r in results if isinstance(r, str)]
    if failed:
        raise RuntimeError("an in-process client failed: " + failed[0])
    return [r for r in results if isinstance(r, ClientResult)], cpu


def _client(
    store: Store,
    network: str,
    subnet: str,
    client: int,
    node: str,
    shared: bool,
    adds: int,
    barrier: Barrier,
    queue: multiprocessing.SimpleQueue[ClientResult | str],
) -> None:
    try:
        queue.put(
            _allocate(
                store, network, subnet, client, node, shared, adds, barrier
            )
        )
    except Exception as exc:
        barrier.abort()
        queue.put(f"{node}: {exc.__class__.__name__}: {exc}")


def _allocate(
    store: Store,
    network: str,
    subnet: str,
    client: int,
    node: str,
    shared: bool,
    adds: int,
    barrier: Barrier,
) -> ClientResult:
    config = _config(store, network, subnet, node)
    with CountingStore(open_store(store)) as counted:
        counted.get(KeyLayout(config.prefix, network).base)  # connect
        counted.counts = Counts()
        # A node's processes share its hint files, as plugin calls do;
        # a process alone on its node keeps them in memory, as an agent.
        cursors = None
        if shared:
            base = Path(tempfile.gettempdir()) / "macvlan-ipam-bench"
            cursors = FileCursors(base / network / node)
        allocator = Allocator(counted, config, cursors)
        barrier.wait()
        started = time.monotonic()
        cpu = time.process_time()
        held = []
        for n in range(adds):
            attachment = Attachment(f"c{client}-{n:05d}", "eth0")
            for r in allocator.allocate(attachment):
                held.append((str(r.address), attachment.container_id))
        finished = time.monotonic()
        cpu = time.process_time() - cpu
    return ClientResult(started, finished, held, counted.counts, cpu)


def _duplicates(
    store: Store, config: IpamConfig, results: list[ClientResult]
) -> int:
    """Addresses handed out twice, or not held in the store as told."""
    held = [pair for r in results for pair in r.held]
    addresses = [address for address, _ in held]
    twice = len(addresses) - len(set(addresses))
    keys = KeyLayout(config.prefix, config.network)
    reads = [Get(keys.ip(ipaddress.ip_address(a))) for a in addresses]
    with open_store(store) as reading:
        found = reading.read(reads)
    wrong = sum(
        not hit or decode_owner(hit[0].value, hit[0].key).container_id != cid
        for (_, cid), hit in zip(held, found, strict=True)
    )
    return twice + wrong
