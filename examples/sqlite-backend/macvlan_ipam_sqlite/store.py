"""``SQLiteStore``: the KV contract on one SQLite file, for one node.

Every process of the node (each CNI invocation is one) opens the same
file; SQLite's locks make ``commit`` transactions run one at a time,
and WAL mode lets reads proceed while a commit is being written.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar, Self

from macvlan_ipam.core.kv import (
    Capability,
    Condition,
    Entry,
    KVStore,
    Operation,
    Read,
    check_operations,
)
from macvlan_ipam.core.storeconfig import DEFAULT_TIMEOUT

from . import queries
from .config import parse_settings
from .errors import converted
from .schema import connect


class SQLiteStore(KVStore):
    """A store in the SQLite database at ``path``.

    One connection, opened on first use, shared by the threads of this
    process under a lock.  TTL expiry compares ``clock()`` (wall-clock
    seconds, shared by every process) with each key's deadline.
    """

    # TODO(sqlite): a wall-clock step moves every lease deadline with
    # it; a node that may jump in time should keep leases short.
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TTL})

    def __init__(
        self,
        path: Path,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        settings = parse_settings(config)
        return cls(settings.path, settings.timeout)

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        now = self._clock()
        with self._transaction("BEGIN") as db:
            return [queries.read_one(db, r, now) for r in requests]

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        check_operations(self, operations)
        now = self._clock()
        with self._transaction("BEGIN IMMEDIATE") as db:
            queries.purge_expired(db, now)
            if not all(queries.holds(db, c) for c in conditions):
                return False
            version = queries.next_version(db)
            for op in operations:
                queries.apply(db, op, version, now)
            return True

    def close(self) -> None:
        with self._lock, converted(self.path):
            if self._db is not None:
                self._db.close()
                self._db = None

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """Run the body in one transaction; roll back if it raises.

        ``BEGIN`` reads from one snapshot; ``BEGIN IMMEDIATE`` takes the
        write lock first (waiting up to ``timeout``), so the conditions
        checked inside cannot change before the writes land.
        """
        with self._lock, converted(self.path):
            if self._db is None:
                self._db = connect(self.path, self.timeout)
            db = self._db
            db.execute(begin)
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.rollback()
                raise
