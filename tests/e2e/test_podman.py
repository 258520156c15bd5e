"""podman (CNI backend) with macvlan and this plugin.

Host A is podman's: its macvlan master is one end of the cable.  Host
B, on the other end, runs containers by direct CNI calls.  Both share
one network name, one etcd and one range.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers.etcd import EtcdServer

from . import cni
from .etcdkeys import address_keys, network_keys
from .lab import Host, Lab
from .podman import Podman

pytestmark = [pytest.mark.e2e, pytest.mark.podman, pytest.mark.etcd]

GO_CONFIG = Path(__file__).parent / "data" / "10-macvlan-etcd.conf"
#: Default dataDir of the plugin: the Go config names none.
DEFAULT_DATA_DIR = Path("/var/lib/cni/macvlan-ipam")


@dataclass
class PodmanNet:
    network: str
    conf: dict[str, object]  # podman's side, as a single-plugin config
    podman: Podman
    host_b: Host
    lab: Lab
    url: str  # etcd's

    def run(self, label: str, ip: str | None = None) -> str:
        """Start a podman container; return its name."""
        name = self.lab.name(label)
        self.podman.start(name, self.network, ip)
        return name

    def keys(self) -> list[str]:
        return network_keys(self.url, self.network)


@pytest.fixture
def net(lab: Lab, podman: Podman, etcd_server: EtcdServer) -> PodmanNet:
    network = lab.name("pm")
    cable = lab.segment()
    store = etcd_server.store_config()

    def conf(master: str, node: str) -> dict[str, object]:
        ipam = cni.shared_ipam(store, lab.tmp / node, lab.name(node))
        return cni.macvlan(network, master, ipam)

    podman_side = conf(cable.a, "a")
    podman.add_network(f"{network}.conflist", cni.conflist(podman_side))
    host_b = lab.host(conf(cable.b, "b"))
    return PodmanNet(
        network, podman_side, podman, host_b, lab, etcd_server.url
    )


def test_podman_and_direct_containers_share_the_pool(net: PodmanNet) -> None:
    podman = net.podman
    names = [net.run(f"p{i}") for i in range(3)]
    on_b = [net.host_b.start(f"b{i}") for i in range(3)]

    podman_ips = [podman.address(n).ip for n in names]
    everyone = podman_ips + [c.ip for c in on_b]
    assert len(set(everyone)) == len(everyone)

    for name, ip in zip(names, podman_ips, strict=True):
        others = [o for o in everyone if o != ip]
        assert podman.unreachable(name, others) == []
    for c in on_b:
        assert c.netns.unreachable(podman_ips) == []

    podman.remove_all()
    for c in on_b:
        c.stop()
    assert net.keys() == []


def test_requested_address_is_granted_then_refused_while_held(
    net: PodmanNet,
) -> None:
    wanted = "10.99.0.77"
    holder = net.run("want1", ip=wanted)
    assert net.podman.address(holder).ip == ipaddress.ip_address(wanted)

    second = net.podman.start(
        net.lab.name("want2"), net.network, wanted, check=False
    )

    assert second.returncode != 0
    holder_id = net.podman.container_id(holder)
    assert (
        f"requested address {wanted} is already reserved by container "
        f"{holder_id}" in second.stderr
    )


@pytest.fixture
def go_conf(lab: Lab, etcd_server: EtcdServer) -> Iterator[dict[str, Any]]:
    """The Go project's config file with our etcd port; the caller sets
    ``master``.  Removes the cursors the plugin keeps in its default
    dataDir, since this config names none."""
    conf = json.loads(GO_CONFIG.read_text())
    conf["ipam"]["etcdConfig"]["etcdURL"] = etcd_server.url
    data_dir = DEFAULT_DATA_DIR / conf["name"]
    fresh = [p for p in (DEFAULT_DATA_DIR, data_dir) if not p.exists()]
    try:
        yield conf
    finally:
        for path in reversed(fresh):
            shutil.rmtree(path, ignore_errors=True)


def test_go_project_config_works_unchanged(
    go_conf: dict[str, Any], lab: Lab, podman: Podman, etcd_server: EtcdServer
) -> None:
    """Host A: podman, which reads only plugin lists, so the config is
    wrapped in one.  Host B: the file as libcni hands it to macvlan."""
    cable = lab.segment()
    network = go_conf["name"]
    podman.add_network(
        f"{network}.conflist", cni.conflist({**go_conf, "master": cable.a})
    )
    host_b = lab.host({**go_conf, "master": cable.b})

    name = lab.name("go-a")
    podman.start(name, network)
    on_b = host_b.start("go-b")

    on_a = podman.address(name)
    assert on_a != on_b.address
    pool = ipaddress.ip_network("10.22.0.0/16")
    assert on_a.network == on_b.address.network == pool
    assert podman.unreachable(name, [on_b.ip]) == []
    assert on_b.netns.unreachable([on_a.ip]) == []

    podman.remove_all()
    on_b.stop()
    assert network_keys(etcd_server.url, network) == []


@pytest.mark.parametrize("outage", ["paused", "stopped"])
def test_store_outage_fails_the_start_visibly_and_leaks_nothing(
    net: PodmanNet, etcd_server: EtcdServer, outage: str
) -> None:
    survivor = net.run("s1")
    before = net.keys()
    server = etcd_server.process

    (server.pause if outage == "paused" else server.stop)()
    try:
        failed = net.podman.start(net.lab.name("s2"), net.network, check=False)
    finally:
        (server.resume if outage == "paused" else server.start)()

    assert failed.returncode != 0
    assert f"etcd {etcd_server.url}" in failed.stderr
    assert net.keys() == before
    assert survivor in net.podman("ps", "--format", "{{.Names}}").stdout
    net.run("s3")  # the store is back: starts work again


def test_gc_reclaims_an_address_never_released(net: PodmanNet) -> None:
    live = net.run("live")
    live_id = net.podman.container_id(live)
    ipam_only = {**net.conf, "type": cni.PLUGIN_TYPE}
    # A container that died with its node: ADD ran, DEL never will.
    ghost_id = net.lab.name("ghost")
    ghost = cni.call(
        net.lab.plugin_dir, "ADD", ipam_only, ghost_id,
        Path("/nonexistent/netns"),
    )  # fmt: skip
    assert ghost is not None
    (lost,) = cni.addresses(ghost)
    assert len(address_keys(net.url, net.network)) == 2

    valid = [(live_id, "eth0")]
    cni.call(net.lab.plugin_dir, "GC", cni.gc_conf(ipam_only, valid))

    remaining = net.keys()
    assert len(address_keys(net.url, net.network)) == 1
    assert [k for k in remaining if ghost_id in k] == []
    assert [k for k in remaining if live_id in k] != []
    again = net.run("again", ip=str(lost.ip))
    assert net.podman.address(again) == lost


def test_gc_on_one_host_spares_the_other_hosts_containers(
    net: PodmanNet,
) -> None:
    live_id = net.podman.container_id(net.run("mine"))
    on_b = net.host_b.start("theirs")
    ipam_only = {**net.conf, "type": cni.PLUGIN_TYPE}

    # podman on host A knows only its own containers.
    valid = [(live_id, "eth0")]
    cni.call(net.lab.plugin_dir, "GC", cni.gc_conf(ipam_only, valid))

    remaining = net.keys()
    assert [k for k in remaining if on_b.id in k] != []
