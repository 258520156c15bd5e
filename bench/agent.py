"""The node agent for the benchmark's run, on a socket in the work dir."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from .impls import AGENT


@contextlib.contextmanager
def running_agent(work: Path) -> Iterator[Path]:
    path = work / "agent.sock"
    proc = subprocess.Popen(
        [AGENT, "--socket", str(path), "--log-level", "warning"]
    )
    try:
        deadline = time.monotonic() + 30
        while not path.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the node agent did not start")
            time.sleep(0.05)
        yield path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
