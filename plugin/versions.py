"""CNI spec versions this plugin speaks."""

from __future__ import annotations

from macvlan_ipam.core.errors import IncompatibleVersion

SUPPORTED = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
LATEST = SUPPORTED[-1]


def parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def require_supported(version: str) -> str:
    if version not in SUPPORTED:
        raise IncompatibleVersion(
            f"incompatible CNI versions: config is {version!r}, "
            f"plugin supports {list(SUPPORTED)}"
        )
    return version


def require_at_least(version: str, minimum: str, command: str) -> None:
    if parse(version) < parse(minimum):
        raise IncompatibleVersion(
            f"config version {version} does not allow {command} "
            f"(needs {minimum} or newer)"
        )
