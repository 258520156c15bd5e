"""The redis backend: the conformance kit on every deployment shape,
then failures, TTL scans and the hash tag rule."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from macvlan_ipam.backends.redis import RedisStore
from macvlan_ipam.backends.redis.keyspace import Keyspace
from macvlan_ipam.core.errors import (
    InvalidConfig,
    StoreAuthError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)
from macvlan_ipam.core.kv import Get, Put, Scan
from macvlan_ipam.core.testing import AllocatorContract, StoreContract
from tests.servers.process import free_port
from tests.servers.redis import PASSWORD, READER, RedisServer


def _open(config: dict[str, object]) -> Iterator[RedisStore]:
    with RedisStore.from_config(config) as store:
        yield store


@pytest.mark.redis
class TestPlain(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, redis_server: RedisServer) -> Iterator[RedisStore]:
        yield from _open(redis_server.store_config())


@pytest.mark.redis
class TestAuth(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, redis_auth_server: RedisServer) -> Iterator[RedisStore]:
        yield from _open(redis_auth_server.store_config())


@pytest.mark.redis
class TestTLS(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, redis_tls_server: RedisServer) -> Iterator[RedisStore]:
        yield from _open(redis_tls_server.store_config())


@pytest.mark.redis
class TestCluster(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, redis_cluster: RedisServer) -> Iterator[RedisStore]:
        yield from _open(redis_cluster.store_config())


@pytest.mark.redis
class TestSentinel(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, redis_sentinel: RedisServer) -> Iterator[RedisStore]:
        yield from _open(redis_sentinel.store_config())


@pytest.fixture
def prefix() -> str:
    return f"/kit/{uuid.uuid4().hex}/"


# Failures


@pytest.mark.redis
def test_password_file_is_read(redis_auth_server: RedisServer) -> None:
    assert redis_auth_server.password_file is not None
    config = redis_auth_server.store_config(
        password=None, passwordFile=str(redis_auth_server.password_file)
    )
    with RedisStore.from_config(config) as store:
        assert store.read([Get("/kit/x/never")]) == [[]]


@pytest.mark.redis
def test_wrong_password_is_an_auth_error_and_stays_secret(
    redis_auth_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-" + PASSWORD
    caplog.set_level(logging.DEBUG)
    config = redis_auth_server.store_config(password=wrong)
    with (
        RedisStore.from_config(config) as store,
        pytest.raises(StoreAuthError) as info,
    ):
        store.read([Get("/kit/x/k")])
    for secret in (wrong, PASSWORD):
        assert secret not in str(info.value)
        assert secret not in repr(info.value)
        assert secret not in caplog.text


@pytest.mark.redis
def test_disabled_user_is_an_auth_error(
    redis_auth_server: RedisServer,
) -> None:
    config = redis_auth_server.store_config(username="default")
    with (
        RedisStore.from_config(config) as store,
        pytest.raises(StoreAuthError),
    ):
        store.commit([], [Put("/kit/x/k", b"v")])


@pytest.mark.redis
def test_command_outside_the_acl_is_an_auth_error(
    redis_auth_server: RedisServer, prefix: str
) -> None:
    config = redis_auth_server.store_config(username=READER)
    with RedisStore.from_config(config) as store:
        assert store.read([Get(prefix + "k")]) == [[]]
        with pytest.raises(StoreAuthError):
            store.commit([], [Put(prefix + "k", b"v")])


@pytest.mark.redis
def test_untrusted_server_certificate_is_an_auth_error(
    redis_tls_server: RedisServer,
) -> None:
    pki = redis_tls_server.pki
    assert pki is not None
    # Trusting only the client certificate: the server's chain fails.
    tls = {
        "ca": str(pki.client_cert),
        "cert": str(pki.client_cert),
        "key": str(pki.client_key),
    }
    config = redis_tls_server.store_config(tls=tls)
    with (
        RedisStore.from_config(config) as store,
        pytest.raises(StoreAuthError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        store.read([Get("/kit/x/k")])


@pytest.mark.redis
def test_tls_without_client_cert_is_refused(
    redis_tls_server: RedisServer,
) -> None:
    assert redis_tls_server.pki is not None
    tls = {"ca": str(redis_tls_server.pki.ca)}
    # TODO(redis): TLS 1.3 refuses the missing client certificate after
    # the handshake, so the client sees a bare EOF: StoreUnreachable,
    # where StoreAuthError would be more helpful.
    config = redis_tls_server.store_config(tls=tls)
    with RedisStore.from_config(config) as store, pytest.raises(StoreError):
        store.read([Get("/kit/x/k")])


@pytest.mark.redis
def test_frozen_server_times_out(redis_server: RedisServer) -> None:
    config = redis_server.store_config(timeout=1, dialTimeout=1)
    with RedisStore.from_config(config) as store:
        store.read([Get("/kit/x/warm")])
        redis_server.process.pause()
        try:
            started = time.monotonic()
            with pytest.raises(StoreTimeout):
                store.read([Get("/kit/x/k")])
            assert time.monotonic() - started < 2.0
        finally:
            redis_server.process.resume()


@pytest.mark.redis
def test_frozen_server_times_out_on_a_new_connection(
    redis_server: RedisServer,
) -> None:
    config = redis_server.store_config(timeout=1, dialTimeout=1)
    redis_server.process.pause()
    try:
        with RedisStore.from_config(config) as store:
            started = time.monotonic()
            with pytest.raises(StoreTimeout):
                store.commit([], [Put("/kit/x/k", b"v")])
            assert time.monotonic() - started < 2.0
    finally:
        redis_server.process.resume()


def test_nothing_listening_is_unreachable() -> None:
    config = {
        "type": "redis",
        "endpoints": [f"redis://127.0.0.1:{free_port()}"],
    }
    with (
        RedisStore.from_config(config) as store,
        pytest.raises(StoreUnreachable),
    ):
        store.read([Get("/kit/x/k")])


def test_nothing_listening_in_cluster_mode_is_unreachable() -> None:
    config = {
        "type": "redis",
        "cluster": True,
        "endpoints": [f"redis://127.0.0.1:{free_port()}"],
    }
    with (
        RedisStore.from_config(config) as store,
        pytest.raises(StoreUnreachable),
    ):
        store.read([Get("/kit/x/k")])


def test_from_config_does_not_connect() -> None:
    for extra in ({}, {"cluster": True}):
        config = {
            "type": "redis",
            "endpoints": [f"redis://127.0.0.1:{free_port()}"],
            **extra,
        }
        RedisStore.from_config(config).close()


# Hash tags


@pytest.mark.redis
@pytest.mark.parametrize("fixture", ["redis_server", "redis_cluster"])
def test_batch_spanning_tags_is_refused(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    server: RedisServer = request.getfixturevalue(fixture)
    with RedisStore.from_config(server.store_config()) as store:
        with pytest.raises(StoreError, match="spans hash tags"):
            store.read([Get("/kit/a/k"), Get("/kit/b/k")])
        with pytest.raises(StoreError, match="spans hash tags"):
            store.commit([], [Put("/kit/a/k", b"1"), Put("/kit/b/k", b"2")])
        assert store.read([Get("/kit/a/k")]) == [[]]


def test_tag_rule() -> None:
    two = Keyspace(2)
    assert two.tag_of_key("/macvlan-ipam/net1/ips/1") == "/macvlan-ipam/net1"
    assert two.tag_of_prefix("/kit/abc/") == "/kit/abc"
    assert Keyspace(3).tag_of_key("a/b/c/d") == "a/b/c"
    with pytest.raises(StoreError, match="hashTagSegments"):
        two.tag_of_prefix("/kit/ab")
    with pytest.raises(StoreError, match="hashTagSegments"):
        two.tag_of_key("/kit")


def test_default_tag_follows_the_prefix() -> None:
    store = RedisStore.from_config({"type": "redis", "prefix": "/a/b"})
    with pytest.raises(StoreError, match="spans hash tags"):
        store.read([Get("/a/b/net1/ips/1"), Get("/a/b/net2/ips/1")])


# TTL


@pytest.mark.redis
@pytest.mark.parametrize("fixture", ["redis_server", "redis_cluster"])
def test_scans_skip_expired_keys(
    fixture: str, request: pytest.FixtureRequest, prefix: str
) -> None:
    server: RedisServer = request.getfixturevalue(fixture)
    with RedisStore.from_config(server.store_config()) as store:
        leases = [Put(f"{prefix}k{i}", b"x", ttl=0.2) for i in range(5)]
        plain = [Put(prefix + "m", b"1"), Put(prefix + "n", b"2")]
        assert store.commit([], [*leases, *plain])
        assert len(store.scan(prefix)) == 7
        time.sleep(0.4)

        got = store.read([Scan(prefix, limit=2), Scan(prefix, limit=1)])
        assert [[e.key for e in r] for r in got] == [
            [prefix + "m", prefix + "n"],
            [prefix + "m"],
        ]
        assert [e.key for e in store.scan(prefix, keys_only=True)] == [
            prefix + "m",
            prefix + "n",
        ]


@pytest.mark.redis
def test_put_without_ttl_clears_an_old_ttl(
    redis_server: RedisServer, prefix: str
) -> None:
    with RedisStore.from_config(redis_server.store_config()) as store:
        store.commit([], [Put(prefix + "k", b"lease", ttl=0.2)])
        store.commit([], [Put(prefix + "k", b"kept")])
        time.sleep(0.4)
        entry = store.get(prefix + "k")
        assert entry is not None
        assert entry.value == b"kept"


# Config


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"endpoints": ["redis://ipam:hunter2@h:1"]}, "credentials"),
        ({"endpoints": ["http://h:1"]}, "redis://host:port"),
        ({"endpoints": ["redis://h:1/x"]}, "database number"),
        ({"endpoints": ["redis://a:1", "redis://b:1"]}, "one server"),
        (
            {"endpoints": ["redis://a:1", "rediss://b:1"], "cluster": True},
            "mixes",
        ),
        ({"tls": {"insecureSkipVerify": True}}, "rediss://"),
        ({"sentinels": ["redis://h:1"]}, "masterName"),
        ({"hashTagSegments": 0}, "hashTagSegments"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_invalid_config(config: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfig, match=message) as info:
        RedisStore.from_config({"type": "redis", **config})
    assert "hunter2" not in str(info.value)
