"""Node-local hints: cursors and lanes."""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

from macvlan_ipam.core.allocator import Allocator
from macvlan_ipam.core.cursor import FileCursors, MemoryCursors
from macvlan_ipam.core.memory import MemoryStore
from macvlan_ipam.core.records import Attachment

from .helpers import network


def test_file_cursor_round_trip_and_bad_content(tmp_path: Path) -> None:
    cursors = FileCursors(tmp_path / "net")
    assert cursors.get("10.0.0.1-10.0.0.254") is None
    cursors.set("10.0.0.1-10.0.0.254", ipaddress.ip_address("10.0.0.9"))
    assert str(cursors.get("10.0.0.1-10.0.0.254")) == "10.0.0.9"
    (tmp_path / "net" / "last-fd00%3A%3A1-fd00%3A%3Aff").write_text("junk")
    assert cursors.get("fd00::1-fd00::ff") is None


def test_unwritable_directory_is_only_a_warning(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cursors = FileCursors(blocker / "net")
    cursors.set("r", ipaddress.ip_address("10.0.0.1"))
    assert cursors.get("r") is None
    with cursors.lane() as lane:
        assert lane == 0


def test_file_lanes_are_distinct_and_released(tmp_path: Path) -> None:
    cursors = FileCursors(tmp_path)
    with cursors.lane() as a, cursors.lane() as b, cursors.lane() as c:
        assert (a, b, c) == (0, 1, 2)
    with cursors.lane() as again:
        assert again == 0
    assert list((tmp_path / "lanes").iterdir()) == []


def test_lane_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    (tmp_path / "lanes").mkdir()
    (tmp_path / "lanes" / "0").write_text(done.stdout.strip())
    (tmp_path / "lanes" / "1").write_text(str(os.getpid()))
    with FileCursors(tmp_path).lane() as lane:
        assert lane == 0


def test_allocations_running_at_once_start_apart() -> None:
    cursors = MemoryCursors()
    allocator = Allocator(MemoryStore(), network("10.0.0.0/24"), cursors)
    with cursors.lane() as busy:
        assert busy == 0
        second = allocator.allocate(Attachment("c2", "eth0"))[0].address
    first = allocator.allocate(Attachment("c1", "eth0"))[0].address
    assert (str(second), str(first)) == ("10.0.0.3", "10.0.0.4")
