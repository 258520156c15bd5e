"""podman with a configuration, storage and CNI dirs of the test's own.

Nothing under /etc/containers is read or written: CONTAINERS_CONF and
CONTAINERS_STORAGE_CONF point at files written here.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path

from .system import Result, run

IMAGE = "localhost/macvlan-ipam-e2e:latest"
#: Applets the test image links to the host's static busybox.
APPLETS = ("sh", "sleep", "ping", "ip", "arping", "cat")

_CONTAINERS_CONF = """\
[containers]
# The test machine lacks CAP_SYS_RESOURCE: stay under its limits.
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[network]
network_backend = "cni"
cni_plugin_dirs = ["{plugins}"]
network_config_dir = "{networks}"

[engine]
cgroup_manager = "cgroupfs"
# crun refuses this kind of host's cgroup layout; runc copes.
runtime = "runc"
events_logger = "none"
tmp_dir = "{tmp}"
"""

_STORAGE_CONF = """\
[storage]
driver = "vfs"
graphroot = "{graph}"
runroot = "{run}"
"""


class Podman:
    def __init__(self, root: Path, plugin_dir: Path) -> None:
        self.root = root
        self.networks = root / "networks"
        for sub in ("networks", "graph", "run", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        conf = root / "containers.conf"
        conf.write_text(
            _CONTAINERS_CONF.format(
                plugins=plugin_dir, networks=self.networks, tmp=root / "tmp"
            )
        )
        storage = root / "storage.conf"
        storage.write_text(
            _STORAGE_CONF.format(graph=root / "graph", run=root / "run")
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(conf),
            "CONTAINERS_STORAGE_CONF": str(storage),
        }

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> Result:
        return run(["podman", *args], env=self.env, check=check,
                   timeout=timeout)  # fmt: skip

    def import_image(self, busybox: Path) -> None:
        """A two-megabyte image: the host's static busybox and links."""
        tarball = self.root / "rootfs.tar"
        tarball.write_bytes(_rootfs(busybox))
        self("import", str(tarball), IMAGE)

    def add_network(self, filename: str, conf: Mapping[str, object]) -> Path:
        path = self.networks / filename
        path.write_text(json.dumps(conf, indent=2))
        return path

    def start(
        self, name: str, network: str, ip: str | None = None, *,
        check: bool = True,
    ) -> Result:  # fmt: skip
        """``podman run -d``: a container that sleeps until removed."""
        wanted = ["--ip", ip] if ip else []
        return self(
            "run", "-d", "--name", name, "--network", network, *wanted,
            "--cap-add", "NET_RAW", IMAGE, "sleep", "3600",
            check=check,
        )  # fmt: skip

    def exec(self, name: str, *argv: str, check: bool = True) -> Result:
        return self("exec", name, *argv, check=check)

    def address(self, name: str) -> ipaddress.IPv4Interface:
        done = self.exec(name, "ip", "-4", "-o", "addr", "show", "eth0")
        return ipaddress.IPv4Interface(done.stdout.split()[3])

    def container_id(self, name: str) -> str:
        return self("inspect", "--format", "{{.Id}}", name).stdout.strip()

    def unreachable(
        self, name: str, ips: list[ipaddress.IPv4Address]
    ) -> list[ipaddress.IPv4Address]:
        """Those of ``ips`` that ``name`` cannot ping."""
        loop = (
            "for ip in " + " ".join(map(str, ips)) + "; do "
            "ping -c1 -W1 $ip >/dev/null || echo $ip; done"
        )
        done = self.exec(name, "sh", "-c", loop)
        return [ipaddress.IPv4Address(w) for w in done.stdout.split()]

    def remove_all(self) -> None:
        self("rm", "--all", "--force", "--time", "0")


def _rootfs(busybox: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "etc", "tmp", "proc", "sys", "dev"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, "bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    return buffer.getvalue()
