"""The backend as users meet it: by name, inside the CNI executable."""

import contextlib
import ipaddress
import json
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from macvlan_ipam_sqlite import SQLiteStore

from macvlan_ipam.core.registry import installed_backends, load_backend

#: The plugin installed next to the interpreter running the tests.
PLUGIN = Path(sys.executable).parent / "macvlan-ipam-etcd"


def test_found_by_name_through_the_entry_point() -> None:
    assert "sqlite" in installed_backends()
    assert load_backend("sqlite") is SQLiteStore


@pytest.fixture
def netconf(tmp_path: Path) -> dict[str, object]:
    return {
        "cniVersion": "1.0.0",
        "name": "sqlnet",
        "type": "macvlan",
        "ipam": {
            "type": "macvlan-ipam-etcd",
            "subnet": "10.77.0.0/26",
            "dataDir": str(tmp_path / "data"),
            "store": {"type": "sqlite", "path": str(tmp_path / "ipam.db")},
        },
    }


def test_plugin_add_then_del(
    netconf: dict[str, object], tmp_path: Path
) -> None:
    added = run_plugin("ADD", "c1", netconf)
    assert (added.returncode, added.stderr) == (0, ""), added.stdout
    result = json.loads(added.stdout)
    assert result["ips"] == [
        {"address": "10.77.0.2/26", "gateway": "10.77.0.1"}
    ]
    assert rows(tmp_path / "ipam.db") == 2  # address + attachment

    deleted = run_plugin("DEL", "c1", netconf)
    assert (deleted.returncode, deleted.stdout) == (0, ""), deleted.stderr
    assert rows(tmp_path / "ipam.db") == 0


def test_concurrent_plugin_processes_share_one_file(
    netconf: dict[str, object],
) -> None:
    """4 workers x 20 ADDs on a /26: 61 distinct addresses, then 110."""

    def worker(w: int) -> list[Any]:
        return [
            json.loads(run_plugin("ADD", f"w{w}-{i}", netconf).stdout)
            for i in range(20)
        ]

    with ThreadPoolExecutor(4) as pool:
        replies = [r for batch in pool.map(worker, range(4)) for r in batch]

    addresses = [
        ipaddress.ip_interface(ip["address"]).ip
        for r in replies
        if "ips" in r
        for ip in r["ips"]
    ]
    failures = [r for r in replies if "ips" not in r]
    assert len(addresses) == len(set(addresses)) == 61
    assert {r["code"] for r in failures} == {110}, failures
    assert len(failures) == 80 - 61


def run_plugin(
    command: str, container: str, netconf: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    assert PLUGIN.is_file(), f"plugin executable missing at {PLUGIN}"
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_IFNAME": "eth0",
        "CNI_NETNS": "/var/run/netns/test",
        "CNI_PATH": "/opt/cni/bin",
        "MACVLAN_IPAM_LOG_LEVEL": "warning",
    }
    return subprocess.run(
        [str(PLUGIN)],
        input=json.dumps(netconf),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        (count,) = db.execute("SELECT count(*) FROM kv").fetchone()
    return int(count)
