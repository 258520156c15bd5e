"""The DaemonSet deployment: manifests, bundle, installer, installed plugin.

A real PyInstaller bundle is built once per session; the real
``deploy/install-cni`` installs it into temp dirs standing in for the
host; the installed wrapper then runs as a CNI runtime would run it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from macvlan_ipam.core.config import parse_ipam
from tests.servers.etcd import EtcdServer

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
INSTALLER = DEPLOY / "install-cni"
HOST_DIRS = ("CNI_BIN_DIR", "BUNDLE_ROOT", "CREDENTIALS_DIR", "CNI_NET_DIR")
NODE = "node-a.example"


def installer_defaults() -> dict[str, str]:
    """``NAME=${NAME:-default}`` lines: the settings install-cni reads."""
    found = re.findall(
        r"^([A-Z_]+)=\$\{\1:?-([^}]*)\}$", INSTALLER.read_text(), re.M
    )
    return dict(found)


def manifests() -> dict[str, Any]:
    """The documents of daemonset.yaml by kind (parsed YAML is untyped)."""
    docs = yaml.safe_load_all((DEPLOY / "daemonset.yaml").read_text())
    return {d["kind"]: d for d in docs if d}


def pod_spec() -> Any:
    return manifests()["DaemonSet"]["spec"]["template"]["spec"]


def container(name: str = "install-cni") -> Any:
    (found,) = [c for c in pod_spec()["containers"] if c["name"] == name]
    return found


# -- (a) the manifests match what the installer expects ----------------


def test_manifests_live_in_kube_system() -> None:
    docs = manifests()

    assert set(docs) == {"ConfigMap", "DaemonSet"}
    for doc in docs.values():
        assert doc["metadata"]["namespace"] == "kube-system"


def test_every_host_dir_the_installer_writes_is_a_host_path() -> None:
    defaults = installer_defaults()
    env = {e["name"]: e.get("value") for e in container()["env"]}
    mounts = {m["name"]: m for m in container()["volumeMounts"]}
    host_paths = {
        v["hostPath"]["path"]: v["name"]
        for v in pod_spec()["volumes"]
        if "hostPath" in v and v["name"] != "agent-run"
    }

    root = env["HOST_ROOT"]
    assert root == defaults["HOST_ROOT"]
    for setting in HOST_DIRS:
        path = env[setting]
        assert path == defaults[setting], setting
        volume = host_paths[path]
        assert mounts[volume]["mountPath"] == f"{root}{path}"
        assert not mounts[volume].get("readOnly")
    assert len(host_paths) == len(HOST_DIRS)


def test_container_sets_only_settings_the_installer_reads() -> None:
    defaults = installer_defaults()
    env = {e["name"]: e for e in container()["env"]}

    assert set(env) <= set(defaults)
    node = env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert node == "spec.nodeName"
    assert container()["command"] == ["/install-cni", "--sleep"]


def test_secret_and_config_are_mounted_where_the_installer_looks() -> None:
    defaults = installer_defaults()
    mounts = {m["name"]: m for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}
    secret = next(v for v in volumes.values() if "secret" in v)
    config = next(v for v in volumes.values() if "configMap" in v)
    source = Path(defaults["CNI_CONF_SOURCE"])

    assert mounts[secret["name"]]["mountPath"] == defaults["SECRET_SOURCE"]
    assert secret["secret"]["optional"] is True
    assert mounts[config["name"]]["mountPath"] == str(source.parent)
    data = manifests()["ConfigMap"]["data"]
    assert config["configMap"]["name"] == "macvlan-ipam-config"
    assert source.name in data


def test_example_network_reads_credentials_from_the_host_dir() -> None:
    defaults = installer_defaults()
    data = manifests()["ConfigMap"]["data"]
    conflist = json.loads(data[Path(defaults["CNI_CONF_SOURCE"]).name])
    ipam = conflist["plugins"][0]["ipam"]

    assert parse_ipam(conflist["name"], ipam).range_sets
    assert ipam["type"] == defaults["PLUGIN_NAME"]
    paths = list(ipam["store"]["tls"].values())
    assert paths
    for path in paths:
        assert path.startswith(defaults["CREDENTIALS_DIR"] + "/")


def test_pod_runs_on_every_node_with_least_privilege() -> None:
    pod = pod_spec()

    assert {"operator": "Exists"} in pod["tolerations"]
    assert pod["automountServiceAccountToken"] is False
    for name in ("install-cni", "agent"):
        security = container(name)["securityContext"]
        assert security["privileged"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert "memory" in container(name)["resources"]["limits"]


def test_agent_listens_where_the_example_network_points() -> None:
    defaults = installer_defaults()
    agent = container("agent")
    data = manifests()["ConfigMap"]["data"]
    conflist = json.loads(data[Path(defaults["CNI_CONF_SOURCE"]).name])
    socket_path = Path(conflist["plugins"][0]["ipam"]["agentSocket"])
    mounts = {m["name"]: m for m in agent["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec()["volumes"]}

    assert pod_spec()["hostNetwork"] is True
    assert agent["command"] == [
        f"{defaults['BUNDLE_SOURCE']}/macvlan-ipam",
        "agent",
        "--socket",
        str(socket_path),
    ]
    run = mounts["agent-run"]
    assert run["mountPath"] == str(socket_path.parent)
    assert volumes["agent-run"]["hostPath"]["path"] == str(socket_path.parent)
    creds = mounts["credentials"]
    assert creds["mountPath"] == defaults["CREDENTIALS_DIR"]
    assert creds["readOnly"] is True
    env = {e["name"]: e for e in agent["env"]}
    node = env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert node == "spec.nodeName"


def test_image_holds_bundle_and_installer_where_the_pod_expects() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    defaults = installer_defaults()

    assert f"pyinstaller=={version('pyinstaller')}" in text
    bundle = defaults["BUNDLE_SOURCE"]
    assert f"deploy/build-bundle {bundle}" in text
    assert f"COPY --from=build {bundle} {bundle}" in text
    assert "COPY deploy/install-cni /install-cni" in text
    assert 'ENTRYPOINT ["/install-cni"]' in text


# -- (b) the real bundle, installed and run as a plugin ----------------


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """deploy/build-bundle run once, from this test run's interpreter."""
    out = tmp_path_factory.mktemp("bundle") / "macvlan-ipam"
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ["PATH"],
        "PYTHON": sys.executable,
    }
    done = subprocess.run(
        [str(DEPLOY / "build-bundle"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@dataclass
class Host:
    """Temp dirs standing in for one node, and the installer's inputs."""

    root: Path
    bundle: Path
    secret: Path
    conf: Path

    def dir(self, setting: str) -> Path:
        return self.root / setting.lower()

    @property
    def wrapper(self) -> Path:
        return self.dir("CNI_BIN_DIR") / "macvlan-ipam-etcd"

    @property
    def bundles(self) -> Path:
        return self.dir("BUNDLE_ROOT") / "bundles"

    @property
    def credentials(self) -> Path:
        return self.dir("CREDENTIALS_DIR")

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOST_ROOT": "",
            **{s: str(self.dir(s)) for s in HOST_DIRS},
            "BUNDLE_SOURCE": str(self.bundle),
            "SECRET_SOURCE": str(self.secret),
            "CNI_CONF_SOURCE": str(self.conf),
            "CNI_CONF_NAME": "99-macvlan.conflist",
            "NODE_NAME": NODE,
            "HOSTNAME": "install-cni-test",
            **extra,
        }

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(INSTALLER), *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def install(self, *args: str, **env: str) -> str:
        """Run install-cni, which must succeed; return its log."""
        done = self.run(*args, **env)
        assert done.returncode == 0, done.stderr
        return done.stderr

    def refused(self, **env: str) -> str:
        """Run install-cni, which must fail; return its log."""
        done = self.run(**env)
        assert done.returncode != 0, done.stderr
        return done.stderr

    def with_bundle(self, bundle_id: str) -> Path:
        """The bundle under another BUNDLE_ID (an upgrade).

        Files are hard links to the session's bundle: unlink one before
        changing it.
        """
        copy = self.root / "images" / bundle_id
        shutil.copytree(
            self.bundle, copy, symlinks=True, copy_function=os.link
        )
        replace(copy / "BUNDLE_ID", bundle_id + "\n")
        return copy


def replace(path: Path, text: str) -> None:
    """Write ``path`` as a new file, never through a hard link."""
    path.unlink()
    path.write_text(text)


@pytest.fixture
def host(tmp_path_factory: pytest.TempPathFactory, bundle: Path) -> Host:
    # install-cni accepts only [A-Za-z0-9._/-] in paths.
    root = tmp_path_factory.mktemp("host")
    secret = secret_volume(root / "secret", etcd_password="not-real\n")
    conf = root / "macvlan.conflist"
    conf.write_text('{"cniVersion": "1.0.0", "name": "n", "plugins": []}')
    return Host(root, bundle, secret, conf)


def secret_volume(path: Path, **keys: str) -> Path:
    """A Secret as the kubelet mounts it: keys link into ``..data``."""
    data = path / "..2026_12_03_00_00_00.000000001"
    data.mkdir(parents=True)
    (path / "..data").symlink_to(data.name)
    for key, value in keys.items():
        name = key.replace("_", "-")
        (data / name).write_text(value)
        (path / name).symlink_to(f"..data/{name}")
    return path


def run_cni(
    plugin: Path, command: str, conf: dict[str, object] | None = None
) -> Any:
    """Run ``plugin`` with nothing but the CNI variables, as a runtime."""
    env = {
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": "ctr1",
        "CNI_NETNS": "/var/run/netns/test",
        "CNI_IFNAME": "net1",
        "CNI_PATH": str(plugin.parent),
    }
    done = subprocess.run(
        [str(plugin)],
        input=json.dumps(conf or {}).encode(),
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout) if done.stdout.strip() else {}


def network(store: dict[str, object], data_dir: Path) -> dict[str, object]:
    return {
        "cniVersion": "1.0.0",
        "name": "deploy-" + uuid.uuid4().hex[:8],
        "ipam": {
            "type": "macvlan-ipam-etcd",
            "store": store,
            "dataDir": str(data_dir),
            "ranges": [[{"subnet": "192.0.2.0/24"}]],
        },
    }


def test_installed_wrapper_answers_version(host: Host) -> None:
    host.install()

    reply = run_cni(host.wrapper, "VERSION")

    assert "1.0.0" in reply["supportedVersions"]
    text = host.wrapper.read_text()
    assert f"NODE_NAME='{NODE}'" in text
    assert str(host.bundles) in text


def test_wrapper_names_host_paths_not_the_pods_mount(
    host: Host, tmp_path_factory: pytest.TempPathFactory
) -> None:
    mount = tmp_path_factory.mktemp("mount")
    defaults = installer_defaults()
    env = {s: defaults[s] for s in HOST_DIRS}

    host.install(HOST_ROOT=str(mount), **env)

    wrapper = mount / "opt/cni/bin/macvlan-ipam-etcd"
    bundle_id = (host.bundle / "BUNDLE_ID").read_text().strip()
    exe = f"/opt/cni/macvlan-ipam/bundles/{bundle_id}/macvlan-ipam"
    assert f"exec '{exe}' \"$@\"" in wrapper.read_text()
    assert (mount / exe.lstrip("/")).is_file()


def test_installed_plugin_allocates_from_the_memory_store(
    host: Host,
) -> None:
    host.install()
    conf = network({"type": "memory"}, host.root / "data")

    result = run_cni(host.wrapper, "ADD", conf)
    run_cni(host.wrapper, "DEL", conf)

    ips = result["ips"]
    assert isinstance(ips, list) and ips[0]["address"].startswith("192.0.2.")


@pytest.mark.etcd
def test_installed_plugin_reaches_etcd_with_installed_credentials(
    host: Host, etcd_rbac_server: EtcdServer
) -> None:
    server = etcd_rbac_server
    tls = server.config["tls"]
    assert isinstance(tls, dict) and server.password
    shutil.copy(tls["ca"], host.secret / "etcd-ca.crt")
    (host.secret / "etcd-password").write_text(server.password + "\n")
    host.install()
    creds = host.credentials
    store = server.store_config(
        password=None,
        passwordFile=str(creds / "etcd-password"),
        tls={"ca": str(creds / "etcd-ca.crt")},
    )
    conf = network(store, host.root / "data")
    held = f"/macvlan-ipam/{conf['name']}/attachments/"

    result = run_cni(host.wrapper, "ADD", conf)
    record = server.etcdctl("get", "--prefix", held)
    run_cni(host.wrapper, "DEL", conf)

    assert result["ips"]
    assert f'"node":"{NODE}"' in record
    assert server.etcdctl("get", "--prefix", held).strip() == ""
    assert stat.S_IMODE(creds.stat().st_mode) == 0o700
    for name in ("etcd-ca.crt", "etcd-password"):
        assert not (creds / name).is_symlink()
        assert stat.S_IMODE((creds / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in creds.iterdir()) == [
        ".installed-by-install-cni",
        "etcd-ca.crt",
        "etcd-password",
    ]


# -- (c) reruns, upgrades, failures ------------------------------------


def snapshot(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every file under ``root``: inode, mode, mtime and content hash."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path)] = (st.st_ino, st.st_mode, st.st_mtime_ns, digest)
    return found


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp." in p.name]


def test_rerun_changes_nothing(host: Host) -> None:
    host.install()
    host_dirs = [host.dir(s) for s in HOST_DIRS]
    before = [snapshot(d) for d in host_dirs]

    second = host.install()

    assert [snapshot(d) for d in host_dirs] == before
    assert "wrote" not in second
    assert leftovers(host.root) == []


def test_upgrade_renames_a_new_wrapper_over_the_old(host: Host) -> None:
    host.install()
    old = host.wrapper.stat().st_ino
    old_id = host.bundle.joinpath("BUNDLE_ID").read_text().strip()
    upgrade = host.with_bundle("9.9.9-upgrade")

    host.install(BUNDLE_SOURCE=str(upgrade))

    assert host.wrapper.stat().st_ino != old
    assert "/bundles/9.9.9-upgrade/" in host.wrapper.read_text()
    assert {p.name for p in host.bundles.iterdir()} == {
        old_id,
        "9.9.9-upgrade",
    }
    assert run_cni(host.wrapper, "VERSION")["supportedVersions"]
    assert leftovers(host.root) == []


def test_readers_never_see_a_partial_wrapper(host: Host) -> None:
    images = [host.bundle, host.with_bundle("9.9.9-other")]
    seen: list[str] = []
    done = threading.Event()

    def read_wrapper() -> None:
        while not done.is_set():
            with contextlib.suppress(FileNotFoundError):
                seen.append(host.wrapper.read_text())

    reader = threading.Thread(target=read_wrapper)
    reader.start()
    try:
        for n in range(20):
            host.install(BUNDLE_SOURCE=str(images[n % 2]))
    finally:
        done.set()
        reader.join()

    assert len(seen) > 20
    tail = '/macvlan-ipam\' "$@"\n'
    assert all(text.endswith(tail) for text in seen)
    assert leftovers(host.root) == []


def test_only_the_newest_bundles_are_kept(host: Host) -> None:
    for n in range(3):
        host.install(BUNDLE_SOURCE=str(host.with_bundle(f"0.0.{n}-x")))
        time.sleep(0.02)  # distinct mtimes order the installs

    assert {p.name for p in host.bundles.iterdir()} == {"0.0.1-x", "0.0.2-x"}


def test_a_broken_bundle_never_replaces_the_working_one(host: Host) -> None:
    host.install()
    before = snapshot(host.dir("CNI_BIN_DIR"))
    broken = host.with_bundle("9.9.9-broken")
    replace(broken / "macvlan-ipam", "#!/bin/sh\nexit 1\n")

    log = host.refused(BUNDLE_SOURCE=str(broken))

    assert "does not run" in log
    assert snapshot(host.dir("CNI_BIN_DIR")) == before
    assert not (host.bundles / "9.9.9-broken").exists()
    assert leftovers(host.root) == []
    assert run_cni(host.wrapper, "VERSION")["supportedVersions"]


def test_credentials_follow_the_secret(host: Host) -> None:
    mine = host.credentials / "admin-notes"
    host.install()
    mine.write_text("not the installer's")
    (host.secret / "etcd-password").unlink()
    (host.secret / "redis-password").write_text("rotated\n")

    host.install()

    assert not (host.credentials / "etcd-password").exists()
    assert (host.credentials / "redis-password").read_text() == "rotated\n"
    assert mine.exists()


def test_unsafe_node_name_is_refused_before_writing(host: Host) -> None:
    log = host.refused(NODE_NAME="x';reboot;'")

    assert "NODE_NAME" in log
    assert not host.wrapper.exists()


def test_uninstall_removes_only_what_install_wrote(host: Host) -> None:
    host.install()
    other = host.dir("CNI_BIN_DIR") / "macvlan"
    other.write_text("another plugin")

    host.install("--uninstall")

    assert not host.wrapper.exists()
    assert not host.dir("BUNDLE_ROOT").exists()
    assert not host.credentials.exists()
    assert not (host.dir("CNI_NET_DIR") / "99-macvlan.conflist").exists()
    assert other.exists()


@pytest.fixture
def sleeping(host: Host) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [str(INSTALLER), "--sleep"],
        env=host.env(RESYNC_SECONDS="0.1"),
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_sleep_mode_resyncs_and_stops_on_sigterm(
    host: Host, sleeping: subprocess.Popen[str]
) -> None:
    installed = host.credentials / "etcd-password"
    wait_for(lambda: host.wrapper.exists() and installed.exists())

    (host.secret / "etcd-password").write_text("rotated\n")
    wait_for(lambda: installed.read_text() == "rotated\n")
    sleeping.send_signal(signal.SIGTERM)

    assert sleeping.wait(10) == 0


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_bundled_agent_serves_the_installed_wrapper(
    host: Host, tmp_path_factory: pytest.TempPathFactory
) -> None:
    host.install()
    run = tmp_path_factory.mktemp("run")
    socket_path = run / "agent.sock"
    agent = subprocess.Popen(
        [
            str(host.bundle / "macvlan-ipam"),
            "agent",
            "--socket",
            str(socket_path),
        ],
    )
    try:
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            assert agent.poll() is None, "the bundled agent exited"
            assert time.monotonic() < deadline, "the agent did not start"
            time.sleep(0.05)
        conf = network({"type": "memory"}, host.root / "data")
        conf["ipam"]["agentSocket"] = str(socket_path)  # type: ignore[index]

        first = run_cni(host.wrapper, "ADD", conf)
        again = run_cni(host.wrapper, "ADD", conf)
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(10) == 0

    # The memory store lives in the agent: state outlived each call.
    assert again == first
    assert first["ips"][0]["address"] == "192.0.2.2/24"
