"""What the CNI executable and the node agent say to each other.

One JSON object per line each way over a unix stream socket: a request
naming an operation and carrying the network's ``ipam`` section as the
runtime gave it, then a reply holding either ``ok`` or ``error``.  Kept
free of store clients so the CNI side stays small.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence

from macvlan_ipam.core.errors import IpamError
from macvlan_ipam.core.housekeeping import GCReport
from macvlan_ipam.core.records import Attachment, Reservation

#: Largest message either side accepts, in bytes.
MAX_MESSAGE = 1 << 20

JSON = dict[str, object]


class RemoteError(IpamError):
    """An error the agent reported, with the CNI code it carried."""

    def __init__(self, code: int, msg: str, details: str = "") -> None:
        super().__init__(msg, details)
        self.code = code


def encode(message: Mapping[str, object]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> JSON:
    doc = json.loads(line)
    if not isinstance(doc, dict):
        raise ValueError("a message must be a JSON object")
    return doc


def request(
    op: str,
    network: str,
    ipam: Mapping[str, object],
    attachment: Attachment | None = None,
    ips: Sequence[object] = (),
    valid: Sequence[Attachment] = (),
) -> JSON:
    body: JSON = {"op": op, "network": network, "ipam": dict(ipam)}
    if attachment is not None:
        body["attachment"] = [attachment.container_id, attachment.ifname]
    body["ips"] = [str(ip) for ip in ips]
    body["valid"] = [[a.container_id, a.ifname] for a in valid]
    return body


def error_reply(error: IpamError) -> JSON:
    return {
        "error": {
            "code": error.code,
            "msg": error.msg,
            "details": error.details,
        }
    }


def raise_error(reply: Mapping[str, object]) -> None:
    error = reply.get("error")
    if isinstance(error, dict):
        raise RemoteError(
            int(error.get("code", 100)),
            str(error.get("msg", "agent error")),
            str(error.get("details", "")),
        )


def reservations(result: object) -> list[Reservation]:
    assert isinstance(result, list)
    held = []
    for item in result:
        gateway = item.get("gateway")
        held.append(
            Reservation(
                ipaddress.ip_interface(item["interface"]),
                ipaddress.ip_address(gateway) if gateway else None,
            )
        )
    return held


def encode_reservations(held: Sequence[Reservation]) -> list[JSON]:
    return [
        {
            "interface": str(r.interface),
            "gateway": None if r.gateway is None else str(r.gateway),
        }
        for r in held
    ]


def encode_gc(report: GCReport) -> JSON:
    return {
        "released": [[a.container_id, a.ifname] for a in report.released],
        "orphans": report.orphans,
        "errors": list(report.errors),
    }


def gc_report(result: object) -> GCReport:
    assert isinstance(result, dict)
    return GCReport(
        released=[Attachment(c, i) for c, i in result["released"]],
        orphans=int(result["orphans"]),
        errors=[str(e) for e in result["errors"]],
    )
