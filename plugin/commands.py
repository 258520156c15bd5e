"""One function per CNI command: parse, call the service, shape output."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from macvlan_ipam.core.errors import IpamError
from macvlan_ipam.core.records import Attachment

from . import versions
from .environ import CniEnv
from .netconf import NetConf
from .results import JSON, render_result

if TYPE_CHECKING:
    from macvlan_ipam.core.service import IpamService

LOG = logging.getLogger(__name__)


class StatusError(IpamError):
    """STATUS: the plugin cannot serve ADD now (CNI code 50)."""

    code = 50


def cmd_add(env: CniEnv, conf: NetConf, service: IpamService) -> JSON:
    config = conf.ipam()
    requested = env.requested_ips() + conf.requested_ips()
    attachment = Attachment(env.container_id, env.ifname)

    held = service.add(config, attachment, list(dict.fromkeys(requested)))

    LOG.info(
        "ADD %s on %s: %s",
        attachment,
        conf.name,
        ", ".join(str(r.interface) for r in held),
    )
    return render_result(conf.version, held, config)


def cmd_del(env: CniEnv, conf: NetConf, service: IpamService) -> None:
    config = conf.ipam()
    attachment = Attachment(env.container_id, env.ifname)
    service.delete(config, attachment)
    LOG.info("DEL %s on %s", attachment, conf.name)


def cmd_check(env: CniEnv, conf: NetConf, service: IpamService) -> None:
    versions.require_at_least(conf.version, "0.4.0", "CHECK")
    config = conf.ipam()
    expected = conf.previous_ips()
    attachment = Attachment(env.container_id, env.ifname)
    service.check(config, attachment, expected)
    LOG.info("CHECK %s on %s: ok", attachment, conf.name)


def cmd_gc(env: CniEnv, conf: NetConf, service: IpamService) -> None:
    versions.require_at_least(conf.version, "1.1.0", "GC")
    config = conf.ipam()
    valid = conf.valid_attachments()

    report = service.gc(config, valid)

    LOG.info(
        "GC %s: released %d attachment(s), %d orphan address(es)",
        conf.name,
        len(report.released),
        report.orphans,
    )
    if report.errors:
        raise IpamError(
            f"GC released {len(report.released)} attachment(s) but "
            f"failed on {len(report.errors)}",
            details="; ".join(report.errors),
        )


def cmd_status(env: CniEnv, conf: NetConf, service: IpamService) -> None:
    versions.require_at_least(conf.version, "1.1.0", "STATUS")
    config = conf.ipam()
    try:
        service.status(config)
    except IpamError as exc:
        raise StatusError(
            f"cannot serve ADD on {conf.name}: {exc.msg}", exc.details
        ) from exc
