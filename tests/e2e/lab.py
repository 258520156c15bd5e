"""What one test builds: namespaces, cables and hosts, torn down after.

A simulated host is a macvlan master (one end of a veth pair) with its
own network config: its own ``dataDir``, and for the shared store its
own ``nodeName``.  Both ends of the cable stay in the root namespace so
that the plugin chain runs there and reaches etcd on loopback; only
the containers get namespaces of their own.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import cni
from .netns import Netns, VethPair

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Container:
    id: str
    netns: Netns
    address: ipaddress.IPv4Interface
    host: Host = field(repr=False)
    ifname: str = "eth0"

    @property
    def ip(self) -> ipaddress.IPv4Address:
        return self.address.ip

    def stop(self) -> None:
        self.host.stop(self)


class Lab:
    def __init__(self, token: str, tmp: Path, plugin_dir: Path) -> None:
        self.token = token
        self.tmp = tmp
        self.plugin_dir = plugin_dir
        self._cleanup = contextlib.ExitStack()

    def name(self, label: str) -> str:
        """A name unique to this test run, for netns, ids and networks."""
        return f"e2e-{self.token}-{label}"

    def segment(self) -> VethPair:
        pair = VethPair.create(f"v{self.token}a", f"v{self.token}b")
        self._cleanup.callback(pair.delete)
        return pair

    def netns(self, label: str) -> Netns:
        netns = Netns.create(self.name(label))
        self._cleanup.callback(netns.delete)
        return netns

    def host(self, conf: Mapping[str, object]) -> Host:
        return Host(self, conf)

    def defer(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` at teardown, before what was made earlier
        is removed."""
        self._cleanup.callback(callback)

    def close(self) -> None:
        self._cleanup.close()


class Host:
    """Starts containers on one master with one network config."""

    def __init__(self, lab: Lab, conf: Mapping[str, object]) -> None:
        self.lab = lab
        self.conf = dict(conf)
        self.live: set[str] = set()

    def start(self, label: str) -> Container:
        """A new netns, attached with CNI ADD."""
        netns = self.lab.netns(label)
        container_id = self.lab.name(label)
        self.live.add(container_id)
        self.lab.defer(lambda: self._forget(container_id, netns))
        result = cni.call(
            self.lab.plugin_dir, "ADD", self.conf, container_id, netns.path
        )
        assert result is not None
        (address,) = cni.addresses(result)
        return Container(container_id, netns, address, self)

    def stop(self, container: Container) -> None:
        """CNI DEL, then remove the namespace."""
        self.delete(container.id, container.netns)
        container.netns.delete()

    def delete(self, container_id: str, netns: Netns) -> None:
        cni.call(self.lab.plugin_dir, "DEL", self.conf, container_id,
                 netns.path)  # fmt: skip
        self.live.discard(container_id)

    def _forget(self, container_id: str, netns: Netns) -> None:
        """Finalizer: DEL whatever a test left, never raising."""
        if container_id not in self.live:
            return
        try:
            self.delete(container_id, netns)
        except Exception as exc:
            LOG.warning("cleanup DEL of %s failed: %s", container_id, exc)
