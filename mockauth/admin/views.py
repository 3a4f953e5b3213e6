"""The JSON the admin API answers with: views of clients, users, calls, keys, the
clock and issuers.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..http import Response, json_response

if TYPE_CHECKING:
    from ..clients import Client
    from ..journal import Call
    from ..keys import SigningKey
    from ..provider import Provider
    from ..trust import TrustedIssuer
    from ..users import User


def _reply(
    data: Mapping[str, Any], status: int = 200, headers: typing.Iterable[tuple[str, str]] = ()
) -> Response:
    """A JSON answer ending with a newline, so that curl output reads well in a terminal."""
    response = json_response(data, status, headers)
    response.set_data(response.get_data() + b"\n")
    return response


def client_json(client: Client) -> dict[str, Any]:
    """The client by its RFC 7591 §2 metadata, plus what only mockauth has."""
    return {
        **client.to_metadata(),
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "public": client.public,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "allowed_scopes": sorted(client.allowed_scopes)
        if client.allowed_scopes is not None
        else None,
        "default_scope": client.default_scope,
        "audience": list(client.audience),
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "reject_replayed_assertions": client.reject_replayed_assertions,
        "extra_claims": dict(client.extra_claims),
        "name": client.name,
        "lenient": client.lenient,
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        "sub": user.sub,
        "username": user.username,
        "password": user.password,
        "claims": dict(user.claims),
    }


_CALL_FIELDS = ("endpoint", "method", "path", "params", "client_id", "grant_type", "time",
                "status", "error", "rule", "issued", "events")  # fmt: skip


def call_json(call: Call) -> dict[str, Any]:
    """A journal entry; parameters were redacted when the call was recorded."""
    return {
        "endpoint": call.endpoint,
        "method": call.method,
        "path": call.path,
        "params": dict(call.params),
        "client_id": call.client_id,
        "grant_type": call.grant_type,
        "time": call.time,
        "status": call.status,
        "error": call.error,
        "rule": call.rule.id if call.rule is not None else None,
        "issued": [dict(entry) for entry in call.issued],
        "events": [dict(entry) for entry in call.events],
    }


def trusted_json(trusted: TrustedIssuer) -> dict[str, Any]:
    """A trusted issuer as configured (its keys are public)."""
    config = trusted.config
    return {
        "issuer": config.issuer,
        "jwks": dict(config.jwks) if config.jwks is not None else None,
        "jwks_uri": config.jwks_uri,
        "subjects": list(config.subjects) if config.subjects is not None else None,
        "audiences": list(config.audiences),
        "algorithms": list(config.algorithms),
        "max_lifetime": config.max_lifetime,
        "reject_replay": config.reject_replay,
    }


def key_json(key: SigningKey, provider: Provider) -> dict[str, Any]:
    active = provider.keys.active(key.alg) is key
    return {"kid": key.kid, "alg": key.alg, "active": active, "published": not key.symmetric}


def clock_json(provider: Provider) -> dict[str, Any]:
    clock = provider.clock
    frozen = getattr(clock, "frozen", None)
    return {"now": clock.now(), "frozen": frozen if isinstance(frozen, bool) else None}


def issuer_json(provider: Provider) -> dict[str, Any]:
    return {
        "issuer_id": provider.issuer_id,
        "issuer": provider.issuer,
        "discovery": provider.endpoint("discovery"),
        "clients": len(provider.clients),
        "users": len(provider.users),
        "rules": len(provider.rules),
        "calls": len(provider.calls),
    }
