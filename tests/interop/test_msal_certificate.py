"""MSAL's confidential client with a certificate (``client_credential`` with a
private key and its certificate or thumbprint) against mockauth over https:
private_key_jwt (RFC 7523 §2.2) with the key named by ``x5t#S256`` (PS256) or
``x5t`` (RS256) and no ``kid``, float ``exp``/``iat``, and the assertion reused."""

from __future__ import annotations

import base64
import datetime
import json
from typing import Any

import jwt
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mockauth import Provider


@pytest.fixture
def untrusting_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE before a session's verify."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "daemon")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def _register(provider: Provider, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    """The client's JWK carries its certificate (x5c), as an Entra app registration does;
    mockauth works the thumbprints out from it."""
    der = cert.public_bytes(serialization.Encoding.DER)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk["x5c"] = [base64.b64encode(der).decode()]
    provider.add_client(
        client_id="daemon",
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [jwk]},
        grant_types=["client_credentials"],
    )


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize("named_by", ["public_certificate", "thumbprint"])
def test_msal_client_assertion_from_a_certificate(untrusting_env: None, named_by: str) -> None:
    key, cert = _certificate()
    provider = Provider()
    _register(provider, key, cert)
    credential: dict[str, Any] = {"private_key": _pem(key)}
    if named_by == "public_certificate":
        credential["public_certificate"] = cert.public_bytes(serialization.Encoding.PEM).decode()
    else:
        credential["thumbprint"] = cert.fingerprint(hashes.SHA1()).hex()
    with provider.serve(tls=True) as server:
        app = msal.ConfidentialClientApplication(
            "daemon", client_credential=credential, oidc_authority=provider.issuer,
            verify=server.ca_file,
        )  # fmt: skip
        first = app.acquire_token_for_client(scopes=["api://orders/.default"])
        assert first.get("token_type") == "Bearer", first
        claims = provider.tokens.decode(first["access_token"])
        assert claims["client_id"] == "daemon"
        # MSAL caches the token; a forced second request reuses its assertion (and jti)
        app.token_cache = msal.TokenCache()
        second = app.acquire_token_for_client(scopes=["api://orders/.default"])
        assert second.get("token_type") == "Bearer", second
    calls = provider.calls.filter("token", status=200)
    assert len(calls) == 2
    assert calls[0].params["client_assertion"] == "[redacted]"
    # the reused assertion is noted, not refused (reject_replayed_assertions is off)
    assert [e["event"] for e in calls[1].events] == ["assertion_replayed"]
