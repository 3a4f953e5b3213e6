"""requests-oauth2client against mockauth over a loopback socket: the device flow
(RFC 8628) with each of its polling answers as the library's own exceptions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests_oauth2client as roc

from mockauth import LiveServer, Provider
from mockauth.device import GRANT_TYPE

SECRET = "tv-secret-0123456789-abcdefghijkl"


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    p.add_client(client_id="tv", client_secret=SECRET, grant_types=[GRANT_TYPE, "refresh_token"])
    p.add_user(username="carol")
    p.clock.freeze()
    with LiveServer([p]):
        yield p


def _client(provider: Provider) -> roc.OAuth2Client:
    # from_discovery_document does not read device_authorization_endpoint: pass it.
    return roc.OAuth2Client(
        token_endpoint=provider.endpoint("token"),
        device_authorization_endpoint=provider.endpoint("device_authorization"),
        auth=("tv", SECRET),
        testing=True,  # the library refuses http:// endpoints otherwise
    )


def test_the_device_flow_with_requests_oauth2client(provider: Provider) -> None:
    client = _client(provider)
    started = client.authorize_device(scope="openid offline_access")
    assert isinstance(started, roc.DeviceAuthorizationResponse)
    assert started.verification_uri == provider.issuer + "/device"
    assert started.interval == 5
    with pytest.raises(roc.AuthorizationPending):
        client.device_code(started)
    with pytest.raises(roc.SlowDown):
        client.device_code(started)  # at once again: sooner than the interval
    provider.approve_device(started.user_code, user="carol")
    provider.clock.advance(10)  # the grown interval
    token = client.device_code(started)
    assert token.id_token is not None
    assert provider.tokens.decode(str(token.access_token))["sub"] == provider.user("carol").sub
    assert token.refresh_token


def test_denied_and_expired_with_requests_oauth2client(provider: Provider) -> None:
    client = _client(provider)
    denied = client.authorize_device()
    provider.deny_device(denied.user_code)
    with pytest.raises(roc.AccessDenied):
        client.device_code(denied)
    late = client.authorize_device()
    provider.clock.advance(600)
    with pytest.raises(roc.ExpiredToken):
        client.device_code(late)
