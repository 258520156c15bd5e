"""Running commands, and checking this machine can run the suite.

Every prerequisite is a Debian package; a missing one fails the suite
with the package name, it never skips a test.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

LOG = logging.getLogger(__name__)

CNI_DIR = Path("/usr/lib/cni")
#: The plugin under test: the console script next to this interpreter.
PLUGIN = Path(sys.executable).parent / "macvlan-ipam-etcd"

#: binary -> the Debian package that ships it.
BINARIES = {
    "ip": "iproute2",
    "busybox": "busybox-static",
    "podman": "podman",
    "runc": "runc",
    "conmon": "conmon",
    "etcd": "etcd-server",
    "etcdctl": "etcd-client",
}
CNI_PLUGINS = ("macvlan", "host-local")
APT_PACKAGES = sorted({*BINARIES.values(), "containernetworking-plugins"})


T = TypeVar("T")
R = TypeVar("R")
Result = subprocess.CompletedProcess[str]


class CommandFailed(RuntimeError):
    def __init__(self, argv: Sequence[str], done: Result) -> None:
        super().__init__(
            f"{' '.join(argv)} exited with {done.returncode}\n"
            f"stdout: {done.stdout.strip()}\nstderr: {done.stderr.strip()}"
        )
        self.result = done


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Result:
    """Run ``argv``; raise ``CommandFailed`` on a non-zero exit if
    ``check``."""
    LOG.debug("run %s", argv)
    done = subprocess.run(
        list(argv),
        input=stdin,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise CommandFailed(argv, done)
    return done


def require_e2e_machine() -> None:
    """Raise ``RuntimeError`` naming everything the suite lacks."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (namespaces, macvlan, podman)")
    for binary, package in BINARIES.items():
        if shutil.which(binary) is None:
            problems.append(f"{binary} missing (Debian package {package})")
    for plugin in CNI_PLUGINS:
        if not (CNI_DIR / plugin).is_file():
            problems.append(
                f"{CNI_DIR / plugin} missing "
                "(Debian package containernetworking-plugins)"
            )
    if not PLUGIN.is_file():
        problems.append(f"{PLUGIN} missing (pip install -e . in the venv)")
    if problems:
        raise RuntimeError(
            "the end-to-end suite cannot run: "
            + "; ".join(problems)
            + ". Run scripts/setup-system as root."
        )


def parallel(
    work: Callable[[T], R], items: Iterable[T], workers: int = 20
) -> list[R]:
    """``work`` over ``items`` in threads, results in order."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, items))
