"""The pytest plugin: the ``mockauth`` fixture, its config fixture and marker.

Registered through the ``pytest11`` entry point. One live server per session
(per xdist worker); every test gets a fresh :class:`~mockauth.Provider`
mounted on it, so nothing leaks between tests. Heavy imports wait until a
test asks for the fixture, so the plugin costs nothing in other projects.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .config import ProviderConfig
    from .provider import Provider
    from .scenarios.files import Scenario
    from .server import LiveServer

__all__ = [
    "mockauth",
    "mockauth_config",
    "mockauth_scenarios",
    "mockauth_server",
    "mockauth_tls_server",
]

_MARKER = (
    "mockauth(config=None, /, *, scenarios=(), tls=False, **fields): configure this test's "
    "mockauth provider; 'config' is a ProviderConfig or a config file path, fields are "
    "ProviderConfig fields, 'scenarios' are library scenario names, scenario files "
    "(relative to the test file) or Scenario objects; tls=True serves it over https "
    "(mockauth_tls_server.ca_file)"
)
_REPORT_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
#: Marker keywords that are not ProviderConfig fields.
_MARKER_ONLY = ("scenarios", "tls")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockauth")
    group.addoption(
        "--mockauth-config",
        default=None,
        metavar="FILE",
        help="config file (JSON/TOML/YAML) for the mockauth fixture",
    )
    parser.addini("mockauth_config", "config file for the mockauth fixture", default="")
    group.addoption(
        "--mockauth-scenario",
        action="append",
        default=[],
        metavar="FILE",
        help="scenario applied to every mockauth provider: a library name or a file (repeatable)",
    )
    parser.addini(
        "mockauth_scenarios", "scenario files applied to every mockauth provider", type="linelist"
    )


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


@pytest.fixture(scope="session")
def mockauth_tls_server() -> Iterator[LiveServer]:
    """The session's https loopback server (``@pytest.mark.mockauth(tls=True)``); its
    certificate is signed by the per-run test CA at ``mockauth_tls_server.ca_file``.
    """
    from .server import LiveServer

    server = LiveServer(host="127.0.0.1", port=0, tls=True).start()
    yield server
    server.stop()


@pytest.fixture
def mockauth_config(request: pytest.FixtureRequest) -> ProviderConfig | Mapping[str, Any]:
    """The config of the ``mockauth`` fixture; override it in a ``conftest.py``
    (a :class:`~mockauth.ProviderConfig`, or a plain mapping of its fields).

    By default: ``--mockauth-config FILE`` (relative to where pytest was
    started, as pytest takes command-line paths), else the ``mockauth_config``
    ini value (relative to the rootdir), else ``ProviderConfig()``.
    """
    from .errors import ConfigError

    option = request.config.getoption("mockauth_config")
    if option:
        base = request.config.invocation_params.dir
    else:
        option = request.config.getini("mockauth_config")
        base = request.config.rootpath
    if option:
        path = base / Path(option)  # an absolute path stays as it is
        try:
            return _load(path)
        except ConfigError as exc:
            raise pytest.fail.Exception(f"mockauth_config: {exc}", pytrace=False) from None
    return _default_config()


@pytest.fixture
def mockauth_scenarios(request: pytest.FixtureRequest) -> list[str | Path | Scenario]:
    """Scenarios applied to every fresh ``mockauth`` provider, before the marker's.

    Library names (``"flaky-token-endpoint"``), file paths (relative to the
    rootdir) or :class:`~mockauth.Scenario` objects; override it in a
    ``conftest.py``. By default: every ``--mockauth-scenario NAME_OR_FILE``
    (files relative to where pytest was started), else the
    ``mockauth_scenarios`` ini lines, else none.
    """
    config = request.config
    given = config.getoption("mockauth_scenario")
    if given:
        base = config.invocation_params.dir
    else:
        given = config.getini("mockauth_scenarios")
        if not given:  # the common case, kept cheap: this runs for every test
            return []
        base = config.rootpath
    from .scenarios.files import is_library_name

    return [p if is_library_name(p) else base / p for p in given]


_file_scenarios: dict[str | Path, Scenario] = {}


def _scenarios(given: Any, base: Path, where: str) -> list[Scenario]:
    from .scenarios.files import Scenario, is_library_name, load_scenario

    items = [given] if isinstance(given, str | Path | Scenario) else given
    if not isinstance(items, list | tuple):
        raise pytest.UsageError(f"{where}: expected a list of files or Scenarios, got {given!r}")
    found = []
    for item in items:
        if isinstance(item, Scenario):
            found.append(item)
        elif isinstance(item, str | Path):
            # A library name loads by name; a file is relative to base (absolute stays).
            path = item if is_library_name(item) else base / item
            scenario = _file_scenarios.get(path)
            if scenario is None:
                scenario = _file_scenarios[path] = load_scenario(path)
            found.append(scenario)
        else:
            raise pytest.UsageError(f"{where}: expected a file or a Scenario, got {item!r}")
    return found


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
    fields = {k: v for k, v in marker.kwargs.items() if k not in _MARKER_ONLY}
    if fields:
        config = config.updated(**fields)
    return config


@pytest.fixture
def mockauth(
    request: pytest.FixtureRequest,
    mockauth_server: LiveServer,
    mockauth_config: ProviderConfig | Mapping[str, Any],
    mockauth_scenarios: list[str | Path | Scenario],
) -> Iterator[Provider]:
    """A fresh :class:`~mockauth.Provider` for this test, already served on loopback.

    ``mockauth.issuer`` is its issuer URL. Configure it with
    ``@pytest.mark.mockauth(...)`` or by overriding ``mockauth_config``; script
    it with scenario files (``mockauth_scenarios``, the marker's ``scenarios=``).
    Unexpected errors inside the provider, and strict scenario rules that were
    not used as expected, fail a passing test at teardown.
    """
    from .config import ProviderConfig
    from .errors import ConfigError
    from .provider import Provider

    if isinstance(mockauth_config, ProviderConfig):
        config = mockauth_config
    elif isinstance(mockauth_config, Mapping):
        try:
            config = ProviderConfig.from_mapping(mockauth_config)
        except ConfigError as exc:
            raise pytest.fail.Exception(f"mockauth_config: {exc}", pytrace=False) from None
    else:
        raise pytest.fail.Exception(
            f"mockauth_config: expected a ProviderConfig or a mapping, got {mockauth_config!r}",
            pytrace=False,
        )
    markers = list(request.node.iter_markers("mockauth"))
    try:
        scenarios = _scenarios(mockauth_scenarios, request.config.rootpath, "mockauth_scenarios")
    except ConfigError as exc:
        raise pytest.fail.Exception(f"mockauth_scenarios: {exc}", pytrace=False) from None
    except pytest.UsageError as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None
    tls = False
    if markers:
        base = request.path.parent
        try:
            for marker in reversed(markers):  # the closest marker wins
                config = _apply_marker(config, marker, base)
                given = marker.kwargs.get("scenarios", ())
                scenarios += _scenarios(given, base, "@pytest.mark.mockauth: scenarios")
                tls = bool(marker.kwargs.get("tls", tls))
        except ConfigError as exc:  # a typo in the marker: name the key, skip the traceback
            raise pytest.fail.Exception(f"@pytest.mark.mockauth: {exc}", pytrace=False) from None
        except pytest.UsageError as exc:
            raise pytest.fail.Exception(str(exc), pytrace=False) from None
    provider = Provider(config)
    try:
        for scenario in scenarios:
            scenario.apply(provider)
    except ConfigError as exc:  # e.g. rotate_client_secret names a client that is not there
        raise pytest.fail.Exception(f"mockauth scenario: {exc}", pytrace=False) from None
    server = request.getfixturevalue("mockauth_tls_server") if tls else mockauth_server
    server.mount(provider)
    try:
        yield provider
    finally:
        server.unmount(provider)
    reports = request.node.stash.get(_REPORT_KEY, {})
    call = reports.get("call")
    if call is None or call.passed:  # a failing test keeps its own failure in front
        provider.raise_errors()
        server.check()
        provider.check_rules()
