"""Network-wide upkeep: garbage collection and readiness (CNI GC, STATUS)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field

from .allocator import WINDOW_BLOCKS, Allocator
from .errors import IpamError, PoolExhausted
from .kv import Absent, Delete, Unchanged
from .records import Attachment, decode_owner, holding_node
from .search import Search

LOG = logging.getLogger(__name__)

PAGE = 512


@dataclass
class GCReport:
    released: list[Attachment] = field(default_factory=list)
    orphans: int = 0
    errors: list[str] = field(default_factory=list)


def collect_garbage(
    allocator: Allocator, valid: Collection[Attachment]
) -> GCReport:
    """Release this node's reservations not held by ``valid``.

    A runtime lists only its own node's attachments, so records made by
    other nodes are left alone.  Keeps going past failures and reports
    them.  Address keys whose attachment record is gone (left by hand or
    by an older tool) are removed too, whichever node made them.
    """
    keep = set(valid)
    keys = allocator.keys
    store = allocator.store
    report = GCReport()
    node = allocator.config.node
    live: set[Attachment] = set()
    for record in store.scan_all(keys.attachments, PAGE):
        attachment = Attachment(*keys.attachment_of(record.key))
        try:
            mine = holding_node(record.value, record.key) == node
            if attachment in keep or not mine:
                live.add(attachment)
                continue
            if allocator.release_record(record):
                report.released.append(attachment)
            else:
                LOG.debug("%s changed during GC; left alone", attachment)
        except IpamError as exc:
            report.errors.append(f"{attachment}: {exc.msg}")
    for entry in store.scan_all(keys.ips, PAGE):
        try:
            owner = decode_owner(entry.value, entry.key)
            if owner in live or owner in keep:
                continue
            owner_key = keys.attachment(owner.container_id, owner.ifname)
            if store.commit(
                [Unchanged(entry.key, entry.version), Absent(owner_key)],
                [Delete(entry.key)],
            ):
                report.orphans += 1
        except IpamError as exc:
            report.errors.append(f"{entry.key}: {exc.msg}")
    return report


def check_ready(allocator: Allocator) -> None:
    """Raise unless the store answers and every range set has room.

    Walks each range set until it meets one free address, so it reads
    little unless the pool is nearly full.
    """
    for rangeset in allocator.config.range_sets:
        search = Search(rangeset, allocator.keys, None, WINDOW_BLOCKS * 4)
        while (window := search.next_window()) is not None:
            found = allocator.store.read(window.reads)
            if window.free(rangeset, allocator.keys, found, want=1):
                break
        else:
            raise PoolExhausted(
                f"no free address left in range set {rangeset.name}"
            )
