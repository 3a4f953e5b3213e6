"""The admin API against its own OpenAPI document, fuzzed with schemathesis (D11).

Every operation of ``/_mockauth/openapi.json`` gets generated requests, valid and
invalid, on a bounded budget; the server must never answer 500, must answer only
the statuses and bodies the document describes, must reject what the document
forbids, and must accept what it allows (but for the few inputs a JSON Schema
cannot judge, listed below with the reason).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mockauth import LiveServer, Provider
from mockauth.admin import TOKEN_HEADER
from mockauth.admin.routes import ROUTES

TOKEN = "fuzz-admin-token-0123456789"

#: Operations whose valid-looking input may still be refused with a 400 naming the key,
#: for a reason that depends on state or on how members combine, which a JSON Schema
#: cannot say.
JUDGED_BY_STATE = {
    # a rule's fault keys combine by kind ("alg" cannot stand beside "sequence")
    "POST /issuers/{issuer_id}/rules",
    # a scenario names clients and keys that must exist, and combines faults as rules do
    "POST /issuers/{issuer_id}/scenario",
    # the clock may not leave 1970..9999: how far it may move depends on where it stands
    "POST /issuers/{issuer_id}/clock/advance",
    "POST /issuers/{issuer_id}/clock/freeze",
    "POST /issuers/{issuer_id}/clock/move_to",
    # kid must name a published key, client_id a registered client
    "POST /issuers/{issuer_id}/tokens/access",
    "POST /issuers/{issuer_id}/tokens/id",
    # a client's metadata must agree with itself (grant types, redirect URIs, secrets)
    "POST /issuers/{issuer_id}/clients",
    # a metadata document is judged whole: its URL's form, its methods, its redirect URIs
    "POST /issuers/{issuer_id}/client_metadata_documents",
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    allow_header_conformance,
]


@pytest.fixture(scope="module")
def admin_server() -> Iterator[LiveServer]:
    with LiveServer([Provider()], admin_token=TOKEN) as server:
        yield server


@pytest.fixture(scope="module")
def admin_schema(admin_server: LiveServer) -> Any:
    assert admin_server.admin_url is not None
    return schemathesis.openapi.from_url(admin_server.admin_url + "/openapi.json")


#: Every operation, from the routes the document is made of (known before any server runs).
OPERATIONS = [
    pytest.param(f"{r.method} {r.path}", mode, id=f"{r.method} {r.path} {mode}")
    for r in sorted(ROUTES, key=lambda r: (r.path, r.method))
    for mode in ("positive", "negative")
    # nothing to get wrong in a request with no parameters and no body
    if mode == "positive" or r.body is not None or "{" in r.path or r.query
]


@pytest.mark.parametrize(("label", "mode"), OPERATIONS)
def test_the_admin_api_keeps_to_its_openapi_document(
    label: str, mode: str, admin_schema: Any, admin_server: LiveServer
) -> None:
    method, path = label.split(" ", 1)
    operation = admin_schema[path][method]
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))
    excluded = [positive_data_acceptance] if label in JUDGED_BY_STATE else []
    checks = [c for c in CHECKS if c not in excluded]

    @given(case=strategy)
    @settings(
        max_examples=30,
        deadline=None,
        derandomize=True,  # the same examples every run: a failure here is reproducible
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers={TOKEN_HEADER: TOKEN}, checks=checks)

    run()
    admin_server.check()  # nothing failed below the admin API's own errors
