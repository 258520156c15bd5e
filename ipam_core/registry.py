"""Finding a backend by the name the network config gives it.

Backends register a ``KVStore`` subclass in the entry point group
``macvlan_ipam.backends`` of their distribution; the entry point name is
what users write as ``store.type``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import EntryPoint

from stevedore import DriverManager, ExtensionManager
from stevedore.exception import NoMatches

from .errors import BackendUnavailable, UnknownBackend
from .kv import KVStore

LOG = logging.getLogger(__name__)

NAMESPACE = "macvlan_ipam.backends"


def installed_backends() -> list[str]:
    manager: ExtensionManager[type[KVStore]] = ExtensionManager(
        NAMESPACE, invoke_on_load=False
    )
    return sorted(manager.entry_points_names())


def load_backend(name: str) -> type[KVStore]:
    """The store class registered as ``name``.

    Raises ``UnknownBackend`` listing what is installed, or
    ``BackendUnavailable`` when the backend is installed but broken.
    """
    failures: list[str] = []

    def on_failure(
        _manager: ExtensionManager[type[KVStore]],
        _entry: EntryPoint,
        exc: BaseException,
    ) -> None:
        failures.append(f"{exc.__class__.__name__}: {exc}")
        LOG.debug("loading backend %s failed", name, exc_info=exc)

    try:
        manager: DriverManager[type[KVStore]] = DriverManager(
            NAMESPACE,
            name,
            invoke_on_load=False,
            on_load_failure_callback=on_failure,
        )
    except NoMatches:
        if failures:
            raise BackendUnavailable(
                f"store backend {name!r} is installed but failed to load: "
                + "; ".join(failures)
            ) from None
        raise UnknownBackend(
            f"store.type: no backend named {name!r}; installed: "
            + ", ".join(installed_backends())
        ) from None
    driver = manager.driver
    if not (isinstance(driver, type) and issubclass(driver, KVStore)):
        raise BackendUnavailable(
            f"store backend {name!r} does not name a KVStore subclass"
        )
    return driver


def open_store(config: Mapping[str, object]) -> KVStore:
    """Build the store the ``store`` block describes."""
    name = str(config.get("type") or "etcd")
    return load_backend(name).from_config(config)
