"""Redis backend: standalone, Sentinel or Redis Cluster, via redis-py."""

from .store import RedisStore

__all__ = ["RedisStore"]
