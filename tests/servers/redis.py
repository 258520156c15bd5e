"""redis-server fixtures: plain, ACL auth, TLS, Cluster and Sentinel.

Every server runs from the Debian ``redis-server`` binary on free
loopback ports, with persistence off and its files in a pytest tmp dir.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .certs import TestPKI, make_pki
from .process import ServerProcess, free_port, port_open, require_binary

PASSWORD = "s3cret-redis-pw"
USERNAME = "ipam"
READER = "reader"  # may run the scripts, but not write
# What the backend needs, no more (store.py documents the same list).
ACL_RULES = (
    "~* -@all +@connection +evalsha +script|load +hget +hmget +hset "
    "+del +pexpire +incr +zadd +zrem +zrangebylex"
)

READER_RULES = (
    "~* -@all +@connection +evalsha +script|load +hget +hmget +zrangebylex"
)


@dataclass
class RedisServer:
    """One server, or a cluster/sentinel set whose first is ``process``."""

    processes: list[ServerProcess]
    base: dict[str, object]
    port: int
    password_file: Path | None = None
    pki: TestPKI | None = None

    @property
    def process(self) -> ServerProcess:
        return self.processes[0]

    def store_config(self, **overrides: object) -> dict[str, object]:
        """The ``store`` block; an override of ``None`` drops the field."""
        config = {"type": "redis", **self.base, **overrides}
        return {k: v for k, v in config.items() if v is not None}

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


def _redis_server() -> str:
    return require_binary("redis-server", "redis-server")


def _start(
    name: str, workdir: Path, port: int, conf: list[str], args: list[str]
) -> ServerProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    conf_path = workdir / f"{name}.conf"
    conf_path.write_text(
        "\n".join(
            [
                "bind 127.0.0.1",
                'save ""',
                "appendonly no",
                f"dir {workdir}",
                *conf,
            ]
        )
        + "\n"
    )
    process = ServerProcess(
        name,
        [_redis_server(), str(conf_path), *args],
        workdir,
        ready=lambda: port_open(port),
    )
    process.start()
    return process


def _plain(workdir: Path, name: str = "redis") -> RedisServer:
    port = free_port()
    process = _start(name, workdir, port, [f"port {port}"], [])
    return RedisServer(
        [process], {"endpoints": [f"redis://127.0.0.1:{port}"]}, port
    )


@pytest.fixture(scope="session")
def redis_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServer]:
    server = _plain(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_auth_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServer]:
    """The default user is off; ``ipam`` may do what the backend needs."""
    workdir = tmp_path_factory.mktemp("redis-auth")
    port = free_port()
    conf = [
        f"port {port}",
        "user default off",
        f"user {USERNAME} on >{PASSWORD} {ACL_RULES}",
        f"user {READER} on >{PASSWORD} {READER_RULES}",
    ]
    process = _start("redis-auth", workdir, port, conf, [])
    password_file = workdir / "password"
    password_file.write_text(PASSWORD + "\n")
    server = RedisServer(
        [process],
        {
            "endpoints": [f"redis://127.0.0.1:{port}"],
            "username": USERNAME,
            "password": PASSWORD,
        },
        port,
        password_file=password_file,
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_tls_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServer]:
    """TLS only (``port 0``), client certificates required."""
    workdir = tmp_path_factory.mktemp("redis-tls")
    pki = make_pki(workdir / "pki")
    port = free_port()
    conf = [
        "port 0",
        f"tls-port {port}",
        f"tls-cert-file {pki.server_cert}",
        f"tls-key-file {pki.server_key}",
        f"tls-ca-cert-file {pki.ca}",
        "tls-auth-clients yes",
    ]
    process = _start("redis-tls", workdir, port, conf, [])
    tls = {
        "ca": str(pki.ca),
        "cert": str(pki.client_cert),
        "key": str(pki.client_key),
    }
    server = RedisServer(
        [process],
        {"endpoints": [f"rediss://127.0.0.1:{port}"], "tls": tls},
        port,
        pki=pki,
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServer]:
    """Three masters, no replicas, joined by ``redis-cli --cluster``."""
    workdir = tmp_path_factory.mktemp("redis-cluster")
    cli = require_binary("redis-cli", "redis-tools")
    processes: list[ServerProcess] = []
    ports = [free_port() for _ in range(3)]
    try:
        for i, port in enumerate(ports):
            conf = [
                f"port {port}",
                f"cluster-port {free_port()}",
                "cluster-enabled yes",
                f"cluster-config-file nodes-{i}.conf",
                "cluster-node-timeout 2000",
            ]
            processes.append(
                _start(f"redis-node{i}", workdir / f"node{i}", port, conf, [])
            )
        nodes = [f"127.0.0.1:{p}" for p in ports]
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *nodes,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        _wait_cluster_ok(cli, ports)
    except BaseException:
        for process in processes:
            process.stop()
        raise
    server = RedisServer(
        processes,
        {"endpoints": [f"redis://{n}" for n in nodes], "cluster": True},
        ports[0],
    )
    yield server
    server.stop()


def _wait_cluster_ok(cli: str, ports: list[int]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        states = [
            subprocess.run(
                [cli, "-p", str(p), "cluster", "info"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            for p in ports
        ]
        if all("cluster_state:ok" in s for s in states):
            return
        time.sleep(0.1)
    raise RuntimeError("redis cluster never reached cluster_state:ok")


@pytest.fixture(scope="session")
def redis_sentinel(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RedisServer]:
    """One master watched by one sentinel (quorum 1) as ``ipam-master``."""
    workdir = tmp_path_factory.mktemp("redis-sentinel")
    master = _plain(workdir / "master", "redis-master")
    port = free_port()
    conf = [
        f"port {port}",
        f"sentinel monitor ipam-master 127.0.0.1 {master.port} 1",
        "sentinel down-after-milliseconds ipam-master 5000",
    ]
    try:
        sentinel = _start(
            "redis-sentinel", workdir / "sentinel", port, conf, ["--sentinel"]
        )
    except BaseException:
        master.stop()
        raise
    server = RedisServer(
        [master.process, sentinel],
        {
            "sentinels": [f"redis://127.0.0.1:{port}"],
            "masterName": "ipam-master",
        },
        port,
    )
    yield server
    server.stop()
