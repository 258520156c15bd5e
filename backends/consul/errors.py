"""Every Consul or ``requests`` failure becomes a project error here.

    connection refused, dial timeout   StoreUnreachable (try next endpoint)
    TLS handshake refused              StoreAuthError
    no answer within the deadline      StoreTimeout
    HTTP 401/403, "Permission denied"  StoreAuthError
    anything else                      StoreError

Messages name the endpoint, never the ACL token.
"""

from __future__ import annotations

from collections.abc import Sequence

import requests
import urllib3.exceptions

from macvlan_ipam.core.errors import (
    StoreAuthError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)

_DENIED = "Permission denied"
_BODY_CHARS = 200


def from_exception(
    exc: requests.RequestException,
    endpoint: object,
    token: str | None,
) -> StoreError:
    """The project error for a request that got no HTTP answer."""
    if isinstance(exc, requests.exceptions.SSLError):
        return StoreAuthError(
            f"consul at {endpoint}: TLS handshake failed: "
            + _clean(_reason(exc), token)
        )
    if isinstance(exc, requests.exceptions.ConnectTimeout) or _not_sent(exc):
        return StoreUnreachable(f"consul at {endpoint}: cannot connect")
    if isinstance(exc, requests.exceptions.Timeout):
        return StoreTimeout(
            f"consul at {endpoint}: no answer before the deadline; "
            "the outcome of a commit is unknown"
        )
    return StoreError(
        f"consul at {endpoint}: request failed, outcome unknown: "
        + _clean(_reason(exc), token)
    )


def from_status(
    code: int, body: str, endpoint: object, token: str | None
) -> StoreError:
    """The project error for an HTTP answer other than 200 or 409."""
    text = _clean(body.strip()[:_BODY_CHARS], token)
    if code in (401, 403):
        return StoreAuthError(
            f"consul at {endpoint} refused the request (HTTP {code}): {text}"
        )
    return StoreError(f"consul at {endpoint} answered HTTP {code}: {text}")


def from_txn_errors(whats: Sequence[str]) -> StoreError:
    """The project error for a transaction Consul rolled back."""
    text = "; ".join(dict.fromkeys(whats))[:_BODY_CHARS]
    if any(denied(what) for what in whats):
        return StoreAuthError(f"consul refused the transaction: {text}")
    return StoreError(f"consul rolled back the transaction: {text}")


def denied(what: str) -> bool:
    """True for a txn error saying the ACL token lacks a permission."""
    return _DENIED in what


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the connection failed before the request was sent."""
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _reason(exc: BaseException) -> str:
    cause = exc.args[0] if exc.args else exc
    return str(getattr(cause, "reason", cause))


def _clean(text: str, token: str | None) -> str:
    return text.replace(token, "<token>") if token else text
