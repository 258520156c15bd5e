"""A conformance kit for backend authors.

Subclass ``StoreContract`` (and ``AllocatorContract``) in a test module
and give it one fixture, ``store``, that returns a connected ``KVStore``:

    class TestMyStore(StoreContract, AllocatorContract):
        @pytest.fixture
        def store(self):
            with MyStore.from_config({...}) as s:
                yield s

Every test writes under its own random prefix, so one server can serve
the whole run.
"""

from .allocation import AllocatorContract
from .contract import StoreContract

__all__ = ["AllocatorContract", "StoreContract"]
