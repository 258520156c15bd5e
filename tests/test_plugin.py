"""The CNI executable as a runtime drives it: env, stdin, stdout, exit code.

These run the installed ``macvlan-ipam-etcd`` as a subprocess against the
real etcd started by the fixtures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from macvlan_ipam.core.config import DEFAULT_DATA_DIR

from .plugin_runner import netconf, run_plugin
from .servers.etcd import EtcdServer
from .servers.process import free_port

pytestmark = pytest.mark.etcd

VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
HOST_LOCAL = Path("/usr/lib/cni/host-local")


@pytest.fixture
def store(etcd_server: EtcdServer) -> dict[str, object]:
    return etcd_server.store_config()


def held_keys(server: EtcdServer, network: str) -> list[str]:
    out = server.etcdctl(
        "get", "--prefix", "--keys-only", f"/macvlan-ipam/{network}/"
    )
    return [line for line in out.splitlines() if line]


@pytest.mark.parametrize("version", VERSIONS)
def test_add_prints_exactly_what_host_local_prints(
    version: str, store: dict[str, object], tmp_path: Path
) -> None:
    """Same config, same fresh pool: the same document as the reference."""
    conf = netconf(
        store,
        tmp_path / "ours",
        version,
        routes=[{"dst": "0.0.0.0/0"}, {"dst": "fd00::/8", "gw": "fd10::1"}],
        ranges=[[{"subnet": "10.10.0.0/24"}], [{"subnet": "fd10::/120"}]],
    )
    reference = json.loads(json.dumps(conf))
    # Debian's host-local speaks up to 1.0.0; 1.1.0 results look the same.
    reference["cniVersion"] = min(version, "1.0.0")
    reference["ipam"]["type"] = "host-local"
    reference["ipam"]["dataDir"] = str(tmp_path / "host-local")
    del reference["ipam"]["store"]

    ours = run_plugin("ADD", conf)

    assert ours.code == 0, ours.stdout + ours.stderr
    assert ours.json == {**run_host_local(reference), "cniVersion": version}
    assert ours.stdout.count("\n") == 1


def run_host_local(conf: dict[str, object]) -> dict[str, object]:
    assert HOST_LOCAL.exists(), "install containernetworking-plugins"
    done = subprocess.run(
        [str(HOST_LOCAL)],
        input=json.dumps(conf).encode(),
        env={
            "CNI_COMMAND": "ADD",
            "CNI_CONTAINERID": "ctr1",
            "CNI_NETNS": "/var/run/netns/test",
            "CNI_IFNAME": "eth0",
            "CNI_PATH": "/usr/lib/cni",
            "PATH": os.environ["PATH"],
        },
        capture_output=True,
        check=True,
    )
    doc = json.loads(done.stdout)
    assert isinstance(doc, dict)
    return doc


def forget_cursor(network: str) -> None:
    """Drop the node-local hint these default-dataDir configs leave behind."""
    shutil.rmtree(DEFAULT_DATA_DIR / network, ignore_errors=True)


def test_go_project_readme_config_verbatim(etcd_server: EtcdServer) -> None:
    forget_cursor("examplenet")
    conf = {
        "cniVersion": "0.3.1",
        "name": "examplenet",
        "ipam": {
            "name": "myetcd-ipam",
            "type": "macvlan-ipam-etcd",
            "etcdConfig": {"etcdURL": etcd_server.url},
            "ranges": [[{"subnet": "203.0.113.0/24"}]],
        },
    }
    added = run_plugin("ADD", conf, container="readme")
    assert added.code == 0, added.stderr
    assert added.json["ips"] == [
        {"version": "4", "address": "203.0.113.2/24", "gateway": "203.0.113.1"}
    ]
    assert held_keys(etcd_server, "examplenet") == [
        "/macvlan-ipam/examplenet/attachments/readme/eth0",
        "/macvlan-ipam/examplenet/ips/203.000.113.002",
    ]
    assert run_plugin("DEL", conf, container="readme").code == 0
    assert held_keys(etcd_server, "examplenet") == []


def test_go_project_libcni_config(etcd_server: EtcdServer) -> None:
    forget_cursor("mynet")
    conf = {
        "cniVersion": "0.3.1",
        "name": "mynet",
        "type": "macvlan",
        "master": "eth0",
        "ipam": {
            "type": "macvlan-ipam-etcd",
            "etcdConfig": {"etcdURL": etcd_server.url},
            "subnet": "10.22.0.0/16",
            "rangeStart": "10.22.0.2",
            "rangeEnd": "10.22.0.254",
            "routes": [{"dst": "0.0.0.0/0"}],
        },
    }
    added = run_plugin("ADD", conf, container="libcni")
    assert added.code == 0, added.stderr
    assert added.json["ips"] == [
        {"version": "4", "address": "10.22.0.2/16", "gateway": "10.22.0.1"}
    ]
    assert added.json["routes"] == [{"dst": "0.0.0.0/0"}]
    assert run_plugin("DEL", conf, container="libcni").code == 0
    assert held_keys(etcd_server, "mynet") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_lifecycle_at_every_version(
    version: str, etcd_server: EtcdServer, tmp_path: Path
) -> None:
    conf = netconf(etcd_server.store_config(), tmp_path, version)
    name = str(conf["name"])

    added = run_plugin("ADD", conf)
    assert added.code == 0, added.stderr
    again = run_plugin("ADD", conf)
    assert again.json == added.json
    assert len(held_keys(etcd_server, name)) == 2

    check = run_plugin("CHECK", {**conf, "prevResult": added.json})
    if version in ("0.1.0", "0.2.0", "0.3.0", "0.3.1"):
        assert check.error_code == 1
        assert "does not allow CHECK" in str(check.json["msg"])
    else:
        assert (check.code, check.stdout) == (0, ""), check.stdout

    for command in ("GC", "STATUS"):
        gated = run_plugin(command, conf)
        if version != "1.1.0":
            assert gated.error_code == 1

    deleted = run_plugin("DEL", conf)
    assert (deleted.code, deleted.stdout) == (0, "")
    assert held_keys(etcd_server, name) == []
    assert run_plugin("DEL", conf).code == 0


def test_check_fails_when_the_store_disagrees(
    etcd_server: EtcdServer, tmp_path: Path
) -> None:
    conf = netconf(etcd_server.store_config(), tmp_path)
    added = run_plugin("ADD", conf).json
    forged = json.loads(json.dumps(added))
    forged["ips"][0]["address"] = "10.10.0.99/24"
    check = run_plugin("CHECK", {**conf, "prevResult": forged})
    assert check.error_code == 113
    assert "10.10.0.99" in str(check.json["msg"])
    run_plugin("DEL", conf)
    check = run_plugin("CHECK", {**conf, "prevResult": added})
    assert check.error_code == 113


def test_gc_releases_all_but_valid_attachments(
    etcd_server: EtcdServer, tmp_path: Path
) -> None:
    conf = netconf(etcd_server.store_config(), tmp_path)
    for n in range(4):
        assert run_plugin("ADD", conf, container=f"c{n}").code == 0
    valid = [{"containerID": "c1", "ifname": "eth0"}]
    gc = run_plugin("GC", {**conf, "cni.dev/valid-attachments": valid})
    assert (gc.code, gc.stdout) == (0, ""), gc.stdout
    keys = held_keys(etcd_server, str(conf["name"]))
    assert [k for k in keys if "/attachments/" in k] == [
        f"/macvlan-ipam/{conf['name']}/attachments/c1/eth0"
    ]
    old = run_plugin("GC", {**conf, "cni.dev/attachments": []})
    assert old.code == 0
    assert held_keys(etcd_server, str(conf["name"])) == []


def test_status(etcd_server: EtcdServer, tmp_path: Path) -> None:
    conf = netconf(
        etcd_server.store_config(),
        tmp_path,
        ranges=[[{"subnet": "10.10.0.0/30"}]],  # one usable: .2
    )
    assert run_plugin("STATUS", conf).code == 0
    assert run_plugin("ADD", conf).code == 0
    status = run_plugin("STATUS", conf)
    assert status.error_code == 50
    assert "no free address" in str(status.json["msg"])
    full = run_plugin("ADD", conf, container="late")
    assert full.error_code == 110


@pytest.mark.parametrize(
    ("how", "value"),
    [
        ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.10.0.77"),
        ("args", {"cni": {"ips": ["10.10.0.77"]}}),
        ("runtimeConfig", {"ips": ["10.10.0.77/24"]}),
    ],
)
def test_requested_address(
    how: str, value: object, etcd_server: EtcdServer, tmp_path: Path
) -> None:
    conf = netconf(etcd_server.store_config(), tmp_path)
    args = value if how == "CNI_ARGS" else ""
    if how != "CNI_ARGS":
        conf[how] = value
    got = run_plugin("ADD", conf, args=str(args))
    assert got.code == 0, got.stdout
    assert got.json["ips"][0]["address"] == "10.10.0.77/24"

    taken = run_plugin("ADD", conf, container="other", args=str(args))
    assert taken.error_code == 111
    assert taken.json["msg"] == (
        "requested address 10.10.0.77 is already reserved by container "
        "ctr1 (interface eth0)"
    )
    outside = run_plugin("ADD", conf, container="o2", args="IP=10.99.0.1")
    assert outside.error_code == 112
    assert len(held_keys(etcd_server, str(conf["name"]))) == 2


def test_version_command() -> None:
    for asked in ("0.4.0", "1.1.0"):
        reply = run_plugin("VERSION", {"cniVersion": asked}, container="-")
        assert reply.code == 0
        assert reply.json == {
            "cniVersion": asked,
            "supportedVersions": VERSIONS,
        }


@pytest.mark.parametrize(
    ("env", "stdin", "code", "message"),
    [
        ({"CNI_COMMAND": "BOGUS"}, None, 4, "CNI_COMMAND must be one of"),
        ({"CNI_CONTAINERID": "-"}, None, 4, "CNI_CONTAINERID is required"),
        ({"CNI_IFNAME": "-"}, None, 4, "CNI_IFNAME is required"),
        ({"CNI_NETNS": "-"}, None, 4, "CNI_NETNS is required"),
        ({"CNI_CONTAINERID": "bad/id"}, None, 4, "CNI_CONTAINERID may hold"),
        ({"CNI_IFNAME": "a-very-long-ifname"}, None, 4, "not a valid"),
        ({"CNI_ARGS": "IP"}, None, 4, "CNI_ARGS: 'IP' is not KEY=VALUE"),
        ({}, "{not json", 6, "not JSON"),
        (
            {},
            '{"cniVersion": "9.9.9", "name": "n", "ipam": {}}',
            1,
            "incompatible CNI versions",
        ),
        ({}, '{"cniVersion": "1.0.0", "ipam": {}}', 7, "name:"),
        ({}, '{"cniVersion": "1.0.0", "name": "n"}', 7, "ipam:"),
    ],
)
def test_protocol_errors(
    env: dict[str, str],
    stdin: str | None,
    code: int,
    message: str,
    tmp_path: Path,
) -> None:
    conf = stdin or json.dumps(netconf({"type": "memory"}, tmp_path))
    env = dict(env)
    out = (
        run_plugin("ADD", conf, **env)
        if "CNI_COMMAND" not in env
        else run_plugin(env.pop("CNI_COMMAND"), conf, **env)
    )
    assert out.code == 1
    assert out.json["code"] == code
    assert message in str(out.json["msg"])
    assert set(out.json) <= {"cniVersion", "code", "msg", "details"}
    assert "Traceback" not in out.stdout + out.stderr


def test_invalid_config_changes_nothing(
    etcd_server: EtcdServer, tmp_path: Path
) -> None:
    conf = netconf(etcd_server.store_config(), tmp_path)
    assert run_plugin("ADD", conf).code == 0
    before = held_keys(etcd_server, str(conf["name"]))
    broken = json.loads(json.dumps(conf))
    broken["ipam"]["ranges"] = [
        [{"subnet": "10.10.0.0/24", "rangeStart": "10.11.0.1"}]
    ]
    for command in ("ADD", "DEL", "CHECK", "GC"):
        out = run_plugin(command, broken, container="ctr2")
        assert out.error_code == 7, command
        assert "ipam.ranges[0][0].rangeStart" in str(out.json["msg"])
    assert held_keys(etcd_server, str(conf["name"])) == before


def test_unknown_backend_lists_installed(tmp_path: Path) -> None:
    out = run_plugin("ADD", netconf({"type": "zookeeper"}, tmp_path))
    assert out.error_code == 7
    head, _, listed = str(out.json["msg"]).partition("; installed: ")
    assert head == "store.type: no backend named 'zookeeper'"
    assert {"consul", "etcd", "memory", "redis"} <= set(listed.split(", "))


def test_logs_go_to_stderr_or_file(
    etcd_server: EtcdServer, tmp_path: Path
) -> None:
    log = tmp_path / "ipam.log"
    conf = netconf(
        etcd_server.store_config(), tmp_path, logLevel="info", logFile=str(log)
    )
    out = run_plugin("ADD", conf)
    assert out.code == 0 and out.stderr == ""
    assert f"ADD ctr1/eth0 on {conf['name']}: 10.10.0.2/24" in log.read_text()
    noisy = run_plugin("DEL", conf, MACVLAN_IPAM_LOG_LEVEL="debug")
    assert noisy.stdout == ""
    assert "DEL ctr1/eth0" in log.read_text()


def test_unreachable_store_is_try_again_later(tmp_path: Path) -> None:
    dead = {
        "type": "etcd",
        "endpoints": [f"http://127.0.0.1:{free_port()}"],
        "dialTimeout": 1,
        "timeout": 2,
    }
    started = time.monotonic()
    out = run_plugin("ADD", netconf(dead, tmp_path))
    elapsed = time.monotonic() - started
    assert out.error_code == 11
    assert elapsed < 2 + 3, f"took {elapsed:.1f}s"


def test_frozen_store_is_try_again_later_within_deadline(
    etcd_server: EtcdServer, tmp_path: Path
) -> None:
    conf = netconf(
        etcd_server.store_config(timeout=2, dialTimeout=1), tmp_path
    )
    with etcd_server.frozen():
        started = time.monotonic()
        out = run_plugin("ADD", conf)
        elapsed = time.monotonic() - started
    assert out.error_code == 11
    assert elapsed < 2 + 1 + 3, f"took {elapsed:.1f}s"
    assert run_plugin("ADD", conf).code == 0


def test_broken_backend_is_an_environment_error(tmp_path: Path) -> None:
    """A distribution whose entry point cannot be imported: code 4."""
    dist = tmp_path / "site" / "broken_ipam_backend-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-ipam-backend\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[macvlan_ipam.backends]\nbroken = no_such_module_here:Store\n"
    )
    conf = netconf({"type": "broken"}, tmp_path)
    out = run_plugin("ADD", conf, PYTHONPATH=str(tmp_path / "site"))
    assert out.error_code == 4
    assert str(out.json["msg"]).startswith(
        "store backend 'broken' is installed but failed to load: "
        "ModuleNotFoundError: No module named 'no_such_module_here'"
    )
