"""The plugin's example ADD/DEL on every store, changing only ``store``.

The same network config runs against each real server, plain and
secured; only the ``store`` block differs.  Nothing secret may reach
stdout or stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from macvlan_ipam.core.keys import KeyLayout
from macvlan_ipam.core.registry import open_store

from .plugin_runner import netconf, run_plugin

SERVERS = [
    pytest.param(name, marks=getattr(pytest.mark, name.split("_")[0]))
    for name in (
        "etcd_server",
        "etcd_tls_server",
        "etcd_rbac_server",
        "consul_server",
        "consul_acl_server",
        "consul_tls_server",
        "redis_server",
        "redis_auth_server",
        "redis_tls_server",
        "redis_cluster",
        "redis_sentinel",
    )
]
SECRETS = ("password", "token")


@pytest.mark.parametrize("server", SERVERS)
def test_example_add_and_del_with_only_the_store_changed(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = request.getfixturevalue(server).store_config()
    conf = netconf(
        store,
        tmp_path,
        "0.3.1",
        name="examplenet-" + server,
        ranges=[[{"subnet": "203.0.113.0/24"}]],
    )

    added = run_plugin("ADD", conf, container="example")
    assert added.code == 0, added.stdout + added.stderr
    assert added.json["ips"] == [
        {"version": "4", "address": "203.0.113.2/24", "gateway": "203.0.113.1"}
    ]
    keys = KeyLayout("/macvlan-ipam", str(conf["name"]))
    with open_store(store) as kv:
        assert [e.key for e in kv.scan_all(keys.base + "/")] == [
            keys.attachment("example", "eth0"),
            keys.ips + "203.000.113.002",
        ]

    deleted = run_plugin("DEL", conf, container="example")
    assert (deleted.code, deleted.stdout) == (0, "")
    with open_store(store) as kv:
        assert kv.scan_all(keys.base + "/") == []

    for secret in (v for k, v in store.items() if k in SECRETS):
        for out in (added, deleted):
            assert str(secret) not in out.stdout + out.stderr
    assert json.dumps(added.json).count("203.0.113.2") == 1
