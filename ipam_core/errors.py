"""The project's exceptions, each carrying the CNI error code it maps to.

    IpamError                      code 100 unless a subclass says otherwise
    ├── IncompatibleVersion        1
    ├── UnsupportedField           2
    ├── InvalidEnvironment         4
    │   └── BackendUnavailable     4   (named backend installed but broken)
    ├── DecodeError                6
    ├── InvalidConfig              7
    │   └── UnknownBackend         7
    ├── StoreError                 11  (try again later)
    │   ├── StoreUnreachable
    │   ├── StoreTimeout
    │   ├── StoreAuthError
    │   └── ContentionError        (conditional commits kept losing)
    ├── CapabilityError            100 (a store lacks an optional power)
    ├── PoolExhausted              110
    ├── AddressTaken               111
    ├── AddressNotInRange          112
    └── CheckFailed                113

Only the plugin entry point turns these into CNI error JSON.
"""

from __future__ import annotations


class IpamError(Exception):
    """Root of every error this project raises on purpose."""

    code = 100

    def __init__(self, msg: str, details: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class IncompatibleVersion(IpamError):
    code = 1


class UnsupportedField(IpamError):
    code = 2


class InvalidEnvironment(IpamError):
    code = 4


class BackendUnavailable(InvalidEnvironment):
    """The configured backend is registered but failed to load."""


class DecodeError(IpamError):
    code = 6


class InvalidConfig(IpamError):
    code = 7


class UnknownBackend(InvalidConfig):
    """No installed backend carries the configured name."""


class StoreError(IpamError):
    """The store could not answer; the runtime may retry later."""

    code = 11


class StoreUnreachable(StoreError):
    pass


class StoreTimeout(StoreError):
    pass


class StoreAuthError(StoreError):
    """The store refused our credentials or certificate."""


class ContentionError(StoreError):
    """Every attempt lost its conditional commit to another writer."""


class CapabilityError(IpamError):
    """A request needs an optional power the store does not declare."""


class PoolExhausted(IpamError):
    code = 110


class AddressTaken(IpamError):
    code = 111


class AddressNotInRange(IpamError):
    code = 112


class CheckFailed(IpamError):
    """The store does not hold what the previous result says."""

    code = 113
