"""How store keys map to Redis keys, grouped by hash tag.

The first ``hashTagSegments`` path segments of a key are its *tag*
(default 2: ``/macvlan-ipam/net1/ips/010.000.000.005`` has the tag
``/macvlan-ipam/net1``).  Everything of one tag lives in one Redis
Cluster hash slot, so one Lua script can read or write it atomically:

    {/macvlan-ipam/net1}/ips/010.000.000.005   hash: value, version
    {/macvlan-ipam/net1}:index                 sorted set of the keys
    {/macvlan-ipam/net1}:version               counter of versions

The allocator keeps every batch inside one network, hence one tag.  The
rule is the same without a cluster, so a config moves between modes.
A batch spanning tags, a key too short to have a tag or a scan prefix
that stops inside one raise ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Iterable

from macvlan_ipam.core.errors import StoreError


class Keyspace:
    def __init__(self, segments: int) -> None:
        self.segments = segments

    def tag_of_key(self, key: str) -> str:
        """The key's first ``segments`` path segments."""
        parts = self._parts(key)
        if len(parts) < self.segments:
            raise StoreError(
                f"redis: key {key!r} has fewer than {self.segments} path "
                "segments (hashTagSegments), so no hash tag"
            )
        return self._join(key, parts)

    def tag_of_prefix(self, prefix: str) -> str:
        """A scan prefix must end its tag with '/' to stay in one tag."""
        parts = self._parts(prefix)
        if len(parts) <= self.segments:
            raise StoreError(
                f"redis: scan prefix {prefix!r} must cover the first "
                f"{self.segments} path segments and their '/' "
                "(hashTagSegments)"
            )
        return self._join(prefix, parts)

    def common_tag(self, keys: Iterable[str], prefixes: Iterable[str]) -> str:
        """The one tag every key and prefix of a batch shares."""
        tags = {self.tag_of_key(k) for k in keys}
        tags.update(self.tag_of_prefix(p) for p in prefixes)
        if len(tags) > 1:
            first, second = sorted(tags)[:2]
            raise StoreError(
                f"redis: one batch spans hash tags {first!r} and "
                f"{second!r}; keep each read or commit inside one tag "
                "(hashTagSegments)"
            )
        return tags.pop()

    def _parts(self, key: str) -> list[str]:
        return key.removeprefix("/").split("/")

    def _join(self, key: str, parts: list[str]) -> str:
        lead = "/" if key.startswith("/") else ""
        tag = lead + "/".join(parts[: self.segments])
        if not tag or "}" in tag:
            raise StoreError(f"redis: no usable hash tag in {key!r}")
        return tag


def index_key(tag: str) -> str:
    return "{" + tag + "}:index"


def counter_key(tag: str) -> str:
    return "{" + tag + "}:version"
