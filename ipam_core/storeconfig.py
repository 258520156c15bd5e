"""Options every backend shares, parsed once from the ``store`` block.

Backends call ``StoreOptions.parse`` and read what they need; fields a
backend does not know stay in ``extra``.  Secrets may be given inline
or as files (a mounted Kubernetes Secret); they never appear in a repr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InvalidConfig

DEFAULT_PREFIX = "/macvlan-ipam"
DEFAULT_TIMEOUT = 5.0
DEFAULT_DIAL_TIMEOUT = 2.0

_COMMON = {
    "type",
    "endpoints",
    "prefix",
    "timeout",
    "dialTimeout",
    "tls",
    "username",
    "usernameFile",
    "password",
    "passwordFile",
    "token",
    "tokenFile",
}


@dataclass(frozen=True)
class TLSOptions:
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


@dataclass(frozen=True)
class StoreOptions:
    backend: str
    endpoints: tuple[str, ...]
    prefix: str = DEFAULT_PREFIX
    timeout: float = DEFAULT_TIMEOUT
    dial_timeout: float = DEFAULT_DIAL_TIMEOUT
    tls: TLSOptions | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    extra: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def parse(
        cls, raw: Mapping[str, object], default_endpoints: tuple[str, ...]
    ) -> StoreOptions:
        endpoints = _endpoints(raw.get("endpoints"), default_endpoints)
        return cls(
            backend=str(raw.get("type", "")),
            endpoints=endpoints,
            prefix=_text(raw, "prefix") or DEFAULT_PREFIX,
            timeout=_seconds(raw, "timeout", DEFAULT_TIMEOUT),
            dial_timeout=_seconds(raw, "dialTimeout", DEFAULT_DIAL_TIMEOUT),
            tls=_tls(raw.get("tls")),
            username=_secret(raw, "username"),
            password=_secret(raw, "password"),
            token=_secret(raw, "token"),
            extra={k: v for k, v in raw.items() if k not in _COMMON},
        )

    def reject_unknown(self, allowed: set[str]) -> None:
        """Raise ``InvalidConfig`` for backend fields nobody reads."""
        unknown = sorted(set(self.extra) - allowed)
        if unknown:
            raise InvalidConfig(
                f"store: unknown field(s) {unknown} for backend "
                f"{self.backend!r}"
            )


def _endpoints(raw: object, default: tuple[str, ...]) -> tuple[str, ...]:
    if raw is None:
        return default
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list) or not all(isinstance(e, str) for e in raw):
        raise InvalidConfig("store.endpoints: expected a list of URLs")
    if not raw:
        raise InvalidConfig("store.endpoints: must not be empty")
    return tuple(e.strip() for e in raw)


def _text(raw: Mapping[str, object], name: str) -> str | None:
    return optional_text(raw, name, "store")


def optional_text(
    raw: Mapping[str, object], name: str, section: str
) -> str | None:
    """``raw[name]`` if it is a string, ``None`` if absent, else an error
    naming ``section.name``."""
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidConfig(f"{section}.{name}: expected a string")
    return value


def _seconds(raw: Mapping[str, object], name: str, default: float) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidConfig(f"store.{name}: expected seconds as a number")
    if value <= 0:
        raise InvalidConfig(f"store.{name}: must be positive")
    return float(value)


def _secret(raw: Mapping[str, object], name: str) -> str | None:
    """``name`` inline, or read from the file named by ``nameFile``."""
    inline = _text(raw, name)
    path = _text(raw, name + "File")
    if inline is not None and path is not None:
        raise InvalidConfig(f"store: give {name} or {name}File, not both")
    if path is None:
        return inline
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise InvalidConfig(
            f"store.{name}File: cannot read {path}: {exc.strerror}"
        ) from None


def _tls(raw: object) -> TLSOptions | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidConfig("store.tls: expected an object")
    unknown = set(raw) - {
        "ca",
        "cert",
        "key",
        "serverName",
        "insecureSkipVerify",
    }
    if unknown:
        raise InvalidConfig(f"store.tls: unknown field(s) {sorted(unknown)}")
    paths = {}
    for name in ("ca", "cert", "key"):
        value = raw.get(name)
        if value is not None and not Path(str(value)).is_file():
            raise InvalidConfig(f"store.tls.{name}: no file at {value}")
        paths[name] = None if value is None else str(value)
    if (paths["cert"] is None) != (paths["key"] is None):
        raise InvalidConfig("store.tls: cert and key go together")
    return TLSOptions(
        ca=paths["ca"],
        cert=paths["cert"],
        key=paths["key"],
        server_name=raw.get("serverName"),
        insecure_skip_verify=bool(raw.get("insecureSkipVerify", False)),
    )
