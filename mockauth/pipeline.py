"""One request through one issuer: route, preflight or 405, journal, scenario
rules, the endpoint, the error rendered in the endpoint's style, CORS.

Everything that can go wrong becomes a spec-shaped response here: an
:class:`~mockauth.errors.OAuthError` raised by an endpoint or a fault is
rendered once (:func:`mockauth.errors.render`) and recorded in the journal as
raised; an unexpected exception is a ``server_error`` and is kept for
:meth:`Pipeline.raise_errors`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import notes
from .endpoints import Endpoint, endpoint_for, endpoints
from .errors import (
    ErrorStyle,
    InvalidRequest,
    NotFound,
    OAuthError,
    ServerError,
    ServerThreadError,
    render,
)
from .faults.base import ConnectionDropped, FaultContext
from .http import Request, Response
from .http.router import Router
from .journal import Call, Journal, error_of, new_call, request_params
from .registry import ENDPOINTS
from .scenarios.rules import RuleSet

if TYPE_CHECKING:
    from .faults.base import Fault
    from .scenarios.rules import Rule
    from .services import Services

__all__ = ["CORS_ALLOW_HEADERS", "Interceptor", "Pipeline", "cors", "preflight"]

#: A hook that may answer a request instead of its endpoint.
Interceptor = Callable[[str, Request], Response | None]

#: Request headers browser clients may send cross-origin (DPoP: RFC 9449 §4.1).
CORS_ALLOW_HEADERS = "Authorization, Content-Type, DPoP, MCP-Protocol-Version"
#: Response headers a cross-origin script may read (RFC 9449 §8: the nonce).
CORS_EXPOSE_HEADERS = "WWW-Authenticate, DPoP-Nonce"

_ROUTERS: dict[tuple[str, int], Router[Endpoint]] = {}


def router_for(issuer_path: str) -> Router[Endpoint]:
    """Every registered endpoint under ``issuer_path``, plus the root-level
    well-known documents (RFC 8414 §3.1: ``/.well-known/<name><issuer path>``).
    """
    key = (issuer_path, ENDPOINTS.version)
    router = _ROUTERS.get(key)
    if router is None:
        router = Router()
        mounted = [ep for ep in endpoints() if ep.mount == "issuer"]
        for ep in mounted:
            for route in ep.routes:
                router.add(issuer_path + route, ep)
        for ep in mounted:
            for name in ep.root_names:
                router.add(f"/.well-known/{name}{issuer_path}", ep)
        _ROUTERS[key] = router
    return router


class Pipeline:
    """The request path of one provider."""

    def __init__(self, services: Services, journal: Journal, rules: RuleSet) -> None:
        self.services = services
        self.journal = journal
        self.rules = rules
        self.errors: list[BaseException] = []
        self.interceptors: list[Interceptor] = []
        #: Called with every finished call (the request log of ``mockauth serve``).
        self.listeners: list[Callable[[Call], None]] = []

    # --- the request path ---------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Answer one request. Every failure becomes a spec-shaped response."""
        s = self.services
        entered = (
            s.enter_request(request.scheme, request.headers.get("Host"))
            if s.config.issuer_from_host
            else None
        )
        _, noting = notes.start()
        try:
            return self._handle(request)
        finally:
            notes.stop(noting)
            if entered is not None:
                s.leave_request(entered)

    def _handle(self, request: Request) -> Response:
        found = router_for(self.services.issuer_path).match(request.path)
        if found is None:
            found = self._resource(request.path)
            if found is None:
                # A browser client probing the discovery URLs preflights each one: let
                # it, so the probe itself gets its 404 and the client tries the next.
                return preflight(None) if request.method == "OPTIONS" else self.not_found(request)
        endpoint, request.route_params = found
        method = request.method
        if endpoint.enabled is not None and not endpoint.enabled(self.services):
            return preflight(None) if method == "OPTIONS" else self.not_found(request)
        if method == "OPTIONS":
            return preflight(endpoint)
        if method not in endpoint.methods:
            error = InvalidRequest(
                f"use {' or '.join(endpoint.methods)}",
                status_code=405,
                headers={"Allow": ", ".join(endpoint.methods)},
            )
            response = render(error, ErrorStyle.JSON)
            self._record(endpoint.name, request, response, error)
            return cors(response)
        rule: Rule | None = None
        call: Call | None = None
        raised: OAuthError | None = None
        try:
            # No rules, no extra work: the plain path stays as fast.
            picked = self._pick(endpoint, request) if self.rules else None
            if picked is None:
                response, raised = self._real(endpoint, request)
            else:
                rule, fault, ctx, call, real_error = picked
                call.rule = rule
                self.journal.record(call)  # at once: a delayed call is visible while it waits
                try:
                    response = fault.respond(ctx)
                except OAuthError as exc:  # a scripted error, in the endpoint's own style
                    response, raised = self._render(endpoint, request, exc), exc
                else:
                    if ctx.real_answered is response:
                        raised = real_error[0]
        except ConnectionDropped:
            self._record(endpoint.name, request, None, None, rule, call)
            raise
        except Exception as exc:  # a fault that failed
            self.errors.append(exc)
            raised = ServerError(f"{type(exc).__name__} in mockauth")
            response = render(raised, ErrorStyle.JSON)
        self._record(endpoint.name, request, response, raised, rule, call)
        if endpoint.cors:
            cors(response)
        return response

    def serves(self, path: str) -> bool:
        """Whether ``path`` is one of the provider's mock protected resources."""
        return self._resource(path) is not None

    def _resource(self, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        found = self.services.resources.match(path)
        if found is None:
            return None
        name, resource = found
        endpoint = endpoint_for(name)
        return None if endpoint is None else (endpoint, {"resource": resource.path})

    def not_found(self, request: Request) -> Response:
        """404 for a path no endpoint serves, journaled, naming the nearest route."""
        nearest = router_for(self.services.issuer_path).nearest(request.path)
        hint = f"; did you mean {nearest}?" if nearest else ""
        error = NotFound(f"no endpoint at {request.path[:200]}{hint}")
        response = render(error, ErrorStyle.JSON)
        # Parsed at once (not the hot path): what was sent helps see what went wrong.
        call = new_call(None, request, request_params(request), self.services.clock.now())
        self.journal.record(call)
        self._record(None, request, response, error, call=call)
        return cors(response)

    def _pick(
        self, endpoint: Endpoint, request: Request
    ) -> tuple[Rule, Fault, FaultContext, Call, list[OAuthError | None]] | None:
        """The rule that scripts this request, its outcome, the context and the call."""
        raw = request_params(request)
        call = new_call(endpoint.name, request, raw, self.services.clock.now())
        picked = self.rules.pick(call, raw)
        if picked is None:
            return None
        rule, fault = picked
        real_error: list[OAuthError | None] = [None]

        def real() -> Response:
            response, real_error[0] = self._real(endpoint, request)
            return response

        ctx = FaultContext(self.services, endpoint.name, endpoint.errors, request, raw, real)
        return rule, fault, ctx, call, real_error

    def _real(self, endpoint: Endpoint, request: Request) -> tuple[Response, OAuthError | None]:
        """The provider's own answer, and the error it raised (if any)."""
        try:
            for hook in self.interceptors:
                answer = hook(endpoint.name, request)
                if answer is not None:
                    return answer, None
            return endpoint.handler(self.services, request), None
        except OAuthError as exc:
            return self._render(endpoint, request, exc), exc
        except ConnectionDropped:
            raise
        except Exception as exc:
            self.errors.append(exc)
            error = ServerError(f"{type(exc).__name__} in mockauth")
            return render(error, ErrorStyle.JSON), error

    def _render(self, endpoint: Endpoint, request: Request, error: OAuthError) -> Response:
        if endpoint.challenge is not None:  # the error's own auth-params win
            error.challenge = {**endpoint.challenge(self.services, request), **error.challenge}
        redirect = endpoint.redirect
        return render(
            error,
            endpoint.errors,
            redirect=(lambda e: redirect(self.services, request, e)) if redirect else None,
            title=endpoint.page_title,
        )

    def _record(
        self,
        name: str | None,
        request: Request,
        response: Response | None,
        raised: OAuthError | None,
        rule: Rule | None = None,
        call: Call | None = None,
    ) -> None:
        """Journal a request, or complete the entry a scripted request already has."""
        if call is None:
            call = new_call(name, request, None, self.services.clock.now())
            call.rule = rule
            self.journal.record(call)
        if response is not None:
            call.status = response.status_code
            if raised is not None:
                call.error = raised.error
            elif rule is not None:  # a scripted body: what it says is all there is
                call.error = error_of(response)
        call.duration = time.perf_counter() - request.arrived
        noted = notes.current()
        call.issued = noted.issued
        call.events = noted.events
        for listener in self.listeners:
            try:
                listener(call)
            except Exception as exc:  # a broken log must not break the answer
                self.errors.append(exc)

    # --- unexpected errors --------------------------------------------------
    def raise_errors(self) -> None:
        """Re-raise, in the caller's thread, the first unexpected error a request hit."""
        if self.errors:
            first = self.errors[0]
            self.errors.clear()
            raise ServerThreadError(
                "the provider failed while handling a request:\n"
                + "".join(traceback.format_exception(first))
            ) from first


def cors(response: Response) -> Response:
    """``response`` readable by a script of any origin (browser-based clients, SPAs
    and MCP inspectors call these endpoints cross-origin, errors and 404s included).
    """
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    return response


def preflight(endpoint: Endpoint | None) -> Response:
    """The answer to a CORS preflight for ``endpoint`` (``None``: a path none serves,
    allowed the methods a probe uses, so the request itself gets its 404).
    """
    methods = endpoint.methods if endpoint is not None else ("GET", "HEAD", "POST")
    response = Response("", status=204)
    response.headers["Allow"] = ", ".join((*methods, "OPTIONS"))
    response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    response.headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return cors(response)
