"""The one place sqlite3 and file system failures become store errors."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from macvlan_ipam.core.errors import (
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)

LOG = logging.getLogger(__name__)

#: Primary result codes meaning "another connection held the lock for
#: longer than the busy timeout".
_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
#: Primary result codes meaning "the database file cannot be reached".
_UNREACHABLE = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM}


@contextlib.contextmanager
def converted(path: Path) -> Iterator[None]:
    """Re-raise sqlite3 and OS failures as ``StoreError`` subclasses."""
    try:
        yield
    except sqlite3.Error as exc:
        kind = _kind(exc)
        name = getattr(exc, "sqlite_errorname", type(exc).__name__)
        message = f"sqlite {path}: {name}: {exc}"
        LOG.debug("%s: %s", kind.__name__, message)
        raise kind(message) from exc
    except OSError as exc:
        message = f"sqlite {path}: {exc.strerror or exc}"
        LOG.debug("StoreUnreachable: %s", message)
        raise StoreUnreachable(message) from exc


def _kind(exc: sqlite3.Error) -> type[StoreError]:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return StoreError
    primary = code & 0xFF  # extended codes keep the primary in the low byte
    if primary in _BUSY:
        return StoreTimeout
    if primary in _UNREACHABLE:
        return StoreUnreachable
    return StoreError
