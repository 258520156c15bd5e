"""Entry point of the ``macvlan-ipam-etcd`` CNI executable.

stdout carries the result or the CNI error JSON and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from types import FrameType
from typing import TYPE_CHECKING, BinaryIO, TextIO

from macvlan_ipam.core.errors import IpamError, StoreTimeout

from . import commands, logs, versions
from .environ import CniEnv, read_env
from .netconf import NetConf, parse_netconf
from .results import JSON, render_error, render_version
from .services import ChosenService

if TYPE_CHECKING:
    from macvlan_ipam.core.service import IpamService

LOG = logging.getLogger(__name__)

#: Whole-command limit in seconds, a safety net above the store deadlines.
COMMAND_DEADLINE = 60

Command = Callable[[CniEnv, NetConf, "IpamService"], JSON | None]
COMMANDS: dict[str, Command] = {
    "ADD": commands.cmd_add,
    "DEL": commands.cmd_del,
    "CHECK": commands.cmd_check,
    "GC": commands.cmd_gc,
    "STATUS": commands.cmd_status,
}


def run(
    environ: Mapping[str, str],
    stdin: BinaryIO,
    stdout: TextIO,
    service: IpamService,
) -> int:
    """Run one CNI invocation; return the process exit code."""
    version = versions.LATEST
    try:
        env = read_env(environ)
        data = stdin.read()
        if env.command == "VERSION":
            return _print(stdout, _version_reply(data))
        conf = parse_netconf(data)
        version = conf.version
        logs.configure(conf.raw_ipam)
        result = COMMANDS[env.command](env, conf, service)
    except IpamError as exc:
        LOG.error("%s failed: %s", environ.get("CNI_COMMAND"), exc.msg)
        _print(stdout, render_error(version, exc))
        return 1
    except Exception as exc:
        LOG.error("internal error", exc_info=True)
        error = IpamError(f"internal error: {exc.__class__.__name__}: {exc}")
        _print(stdout, render_error(version, error))
        return 1
    if result is not None:
        _print(stdout, result)
    return 0


def main() -> None:
    # gRPC's C core would print its own lines on stderr; errors reach the
    # log through the backend's conversion instead.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    logs.configure()
    signal.signal(signal.SIGALRM, _deadline_passed)
    signal.alarm(COMMAND_DEADLINE)
    code = run(os.environ, sys.stdin.buffer, sys.stdout, ChosenService())
    sys.stdout.flush()
    sys.exit(code)


def _version_reply(data: bytes) -> JSON:
    asked = versions.LATEST
    if data.strip():
        with contextlib.suppress(ValueError, AttributeError):
            asked = str(json.loads(data).get("cniVersion", asked))
    if asked not in versions.SUPPORTED:
        asked = versions.LATEST
    return render_version(asked, versions.SUPPORTED)


def _deadline_passed(_signum: int, _frame: FrameType | None) -> None:
    raise StoreTimeout(
        f"command did not finish within {COMMAND_DEADLINE}s; "
        "is the store overloaded?"
    )


def _print(stdout: TextIO, body: JSON) -> int:
    stdout.write(json.dumps(body) + "\n")
    return 0
