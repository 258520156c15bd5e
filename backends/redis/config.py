"""The redis backend's ``store`` block: where the servers are, how to talk.

    {"type": "redis",
     "endpoints": ["redis://10.0.0.5:6379/0"],     # or rediss:// for TLS
     "username": "ipam", "passwordFile": "/etc/cni/redis-password",
     "tls": {"ca": "...", "cert": "...", "key": "..."},
     "cluster": false,              # endpoints are Redis Cluster seeds
     "sentinels": ["redis://10.0.0.7:26379"], "masterName": "ipam",
     "hashTagSegments": 2}          # see keyspace.py

Credentials never go in a URL: they would end up in logs and errors.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from macvlan_ipam.core.errors import InvalidConfig
from macvlan_ipam.core.storeconfig import StoreOptions

DEFAULT_ENDPOINTS = ("redis://127.0.0.1:6379",)
_OWN_FIELDS = {"cluster", "sentinels", "masterName", "hashTagSegments"}
_SCHEMES = {"redis": False, "rediss": True}


class Mode(Enum):
    STANDALONE = "standalone"
    CLUSTER = "cluster"
    SENTINEL = "sentinel"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    db: int = 0


@dataclass(frozen=True)
class RedisSettings:
    """Everything the backend needs; ``servers`` depend on ``mode``.

    Standalone: the one server.  Cluster: seed nodes.  Sentinel: the
    sentinels, asked for the address of ``master_name``.
    """

    options: StoreOptions
    mode: Mode
    servers: tuple[Endpoint, ...]
    use_tls: bool
    hash_tag_segments: int
    master_name: str | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, object]) -> RedisSettings:
        options = StoreOptions.parse(raw, DEFAULT_ENDPOINTS)
        options.reject_unknown(_OWN_FIELDS)
        mode = _mode(raw)
        field = "sentinels" if mode is Mode.SENTINEL else "endpoints"
        urls = _sentinels(raw) if mode is Mode.SENTINEL else options.endpoints
        servers, use_tls = _parse_urls(field, urls)
        _check_tls(options, use_tls)
        if mode is Mode.STANDALONE and len(servers) != 1:
            raise InvalidConfig(
                "store.endpoints: give one server; use cluster or "
                "sentinels for several"
            )
        if mode is not Mode.STANDALONE and any(s.db for s in servers):
            raise InvalidConfig(f"store.{field}: only database 0 here")
        return cls(
            options=options,
            mode=mode,
            servers=servers,
            use_tls=use_tls,
            hash_tag_segments=_segments(raw, options.prefix),
            master_name=_text(raw, "masterName"),
        )


def _mode(raw: Mapping[str, object]) -> Mode:
    cluster = raw.get("cluster", False)
    if not isinstance(cluster, bool):
        raise InvalidConfig("store.cluster: expected true or false")
    sentinel = "sentinels" in raw
    if sentinel and cluster:
        raise InvalidConfig("store: give cluster or sentinels, not both")
    if sentinel and "endpoints" in raw:
        raise InvalidConfig("store: give endpoints or sentinels, not both")
    if sentinel != ("masterName" in raw):
        raise InvalidConfig("store: sentinels and masterName go together")
    if sentinel:
        return Mode.SENTINEL
    return Mode.CLUSTER if cluster else Mode.STANDALONE


def _sentinels(raw: Mapping[str, object]) -> tuple[str, ...]:
    value = raw["sentinels"]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) for v in value)
    ):
        raise InvalidConfig("store.sentinels: expected a list of URLs")
    return tuple(value)


def _parse_urls(
    field: str, urls: tuple[str, ...]
) -> tuple[tuple[Endpoint, ...], bool]:
    parsed = [_parse_url(f"store.{field}[{i}]", u) for i, u in enumerate(urls)]
    schemes = {tls for _, tls in parsed}
    if len(schemes) != 1:
        raise InvalidConfig(f"store.{field}: mixes redis:// and rediss://")
    return tuple(endpoint for endpoint, _ in parsed), schemes.pop()


def _parse_url(where: str, url: str) -> tuple[Endpoint, bool]:
    """``redis[s]://host:port[/db]``; the message never echoes the URL."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or 6379
    except ValueError:
        raise InvalidConfig(f"{where}: not a redis://host:port URL") from None
    if parts.username is not None or parts.password is not None:
        raise InvalidConfig(
            f"{where}: put credentials in username/password, not the URL"
        )
    if parts.scheme not in _SCHEMES or not parts.hostname:
        raise InvalidConfig(
            f"{where}: expected redis://host:port or rediss://host:port"
        )
    if parts.query or parts.fragment:
        raise InvalidConfig(f"{where}: takes no query or fragment")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise InvalidConfig(f"{where}: the path must be a database number")
    return Endpoint(parts.hostname, port, int(db)), _SCHEMES[parts.scheme]


def _check_tls(options: StoreOptions, use_tls: bool) -> None:
    if options.tls is not None and not use_tls:
        raise InvalidConfig("store.tls: needs rediss:// URLs")
    if options.tls is not None and options.tls.server_name is not None:
        # redis-py checks the certificate against the host it dials.
        raise InvalidConfig(
            "store.tls.serverName: not supported by the redis backend"
        )


def _segments(raw: Mapping[str, object], prefix: str) -> int:
    """Default: the prefix's own segments plus the network name."""
    value = raw.get("hashTagSegments")
    if value is None:
        return len([p for p in prefix.split("/") if p]) + 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidConfig("store.hashTagSegments: expected an integer >= 1")
    return value


def _text(raw: Mapping[str, object], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidConfig(f"store.{name}: expected a non-empty string")
    return value
