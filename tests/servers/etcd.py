"""Session etcd servers: plain, TLS with client certificates, RBAC.

Each fixture starts the Debian ``etcd`` binary on free loopback ports
with its data in a pytest temp dir, and yields an ``EtcdServer``.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .certs import TestPKI, make_pki
from .process import ServerProcess, free_port, require_binary

#: Key prefixes the RBAC user may read and write.
RBAC_PREFIXES = ("/kit/", "/macvlan-ipam/")

#: Seconds an idle auth token of the RBAC server lives.
TOKEN_TTL = 2

# Short raft timers: a single member elects itself at once.
_FAST_FLAGS = (
    "--heartbeat-interval=10",
    "--election-timeout=100",
    "--snapshot-count=100000",
    "--logger=zap",
    "--log-level=warn",
    "--bcrypt-cost=4",
)


@dataclass
class EtcdServer:
    process: ServerProcess
    url: str
    config: dict[str, object]
    #: etcdctl flags that reach the server as root (TLS, user).
    ctl_flags: list[str] = field(default_factory=list)
    username: str | None = None
    password: str | None = None
    password_file: Path | None = None

    def store_config(self, **overrides: object) -> dict[str, object]:
        """The ``store`` block; an override of ``None`` drops the key."""
        merged = {**self.config, **overrides}
        return {k: v for k, v in merged.items() if v is not None}

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOPped for the block; it has stopped once the block runs."""
        self.process.pause()
        try:
            _wait_stopped(self.process)
            yield
        finally:
            self.process.resume()

    def etcdctl(self, *args: str) -> str:
        return _etcdctl(self.url, [*self.ctl_flags, *args])


@pytest.fixture(scope="session")
def etcd_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EtcdServer]:
    workdir = tmp_path_factory.mktemp("etcd")
    url = f"http://127.0.0.1:{free_port()}"
    process = _start(workdir, url, [], _health_check(url, None))
    try:
        yield EtcdServer(process, url, {"type": "etcd", "endpoints": [url]})
    finally:
        process.stop()


@pytest.fixture(scope="session")
def etcd_tls_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EtcdServer]:
    """TLS that only lets in clients with a certificate from the CA."""
    workdir = tmp_path_factory.mktemp("etcd-tls")
    pki = make_pki(workdir / "pki")
    url = f"https://127.0.0.1:{free_port()}"
    flags = [
        *_server_tls_flags(pki),
        "--client-cert-auth",
        f"--trusted-ca-file={pki.ca}",
    ]
    process = _start(workdir, url, flags, _health_check(url, pki))
    tls = {
        "ca": str(pki.ca),
        "cert": str(pki.client_cert),
        "key": str(pki.client_key),
    }
    try:
        yield EtcdServer(
            process,
            url,
            {"type": "etcd", "endpoints": [url], "tls": tls},
            ctl_flags=[
                f"--cacert={pki.ca}",
                f"--cert={pki.client_cert}",
                f"--key={pki.client_key}",
            ],
        )
    finally:
        process.stop()


@pytest.fixture(scope="session")
def etcd_rbac_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EtcdServer]:
    """TLS (server certificate only) and etcd auth with a limited user.

    User ``ipam`` may read and write ``RBAC_PREFIXES`` and nothing else;
    ``root`` administers.  Tokens expire after ``TOKEN_TTL`` idle
    seconds, so clients must log in again.
    """
    workdir = tmp_path_factory.mktemp("etcd-rbac")
    pki = make_pki(workdir / "pki")
    url = f"https://127.0.0.1:{free_port()}"
    ready = _health_check(url, pki, client_cert=False)
    flags = [*_server_tls_flags(pki), f"--auth-token-ttl={TOKEN_TTL}"]
    process = _start(workdir, url, flags, ready)
    password = "ipam-Pa55-" + os.urandom(4).hex()
    password_file = workdir / "ipam.password"
    password_file.write_text(password + "\n")
    try:
        server = EtcdServer(
            process,
            url,
            {
                "type": "etcd",
                "endpoints": [url],
                "tls": {"ca": str(pki.ca)},
                "username": "ipam",
                "password": password,
            },
            ctl_flags=[f"--cacert={pki.ca}"],
            username="ipam",
            password=password,
            password_file=password_file,
        )
        _enable_auth(server, root_password="root-" + os.urandom(4).hex())
        yield server
    finally:
        process.stop()


def _enable_auth(server: EtcdServer, root_password: str) -> None:
    assert server.password is not None
    ctl = server.etcdctl
    ctl("user", "add", f"root:{root_password}")
    ctl("role", "add", "ipam")
    for prefix in RBAC_PREFIXES:
        ctl(
            "role",
            "grant-permission",
            "ipam",
            "--prefix=true",
            "readwrite",
            prefix,
        )
    ctl("user", "add", f"ipam:{server.password}")
    ctl("user", "grant-role", "ipam", "ipam")
    ctl("auth", "enable")
    server.ctl_flags.append(f"--user=root:{root_password}")


def _start(
    workdir: Path, url: str, flags: list[str], ready: _Ready
) -> ServerProcess:
    binary = require_binary("etcd", "etcd-server")
    peer = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        "--name=test",
        f"--data-dir={workdir / 'data'}",
        f"--listen-client-urls={url}",
        f"--advertise-client-urls={url}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=test={peer}",
        "--initial-cluster-state=new",
        *_FAST_FLAGS,
        *flags,
    ]
    process = ServerProcess("etcd", argv, workdir, ready)
    process.start()
    return process


def _server_tls_flags(pki: TestPKI) -> list[str]:
    return [f"--cert-file={pki.server_cert}", f"--key-file={pki.server_key}"]


class _Ready:
    """``GET /health`` answers ``"health":"true"``."""

    def __init__(self, url: str, context: ssl.SSLContext | None) -> None:
        self.url = url + "/health"
        self.context = context

    def __call__(self) -> bool:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(
                self.url, timeout=0.5, context=self.context
            ) as reply,
        ):
            return b'"health":"true"' in reply.read()
        return False


def _health_check(
    url: str, pki: TestPKI | None, client_cert: bool = True
) -> _Ready:
    if pki is None:
        return _Ready(url, None)
    context = ssl.create_default_context(cafile=str(pki.ca))
    if client_cert:
        context.load_cert_chain(pki.client_cert, pki.client_key)
    return _Ready(url, context)


def _wait_stopped(process: ServerProcess, timeout: float = 5.0) -> None:
    """SIGSTOP lands asynchronously; wait until the kernel says "T"."""
    assert process.proc is not None
    stat = Path(f"/proc/{process.proc.pid}/stat")
    deadline = time.monotonic() + timeout
    while stat.read_text().rpartition(")")[2].split()[0] != "T":
        if time.monotonic() > deadline:
            raise RuntimeError("etcd did not stop on SIGSTOP")
        time.sleep(0.01)


def _etcdctl(url: str, args: list[str]) -> str:
    binary = require_binary("etcdctl", "etcd-client")
    done = subprocess.run(
        [binary, f"--endpoints={url}", "--dial-timeout=5s", *args],
        env={**os.environ, "ETCDCTL_API": "3"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        raise RuntimeError(f"etcdctl {args[0]} failed: {done.stderr}")
    return done.stdout
