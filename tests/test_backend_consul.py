"""The consul backend on real Consul agents: the kit, then failures."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from macvlan_ipam.backends.consul import ConsulStore
from macvlan_ipam.backends.consul.txn import MAX_TXN_OPS
from macvlan_ipam.core.errors import (
    InvalidConfig,
    StoreAuthError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)
from macvlan_ipam.core.kv import Absent, Get, Put, Scan
from macvlan_ipam.core.testing import AllocatorContract, StoreContract
from tests.servers.consul import ConsulServer
from tests.servers.process import free_port

pytestmark = pytest.mark.consul


def _open(config: dict[str, object]) -> Iterator[ConsulStore]:
    with ConsulStore.from_config(config) as store:
        yield store


class TestConsulStore(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, consul_server: ConsulServer) -> Iterator[ConsulStore]:
        yield from _open(consul_server.store_config())


class TestConsulStoreWithACL(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, consul_acl_server: ConsulServer) -> Iterator[ConsulStore]:
        yield from _open(consul_acl_server.store_config())


class TestConsulStoreOverTLS(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, consul_tls_server: ConsulServer) -> Iterator[ConsulStore]:
        yield from _open(consul_tls_server.store_config())


@pytest.fixture
def key() -> str:
    return f"/kit/{uuid.uuid4().hex}/k"


# configuration


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("endpoints", ["ftp://127.0.0.1:1"]),
        ("endpoints", ["http://127.0.0.1:1/v1"]),
        ("prefix", "no-slash"),
        ("datacenter", 3),
        ("sessionTTL", 10),
    ],
)
def test_bad_config_is_rejected(field: str, value: object) -> None:
    with pytest.raises(InvalidConfig, match=field):
        ConsulStore.from_config({"type": "consul", field: value})


def test_from_config_contacts_nobody() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    ConsulStore.from_config({"type": "consul", "endpoints": [dead]}).close()


# key mapping and limits


def test_keys_are_stored_without_leading_slash(
    consul_server: ConsulServer, key: str
) -> None:
    with ConsulStore.from_config(consul_server.store_config()) as store:
        assert store.commit([], [Put(key, b"v")])
    found = consul_server.api("GET", "/v1/kv" + key)
    assert isinstance(found, list)
    assert [item["Key"] for item in found] == [key[1:]]


def test_largest_transactions_pass(
    consul_server: ConsulServer, key: str
) -> None:
    puts = [Put(f"{key}/{i:02d}", b"v") for i in range(MAX_TXN_OPS)]
    gets = [Get(f"{key}/{i:02d}") for i in range(MAX_TXN_OPS)]
    with ConsulStore.from_config(consul_server.store_config()) as store:
        assert store.commit([], puts)
        assert all(len(found) == 1 for found in store.read(gets))


def test_too_many_operations_is_a_clear_error(
    consul_server: ConsulServer, key: str
) -> None:
    too_many = MAX_TXN_OPS + 1
    puts = [Put(f"{key}/{i:02d}", b"v") for i in range(too_many - 1)]
    scans = [Scan(f"{key}/{i:02d}/") for i in range(too_many)]
    with ConsulStore.from_config(consul_server.store_config()) as store:
        with pytest.raises(StoreError, match=f"{too_many}.*limit of 64"):
            store.commit([Absent(key)], puts)
        with pytest.raises(StoreError, match="limit of 64"):
            store.read(scans)
        assert store.scan(key) == []


def test_datacenter_is_sent(consul_server: ConsulServer, key: str) -> None:
    config = consul_server.store_config(datacenter="dc1")
    with ConsulStore.from_config(config) as store:
        assert store.commit([], [Put(key, b"v")])
    config = consul_server.store_config(datacenter="nowhere")
    with ConsulStore.from_config(config) as store, pytest.raises(StoreError):
        store.get(key)


# ACL


def test_token_file(consul_acl_server: ConsulServer, key: str) -> None:
    config = consul_acl_server.store_config(
        token=None, tokenFile=str(consul_acl_server.token_file)
    )
    with ConsulStore.from_config(config) as store:
        assert store.commit([Absent(key)], [Put(key, b"v")])
        entry = store.get(key)
        assert entry is not None and entry.value == b"v"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_refused_token_is_an_auth_error(
    consul_acl_server: ConsulServer,
    key: str,
    token: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = None if token is None else str(uuid.uuid4())
    config = consul_acl_server.store_config(token=secret)
    caplog.set_level(logging.DEBUG)
    with (
        ConsulStore.from_config(config) as store,
        pytest.raises(StoreAuthError) as info,
    ):
        store.commit([Absent(key)], [Put(key, b"v")])
    _assert_no_secret(info.value, caplog, secret)


def test_wrong_token_refuses_reads(
    consul_acl_server: ConsulServer,
    key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = str(uuid.uuid4())
    config = consul_acl_server.store_config(token=secret)
    caplog.set_level(logging.DEBUG)
    with (
        ConsulStore.from_config(config) as store,
        pytest.raises(StoreAuthError) as info,
    ):
        store.get(key)
    _assert_no_secret(info.value, caplog, secret)


def test_prefix_outside_the_policy_is_refused(
    consul_acl_server: ConsulServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = consul_acl_server.store_config()
    with (
        ConsulStore.from_config(config) as store,
        pytest.raises(StoreAuthError) as info,
    ):
        store.commit([], [Put("/elsewhere/k", b"v")])
    _assert_no_secret(info.value, caplog, consul_acl_server.token)


def _assert_no_secret(
    exc: BaseException,
    caplog: pytest.LogCaptureFixture,
    secret: str | None,
) -> None:
    if secret is None:
        return
    assert secret not in str(exc)
    assert secret not in repr(exc.__cause__)
    assert secret not in caplog.text


# TLS


def test_untrusted_server_certificate(
    consul_tls_server: ConsulServer, key: str
) -> None:
    config = consul_tls_server.store_config(tls=None)
    with (
        ConsulStore.from_config(config) as store,
        pytest.raises(StoreAuthError, match="TLS"),
    ):
        store.get(key)


def test_client_certificate_is_accepted(
    consul_tls_server: ConsulServer, key: str
) -> None:
    pki = consul_tls_server.pki
    assert pki is not None
    tls = {"ca": str(pki.ca), "cert": str(pki.client_cert),
           "key": str(pki.client_key)}  # fmt: skip
    config = consul_tls_server.store_config(tls=tls)
    with ConsulStore.from_config(config) as store:
        assert store.commit([Absent(key)], [Put(key, b"v")])


# unreachable, frozen, failover


def test_nothing_listening_is_unreachable(key: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    config = {"type": "consul", "endpoints": [dead]}
    with (
        ConsulStore.from_config(config) as store,
        pytest.raises(StoreUnreachable, match=dead),
    ):
        store.get(key)


def test_frozen_server_times_out(
    consul_server: ConsulServer, key: str
) -> None:
    timeout = 1.0
    config = consul_server.store_config(timeout=timeout)
    with ConsulStore.from_config(config) as store:
        consul_server.process.pause()
        try:
            started = time.monotonic()
            with pytest.raises(StoreTimeout):
                store.get(key)
            elapsed = time.monotonic() - started
        finally:
            consul_server.process.resume()
    assert elapsed < timeout + 1


def test_failover_to_a_live_endpoint(
    consul_server: ConsulServer, key: str
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    config = consul_server.store_config(endpoints=[dead, consul_server.url])
    with ConsulStore.from_config(config) as store:
        assert store.commit([Absent(key)], [Put(key, b"v")])
        assert not store.commit([Absent(key)], [Put(key, b"w")])
        entry = store.get(key)
        assert entry is not None and entry.value == b"v"
