"""The MCP Python SDK's client OAuth (``mcp.client.auth.OAuthClientProvider``)
calling a protected MCP resource, run in the SDK's own virtual environment.

Usage: ``client.py SERVER_URL REDIRECT_URI [CLIENT_METADATA_URL]``. The
"browser" asks the authorization URL once, without following the redirect,
and hands the code, state and iss from its ``Location`` to the SDK. Prints one
JSON object: each answer of the resource, the client the SDK registered or
named, and the tokens it ended with; or the exception the SDK raised.
"""

from __future__ import annotations

import asyncio
import json
import sys
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)


class Memory(TokenStorage):
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def main(server_url: str, redirect_uri: str, metadata_url: str | None) -> dict[str, object]:
    storage = Memory()
    landed: dict[str, str] = {}
    authorize_urls: list[str] = []

    async def redirect_handler(url: str) -> None:
        authorize_urls.append(url)
        async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as browser:
            answer = await browser.get(url)
        location = answer.headers.get("location", "")
        if not location.startswith(redirect_uri):
            raise RuntimeError(f"authorize answered {answer.status_code}: {answer.text[:300]}")
        landed.clear()
        landed.update({k: v[0] for k, v in parse_qs(urlsplit(location).query).items()})

    async def callback_handler() -> AuthorizationCodeResult:
        if "code" not in landed:
            raise RuntimeError(f"no code in the redirect: {landed}")
        return AuthorizationCodeResult(
            code=landed["code"], state=landed.get("state"), iss=landed.get("iss")
        )

    auth = OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            redirect_uris=[redirect_uri],  # type: ignore[list-item]
            client_name="mcp sdk under test",
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=metadata_url,
    )
    answers = []
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx2.AsyncClient(auth=auth, timeout=20) as http:
        for _ in range(2):  # the second call reuses the token
            response = await http.post(
                server_url, json=request, headers={"mcp-protocol-version": "2025-11-25"}
            )
            answers.append({"status": response.status_code, "body": response.json()})
    return {
        "answers": answers,
        "authorize_urls": authorize_urls,
        "client": storage.client.model_dump(mode="json") if storage.client else None,
        "tokens": storage.tokens.model_dump(mode="json") if storage.tokens else None,
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    try:
        result = asyncio.run(main(args[0], args[1], args[2] if len(args) > 2 else None))
    except Exception as exc:  # what the SDK raised: the test checks it
        result = {"error": type(exc).__name__, "message": str(exc)}
    print(json.dumps(result))
