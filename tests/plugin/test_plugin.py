"""The pytest plugin, exercised through pytester in subprocesses (as users run it)."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

CLIENT_TEST = """
import aiohttp
import pytest

@pytest.mark.chaos
async def test_ticker(mock_server):
    mock_server.get("/v1/ticker", params={"symbol": "BTCUSDT"}).respond(json={"price": "1.5"})
    async with aiohttp.ClientSession() as session:
        async with session.get(mock_server.url + "/v1/ticker?symbol=BTCUSDT") as resp:
            assert (await resp.json())["price"] == "1.5"

def test_not_chaos():
    pass
"""


def test_header_prints_the_run_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("--chaos-seed", "1234")
    result.stdout.fnmatch_lines(
        ["chaos seed: 1234 (from --chaos-seed; replay with --chaos-seed 1234)"]
    )
    result = pytester.runpytest_subprocess()
    result.stdout.re_match_lines([r"chaos seed: \d+ \(random; replay with --chaos-seed \d+\)"])


def test_chaos_marker_selects_and_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_client=CLIENT_TEST)
    result = pytester.runpytest_subprocess(
        "-m", "chaos", "--strict-markers", "-p", "asyncio", "-o", "asyncio_mode=auto"
    )
    result.assert_outcomes(passed=1, deselected=1)


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_mock_server_fixture_in_both_asyncio_modes(pytester: pytest.Pytester, mode: str) -> None:
    marker = "@pytest.mark.asyncio\n" if mode == "strict" else ""
    pytester.makepyfile(
        test_modes=f"""
import aiohttp
import pytest

{marker}async def test_fetch(mock_server):
    route = mock_server.get("/v1/time").respond(json={{"t": 1}})
    async with aiohttp.ClientSession() as session:
        assert await (await session.get(mock_server.url + "/v1/time")).json() == {{"t": 1}}
    assert route.call_count == 1

def test_interception_is_gone_after_the_test():
    import aiohttp.client
    from harness.mock.inprocess import dispatcher
    assert not dispatcher.active
"""
    )
    result = pytester.runpytest_subprocess("-o", f"asyncio_mode={mode}", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_failing_test_reports_seed_and_replay_command(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fail="""
def test_breaks(mock_server, chaos_seed):
    assert chaos_seed < 0
"""
    )
    result = pytester.runpytest_subprocess("--chaos-seed", "77")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- chaos -*",
            "run seed: 77   test seed: *",
            "replay:   pytest 'test_fail.py::test_breaks' --chaos-seed 77",
        ]
    )


def test_passing_and_unrelated_failures_have_no_chaos_section(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert False\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    assert "replay:" not in result.stdout.str()


def test_swallowed_unmatched_request_fails_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_swallow="""
import aiohttp

async def test_careless_client(mock_server):
    mock_server.get("/v1/time").respond(json={})
    async with aiohttp.ClientSession() as session:
        try:
            await session.get(mock_server.url + "/v1/tim")
        except Exception:
            pass
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*UnmatchedRequestError: 1 request reached the mock server*", "*GET /v1/time*"]
    )


def test_unmatched_request_is_not_reported_twice_when_the_test_failed(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_twice="""
import aiohttp

async def test_strict_client(mock_server):
    async with aiohttp.ClientSession() as session:
        await session.get(mock_server.url + "/missing")
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*UnmatchedRequestError: no route matches GET*/missing*"])


def test_mock_server_url_is_overridable(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
import pytest

@pytest.fixture
def mock_server_url():
    return "https://api.binance.com"
""")
    pytester.makepyfile(
        test_url="""
import aiohttp

async def test_production_url(mock_server):
    assert mock_server.url == "https://api.binance.com"
    mock_server.get("/api/v3/ping").respond(json={})
    async with aiohttp.ClientSession() as session:
        assert (await session.get("https://api.binance.com/api/v3/ping")).status == 200
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=1)


def test_guard_blocks_live_hosts_in_harness_tests_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_guard="""
import socket
import pytest
from harness import LiveEndpointBlocked
from harness.guard import LiveEndpointGuard

@pytest.mark.chaos
def test_marked_test_is_guarded():
    with pytest.raises(LiveEndpointBlocked, match="api.binance.com"):
        socket.getaddrinfo("api.binance.com", 443)

def test_fixture_user_is_guarded(mock_server):
    with pytest.raises(LiveEndpointBlocked, match="203.0.113.9"):
        socket.create_connection(("203.0.113.9", 443), timeout=1)

def test_unrelated_test_is_not_guarded():
    assert not LiveEndpointGuard().active
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3)


def test_allow_network_turns_the_guard_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_allow="""
import pytest
from harness.guard import LiveEndpointGuard
from harness.mock.inprocess import dispatcher

@pytest.mark.chaos
def test_no_guard(mock_server):
    assert not LiveEndpointGuard().active and dispatcher.guards == 0
"""
    )
    result = pytester.runpytest_subprocess("--chaos-allow-network")
    result.assert_outcomes(passed=1)


def test_marker_seed_fixes_the_test_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_seed="""
import pytest

@pytest.mark.chaos(seed=3)
def test_fixed(chaos_seed):
    assert chaos_seed == 3
"""
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_bad_seed_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("--chaos-seed", "banana")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-seed: 'banana' is not a non-negative integer*"])


SEED_RECORDER = """
import json, os, pytest
from harness.plugin import run_seed

@pytest.mark.parametrize("n", range(6))
def test_seed(n, chaos_seed, request):
    out = os.environ["SEED_OUT"]
    line = json.dumps({"id": request.node.nodeid, "seed": chaos_seed,
                       "run": run_seed(request.config)})
    with open(out, "a") as fh:
        fh.write(line + "\\n")
"""


def _read_seeds(path: str) -> tuple[dict[str, int], set[int]]:
    with open(path) as fh:
        rows = [json.loads(line) for line in fh.read().splitlines()]
    return {r["id"]: r["seed"] for r in rows}, {r["run"] for r in rows}


def test_per_test_seeds_are_identical_under_n0_and_n2(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_seeds=SEED_RECORDER)
    serial, parallel = str(pytester.path / "serial.jsonl"), str(pytester.path / "parallel.jsonl")
    monkeypatch.setenv("SEED_OUT", serial)
    pytester.runpytest_subprocess("--chaos-seed", "42", "-n", "0").assert_outcomes(passed=6)
    monkeypatch.setenv("SEED_OUT", parallel)
    pytester.runpytest_subprocess("--chaos-seed", "42", "-n", "2").assert_outcomes(passed=6)
    seeds_serial, runs_serial = _read_seeds(serial)
    seeds_parallel, runs_parallel = _read_seeds(parallel)
    assert seeds_serial == seeds_parallel
    assert len(set(seeds_serial.values())) == 6  # every test has its own seed
    assert runs_serial == runs_parallel == {42}


def test_random_run_seed_is_shared_by_every_worker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_seeds=SEED_RECORDER)
    out = str(pytester.path / "seeds.jsonl")
    monkeypatch.setenv("SEED_OUT", out)
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=6)
    header = re.search(r"chaos seed: (\d+)", result.stdout.str())
    assert header is not None
    _, runs = _read_seeds(out)
    assert runs == {int(header.group(1))}


def test_mock_server_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_client="""
import aiohttp
import pytest

@pytest.mark.chaos
@pytest.mark.parametrize("i", range(4))
async def test_ticker(mock_server, i):
    mock_server.get("/v1/ticker").respond(json={"i": i})
    async with aiohttp.ClientSession() as session:
        assert await (await session.get(mock_server.url + "/v1/ticker")).json() == {"i": i}
"""
    )
    result = pytester.runpytest_subprocess("-n", "2", "-m", "chaos", "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=4)


def test_socket_fixtures_for_sync_and_async_clients(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_sock="""
import aiohttp
import pytest
import requests
from harness import faults

def test_requests_client(mock_server_socket):
    mock_server_socket.get("/v1/time").respond(json={"t": 1})
    assert mock_server_socket.url.startswith("http://127.0.0.1:")
    assert requests.get(mock_server_socket.url + "/v1/time", timeout=5).json() == {"t": 1}

@pytest.mark.mock_server(backend="socket")
async def test_chaos_over_the_socket(mock_server, chaos):
    mock_server.post("/v1/orders").respond(json={})
    chaos.inject(faults.Reset())
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientOSError):
            await s.post(mock_server.url + "/v1/orders")

@pytest.mark.mock_server(backend="carrier-pigeon")
def test_bad_backend(mock_server):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*expected 'inprocess' or 'socket'*"])
