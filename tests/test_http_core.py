"""The transport-free core and the one router.

The core takes a :class:`mockauth.http.Request` and returns a
:class:`mockauth.http.Response`; WSGI lives in ``mockauth/http/wsgi.py`` only.
Issuers are mounted by longest path prefix and may have several segments;
both RFC 8414 forms and the OIDC form of discovery work for them; a path no
endpoint serves is a 404 that is journaled and names the nearest endpoint.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from werkzeug.test import Client as WsgiClient

from mockauth import LiveServer, Provider
from mockauth.http import MAX_BODY, Request
from mockauth.http.wsgi import from_environ
from mockauth.server import Dispatcher
from mockauth.transports import build_request

PACKAGE = Path(__file__).resolve().parent.parent / "mockauth"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


# --- the sans-I/O request and response -------------------------------------------------


def test_the_core_answers_a_plain_request() -> None:
    provider = Provider()
    client = provider.add_client(grant_types=["client_credentials"])
    assert client.client_secret is not None
    body = urlencode({"grant_type": "client_credentials"}).encode()
    request = Request(
        "POST",
        "/default/token",
        headers={**FORM, **basic(client.client_id, client.client_secret)},
        body=body,
    )
    response = provider.handle(request)
    assert response.status_code == 200
    assert json.loads(response.get_data())["token_type"] == "Bearer"
    assert response.headers["Cache-Control"] == "no-store"
    assert int(response.headers["Content-Length"]) == len(response.get_data())


def test_a_request_has_no_wsgi_environ() -> None:
    request = build_request("GET", "http://mockauth.test/default/jwks?a=1", [("X-A", "1")], b"")
    assert not hasattr(request, "environ")
    assert (request.method, request.path, request.args["a"]) == ("GET", "/default/jwks", "1")


def test_only_the_wsgi_adapter_reads_an_environ() -> None:
    readers = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).as_posix() == "http/wsgi.py":
            continue
        text = path.read_text(encoding="utf-8")
        # a WSGI environ, not the process environment (os.environ)
        if re.search(r"(?<!os\.)environ(\[|\.get\()", text) or "make_environ" in text:
            readers.append(path.name)
    assert readers == []


def _environ(method: str, path: str, length: str) -> dict[str, object]:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "x",
        "SERVER_PORT": "80",
        "CONTENT_TYPE": FORM["Content-Type"],
        "CONTENT_LENGTH": length,
        "wsgi.input": io.BytesIO(b"grant_type=x"),
        "wsgi.url_scheme": "http",
    }


@pytest.mark.parametrize(
    ("length", "status"), [("abc", 400), ("-1", 400), (str(MAX_BODY + 1), 413)]
)
def test_body_errors_surface_when_the_body_is_read(length: str, status: int) -> None:
    provider = Provider()
    answer = provider.handle(from_environ(_environ("POST", "/default/token", length)))  # type: ignore[arg-type]
    assert answer.status_code == status
    assert json.loads(answer.get_data())["error"] == "invalid_request"
    # An endpoint that never reads the body answers as usual.
    jwks = provider.handle(from_environ(_environ("GET", "/default/jwks", length)))  # type: ignore[arg-type]
    assert jwks.status_code == 200


def test_an_oversized_body_given_directly_is_413() -> None:
    provider = Provider()
    request = Request("POST", "/default/token", headers=FORM, body=b"x" * (MAX_BODY + 1))
    assert provider.handle(request).status_code == 413


def test_repeated_request_headers_are_combined() -> None:
    request = Request("GET", "/", headers=[("X-A", "1"), ("x-a", "2"), ("X-B", "3")])
    assert (request.headers["X-A"], request.headers["X-B"]) == ("1,2", "3")


def test_no_content_length_on_204_or_304() -> None:
    provider = Provider()
    response = provider.handle(Request("OPTIONS", "/default/token"))
    assert response.status_code == 204
    assert "content-length" not in {k.lower() for k, _ in response.header_items()}


# --- issuers of several segments ----------------------------------------------------------


@pytest.mark.parametrize("issuer_id", ["realms/test", "tenant-1/v2.0"])
def test_an_issuer_of_several_segments_is_served(issuer_id: str) -> None:
    provider = Provider(issuer_id=issuer_id)
    client = provider.add_client(grant_types=["client_credentials"])
    assert client.client_secret is not None
    with provider.serve() as server, httpx.Client() as http:
        assert provider.issuer == f"{server.url}/{issuer_id}"
        forms = [
            f"{provider.issuer}/.well-known/openid-configuration",  # OIDC Discovery §4
            f"{server.url}/.well-known/oauth-authorization-server/{issuer_id}",  # RFC 8414 §3.1
            f"{provider.issuer}/.well-known/oauth-authorization-server",  # the appended form
        ]
        for url in forms:
            doc = http.get(url).json()
            assert doc["issuer"] == provider.issuer, url
            assert doc["token_endpoint"] == provider.issuer + "/token"
        token = http.post(
            provider.endpoint("token"),
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, client.client_secret),
        ).json()["access_token"]
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["iss"] == provider.issuer


def test_a_real_client_discovers_an_issuer_of_several_segments() -> None:
    provider = Provider(issuer_id="realms/test")
    client = provider.add_client(grant_types=["client_credentials"])
    with provider.serve():
        doc = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10).json()
        session = OAuth2Session(client.client_id, client.client_secret)
        token = session.fetch_token(doc["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    provider.calls.assert_called("token", times=1, status=200)


def test_issuers_are_mounted_by_longest_prefix() -> None:
    outer = Provider(issuer_id="realms")
    inner = Provider(issuer_id="realms/test")
    deeper = Provider(issuer_id="realms/test/v2")
    with LiveServer([outer, inner, deeper]) as server, httpx.Client() as http:
        for p in (outer, inner, deeper):
            assert http.get(p.endpoint("discovery")).json()["issuer"] == p.issuer
            assert http.get(p.endpoint("jwks")).status_code == 200
        root = http.get(server.url + "/.well-known/oauth-authorization-server/realms/test")
        assert root.json()["issuer"] == inner.issuer
    assert [c.endpoint for c in inner.calls] == ["discovery", "jwks", "discovery"]
    assert [c.endpoint for c in outer.calls] == ["discovery", "jwks"]


def test_the_fixture_serves_an_issuer_of_several_segments(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        @pytest.mark.mockauth(issuer_id="tenant-1/v2.0")
        def test_it(mockauth):
            assert mockauth.issuer.endswith("/tenant-1/v2.0")
            doc = httpx.get(mockauth.endpoint("discovery")).json()
            assert doc["issuer"] == mockauth.issuer
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


# --- unknown paths ---------------------------------------------------------------------------


def test_an_unknown_path_is_a_journaled_404_naming_the_nearest_endpoint() -> None:
    provider = Provider()
    with provider.httpx_client() as http:
        r = http.post("/tokne", data={"grant_type": "client_credentials"})
    assert r.status_code == 404
    assert r.json() == {
        "error": "not_found",
        "error_description": "no endpoint at /default/tokne; did you mean /default/token?",
    }
    call = provider.calls.assert_called(status=404, error="not_found", times=1)[0]
    assert (call.endpoint, call.method, call.path) == (None, "POST", "/default/tokne")
    assert call.params["grant_type"] == "client_credentials"


def test_a_path_outside_every_issuer_is_journaled_by_the_nearest() -> None:
    first, second = Provider(issuer_id="alpha"), Provider(issuer_id="beta")
    client = WsgiClient(Dispatcher([first, second]))
    r = client.get("/alpah/token")
    assert r.status_code == 404
    assert [c.path for c in first.calls] == ["/alpah/token"]
    assert len(second.calls) == 0
    assert client.get("/").json == {"issuers": [first.issuer, second.issuer]}


def test_a_404_with_no_issuer_mounted() -> None:
    r = WsgiClient(Dispatcher()).get("/default/token")
    assert (r.status_code, r.json["error"]) == (404, "not_found")


def test_a_wrong_method_is_405_with_allow() -> None:
    provider = Provider()
    with provider.httpx_client() as http:
        r = http.delete("/token")
    assert (r.status_code, r.headers["Allow"], r.json()["error"]) == (
        405,
        "POST",
        "invalid_request",
    )
    assert provider.calls[-1].error == "invalid_request"


def test_the_router_matches_templates_and_lists_every_match() -> None:
    from mockauth.http.router import Router

    router: Router[str] = Router(
        [("/keys/rotate", "rotate"), ("/keys/{kid}", "retire"), ("/i/{a}/x/{b}", "two")]
    )
    assert router.match("/keys/rotate") == ("rotate", {})
    assert router.match("/keys/k1") == ("retire", {"kid": "k1"})
    assert router.match("/i/1/x/2") == ("two", {"a": "1", "b": "2"})
    assert router.match("/keys/") is None
    assert router.match("/keys/a/b") is None
    assert [t for t, _ in router.match_all("/keys/rotate")] == ["rotate", "retire"]
    assert router.nearest("/keys/rotat") == "/keys/rotate"


def test_a_404_shows_in_the_admin_journal() -> None:
    from mockauth.admin import TOKEN_HEADER

    provider = Provider()
    with LiveServer([provider], admin_token="t0ken") as server, httpx.Client() as http:
        assert http.get(provider.issuer + "/userinf").status_code == 404
        calls = http.get(
            f"{server.admin_url}/issuers/default/calls", headers={TOKEN_HEADER: "t0ken"}
        ).json()["calls"]
    assert [(c["endpoint"], c["path"], c["status"], c["error"]) for c in calls] == [
        (None, "/default/userinf", 404, "not_found")
    ]
