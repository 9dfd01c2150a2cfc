"""Where heavy work goes: this machine, a local cluster of N processes, or a Dask scheduler.

A Dask scheduler runs whatever it is sent, so a scheduler that is not on this machine is
accepted only over TLS with certificates, or with ``insecure`` said out loud. The check reads
the address only: it resolves no name and opens no connection, so a refusal never touches the
network.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_PORT = 8786
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class ClusterRefused(ValueError):
    """An address seggui will not connect to as it was given (the message says why and how)."""


@dataclass(frozen=True)
class ClusterSpec:
    """Where to send work: ``address`` of a running scheduler, or ``workers`` local processes
    (neither: this process, as without a cluster)."""

    address: str = ""
    workers: int = 0
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    insecure: bool = False

    @property
    def used(self) -> bool:
        return bool(self.address or self.workers)

    @property
    def tls(self) -> bool:
        return bool(self.tls_ca and self.tls_cert and self.tls_key)

    def describe(self) -> str:
        if self.address:
            return f"the Dask scheduler at {self.address}" + (" (TLS)" if self.tls else "")
        if self.workers:
            return f"a local cluster of {self.workers} worker processes"
        return "this process"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> ClusterSpec:
        data = data or {}
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def split_address(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a scheduler address such as ``tls://10.0.0.5:8786``,
    ``tcp://[::1]:8786`` or ``127.0.0.1`` (scheme ``tcp`` and port 8786 when left out)."""
    text = address.strip()
    if not text:
        raise ClusterRefused("no scheduler address given")
    if "://" not in text:
        text = "tcp://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("tcp", "tls"):
        raise ClusterRefused(
            f"{address}: seggui speaks to a Dask scheduler over tcp:// or tls://, not {scheme}://"
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise ClusterRefused(f"{address}: {exc}") from exc
    host = parts.hostname or ""
    if not host:
        raise ClusterRefused(f"{address}: no host in the address")
    return scheme, host, port


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the names of this machine's loopback (no lookup)."""
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: only a lookup could say where it points, and none is made


def check_spec(spec: ClusterSpec) -> ClusterSpec:
    """The spec, with the address normalised, when seggui may connect to it; else
    :class:`ClusterRefused` with what to do. Reads strings and files only."""
    if spec.address and spec.workers:
        raise ClusterRefused("give either a scheduler address or a number of local workers")
    if spec.workers < 0:
        raise ClusterRefused("the number of workers must be positive")
    if not spec.address:
        return spec
    given = [bool(spec.tls_ca), bool(spec.tls_cert), bool(spec.tls_key)]
    if any(given) and not all(given):
        raise ClusterRefused(
            "TLS needs three files: the CA certificate, this client's certificate and its key "
            "(--tls-ca, --tls-cert, --tls-key)"
        )
    for name in (spec.tls_ca, spec.tls_cert, spec.tls_key):
        if name and not Path(name).is_file():
            raise ClusterRefused(f"{name}: TLS file not found")
    scheme, host, port = split_address(spec.address)
    if spec.tls:
        scheme = "tls"
    elif scheme == "tls":
        raise ClusterRefused(
            f"{spec.address}: a tls:// address needs certificates (--tls-ca, --tls-cert, --tls-key)"
        )
    elif not is_loopback(host) and not spec.insecure:
        raise ClusterRefused(
            f"refusing to send work to {spec.address} without TLS: a Dask scheduler runs "
            "whatever it is sent, so anyone on the path could run code on it or read the "
            "slides. Give certificates (--tls-ca, --tls-cert, --tls-key), or --insecure on a "
            "network you trust"
        )
    shown = f"[{host}]" if ":" in host else host
    return ClusterSpec(
        f"{scheme}://{shown}:{port}",
        0,
        spec.tls_ca,
        spec.tls_cert,
        spec.tls_key,
        spec.insecure,
    )


def insecure_warning(spec: ClusterSpec) -> str:
    """The warning to show when a plain connection to another machine was allowed."""
    if not spec.address or spec.tls:
        return ""
    _, host, _ = split_address(spec.address)
    if is_loopback(host):
        return ""
    return (
        f"warning: sending work to {spec.address} without TLS (--insecure): anyone on the "
        "network path can read the slides and run code on the cluster"
    )
