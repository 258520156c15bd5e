"""The one place that configures logging: stderr or a file, never stdout."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

ROOT = "macvlan_ipam"
_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"


def configure(ipam: Mapping[str, object] | None = None) -> None:
    """Attach one handler to the project's logger.

    ``ipam.logFile`` / ``ipam.logLevel`` choose where and how much;
    ``MACVLAN_IPAM_LOG_LEVEL`` overrides the level.
    """
    ipam = ipam or {}
    level_name = os.environ.get("MACVLAN_IPAM_LOG_LEVEL") or str(
        ipam.get("logLevel", "warning")
    )
    level = logging.getLevelName(level_name.upper())
    if not isinstance(level, int):
        level = logging.WARNING
    path = ipam.get("logFile")
    handler: logging.Handler
    if isinstance(path, str) and path:
        try:
            handler = logging.FileHandler(path)
        except OSError:
            handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger = logging.getLogger(ROOT)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
