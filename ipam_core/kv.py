"""The transactional key-value contract every backend implements.

The allocator needs only two primitives, each one round trip:

* ``read``: a batch of point reads and ordered prefix scans, answered
  from a single consistent snapshot of the store;
* ``commit``: a batch of puts and deletes guarded by conditions, applied
  all together or not at all.

Keys are ``str`` (UTF-8 in the store), values are ``bytes``.  Every
stored entry carries a ``version``: an integer that grows every time the
key is written and is never reused for the same key, so "unchanged since
I read it" can be checked by comparing versions.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Self, TypeAlias

from .errors import CapabilityError


class Capability(enum.Enum):
    """Optional powers a store may declare in ``KVStore.capabilities``."""

    #: ``Put.ttl`` is honoured: the key disappears after that many seconds.
    TTL = "ttl"


@dataclass(frozen=True)
class Entry:
    key: str
    value: bytes
    version: int


@dataclass(frozen=True)
class Get:
    """Read one key: the result holds that entry, or nothing."""

    key: str


@dataclass(frozen=True)
class Scan:
    """Read keys that start with ``prefix``, in ascending byte order.

    Only keys strictly greater than ``start_after`` are returned (when
    given), at most ``limit`` of them.  With ``keys_only`` the returned
    entries carry an empty value.
    """

    prefix: str
    start_after: str | None = None
    limit: int = 256
    keys_only: bool = False


Read: TypeAlias = Get | Scan


@dataclass(frozen=True)
class Absent:
    """Condition: the key does not exist."""

    key: str


@dataclass(frozen=True)
class Unchanged:
    """Condition: the key exists with exactly this version."""

    key: str
    version: int


Condition: TypeAlias = Absent | Unchanged


@dataclass(frozen=True)
class Put:
    """Create or overwrite ``key``.

    ``ttl`` (seconds) is only accepted by stores declaring
    ``Capability.TTL``; others raise ``CapabilityError`` before writing.
    """

    key: str
    value: bytes
    ttl: float | None = None


@dataclass(frozen=True)
class Delete:
    """Remove ``key``; deleting a missing key is not an error."""

    key: str


Operation: TypeAlias = Put | Delete


class KVStore(abc.ABC):
    """A transactional key-value store.

    Implementations convert every failure of their client library into
    ``macvlan_ipam.core.errors`` exceptions in one place:

    * ``StoreUnreachable`` when no endpoint answers,
    * ``StoreTimeout`` when the deadline passes,
    * ``StoreAuthError`` when credentials or certificates are refused,
    * ``StoreError`` for anything else the store reports.

    No client library exception may escape a method of this class.
    """

    #: Optional powers this store honours.
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    @classmethod
    @abc.abstractmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        """Build a store from the network config's ``store`` block.

        Raises ``InvalidConfig`` naming the offending field.  Must not
        contact the store; the first ``read`` or ``commit`` does.
        """

    @abc.abstractmethod
    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        """Answer every request from one snapshot, in one round trip.

        The result has one list per request, in request order: zero or
        one entry for ``Get``; for ``Scan`` every matching key greater
        than ``start_after``, ascending, up to ``limit``.  A scan that
        returns fewer than ``limit`` entries has returned all of them.

        Raises ``StoreError`` (or a subclass).
        """

    @abc.abstractmethod
    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        """Apply ``operations`` atomically if every condition holds.

        Returns ``True`` when every condition held and every operation
        was applied, ``False`` when some condition failed and nothing
        was written.  Operations apply in order; at most one operation
        per key.  Raises ``StoreError`` when the outcome is unknown or
        the store failed, ``CapabilityError`` for an unsupported
        ``Put.ttl``.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections.  Safe to call twice."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Conveniences built on the two primitives.

    def get(self, key: str) -> Entry | None:
        found = self.read([Get(key)])[0]
        return found[0] if found else None

    def scan(
        self,
        prefix: str,
        start_after: str | None = None,
        limit: int = 256,
        keys_only: bool = False,
    ) -> list[Entry]:
        return self.read([Scan(prefix, start_after, limit, keys_only)])[0]

    def scan_all(self, prefix: str, page: int = 512) -> list[Entry]:
        """Every entry under ``prefix``, read in pages of ``page``."""
        entries: list[Entry] = []
        start: str | None = None
        while True:
            batch = self.scan(prefix, start, page)
            entries.extend(batch)
            if len(batch) < page:
                return entries
            start = batch[-1].key


def check_operations(store: KVStore, operations: Sequence[Operation]) -> None:
    """Raise ``CapabilityError`` for a ``Put.ttl`` the store lacks.

    Backends call this before sending anything.
    """
    if Capability.TTL in store.capabilities:
        return
    for op in operations:
        if isinstance(op, Put) and op.ttl is not None:
            raise CapabilityError(
                f"store {type(store).__name__} has no TTL capability"
            )
