"""The etcd backend's options, parsed from the ``store`` block.

Parsing reads certificate and password files but contacts no server
and imports no gRPC, so a bad config fails fast.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from macvlan_ipam.core.errors import InvalidConfig
from macvlan_ipam.core.storeconfig import StoreOptions, TLSOptions

DEFAULT_ENDPOINTS = ("http://127.0.0.1:2379",)
DEFAULT_PORT = 2379


@dataclass(frozen=True)
class Endpoint:
    """One etcd member as gRPC dials it."""

    url: str
    target: str  # host:port
    secure: bool


@dataclass(frozen=True)
class TLSMaterial:
    """PEM bytes for ``grpc.ssl_channel_credentials``."""

    ca: bytes | None = None
    key: bytes | None = field(default=None, repr=False)
    cert: bytes | None = None
    server_name: str | None = None


@dataclass(frozen=True)
class EtcdConfig:
    endpoints: tuple[Endpoint, ...]
    timeout: float
    dial_timeout: float
    tls: TLSMaterial | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_store_block(cls, raw: Mapping[str, object]) -> EtcdConfig:
        """Raises ``InvalidConfig`` naming the offending field."""
        options = StoreOptions.parse(raw, default_endpoints=DEFAULT_ENDPOINTS)
        options.reject_unknown(set())
        _check_credentials(options)
        tls = _tls_material(options.tls)
        return cls(
            endpoints=tuple(
                _endpoint(url, tls is not None) for url in options.endpoints
            ),
            timeout=options.timeout,
            dial_timeout=min(options.dial_timeout, options.timeout),
            tls=tls,
            username=options.username,
            password=options.password,
            token=options.token,
        )


def _endpoint(url: str, tls: bool) -> Endpoint:
    """``http://h:p``, ``https://h:p`` or bare ``h:p`` (TLS if configured)."""
    parts = urllib.parse.urlsplit(url if "://" in url else "//" + url)
    scheme = parts.scheme or ("https" if tls else "http")
    if scheme not in ("http", "https"):
        raise InvalidConfig(
            f"store.endpoints: {scheme!r} is not http or https"
        )
    if parts.username is not None or parts.password is not None:
        # The URL is not echoed: it holds a secret.
        raise InvalidConfig(
            "store.endpoints: credentials in a URL are not accepted; "
            "use store.username and store.password"
        )
    if scheme == "http" and tls:
        raise InvalidConfig(
            f"store.endpoints: {url} is http but store.tls is set"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise InvalidConfig(f"store.endpoints: bad port in {url}") from None
    if not parts.hostname:
        raise InvalidConfig(f"store.endpoints: no host in {url!r}")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return Endpoint(url, f"{host}:{port}", scheme == "https")


def _check_credentials(options: StoreOptions) -> None:
    if (options.username is None) != (options.password is None):
        raise InvalidConfig("store: username and password go together")
    if options.token is not None and options.username is not None:
        raise InvalidConfig("store: give a token or a username, not both")


def _tls_material(tls: TLSOptions | None) -> TLSMaterial | None:
    if tls is None:
        return None
    if tls.insecure_skip_verify:
        # TODO(etcd): grpc-python cannot turn off server verification;
        # supporting it would mean pinning the certificate it presents.
        raise InvalidConfig(
            "store.tls.insecureSkipVerify is not supported by the etcd "
            "backend; give store.tls.ca instead"
        )
    return TLSMaterial(
        ca=_read(tls.ca, "ca"),
        key=_read(tls.key, "key"),
        cert=_read(tls.cert, "cert"),
        server_name=tls.server_name,
    )


def _read(path: str | None, name: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidConfig(
            f"store.tls.{name}: cannot read {path}: {exc.strerror}"
        ) from None
