"""Results and errors printed in the shape each CNI version defines."""

from __future__ import annotations

from collections.abc import Sequence

from macvlan_ipam.core.config import DNS, IpamConfig, Route
from macvlan_ipam.core.errors import IpamError
from macvlan_ipam.core.records import Reservation

from .versions import parse

JSON = dict[str, object]


def render_result(
    version: str, held: Sequence[Reservation], config: IpamConfig
) -> JSON:
    v = parse(version)
    result: JSON = {"cniVersion": version}
    if v < (0, 3, 0):
        for family in (4, 6):
            for r in held:
                if r.address.version == family:
                    result[f"ip{family}"] = _legacy_ip(r, config.routes)
                    break
    else:
        result["ips"] = [_ip(r, with_version=v < (1, 0, 0)) for r in held]
        if config.routes:
            extras = v >= (1, 1, 0)
            result["routes"] = [_route(r, extras) for r in config.routes]
    result["dns"] = _dns(config.dns)
    return result


def render_error(version: str, error: IpamError) -> JSON:
    body: JSON = {"cniVersion": version, "code": error.code, "msg": error.msg}
    if error.details:
        body["details"] = error.details
    return body


def render_version(version: str, supported: Sequence[str]) -> JSON:
    return {"cniVersion": version, "supportedVersions": list(supported)}


def _ip(r: Reservation, with_version: bool) -> JSON:
    ip: JSON = {}
    if with_version:
        ip["version"] = str(r.address.version)
    ip["address"] = str(r.interface)
    if r.gateway is not None:
        ip["gateway"] = str(r.gateway)
    return ip


def _legacy_ip(r: Reservation, routes: Sequence[Route]) -> JSON:
    ip: JSON = {"ip": str(r.interface)}
    if r.gateway is not None:
        ip["gateway"] = str(r.gateway)
    mine = [x for x in routes if x.dst.version == r.address.version]
    if mine:
        ip["routes"] = [_route(x, extras=False) for x in mine]
    return ip


def _route(route: Route, extras: bool) -> JSON:
    out: JSON = {"dst": str(route.dst)}
    if route.gw is not None:
        out["gw"] = str(route.gw)
    if extras:
        out.update(route.extra)
    return out


def _dns(dns: DNS | None) -> JSON:
    if dns is None:
        return {}
    out: JSON = {}
    if dns.nameservers:
        out["nameservers"] = list(dns.nameservers)
    if dns.domain:
        out["domain"] = dns.domain
    if dns.search:
        out["search"] = list(dns.search)
    if dns.options:
        out["options"] = list(dns.options)
    return out
