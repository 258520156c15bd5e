"""The node agent and the thin CNI path that talks to it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .plugin_runner import PLUGIN, netconf, run_plugin
from .servers.etcd import EtcdServer

AGENT = PLUGIN.with_name("macvlan-ipam-agent")


class Agent:
    def __init__(self, socket_path: Path, proc: subprocess.Popen[bytes]):
        self.socket = socket_path
        self.proc = proc


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Agent]:
    path = tmp_path / "run" / "agent.sock"
    proc = subprocess.Popen(
        [str(AGENT), "--socket", str(path), "--log-level", "debug"],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "agent did not start"
        time.sleep(0.05)
    yield Agent(path, proc)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_calls_through_the_agent_reach_the_store(
    agent: Agent, etcd_server: EtcdServer, tmp_path: Path
) -> None:
    conf = netconf(
        etcd_server.store_config(), tmp_path, agentSocket=str(agent.socket)
    )
    added = run_plugin("ADD", conf)
    assert added.code == 0, added.stdout + added.stderr
    assert added.json["ips"] == [
        {"address": "10.10.0.2/24", "gateway": "10.10.0.1"}
    ]
    keys = etcd_server.etcdctl(
        "get", "--prefix", "--keys-only", f"/macvlan-ipam/{conf['name']}/"
    ).split()
    assert keys == [
        f"/macvlan-ipam/{conf['name']}/attachments/ctr1/eth0",
        f"/macvlan-ipam/{conf['name']}/ips/010.010.000.002",
    ]
    assert run_plugin("ADD", conf).json == added.json
    check = run_plugin("CHECK", {**conf, "prevResult": added.json})
    assert (check.code, check.stdout) == (0, "")
    assert run_plugin("STATUS", conf).code == 0
    taken = run_plugin("ADD", conf, container="other", args="IP=10.10.0.2")
    assert taken.error_code == 111
    assert "reserved by container ctr1" in str(taken.json["msg"])
    gc = run_plugin("GC", {**conf, "cni.dev/valid-attachments": []})
    assert gc.code == 0
    assert run_plugin("DEL", conf).code == 0
    assert (
        etcd_server.etcdctl(
            "get", "--prefix", "--keys-only", f"/macvlan-ipam/{conf['name']}/"
        ).split()
        == []
    )


def test_memory_store_lives_in_the_agent(agent: Agent, tmp_path: Path) -> None:
    """One node, no external store: the agent's memory is the state."""
    conf = netconf({"type": "memory"}, tmp_path, agentSocket=str(agent.socket))
    first = run_plugin("ADD", conf, container="a").json["ips"]
    second = run_plugin("ADD", conf, container="b").json["ips"]
    assert first != second
    assert run_plugin("ADD", conf, container="a").json["ips"] == first


def test_thin_path_imports_no_store_client(
    agent: Agent, tmp_path: Path
) -> None:
    conf = netconf({"type": "memory"}, tmp_path, agentSocket=str(agent.socket))
    probe = (
        "import io, json, sys\n"
        "from macvlan_ipam.plugin.main import run\n"
        "from macvlan_ipam.plugin.services import ChosenService\n"
        "env = {'CNI_COMMAND': 'ADD', 'CNI_CONTAINERID': 'p',\n"
        "       'CNI_NETNS': '/x', 'CNI_IFNAME': 'eth0', 'CNI_PATH': '/x'}\n"
        "out = io.StringIO()\n"
        "code = run(env, io.BytesIO(sys.stdin.buffer.read()), out,\n"
        "           ChosenService())\n"
        "heavy = sorted(m for m in ('stevedore', 'grpc', 'pyetcd', 'redis',\n"
        "               'consul') if m in sys.modules)\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        input=json.dumps(conf).encode(),
        capture_output=True,
        check=True,
    )
    assert json.loads(done.stdout) == {"code": 0, "heavy": []}


def test_without_an_agent_the_call_runs_in_process(
    etcd_server: EtcdServer, tmp_path: Path
) -> None:
    missing = tmp_path / "no-agent.sock"
    conf = netconf(
        etcd_server.store_config(), tmp_path, agentSocket=str(missing)
    )
    added = run_plugin("ADD", conf)
    assert added.code == 0, added.stdout
    assert "node agent unavailable" in added.stderr
    assert run_plugin("DEL", conf).code == 0


def test_malformed_request_gets_an_error_reply(agent: Agent) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(agent.socket))
        sock.sendall(b'{"op": "add"}\n')
        reply = json.loads(sock.makefile("rb").readline())
    assert reply["error"]["code"] == 7
    assert "malformed request" in reply["error"]["msg"]


def test_socket_is_private_and_removed_on_sigterm(agent: Agent) -> None:
    assert oct(os.stat(agent.socket).st_mode & 0o777) == "0o600"
    agent.proc.send_signal(signal.SIGTERM)
    assert agent.proc.wait(10) == 0
    assert not agent.socket.exists()
