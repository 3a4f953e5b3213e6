"""The routes of the admin API (:data:`ROUTES`) and its OpenAPI document, made from them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import SIGNING_ALGS
from ..http import Response
from .access import ADMIN_PREFIX
from .credentials import (
    _access_token,
    _approve_device,
    _deny_device,
    _id_token,
    _keys,
    _next_login,
    _retire_key,
    _revoke_tokens,
    _rotate_keys,
)
from .handlers import (
    _CALL_FILTERS,
    _add_client,
    _add_document,
    _add_resource,
    _add_rule,
    _add_user,
    _advance,
    _calls,
    _check,
    _clear_calls,
    _clear_rules,
    _clients,
    _clock,
    _documents,
    _freeze,
    _get_client,
    _get_resource,
    _get_rule,
    _get_trusted,
    _get_user,
    _issuer,
    _issuers,
    _load_scenario,
    _move_to,
    _remove_client,
    _remove_document,
    _remove_resource,
    _remove_rule,
    _remove_user,
    _reset_all,
    _reset_clock,
    _reset_issuer,
    _resources,
    _rotate_secret,
    _rules,
    _trust_issuer,
    _trusted_issuers,
    _unfreeze,
    _untrust_issuer,
    _users,
)
from .inputs import _MAX_SECONDS, _MAX_TIME
from .openapi import _list_of, _object_schema, _ref, description
from .route import Route
from .views import _reply

if TYPE_CHECKING:
    from .context import Context


def _openapi(ctx: Context) -> Response:
    doc = openapi(ctx.request.host_url.rstrip("/") + ADMIN_PREFIX)
    return _reply(doc)


_EMPTY = _object_schema({})
#: 1970 to 9999, as the clock takes it (the offset may still move it out: 400).
_DATE_TIME = {"type": "string", "format": "date-time", "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-"}
_INSTANT: dict[str, Any] = {
    "oneOf": [
        {"type": "number", "minimum": 0, "maximum": _MAX_TIME},
        _DATE_TIME,
    ],
    "description": "POSIX seconds, or an ISO 8601 date-time with a time zone",
}
_STRINGS = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_SECONDS = {"type": "integer", "minimum": -_MAX_SECONDS, "maximum": _MAX_SECONDS}
_RESET = {
    "type": "object",
    "properties": {"reset": {"type": "array", "items": {"type": "string"}}},
    "required": ["reset"],
}
_I = "/issuers/{issuer_id}"
_NONEMPTY = {"type": "string", "minLength": 1}


def _fields_body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The schema of a body read with ``inputs._fields``: ``null`` counts as absent, so
    every member that is not required may be ``null``."""
    return _object_schema(
        {
            k: v if k in required else {"oneOf": [v, {"type": "null"}]}
            for k, v in properties.items()
        },
        required,
    )


ROUTES: tuple[Route, ...] = (
    Route("GET", "/openapi.json", _openapi, "This OpenAPI description", "meta",
          response={"type": "object"}, auth=False,
          description="Loopback only, but needs no token: it holds no secrets."),
    Route("GET", "/issuers", _issuers, "List the issuers", "issuers",
          response=_list_of("issuers", "Issuer")),
    Route("POST", "/reset", _reset_all, "Reset every issuer to its start-up state", "issuers",
          body=_EMPTY, response=_RESET,
          description="Clients and users as configured (runtime changes undone), the rules "
          "loaded at start-up with fresh counters, an empty journal, the clock as at start-up, "
          "and no codes, tokens or sessions. Signing keys are kept."),
    Route("GET", _I, _issuer, "One issuer", "issuers", response=_ref("Issuer")),
    Route("POST", f"{_I}/reset", _reset_issuer, "Reset one issuer to its start-up state",
          "issuers", body=_EMPTY, response=_RESET),
    Route("GET", f"{_I}/check", _check, "Were strict rules used as expected?", "rules",
          response=_object_schema({"ok": {"type": "boolean"},
                                   "message": {"type": ["string", "null"]}}, ("ok", "message")),
          description="What the pytest fixture checks at teardown: `ok` is false, with the "
          "near-misses in `message`, when a rule with `times` or a `sequence` was not used up."),
    Route("GET", f"{_I}/clients", _clients, "List clients", "clients",
          response=_list_of("clients", "Client")),
    Route("POST", f"{_I}/clients", _add_client, "Register a client", "clients",
          body=_ref("ClientInput"), response=_ref("Client"), status=201,
          description="The fields of a config file's client; id and secret are generated "
          "when left out."),
    Route("GET", f"{_I}/clients/{{client_id}}", _get_client, "One client", "clients",
          response=_ref("Client")),
    Route("DELETE", f"{_I}/clients/{{client_id}}", _remove_client, "Unregister a client",
          "clients"),
    Route("POST", f"{_I}/clients/{{client_id}}/rotate_secret", _rotate_secret,
          "Give a client a new secret; the old one fails from now on", "clients",
          body=_fields_body({"client_secret": _NONEMPTY}),
          response=_ref("Client")),
    Route("GET", f"{_I}/trusted_issuers", _trusted_issuers,
          "List the issuers whose JWTs the JWT bearer grant and token exchange accept",
          "trusted_issuers", response=_list_of("trusted_issuers", "TrustedIssuer")),
    Route("POST", f"{_I}/trusted_issuers", _trust_issuer, "Trust an issuer", "trusted_issuers",
          body=_ref("TrustedIssuerInput"), body_required=True, response=_ref("TrustedIssuer"),
          status=201,
          description="The fields of a config file's trusted_issuers entry: issuer, and jwks "
          "or jwks_uri."),
    Route("GET", f"{_I}/trusted_issuers/{{issuer}}", _get_trusted,
          "One trusted issuer (its URL percent-encoded)", "trusted_issuers",
          response=_ref("TrustedIssuer")),
    Route("DELETE", f"{_I}/trusted_issuers/{{issuer}}", _untrust_issuer,
          "Stop trusting an issuer (its URL percent-encoded)", "trusted_issuers"),
    Route("GET", f"{_I}/client_metadata_documents", _documents,
          "List the client ID metadata documents served without a network",
          "client_metadata_documents",
          response=_list_of("documents", "ClientMetadataDocument")),
    Route("POST", f"{_I}/client_metadata_documents", _add_document,
          "Serve a client ID metadata document (its client_id is its URL)",
          "client_metadata_documents", body=_ref("ClientMetadataDocument"), body_required=True,
          response=_ref("ClientMetadataDocument"), status=201),
    Route("DELETE", f"{_I}/client_metadata_documents/{{url}}", _remove_document,
          "Forget a client ID metadata document (its URL percent-encoded)",
          "client_metadata_documents"),
    Route("GET", f"{_I}/resources", _resources,
          "List the mock protected resources this issuer guards (RFC 9728)", "resources",
          response=_list_of("resources", "Resource")),
    Route("POST", f"{_I}/resources", _add_resource,
          "Serve a mock protected resource at a path of the server root", "resources",
          body=_ref("ResourceInput"), body_required=True, response=_ref("Resource"), status=201,
          description="The fields of a config file's resources entry: path (/mcp), scopes, "
          "scopes_supported, audience, resource_name, dpop_required."),
    Route("GET", f"{_I}/resources/{{path}}", _get_resource,
          "One resource (its path percent-encoded, or without its leading slash)", "resources",
          response=_ref("Resource")),
    Route("DELETE", f"{_I}/resources/{{path}}", _remove_resource,
          "Stop serving a resource (its path percent-encoded)", "resources"),
    Route("GET", f"{_I}/users", _users, "List users", "users", response=_list_of("users", "User")),
    Route("POST", f"{_I}/users", _add_user, "Register a user", "users",
          body=_ref("UserInput"), response=_ref("User"), status=201,
          description="Without a username, a Faker identity from the seed."),
    Route("GET", f"{_I}/users/{{user}}", _get_user, "One user (by sub, username or email)",
          "users", response=_ref("User")),
    Route("DELETE", f"{_I}/users/{{user}}", _remove_user, "Unregister a user", "users"),
    Route("GET", f"{_I}/rules", _rules, "List scenario rules, in the order they are tried",
          "rules", response=_list_of("rules", "Rule")),
    Route("POST", f"{_I}/rules", _add_rule, "Add a scenario rule", "rules",
          body=_ref("RuleInput"), body_required=True, response=_ref("Rule"), status=201),
    Route("DELETE", f"{_I}/rules", _clear_rules, "Remove every scenario rule", "rules"),
    Route("GET", f"{_I}/rules/{{rule_id}}", _get_rule, "One scenario rule", "rules",
          response=_ref("Rule")),
    Route("DELETE", f"{_I}/rules/{{rule_id}}", _remove_rule, "Remove one scenario rule",
          "rules"),
    Route("POST", f"{_I}/scenario", _load_scenario, "Apply a scenario",
          "rules", status=201, query=("replace", "name"),
          body=_ref("Scenario"), body_types=("application/json", "application/toml"),
          response=_object_schema({"description": {"type": "string"},
                                   "rules": {"type": "array", "items": _ref("Rule")}},
                                  ("description", "rules")),
          description="The content of a scenario file in the body (JSON, or TOML as it is on "
          "disk): rules, clock settings and one-off actions; or, with an empty body, "
          "`?name=` a library scenario (`flaky-token-endpoint`) or a file on the server's "
          "machine. Everything is checked before anything changes. `?replace=true` removes "
          "the existing rules first."),
    Route("GET", f"{_I}/clock", _clock, "Read the provider clock", "clock",
          response=_ref("Clock")),
    Route("POST", f"{_I}/clock/freeze", _freeze, "Stop the clock (now, or at `at`)", "clock",
          body=_fields_body({"at": _INSTANT}), response=_ref("Clock")),
    Route("POST", f"{_I}/clock/advance", _advance, "Move the clock by `seconds` (may be "
          "negative)", "clock", body=_fields_body({"seconds": {"type": "number"}},
                                                   ("seconds",)),
          body_required=True, response=_ref("Clock")),
    Route("POST", f"{_I}/clock/move_to", _move_to, "Jump to an instant", "clock",
          body=_fields_body({"at": _INSTANT}, ("at",)), body_required=True,
          response=_ref("Clock")),
    Route("POST", f"{_I}/clock/unfreeze", _unfreeze, "Let the clock run from where it stands",
          "clock", body=_EMPTY, response=_ref("Clock")),
    Route("POST", f"{_I}/clock/reset", _reset_clock, "Back to the system clock", "clock",
          body=_EMPTY, response=_ref("Clock")),
    Route("GET", f"{_I}/keys", _keys, "List the signing keys", "keys",
          response=_list_of("keys", "Key")),
    Route("POST", f"{_I}/keys/rotate", _rotate_keys,
          "Sign with a new key; the old one stays published until retired", "keys",
          body=_fields_body({"alg": {"enum": list(SIGNING_ALGS)}}), response=_ref("Key"),
          status=201),
    Route("DELETE", f"{_I}/keys/{{kid}}", _retire_key,
          "Retire a key: it leaves the JWKS and its tokens stop verifying", "keys"),
    Route("POST", f"{_I}/tokens/access", _access_token, "Mint an access token", "tokens",
          body=_fields_body({
              "subject": _NONEMPTY, "client_id": _NONEMPTY,
              "scope": _STRINGS, "audience": _STRINGS, "expires_in": _SECONDS,
              "claims": {"type": "object"}, "opaque": {"type": "boolean"},
              "alg": {"enum": list(SIGNING_ALGS)}, "kid": {"type": "string"},
              "not_before": _SECONDS}),
          response=_object_schema({"access_token": {"type": "string"},
                                   "token_type": {"const": "Bearer"}},
                                  ("access_token", "token_type")),
          description="`provider.issue_token(...)`: negative `expires_in` for a token that "
          "is already expired, `not_before` (seconds from now) for one not valid yet."),
    Route("POST", f"{_I}/tokens/id", _id_token, "Mint an ID token", "tokens",
          body=_fields_body({
              "subject": _NONEMPTY, "client_id": _NONEMPTY,
              "nonce": {"type": "string"},
              "access_token": {"type": "string", "pattern": "^[!-~]+$"},
              "expires_in": _SECONDS, "claims": {"type": "object"}}),
          response=_object_schema({"id_token": {"type": "string"}}, ("id_token",))),
    Route("POST", f"{_I}/next_login", _next_login,
          "Complete the next /authorize at once as a user, with extra claims", "users",
          body=_fields_body({"user": _NONEMPTY, "claims": {"type": "object"}}),
          response=_object_schema({"sub": {"type": "string"}, "claims": {"type": "object"}},
                                  ("sub", "claims")),
          status=201,
          description="As `user` (a sub, username or email), else the default user, as if "
          "they had signed in on the login page; `claims` go into its ID token and userinfo "
          "(not the ones the provider sets: iss, sub, aud ...). Calls queue up."),
    Route("POST", f"{_I}/devices/{{user_code}}/approve", _approve_device,
          "Approve a device authorization request (RFC 8628)", "devices",
          body=_fields_body({"user": _NONEMPTY}),
          description="As `user` (a sub, username or email), else the default user; the "
          "client's next poll gets its tokens. The user code as the device shows it (case "
          "and dashes do not matter). 404 for an unknown code, 409 once expired or decided."),
    Route("POST", f"{_I}/devices/{{user_code}}/deny", _deny_device,
          "Deny a device authorization request (RFC 8628)", "devices", body=_EMPTY,
          description="The client's next poll gets `access_denied`."),
    Route("POST", f"{_I}/tokens/revoke", _revoke_tokens,
          "Revoke every token of a user and/or a client", "tokens",
          body={**_fields_body({"user": _NONEMPTY, "client": _NONEMPTY}),
                "anyOf": [{"required": [k], "properties": {k: _NONEMPTY}}
                          for k in ("user", "client")]},
          body_required=True,
          response=_object_schema({"revoked": {"type": "integer"}}, ("revoked",))),
    Route("GET", f"{_I}/calls", _calls, "Read the request journal (secrets redacted)",
          "journal", response=_list_of("calls", "Call"), query=_CALL_FILTERS),
    Route("DELETE", f"{_I}/calls", _clear_calls, "Forget the request journal", "journal"),
)  # fmt: skip


def openapi(server_url: str = ADMIN_PREFIX) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the admin API (served at ``/_mockauth/openapi.json``)."""
    return description(ROUTES, server_url)
