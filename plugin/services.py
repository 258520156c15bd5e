"""Which allocation service a call uses: the node agent, or this process.

With ``ipam.agentSocket`` set the call goes to the node agent; when no
agent listens there (nothing was sent), it runs in this process instead
so that pods still start while the agent restarts.  The in-process
service and its store client are imported only when needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, TypeVar

from macvlan_ipam.core.config import IpamConfig
from macvlan_ipam.core.ranges import IPAddress
from macvlan_ipam.core.records import Attachment, Reservation

if TYPE_CHECKING:
    from macvlan_ipam.core.housekeeping import GCReport
    from macvlan_ipam.core.service import IpamService

LOG = logging.getLogger(__name__)

T = TypeVar("T")


class ChosenService:
    """An ``IpamService`` that picks agent or local per call."""

    def add(
        self,
        config: IpamConfig,
        attachment: Attachment,
        requested: Sequence[IPAddress],
    ) -> list[Reservation]:
        return _run(config, lambda s: s.add(config, attachment, requested))

    def delete(self, config: IpamConfig, attachment: Attachment) -> None:
        _run(config, lambda s: s.delete(config, attachment))

    def check(
        self,
        config: IpamConfig,
        attachment: Attachment,
        expected: Sequence[IPAddress],
    ) -> None:
        _run(config, lambda s: s.check(config, attachment, expected))

    def gc(
        self, config: IpamConfig, valid: Collection[Attachment]
    ) -> GCReport:
        return _run(config, lambda s: s.gc(config, valid))

    def status(self, config: IpamConfig) -> None:
        _run(config, lambda s: s.status(config))


def _run(config: IpamConfig, call: Callable[[IpamService], T]) -> T:
    if config.agent_socket is not None:
        from macvlan_ipam.agent.client import AgentClient, AgentUnavailable

        try:
            return call(AgentClient(config.agent_socket))
        except AgentUnavailable as exc:
            LOG.warning("node agent unavailable (%s); running in process", exc)
    from macvlan_ipam.core.service import LocalService

    return call(LocalService())
