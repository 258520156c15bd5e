"""The benchmark's own etcd: started on free loopback ports, then gone.

Also reads etcd's Prometheus counters of gRPC calls, which count the
round trips every client made, plugin processes included.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers.process import ServerProcess, free_port, require_binary

_HANDLED = re.compile(
    r"^grpc_server_handled_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$",
    re.MULTILINE,
)
_METHOD = re.compile(r'grpc_method="([^"]+)"')


@dataclass
class Etcd:
    url: str
    process: ServerProcess
    data_on_tmpfs: bool

    def store_config(self) -> dict[str, object]:
        return {"type": "etcd", "endpoints": [self.url]}

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (user and system)."""
        assert self.process.proc is not None
        stat = Path(f"/proc/{self.process.proc.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rpc_counts(self) -> Counter[str]:
        """gRPC calls the server has answered so far, by method."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        counts: Counter[str] = Counter()
        for match in _HANDLED.finditer(text):
            method = _METHOD.search(match["labels"])
            if method:
                counts[method[1]] += int(float(match["value"]))
        return counts


@contextlib.contextmanager
def running_etcd(workdir: Path | None = None) -> Iterator[Etcd]:
    """An etcd with its data on tmpfs when there is one.

    tmpfs takes the disk's fsync out of the figures: they are about the
    allocator, and an etcd member on a real SSD syncs in well under a
    millisecond anyway.
    """
    binary = require_binary("etcd", "etcd-server")
    shm = Path("/dev/shm")
    base = shm if workdir is None and shm.is_dir() else workdir
    data = Path(tempfile.mkdtemp(prefix="bench-etcd-", dir=base))
    url = f"http://127.0.0.1:{free_port()}"
    peer = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        "--name=bench",
        f"--data-dir={data / 'data'}",
        f"--listen-client-urls={url}",
        f"--advertise-client-urls={url}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=bench={peer}",
        "--initial-cluster-state=new",
        # etcd's default raft timers: faster heartbeats would cost CPU
        # that the figures would count against the allocator.
        "--log-level=warn",
        "--logger=zap",
    ]
    process = ServerProcess("etcd", argv, data, _Healthy(url))
    process.start()
    try:
        yield Etcd(url, process, base == shm)
    finally:
        process.stop()
        shutil.rmtree(data, ignore_errors=True)


class _Healthy:
    def __init__(self, url: str) -> None:
        self.url = url + "/health"

    def __call__(self) -> bool:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(self.url, timeout=0.5) as reply,
        ):
            return b'"health":"true"' in reply.read()
        return False
