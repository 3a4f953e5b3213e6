"""The OpenAPI 3.1 description of the admin API, made from its routes."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from ..config import (
    ASYMMETRIC_ALGS,
    RESOURCE_PATH,
    STANDARD_CLAIMS,
    ClientConfig,
    ResourceConfig,
    TrustedIssuerConfig,
    UserConfig,
)
from ..registry import AUTH_METHODS, ENDPOINTS, GRANTS
from ..scenarios.rules import MATCH_KEYS
from .access import TOKEN_HEADER
from .views import _CALL_FIELDS

if TYPE_CHECKING:
    from .route import Route


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list_of(prop: str, name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {prop: {"type": "array", "items": _ref(name)}},
        "required": [prop],
    }


#: An absolute URI as the config checks it: a scheme, and a host after http(s)://.
_URI = {
    "type": "string",
    "format": "uri",
    "pattern": "^(?:(?![Hh][Tt][Tt][Pp][Ss]?:)[A-Za-z][A-Za-z0-9+.-]*:|[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+)",
}
#: An http(s) URL without a fragment (a JWK Set's address).
_HTTP_URL = {"type": "string", "format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]+[^#]*$"}
#: A public JWK (RFC 7517 §4): a kty, and no private key members.
_PUBLIC_JWK = {
    "type": "object",
    "properties": {"kty": {"type": "string"}},
    "required": ["kty"],
    "not": {"anyOf": [{"required": [m]} for m in ("d", "p", "q", "dp", "dq", "qi", "k")]},
}
#: A JWK Set (RFC 7517 §5): a non-empty list of public keys.
_JWKS = {
    "type": "object",
    "properties": {"keys": {"type": "array", "minItems": 1, "items": _PUBLIC_JWK}},
    "required": ["keys"],
}
#: A redirect URI: an absolute URI without a fragment (RFC 6749 §3.1.2).
_REDIRECT_URI = {**_URI, "pattern": _URI["pattern"] + "[^#]*$"}
#: Space-separated names of RFC 6749 §3.3 characters ("code", "code id_token").
_RESPONSE_TYPE = "^[!#-\\[\\]-~]+( [!#-\\[\\]-~]+)*$"
#: A list of scope tokens (RFC 6749 §3.3).
_SCOPES = {"type": "array", "items": {"type": "string", "pattern": "^[!#-\\[\\]-~]+$"}}
_URI_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri", "jwks_uri")
#: Path parameters that are not plain strings.
_PATH_PARAMETERS: dict[str, dict[str, Any]] = {"rule_id": {"type": "integer", "minimum": 1}}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def _object_schema(properties: Mapping[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def _hint_schema(hint: Any) -> dict[str, Any]:
    """JSON Schema for a config field's type hint."""
    origin = get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_hint_schema(a) for a in get_args(hint) if a is not type(None)]
        schema = options[0] if len(options) == 1 else {"oneOf": options}
        if type(None) in get_args(hint):
            return {"oneOf": [schema, {"type": "null"}]}
        return schema
    if origin is Literal:
        return {"enum": list(get_args(hint))}
    if origin is tuple:
        item = _hint_schema(get_args(hint)[0])
        if get_args(hint)[0] is str:
            return {"oneOf": [{"type": "array", "items": item}, {"type": "string"}]}
        return {"type": "array", "items": item}
    if origin in (Mapping, dict) or hint in (dict, Mapping):
        return {"type": "object"}
    names = {bool: "boolean", int: "integer", str: "string", float: "number"}
    if hint in names:
        return {"type": names[hint]}
    return {}


def _config_schema(cls: type, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties = {f.name: _hint_schema(hints[f.name]) for f in dataclasses.fields(cls)}
    properties.update(extra or {})
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _rule_input() -> dict[str, Any]:
    """A rule table: the matcher, the lifetime, and the keys of every registered fault kind."""
    from ..faults.tables import fault_kinds  # the kinds load when first needed

    kinds = fault_kinds()
    properties: dict[str, Any] = {
        "endpoint": {"enum": list(ENDPOINTS.names())},
        "method": {"type": "string"},
        "grant_type": {"type": "string"},
        "client_id": {"type": "string"},
        "params": {"type": "object", "additionalProperties": {"type": "string"}},
        "times": {"type": "integer", "minimum": 1},
        "after": {"type": "integer", "minimum": 0},
        "sequence": {
            "type": "array",
            "items": {"oneOf": [{"type": t} for t in ("integer", "string", "object")]},
        },
        "strict": {"type": "boolean"},
        "name": {"type": "string"},
    }
    for kind in kinds:
        for key in kind.keys:
            properties.setdefault(key, dict(kind.schema.get(key, {})))
    faults = ", ".join(kind.keys[0] for kind in kinds)
    return {
        "type": "object",
        "description": "A scenario rule as in a scenario file: matcher keys ("
        + ", ".join(MATCH_KEYS)
        + "), lifetime keys (times, after, sequence, strict, name) and one fault ("
        + faults
        + ").",
        "properties": properties,
        "additionalProperties": False,
    }


def _components() -> dict[str, Any]:
    nullable_string = {"type": ["string", "null"]}
    string_list = {"type": "array", "items": {"type": "string"}}
    fault = {"type": ["object", "null"], "properties": {"kind": {"type": "string"}}}
    return {
        "Error": _object_schema(
            {
                "error": {"type": "string"},
                "key": {
                    "type": ["string", "null"],
                    "description": "the bad field, e.g. redirect_uris[0]",
                },
                "message": {"type": "string"},
            },
            ("error", "key", "message"),
        ),
        "Issuer": _object_schema(
            {
                "issuer_id": {"type": "string"},
                "issuer": {"type": "string"},
                "discovery": {"type": "string"},
                "clients": {"type": "integer"},
                "users": {"type": "integer"},
                "rules": {"type": "integer"},
                "calls": {"type": "integer"},
            },
            ("issuer_id", "issuer", "discovery", "clients", "users", "rules", "calls"),
        ),
        "Client": _object_schema(
            {
                "client_id": {"type": "string"},
                "client_secret": nullable_string,
                "public": {"type": "boolean"},
                "redirect_uris": string_list,
                "post_logout_redirect_uris": string_list,
                "grant_types": string_list,
                "allowed_scopes": {"type": ["array", "null"], "items": {"type": "string"}},
                "default_scope": {"type": "string"},
                "audience": string_list,
                "token_endpoint_auth_method": nullable_string,
                "id_token_signed_response_alg": nullable_string,
                "extra_claims": {"type": "object"},
                "name": nullable_string,
                "lenient": {"type": "boolean"},
                # RFC 7591 §2 client metadata (absent values left out)
                "response_types": string_list,
                "scope": {"type": "string"},
                "client_name": {"type": "string"},
                "client_uri": {"type": "string"},
                "logo_uri": {"type": "string"},
                "tos_uri": {"type": "string"},
                "policy_uri": {"type": "string"},
                "contacts": string_list,
                "software_id": {"type": "string"},
                "software_version": {"type": "string"},
                "jwks": {"type": "object"},
                "jwks_uri": {"type": "string"},
                "token_endpoint_auth_signing_alg": {"type": "string"},
                "application_type": {"type": "string"},
                "require_pushed_authorization_requests": {"type": "boolean"},
                "client_id_issued_at": {"type": "integer"},
                "client_secret_expires_at": {"type": "integer"},
                "reject_replayed_assertions": {"type": ["boolean", "null"]},
            },
            ("client_id", "client_secret", "public", "redirect_uris", "grant_types"),
        ),
        "TrustedIssuer": _object_schema(
            {
                "issuer": {"type": "string"},
                "jwks": {"type": ["object", "null"]},
                "jwks_uri": nullable_string,
                "subjects": {"type": ["array", "null"], "items": {"type": "string"}},
                "audiences": string_list,
                "algorithms": string_list,
                "max_lifetime": {"type": "integer"},
                "reject_replay": {"type": "boolean"},
            },
            (
                "issuer",
                "jwks",
                "jwks_uri",
                "subjects",
                "audiences",
                "algorithms",
                "max_lifetime",
                "reject_replay",
            ),
        ),
        "ClientMetadataDocument": {
            "type": "object",
            "description": "A client ID metadata document: RFC 7591 client metadata whose "
            "client_id is the https URL it is served at (http on a loopback host); "
            "token_endpoint_auth_method none or private_key_jwt; other members are kept.",
            "properties": {
                "client_id": {"type": "string", "format": "uri"},
                "redirect_uris": {"type": "array", "minItems": 1, "items": _REDIRECT_URI},
            },
            "required": ["client_id", "redirect_uris"],
        },
        "Resource": _object_schema(
            {
                "path": {"type": "string"},
                "url": {"type": "string", "format": "uri"},
                "metadata_url": {"type": "string", "format": "uri"},
                "scopes": string_list,
                "scopes_supported": {"type": ["array", "null"], "items": {"type": "string"}},
                "audience": string_list,
                "resource_name": nullable_string,
                "dpop_required": {"type": "boolean"},
            },
            (
                "path",
                "url",
                "metadata_url",
                "scopes",
                "scopes_supported",
                "audience",
                "resource_name",
                "dpop_required",
            ),
        ),
        "ResourceInput": {
            **_config_schema(
                ResourceConfig,
                {
                    "path": {"type": "string", "pattern": RESOURCE_PATH},
                    "scopes": _SCOPES,
                    "scopes_supported": {"oneOf": [_SCOPES, {"type": "null"}]},
                    "audience": {"type": "array", "items": {"type": "string", "minLength": 1}},
                },
            ),
            "required": ["path"],
        },
        "TrustedIssuerInput": {
            **_config_schema(
                TrustedIssuerConfig,
                {
                    "issuer": {"type": "string", "minLength": 1},
                    "jwks": _JWKS,
                    "jwks_uri": _HTTP_URL,
                    "algorithms": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"enum": list(ASYMMETRIC_ALGS)},
                    },
                    "max_lifetime": {"type": "integer", "minimum": 1},
                },
            ),
            "required": ["issuer"],
            "oneOf": [{"required": ["jwks"]}, {"required": ["jwks_uri"]}],
            "description": "jwks or jwks_uri, one of them",
        },
        "ClientInput": _config_schema(
            ClientConfig,
            {
                **{name: _nullable(_URI) for name in _URI_FIELDS},
                "jwks_uri": _nullable(_HTTP_URL),
                "jwks": _nullable(_JWKS),
                "response_types": _nullable(
                    {"type": "array", "items": {"type": "string", "pattern": _RESPONSE_TYPE}}
                ),
                **{
                    name: {"oneOf": [{"type": "array", "items": _REDIRECT_URI}, _REDIRECT_URI]}
                    for name in ("redirect_uris", "post_logout_redirect_uris")
                },
                "grant_types": {
                    "oneOf": [
                        {"type": "array", "items": {"enum": list(GRANTS.names())}},
                        {"type": "null"},
                    ]
                },
                "token_endpoint_auth_method": {
                    "oneOf": [{"enum": list(AUTH_METHODS.names())}, {"type": "null"}]
                },
            },
        ),
        "User": _object_schema(
            {
                "sub": {"type": "string"},
                "username": {"type": "string"},
                "password": nullable_string,
                "claims": {"type": "object"},
            },
            ("sub", "username", "password", "claims"),
        ),
        "UserInput": _config_schema(
            UserConfig,
            {
                **{name: {} for name in sorted(STANDARD_CLAIMS)},
                "username": _nullable({"type": "string", "minLength": 1}),
                "sub": _nullable({"type": "string", "minLength": 1}),
            },
        ),
        "Rule": _object_schema(
            {
                "id": {"type": "integer"},
                "name": nullable_string,
                "match": {"type": "object"},
                "fault": fault,
                "sequence": {"type": ["array", "null"], "items": {"type": "object"}},
                "times": {"type": ["integer", "null"]},
                "after": {"type": "integer"},
                "strict": {"type": "boolean"},
                "seen": {"type": "integer"},
                "used": {"type": "integer"},
            },
            ("id", "match", "times", "after", "strict", "seen", "used"),
        ),
        "RuleInput": _rule_input(),
        "Scenario": {
            "type": "object",
            "description": "A scenario file's content (see fixtures/scenarios/).",
            "properties": {
                "description": {"type": "string"},
                "rules": {"type": "array", "items": _ref("RuleInput")},
                "clock": _object_schema(
                    {"offset": {"type": "number"}, "frozen_at": {}, "advance": {"type": "number"}}
                ),
                "rotate_keys": {},
                "rotate_client_secret": {},
                "revoke_tokens": {},
            },
            "additionalProperties": False,
        },
        "Call": _object_schema(
            {
                "endpoint": {
                    "type": ["string", "null"],
                    "description": "null for a path no endpoint serves (a 404)",
                },
                "method": {"type": "string"},
                "path": {"type": "string"},
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "client_id": nullable_string,
                "grant_type": nullable_string,
                "time": {"type": "number"},
                "status": {"type": ["integer", "null"]},
                "error": nullable_string,
                "rule": {"type": ["integer", "null"]},
                "issued": {
                    "type": "array",
                    "description": "the tokens minted for the call: decoded claims, no tokens",
                    "items": _object_schema(
                        {"token": {"type": "string"}, "claims": {"type": "object"}},
                        ("token", "claims"),
                    ),
                },
                "events": {
                    "type": "array",
                    "description": "what the provider noticed that did not change the answer "
                    "(assertion_replayed: a client assertion's jti seen before)",
                    "items": {
                        "type": "object",
                        "properties": {"event": {"type": "string"}},
                        "required": ["event"],
                    },
                },
            },
            tuple(_CALL_FIELDS),
        ),
        "Clock": _object_schema(
            {"now": {"type": "number"}, "frozen": {"type": ["boolean", "null"]}},
            ("now", "frozen"),
        ),
        "Key": _object_schema(
            {
                "kid": {"type": "string"},
                "alg": {"type": "string"},
                "active": {"type": "boolean"},
                "published": {"type": "boolean"},
            },
            ("kid", "alg", "active", "published"),
        ),
    }


_ERRORS = {
    "400": "Bad input; `key` names the field",
    "401": "No admin token",
    "403": "Not a loopback client, or a wrong token",
    "404": "No such issuer, client, user, rule or key",
    "409": "Conflicts with the current state",
    "413": "Body over 64 KiB",
    "415": "Body is not JSON",
}


def _query_schema(name: str) -> dict[str, Any]:
    if name == "replace":
        return {"enum": ["true", "false"]}
    if name == "endpoint":
        return {"enum": list(ENDPOINTS.names())}
    return {"type": "string"}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
    }
    if route.description:
        op["description"] = route.description
    names = re.findall(r"{(\w+)}", route.path)
    parameters = [
        {
            "name": n,
            "in": "path",
            "required": True,
            "schema": _PATH_PARAMETERS.get(n, {"type": "string", "minLength": 1}),
        }
        for n in names
    ]
    parameters += [
        {"name": q, "in": "query", "required": False, "schema": _query_schema(q)}
        for q in route.query
    ]
    if parameters:
        op["parameters"] = parameters
    if route.body is not None:
        op["requestBody"] = {
            "required": route.body_required,
            "content": {t: {"schema": route.body} for t in route.body_types},
        }
    if route.response is None:
        ok: dict[str, Any] = {"description": "Done"}
        status = 204
    else:
        ok = {"description": "OK", "content": {"application/json": {"schema": route.response}}}
        status = route.status
    responses: dict[str, Any] = {str(status): ok}
    for code in _ERRORS:
        if route.auth or code != "401":
            responses[code] = {"$ref": f"#/components/responses/{code}"}
    op["responses"] = responses
    if not route.auth:
        op["security"] = []
    return op


def description(routes: Iterable[Route], server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``routes``, served at ``server_url``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mockauth admin API",
            "version": "1",
            "description": "Steer a running `mockauth serve` (TEST ONLY). Loopback clients "
            f"only; send the per-run token printed at start-up in `{TOKEN_HEADER}`. Errors "
            "are JSON with `error`, `message` and `key` (the bad field).",
        },
        "servers": [{"url": server_url}],
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminToken": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER}
            },
            "schemas": _components(),
            "responses": {
                code: {
                    "description": text,
                    "content": {"application/json": {"schema": _ref("Error")}},
                }
                for code, text in _ERRORS.items()
            },
        },
    }
