"""The etcd v3 backend: ``store.type`` ``etcd``."""

from .store import EtcdStore

__all__ = ["EtcdStore"]
