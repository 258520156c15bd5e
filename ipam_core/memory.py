"""The in-memory reference store: exact contract semantics, one process.

Used by the unit and property tests, and usable for a single node that
runs the allocator in one long-lived process.  Thread safe.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, Self

from .errors import InvalidConfig
from .kv import (
    Absent,
    Capability,
    Condition,
    Delete,
    Entry,
    Get,
    KVStore,
    Operation,
    Put,
    Read,
    Scan,
    check_operations,
)


class MemoryStore(KVStore):
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TTL})

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._entries: dict[str, Entry] = {}
        self._sorted_keys: list[str] = []
        self._expiry: dict[str, float] = {}
        self._revision = 0

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        unknown = set(config) - {"type", "backend", "prefix"}
        if unknown:
            raise InvalidConfig(
                f"store: memory backend takes no {sorted(unknown)}"
            )
        return cls()

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        with self._lock:
            self._expire()
            return [self._read_one(request) for request in requests]

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        check_operations(self, operations)
        with self._lock:
            self._expire()
            if not all(self._holds(c) for c in conditions):
                return False
            self._revision += 1
            for op in operations:
                self._apply(op)
            return True

    def _read_one(self, request: Read) -> list[Entry]:
        if isinstance(request, Get):
            entry = self._entries.get(request.key)
            return [entry] if entry else []
        return self._scan(request)

    def _scan(self, request: Scan) -> list[Entry]:
        lower = request.prefix
        if request.start_after is not None:
            lower = max(lower, request.start_after + "\0")
        index = bisect.bisect_left(self._sorted_keys, lower)
        found: list[Entry] = []
        for key in self._sorted_keys[index:]:
            if not key.startswith(request.prefix):
                break
            if len(found) == request.limit:
                break
            entry = self._entries[key]
            if request.keys_only:
                entry = Entry(key, b"", entry.version)
            found.append(entry)
        return found

    def _holds(self, condition: Condition) -> bool:
        entry = self._entries.get(condition.key)
        if isinstance(condition, Absent):
            return entry is None
        return entry is not None and entry.version == condition.version

    def _apply(self, op: Operation) -> None:
        if isinstance(op, Delete):
            self._remove(op.key)
            return
        assert isinstance(op, Put)
        if op.key not in self._entries:
            bisect.insort(self._sorted_keys, op.key)
        self._entries[op.key] = Entry(op.key, op.value, self._revision)
        if op.ttl is not None:
            self._expiry[op.key] = self._clock() + op.ttl
        else:
            self._expiry.pop(op.key, None)

    def _remove(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            index = bisect.bisect_left(self._sorted_keys, key)
            del self._sorted_keys[index]
        self._expiry.pop(key, None)

    def _expire(self) -> None:
        if not self._expiry:
            return
        now = self._clock()
        for key in [k for k, at in self._expiry.items() if at <= now]:
            self._remove(key)
