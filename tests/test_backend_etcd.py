"""The etcd backend: the conformance kit on a real etcd, plain, TLS and
RBAC, and how it fails when credentials or the server let it down."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from macvlan_ipam.backends.etcd import EtcdStore
from macvlan_ipam.core.errors import (
    InvalidConfig,
    StoreAuthError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)
from macvlan_ipam.core.kv import Absent, Get, Put
from macvlan_ipam.core.testing import AllocatorContract, StoreContract
from tests.servers import certs
from tests.servers.etcd import RBAC_PREFIXES, TOKEN_TTL, EtcdServer
from tests.servers.process import free_port

# Short deadlines for the failure tests.
TIMEOUT, DIAL = 1.0, 0.5


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> certs.TestPKI:
    """Certificates from a CA the servers do not know."""
    return certs.make_pki(tmp_path_factory.mktemp("foreign-pki"))


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.etcd
class TestEtcdStore(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, etcd_server: EtcdServer) -> Iterator[EtcdStore]:
        with EtcdStore.from_config(etcd_server.store_config()) as store:
            yield store

    def test_read_beyond_one_transaction(
        self, store: EtcdStore, prefix: str
    ) -> None:
        keys = [f"{prefix}{i:03d}" for i in range(300)]
        for start in range(0, 300, 100):
            batch = keys[start : start + 100]
            assert store.commit([], [Put(k, k.encode()) for k in batch])
        got = store.read([Get(k) for k in keys])
        assert [e.value for (e,) in got] == [k.encode() for k in keys]

    def test_oversized_commit_is_a_store_error(
        self, store: EtcdStore, prefix: str
    ) -> None:
        puts = [Put(f"{prefix}{i:03d}", b"v") for i in range(200)]
        with pytest.raises(StoreError, match="too many operations"):
            store.commit([], puts)
        assert store.scan(prefix) == []


@pytest.mark.etcd
class TestEtcdStoreOverTLS(StoreContract):
    """Client certificates against ``--client-cert-auth``."""

    @pytest.fixture
    def store(self, etcd_tls_server: EtcdServer) -> Iterator[EtcdStore]:
        config = etcd_tls_server.store_config()
        with EtcdStore.from_config(config) as store:
            yield store


@pytest.mark.etcd
class TestEtcdStoreWithRBAC(StoreContract, AllocatorContract):
    """A user limited to some prefixes, over TLS, by password."""

    @pytest.fixture
    def store(self, etcd_rbac_server: EtcdServer) -> Iterator[EtcdStore]:
        config = etcd_rbac_server.store_config()
        with EtcdStore.from_config(config) as store:
            yield store


@pytest.mark.etcd
class TestEtcdAuthFailures:
    def test_password_file(self, etcd_rbac_server: EtcdServer) -> None:
        config = etcd_rbac_server.store_config(
            password=None,
            passwordFile=str(etcd_rbac_server.password_file),
        )
        key = RBAC_PREFIXES[0] + "password-file"
        with EtcdStore.from_config(config) as store:
            assert store.commit([], [Put(key, b"x")])
            assert store.read([Get(key)])[0][0].value == b"x"

    def test_expired_token_logs_in_again(
        self,
        etcd_rbac_server: EtcdServer,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        key = RBAC_PREFIXES[0] + "token-expiry"
        caplog.set_level(logging.DEBUG, logger="macvlan_ipam")
        with EtcdStore.from_config(etcd_rbac_server.store_config()) as store:
            assert store.commit([], [Put(key, b"x")])
            time.sleep(TOKEN_TTL + 1.5)
            assert store.read([Get(key)])[0][0].value == b"x"
        assert "auth token expired" in caplog.text

    def test_wrong_password_hides_it(
        self,
        etcd_rbac_server: EtcdServer,
        caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        secret = "Wr0ng-s3cret-pa55word"
        config = etcd_rbac_server.store_config(password=secret)
        caplog.set_level(logging.DEBUG)
        with (
            EtcdStore.from_config(config) as store,
            pytest.raises(StoreAuthError) as raised,
        ):
            store.get(RBAC_PREFIXES[0] + "x")
        assert "authentication failed" in str(raised.value)
        for text in (
            str(raised.value),
            repr(store.config),
            caplog.text,
            *capfd.readouterr(),
        ):
            assert secret not in text

    def test_bad_token_is_auth_error(
        self, etcd_rbac_server: EtcdServer
    ) -> None:
        token = "not-a-token-0123456789"
        config = etcd_rbac_server.store_config(
            username=None, password=None, token=token
        )
        with (
            EtcdStore.from_config(config) as store,
            pytest.raises(StoreAuthError) as raised,
        ):
            store.get(RBAC_PREFIXES[0] + "x")
        assert token not in str(raised.value)

    def test_outside_granted_prefixes_is_denied(
        self, etcd_rbac_server: EtcdServer
    ) -> None:
        with EtcdStore.from_config(etcd_rbac_server.store_config()) as store:
            with pytest.raises(StoreAuthError, match="permission denied"):
                store.commit([], [Put("/elsewhere/k", b"x")])
            with pytest.raises(StoreAuthError, match="permission denied"):
                store.get("/elsewhere/k")

    def test_no_client_cert_is_refused(
        self, etcd_tls_server: EtcdServer
    ) -> None:
        tls = {"ca": etcd_tls_server.store_config()["tls"]["ca"]}
        config = etcd_tls_server.store_config(tls=tls)
        with (
            EtcdStore.from_config(config) as store,
            pytest.raises(StoreAuthError, match="TLS refused"),
        ):
            store.get("/kit/x")

    def test_foreign_client_cert_is_refused(
        self, etcd_tls_server: EtcdServer, foreign: certs.TestPKI
    ) -> None:
        tls = {
            **etcd_tls_server.store_config()["tls"],
            "cert": str(foreign.client_cert),
            "key": str(foreign.client_key),
        }
        config = etcd_tls_server.store_config(tls=tls)
        with (
            EtcdStore.from_config(config) as store,
            pytest.raises(StoreAuthError, match="TLS refused"),
        ):
            store.get("/kit/x")

    def test_untrusted_server_cert_is_refused(
        self, etcd_tls_server: EtcdServer, foreign: certs.TestPKI
    ) -> None:
        tls = {**etcd_tls_server.store_config()["tls"], "ca": str(foreign.ca)}
        config = etcd_tls_server.store_config(tls=tls)
        with (
            EtcdStore.from_config(config) as store,
            pytest.raises(StoreAuthError, match="CERTIFICATE_VERIFY"),
        ):
            store.get("/kit/x")


@pytest.mark.etcd
class TestEtcdUnavailable:
    def _config(self, server: EtcdServer, **more: object) -> dict[str, object]:
        return server.store_config(timeout=TIMEOUT, dialTimeout=DIAL, **more)

    def test_frozen_server_times_out(self, etcd_server: EtcdServer) -> None:
        with EtcdStore.from_config(self._config(etcd_server)) as store:
            store.get("/kit/warm-up")
            with etcd_server.frozen():
                started = time.monotonic()
                with pytest.raises(StoreTimeout):
                    store.get("/kit/frozen")
                elapsed = time.monotonic() - started
            assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + 1
            assert store.get("/kit/frozen") is None

    def test_frozen_server_cannot_be_dialled(
        self, etcd_server: EtcdServer
    ) -> None:
        """The kernel accepts the connection; etcd never says hello."""
        with EtcdStore.from_config(self._config(etcd_server)) as store:
            with etcd_server.frozen():
                started = time.monotonic()
                with pytest.raises(StoreUnreachable, match="SETTINGS"):
                    store.get("/kit/frozen")
                elapsed = time.monotonic() - started
            assert elapsed < DIAL + 0.5

    def test_nothing_listening(self) -> None:
        config = {
            "endpoints": [_dead_url()],
            "timeout": TIMEOUT,
            "dialTimeout": DIAL,
        }
        with EtcdStore.from_config(config) as store:
            started = time.monotonic()
            with pytest.raises(StoreUnreachable, match="refused"):
                store.get("/kit/x")
            assert time.monotonic() - started < DIAL

    def test_failover_to_live_endpoint(self, etcd_server: EtcdServer) -> None:
        key = f"/kit/failover/{time.monotonic_ns()}"
        endpoints = [_dead_url(), etcd_server.url]
        config = self._config(etcd_server, endpoints=endpoints)
        with EtcdStore.from_config(config) as store:
            assert store.commit([Absent(key)], [Put(key, b"x")])
            assert store.read([Get(key)])[0][0].value == b"x"

    def test_all_endpoints_dead_names_each(self) -> None:
        endpoints = [_dead_url(), _dead_url()]
        config = {
            "endpoints": endpoints,
            "timeout": TIMEOUT,
            "dialTimeout": DIAL,
        }
        with (
            EtcdStore.from_config(config) as store,
            pytest.raises(StoreUnreachable) as raised,
        ):
            store.commit([], [Put("/kit/x", b"x")])
        for url in endpoints:
            assert url in str(raised.value)


class TestEtcdConfig:
    """No server: parsing alone."""

    def test_from_config_contacts_nobody(self) -> None:
        store = EtcdStore.from_config({"endpoints": [_dead_url()]})
        store.close()

    def test_defaults(self) -> None:
        store = EtcdStore.from_config({"type": "etcd"})
        (endpoint,) = store.config.endpoints
        assert (endpoint.target, endpoint.secure) == ("127.0.0.1:2379", False)

    @pytest.mark.parametrize(
        ("block", "words"),
        [
            ({"endpoints": ["unix:///run/etcd.sock"]}, "not http"),
            ({"etcdURL": "http://x:1"}, "unknown field"),
            ({"username": "u"}, "go together"),
            ({"token": "t", "username": "u", "password": "p"}, "not both"),
            ({"tls": {"insecureSkipVerify": True}}, "insecureSkipVerify"),
            ({"endpoints": ["http://h:notaport"]}, "bad port"),
        ],
    )
    def test_rejects(self, block: dict[str, object], words: str) -> None:
        with pytest.raises(InvalidConfig, match=words):
            EtcdStore.from_config(block)

    def test_url_credentials_are_rejected_unseen(self) -> None:
        url = "http://user:S3cret-in-url@127.0.0.1:1"
        with pytest.raises(InvalidConfig) as raised:
            EtcdStore.from_config({"endpoints": [url]})
        assert "S3cret-in-url" not in str(raised.value)

    def test_http_endpoint_with_tls_is_ambiguous(self, tmp_path: Path) -> None:
        ca = tmp_path / "ca.crt"
        ca.write_text("not checked until dialled")
        with pytest.raises(InvalidConfig, match="is http"):
            EtcdStore.from_config(
                {"endpoints": ["http://h:1"], "tls": {"ca": str(ca)}}
            )

    def test_import_and_config_skip_grpc(self) -> None:
        code = (
            "import sys\n"
            "from macvlan_ipam.backends.etcd import EtcdStore\n"
            "EtcdStore.from_config({'endpoints': ['http://h:1']})\n"
            "assert 'grpc' not in sys.modules, 'grpc imported'\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
