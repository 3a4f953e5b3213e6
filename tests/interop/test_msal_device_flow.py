"""MSAL's device flow (``initiate_device_flow`` / ``acquire_token_by_device_flow``)
against mockauth over https (MSAL refuses plain http), with the test CA."""

from __future__ import annotations

import msal
import pytest

from mockauth import Provider
from mockauth.device import GRANT_TYPE


@pytest.fixture
def untrusting_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests reads REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE before a session's verify."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def test_msal_device_flow(untrusting_env: None) -> None:
    provider = Provider()
    provider.add_client(client_id="cli", public=True, grant_types=[GRANT_TYPE, "refresh_token"])
    alice = provider.add_user(username="alice-dev", email="alice@example.test")
    with provider.serve(tls=True) as server:
        app = msal.PublicClientApplication(
            "cli", oidc_authority=provider.issuer, verify=server.ca_file
        )
        flow = app.initiate_device_flow(scopes=["api.read"])
        assert flow["verification_uri"] == provider.issuer + "/device"
        assert isinstance(flow["interval"], int)
        provider.approve_device(flow["user_code"], user="alice-dev")  # before the first poll
        result = app.acquire_token_by_device_flow(flow)
    assert result.get("token_type") == "Bearer", result
    assert result["id_token_claims"]["sub"] == alice.sub
    assert "refresh_token" in result
    provider.calls.assert_called("token", times=1, status=200, client_id="cli")


def test_msal_sees_a_denied_device_flow(untrusting_env: None) -> None:
    provider = Provider()
    provider.add_client(client_id="cli", public=True, grant_types=[GRANT_TYPE])
    with provider.serve(tls=True) as server:
        app = msal.PublicClientApplication(
            "cli", oidc_authority=provider.issuer, verify=server.ca_file
        )
        flow = app.initiate_device_flow(scopes=["api.read"])
        provider.deny_device(flow["user_code"])
        result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "access_denied"
