"""Sending one ``/v1/txn`` request, failing over across endpoints.

py-consul's ``Txn.put`` sends no ACL token and turns 409 into an
exception, so this goes through py-consul's HTTP client with our own
headers and callback.  The token is sent as ``X-Consul-Token`` on every
request; py-consul's ``CONSUL_HTTP_TOKEN`` fallback is never used.

Failover happens only when a connection could not be made, so the
request was never sent: a request that was sent and then failed might
have been applied, and resending a commit could report a lost race for
a commit that in fact won.  With N endpoints down, a call can take up
to N dial timeouts before it fails.

``timeout`` is requests' read timeout: the longest wait for the next
bytes of the answer.  Txn answers are small, so it acts as the request
deadline.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import requests
from consul.std import Consul

from macvlan_ipam.core.errors import StoreUnreachable

from . import errors
from .config import ConsulOptions, Endpoint
from .txn import TxnOp

LOG = logging.getLogger(__name__)

_TXN_PATH = "/v1/txn"


class TxnClient:
    def __init__(self, options: ConsulOptions) -> None:
        self._options = options
        self._agents = [_agent(e, options) for e in options.endpoints]
        self._params = (
            [("dc", options.datacenter)] if options.datacenter else []
        )
        self._headers = {"Content-Type": "application/json"}
        if options.token:
            self._headers["X-Consul-Token"] = options.token
        self._first = 0

    def send(self, ops: Sequence[TxnOp]) -> tuple[int, str]:
        """Status (200 or 409) and body of the transaction's answer.

        Raises ``StoreError`` (or a subclass) for anything else.
        """
        data = json.dumps(ops)
        count = len(self._agents)
        tried: list[str] = []
        last: requests.RequestException | None = None
        for step in range(count):
            index = (self._first + step) % count
            endpoint = self._options.endpoints[index]
            try:
                response = self._agents[index].http.put(
                    _keep, _TXN_PATH, params=self._params, data=data,
                    headers=self._headers,
                )  # fmt: skip
            except requests.RequestException as exc:
                error = errors.from_exception(exc, endpoint, self._token)
                if not isinstance(error, StoreUnreachable):
                    raise error from exc
                LOG.debug("consul at %s unreachable, trying next", endpoint)
                tried.append(str(endpoint))
                last = exc
                continue
            self._first = index
            return self._status(response, endpoint)
        raise StoreUnreachable(
            f"consul: no endpoint answered (tried {', '.join(tried)})"
        ) from last

    def close(self) -> None:
        for agent in self._agents:
            agent.http.session.close()

    @property
    def _token(self) -> str | None:
        return self._options.token

    def _status(self, response: Any, endpoint: Endpoint) -> tuple[int, str]:
        code, body = int(response.code), str(response.body)
        if code in (200, 409):
            return code, body
        raise errors.from_status(code, body, endpoint, self._token)


def _agent(endpoint: Endpoint, options: ConsulOptions) -> Any:
    """A py-consul client for one endpoint; makes no connection."""
    return Consul(
        host=endpoint.host,
        port=endpoint.port,
        scheme=endpoint.scheme,
        verify=options.verify,
        cert=options.cert,
        # py-consul hands this to requests as is: (dial, read) seconds.
        connections_timeout=(options.dial_timeout, options.timeout),
    )


def _keep(response: Any) -> Any:
    """py-consul callback returning the raw (code, headers, body)."""
    return response
