"""The ``store`` block of a sqlite network config.

{"type": "sqlite", "path": "/var/lib/cni/macvlan-ipam/ipam.db",
 "timeout": 5}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from macvlan_ipam.core.errors import InvalidConfig
from macvlan_ipam.core.storeconfig import StoreOptions

DEFAULT_PATH = "/var/lib/cni/macvlan-ipam/ipam.db"

#: Shared fields that only make sense for a store across the network.
_REMOTE_FIELDS = (
    "endpoints",
    "dialTimeout",
    "tls",
    "username",
    "usernameFile",
    "password",
    "passwordFile",
    "token",
    "tokenFile",
)


@dataclass(frozen=True)
class Settings:
    path: Path
    #: Seconds to wait for another process's lock (the busy timeout).
    timeout: float


def parse_settings(raw: Mapping[str, object]) -> Settings:
    """Validate the ``store`` block; raise ``InvalidConfig``."""
    remote = [name for name in _REMOTE_FIELDS if name in raw]
    if remote:
        raise InvalidConfig(
            f"store: the sqlite backend is local to the node and takes "
            f"no {remote}"
        )
    options = StoreOptions.parse(raw, default_endpoints=())
    options.reject_unknown({"path"})

    path = options.extra.get("path", DEFAULT_PATH)
    if not isinstance(path, str) or not path:
        raise InvalidConfig("store.path: expected a file path")
    if not os.path.isabs(path):
        raise InvalidConfig(f"store.path: {path!r} must be absolute")
    return Settings(Path(path), options.timeout)
