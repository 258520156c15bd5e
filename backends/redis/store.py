"""``RedisStore``: the KV contract on Redis, one Lua script per call.

Redis has no revisions, so each entry is a hash holding its value and a
version drawn from a per-tag counter: versions only grow, and a key
deleted then re-created never gets an old one back.  A sorted set per
tag indexes the keys for ordered prefix scans.  Layout: keyspace.py.

Needs Redis >= 7.0 with ``maxmemory-policy noeviction`` (an evicted
counter would let versions repeat).  An ACL user needs ``~* -@all
+@connection +evalsha +script|load +hget +hmget +hset +del +pexpire
+incr +zadd +zrem +zrangebylex``, plus ``+cluster|slots +command`` on
Redis Cluster.  See docs/backend-redis.md.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import ClassVar, Self

from redis.commands.core import Script

from macvlan_ipam.core.kv import (
    Capability,
    Condition,
    Entry,
    KVStore,
    Operation,
    Read,
    Scan,
    check_operations,
)

from . import scripts
from .client import Client, connect
from .config import RedisSettings
from .errors import converted
from .keyspace import Keyspace, counter_key, index_key


class RedisStore(KVStore):
    # TODO(redis): expired keys leave their index member behind until a
    # scan walks past it; a tag never scanned keeps those members.
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TTL})

    def __init__(self, settings: RedisSettings) -> None:
        self._settings = settings
        self._keyspace = Keyspace(settings.hash_tag_segments)
        self._secrets = tuple(
            s for s in (settings.options.password,) if s is not None
        )
        self._lock = threading.Lock()
        self._connected: tuple[Client, list[Client]] | None = None
        self._scripts: tuple[Script, Script] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        return cls(RedisSettings.parse(config))

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        if not requests:
            return []
        tag = self._keyspace.common_tag(
            (r.key for r in requests if not isinstance(r, Scan)),
            (r.prefix for r in requests if isinstance(r, Scan)),
        )
        args = scripts.read_args(tag, requests)

        with converted(self._secrets):
            read_script, _ = self._ensure_scripts()
            reply = read_script(keys=[index_key(tag)], args=args)
        return scripts.parse_read(reply, len(requests))

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        check_operations(self, operations)
        if not conditions and not operations:
            return True
        tag = self._keyspace.common_tag(
            [c.key for c in conditions] + [o.key for o in operations], ()
        )
        args = scripts.commit_args(tag, conditions, operations)

        with converted(self._secrets):
            _, commit_script = self._ensure_scripts()
            reply = commit_script(
                keys=[index_key(tag), counter_key(tag)], args=args
            )
        return bool(reply == 1)

    def close(self) -> None:
        with self._lock:
            connected, self._connected = self._connected, None
            self._scripts = None
        if connected is None:
            return
        with converted(self._secrets):
            for client in connected[1]:
                client.close()

    def _ensure_scripts(self) -> tuple[Script, Script]:
        """Connect on first use; from_config must not touch the server."""
        with self._lock:
            if self._scripts is None:
                self._connected = connect(self._settings)
                client = self._connected[0]
                self._scripts = (
                    client.register_script(scripts.READ),
                    client.register_script(scripts.COMMIT),
                )
            return self._scripts
