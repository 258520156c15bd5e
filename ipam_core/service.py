"""The allocation service as the CNI layer sees it.

The CNI executable calls an ``IpamService``; today that is
``LocalService``, which opens the store in the calling process.  A node
agent holding warm store connections can serve the same interface over
a socket without the CNI layer changing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from .allocator import Allocator
from .config import IpamConfig
from .cursor import FileCursors
from .housekeeping import GCReport, check_ready, collect_garbage
from .kv import KVStore
from .ranges import IPAddress
from .records import Attachment, Reservation
from .registry import open_store


class IpamService(Protocol):
    def add(
        self,
        config: IpamConfig,
        attachment: Attachment,
        requested: Sequence[IPAddress],
    ) -> list[Reservation]: ...

    def delete(self, config: IpamConfig, attachment: Attachment) -> None: ...

    def check(
        self,
        config: IpamConfig,
        attachment: Attachment,
        expected: Sequence[IPAddress],
    ) -> None: ...

    def gc(
        self, config: IpamConfig, valid: Collection[Attachment]
    ) -> GCReport: ...

    def status(self, config: IpamConfig) -> None: ...


class LocalService:
    """Runs each call in this process against a freshly opened store."""

    def __init__(
        self, opener: Callable[[IpamConfig], KVStore] | None = None
    ) -> None:
        self._open = opener or (lambda config: open_store(config.store))

    def add(
        self,
        config: IpamConfig,
        attachment: Attachment,
        requested: Sequence[IPAddress],
    ) -> list[Reservation]:
        with self._open(config) as store:
            return self._allocator(store, config).allocate(
                attachment, requested
            )

    def delete(self, config: IpamConfig, attachment: Attachment) -> None:
        with self._open(config) as store:
            self._allocator(store, config).release(attachment)

    def check(
        self,
        config: IpamConfig,
        attachment: Attachment,
        expected: Sequence[IPAddress],
    ) -> None:
        with self._open(config) as store:
            self._allocator(store, config).check(attachment, expected)

    def gc(
        self, config: IpamConfig, valid: Collection[Attachment]
    ) -> GCReport:
        with self._open(config) as store:
            return collect_garbage(self._allocator(store, config), valid)

    def status(self, config: IpamConfig) -> None:
        with self._open(config) as store:
            check_ready(self._allocator(store, config))

    @staticmethod
    def _allocator(store: KVStore, config: IpamConfig) -> Allocator:
        cursors = FileCursors(config.data_dir / config.network)
        return Allocator(store, config, cursors)
