"""HTTPS for tests: a certificate authority made once per process, and leaf
certificates it signs for the names a server answers at.

Clients that refuse plain http (MSAL, most mobile and enterprise SDKs) talk
to a provider served with ``tls=True``; they trust the CA's PEM file,
``server.ca_file`` (``verify=server.ca_file`` for requests, httpx and MSAL,
``NODE_EXTRA_CA_CERTS`` for node). Keys are ECDSA P-256: generated in
milliseconds, accepted everywhere. Nothing here is for real traffic: the CA's
private key lives in a temporary folder of this process.
"""

from __future__ import annotations

import atexit
import datetime
import ipaddress
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import MockauthError

__all__ = ["TestCA", "leaf", "server_context", "test_ca"]

#: The names every leaf certificate carries, besides the configured ones.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class _Pair:
    cert_file: str
    key_file: str


class TestCA:
    """A throwaway certificate authority: ``ca_file`` is the PEM to trust."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, folder: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._folder = folder
        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mockauth test CA (TEST ONLY)")])
        now = datetime.datetime.now(datetime.UTC)
        self._name = name
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self.ca_file = str(folder / "mockauth-test-ca.pem")
        Path(self.ca_file).write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._leaves: dict[tuple[str, ...], _Pair] = {}
        self._lock = threading.Lock()

    def leaf(self, names: Iterable[str] = ()) -> tuple[str, str]:
        """``(cert_file, key_file)`` of a server certificate for ``names`` and the
        loopback names, signed by this CA (made once per set of names).
        """
        wanted = tuple(dict.fromkeys([*LOOPBACK_NAMES, *(n for n in names if n)]))
        with self._lock:
            found = self._leaves.get(wanted)
            if found is None:
                found = self._leaves[wanted] = self._make_leaf(wanted, len(self._leaves))
        return found.cert_file, found.key_file

    def _make_leaf(self, names: tuple[str, ...], index: int) -> _Pair:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name.strip("[]"))))
            except ValueError:
                alt.append(x509.DNSName(name))
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        cert_file = self._folder / f"leaf-{index}.pem"
        key_file = self._folder / f"leaf-{index}-key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return _Pair(str(cert_file), str(key_file))


_ca: TestCA | None = None
_ca_lock = threading.Lock()


def test_ca() -> TestCA:
    """The process's test CA, made on first use; its files go when the process ends."""
    global _ca
    with _ca_lock:
        if _ca is None:
            folder = Path(tempfile.mkdtemp(prefix="mockauth-tls-"))
            atexit.register(shutil.rmtree, folder, True)
            _ca = TestCA(folder)
        return _ca


test_ca.__test__ = False  # type: ignore[attr-defined]


def leaf(names: Iterable[str] = ()) -> tuple[str, str]:
    """A leaf certificate of the process's test CA for ``names`` (and loopback)."""
    return test_ca().leaf(names)


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 and later) for a certificate and its key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise MockauthError(f"cannot load the TLS certificate {cert_file}: {exc}") from None
    return context
