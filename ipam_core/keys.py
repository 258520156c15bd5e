"""Where things live in the store.

    <prefix>/<network>/ips/<address>                  one reservation
    <prefix>/<network>/attachments/<container>/<if>   what one attachment holds

Addresses are written so that byte order equals numeric order:
IPv4 as zero-padded dotted quads (``010.022.000.005``), IPv6 fully
exploded.  The first 256 addresses of a block then share a key prefix,
which keeps every scan short even on stores without paged listing.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from .ranges import IPAddress


class KeyLayout:
    def __init__(self, prefix: str, network: str) -> None:
        self.base = f"{prefix.rstrip('/')}/{_escape(network)}"
        self.ips = f"{self.base}/ips/"
        self.attachments = f"{self.base}/attachments/"

    def ip(self, ip: IPAddress) -> str:
        return self.ips + address_text(ip)

    def block(self, ip: IPAddress) -> str:
        """The key prefix shared by ``ip``'s aligned block of 256."""
        text = address_text(ip)
        return self.ips + (text[:-3] if ip.version == 4 else text[:-2])

    def address(self, key: str) -> IPAddress:
        text = key[len(self.ips) :]
        if "." in text:
            a, b, c, d = map(int, text.split("."))
            return ipaddress.IPv4Address(a << 24 | b << 16 | c << 8 | d)
        return ipaddress.IPv6Address(text)

    def attachment(self, container_id: str, ifname: str) -> str:
        return f"{self.attachments}{_escape(container_id)}/{_escape(ifname)}"

    def attachment_of(self, key: str) -> tuple[str, str]:
        container, _, ifname = key[len(self.attachments) :].partition("/")
        return _unescape(container), _unescape(ifname)


def address_text(ip: IPAddress) -> str:
    if ip.version == 4:
        return ".".join(f"{int(o):03d}" for o in str(ip).split("."))
    return ip.exploded


def _escape(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _unescape(part: str) -> str:
    return urllib.parse.unquote(part)
