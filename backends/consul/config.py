"""The consul backend's options, parsed from the ``store`` block."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from macvlan_ipam.core.errors import InvalidConfig
from macvlan_ipam.core.storeconfig import StoreOptions

DEFAULT_ENDPOINTS = ("http://127.0.0.1:8500",)
_EXTRA = {"datacenter"}
_DEFAULT_PORTS = {"http": 8500, "https": 8501}


@dataclass(frozen=True)
class Endpoint:
    """One agent's address; an IPv6 ``host`` keeps its brackets."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True)
class ConsulOptions:
    endpoints: tuple[Endpoint, ...]
    timeout: float
    dial_timeout: float
    token: str | None = field(default=None, repr=False)
    datacenter: str | None = None
    #: ``requests``' ``verify``: a CA bundle path, or a bool.
    verify: bool | str = True
    #: ``requests``' ``cert``: (certificate, key) for client TLS.
    cert: tuple[str, str] | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> ConsulOptions:
        """Raise ``InvalidConfig`` naming the offending field."""
        options = StoreOptions.parse(raw, DEFAULT_ENDPOINTS)
        options.reject_unknown(_EXTRA)
        if not options.prefix.startswith("/"):
            raise InvalidConfig("store.prefix: must start with '/'")
        verify, cert = _tls(options)
        return cls(
            endpoints=tuple(_endpoint(e) for e in options.endpoints),
            timeout=options.timeout,
            dial_timeout=options.dial_timeout,
            token=options.token,
            datacenter=_datacenter(options.extra.get("datacenter")),
            verify=verify,
            cert=cert,
        )


def _endpoint(text: str) -> Endpoint:
    url = urllib.parse.urlsplit(text)
    bad = InvalidConfig(
        f"store.endpoints: {text!r} is not http(s)://host:port"
    )
    if url.scheme not in _DEFAULT_PORTS or not url.hostname:
        raise bad
    if url.path not in ("", "/") or url.query or url.username:
        raise bad
    try:
        port = url.port or _DEFAULT_PORTS[url.scheme]
    except ValueError:
        raise bad from None
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return Endpoint(url.scheme, host, port)


def _tls(options: StoreOptions) -> tuple[bool | str, tuple[str, str] | None]:
    tls = options.tls
    if tls is None:
        return True, None
    if tls.server_name is not None:
        # TODO(consul): requests has no per-session SNI override; it
        # would need a custom HTTPAdapter passing server_hostname.
        raise InvalidConfig(
            "store.tls.serverName: not supported by the consul backend"
        )
    verify: bool | str = tls.ca if tls.ca is not None else True
    if tls.insecure_skip_verify:
        verify = False
    cert = None
    if tls.cert is not None and tls.key is not None:
        cert = (tls.cert, tls.key)
    return verify, cert


def _datacenter(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidConfig("store.datacenter: expected a non-empty string")
    return value
