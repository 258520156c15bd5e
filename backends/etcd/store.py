"""``EtcdStore``: the KV contract on etcd v3 transactions."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Self

from macvlan_ipam.core.kv import (
    Capability,
    Condition,
    Entry,
    KVStore,
    Operation,
    Read,
    check_operations,
)

from .config import EtcdConfig

if TYPE_CHECKING:
    from .client import Deadline, EtcdClient


class EtcdStore(KVStore):
    """Reads are one read-only transaction, commits one transaction.

    ``Put.ttl`` attaches a lease granted just before the commit, one per
    distinct TTL (rounded up to whole seconds), so a commit with TTLs
    costs a round trip more.  A lease whose commit fails is left to
    expire on its own.
    """

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TTL})

    def __init__(self, config: EtcdConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._client: EtcdClient | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        return cls(EtcdConfig.from_store_block(config))

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        if not requests:
            return []
        client, deadline = self._start()
        from . import txn

        # Batches beyond etcd's limit on operations per transaction are
        # split, and the later parts pinned to the first one's revision.
        results: list[list[Entry]] = []
        revision = 0
        for part in txn.chunks(requests):
            request = txn.read_request(part, revision)
            reply = client.txn(request, deadline, idempotent=True)
            revision = int(reply.header.revision)
            results.extend(txn.read_result(part, reply))
        return results

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        check_operations(self, operations)
        if not conditions and not operations:
            return True
        client, deadline = self._start()
        from . import txn

        leases = {
            ttl: client.grant_lease(ttl, deadline)
            for ttl in txn.lease_ttls(operations)
        }
        request = txn.commit_request(conditions, operations, leases)
        reply = client.txn(request, deadline, idempotent=False)
        return bool(reply.succeeded)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _start(self) -> tuple[EtcdClient, Deadline]:
        """The client, made on first use, and this call's deadline.

        gRPC is imported here, not at module load: building a store
        from a bad config should not pay for it.
        """
        from .client import Deadline, EtcdClient

        with self._lock:
            if self._client is None:
                self._client = EtcdClient(self.config)
            return self._client, Deadline(self.config.timeout)
