"""HTTPS with a per-run test CA (issue 7): served by LiveServer, provider.serve(),
the pytest fixture and ``mockauth serve``, trusted through ``ca_file`` by
clients that refuse plain http.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import msal
import pytest
import requests

from mockauth import LiveServer, MockauthError, Provider
from mockauth.tls import server_context, test_ca

from .serve import ServeProcess

SECRET = "app-secret-0123456789-abcdefghij"


def trusting(ca_file: str | None) -> ssl.SSLContext:
    """What httpx takes as ``verify``: a context that trusts the test CA."""
    assert ca_file is not None
    return ssl.create_default_context(cafile=ca_file)


@pytest.fixture
def untrusting_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE before a session's verify."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def test_provider_serve_tls_with_httpx_and_requests() -> None:
    provider = Provider()
    client = provider.add_client(
        client_id="app", client_secret=SECRET, grant_types=["client_credentials"]
    )
    with provider.serve(tls=True) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert provider.issuer == server.url + "/default"
        assert server.ca_file is not None
        assert Path(server.ca_file).is_file()
        doc = httpx.get(provider.endpoint("discovery"), verify=trusting(server.ca_file)).json()
        assert doc["token_endpoint"].startswith("https://")
        token = requests.post(
            doc["token_endpoint"],
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, SECRET),
            verify=server.ca_file,
            timeout=10,
        )
        assert token.status_code == 200
        with pytest.raises(httpx.ConnectError):  # not trusted without the CA
            httpx.get(provider.endpoint("jwks"), verify=True)
        with pytest.raises(httpx.HTTPError):  # plain http to an https port
            httpx.get(provider.endpoint("jwks").replace("https:", "http:"), timeout=5)
        # ... and the server keeps serving
        assert (
            httpx.get(provider.endpoint("jwks"), verify=trusting(server.ca_file)).status_code == 200
        )
    assert provider.errors == []


def test_the_certificate_names_loopback_and_the_public_host() -> None:
    with LiveServer([Provider()], tls=True, public_url="https://mockauth.test:8443") as server:
        assert server.ca_file is not None
        context = ssl.create_default_context(cafile=server.ca_file)
        for name in ("localhost", "127.0.0.1"):
            url = f"https://{name}:{server.port}/default/jwks"
            assert httpx.get(url, verify=context).status_code == 200, name
    cert_file, _ = test_ca().leaf(["mockauth.test"])
    text = Path(cert_file).read_text()
    assert "BEGIN CERTIFICATE" in text
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "mockauth.test"} <= set(names.get_values_for_type(x509.DNSName))


def test_msal_refuses_http_and_works_over_tls(untrusting_env: None) -> None:
    provider = Provider()
    provider.add_client(client_id="app", client_secret=SECRET, grant_types=["client_credentials"])
    with provider.serve(tls=True) as server:
        app = msal.ConfidentialClientApplication(
            "app", client_credential=SECRET, oidc_authority=provider.issuer, verify=server.ca_file
        )
        result = app.acquire_token_for_client(scopes=["api.read"])
    assert result.get("token_type") == "Bearer", result
    assert "access_token" in result
    provider.calls.assert_called("token", times=1, status=200, client_id="app")


def test_your_own_certificate() -> None:
    cert, key = test_ca().leaf(["own.test"])  # any certificate and key of yours
    with LiveServer([Provider()], tls_cert=cert, tls_key=key) as server:
        assert server.tls
        assert server.ca_file is None  # the CA is yours to know
        assert (
            httpx.get(server.url + "/default/jwks", verify=trusting(test_ca().ca_file)).status_code
            == 200
        )
    with pytest.raises(MockauthError, match="together"):
        LiveServer([Provider()], tls_cert=cert)
    with pytest.raises(MockauthError, match="cannot load the TLS certificate"):
        server_context("/nonexistent.pem", key)


def test_the_fixture_serves_https_by_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import ssl

        import httpx
        import pytest

        @pytest.mark.mockauth(tls=True)
        def test_it(mockauth, mockauth_tls_server):
            assert mockauth.issuer.startswith("https://")
            context = ssl.create_default_context(cafile=mockauth_tls_server.ca_file)
            r = httpx.get(mockauth.endpoint("discovery"), verify=context)
            assert r.json()["issuer"] == mockauth.issuer

        def test_plain(mockauth):
            assert mockauth.issuer.startswith("http://")
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_mockauth_serve_tls(tmp_path: Path) -> None:
    with ServeProcess("--tls", cwd=tmp_path) as served:
        assert served.url.startswith("https://")
        ca_line = next(line for line in served.banner if line.startswith("TLS CA"))
        ca_file = ca_line.split()[2]
        url = served.url + "/default/.well-known/openid-configuration"
        r = httpx.get(url, verify=trusting(ca_file))
        assert r.json()["issuer"] == served.url + "/default"
    cert, _ = test_ca().leaf()
    import subprocess
    import sys

    half = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--tls-cert", cert],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert (half.returncode, "go together" in half.stderr) == (2, True)
