"""What the allocator writes into the store, and reading it back."""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import StoreError
from .ranges import IPAddress, IPInterface


@dataclass(frozen=True, order=True)
class Attachment:
    """One container interface: the unit that holds addresses."""

    container_id: str
    ifname: str

    def __str__(self) -> str:
        return f"{self.container_id}/{self.ifname}"


@dataclass(frozen=True)
class Reservation:
    """An address held by an attachment, with what the result needs."""

    interface: IPInterface
    gateway: IPAddress | None

    @property
    def address(self) -> IPAddress:
        return self.interface.ip


def encode_owner(attachment: Attachment) -> bytes:
    """Value of an address key: who holds the address."""
    return json.dumps(
        {"containerID": attachment.container_id, "ifname": attachment.ifname},
        separators=(",", ":"),
    ).encode()


def decode_owner(value: bytes, key: str) -> Attachment:
    doc = _load(value, key)
    try:
        return Attachment(str(doc["containerID"]), str(doc["ifname"]))
    except KeyError as exc:
        raise StoreError(f"malformed address record at {key}") from exc


def encode_holding(interfaces: Sequence[IPInterface], node: str) -> bytes:
    """Value of an attachment key: every address it holds."""
    return json.dumps(
        {
            "ips": [str(i) for i in interfaces],
            "node": node,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        separators=(",", ":"),
    ).encode()


def holding_node(value: bytes, key: str) -> str:
    """The node that made an attachment record ("" if unknown)."""
    return str(_load(value, key).get("node") or "")


def decode_holding(value: bytes, key: str) -> list[IPInterface]:
    ips = _load(value, key).get("ips")
    try:
        assert isinstance(ips, list)
        return [ipaddress.ip_interface(text) for text in ips]
    except (AssertionError, ValueError) as exc:
        raise StoreError(f"malformed attachment record at {key}") from exc


def _load(value: bytes, key: str) -> dict[str, object]:
    try:
        doc = json.loads(value)
    except ValueError as exc:
        raise StoreError(f"malformed record at {key}") from exc
    if not isinstance(doc, dict):
        raise StoreError(f"malformed record at {key}")
    return doc
