"""The SQL behind ``read`` and ``commit``, run inside a transaction.

Only fixed fragments are ever formatted into a statement; every value
is a bound parameter.
"""

from __future__ import annotations

import sqlite3

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

#: The highest code point; a string of only these has no upper bound.
_MAX_CHAR = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)

#: Entries whose TTL has passed are invisible to reads.
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


def read_one(db: sqlite3.Connection, request: Read, now: float) -> list[Entry]:
    if isinstance(request, Get):
        return _get(db, request, now)
    return _scan(db, request, now)


def purge_expired(db: sqlite3.Connection, now: float) -> None:
    db.execute("DELETE FROM kv WHERE expires_at <= ?", (now,))


def holds(db: sqlite3.Connection, condition: Condition) -> bool:
    row = db.execute(
        "SELECT version FROM kv WHERE key = ?", (condition.key,)
    ).fetchone()
    if isinstance(condition, Absent):
        return row is None
    return row is not None and row[0] == condition.version


def next_version(db: sqlite3.Connection) -> int:
    """Advance the revision counter; the new value versions a commit."""
    rows = db.execute(
        "UPDATE revision SET value = value + 1 WHERE id = 0 RETURNING value"
    ).fetchall()
    return int(rows[0][0])


def apply(
    db: sqlite3.Connection, op: Operation, version: int, now: float
) -> None:
    if isinstance(op, Delete):
        db.execute("DELETE FROM kv WHERE key = ?", (op.key,))
        return
    assert isinstance(op, Put)
    expires_at = None if op.ttl is None else now + op.ttl
    db.execute(
        "INSERT OR REPLACE INTO kv (key, value, version, expires_at) "
        "VALUES (?, ?, ?, ?)",
        (op.key, op.value, version, expires_at),
    )


def prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix``.

    SQLite compares TEXT with memcmp on UTF-8, which orders like code
    points, so bumping the last code point that can grow is enough.
    ``None`` when no bound exists (empty prefix, or only U+10FFFF).
    """
    stem = prefix.rstrip(chr(_MAX_CHAR))
    if not stem:
        return None
    last = ord(stem[-1]) + 1
    if last in _SURROGATES:  # not encodable, so no key holds them
        last = _SURROGATES.stop
    return stem[:-1] + chr(last)


def _get(db: sqlite3.Connection, request: Get, now: float) -> list[Entry]:
    row = db.execute(
        f"SELECT key, value, version FROM kv WHERE key = ? AND {_LIVE}",
        (request.key, now),
    ).fetchone()
    return [] if row is None else [_entry(row)]


def _scan(db: sqlite3.Connection, request: Scan, now: float) -> list[Entry]:
    where = ["key >= ?", _LIVE]
    params: list[str | float | int] = [request.prefix, now]
    end = prefix_end(request.prefix)
    if end is not None:
        where.append("key < ?")
        params.append(end)
    if request.start_after is not None:
        where.append("key > ?")
        params.append(request.start_after)
    params.append(request.limit)

    value = "X''" if request.keys_only else "value"
    rows = db.execute(
        f"SELECT key, {value}, version FROM kv "
        f"WHERE {' AND '.join(where)} ORDER BY key LIMIT ?",
        params,
    ).fetchall()
    return [_entry(row) for row in rows]


def _entry(row: tuple[object, ...]) -> Entry:
    key, value, version = row
    assert isinstance(key, str)
    assert isinstance(value, bytes)
    assert isinstance(version, int)
    return Entry(key, value, version)
