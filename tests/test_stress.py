"""Many plugin processes at once on a nearly full pool, on every backend.

Eight worker threads each run the real executable again and again (ADD
and DEL mixed) against one network on a real server.  No address may be
held by two attachments at any moment, and once everything is deleted
nothing may be left in the store.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from macvlan_ipam.core.allocator import Allocator
from macvlan_ipam.core.config import parse_ipam
from macvlan_ipam.core.records import Attachment
from macvlan_ipam.core.registry import open_store

from .plugin_runner import netconf, run_plugin

WORKERS = 8
STEPS = 14
PREFILLED = 236  # of 253 usable addresses in the /24

BACKENDS = [
    pytest.param("etcd_server", marks=pytest.mark.etcd),
    pytest.param("redis_server", marks=pytest.mark.redis),
    pytest.param("consul_server", marks=pytest.mark.consul),
]


@pytest.mark.parametrize("server", BACKENDS)
def test_no_duplicates_under_concurrent_processes(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store_block = request.getfixturevalue(server).store_config()
    conf = netconf(store_block, tmp_path)
    config_store = open_store(store_block)
    ipam = conf["ipam"]
    assert isinstance(ipam, dict)
    config = parse_ipam(str(conf["name"]), ipam)
    prefill = Allocator(config_store, config)
    for n in range(PREFILLED):
        prefill.allocate(Attachment(f"fill{n}", "eth0"))

    owners: dict[str, str] = {}
    lock = threading.Lock()
    problems: list[str] = []
    live: dict[int, list[str]] = {w: [] for w in range(WORKERS)}

    def worker(w: int) -> None:
        rng = random.Random(w)
        for step in range(STEPS):
            mine = live[w]
            if mine and rng.random() < 0.45:
                container = mine.pop(rng.randrange(len(mine)))
                with lock:
                    for ip in [i for i, c in owners.items() if c == container]:
                        del owners[ip]
                out = run_plugin("DEL", conf, container=container)
                if out.code != 0:
                    problems.append(f"DEL {container}: {out.stdout}")
                continue
            container = f"w{w}s{step}"
            out = run_plugin("ADD", conf, container=container, timeout=60)
            if out.code != 0:
                if out.json.get("code") not in (110, 11):
                    problems.append(f"ADD {container}: {out.stdout}")
                continue
            mine.append(container)
            for ip in out.json["ips"]:  # type: ignore[union-attr]
                address = ip["address"]
                with lock:
                    if address in owners:
                        problems.append(
                            f"{address} given to {container} while held "
                            f"by {owners[address]}"
                        )
                    owners[address] = container

    threads = [
        threading.Thread(target=worker, args=(w,)) for w in range(WORKERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert problems == []

    held = {
        prefill.keys.address(e.key)
        for e in config_store.scan_all(prefill.keys.ips)
    }
    assert {str(ip) for ip in held} >= {a.split("/")[0] for a in owners}
    assert len(held) == PREFILLED + sum(len(v) for v in live.values())

    for containers in live.values():
        for container in containers:
            assert run_plugin("DEL", conf, container=container).code == 0
    for n in range(PREFILLED):
        prefill.release(Attachment(f"fill{n}", "eth0"))
    base = prefill.keys.base + "/"
    assert config_store.scan_all(base) == []
    config_store.close()
