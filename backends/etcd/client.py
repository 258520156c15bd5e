"""gRPC calls to an etcd cluster: deadlines, failover, authentication.

pyetcd's own client authenticates in its constructor, parks a failed
endpoint for five minutes without retrying the call, and cannot put
limits or ``keys_only`` on the ranges of a transaction; so this module
drives pyetcd's generated gRPC stubs itself.

Every call has one deadline covering authentication, failover and the
call.  A connection attempt gives up after the dial timeout (grpc's
reconnect backoff bounds it), so a dead or frozen endpoint costs at most
that before the next one is tried.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import grpc  # type: ignore[import-untyped]
from pyetcd import etcdrpc

from macvlan_ipam.core.errors import (
    StoreError,
    StoreTimeout,
    StoreUnreachable,
)

from . import errors
from .config import Endpoint, EtcdConfig, TLSMaterial
from .txn import Proto

LOG = logging.getLogger(__name__)

_AUTH_NOT_ENABLED = "authentication is not enabled"


class Deadline:
    """The time one store call may take, all retries included."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; raises ``StoreTimeout`` when none are."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise StoreTimeout(f"etcd: no answer within {self.seconds}s")
        return left


class EtcdClient:
    """Thread safe; channels and tokens are made on first use."""

    def __init__(self, config: EtcdConfig) -> None:
        self._members = [_Member(e, config) for e in config.endpoints]
        self._preferred = 0

    def txn(
        self, request: Proto, deadline: Deadline, idempotent: bool
    ) -> Proto:
        """Run a transaction; only ``idempotent`` ones are re-sent."""
        return self._call(lambda m: m.kv().Txn, request, deadline, idempotent)

    def grant_lease(self, ttl: int, deadline: Deadline) -> int:
        request = etcdrpc.LeaseGrantRequest(TTL=ttl)
        reply = self._call(
            lambda m: m.lease().LeaseGrant, request, deadline, True
        )
        if reply.error:
            raise StoreError(f"etcd: lease grant failed: {reply.error}")
        return int(reply.ID)

    def close(self) -> None:
        for member in self._members:
            member.close()

    def _call(
        self,
        method: Callable[[_Member], Callable[..., Proto]],
        request: Proto,
        deadline: Deadline,
        idempotent: bool,
    ) -> Proto:
        """Try each endpoint in turn, starting with the last good one."""
        failures: list[str] = []
        for index in self._order():
            member = self._members[index]
            try:
                reply = member.call(method, request, deadline)
            except grpc.RpcError as exc:
                error = errors.convert(exc, member.endpoint.url)
                failures.append(str(error))
                if not _may_fail_over(error, exc, idempotent):
                    raise error from exc
                if len(failures) == len(self._members):
                    raise type(error)("; ".join(failures)) from exc
                LOG.debug("%s; trying the next endpoint", error)
                continue
            if failures:
                LOG.warning(
                    "etcd: answered by %s after: %s",
                    member.endpoint.url,
                    "; ".join(failures),
                )
            self._preferred = index
            return reply
        raise StoreUnreachable("etcd: no endpoints")  # config forbids

    def _order(self) -> Sequence[int]:
        count, first = len(self._members), self._preferred
        return [(first + step) % count for step in range(count)]


class _Member:
    """One endpoint: its channel and auth token, made on first use."""

    def __init__(self, endpoint: Endpoint, config: EtcdConfig) -> None:
        self.endpoint = endpoint
        self._config = config
        self._lock = threading.Lock()
        self._channel: grpc.Channel | None = None
        self._kv: Proto = None
        self._token: str | None = config.token

    def kv(self) -> Proto:
        """The KV stub, built once per channel (building one is costly)."""
        channel = self._open()
        with self._lock:
            if self._kv is None or self._kv[0] is not channel:
                self._kv = (channel, etcdrpc.KVStub(channel))
            return self._kv[1]

    def lease(self) -> Proto:
        return etcdrpc.LeaseStub(self._open())

    def call(
        self,
        method: Callable[[_Member], Callable[..., Proto]],
        request: Proto,
        deadline: Deadline,
    ) -> Proto:
        metadata = self._metadata(deadline)
        try:
            return method(self)(
                request, timeout=deadline.remaining(), metadata=metadata
            )
        except grpc.RpcError as exc:
            if not self._token_expired(exc):
                raise
        LOG.debug("etcd %s: auth token expired", self.endpoint.url)
        with self._lock:
            self._token = None
        return method(self)(
            request,
            timeout=deadline.remaining(),
            metadata=self._metadata(deadline),
        )

    def close(self) -> None:
        with self._lock:
            channel, self._channel = self._channel, None
            self._token = self._config.token
        if channel is not None:
            channel.close()

    def _open(self) -> grpc.Channel:
        with self._lock:
            if self._channel is None:
                self._channel = _channel(self.endpoint, self._config)
            return self._channel

    def _metadata(self, deadline: Deadline) -> tuple[tuple[str, str], ...]:
        if self._config.username is None:
            token = self._token
        else:
            token = self._authenticate(deadline)
        return (("token", token),) if token else ()

    def _authenticate(self, deadline: Deadline) -> str:
        """A token for username/password, fetched once per endpoint."""
        with self._lock:
            if self._token is not None:
                return self._token
        request = etcdrpc.AuthenticateRequest(
            name=self._config.username, password=self._config.password
        )
        stub = etcdrpc.AuthStub(self._open())
        try:
            reply = stub.Authenticate(request, timeout=deadline.remaining())
        except grpc.RpcError as exc:
            if _AUTH_NOT_ENABLED not in errors.details(exc):
                raise
            LOG.debug("etcd %s: auth is off", self.endpoint.url)
            token = ""
        else:
            token = str(reply.token)
        with self._lock:
            self._token = token
        return token

    def _token_expired(self, exc: grpc.RpcError) -> bool:
        return (
            self._config.username is not None
            and errors.code(exc) == grpc.StatusCode.UNAUTHENTICATED
        )


def _may_fail_over(
    error: StoreError, exc: grpc.RpcError, idempotent: bool
) -> bool:
    """Another endpoint may answer, and re-sending cannot apply twice."""
    return isinstance(error, StoreUnreachable) and (
        idempotent or errors.never_sent(exc)
    )


def _channel(endpoint: Endpoint, config: EtcdConfig) -> grpc.Channel:
    dial_ms = max(1, int(config.dial_timeout * 1000))
    options: list[tuple[str, object]] = [
        # A connection attempt, TLS and HTTP/2 included, ends after
        # the dial timeout; the next one starts as soon.
        ("grpc.min_reconnect_backoff_ms", dial_ms),
        ("grpc.initial_reconnect_backoff_ms", dial_ms),
        ("grpc.max_reconnect_backoff_ms", dial_ms),
    ]
    if not endpoint.secure:
        return grpc.insecure_channel(endpoint.target, options=options)
    tls = config.tls or TLSMaterial()
    if tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=tls.ca,
        private_key=tls.key,
        certificate_chain=tls.cert,
    )
    return grpc.secure_channel(endpoint.target, credentials, options)
