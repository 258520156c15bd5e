"""Starting and stopping a server process on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_binary(name: str, package: str) -> str:
    """Absolute path of ``name``; fail loudly when it is not installed."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"{name} is not installed (Debian package {package}); "
            "run scripts/setup-system"
        )
    return path


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with (
        contextlib.suppress(OSError),
        socket.create_connection((host, port), timeout=0.2),
    ):
        return True
    return False


class ServerProcess:
    """A child process that is up once ``ready()`` says so."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        workdir: Path,
        ready: Callable[[], bool],
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.workdir = workdir
        self.ready = ready
        self.env = env
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}: "
                    + self.log_tail()
                )
            if self.ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"{self.name} not ready in {timeout}s: " + self.log_tail()
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): it accepts nothing, answers nothing."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
