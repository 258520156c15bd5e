"""The CNI IPAM executables compared, and how to configure and fill each.

Ours and host-local are always measured; a third one joins when
``BENCH_PEER_PATH`` names it and ``BENCH_PEER_CONFIG`` names a network
config template with ``{name}``, ``{subnet}`` and ``{dataDir}``
placeholders.  ``BENCH_PEER_FILL=host-local`` says that its data dir is
laid out like host-local's, so it can be filled the same way; otherwise
it is measured on an empty pool only.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from macvlan_ipam.core.config import IpamConfig, parse_ipam
from macvlan_ipam.core.kv import KVStore

from .fill import Filler, HostLocalFiller, StoreFiller

CNI_VERSION = "1.0.0"  # the newest that Debian's host-local speaks
HOST_LOCAL = "/usr/lib/cni/host-local"
OURS = str(Path(sys.executable).parent / "macvlan-ipam-etcd")
AGENT = str(Path(sys.executable).parent / "macvlan-ipam-agent")
AGENT_NAME = "macvlan-ipam via agent"

Conf = dict[str, object]


@dataclass
class Implementation:
    name: str
    path: str

    @property
    def slug(self) -> str:
        """The name as it may appear in a network name."""
        return "".join(c if c.isalnum() else "-" for c in self.name.lower())

    def conf(
        self, network: str, subnet: str, workdir: Path, node: str
    ) -> Conf:
        raise NotImplementedError

    def filler(
        self,
        conf: Conf,
        workdir: Path,
        seed: int,
        store: KVStore,
    ) -> Filler | None:
        """How to fill the pool ``conf`` describes, if it can be."""
        return None


@dataclass
class Ours(Implementation):
    store: Mapping[str, object]

    def conf(
        self, network: str, subnet: str, workdir: Path, node: str
    ) -> Conf:
        ipam = {
            "type": "macvlan-ipam-etcd",
            "ranges": [[{"subnet": subnet}]],
            "store": dict(self.store),
            "dataDir": str(workdir / "nodes" / node),
            "nodeName": node,
        }
        return {"cniVersion": CNI_VERSION, "name": network, "ipam": ipam}

    def filler(
        self, conf: Conf, workdir: Path, seed: int, store: KVStore
    ) -> Filler:
        return StoreFiller(store, ipam_config(conf), seed)


@dataclass
class OursViaAgent(Ours):
    """Ours, each call served by the node agent over its socket."""

    agent_socket: str = ""

    def conf(
        self, network: str, subnet: str, workdir: Path, node: str
    ) -> Conf:
        conf = super().conf(network, subnet, workdir, node)
        ipam = conf["ipam"]
        assert isinstance(ipam, dict)
        ipam["agentSocket"] = self.agent_socket
        return conf


@dataclass
class HostLocal(Implementation):
    def conf(
        self, network: str, subnet: str, workdir: Path, node: str
    ) -> Conf:
        ipam = {
            "type": "host-local",
            "ranges": [[{"subnet": subnet}]],
            "dataDir": str(workdir / "host-local"),
        }
        return {"cniVersion": CNI_VERSION, "name": network, "ipam": ipam}

    def filler(
        self, conf: Conf, workdir: Path, seed: int, store: KVStore
    ) -> Filler:
        config = ipam_config(conf)
        ipam = conf["ipam"]
        assert isinstance(ipam, dict)
        directory = Path(str(ipam["dataDir"])) / config.network
        return HostLocalFiller(directory, config.range_sets[0], seed)


@dataclass
class Peer(Implementation):
    template: str
    fill_like_host_local: bool

    def conf(
        self, network: str, subnet: str, workdir: Path, node: str
    ) -> Conf:
        text = (
            self.template.replace("{name}", network)
            .replace("{subnet}", subnet)
            .replace("{dataDir}", str(workdir / "peer"))
        )
        conf = json.loads(text)
        conf.setdefault("name", network)
        conf.setdefault("cniVersion", CNI_VERSION)
        assert isinstance(conf, dict)
        return conf

    def filler(
        self, conf: Conf, workdir: Path, seed: int, store: KVStore
    ) -> Filler | None:
        if not self.fill_like_host_local:
            return None
        config = ipam_config(conf)
        directory = workdir / "peer" / config.network
        return HostLocalFiller(directory, config.range_sets[0], seed)


def implementations(
    store: Mapping[str, object], agent_socket: Path
) -> list[Implementation]:
    found: list[Implementation] = [
        Ours("macvlan-ipam", OURS, store),
        OursViaAgent(AGENT_NAME, OURS, store, str(agent_socket)),
        HostLocal("host-local", HOST_LOCAL),
    ]
    peer = os.environ.get("BENCH_PEER_PATH")
    if peer:
        template = Path(os.environ["BENCH_PEER_CONFIG"]).read_text()
        name = os.environ.get("BENCH_PEER_NAME") or Path(peer).name
        like = os.environ.get("BENCH_PEER_FILL") == "host-local"
        found.append(Peer(name, peer, template, like))
    return found


def ipam_config(conf: Conf) -> IpamConfig:
    ipam = conf["ipam"]
    assert isinstance(ipam, dict)
    return parse_ipam(str(conf["name"]), ipam)
