"""The network configuration a runtime sends on stdin."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from macvlan_ipam.core.config import IpamConfig, parse_ipam
from macvlan_ipam.core.errors import DecodeError, InvalidConfig
from macvlan_ipam.core.ranges import IPAddress, parse_address
from macvlan_ipam.core.records import Attachment

from . import versions

VALID_ATTACHMENTS = ("cni.dev/valid-attachments", "cni.dev/attachments")


@dataclass(frozen=True)
class NetConf:
    version: str
    name: str
    raw_ipam: Mapping[str, object]
    raw: Mapping[str, object] = field(repr=False)

    def ipam(self) -> IpamConfig:
        return parse_ipam(self.name, self.raw_ipam)

    def requested_ips(self) -> list[IPAddress]:
        """``runtimeConfig.ips`` and ``args.cni.ips``, in that order."""
        found = []
        runtime = self.raw.get("runtimeConfig")
        if isinstance(runtime, dict):
            found += _ip_list(runtime.get("ips"), "runtimeConfig.ips")
        args = self.raw.get("args")
        cni = args.get("cni") if isinstance(args, dict) else None
        if isinstance(cni, dict):
            found += _ip_list(cni.get("ips"), "args.cni.ips")
        return found

    def previous_ips(self) -> list[IPAddress]:
        """Addresses of ``prevResult`` in any result version."""
        prev = self.raw.get("prevResult")
        if not isinstance(prev, dict):
            raise InvalidConfig("prevResult: required for CHECK")
        texts = [
            ip.get("address")
            for ip in prev.get("ips") or []
            if isinstance(ip, dict)
        ]
        texts += [
            old.get("ip")
            for old in (prev.get("ip4"), prev.get("ip6"))
            if isinstance(old, dict)
        ]
        return [
            ipaddress.ip_interface(_text(t, "prevResult.ips")).ip
            for t in texts
        ]

    def valid_attachments(self) -> list[Attachment]:
        for name in VALID_ATTACHMENTS:
            if name in self.raw:
                return _attachments(self.raw[name], name)
        raise InvalidConfig(f"{VALID_ATTACHMENTS[0]}: required for GC")


def parse_netconf(data: bytes) -> NetConf:
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(
            f"network config on stdin is not JSON: {exc}"
        ) from None
    if not isinstance(raw, dict):
        raise DecodeError("network config on stdin must be a JSON object")
    version = raw.get("cniVersion", "0.1.0")
    if not isinstance(version, str):
        raise InvalidConfig("cniVersion: expected a string like 1.0.0")
    versions.require_supported(version)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidConfig("name: the network name is required")
    ipam = raw.get("ipam")
    if not isinstance(ipam, dict):
        raise InvalidConfig("ipam: expected the IPAM section as an object")
    return NetConf(version, name, ipam, raw)


def _ip_list(raw: object, where: str) -> list[IPAddress]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidConfig(f"{where}: expected a list of addresses")
    return [parse_address(t, f"{where}[{i}]") for i, t in enumerate(raw)]


def _attachments(raw: object, where: str) -> list[Attachment]:
    if not isinstance(raw, list):
        raise InvalidConfig(f"{where}: expected a list")
    found = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidConfig(f"{where}[{i}]: expected an object")
        found.append(
            Attachment(
                _text(item.get("containerID"), f"{where}[{i}].containerID"),
                _text(item.get("ifname"), f"{where}[{i}].ifname"),
            )
        )
    return found


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidConfig(f"{where}: expected a non-empty string")
    return value
