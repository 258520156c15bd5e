"""The ``ipam`` section of a network config, parsed and validated.

Accepts host-local's forms (``ranges``, or the legacy top-level
``subnet``/``rangeStart``/``rangeEnd``/``gateway``), whereabouts'
``range`` and ``exclude``, and the Go project's ``etcdConfig`` block.
Every error names the field and what is wrong with it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidConfig
from .ranges import (
    IPAddress,
    IPNetwork,
    IPRange,
    RangeSet,
    check_disjoint,
    parse_address,
    parse_cidr_range,
    parse_excluded,
    parse_range,
    parse_range_set,
)
from .storeconfig import DEFAULT_PREFIX, optional_text

DEFAULT_DATA_DIR = Path("/var/lib/cni/macvlan-ipam")

_ROUTE_EXTRAS = ("mtu", "advmss", "priority", "table", "scope")


@dataclass(frozen=True)
class Route:
    dst: IPNetwork
    gw: IPAddress | None = None
    #: CNI 1.1 route attributes, passed through as given.
    extra: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DNS:
    nameservers: tuple[str, ...] = ()
    domain: str | None = None
    search: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class IpamConfig:
    network: str
    range_sets: tuple[RangeSet, ...]
    store: Mapping[str, object]
    routes: tuple[Route, ...] = ()
    dns: DNS | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    node: str = ""
    #: The node agent's unix socket, when calls should go through it.
    agent_socket: Path | None = None
    #: The ``ipam`` section as given, for passing it on unchanged.
    source: Mapping[str, object] = field(default_factory=dict, repr=False)

    @property
    def prefix(self) -> str:
        value = self.store.get("prefix", DEFAULT_PREFIX)
        return str(value)


def parse_ipam(network: str, ipam: Mapping[str, object]) -> IpamConfig:
    """Validate ``ipam`` of network ``network``; raise ``InvalidConfig``."""
    excluded = parse_excluded(ipam.get("exclude"), "ipam.exclude")
    sets = tuple(RangeSet(s.ranges, excluded) for s in _range_sets(ipam))
    check_disjoint(sets, "ipam.ranges")
    return IpamConfig(
        network=network,
        range_sets=sets,
        store=_store(ipam),
        routes=_routes(ipam.get("routes")),
        dns=_dns(ipam.get("resolvConf")),
        data_dir=Path(_text(ipam, "dataDir") or DEFAULT_DATA_DIR),
        node=_node(ipam),
        agent_socket=_optional_path(ipam, "agentSocket"),
        source=ipam,
    )


def _range_sets(ipam: Mapping[str, object]) -> list[RangeSet]:
    forms = [k for k in ("ranges", "subnet", "range") if ipam.get(k)]
    if len(forms) != 1:
        raise InvalidConfig(
            "ipam: give exactly one of ranges, subnet or range "
            f"(found {forms or 'none'})"
        )
    if forms == ["subnet"]:
        legacy = {
            k: ipam.get(k)
            for k in ("subnet", "rangeStart", "rangeEnd", "gateway")
        }
        return [parse_range_set([parse_range(legacy, "ipam")], "ipam")]
    if forms == ["range"]:
        return [parse_range_set([_whereabouts(ipam)], "ipam.range")]
    raw = ipam["ranges"]
    if not isinstance(raw, list):
        raise InvalidConfig("ipam.ranges: expected a list of range sets")
    sets = []
    for i, raw_set in enumerate(raw):
        where = f"ipam.ranges[{i}]"
        if not isinstance(raw_set, list):
            raise InvalidConfig(f"{where}: expected a list of ranges")
        ranges = [
            parse_range(r, f"{where}[{j}]") for j, r in enumerate(raw_set)
        ]
        sets.append(parse_range_set(ranges, where))
    return sets


def _whereabouts(ipam: Mapping[str, object]) -> IPRange:
    base = parse_cidr_range(ipam["range"], "ipam.range")
    start = ipam.get("range_start")
    end = ipam.get("range_end")
    gateway = ipam.get("gateway")
    if start is None and end is None and gateway is None:
        return base
    return parse_range(
        {
            "subnet": str(base.subnet),
            "rangeStart": start or str(base.start),
            "rangeEnd": end or str(base.end),
            "gateway": gateway,
        },
        "ipam.range",
    )


def _store(ipam: Mapping[str, object]) -> Mapping[str, object]:
    store = ipam.get("store")
    legacy = ipam.get("etcdConfig")
    if store is not None and legacy is not None:
        raise InvalidConfig("ipam: give store or etcdConfig, not both")
    if legacy is not None:
        return _from_etcd_config(legacy)
    if store is None:
        return {"type": "etcd"}
    if not isinstance(store, dict):
        raise InvalidConfig("ipam.store: expected an object")
    if "type" in store and not isinstance(store["type"], str):
        raise InvalidConfig("ipam.store.type: expected a backend name")
    return {"type": "etcd", **store}


def _from_etcd_config(raw: object) -> Mapping[str, object]:
    """Map the Go project's ``etcdConfig`` onto an etcd ``store`` block."""
    if not isinstance(raw, dict):
        raise InvalidConfig("ipam.etcdConfig: expected an object")
    url = raw.get("etcdURL")
    if not isinstance(url, str) or not url:
        raise InvalidConfig("ipam.etcdConfig.etcdURL: expected a URL")
    store: dict[str, object] = {
        "type": "etcd",
        "endpoints": [u.strip() for u in url.split(",") if u.strip()],
    }
    tls = {
        name: raw[key]
        for name, key in (
            ("cert", "etcdCertFile"),
            ("key", "etcdKeyFile"),
            ("ca", "etcdTrustedCAFileFile"),
        )
        if raw.get(key)
    }
    if tls:
        store["tls"] = tls
    return store


def _routes(raw: object) -> tuple[Route, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidConfig("ipam.routes: expected a list of {dst, gw}")
    routes = []
    for i, item in enumerate(raw):
        where = f"ipam.routes[{i}]"
        if not isinstance(item, dict) or "dst" not in item:
            raise InvalidConfig(f"{where}: expected an object with dst")
        routes.append(
            Route(
                dst=_cidr(item["dst"], f"{where}.dst"),
                gw=parse_address(item["gw"], f"{where}.gw")
                if item.get("gw")
                else None,
                extra={k: item[k] for k in _ROUTE_EXTRAS if k in item},
            )
        )
    return tuple(routes)


def _cidr(text: object, where: str) -> IPNetwork:
    if not isinstance(text, str):
        raise InvalidConfig(f"{where}: expected a CIDR")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidConfig(f"{where}: {text!r} is not a CIDR") from None


def _dns(path: object) -> DNS | None:
    """Read a resolv.conf the way host-local does."""
    if path is None or path == "":
        return None
    if not isinstance(path, str):
        raise InvalidConfig("ipam.resolvConf: expected a file path")
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise InvalidConfig(
            f"ipam.resolvConf: cannot read {path}: {exc.strerror}"
        ) from None
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    domain = None
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        keyword, values = words[0], words[1:]
        if keyword == "nameserver":
            servers.append(values[0])
        elif keyword == "domain":
            domain = values[0]
        elif keyword == "search":
            search.extend(values)
        elif keyword == "options":
            options.extend(values)
    return DNS(tuple(servers), domain, tuple(search), tuple(options))


def _node(ipam: Mapping[str, object]) -> str:
    return (
        _text(ipam, "nodeName")
        or os.environ.get("NODE_NAME")
        or socket.gethostname()
    )


def _optional_path(ipam: Mapping[str, object], name: str) -> Path | None:
    text = _text(ipam, name)
    return Path(text) if text else None


def _text(ipam: Mapping[str, object], name: str) -> str | None:
    return optional_text(ipam, name, "ipam")
