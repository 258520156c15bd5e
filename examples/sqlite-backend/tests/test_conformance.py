"""The macvlan-ipam conformance kit over the SQLite backend."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from macvlan_ipam_sqlite import SQLiteStore

from macvlan_ipam.core.testing import AllocatorContract, StoreContract


class TestSQLiteStore(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SQLiteStore]:
        config = {"type": "sqlite", "path": str(tmp_path / "ipam.db")}
        with SQLiteStore.from_config(config) as store:
            yield store
