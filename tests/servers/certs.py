"""Throwaway certificates for TLS tests, made with the openssl CLI."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TestPKI:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_pki(directory: Path, client_cn: str = "macvlan-ipam") -> TestPKI:
    """A CA, a server cert for 127.0.0.1/localhost, and a client cert."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.crt"
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=macvlan-ipam test CA",
        "-keyout",
        ca_key,
        "-out",
        ca,
    )
    server = _issue(
        directory,
        "server",
        "localhost",
        ca,
        ca_key,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth",
    )
    client = _issue(
        directory,
        "client",
        client_cn,
        ca,
        ca_key,
        "extendedKeyUsage=clientAuth",
    )
    return TestPKI(ca, server[0], server[1], client[0], client[1])


def _issue(
    directory: Path, name: str, cn: str, ca: Path, ca_key: Path, ext: str
) -> tuple[Path, Path]:
    key, csr, crt = (directory / f"{name}.{s}" for s in ("key", "csr", "crt"))
    extfile = directory / f"{name}.ext"
    extfile.write_text(ext + "\n")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={cn}",
        "-keyout",
        key,
        "-out",
        csr,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        extfile,
        "-out",
        crt,
    )
    key.chmod(0o600)
    return crt, key


def _openssl(*args: object) -> None:
    subprocess.run(
        ["openssl", *map(str, args)],
        check=True,
        capture_output=True,
    )
