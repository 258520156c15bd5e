"""Session Consul agents: plain, ACL (default deny), HTTPS.

Each fixture starts ``consul agent -dev`` on free loopback ports (DNS,
gRPC and serf WAN switched off) with its working dir in a pytest temp
dir, and yields a ``ConsulServer``.  Dev agents keep data in memory.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .certs import TestPKI, make_pki
from .process import ServerProcess, free_port, require_binary

#: Consul key prefixes the ACL server's ``ipam`` token may read and
#: write (the store drops our keys' leading '/').
ACL_PREFIXES = ("kit/", "macvlan-ipam/")


@dataclass
class ConsulServer:
    process: ServerProcess
    url: str
    config: dict[str, object]
    #: Management token of the ACL server.
    master_token: str | None = None
    #: The limited token the store config carries, and a file of it.
    token: str | None = None
    token_file: Path | None = None
    context: ssl.SSLContext | None = None
    pki: TestPKI | None = None

    def store_config(self, **overrides: object) -> dict[str, object]:
        """The ``store`` block; an override of ``None`` drops the key."""
        merged = {**self.config, **overrides}
        return {k: v for k, v in merged.items() if v is not None}

    def api(self, method: str, path: str, body: object = None) -> object:
        """Call the HTTP API with the management token; JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method
        )
        if self.master_token:
            request.add_header("X-Consul-Token", self.master_token)
        with urllib.request.urlopen(
            request, timeout=5, context=self.context
        ) as reply:
            return json.loads(reply.read() or b"null")


@pytest.fixture(scope="session")
def consul_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsulServer]:
    workdir = tmp_path_factory.mktemp("consul")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(workdir, {"ports": _ports(http=port)}, url, None)
    try:
        yield ConsulServer(process, url, _store(url))
    finally:
        process.stop()


@pytest.fixture(scope="session")
def consul_acl_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsulServer]:
    """ACLs on, default deny; token ``ipam`` may use ``ACL_PREFIXES``."""
    workdir = tmp_path_factory.mktemp("consul-acl")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    master = str(uuid.uuid4())
    acl = {
        "enabled": True,
        "default_policy": "deny",
        "down_policy": "extend-cache",
        "tokens": {"master": master},
    }
    settings = {"ports": _ports(http=port), "acl": acl}  # fmt: skip
    process = _start(workdir, settings, url, None)
    try:
        server = ConsulServer(process, url, {}, master_token=master)
        server.token = _limited_token(server)
        server.token_file = workdir / "ipam.token"
        server.token_file.write_text(server.token + "\n")
        server.config = _store(url, token=server.token)
        yield server
    finally:
        process.stop()


@pytest.fixture(scope="session")
def consul_tls_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ConsulServer]:
    """HTTPS only, server certificate from a test CA, no client certs."""
    workdir = tmp_path_factory.mktemp("consul-tls")
    pki = make_pki(workdir / "pki")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    settings = {
        "ports": _ports(http=-1, https=port),
        "ca_file": str(pki.ca),
        "cert_file": str(pki.server_cert),
        "key_file": str(pki.server_key),
        "verify_incoming": False,
        "verify_outgoing": False,
    }
    context = ssl.create_default_context(cafile=str(pki.ca))
    process = _start(workdir, settings, url, context)
    try:
        config = _store(url, tls={"ca": str(pki.ca)})
        yield ConsulServer(process, url, config, context=context, pki=pki)
    finally:
        process.stop()


def _ports(**given: int) -> dict[str, int]:
    ports = {"dns": -1, "grpc": -1, "serf_wan": -1,
             "serf_lan": free_port(), "server": free_port()}  # fmt: skip
    return {**ports, **given}


def _store(url: str, **fields: object) -> dict[str, object]:
    return {"type": "consul", "endpoints": [url], "timeout": 3, **fields}


def _start(
    workdir: Path,
    settings: dict[str, object],
    url: str,
    context: ssl.SSLContext | None,
) -> ServerProcess:
    binary = require_binary("consul", "consul (bullseye) via "
                            "scripts/install-consul")  # fmt: skip
    config = workdir / "agent.json"
    config.write_text(json.dumps(settings))
    argv = [
        binary, "agent", "-dev", "-client", "127.0.0.1",
        "-bind", "127.0.0.1", f"-node=test-{workdir.name}",
        "-log-level=warn", f"-config-file={config}",
    ]  # fmt: skip
    process = ServerProcess("consul", argv, workdir, _Ready(url, context))
    process.start()
    return process


def _limited_token(server: ConsulServer) -> str:
    """Create the ``ipam`` policy and a token holding it."""
    rules = "\n".join(
        f'key_prefix "{p}" {{ policy = "write" }}' for p in ACL_PREFIXES
    )
    policy = {"Name": "ipam", "Rules": rules}
    deadline = time.monotonic() + 15
    while True:  # the ACL system comes up shortly after the leader
        try:
            server.api("PUT", "/v1/acl/policy", policy)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    token = server.api(
        "PUT", "/v1/acl/token",
        {"Description": "ipam", "Policies": [{"Name": "ipam"}]},
    )  # fmt: skip
    assert isinstance(token, dict)
    return str(token["SecretID"])


class _Ready:
    """``/v1/status/leader`` names a leader."""

    def __init__(self, url: str, context: ssl.SSLContext | None) -> None:
        self.url = url + "/v1/status/leader"
        self.context = context

    def __call__(self) -> bool:
        with (
            contextlib.suppress(OSError, ValueError),
            urllib.request.urlopen(
                self.url, timeout=0.5, context=self.context
            ) as reply,
        ):
            return bool(json.loads(reply.read()))
        return False
