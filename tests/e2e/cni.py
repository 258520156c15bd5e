"""Calling CNI plugins by hand, the way a container runtime does."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from .system import CNI_DIR, PLUGIN, run

JSON = dict[str, object]

PLUGIN_TYPE = PLUGIN.name
SUBNET = ipaddress.IPv4Network("10.99.0.0/24")
VERSION = "1.0.0"


class CniFailure(RuntimeError):
    """A plugin exited non-zero; ``msg`` is its CNI error message."""

    def __init__(self, command: str, code: int, msg: str, stderr: str):
        super().__init__(f"CNI {command} failed ({code}): {msg}")
        self.code = code
        self.msg = msg
        self.stderr = stderr


def make_plugin_dir(path: Path) -> Path:
    """A CNI_PATH holding the reference plugins and the one under test."""
    path.mkdir(parents=True, exist_ok=True)
    for plugin in CNI_DIR.iterdir():
        (path / plugin.name).symlink_to(plugin)
    (path / PLUGIN.name).symlink_to(PLUGIN)
    return path


def call(
    plugin_dir: Path,
    command: str,
    conf: Mapping[str, object],
    container_id: str = "",
    netns: Path | None = None,
    ifname: str = "eth0",
    args: str = "",
) -> JSON | None:
    """Run the plugin ``conf["type"]``; return its result, if any."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": str(netns or ""),
        "CNI_IFNAME": ifname,
        "CNI_PATH": str(plugin_dir),
        "CNI_ARGS": args,
    }
    binary = plugin_dir / str(conf["type"])
    done = run([str(binary)], stdin=json.dumps(conf), env=env, check=False)
    if done.returncode != 0:
        try:
            error = json.loads(done.stdout)
        except ValueError:
            error = {"code": -1, "msg": done.stdout or done.stderr}
        raise CniFailure(
            command, int(error["code"]), str(error["msg"]), done.stderr
        )
    if not done.stdout.strip():
        return None
    result: JSON = json.loads(done.stdout)
    return result


def addresses(result: Mapping[str, object]) -> list[ipaddress.IPv4Interface]:
    ips = result["ips"]
    assert isinstance(ips, list)
    return [ipaddress.IPv4Interface(ip["address"]) for ip in ips]


def macvlan(network: str, master: str, ipam: Mapping[str, object]) -> JSON:
    """A single-plugin network config: macvlan in bridge mode."""
    return {
        "cniVersion": VERSION,
        "name": network,
        "type": "macvlan",
        "master": master,
        "mode": "bridge",
        "ipam": dict(ipam),
    }


def conflist(conf: Mapping[str, object]) -> JSON:
    """``conf`` as the plugin list a runtime reads from its config dir."""
    plugin = {k: v for k, v in conf.items() if k not in ("cniVersion", "name")}
    return {
        "cniVersion": conf["cniVersion"],
        "name": conf["name"],
        "plugins": [plugin],
    }


def host_local(data_dir: Path) -> JSON:
    return {
        "type": "host-local",
        "dataDir": str(data_dir),
        "ranges": [[{"subnet": str(SUBNET)}]],
    }


def shared_ipam(
    store: Mapping[str, object], data_dir: Path, node: str
) -> JSON:
    """The plugin under test, on the shared store."""
    return {
        "type": PLUGIN_TYPE,
        "store": dict(store),
        "ranges": [[{"subnet": str(SUBNET)}]],
        "dataDir": str(data_dir),
        "nodeName": node,
    }


def gc_conf(
    conf: Mapping[str, object], valid: Sequence[tuple[str, str]]
) -> JSON:
    """``conf`` for a CNI 1.1 GC that keeps the ``valid`` attachments."""
    return {
        **conf,
        "cniVersion": "1.1.0",
        "cni.dev/valid-attachments": [
            {"containerID": cid, "ifname": ifname} for cid, ifname in valid
        ],
    }
