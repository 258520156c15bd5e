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
import urllib.parse
from pathlib import Path
from typing import Protocol

from .ranges import IPAddress

LOG = logging.getLogger(__name__)


class Cursors(Protocol):
    def get(self, name: str) -> IPAddress | None: ...

    def set(self, name: str, ip: IPAddress) -> None: ...


class MemoryCursors:
    """Cursors of one long-lived process."""

    def __init__(self) -> None:
        self._last: dict[str, IPAddress] = {}

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

    def _path(self, name: str) -> Path:
        return self.directory / ("last-" + urllib.parse.quote(name, ""))
