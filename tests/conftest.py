"""Fixtures shared by the whole suite; servers live in tests/servers."""

pytest_plugins = [
    "tests.servers.etcd",
    "tests.servers.redis",
    "tests.servers.consul",
]
