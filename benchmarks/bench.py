"""mockauth benchmarks: prints its figures; run ``python benchmarks/bench.py``.

1. fixture overhead: pytest sessions of N trivial tests with and without the
   ``mockauth`` fixture, run in alternation (paired); per-test overhead from the
   per-test setup+call+teardown durations pytest reports, and from session
   wall time.
2. in-process client_credentials tokens/s through the httpx transport.
3. live-server client_credentials tokens/s at 1 and 8 keep-alive connections,
   the server in its own process (``mockauth serve``), the load from ``wrk``
   when installed, else from threads of this process.
4. cold start of ``mockauth serve`` until discovery answers (with bytecode, as
   an installed package has it).
5. minting once the access-token table is full (what a long load test reaches).
6. with ``--sustained SECONDS``: a long load, rate and p99 per interval.
7. with ``--peer``: the live-server figure side by side with the node peer,
   ``oauth2-mock-server`` 9.3.0 on node 22, both installed with npm into
   ``benchmarks/peer`` on first use; rounds alternate between the two servers.

Figures only; nothing here asserts a threshold (targets live in the README).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from urllib.request import urlopen

HERE = Path(__file__).resolve().parent
PEER_DIR = HERE / "peer"
BENCH_CONFIG = HERE / "bench-config.toml"
CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret-0123456789-abcdefghij"

RECORDER = textwrap.dedent(
    """
    import json, os
    _durations = []
    def pytest_runtest_logreport(report):
        _durations.append((report.nodeid, report.when, report.duration))
    def pytest_sessionfinish(session):
        with open(os.environ["BENCH_OUT"], "w") as f:
            json.dump(_durations, f)
    """
)


def _write_suite(root: Path, n: int, with_fixture: bool) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "conftest.py").write_text(RECORDER)
    arg = "mockauth" if with_fixture else ""
    body = "\n".join(f"def test_{i}({arg}):\n    pass\n" for i in range(n))
    (root / "test_trivial.py").write_text(body)


def _run_suite(root: Path) -> tuple[float, list[float]]:
    out = root / "durations.json"
    env = {**os.environ, "BENCH_OUT": str(out)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    per_test: dict[str, float] = {}
    for nodeid, _when, duration in json.loads(out.read_text()):
        per_test[nodeid] = per_test.get(nodeid, 0.0) + duration
    durations = list(per_test.values())
    return wall, durations[1:]  # the first test pays the session's one-time set-up


def fixture_overhead(n: int, pairs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain, fixture = Path(tmp, "plain"), Path(tmp, "fixture")
        _write_suite(plain, n, with_fixture=False)
        _write_suite(fixture, n, with_fixture=True)
        _run_suite(plain), _run_suite(fixture)  # warm the file system and bytecode caches
        walls, per_test = [], []
        for _ in range(pairs):
            wall_plain, d_plain = _run_suite(plain)
            wall_fixture, d_fixture = _run_suite(fixture)
            walls.append((wall_fixture - wall_plain) / n)
            per_test.append(statistics.median(d_fixture) - statistics.median(d_plain))
    print(f"fixture overhead ({n} tests, {pairs} pairs):")
    print(
        "  per test, median of pytest's per-test durations: "
        f"{statistics.median(per_test) * 1e3:.3f} ms  (min {min(per_test) * 1e3:.3f})"
    )
    print(
        f"  per test, from session wall time (incl. one-time import and server start): "
        f"{statistics.median(walls) * 1e3:.3f} ms"
    )


def in_process(requests: int) -> None:
    from mockauth import Provider

    provider = Provider()
    provider.add_client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    data = {"grant_type": "client_credentials", "scope": "read"}
    with provider.httpx_client() as http:
        for _ in range(50):
            http.post(provider.endpoint("token"), data=data, auth=(CLIENT_ID, CLIENT_SECRET))
        start = time.perf_counter()
        for _ in range(requests):
            response = http.post(
                provider.endpoint("token"), data=data, auth=(CLIENT_ID, CLIENT_SECRET)
            )
            assert response.status_code == 200, response.text
        elapsed = time.perf_counter() - start
    print(
        f"in-process httpx transport: {requests / elapsed:,.0f} client_credentials tokens/s "
        f"({elapsed / requests * 1e3:.3f} ms each)"
    )


def core(requests: int, rules: int = 0) -> float:
    """Provider.handle alone (no client library, no socket): µs per client_credentials token.

    With ``rules``, that many scenario rules exist that never match the request,
    so the figure shows what the mere existence of scenarios costs.
    """
    import io

    from werkzeug.test import EnvironBuilder

    from mockauth import Provider

    provider = Provider()
    provider.add_client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    for _ in range(rules):
        provider.fail("jwks", status=503)
    auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    environ = EnvironBuilder(
        path="/default/token",
        method="POST",
        data={"grant_type": "client_credentials", "scope": "read"},
        headers={"Authorization": f"Basic {auth}"},
    ).get_environ()
    body = environ["wsgi.input"].read()
    try:  # the sans-I/O core: each request built as the transports and the server build it
        from mockauth.http import Request

        headers = [
            ("Content-Type", environ["CONTENT_TYPE"]),
            ("Content-Length", str(len(body))),
            ("Authorization", f"Basic {auth}"),
        ]

        def make() -> object:
            return Request("POST", "/default/token", headers=headers, body=body)

        make()
    except TypeError:  # a checkout from before it: a werkzeug request over an environ

        def make() -> object:
            env = dict(environ)
            env["wsgi.input"] = io.BytesIO(body)
            return Request(env)  # type: ignore[call-arg]

    def one() -> None:
        response = provider.handle(make())  # type: ignore[arg-type]
        assert response.status_code == 200

    for _ in range(200):
        one()
    best = float("inf")
    for _ in range(5):  # best of five: the least disturbed run
        start = time.perf_counter()
        for _ in range(requests):
            one()
        best = min(best, (time.perf_counter() - start) / requests)
    return best * 1e6


def at_capacity(extra: int) -> None:
    """Minting in-process once the access-token table is full (100,000 live tokens):
    what a long load test reaches. A scan per insertion once cost milliseconds here.
    """
    from mockauth import Provider
    from mockauth.store import MAX_ENTRIES

    provider = Provider(tokens={"access_token_format": "opaque"})
    for _ in range(200):
        provider.issue_token("alice")
    start = time.perf_counter()
    for _ in range(extra):
        provider.issue_token("alice")
    fresh = (time.perf_counter() - start) / extra
    for _ in range(MAX_ENTRIES):
        provider.issue_token("alice")
    start = time.perf_counter()
    for _ in range(extra):
        provider.issue_token("alice")
    full = (time.perf_counter() - start) / extra
    print(
        f"store at capacity ({MAX_ENTRIES:,} live access tokens): {full * 1e6:.1f} µs per "
        f"minted token (fresh: {fresh * 1e6:.1f} µs)"
    )


def core_report(requests: int) -> None:
    from mockauth import Provider

    plain = core(requests)
    line = f"core Provider.handle, client_credentials: {plain:.1f} µs per token"
    if hasattr(Provider, "fail"):  # checkouts from before scenario rules have none
        line += f" ({core(requests, rules=5):.1f} µs with 5 non-matching scenario rules)"
    print(line)


def _quiet() -> list[str]:
    """``--quiet`` where ``mockauth serve`` has it: throughput without a log line per request
    (what older checkouts measured; a line to stderr costs a few percent)."""
    help_text = subprocess.run(
        [sys.executable, "-m", "mockauth", "serve", "--help"], capture_output=True, text=True
    ).stdout
    return ["--quiet"] if "--quiet" in help_text else []


def _start_server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockauth", "serve", "--port", "0", "--config", str(BENCH_CONFIG),
         *_quiet()],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Listening on"):
            return proc, line.split()[-1]
    raise RuntimeError("mockauth serve did not start")


def _peer_node() -> Path:
    """node 22 with oauth2-mock-server beside it, installed from the lock file once."""
    node = PEER_DIR / "node_modules" / ".bin" / "node"
    if not (node.exists() and (PEER_DIR / "node_modules" / "oauth2-mock-server").is_dir()):
        print("installing the peer (npm ci in benchmarks/peer)...", file=sys.stderr, flush=True)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEER_DIR,
            check=True,
            timeout=600,
        )
    return node


def _start_peer(node: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(node), "serve.mjs"], cwd=PEER_DIR, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Listening on"):
            return proc, "http://127.0.0.1:" + line.rsplit(":", 1)[1].strip()
    raise RuntimeError("oauth2-mock-server did not start")


def side_by_side(seconds: float, rounds: int) -> None:
    """client_credentials tokens/s of ``mockauth serve`` and of the node peer, the
    same load against each in alternating rounds (medians), with the ratio."""
    node = _peer_node()
    ours, url = _start_server()
    peer, peer_url = _start_peer(node)
    targets = {
        "mockauth": (*_host_port(url), "/default/token"),
        "oauth2-mock-server": (*_host_port(peer_url), "/token"),
    }
    try:
        version = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True
        ).stdout.strip()
        print(f"side by side with oauth2-mock-server 9.3.0 on node {version}")
        for host, port, path in targets.values():
            _load(host, port, 2, 0.5, path)  # warm-up
        for connections in (1, 8):
            rates: dict[str, list[float]] = {name: [] for name in targets}
            failed = dict.fromkeys(targets, 0)
            for _ in range(rounds):
                for name, (host, port, path) in targets.items():
                    done, errors, _ = _load(host, port, connections, seconds, path)
                    rates[name].append(done / seconds)
                    failed[name] += errors
            ours_rate = statistics.median(rates["mockauth"])
            peer_rate = statistics.median(rates["oauth2-mock-server"])
            # Each round's two loads run back to back, under the same machine weather:
            # the median of their ratios is steadier than the ratio of the medians.
            pairs = sorted(
                a / b for a, b in zip(rates["mockauth"], rates["oauth2-mock-server"], strict=True)
            )
            print(
                f"  {connections} connection(s): mockauth {ours_rate:,.0f} tokens/s "
                f"({failed['mockauth']} errors), oauth2-mock-server {peer_rate:,.0f} tokens/s "
                f"({failed['oauth2-mock-server']} errors): {ours_rate / peer_rate:.2f}x; "
                f"per round {statistics.median(pairs):.2f}x "
                f"(from {pairs[0]:.2f} to {pairs[-1]:.2f})"
            )
    finally:
        for proc in (ours, peer):
            proc.terminate()
            proc.wait(10)


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.split("//")[1].split(":")
    return host, int(port)


#: How the load is made: "wrk" (C, epoll: its own cost is small beside the server's)
#: when it is installed (``apt-get install wrk``), else Python threads with
#: http.client, which share the two cores with the server and cost it about a third.
LOAD = "wrk" if shutil.which("wrk") else "python"

WRK_SCRIPT = """wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic %s"
"""


def _unit_ms(text: str) -> float:
    for unit, scale in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    raise ValueError(text)


def _load(
    host: str, port: int, connections: int, seconds: float, path: str = "/default/token"
) -> tuple[int, int, float]:
    """``connections`` keep-alive clients POSTing client_credentials for ``seconds``:
    (tokens, failed requests, p99 latency in ms)."""
    if LOAD == "wrk":
        return _load_wrk(host, port, connections, seconds, path)
    return _load_python(host, port, connections, seconds, path)


def _load_wrk(
    host: str, port: int, connections: int, seconds: float, path: str
) -> tuple[int, int, float]:
    auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % auth)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
             "-s", script.name, f"http://{host}:{port}{path}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    answered = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    refused = int(bad[1]) if bad else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+)", out)
    lost = sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    p99 = re.search(r"^\s+99%\s+(\S+)$", out, re.MULTILINE)
    return answered - refused, refused + lost, _unit_ms(p99[1]) if p99 else 0.0


def _load_python(
    host: str, port: int, connections: int, seconds: float, path: str
) -> tuple[int, int, float]:
    body = "grant_type=client_credentials&scope=read"
    auth = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"Basic {auth}",
    }
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                latencies[i].append(time.perf_counter() - start)
            else:
                errors[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = sorted(t for per in latencies for t in per)
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))] * 1000 if every else 0.0
    return len(every), sum(errors), p99


def live_server(seconds: float) -> None:
    proc, url = _start_server()
    try:
        host, port = _host_port(url)
        _load(host, port, 2, 0.5)  # warm-up
        for connections in (1, 8):
            done, errors, _ = _load(host, port, connections, seconds)
            print(
                f"live server, {connections} connection(s): {done / seconds:,.0f} "
                f"client_credentials tokens/s ({errors} errors)"
            )
    finally:
        proc.terminate()
        proc.wait(10)


def sustained(seconds: float, connections: int = 8, interval: float = 15.0) -> None:
    """A long load at ``connections`` keep-alive connections against ``mockauth serve``:
    tokens/s and p99 latency per interval, so a rate that sags or a tail that grows shows.
    Bounded in time; the traffic stays on loopback.
    """
    proc, url = _start_server()
    host, port = _host_port(url)
    try:
        total = errors = 0
        rates = []
        began = time.perf_counter()
        while time.perf_counter() - began < seconds - 0.5:
            length = min(interval, seconds - (time.perf_counter() - began))
            done, failed, p99 = _load(host, port, connections, length)
            total += done
            errors += failed
            rate = done / length
            rates.append(rate)
            print(
                f"  {time.perf_counter() - began:5.0f} s: {rate:7,.0f} tokens/s, "
                f"p99 {p99:6.1f} ms ({total:,} tokens so far)",
                flush=True,
            )
        if len(rates) >= 2:
            print(
                f"sustained {seconds:.0f} s at {connections} connections: last interval at "
                f"{rates[-1] / rates[0]:.2f}x the first ({total:,} tokens, {errors} errors)"
            )
    finally:
        proc.terminate()
        proc.wait(10)


def cold_start(runs: int) -> None:
    """``mockauth serve`` until discovery answers, with bytecode as an installed
    package has it (pip compiles it at install; an environment with
    PYTHONDONTWRITEBYTECODE would otherwise compile every module at every start).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(  # writes the bytecode of an editable checkout once
        [sys.executable, "-c", "import mockauth.cli, mockauth.provider, mockauth.server"],
        env=env,
        check=True,
    )
    quiet = _quiet()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockauth", "serve", "--port", "0", *quiet],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            url = next(line.split()[-1] for line in proc.stdout if line.startswith("Listening on"))
            with urlopen(url + "/default/.well-known/openid-configuration") as response:
                response.read()
            times.append(time.perf_counter() - start)
        finally:
            proc.terminate()
            proc.wait(10)
    print(
        f"cold start of `mockauth serve` until discovery answers: median "
        f"{statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f}, {runs} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument(
        "--core-only",
        action="store_true",
        help="only the in-process core figure (to compare two checkouts via PYTHONPATH)",
    )
    parser.add_argument(
        "--cold-only", action="store_true", help="only the cold start (to compare two checkouts)"
    )
    parser.add_argument(
        "--sustained",
        type=float,
        metavar="SECONDS",
        default=None,
        help="only a long load at 8 connections, with rate and p99 per interval (try 300)",
    )
    parser.add_argument(
        "--peer",
        action="store_true",
        help="only the live server side by side with oauth2-mock-server on node 22 (npm)",
    )
    args = parser.parse_args()
    quick = args.quick
    print(
        f"python {sys.version.split()[0]} on {os.cpu_count()} cores; load from {LOAD}",
        flush=True,
    )
    if args.core_only:
        core_report(500 if quick else 2000)
        return
    if args.cold_only:
        cold_start(3 if quick else 10)
        return
    if args.peer:
        side_by_side(1.0 if quick else 3.0, 3 if quick else 7)
        return
    if args.sustained is not None:
        sustained(args.sustained)
        return
    core_report(500 if quick else 2000)
    at_capacity(1000 if quick else 5000)
    fixture_overhead(200, 2 if quick else 5)
    in_process(500 if quick else 3000)
    live_server(1.0 if quick else 3.0)
    cold_start(3 if quick else 10)


if __name__ == "__main__":
    main()
