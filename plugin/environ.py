"""The CNI_* environment of one invocation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from macvlan_ipam.core.errors import InvalidEnvironment
from macvlan_ipam.core.ranges import IPAddress, parse_address

COMMANDS = ("ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS")
_NEEDS = {
    "CNI_CONTAINERID": ("ADD", "DEL", "CHECK"),
    "CNI_IFNAME": ("ADD", "DEL", "CHECK"),
    "CNI_NETNS": ("ADD", "CHECK"),
    "CNI_PATH": ("ADD", "DEL", "CHECK"),
}
_CONTAINER_ID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$")
_BAD_IFNAME = re.compile(r"[/:\s]")


@dataclass(frozen=True)
class CniEnv:
    command: str
    container_id: str
    ifname: str
    netns: str
    args: Mapping[str, str]

    def requested_ips(self) -> list[IPAddress]:
        """Addresses asked for with ``CNI_ARGS`` ``IP=a[,b]``."""
        raw = self.args.get("IP", "")
        return [
            parse_address(part, "CNI_ARGS IP")
            for part in raw.split(",")
            if part.strip()
        ]


def read_env(environ: Mapping[str, str]) -> CniEnv:
    """Validate the variables ``command`` needs; raise code 4 otherwise."""
    command = environ.get("CNI_COMMAND", "")
    if command not in COMMANDS:
        raise InvalidEnvironment(
            f"CNI_COMMAND must be one of {', '.join(COMMANDS)}, "
            f"got {command!r}"
        )
    for name, commands in _NEEDS.items():
        if command in commands and not environ.get(name):
            raise InvalidEnvironment(f"{name} is required for {command}")
    env = CniEnv(
        command=command,
        container_id=environ.get("CNI_CONTAINERID", ""),
        ifname=environ.get("CNI_IFNAME", ""),
        netns=environ.get("CNI_NETNS", ""),
        args=_parse_args(environ.get("CNI_ARGS", "")),
    )
    if env.container_id and not _CONTAINER_ID.match(env.container_id):
        raise InvalidEnvironment(
            "CNI_CONTAINERID may hold only letters, digits, '_', '.' and "
            "'-', and must start with a letter or digit"
        )
    if env.ifname:
        _check_ifname(env.ifname)
    return env


def _check_ifname(name: str) -> None:
    if len(name) > 15 or name in (".", "..") or _BAD_IFNAME.search(name):
        raise InvalidEnvironment(
            f"CNI_IFNAME {name!r} is not a valid interface name "
            "(at most 15 characters, no '/', ':' or spaces)"
        )


def _parse_args(raw: str) -> dict[str, str]:
    args: dict[str, str] = {}
    for pair in raw.split(";"):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidEnvironment(
                f"CNI_ARGS: {pair!r} is not KEY=VALUE; separate pairs with ;"
            )
        args[key] = value
    return args
