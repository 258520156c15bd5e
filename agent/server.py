"""The node agent: serves plugin calls over a unix socket.

Run once per node (the DaemonSet's agent container).  It keeps store
connections open and round-robin hints in memory, so a plugin call
costs a socket round trip instead of a Python process importing a
store client.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import os
import signal
import socketserver
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from macvlan_ipam.core.config import parse_ipam
from macvlan_ipam.core.errors import InvalidConfig, IpamError
from macvlan_ipam.core.records import Attachment
from macvlan_ipam.core.service import WarmService
from macvlan_ipam.plugin import logs

from . import protocol

LOG = logging.getLogger(__name__)

DEFAULT_SOCKET = Path("/run/macvlan-ipam/agent.sock")


class AgentServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, service: WarmService) -> None:
        self.service = service
        super().__init__(str(path), _Handler)

    def answer(self, line: bytes) -> protocol.JSON:
        """The reply to one request line; never raises."""
        try:
            return {"ok": self._dispatch(protocol.decode(line))}
        except IpamError as exc:
            return protocol.error_reply(exc)
        except (ValueError, KeyError, TypeError) as exc:
            LOG.warning("malformed request: %s", exc)
            return protocol.error_reply(
                InvalidConfig(f"malformed request to the node agent: {exc}")
            )
        except Exception as exc:
            LOG.error("request failed", exc_info=True)
            return protocol.error_reply(
                IpamError(f"node agent internal error: {exc}")
            )

    def _dispatch(self, request: protocol.JSON) -> object:
        op = request["op"]
        ipam = request["ipam"]
        assert isinstance(ipam, dict)
        config = parse_ipam(str(request["network"]), ipam)
        service = self.service
        if op == "status":
            service.status(config)
            return None
        if op == "gc":
            valid = [Attachment(*pair) for pair in _pairs(request["valid"])]
            return protocol.encode_gc(service.gc(config, valid))
        ((container_id, ifname),) = _pairs([request["attachment"]])
        attachment = Attachment(container_id, ifname)
        ips = [ipaddress.ip_address(t) for t in _texts(request["ips"])]
        if op == "add":
            held = service.add(config, attachment, ips)
            return protocol.encode_reservations(held)
        if op == "del":
            service.delete(config, attachment)
            return None
        if op == "check":
            service.check(config, attachment, ips)
            return None
        raise InvalidConfig(f"unknown operation {op!r}")


class _Handler(socketserver.StreamRequestHandler):
    server: AgentServer

    def handle(self) -> None:
        line = self.rfile.readline(protocol.MAX_MESSAGE)
        if line:
            self.wfile.write(protocol.encode(self.server.answer(line)))


def serve(path: Path) -> None:
    """Serve until SIGTERM or SIGINT."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    service = WarmService()
    old_mask = os.umask(0o177)  # the socket: owner only
    try:
        server = AgentServer(path, service)
    finally:
        os.umask(old_mask)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    LOG.info("node agent listening on %s", path)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        service.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--socket", type=Path, default=DEFAULT_SOCKET)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logs.configure({"logLevel": args.log_level})
    serve(args.socket)


def _pairs(raw: object) -> list[tuple[str, str]]:
    assert isinstance(raw, list)
    return [(str(a), str(b)) for a, b in raw]


def _texts(raw: object) -> list[str]:
    assert isinstance(raw, list)
    return [str(t) for t in raw]
