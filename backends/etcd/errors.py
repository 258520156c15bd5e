"""The one place where gRPC failures become the project's exceptions.

    UNAVAILABLE, TLS refused        StoreUnreachable / StoreAuthError
    DEADLINE_EXCEEDED               StoreTimeout
    UNAUTHENTICATED, PERMISSION_DENIED, bad user or password
                                    StoreAuthError
    anything else                   StoreError

Messages carry the endpoint and gRPC's details, never credentials: etcd
does not echo passwords or tokens back.
"""

from __future__ import annotations

import grpc  # type: ignore[import-untyped]

from macvlan_ipam.core.errors import (
    StoreAuthError,
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)

#: grpc-core's words for a TLS handshake the peer refused or we
#: distrusted (checked against grpcio 1.85).  A server that requires a
#: client certificate answers a missing or foreign one with an alert
#: that surfaces as "Unwrap failed (TSI_DATA_CORRUPTED)".
# TODO(etcd): matching details text is brittle; grpc exposes no code
# for handshake failures.  Re-check these when grpcio moves.
_TLS_REFUSED = (
    "tls handshake failed",
    "certificate_verify_failed",
    "tsi_data_corrupted",
)

#: The RPC never left the client: no connection could be made.
_NOT_SENT = "failed to connect to all addresses"

_AUTH_REJECTED = (
    "authentication failed",
    "user name is empty",
    "invalid auth token",
    "user name not found",
)


def details(exc: grpc.RpcError) -> str:
    text = exc.details() if hasattr(exc, "details") else None
    return str(text or type(exc).__name__)


def code(exc: grpc.RpcError) -> object:
    return exc.code() if hasattr(exc, "code") else None


def never_sent(exc: grpc.RpcError) -> bool:
    """True when the request surely did not reach the server."""
    return code(exc) == grpc.StatusCode.UNAVAILABLE and _NOT_SENT in details(
        exc
    )


def convert(exc: grpc.RpcError, where: str) -> StoreError:
    """The exception to raise, ``from exc``, for a failed call."""
    status, text = code(exc), details(exc)
    message = f"etcd {where}: {text}"
    lowered = text.lower()
    if status == grpc.StatusCode.DEADLINE_EXCEEDED:
        return StoreTimeout(message)
    if status in (
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    ) or any(words in lowered for words in _AUTH_REJECTED):
        return StoreAuthError(message)
    if status == grpc.StatusCode.UNAVAILABLE:
        if any(words in lowered for words in _TLS_REFUSED):
            return StoreAuthError(f"etcd {where}: TLS refused: {text}")
        return StoreUnreachable(message)
    return StoreError(message)
