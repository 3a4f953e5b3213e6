"""In-process transports: httpx (sync and async) and requests, over the same core.

They turn a client library's request into the core's
:class:`~mockauth.http.Request`, let the provider (or a
:class:`~mockauth.server.Dispatcher`) handle it, and turn the response back,
without a socket. ``requests-wsgi-adapter`` is broken with werkzeug 3,
hence an adapter of our own.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from .faults.base import ConnectionDropped
from .http import Request, Response

if TYPE_CHECKING:
    import httpx
    import requests

__all__ = [
    "AsyncHttpxTransport",
    "HttpxTransport",
    "RequestsAdapter",
    "async_httpx_client",
    "build_request",
    "call_in_process",
    "httpx_client",
    "requests_session",
]


class Handles(Protocol):
    """A provider or dispatcher: anything that answers the core's request."""

    def handle(self, request: Request) -> Response: ...


def build_request(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
) -> Request:
    """The core's request for what a client library is about to send."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    raw_path = parts.path or "/"
    # Content-Length is the body's own: the client library's header may predate encoding.
    sent = [(k, v) for k, v in headers if k.lower() != "content-length"]
    sent.append(("Content-Length", str(len(body))))
    return Request(
        method,
        unquote(raw_path, errors="replace"),
        query=parts.query.encode("utf-8", "surrogateescape"),
        headers=sent,
        body=body,
        remote_addr="127.0.0.1",
        scheme=parts.scheme or "http",
        server=(parts.hostname or "localhost", parts.port or (443 if secure else 80)),
        raw_path=raw_path,
    )


def call_in_process(
    target: Handles, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request through ``target`` without a socket: ``(status, headers, body)``."""
    response = target.handle(build_request(method, url, headers, body))
    data = b"" if method.upper() == "HEAD" else response.get_data()
    return response.status_code, response.header_items(), data


if TYPE_CHECKING:
    from httpx import AsyncBaseTransport as _AsyncHttpxBase
    from httpx import BaseTransport as _HttpxBase
else:
    try:
        from httpx import AsyncBaseTransport as _AsyncHttpxBase
        from httpx import BaseTransport as _HttpxBase
    except ImportError:  # the httpx extra is not installed
        _HttpxBase = _AsyncHttpxBase = object


class HttpxTransport(_HttpxBase):
    """An ``httpx.BaseTransport`` that answers from a provider in-process.

    ``httpx.Client(transport=HttpxTransport(provider), base_url=provider.issuer)``
    """

    def __init__(self, target: Handles) -> None:
        self.target = target

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        import httpx

        try:
            status, headers, body = call_in_process(
                self.target,
                request.method,
                str(request.url),
                request.headers.multi_items(),
                request.read(),
            )
        except ConnectionDropped as exc:  # what httpx raises when a server hangs up
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        return httpx.Response(status, headers=headers, content=body, request=request)


class AsyncHttpxTransport(_AsyncHttpxBase):
    """An ``httpx.AsyncBaseTransport`` for ``httpx.AsyncClient`` (runs the provider
    on a worker thread, so a slow answer never blocks the event loop).
    """

    def __init__(self, target: Handles) -> None:
        self.target = target

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio.to_thread
        import httpx

        body = await request.aread()
        try:
            status, headers, content = await anyio.to_thread.run_sync(
                call_in_process,
                self.target,
                request.method,
                str(request.url),
                request.headers.multi_items(),
                body,
            )
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)


if TYPE_CHECKING:
    from requests.adapters import BaseAdapter as _RequestsBase
else:
    try:
        from requests.adapters import BaseAdapter as _RequestsBase
    except ImportError:  # the requests extra is not installed
        _RequestsBase = object


class RequestsAdapter(_RequestsBase):
    """A ``requests`` transport adapter answering from a provider in-process.

    ``session.mount(provider.base_url + "/", RequestsAdapter(provider))``;
    needs ``mockauth[requests]``.
    """

    def __init__(self, target: Handles) -> None:
        from requests.adapters import HTTPAdapter

        super().__init__()
        self.target = target
        self._builder = HTTPAdapter()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        from urllib3 import HTTPResponse
        from urllib3._collections import HTTPHeaderDict

        body = request.body
        if body is None:
            data = b""
        elif isinstance(body, str):
            data = body.encode("utf-8")
        elif isinstance(body, bytes):
            data = body
        else:
            data = body.read()
        try:
            status, headers, content = call_in_process(
                self.target, request.method or "GET", request.url or "/", request.headers.items(),
                data,
            )  # fmt: skip
        except ConnectionDropped as exc:  # what requests raises when a server hangs up
            from http.client import RemoteDisconnected

            from requests.exceptions import ConnectionError as RequestsConnectionError
            from urllib3.exceptions import ProtocolError

            reason = ProtocolError("Connection aborted.", RemoteDisconnected(str(exc)))
            raise RequestsConnectionError(reason, request=request) from None
        raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=HTTPHeaderDict(headers),
            status=status,
            preload_content=False,
            decode_content=False,
            request_url=request.url,
            request_method=request.method,  # HEAD: no body despite Content-Length
            # requests reads Set-Cookie from here into response.cookies and the session's jar
            original_response=_Original(request.method or "GET", headers),  # type: ignore[arg-type]
        )
        response: requests.Response = self._builder.build_response(request, raw)
        return response

    def close(self) -> None:
        self._builder.close()


class _Original:
    """The ``http.client`` response requests and urllib3 expect behind a raw response."""

    def __init__(self, method: str, headers: Iterable[tuple[str, str]]) -> None:
        from http.client import HTTPMessage

        self._method = method
        self.msg = HTTPMessage()
        for name, value in headers:
            self.msg[name] = value  # repeated headers (Set-Cookie) are all kept

    def isclosed(self) -> bool:
        return True

    def close(self) -> None:
        pass


def httpx_client(target: Handles, base_url: str, **kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` answered by ``target`` in-process (needs ``mockauth[httpx]``)."""
    import httpx

    kwargs.setdefault("base_url", base_url)
    return httpx.Client(transport=HttpxTransport(target), **kwargs)


def async_httpx_client(target: Handles, base_url: str, **kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` answered by ``target`` in-process."""
    import httpx

    kwargs.setdefault("base_url", base_url)
    return httpx.AsyncClient(transport=AsyncHttpxTransport(target), **kwargs)


def requests_session(target: Handles, base_url: str) -> requests.Session:
    """A ``requests.Session`` whose requests under ``base_url`` stay in-process."""
    import requests

    session = requests.Session()
    session.mount(base_url.rstrip("/") + "/", RequestsAdapter(target))
    return session
