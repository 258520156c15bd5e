"""The allocation service as the CNI layer sees it.

The CNI executable calls an ``IpamService``.  ``LocalService`` opens the
store in the calling process for each call; ``WarmService`` keeps
stores and round-robin hints in a long-lived process (the node agent)
and serves many calls over them.  The CNI layer does not change.
"""

from __future__ import annotations

import abc
import contextlib
import json
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Protocol

from .allocator import Allocator
from .config import IpamConfig
from .cursor import FileCursors, MemoryCursors
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


class _AllocatorService(abc.ABC):
    """Every operation, given a way to get an allocator for a config."""

    @abc.abstractmethod
    def session(
        self, config: IpamConfig
    ) -> contextlib.AbstractContextManager[Allocator]:
        """An allocator for ``config``, valid inside the block."""

    def add(
        self,
        config: IpamConfig,
        attachment: Attachment,
        requested: Sequence[IPAddress],
    ) -> list[Reservation]:
        with self.session(config) as allocator:
            return allocator.allocate(attachment, requested)

    def delete(self, config: IpamConfig, attachment: Attachment) -> None:
        with self.session(config) as allocator:
            allocator.release(attachment)

    def check(
        self,
        config: IpamConfig,
        attachment: Attachment,
        expected: Sequence[IPAddress],
    ) -> None:
        with self.session(config) as allocator:
            allocator.check(attachment, expected)

    def gc(
        self, config: IpamConfig, valid: Collection[Attachment]
    ) -> GCReport:
        with self.session(config) as allocator:
            return collect_garbage(allocator, valid)

    def status(self, config: IpamConfig) -> None:
        with self.session(config) as allocator:
            check_ready(allocator)


class LocalService(_AllocatorService):
    """Runs each call in this process against a freshly opened store."""

    def __init__(
        self, opener: Callable[[IpamConfig], KVStore] | None = None
    ) -> None:
        self._open = opener or (lambda config: open_store(config.store))

    @contextlib.contextmanager
    def session(self, config: IpamConfig) -> Iterator[Allocator]:
        with self._open(config) as store:
            cursors = FileCursors(config.data_dir / config.network)
            yield Allocator(store, config, cursors)


class WarmService(_AllocatorService):
    """Keeps one open store per store block and hints per network.

    For a long-lived process such as the node agent; thread safe.
    """

    # TODO(agent): a store keeps the credentials it read when opened; a
    # rotated passwordFile or certificate takes effect only when the
    # agent restarts.  Reopen when a referenced file's mtime changes.

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[str, KVStore] = {}
        self._cursors: dict[str, MemoryCursors] = {}

    @contextlib.contextmanager
    def session(self, config: IpamConfig) -> Iterator[Allocator]:
        key = json.dumps(config.store, sort_keys=True)
        with self._lock:
            store = self._stores.get(key)
            if store is None:
                store = self._stores[key] = open_store(config.store)
            cursors = self._cursors.setdefault(
                f"{key}/{config.network}/{config.node}", MemoryCursors()
            )
        yield Allocator(store, config, cursors)

    def close(self) -> None:
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()
