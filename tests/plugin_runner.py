"""Running the installed CNI executable the way a runtime does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

PLUGIN = Path(sys.executable).with_name("macvlan-ipam-etcd")


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, object]:
        """stdout must be exactly one JSON document."""
        doc = json.loads(self.stdout)
        assert isinstance(doc, dict)
        return doc

    @property
    def error_code(self) -> object:
        assert self.code != 0, f"expected failure, got {self.stdout}"
        return self.json["code"]


def run_plugin(
    command: str,
    conf: dict[str, object] | str | None,
    container: str = "ctr1",
    ifname: str = "eth0",
    args: str = "",
    timeout: float = 30,
    **env: str,
) -> Outcome:
    environ = {
        "PATH": os.environ["PATH"],
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container,
        "CNI_NETNS": "/var/run/netns/test",
        "CNI_IFNAME": ifname,
        "CNI_PATH": "/usr/lib/cni",
        "CNI_ARGS": args,
        **env,
    }
    data = conf if isinstance(conf, str) else json.dumps(conf or {})
    done = subprocess.run(
        [str(PLUGIN)],
        input=data.encode(),
        env={k: v for k, v in environ.items() if v != "-"},
        capture_output=True,
        timeout=timeout,
    )
    return Outcome(done.returncode, done.stdout.decode(), done.stderr.decode())


def netconf(
    store: dict[str, object],
    data_dir: Path,
    version: str = "1.1.0",
    name: str | None = None,
    **ipam: object,
) -> dict[str, object]:
    """A network config for this plugin, with a fresh network name."""
    body: dict[str, object] = {
        "type": "macvlan-ipam-etcd",
        "store": store,
        "dataDir": str(data_dir),
        "ranges": [[{"subnet": "10.10.0.0/24"}]],
    }
    body.update(ipam)
    return {
        "cniVersion": version,
        "name": name or f"net-{uuid.uuid4().hex[:8]}",
        "ipam": body,
    }
