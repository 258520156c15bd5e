"""The conformance kit over the in-memory reference backend."""

from collections.abc import Iterator

import pytest

from macvlan_ipam.core.memory import MemoryStore
from macvlan_ipam.core.testing import AllocatorContract, StoreContract


class TestMemoryStore(StoreContract, AllocatorContract):
    @pytest.fixture
    def store(self) -> Iterator[MemoryStore]:
        with MemoryStore() as store:
            yield store
