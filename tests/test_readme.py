"""Every example in the README runs, so the README stays true."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .serve import ServeProcess

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
BLOCKS = [(lang, body) for lang, body in BLOCK.findall(README)]
PYTHON = [body for lang, body in BLOCKS if lang == "python"]
PYTEST_EXAMPLES = [b for b in PYTHON if "def test_" in b]
SCRIPTS = [b for b in PYTHON if "def test_" not in b]
DEFAULT_URL = "http://127.0.0.1:8080"


@contextmanager
def demo_server() -> Iterator[str]:
    """`mockauth serve` on its built-in config, on a free port; yields its base URL."""
    with ServeProcess() as served:
        yield served.url


def test_the_readme_has_examples() -> None:
    assert len(PYTEST_EXAMPLES) >= 3
    assert len(SCRIPTS) >= 2
    assert any("curl" in body for lang, body in BLOCKS if lang == "sh")


@pytest.mark.parametrize("index", range(len(PYTEST_EXAMPLES)))
def test_pytest_examples(index: int, pytester: pytest.Pytester) -> None:
    if "fixtures/" in PYTEST_EXAMPLES[index]:  # a project that copied fixtures/ beside its tests
        shutil.copytree(ROOT / "fixtures", pytester.path / "fixtures")
    pytester.makepyfile(test_example=PYTEST_EXAMPLES[index])
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=PYTEST_EXAMPLES[index].count("def test_"))


@pytest.mark.parametrize("index", range(len(SCRIPTS)))
def test_python_examples(index: int, tmp_path: Path) -> None:
    with demo_server() as url:
        source = SCRIPTS[index].replace(DEFAULT_URL, url)
        script = tmp_path / "example.py"
        script.write_text(source)
        run = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 0, run.stderr


def test_tutorial_prints_what_it_says(tmp_path: Path) -> None:
    tutorial = next(b for b in SCRIPTS if "POST client_credentials" in b)
    with demo_server() as url:
        script = tmp_path / "tutorial.py"
        script.write_text(tutorial.replace(DEFAULT_URL, url))
        run = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "Bearer 3600 openid read"
    assert lines[1] == "200 {'sub': 'demo-service'}"


def test_curl_examples(tmp_path: Path) -> None:
    shell = next(body for lang, body in BLOCKS if lang == "sh" and "curl" in body)
    with demo_server() as url:
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", shell.replace(DEFAULT_URL, url)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert f'"issuer":"{url}/default"' in out
    assert '"token_type":"Bearer"' in out
    assert '"sub":"alice"' in out
    assert '"email":"alice@example.com"' in out


def test_ci_runs_the_readme_test_command() -> None:
    command = re.search(r"<!-- test-command -->\n```sh\n(.*?)\n```", README, re.S)
    assert command is not None
    run = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run"), "--print-test-command"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert run.stdout.strip() == command[1]


@pytest.mark.parametrize("index", range(len([b for lang, b in BLOCKS if lang == "toml"])))
def test_toml_examples_load(index: int, tmp_path: Path) -> None:
    """The config-file and scenario-file examples are valid files of their kind."""
    from mockauth import Provider, load_config, load_scenario

    body = [b for lang, b in BLOCKS if lang == "toml"][index]
    path = tmp_path / "example.toml"
    path.write_text(body)
    if "[[rules]]" in body:
        assert load_scenario(path).apply(Provider())
    elif body.startswith("[limits]"):
        from mockauth.config import Limits

        assert load_config(path).limits != Limits()  # each value read, none ignored
    elif body.startswith("[registration]"):
        registration = load_config(path).issuers[0].registration
        assert registration.initial_access_token == "iat-for-tests"
        assert registration.redirect_uris
    elif body.startswith("[[trusted_issuers]]"):
        (trusted,) = load_config(path).issuers[0].trusted_issuers
        assert trusted.subjects  # each documented key is one the config reads
        assert Provider(trusted_issuers=[trusted]).trusted_issuers[0].issuer == trusted.issuer
    else:
        issuers = load_config(path).issuers
        assert [Provider(issuer).client("web").client_id for issuer in issuers] == ["web"]


def test_the_readme_images_are_in_the_repository() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images
    for image in images:
        assert (ROOT / image).is_file(), image
        assert (ROOT / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
