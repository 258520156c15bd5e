"""Placeholder replaced below once the allocator exists."""


class AllocatorContract:
    pass
