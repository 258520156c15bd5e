"""Consul ``/v1/txn`` payloads: building them and reading the answers.

Keys: this project's keys start with '/', Consul's should not (its KV
HTTP API strips a leading '/').  A key is stored without its first
'/', and every key read back gets it restored, so the mapping is one to
one.  Keys that do not start with '/' cannot be written; reading them
finds nothing.

Reads: Consul has no ordered, paged listing, and its txn ``get`` verb
fails the whole transaction on a missing key.  So a read batch becomes
one transaction of ``get-tree`` verbs over the fewest prefixes covering
every request (a ``Get`` is a ``get-tree`` of the key itself), and
sorting, ``start_after`` and ``limit`` are applied here.  A scan thus
costs the whole prefix, values included even for ``keys_only``; the
allocator keeps its scan prefixes to blocks of at most 256 keys, so
this stays bounded.

Limits: Consul accepts at most 64 operations per transaction; bigger
batches raise ``StoreError`` rather than being split, since splitting
would break the snapshot (reads) or atomicity (commits).
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeAlias

from macvlan_ipam.core.errors import (
    CapabilityError,
    InvalidConfig,
    StoreError,
)
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

from . import errors

MAX_TXN_OPS = 64

TxnOp: TypeAlias = dict[str, dict[str, str | int]]


# reads


def read_ops(requests: Sequence[Read]) -> list[TxnOp]:
    """One ``get-tree`` per prefix covering the batch."""
    wanted = sorted({p for p in map(_read_prefix, requests) if p is not None})
    covering: list[str] = []
    for prefix in wanted:
        if not (covering and prefix.startswith(covering[-1])):
            covering.append(prefix)
    ops = [_kv("get-tree", _to_consul(p)) for p in covering]
    _check_size(ops, "read")
    return ops


def read_results(body: str) -> dict[str, Entry]:
    """Every entry a successful read transaction returned, by key."""
    found: dict[str, Entry] = {}
    with _malformed():
        for result in json.loads(body)["Results"] or []:
            item = result["KV"]
            key = "/" + item["Key"]
            value = base64.b64decode(item["Value"] or "")
            found[key] = Entry(key, value, int(item["ModifyIndex"]))
    return found


def answer(
    requests: Sequence[Read], found: Mapping[str, Entry]
) -> list[list[Entry]]:
    """Each request's entries, taken from one transaction's results."""
    keys = sorted(found)
    answers: list[list[Entry]] = []
    for request in requests:
        if isinstance(request, Get):
            entry = found.get(request.key)
            answers.append([entry] if entry else [])
        else:
            answers.append(_scan(request, keys, found))
    return answers


# commits


def commit_ops(
    conditions: Sequence[Condition], operations: Sequence[Operation]
) -> list[TxnOp]:
    ops = [_check(c) for c in conditions]
    ops += [_change(o) for o in operations]
    _check_size(ops, "commit")
    return ops


def commit_outcome(code: int, body: str, n_conditions: int) -> bool:
    """``True`` if applied, ``False`` if a condition rolled it back.

    ``code`` is 200 or 409.  A rollback caused by anything but a failed
    condition (one of the first ``n_conditions`` operations) raises.
    """
    if code == 200:
        return True
    failures = _failures(body)
    if failures and all(
        index < n_conditions and not errors.denied(what)
        for index, what in failures
    ):
        return False
    raise errors.from_txn_errors([what for _, what in failures])


def read_failure(body: str) -> StoreError:
    """The error for a read transaction Consul rolled back (409)."""
    return errors.from_txn_errors([what for _, what in _failures(body)])


def _read_prefix(request: Read) -> str | None:
    """The prefix of our keys this request reads; None when none can."""
    text = request.key if isinstance(request, Get) else request.prefix
    if text.startswith("/"):
        return text
    return "/" if text == "" else None


def _scan(
    request: Scan, keys: list[str], found: Mapping[str, Entry]
) -> list[Entry]:
    lower = request.prefix
    if request.start_after is not None:
        lower = max(lower, request.start_after + "\0")
    entries: list[Entry] = []
    for key in keys[bisect.bisect_left(keys, lower) :]:
        if not key.startswith(request.prefix):
            break
        if len(entries) == request.limit:
            break
        entry = found[key]
        if request.keys_only:
            entry = Entry(key, b"", entry.version)
        entries.append(entry)
    return entries


def _check(condition: Condition) -> TxnOp:
    key = _to_consul(condition.key)
    if isinstance(condition, Absent):
        return _kv("check-not-exists", key)
    return _kv("check-index", key, Index=condition.version)


def _change(op: Operation) -> TxnOp:
    key = _to_consul(op.key)
    if isinstance(op, Delete):
        return _kv("delete", key)
    assert isinstance(op, Put)
    return _kv("set", key, Value=base64.b64encode(op.value).decode())


def _kv(verb: str, key: str, **fields: str | int) -> TxnOp:
    return {"KV": {"Verb": verb, "Key": key, **fields}}


def _to_consul(key: str) -> str:
    if not key.startswith("/"):
        raise InvalidConfig(
            f"consul store: key {key!r} does not start with '/' "
            "(check store.prefix)"
        )
    if key == "/":
        raise CapabilityError(
            "consul store: '/' maps to Consul's empty key, which "
            "Consul refuses"
        )
    return key[1:]


def _check_size(ops: list[TxnOp], what: str) -> None:
    if len(ops) > MAX_TXN_OPS:
        raise StoreError(
            f"consul store: a {what} of {len(ops)} operations exceeds "
            f"Consul's limit of {MAX_TXN_OPS} per transaction"
        )


def _failures(body: str) -> list[tuple[int, str]]:
    with _malformed():
        return [
            (int(f["OpIndex"]), str(f["What"]))
            for f in json.loads(body)["Errors"] or []
        ]


@contextlib.contextmanager
def _malformed() -> Iterator[None]:
    try:
        yield
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"consul: malformed txn answer: {exc!r}") from exc
