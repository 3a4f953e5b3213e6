"""``mockauth serve`` as a real subprocess, for the tests that run it as users do.

``ServeProcess(*args)`` starts ``python -m mockauth serve --port 0 ARGS...`` (an ephemeral
loopback port, never a fixed one), reads the banner up to "Press Ctrl-C" within ``TIMEOUT``
seconds and parses it. Use it as a context manager: the process is killed on exit, however
the test ended::

    with ServeProcess("--config", "multi.toml", cwd=tmp_path) as served:
        httpx.get(f"{served.url}/a/.well-known/openid-configuration")
        returncode, rest, stderr = served.stop()  # optional: SIGTERM and collect the output
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from mockauth.admin import TOKEN_HEADER

TIMEOUT = 30
PYTHON_M = (sys.executable, "-m", "mockauth")
LISTENING = re.compile(r"^Listening on (https?://127\.0\.0\.1:(\d+))$")
ADMIN = re.compile(r"^Admin API  (\S+)$")
HEADER = re.compile(rf"^  header     {re.escape(TOKEN_HEADER)}: (\S+)$")


class ServeProcess:
    """A running ``mockauth serve --port 0 ARGS...`` and the banner it printed.

    ``command`` is what runs ``serve`` (``python -m mockauth`` unless told, e.g. the
    console script); ``cwd`` is its working directory (this one unless told); ``env``
    holds variables set on top of this process's environment.
    """

    def __init__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        command: Sequence[str] = PYTHON_M,
    ) -> None:
        self.process = subprocess.Popen(
            [*command, "serve", "--port", "0", *args],
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump_stdout, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._pump_stderr, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        try:
            self.banner = self._read_banner()
        except BaseException:
            self.kill()
            raise
        self.text = "\n".join(self.banner)
        listening = next((m for line in self.banner if (m := LISTENING.match(line))), None)
        if listening is None:
            self.kill()
            raise AssertionError(f"no 'Listening on http://127.0.0.1:PORT' line: {self.banner}")
        self.url: str = listening[1]
        self.port = int(listening[2])
        admin = next((m for line in self.banner if (m := ADMIN.match(line))), None)
        header = next((m for line in self.banner if (m := HEADER.match(line))), None)
        self.admin_url: str | None = admin[1] if admin else None
        self.token: str | None = header[1] if header else None

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.kill()

    def _pump_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _pump_stderr(self, stream: IO[str]) -> None:
        for chunk in stream:
            self._stderr.append(chunk)

    def _read_banner(self) -> list[str]:
        lines: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no 'Press Ctrl-C' within {TIMEOUT}s: {lines}") from None
            if line is None:
                returncode = self.process.wait(timeout=TIMEOUT)
                raise AssertionError(
                    f"exited {returncode} early: {lines}; stderr: {self._collect_stderr()}"
                )
            lines.append(line)
            if "Press Ctrl-C" in line:
                return lines

    def _collect_stderr(self) -> str:
        self._threads[1].join(timeout=TIMEOUT)
        return "".join(self._stderr)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        """Send ``signum``; the exit code, the rest of stdout and all of stderr."""
        self.process.send_signal(signum)
        returncode = self.process.wait(timeout=TIMEOUT)
        rest: list[str] = []
        while True:
            try:
                line = self._lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"stdout still open {TIMEOUT}s after exit: {rest}") from None
            if line is None:
                break
            rest.append(line)
        return returncode, "\n".join(rest), self._collect_stderr()

    def kill(self) -> None:
        """Kill the process if it still runs, and close its pipes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for thread in self._threads:
            thread.join(timeout=TIMEOUT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
