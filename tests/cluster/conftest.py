"""A Dask cluster on this machine's loopback for the cluster tests: nothing here connects to
any other address."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each, listening on 127.0.0.1 only."""
    from distributed import Client, LocalCluster

    from seggui.model.cluster import local_env, loopback_cluster_options

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            env=local_env(2),
            **loopback_cluster_options(),
        ) as lc,
        Client(lc) as client,
    ):
        yield client


def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA and one certificate it signed for 127.0.0.1, as PEM files (made here, for the
    test's own cluster)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    def build(subject, issuer, key, signer, ca: bool):
        b = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            b = b.add_extension(
                x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                ),
                critical=False,
            )
        return b.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build(name("seggui test CA"), name("seggui test CA"), ca_key, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(name("127.0.0.1"), ca.subject, key, ca_key, False)
    paths = {"ca": folder / "ca.pem", "cert": folder / "cert.pem", "key": folder / "key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths
