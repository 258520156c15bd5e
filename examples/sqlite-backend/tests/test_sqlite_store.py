"""What the conformance kit cannot see: files, processes, config."""

import sqlite3
from pathlib import Path

import pytest
from macvlan_ipam_sqlite import SQLiteStore
from macvlan_ipam_sqlite.queries import prefix_end

from macvlan_ipam.core.errors import (
    InvalidConfig,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)
from macvlan_ipam.core.kv import Absent, Delete, Put, Unchanged


def test_config_defaults_and_timeout() -> None:
    store = SQLiteStore.from_config({"type": "sqlite", "timeout": 0.5})
    assert store.path == Path("/var/lib/cni/macvlan-ipam/ipam.db")
    assert store.timeout == 0.5


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ({"path": "ipam.db"}, "must be absolute"),
        ({"path": 3}, "store.path"),
        ({"path": "/x.db", "file": "/y"}, "unknown field(s) ['file']"),
        ({"endpoints": ["http://h:1"]}, "takes no ['endpoints']"),
        ({"passwordFile": "/nonexistent"}, "takes no ['passwordFile']"),
        ({"timeout": 0}, "store.timeout"),
    ],
)
def test_config_errors_name_the_field(
    extra: dict[str, object], complaint: str
) -> None:
    with pytest.raises(InvalidConfig) as caught:
        SQLiteStore.from_config({"type": "sqlite", **extra})
    assert complaint in caught.value.msg


def test_from_config_does_not_touch_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "ipam.db"
    SQLiteStore.from_config({"type": "sqlite", "path": str(path)})
    assert not path.parent.exists()


def test_data_and_versions_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ipam.db"
    with SQLiteStore(path) as first:
        first.commit([], [Put("/k", b"1")])
        first.commit([], [Delete("/k")])
        first.commit([], [Put("/kept", b"v")])
        kept = first.get("/kept")
    with SQLiteStore(path) as second:
        assert second.get("/kept") == kept
        second.commit([], [Put("/k", b"again")])
        entry = second.get("/k")
    assert entry is not None and kept is not None
    assert entry.version > kept.version


def test_two_stores_on_one_file_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "ipam.db"
    with SQLiteStore(path) as a, SQLiteStore(path) as b:
        assert a.commit([Absent("/k")], [Put("/k", b"a")])
        assert not b.commit([Absent("/k")], [Put("/k", b"b")])
        entry = b.get("/k")
        assert entry is not None and entry.value == b"a"
        assert b.commit([Unchanged("/k", entry.version)], [Delete("/k")])
        assert a.get("/k") is None


def test_ttl_follows_the_clock(tmp_path: Path) -> None:
    now = [1000.0]
    with SQLiteStore(tmp_path / "ipam.db", clock=lambda: now[0]) as store:
        store.commit([], [Put("/lease", b"x", ttl=30), Put("/plain", b"y")])
        now[0] += 29.9
        assert store.get("/lease") is not None
        now[0] += 0.2
        assert store.get("/lease") is None
        assert [e.key for e in store.scan("/")] == ["/plain"]
        assert store.commit([Absent("/lease")], [Put("/lease", b"new")])
        now[0] += 1e6
        assert store.get("/lease") is not None  # rewritten without TTL


def test_held_lock_beyond_timeout_is_store_timeout(tmp_path: Path) -> None:
    path = tmp_path / "ipam.db"
    with SQLiteStore(path, timeout=0.2) as store:
        store.commit([], [Put("/k", b"1")])
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreTimeout, match="SQLITE_BUSY"):
                store.commit([], [Put("/k", b"2")])
            entry = store.get("/k")  # WAL: reads go on meanwhile
            assert entry is not None and entry.value == b"1"
        finally:
            other.close()
        assert store.commit([], [Put("/k", b"3")])


def test_unopenable_path_is_store_unreachable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreUnreachable, match="file"):
        SQLiteStore(tmp_path / "file" / "ipam.db").get("/k")
    with pytest.raises(StoreUnreachable, match="SQLITE_CANTOPEN"):
        SQLiteStore(tmp_path).get("/k")  # a directory, not a file


def test_not_a_database_is_store_error(tmp_path: Path) -> None:
    path = tmp_path / "ipam.db"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match="SQLITE_NOTADB") as caught:
        SQLiteStore(path).get("/k")
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("/a/", "/a0"),
        ("", None),
        ("/\U0010ffff\U0010ffff", "0"),
        ("\U0010ffff", None),
        ("/\ud7ff", "/\ue000"),
        ("/é", "/ê"),
    ],
)
def test_prefix_end(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end


def test_scan_with_non_ascii_and_max_code_points(tmp_path: Path) -> None:
    keys = ["/p/\x7f", "/p/é", "/p/\ud7ff", "/p/\ue000", "/p/\U0010ffff"]
    with SQLiteStore(tmp_path / "ipam.db") as store:
        store.commit([], [Put(k, b"") for k in [*keys, "/q", "/p"]])
        assert [e.key for e in store.scan("/p/")] == keys
        assert [e.key for e in store.scan("/p/\U0010ffff")] == keys[-1:]
