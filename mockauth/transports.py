"""In-process transports: httpx (sync and async) and requests, over the same core.

They turn a client library's request into a WSGI environ, let the provider
(or a :class:`~mockauth.server.Dispatcher`) handle it, and turn the response
back, without a socket. ``requests-wsgi-adapter`` is broken with werkzeug 3,
hence an adapter of our own.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote_to_bytes, urlsplit

from .faults import ConnectionDropped
from .http import Request, Response

if TYPE_CHECKING:
    import httpx
    import requests

__all__ = ["AsyncHttpxTransport", "HttpxTransport", "RequestsAdapter", "call_in_process"]


class Handles(Protocol):
    """A provider or dispatcher: anything that answers a werkzeug request."""

    def handle(self, request: Request) -> Response: ...


def _environ(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
) -> dict[str, Any]:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(),
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or (443 if secure else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_LENGTH":
            continue
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def call_in_process(
    target: Handles, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request through ``target`` without a socket: ``(status, headers, body)``."""
    environ = _environ(method, url, headers, body)
    response = target.handle(Request(environ))
    data = b"" if environ["REQUEST_METHOD"] == "HEAD" else response.get_data()
    return response.status_code, list(response.headers.items()), data


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
