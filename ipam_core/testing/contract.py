"""Tests every ``KVStore`` must pass, whatever it stores data in."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from ..errors import CapabilityError
from ..kv import (
    Absent,
    Capability,
    Delete,
    Entry,
    Get,
    KVStore,
    Put,
    Scan,
    Unchanged,
)


class StoreContract:
    """Contract tests; the subclass provides the ``store`` fixture."""

    @pytest.fixture
    def prefix(self) -> str:
        return f"/kit/{uuid.uuid4().hex}/"

    # read

    def test_get_missing_is_empty(self, store: KVStore, prefix: str) -> None:
        assert store.read([Get(prefix + "nothing")]) == [[]]

    def test_put_then_get(self, store: KVStore, prefix: str) -> None:
        assert store.commit([], [Put(prefix + "a", b"\x00one")])
        entry = store.get(prefix + "a")
        assert entry is not None
        assert (entry.key, entry.value) == (prefix + "a", b"\x00one")

    def test_read_batch_keeps_request_order(
        self, store: KVStore, prefix: str
    ) -> None:
        store.commit([], [Put(prefix + "x", b"1"), Put(prefix + "y", b"2")])
        got = store.read([Get(prefix + "y"), Scan(prefix), Get(prefix + "z")])
        assert [e.value for e in got[0]] == [b"2"]
        assert [e.key for e in got[1]] == [prefix + "x", prefix + "y"]
        assert got[2] == []

    def test_scan_is_ordered_and_complete(
        self, store: KVStore, prefix: str
    ) -> None:
        keys = [f"{prefix}k/{i:03d}" for i in range(0, 300, 7)]
        store.commit([], [Put(k, b"v") for k in reversed(keys)])
        store.commit([], [Put(prefix + "other", b"v")])
        assert [e.key for e in store.scan_all(prefix + "k/", page=5)] == keys

    def test_scan_start_after_and_limit(
        self, store: KVStore, prefix: str
    ) -> None:
        keys = [f"{prefix}{i:02d}" for i in range(20)]
        store.commit([], [Put(k, b"v") for k in keys])
        got = store.scan(prefix, start_after=keys[4], limit=3)
        assert [e.key for e in got] == keys[5:8]
        missing_start = prefix + "04x"
        got = store.scan(prefix, start_after=missing_start, limit=100)
        assert [e.key for e in got] == keys[5:]
        assert store.scan(prefix, start_after=keys[-1]) == []

    def test_scan_respects_prefix_boundary(
        self, store: KVStore, prefix: str
    ) -> None:
        store.commit(
            [],
            [
                Put(prefix + "ab", b"1"),
                Put(prefix + "ac", b"2"),
                Put(prefix + "b", b"3"),
            ],
        )
        assert [e.key for e in store.scan(prefix + "a")] == [
            prefix + "ab",
            prefix + "ac",
        ]

    def test_scan_keys_only(self, store: KVStore, prefix: str) -> None:
        store.commit([], [Put(prefix + "k", b"value")])
        (entry,) = store.scan(prefix, keys_only=True)
        assert entry.key == prefix + "k"
        assert entry.value == b""
        assert entry.version == _version(store, prefix + "k")

    # commit

    def test_absent_condition(self, store: KVStore, prefix: str) -> None:
        key = prefix + "k"
        assert store.commit([Absent(key)], [Put(key, b"first")])
        assert not store.commit([Absent(key)], [Put(key, b"second")])
        assert _value(store, key) == b"first"

    def test_unchanged_condition(self, store: KVStore, prefix: str) -> None:
        key = prefix + "k"
        store.commit([], [Put(key, b"1")])
        old = _version(store, key)
        assert store.commit([Unchanged(key, old)], [Put(key, b"2")])
        assert not store.commit([Unchanged(key, old)], [Put(key, b"3")])
        assert _value(store, key) == b"2"

    def test_unchanged_fails_on_missing_key(
        self, store: KVStore, prefix: str
    ) -> None:
        key = prefix + "k"
        store.commit([], [Put(key, b"1")])
        version = _version(store, key)
        store.commit([], [Delete(key)])
        assert not store.commit([Unchanged(key, version)], [Put(key, b"x")])
        assert store.get(key) is None

    def test_recreated_key_does_not_match_old_version(
        self, store: KVStore, prefix: str
    ) -> None:
        key = prefix + "k"
        store.commit([], [Put(key, b"1")])
        version = _version(store, key)
        store.commit([], [Delete(key)])
        store.commit([], [Put(key, b"1")])
        assert not store.commit([Unchanged(key, version)], [Delete(key)])

    def test_all_or_nothing(self, store: KVStore, prefix: str) -> None:
        taken = prefix + "taken"
        store.commit([], [Put(taken, b"x"), Put(prefix + "keep", b"x")])
        ok = store.commit(
            [Absent(prefix + "free"), Absent(taken)],
            [Put(prefix + "free", b"y"), Delete(prefix + "keep")],
        )
        assert not ok
        assert store.get(prefix + "free") is None
        assert store.get(prefix + "keep") is not None

    def test_multi_key_commit_applies_everything(
        self, store: KVStore, prefix: str
    ) -> None:
        store.commit([], [Put(prefix + "gone", b"x")])
        ok = store.commit(
            [Absent(prefix + "a"), Absent(prefix + "b")],
            [
                Put(prefix + "a", b"1"),
                Put(prefix + "b", b"2"),
                Delete(prefix + "gone"),
            ],
        )
        assert ok
        assert [e.key for e in store.scan(prefix)] == [
            prefix + "a",
            prefix + "b",
        ]

    def test_delete_missing_key_is_fine(
        self, store: KVStore, prefix: str
    ) -> None:
        assert store.commit([], [Delete(prefix + "never")])

    def test_versions_only_move_forward(
        self, store: KVStore, prefix: str
    ) -> None:
        key = prefix + "k"
        seen = []
        for i in range(5):
            store.commit([], [Put(key, str(i).encode())])
            seen.append(_version(store, key))
        assert seen == sorted(seen)
        assert len(set(seen)) == len(seen)

    def test_concurrent_committers_never_both_win(
        self, store: KVStore, prefix: str
    ) -> None:
        rounds, workers = 20, 4
        wins: list[tuple[int, int]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(workers)

        def contend(worker: int) -> None:
            for r in range(rounds):
                barrier.wait()
                key = f"{prefix}round/{r:03d}"
                if store.commit([Absent(key)], [Put(key, b"%d" % worker)]):
                    with lock:
                        wins.append((r, worker))

        threads = [
            threading.Thread(target=contend, args=(w,)) for w in range(workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(r for r, _ in wins) == list(range(rounds))
        for r, worker in wins:
            assert _value(store, f"{prefix}round/{r:03d}") == b"%d" % worker

    def test_counter_under_compare_and_swap(
        self, store: KVStore, prefix: str
    ) -> None:
        key, workers, each = prefix + "counter", 4, 10
        store.commit([], [Put(key, b"0")])

        def bump() -> None:
            done = 0
            while done < each:
                entry = store.get(key)
                assert entry is not None
                new = str(int(entry.value) + 1).encode()
                if store.commit(
                    [Unchanged(key, entry.version)], [Put(key, new)]
                ):
                    done += 1

        threads = [threading.Thread(target=bump) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert _value(store, key) == str(workers * each).encode()

    # capabilities

    def test_ttl_capability_is_honoured(
        self, store: KVStore, prefix: str
    ) -> None:
        op = Put(prefix + "lease", b"x", ttl=1)
        if Capability.TTL not in store.capabilities:
            with pytest.raises(CapabilityError):
                store.commit([], [op])
            assert store.get(prefix + "lease") is None
            return
        assert store.commit([], [op, Put(prefix + "plain", b"y")])
        assert store.get(prefix + "lease") is not None
        deadline = time.monotonic() + 10
        while store.get(prefix + "lease") is not None:
            assert time.monotonic() < deadline, "TTL key never expired"
            time.sleep(0.2)
        assert store.get(prefix + "plain") is not None

    def test_close_twice(self, store: KVStore) -> None:
        store.close()
        store.close()


def _entry(store: KVStore, key: str) -> Entry:
    entry = store.get(key)
    assert entry is not None, f"{key} missing"
    return entry


def _value(store: KVStore, key: str) -> bytes:
    return _entry(store, key).value


def _version(store: KVStore, key: str) -> int:
    return _entry(store, key).version
