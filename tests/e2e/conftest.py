"""Fixtures of the end-to-end suite: namespaces, hosts and podman.

Needs root and the Debian packages in ``system.APT_PACKAGES``; fails,
never skips, without them.  Everything a test creates is removed by
the fixture that created it, also when the test fails.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cni import make_plugin_dir
from .lab import Lab
from .podman import Podman
from .system import require_e2e_machine

#: Paths podman may create outside its configured dirs; removed at the
#: end when they did not exist before (blob cache, SHM lock table).
PODMAN_LEFTOVERS = (Path("/var/lib/containers"), Path("/dev/shm/libpod_lock"))

_RUN = secrets.token_hex(2)
_TESTS = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def e2e_machine() -> None:
    require_e2e_machine()


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_plugin_dir(tmp_path_factory.mktemp("cni") / "bin")


@pytest.fixture
def lab(tmp_path: Path, plugin_dir: Path) -> Iterator[Lab]:
    lab = Lab(f"{_RUN}{next(_TESTS):02d}", tmp_path, plugin_dir)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="session")
def podman_session(
    tmp_path_factory: pytest.TempPathFactory, plugin_dir: Path
) -> Iterator[Podman]:
    fresh = [p for p in PODMAN_LEFTOVERS if not p.exists()]
    podman = Podman(tmp_path_factory.mktemp("podman"), plugin_dir)
    try:
        busybox = shutil.which("busybox")
        assert busybox is not None
        podman.import_image(Path(busybox))
        yield podman
    finally:
        podman.remove_all()
        podman("rmi", "--all", "--force", check=False)
        shutil.rmtree(podman.root, ignore_errors=True)
        for path in fresh:
            with contextlib.suppress(FileNotFoundError):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()


@pytest.fixture
def podman(podman_session: Podman) -> Iterator[Podman]:
    """The session's podman; every container and network config the
    test made is removed after it."""
    before = set(podman_session.networks.iterdir())
    try:
        yield podman_session
    finally:
        podman_session.remove_all()
        for path in set(podman_session.networks.iterdir()) - before:
            path.unlink()
