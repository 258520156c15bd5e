"""The CNI executable's side: an ``IpamService`` that asks the agent.

Imports no store client, so a plugin call that goes through the agent
stays a small, quick process.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Sequence
from pathlib import Path

from macvlan_ipam.core.config import IpamConfig
from macvlan_ipam.core.errors import StoreTimeout, StoreUnreachable
from macvlan_ipam.core.housekeeping import GCReport
from macvlan_ipam.core.ranges import IPAddress
from macvlan_ipam.core.records import Attachment, Reservation

from . import protocol

#: Seconds to wait for the agent's reply; the agent's own store calls
#: have their deadlines, this only guards against a wedged agent.
REPLY_TIMEOUT = 30.0


class AgentUnavailable(Exception):
    """No agent listens at the socket; nothing was sent."""


class AgentClient:
    def __init__(self, path: Path, timeout: float = REPLY_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    def add(
        self,
        config: IpamConfig,
        attachment: Attachment,
        requested: Sequence[IPAddress],
    ) -> list[Reservation]:
        result = self._call(
            protocol.request(
                "add", config.network, config.source, attachment, requested
            )
        )
        return protocol.reservations(result)

    def delete(self, config: IpamConfig, attachment: Attachment) -> None:
        self._call(
            protocol.request("del", config.network, config.source, attachment)
        )

    def check(
        self,
        config: IpamConfig,
        attachment: Attachment,
        expected: Sequence[IPAddress],
    ) -> None:
        self._call(
            protocol.request(
                "check", config.network, config.source, attachment, expected
            )
        )

    def gc(
        self, config: IpamConfig, valid: Collection[Attachment]
    ) -> GCReport:
        result = self._call(
            protocol.request(
                "gc", config.network, config.source, valid=list(valid)
            )
        )
        return protocol.gc_report(result)

    def status(self, config: IpamConfig) -> None:
        self._call(protocol.request("status", config.network, config.source))

    def _call(self, body: protocol.JSON) -> object:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout)
            try:
                sock.connect(str(self.path))
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                raise AgentUnavailable(f"{self.path}: {exc.strerror}") from exc
            try:
                sock.sendall(protocol.encode(body))
                line = sock.makefile("rb").readline(protocol.MAX_MESSAGE)
            except TimeoutError as exc:
                raise StoreTimeout(
                    f"node agent at {self.path} did not answer within "
                    f"{self.timeout:g}s"
                ) from exc
            except OSError as exc:
                raise StoreUnreachable(
                    f"node agent at {self.path}: {exc}"
                ) from exc
        if not line:
            raise StoreUnreachable(f"node agent at {self.path} hung up")
        reply = protocol.decode(line)
        protocol.raise_error(reply)
        return reply.get("ok")
