"""Running one CNI plugin command as a process, timed, with its peak RSS.

A small reaper process (``reap.py``) starts the plugin and measures it,
so neither the fork from this large process nor the interpreter start
of the reaper is counted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CNI_PATH = "/usr/lib/cni"
REAPER = [sys.executable, "-S", "-I", str(Path(__file__).with_name("reap.py"))]


@dataclass(frozen=True)
class Invocation:
    seconds: float
    #: The process's own peak resident set size (VmHWM), in KiB.
    max_rss_kib: int
    code: int
    #: What the reaper itself held: a floor under ``max_rss_kib``.
    floor_kib: int
    stdout: bytes
    stderr: bytes

    def result(self) -> dict[str, object]:
        """The JSON on stdout; raises unless the command succeeded."""
        if self.code != 0:
            raise RuntimeError(
                f"plugin failed ({self.code}): "
                f"{self.stdout.decode(errors='replace')} "
                f"{self.stderr.decode(errors='replace')[-500:]}"
            )
        body = json.loads(self.stdout) if self.stdout.strip() else {}
        assert isinstance(body, dict)
        return body


def invoke(
    path: str,
    command: str,
    container_id: str,
    conf: Mapping[str, object],
    ifname: str = "eth0",
) -> Invocation:
    """Run ``path`` once as the runtime would, and wait for it."""
    env = _environ(command, container_id, ifname)
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        stdin.write(json.dumps(conf).encode())
        stdin.seek(0)
        subprocess.run(
            [*REAPER, report.name, path],
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            env=env,
            check=True,
        )
        seconds, rss, code, floor = report.read().split()
        stdout.seek(0)
        stderr.seek(0)
        return Invocation(
            float(seconds),
            int(rss),
            int(code),
            int(floor),
            stdout.read(),
            stderr.read(),
        )


def run_quietly(
    path: str, command: str, container_id: str, conf: Mapping[str, object]
) -> int:
    """Run ``path`` once without measuring it; returns the exit code."""
    return subprocess.run(
        [path],
        input=json.dumps(conf).encode(),
        capture_output=True,
        env=_environ(command, container_id, "eth0"),
        check=False,
    ).returncode


def _environ(command: str, container_id: str, ifname: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": container_id,
        "CNI_NETNS": f"/var/run/netns/{container_id}",
        "CNI_IFNAME": ifname,
        "CNI_PATH": CNI_PATH,
    }
