"""The one place redis-py exceptions become the project's own."""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterator

import redis.exceptions as rex

from macvlan_ipam.core.errors import (
    StoreAuthError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)

log = logging.getLogger(__name__)

# Redis 7.0 words an ACL refusal inside a script without NOPERM.
_AUTH_REPLIES = (
    "NOPERM",
    "WRONGPASS",
    "NOAUTH",
    "user executing the script can't run",
)


@contextlib.contextmanager
def converted(secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Re-raise any redis-py failure as a ``StoreError`` subclass.

    ``secrets`` are blanked from the message, in case a server ever
    echoes one back.
    """
    try:
        yield
    except (rex.RedisError, rex.RedisClusterException) as exc:
        kind = _kind(exc)
        message = _redact(f"redis: {_describe(exc)}", secrets)
        log.debug("%s: %s", kind.__name__, message)
        raise kind(message) from exc


def _kind(exc: BaseException) -> type[StoreError]:
    cause = exc.__cause__
    if isinstance(exc, rex.RedisClusterException) and cause is not None:
        return _kind(cause)
    if isinstance(exc, rex.AuthenticationError | rex.AuthorizationError):
        return StoreAuthError
    if isinstance(exc, rex.NoPermissionError) or any(
        reply in str(exc) for reply in _AUTH_REPLIES
    ):
        return StoreAuthError
    if isinstance(exc, rex.TimeoutError):
        return StoreTimeout
    if isinstance(exc, rex.ConnectionError):
        return StoreAuthError if _refused_tls(exc) else StoreUnreachable
    return StoreError


def _refused_tls(exc: BaseException) -> bool:
    """A certificate was refused, by us or by the server."""
    seen = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return "CERTIFICATE" in (seen.reason or "").upper()
        seen = seen.__cause__ or seen.__context__
    return False


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _redact(message: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message
