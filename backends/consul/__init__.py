"""The Consul backend: the KV contract on Consul's ``/v1/txn``."""

from .store import ConsulStore

__all__ = ["ConsulStore"]
