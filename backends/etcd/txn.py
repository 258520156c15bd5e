"""Translating KV batches to etcd ``TxnRequest``s and back.

Reads become range requests in one transaction; commit conditions
become compares on ``create_revision`` (absent) or ``mod_revision``
(unchanged).  An entry's version is its ``mod_revision``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from pyetcd import etcdrpc

from macvlan_ipam.core.kv import (
    Absent,
    Condition,
    Delete,
    Entry,
    Get,
    Operation,
    Put,
    Read,
    Scan,
)

#: A protobuf message from pyetcd's generated code, which is untyped.
Proto: TypeAlias = Any

#: etcd's default ``--max-txn-ops``: operations one transaction may hold.
MAX_TXN_OPS = 128


def encode(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def decode(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


def chunks(requests: Sequence[Read]) -> Iterator[Sequence[Read]]:
    for start in range(0, len(requests), MAX_TXN_OPS):
        yield requests[start : start + MAX_TXN_OPS]


def read_request(requests: Sequence[Read], revision: int) -> Proto:
    """One read-only transaction; ``revision`` 0 means the latest."""
    ops = [_range(request, revision) for request in requests]
    return etcdrpc.TxnRequest(
        success=[etcdrpc.RequestOp(request_range=op) for op in ops if op]
    )


def read_result(requests: Sequence[Read], reply: Proto) -> list[list[Entry]]:
    """Pair the range responses with the requests that asked them."""
    responses = iter(reply.responses)
    results: list[list[Entry]] = []
    for request in requests:
        if _wants_nothing(request):
            results.append([])
            continue
        kvs = next(responses).response_range.kvs
        results.append([_entry(kv, request) for kv in kvs])
    return results


def lease_ttls(operations: Sequence[Operation]) -> set[int]:
    """Whole seconds, rounded up, of every ``Put.ttl`` in the batch."""
    return {
        lease_seconds(op.ttl)
        for op in operations
        if isinstance(op, Put) and op.ttl is not None
    }


def lease_seconds(ttl: float) -> int:
    return max(1, math.ceil(ttl))


def commit_request(
    conditions: Sequence[Condition],
    operations: Sequence[Operation],
    leases: Mapping[int, int],
) -> Proto:
    """``leases`` maps a rounded TTL to the lease granted for it."""
    return etcdrpc.TxnRequest(
        compare=[_compare(condition) for condition in conditions],
        success=[_request_op(op, leases) for op in operations],
    )


def _wants_nothing(request: Read) -> bool:
    return isinstance(request, Scan) and request.limit <= 0


def _range(request: Read, revision: int) -> Proto | None:
    if isinstance(request, Get):
        return etcdrpc.RangeRequest(key=encode(request.key), revision=revision)
    if _wants_nothing(request):
        return None
    prefix = encode(request.prefix)
    start = prefix
    if request.start_after is not None:
        start = max(prefix, encode(request.start_after) + b"\0")
    return etcdrpc.RangeRequest(
        key=start,
        range_end=_prefix_end(prefix),
        limit=request.limit,
        revision=revision,
        keys_only=request.keys_only,
        sort_order=etcdrpc.RangeRequest.ASCEND,
        sort_target=etcdrpc.RangeRequest.KEY,
    )


def _prefix_end(prefix: bytes) -> bytes:
    """The smallest key above every key starting with ``prefix``."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\0"  # etcd: every key from ``key`` on
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _entry(kv: Proto, request: Read) -> Entry:
    value = (
        b"" if isinstance(request, Scan) and request.keys_only else kv.value
    )
    return Entry(decode(kv.key), bytes(value), int(kv.mod_revision))


def _compare(condition: Condition) -> Proto:
    compare = etcdrpc.Compare(
        key=encode(condition.key), result=etcdrpc.Compare.EQUAL
    )
    if isinstance(condition, Absent):
        compare.target = etcdrpc.Compare.CREATE
        compare.create_revision = 0
    else:
        compare.target = etcdrpc.Compare.MOD
        compare.mod_revision = condition.version
    return compare


def _request_op(op: Operation, leases: Mapping[int, int]) -> Proto:
    if isinstance(op, Delete):
        return etcdrpc.RequestOp(
            request_delete_range=etcdrpc.DeleteRangeRequest(key=encode(op.key))
        )
    lease = 0 if op.ttl is None else leases[lease_seconds(op.ttl)]
    return etcdrpc.RequestOp(
        request_put=etcdrpc.PutRequest(
            key=encode(op.key), value=op.value, lease=lease
        )
    )
