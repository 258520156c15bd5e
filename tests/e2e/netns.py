"""Network namespaces and veth links, as the tests see them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from .system import Result, run

NETNS_DIR = Path("/run/netns")


@dataclass(frozen=True)
class Netns:
    """A named network namespace (``ip netns``)."""

    name: str

    @property
    def path(self) -> Path:
        return NETNS_DIR / self.name

    @classmethod
    def create(cls, name: str) -> Netns:
        run(["ip", "netns", "add", name])
        netns = cls(name)
        netns.exec("ip", "link", "set", "lo", "up")
        return netns

    def delete(self) -> None:
        if self.path.exists():
            run(["ip", "netns", "delete", self.name])

    def exec(self, *argv: str, check: bool = True) -> Result:
        return run(["ip", "netns", "exec", self.name, *argv], check=check)

    def ping(self, ip: ipaddress.IPv4Address) -> bool:
        done = self.exec("busybox", "ping", "-c1", "-W1", str(ip), check=False)
        return done.returncode == 0

    def unreachable(
        self, ips: list[ipaddress.IPv4Address]
    ) -> list[ipaddress.IPv4Address]:
        """Those of ``ips`` that do not answer one ping each."""
        loop = (
            "for ip in " + " ".join(map(str, ips)) + "; do "
            "busybox ping -c1 -W1 $ip >/dev/null || echo $ip; done"
        )
        done = self.exec("sh", "-c", loop)
        return [ipaddress.IPv4Address(w) for w in done.stdout.split()]

    def is_local(self, ip: ipaddress.IPv4Address) -> bool:
        """True when a packet to ``ip`` would stay inside this netns."""
        done = self.exec("ip", "-4", "route", "get", str(ip))
        return done.stdout.startswith("local ")

    def duplicate_on_segment(
        self, ip: ipaddress.IPv4Address, ifname: str = "eth0"
    ) -> bool:
        """True when another station answers ARP probes for ``ip``
        (duplicate address detection, RFC 5227)."""
        done = self.exec(
            "busybox", "arping", "-D", "-c1", "-w1", "-I", ifname, str(ip),
            check=False,
        )  # fmt: skip
        return done.returncode != 0


@dataclass(frozen=True)
class VethPair:
    """A virtual cable: both ends stay in the root namespace, up, with
    no address; each end is one simulated host's macvlan master."""

    a: str
    b: str

    @classmethod
    def create(cls, a: str, b: str) -> VethPair:
        run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        for end in (a, b):
            _quiet_ipv6(end)
            run(["ip", "link", "set", end, "up"])
        return cls(a, b)

    def delete(self) -> None:
        if Path("/sys/class/net", self.a).exists():
            run(["ip", "link", "delete", self.a])


def _quiet_ipv6(link: str) -> None:
    """No router solicitations or DAD noise from the root namespace."""
    knob = Path("/proc/sys/net/ipv6/conf", link, "disable_ipv6")
    if knob.exists():
        knob.write_text("1\n")
