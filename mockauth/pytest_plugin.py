"""The pytest plugin: the ``mockauth`` fixture, its config fixture and marker.

Registered through the ``pytest11`` entry point. One live server per session
(per xdist worker); every test gets a fresh :class:`~mockauth.Provider`
mounted on it, so nothing leaks between tests. Heavy imports wait until a
test asks for the fixture, so the plugin costs nothing in other projects.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .config import ProviderConfig
    from .provider import Provider
    from .server import LiveServer

__all__ = ["mockauth", "mockauth_config", "mockauth_server"]

_MARKER = (
    "mockauth(config=None, /, **fields): configure this test's mockauth provider; "
    "'config' is a ProviderConfig or a config file path, fields are ProviderConfig fields"
)
_REPORT_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockauth")
    group.addoption(
        "--mockauth-config",
        default=None,
        metavar="FILE",
        help="config file (JSON/TOML/YAML) for the mockauth fixture",
    )
    parser.addini("mockauth_config", "config file for the mockauth fixture", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    item.stash.setdefault(_REPORT_KEY, {})[report.when] = report
    return report


_file_configs: dict[Path, ProviderConfig] = {}


def _load(path: Path) -> ProviderConfig:
    from .config import ProviderConfig

    found = _file_configs.get(path)
    if found is None:
        found = _file_configs[path] = ProviderConfig.from_file(path)
    return found


@pytest.fixture(scope="session")
def mockauth_server() -> Iterator[LiveServer]:
    """The session's live loopback server (one per xdist worker), port chosen by the OS."""
    from .server import LiveServer

    server = LiveServer(host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def mockauth_config(request: pytest.FixtureRequest) -> ProviderConfig:
    """The config of the ``mockauth`` fixture; override it in a ``conftest.py``.

    By default: ``--mockauth-config FILE``, else the ``mockauth_config`` ini
    value, else ``ProviderConfig()``.
    """
    from .errors import ConfigError

    option = request.config.getoption("mockauth_config") or request.config.getini("mockauth_config")
    if option:
        path = Path(option)
        if not path.is_absolute():
            path = request.config.rootpath / path
        try:
            return _load(path)
        except ConfigError as exc:
            raise pytest.fail.Exception(f"mockauth_config: {exc}", pytrace=False) from None
    return _default_config()


@functools.cache
def _default_config() -> ProviderConfig:
    from .config import ProviderConfig

    return ProviderConfig()


def _apply_marker(config: ProviderConfig, marker: pytest.Mark, base: Path) -> ProviderConfig:
    from .config import ProviderConfig

    if len(marker.args) > 1:
        raise pytest.UsageError("@pytest.mark.mockauth takes at most one positional argument")
    if marker.args:
        given = marker.args[0]
        if isinstance(given, ProviderConfig):
            config = given
        elif isinstance(given, str | Path):
            path = Path(given)
            config = _load(path if path.is_absolute() else base / path)
        else:
            raise pytest.UsageError(
                f"@pytest.mark.mockauth: expected a ProviderConfig or a path, got {given!r}"
            )
    if marker.kwargs:
        config = config.updated(**marker.kwargs)
    return config


@pytest.fixture
def mockauth(
    request: pytest.FixtureRequest,
    mockauth_server: LiveServer,
    mockauth_config: ProviderConfig,
) -> Iterator[Provider]:
    """A fresh :class:`~mockauth.Provider` for this test, already served on loopback.

    ``mockauth.issuer`` is its issuer URL. Configure it with
    ``@pytest.mark.mockauth(...)`` or by overriding ``mockauth_config``.
    Unexpected errors inside the provider, and strict scenario rules that were
    not used as expected, fail a passing test at teardown.
    """
    from .errors import ConfigError
    from .provider import Provider

    config = mockauth_config
    markers = list(request.node.iter_markers("mockauth"))
    if markers:
        base = request.path.parent
        try:
            for marker in reversed(markers):  # the closest marker wins
                config = _apply_marker(config, marker, base)
        except ConfigError as exc:  # a typo in the marker: name the key, skip the traceback
            raise pytest.fail.Exception(f"@pytest.mark.mockauth: {exc}", pytrace=False) from None
        except pytest.UsageError as exc:
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
    provider = Provider(config)
    mockauth_server.mount(provider)
    try:
        yield provider
    finally:
        mockauth_server.unmount(provider)
    reports = request.node.stash.get(_REPORT_KEY, {})
    call = reports.get("call")
    if call is None or call.passed:  # a failing test keeps its own failure in front
        provider.raise_errors()
        mockauth_server.check()
        provider.check_rules()
