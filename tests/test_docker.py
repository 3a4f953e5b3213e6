"""The Dockerfile and the compose example, checked without a container engine:
the image's install command and its start command run here as they would in
the image; the compose file names a command ``mockauth serve`` accepts and a
config that loads. (hadolint lints the Dockerfile in ``.ci/run``.)
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mockauth import load_config
from mockauth.cli import build_parser

from .serve import ServeProcess

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "fixtures" / "docker" / "compose.yaml").read_text())


def instruction(name: str) -> str:
    """The (continued) text of the Dockerfile's one ``name`` instruction."""
    joined = DOCKERFILE.replace("\\\n", " ")
    found = [line[len(name) + 1 :] for line in joined.splitlines() if line.startswith(name + " ")]
    assert len(found) == 1, (name, found)
    return found[0]


def test_the_image_runs_as_a_user_on_a_slim_python() -> None:
    assert re.match(r"python:3\.\d+-slim$", instruction("FROM"))
    assert instruction("USER") == "10001"
    assert instruction("EXPOSE") == "8080"


def test_the_start_command_is_one_mockauth_serve_accepts() -> None:
    entrypoint = json.loads(instruction("ENTRYPOINT"))
    cmd = json.loads(instruction("CMD"))
    assert entrypoint[:2] == ["mockauth", "serve"]
    args = build_parser().parse_args([*entrypoint[1:], *cmd])
    assert (args.host, args.port) == ("0.0.0.0", 8080)


@pytest.mark.parametrize("service", ["mockauth"])
def test_the_compose_example_names_a_valid_command_and_config(service: str) -> None:
    spec = COMPOSE["services"][service]
    assert spec["build"] == "../.."  # the repository root, where the Dockerfile is
    entrypoint = json.loads(instruction("ENTRYPOINT"))
    args = build_parser().parse_args([*entrypoint[1:], *spec["command"]])
    assert args.issuer_from_host
    mounted, _, target = spec["volumes"][0].partition(":")
    assert target.startswith(args.config)
    config = load_config((ROOT / "fixtures" / "docker" / mounted).resolve())
    assert [i.issuer_id for i in config.issuers] == ["default"]
    assert COMPOSE["services"]["app"]["environment"]["OIDC_ISSUER"] == (
        "http://mockauth:8080/default"
    )


def test_the_install_and_start_commands_work_outside_docker(tmp_path: Path) -> None:
    """The image's RUN pip install, in a fresh virtual environment; then its start command
    (on port 0: this machine's 8080 may be taken)."""
    install = instruction("RUN").split("&&")[0].strip()
    assert install.startswith("pip install")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    command = [str(venv / "bin" / "pip"), *shlex.split(install)[1:]]
    subprocess.run(command, cwd=ROOT, check=True, timeout=600, capture_output=True)
    entrypoint = json.loads(instruction("ENTRYPOINT"))
    # The image binds 0.0.0.0; tests here bind loopback only, so the host is given again.
    with ServeProcess(
        "--host", "127.0.0.1", command=[str(venv / "bin" / entrypoint[0])], cwd=tmp_path
    ) as served:
        assert served.url.startswith("http://127.0.0.1:")
        assert "TEST ONLY" in served.text


def test_the_readme_install_from_a_checkout(tmp_path: Path) -> None:
    """The README's Install block, its checkout line run with this checkout's path."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Install", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    line = next(x for x in block.splitlines() if "/path/to/mockauth" in x)
    install = line.split("#")[0].strip().replace("/path/to/mockauth", str(ROOT))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    words = shlex.split(install)
    assert words[:2] == ["pip", "install"]
    subprocess.run(
        [str(venv / "bin" / "pip"), *words[1:]],
        cwd=tmp_path,
        check=True,
        timeout=600,
        capture_output=True,
    )
    check = (
        "import httpx, mockauth; print(mockauth.Provider().httpx_client().get('/jwks').status_code)"
    )
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", check],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == "200", done.stderr
