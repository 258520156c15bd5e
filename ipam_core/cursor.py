"""Where each node continues its round-robin walk: hints, not state.

A cursor only decides where the next search starts; uniqueness comes
from the store's conditional commit, so a lost or stale cursor costs at
most a longer search.  The file form keeps the hint on the node (like
host-local's ``last_reserved_ip``) so that a cold plugin process does
not spend a store round trip on it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from .ranges import IPAddress

LOG = logging.getLogger(__name__)


class Cursors(Protocol):
    def get(self, name: str) -> IPAddress | None: ...

    def set(self, name: str, ip: IPAddress) -> None: ...

    def lane(self) -> AbstractContextManager[int]:
        """A small number no other allocation on this node holds now.

        Allocations that run at once on one node start from the same
        cursor; each takes the free address its lane numbers, so they
        do not all chase the first one.  A lone allocation has lane 0.
        """


class MemoryCursors:
    """Cursors of one long-lived process."""

    def __init__(self) -> None:
        self._last: dict[str, IPAddress] = {}
        self._lanes: set[int] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def lane(self) -> Iterator[int]:
        with self._lock:
            number = min(set(range(len(self._lanes) + 1)) - self._lanes)
            self._lanes.add(number)
        try:
            yield number
        finally:
            with self._lock:
                self._lanes.discard(number)

    def get(self, name: str) -> IPAddress | None:
        return self._last.get(name)

    def set(self, name: str, ip: IPAddress) -> None:
        self._last[name] = ip


class FileCursors:
    """One small file per range set under ``directory``.

    Failures to read or write are logged and ignored: a hint is never
    worth failing an ADD for.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, name: str) -> IPAddress | None:
        try:
            text = self._path(name).read_text().strip()
            return ipaddress.ip_address(text)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            LOG.warning("ignoring unreadable cursor %s: %s", name, exc)
            return None

    def set(self, name: str, ip: IPAddress) -> None:
        path = self._path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cursor")
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{ip}\n")
            os.replace(tmp, path)
        except OSError as exc:
            LOG.warning("cannot save cursor %s: %s", name, exc)
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(tmp)

    @contextlib.contextmanager
    def lane(self) -> Iterator[int]:
        """Lane N is the file ``lanes/N`` created exclusively.

        A file whose process is gone is taken over, so a crash costs
        nothing.  Any failure falls back to lane 0: a hint again.
        """
        lanes = self.directory / "lanes"
        number, path = 0, None
        try:
            lanes.mkdir(parents=True, exist_ok=True)
            number, path = _claim_lane(lanes)
        except OSError as exc:
            LOG.debug("no lane under %s: %s", lanes, exc)
        try:
            yield number
        finally:
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()

    def _path(self, name: str) -> Path:
        return self.directory / ("last-" + urllib.parse.quote(name, ""))


def _claim_lane(lanes: Path, limit: int = 64) -> tuple[int, Path | None]:
    number = 0
    while number < limit:
        path = lanes / str(number)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _holder_gone(path):
                path.unlink(missing_ok=True)
                continue  # try the same number again
            number += 1
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        return number, path
    return 0, None


def _holder_gone(path: Path) -> bool:
    """Whether the process named in a lane file has exited."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return False  # released meanwhile: just try again
    if not text.isdigit():
        return False  # being written right now
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False
