"""The fix: macvlan with this plugin on the same two hosts, one etcd.

The plugin chain runs as a runtime would run it: macvlan executed with
CNI_* variables, delegating to the plugin, in namespaces made here.
"""

from __future__ import annotations

import itertools

import pytest

from tests.servers.etcd import EtcdServer

from . import cni
from .etcdkeys import network_keys
from .lab import Container, Host, Lab
from .system import parallel

pytestmark = [pytest.mark.e2e, pytest.mark.etcd]

MANY = 20


def two_hosts(lab: Lab, store: dict[str, object], network: str) -> list[Host]:
    """Hosts ``a`` and ``b`` on one cable, sharing ``store``."""
    cable = lab.segment()
    return [
        lab.host(
            cni.macvlan(
                network,
                master,
                cni.shared_ipam(store, lab.tmp / node, f"{lab.token}{node}"),
            )
        )
        for node, master in (("a", cable.a), ("b", cable.b))
    ]


def assert_all_reach_all(containers: list[Container]) -> None:
    def misses(c: Container) -> list[str]:
        others = [o.ip for o in containers if o is not c]
        return [f"{c.ip}->{ip}" for ip in c.netns.unreachable(others)]

    assert list(itertools.chain(*parallel(misses, containers))) == []


def test_distinct_reachable_and_released(
    lab: Lab, etcd_server: EtcdServer
) -> None:
    network = lab.name("two")
    host_a, host_b = two_hosts(lab, etcd_server.store_config(), network)

    on_a = [host_a.start("a1"), host_a.start("a2")]
    on_b = [host_b.start("b1"), host_b.start("b2")]
    everyone = on_a + on_b

    assert len({c.ip for c in everyone}) == len(everyone)
    assert all(c.ip in cni.SUBNET for c in everyone)
    duplicates = parallel(
        lambda c: c.netns.duplicate_on_segment(c.ip), everyone
    )
    assert not any(duplicates)
    assert_all_reach_all(everyone)

    parallel(Container.stop, everyone)
    assert network_keys(etcd_server.url, network) == []


def test_many_containers_started_at_once(
    lab: Lab, etcd_server: EtcdServer
) -> None:
    network = lab.name("many")
    hosts = two_hosts(lab, etcd_server.store_config(), network)
    plan = [(hosts[i % 2], f"m{i:02d}") for i in range(MANY)]

    started = parallel(lambda p: p[0].start(p[1]), plan)

    assert len({c.ip for c in started}) == MANY
    assert_all_reach_all(started)

    parallel(Container.stop, started)
    assert network_keys(etcd_server.url, network) == []
