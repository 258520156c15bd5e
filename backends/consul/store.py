"""``ConsulStore``: the KV contract on Consul's transaction endpoint.

Versions are Consul's ``ModifyIndex``.  Every ``read`` and ``commit`` is
one ``/v1/txn`` request (see ``txn`` for the key mapping, the cost of
scans and the 64-operation limit).  No TTL: Consul expires keys only
through sessions, with a 10 s minimum, which the contract's ``Put.ttl``
does not fit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

from macvlan_ipam.core.kv import (
    Condition,
    Entry,
    KVStore,
    Operation,
    Read,
    check_operations,
)

from . import txn
from .client import TxnClient
from .config import ConsulOptions


class ConsulStore(KVStore):
    def __init__(self, options: ConsulOptions) -> None:
        self._client = TxnClient(options)

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Self:
        return cls(ConsulOptions.parse(config))

    def read(self, requests: Sequence[Read]) -> list[list[Entry]]:
        # TODO(consul): with ACLs on, Consul 1.8 silently drops from a
        # read the keys the token may not read (no error, no header
        # saying so); only the next commit reports the missing right.
        ops = txn.read_ops(requests)
        found: dict[str, Entry] = {}
        if ops:
            code, body = self._client.send(ops)
            if code != 200:
                raise txn.read_failure(body)
            found = txn.read_results(body)
        return txn.answer(requests, found)

    def commit(
        self,
        conditions: Sequence[Condition],
        operations: Sequence[Operation],
    ) -> bool:
        check_operations(self, operations)
        ops = txn.commit_ops(conditions, operations)
        if not ops:
            return True
        code, body = self._client.send(ops)
        return txn.commit_outcome(code, body, len(conditions))

    def close(self) -> None:
        self._client.close()
