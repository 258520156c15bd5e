"""Opening the database file and creating its tables.

kv        key TEXT PRIMARY KEY (BINARY collation = UTF-8 byte order),
          value BLOB, version INTEGER, expires_at REAL or NULL
revision  one row: the last version handed out; it only grows, so a
          re-created key never gets back a version it had before
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_TABLES = """
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    version INTEGER NOT NULL,
    expires_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at)
    WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS revision (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO revision (id, value) VALUES (0, 0);
"""


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """Open ``path`` (creating it and its tables) in WAL mode.

    ``timeout`` is SQLite's busy timeout: how long a statement waits for
    another connection's lock before failing with SQLITE_BUSY.  Raises
    ``sqlite3.Error`` or ``OSError``; the caller converts them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path,
        timeout=timeout,
        isolation_level=None,  # we issue BEGIN and COMMIT ourselves
        check_same_thread=False,  # the store's lock serialises threads
    )
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript("BEGIN IMMEDIATE;" + _TABLES + "COMMIT;")
    except BaseException:
        db.close()
        raise
    return db
