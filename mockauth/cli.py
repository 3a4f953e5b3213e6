"""``mockauth serve``: the standalone mock server."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlsplit

from ._check import is_loopback as _is_loopback
from .config import ProviderConfig, ServerConfig, load_config
from .errors import ConfigError, MockauthError
from .log import LOG_FORMATS, RequestLog
from .registry import default_grant_types

if TYPE_CHECKING:
    from .provider import Provider
    from .scenarios.files import Scenario

__all__ = ["build_parser", "main"]

BANNER = (
    "mockauth {version}: TEST ONLY. A mock OAuth 2.0 / OpenID Connect provider with public\n"
    "credentials: never protect anything real with it."
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mockauth")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mockauth", description="A strict, programmable OAuth 2.0 / OIDC provider for tests."
    )
    parser.add_argument("--version", action="version", version=f"mockauth {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the standalone mock server")
    serve.add_argument(
        "--host",
        default=None,
        help="address to bind (default 127.0.0.1; anything wider is warned about)",
    )
    serve.add_argument("--port", type=_port, default=None, help="port (default 8080; 0 = any free)")
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="config file (.json, .toml, .yaml); default: the built-in demo",
    )
    serve.add_argument(
        "--scenario",
        metavar="FILE",
        action="append",
        default=[],
        help="scenario applied to every issuer: a library name (flaky-token-endpoint) "
        "or a file (repeatable)",
    )
    serve.add_argument(
        "--seed", type=int, default=None, help="seed for generated users, ids and secrets"
    )
    serve.add_argument(
        "--login-page",
        action="store_true",
        help="show a sign-in page at /authorize (username, password, Deny) instead of "
        "approving at once (config key login_page)",
    )
    serve.add_argument(
        "--resource",
        metavar="PATH",
        action="append",
        default=[],
        help="serve a mock protected resource at PATH (/mcp), guarded by the first issuer, "
        "its RFC 9728 metadata at /.well-known/oauth-protected-resource/PATH (repeatable)",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        type=_public_url,
        default=None,
        help="base URL clients reach the server at (e.g. http://mockauth:8080)",
    )
    serve.add_argument(
        "--issuer-from-host",
        action="store_true",
        help="the issuer follows each request's Host (a browser on the host and other "
        "containers each see the name they used; tokens of every alias are accepted)",
    )
    logging = serve.add_mutually_exclusive_group()
    logging.add_argument(
        "--quiet", action="store_true", help="no line per request (the banner and errors only)"
    )
    logging.add_argument(
        "--verbose",
        action="store_true",
        help="each request's line also shows its parameters (secrets redacted)",
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text (coloured on a terminal) or json (one object a line); default text",
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        type=_admin_token,
        default=None,
        help="token of the admin API at /_mockauth (default: $MOCKAUTH_ADMIN_TOKEN, else a "
        "new one each run, printed); other users can read it in ps: prefer the file or variable",
    )
    serve.add_argument(
        "--admin-token-file",
        metavar="FILE",
        default=None,
        help="read the admin token from FILE (its first line)",
    )
    serve.add_argument("--no-admin", action="store_true", help="do not serve the admin API")
    serve.add_argument(
        "--tls",
        action="store_true",
        help="serve https, with a certificate signed by a per-run test CA (its PEM is printed)",
    )
    serve.add_argument("--tls-cert", metavar="FILE", default=None, help="your own certificate")
    serve.add_argument("--tls-key", metavar="FILE", default=None, help="its private key")
    return parser


#: The environment variable the admin token may come from (not visible in ``ps``).
ADMIN_TOKEN_ENV = "MOCKAUTH_ADMIN_TOKEN"


def _given_admin_token(args: argparse.Namespace) -> str | None:
    """The admin token from ``--admin-token``, ``--admin-token-file`` or the environment."""
    from .admin import check_token

    given = getattr(args, "admin_token", None)
    path = getattr(args, "admin_token_file", None)
    if given is not None and path is not None:
        raise ConfigError("--admin-token-file", "cannot stand beside --admin-token: give one")
    if given is not None:
        return str(given)
    if path is not None:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError("--admin-token-file", f"cannot read {path}: {exc}") from None
        token = lines[0].strip() if lines else ""
        try:
            return check_token(token)
        except ConfigError as exc:
            raise ConfigError("--admin-token-file", f"{path}: {exc.message}") from None
    from_env = os.environ.get(ADMIN_TOKEN_ENV)
    if from_env:
        try:
            return check_token(from_env.strip())
        except ConfigError as exc:
            raise ConfigError(ADMIN_TOKEN_ENV, exc.message) from None
    return None


def _port(value: str) -> int:
    """A TCP port, 0 (any free port) to 65535."""
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (0-65535; 0 = any free)")
    return int(text)


def _public_url(value: str) -> str:
    """An absolute http(s) URL without query or fragment (the issuer's base)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c <= " " for c in value)
    ):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an http(s) URL such as http://mockauth:8080"
        )
    return value.rstrip("/")


def _admin_token(value: str) -> str:
    from .admin import check_token

    try:
        return check_token(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def demo_config() -> ServerConfig:
    """The built-in config: web, public, service, device, token exchange and
    private_key_jwt clients, and two users.
    """
    source = resources.files("mockauth").joinpath("data/demo.toml")
    with resources.as_file(source) as path:
        return load_config(path)


#: The demo clients whose private keys ship with mockauth (TEST ONLY), by client id.
DEMO_KEYS = {"demo-signer": "data/demo-signer.jwk.json"}


def demo_key_file(client_id: str) -> str | None:
    """Where the private JWK of a demo client is installed, if it has one."""
    name = DEMO_KEYS.get(client_id)
    if name is None:
        return None
    return str(resources.files("mockauth").joinpath(name))


def _banner(
    server_url: str,
    providers: Sequence[Provider],
    out: TextIO,
    scenarios: Sequence[Scenario] = (),
    admin: tuple[str, str] | None = None,
    ca_file: str | None = None,
    key_files: Mapping[str, str] | None = None,
) -> None:
    print(BANNER.format(version=_version()), file=out)
    print(f"Listening on {server_url}", file=out)
    if ca_file:
        print(f"TLS CA       {ca_file}  (trust it: verify=..., NODE_EXTRA_CA_CERTS=...)", file=out)
    for provider in providers:
        print(f"\nIssuer {provider.issuer}", file=out)
        print(f"  discovery  {provider.issuer}/.well-known/openid-configuration", file=out)
        for client in provider.clients:
            kind = "confidential"
            if client.public:
                kind = "public, PKCE required" if client.redirect_uris else "public"
            print(f"  client     {client.client_id}  ({kind})", file=out)
            if client.client_secret and client.token_endpoint_auth_method != "private_key_jwt":
                print(f"    secret   {client.client_secret}", file=out)
            if client.token_endpoint_auth_method in ("private_key_jwt", "client_secret_jwt"):
                print(f"    auth     {client.token_endpoint_auth_method}", file=out)
            if (key_files or {}).get(client.client_id):
                print(f"    key      {(key_files or {})[client.client_id]}", file=out)
            if set(client.grant_types) != set(default_grant_types(client.public)):
                print(f"    grants   {' '.join(client.grant_types)}", file=out)
            for uri in client.redirect_uris:
                print(f"    redirect {uri}", file=out)
        for user in provider.users:
            password = f"  password {user.password}" if user.password else ""
            print(f"  user       {user.username}  (sub {user.sub}){password}", file=out)
        for resource in provider.resources:
            scopes = (
                f"  (scopes {' '.join(resource.config.scopes)})" if resource.config.scopes else ""
            )
            print(f"  resource   {resource.url}{scopes}", file=out)
            print(f"    metadata {resource.metadata_url}", file=out)
    if scenarios:
        print("\nScenarios (every issuer)", file=out)
    for scenario in scenarios:
        print(f"  scenario   {scenario.describe()}", file=out)
        print(f"    file     {scenario.source}", file=out)
    if admin is not None:  # (admin URL, token)
        print(f"\nAdmin API  {admin[0]}", file=out)
        print(f"  header     X-Mockauth-Admin-Token: {admin[1]}", file=out)
        print(f"  openapi    {admin[0]}/openapi.json", file=out)
    print("\nPress Ctrl-C to stop.", file=out, flush=True)


def _with_resources(
    issuers: tuple[ProviderConfig, ...], paths: Sequence[str]
) -> tuple[ProviderConfig, ...]:
    """The first issuer guarding a resource at each of ``paths`` as well."""
    if not paths:
        return issuers
    first, *rest = issuers
    given = [{"path": path} for path in paths]
    kept = [dataclasses.asdict(r) for r in first.resources]
    return (first.updated(resources=[*kept, *given]), *rest)


def serve(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from .admin import new_token
    from .provider import Provider
    from .scenarios.files import load_scenario
    from .server import LiveServer

    try:
        config = load_config(args.config) if args.config else demo_config()
        scenarios = [load_scenario(path) for path in getattr(args, "scenario", None) or ()]
    except ConfigError as exc:
        print(f"mockauth: error: {exc}", file=err)
        return 2
    host = args.host if args.host is not None else config.host
    port = args.port if args.port is not None else config.port
    issuers = config.issuers
    if args.seed is not None:
        issuers = tuple(dataclasses.replace(i, seed=args.seed) for i in issuers)
    if getattr(args, "issuer_from_host", False):
        issuers = tuple(dataclasses.replace(i, issuer_from_host=True) for i in issuers)
    if getattr(args, "login_page", False):
        issuers = tuple(dataclasses.replace(i, login_page=True) for i in issuers)
    try:
        issuers = _with_resources(issuers, getattr(args, "resource", None) or ())
    except ConfigError as exc:
        print(f"mockauth: error: --resource: {exc}", file=err)
        return 2
    if not _is_loopback(host):
        print(
            f"mockauth: warning: binding {host} exposes a TEST-ONLY provider with public "
            "credentials beyond this machine",
            file=err,
        )
    try:
        providers = [Provider(issuer) for issuer in issuers]
    except MockauthError as exc:  # users that clash: only the provider can tell
        print(f"mockauth: error: {args.config or 'demo config'}: {exc}", file=err)
        return 2
    try:
        for provider in providers:
            for scenario in scenarios:
                scenario.apply(provider)
    except ConfigError as exc:  # e.g. a client the scenario names is not configured
        print(f"mockauth: error: {exc}", file=err)
        return 2
    admin_token = None
    if not getattr(args, "no_admin", False):
        try:
            admin_token = _given_admin_token(args) or new_token()
        except ConfigError as exc:
            print(f"mockauth: error: {exc}", file=err)
            return 2
    tls_cert = getattr(args, "tls_cert", None) or config.tls_cert
    tls_key = getattr(args, "tls_key", None) or config.tls_key
    if (tls_cert is None) != (tls_key is None):
        print("mockauth: error: --tls-cert and --tls-key go together", file=err)
        return 2
    try:
        server = LiveServer(
            providers,
            host=host,
            port=port,
            public_url=args.public_url,
            admin_token=admin_token,
            tls=bool(getattr(args, "tls", False) or config.tls),
            tls_cert=tls_cert,
            tls_key=tls_key,
            **dataclasses.asdict(config.limits),
            log=None
            if getattr(args, "quiet", False)
            else RequestLog(
                err,
                format=getattr(args, "log_format", "text"),
                params=bool(getattr(args, "verbose", False)),
            ),
        ).start()
    except (MockauthError, OSError) as exc:
        print(f"mockauth: error: cannot serve on {host}:{port}: {exc}", file=err)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    try:
        bound = f"[{host}]" if ":" in host else host  # server.url may be --public-url
        admin = (server.admin_url, admin_token) if server.admin_url and admin_token else None
        scheme = "https" if server.tls else "http"
        keys = None if args.config else {k: f for k in DEMO_KEYS if (f := demo_key_file(k))}
        _banner(
            f"{scheme}://{bound}:{server.port}",
            providers,
            out,
            scenarios,
            admin,
            server.ca_file,
            keys,
        )
        tune_collector()  # after the banner: the start is not held up by a collection
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
        print("mockauth: stopped", file=out, flush=True)
    return 0


#: Allocations between young collections in ``mockauth serve`` (CPython's default: 700).
COLLECT_EVERY = 20_000


def tune_collector() -> None:
    """Tune the cyclic garbage collector for ``mockauth serve``'s own process (never a
    test process: the fixture's server leaves the collector alone).

    A request leaves no cyclic garbage (``tests/test_serving.py`` checks), so the
    collector only finds work among the objects the stores keep alive (a full token
    table is about 200,000 of them). Collecting young objects every 20,000
    allocations instead of 700 lets them die by reference count first, so few reach
    the old generation and full collections, each one a pause of 50-150 ms for every
    connection, become rare; the start-up objects are frozen out of them altogether.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(COLLECT_EVERY, middle, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mockauth`` console script."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # argparse rejects unknown commands before this


if __name__ == "__main__":
    sys.exit(main())
