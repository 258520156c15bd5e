"""Building the redis-py client for standalone, Sentinel or Cluster.

Deadlines come from the store block (``dialTimeout`` to connect,
``timeout`` per reply) and nothing is retried: a script whose reply was
lost may have run, and only the allocator knows how to go on.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

from .config import Mode, RedisSettings

log = logging.getLogger(__name__)

Client = redis.Redis | RedisCluster


def connect(settings: RedisSettings) -> tuple[Client, list[Client]]:
    """The client to run scripts on, and every client to close after.

    Only the cluster client talks to a server here (it loads the slot
    map); the others connect on their first command.
    """
    log.debug(
        "redis: %s mode, %d server(s)",
        settings.mode.value,
        len(settings.servers),
    )
    if settings.mode is Mode.CLUSTER:
        nodes = [
            ClusterNode(s.host, s.port)  # type: ignore[no-untyped-call]
            for s in settings.servers
        ]
        cluster = RedisCluster(
            startup_nodes=nodes, retry=_no_retry(), **_common(settings)
        )
        return cluster, [cluster]
    if settings.mode is Mode.SENTINEL:
        return _sentinel_master(settings)
    server = settings.servers[0]
    client = redis.Redis(
        host=server.host,
        port=server.port,
        db=server.db,
        retry=_no_retry(),
        **_common(settings),
    )
    return client, [client]


def _sentinel_master(settings: RedisSettings) -> tuple[Client, list[Client]]:
    # TODO(redis): sentinels get the master's TLS settings but no
    # credentials; add sentinelUsername/sentinelPassword when needed.
    common = _common(settings)
    sentinel_kwargs = {
        k: v for k, v in common.items() if k not in ("username", "password")
    }
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        [(s.host, s.port) for s in settings.servers],
        sentinel_kwargs={**sentinel_kwargs, "retry": _no_retry()},
        retry=_no_retry(),
        **common,
    )
    master: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        settings.master_name
    )
    return master, [master, *sentinel.sentinels]


def _common(settings: RedisSettings) -> dict[str, Any]:
    options = settings.options
    kwargs: dict[str, Any] = {
        "username": options.username,
        "password": options.password,
        "socket_timeout": options.timeout,
        "socket_connect_timeout": options.dial_timeout,
        # Skip CLIENT SETINFO: two round trips per connection, for nothing.
        "driver_info": None,
    }
    if settings.use_tls:
        kwargs.update(_tls(settings))
    return kwargs


def _tls(settings: RedisSettings) -> dict[str, Any]:
    tls = settings.options.tls
    kwargs: dict[str, Any] = {"ssl": True}
    if tls is None:
        return kwargs
    kwargs.update(
        ssl_ca_certs=tls.ca, ssl_certfile=tls.cert, ssl_keyfile=tls.key
    )
    if tls.insecure_skip_verify:
        kwargs.update(ssl_cert_reqs="none", ssl_check_hostname=False)
    return kwargs


def _no_retry() -> Retry:
    return Retry(NoBackoff(), 0)
