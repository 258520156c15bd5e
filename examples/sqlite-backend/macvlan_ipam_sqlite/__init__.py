"""A single-node macvlan-ipam store backend on SQLite (an example)."""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
