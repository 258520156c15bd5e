"""Reading the store with etcdctl, independently of the plugin."""

from __future__ import annotations

import os

from .system import run

PREFIX = "/macvlan-ipam"


def network_keys(url: str, network: str) -> list[str]:
    """Every key the plugin holds for ``network``."""
    done = run(
        ["etcdctl", f"--endpoints={url}", "--dial-timeout=5s", "get",
         "--prefix", "--keys-only", f"{PREFIX}/{network}/"],
        env={**os.environ, "ETCDCTL_API": "3"},
    )  # fmt: skip
    return [line for line in done.stdout.splitlines() if line]


def address_keys(url: str, network: str) -> list[str]:
    return [k for k in network_keys(url, network) if "/ips/" in k]
