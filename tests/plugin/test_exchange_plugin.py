"""mock_exchange and teardown invariant checks, through pytester."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")


def test_mock_exchange_profiles_by_default_marker_and_parameter(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_ex="""
import aiohttp
import pytest

async def test_default_is_generic(mock_exchange):
    assert mock_exchange.profile.name == "generic"
    async with aiohttp.ClientSession() as s:
        assert (await s.get(mock_exchange.url + "/v1/time")).status == 200

@pytest.mark.exchange("binance-spot")
async def test_marker(mock_exchange):
    async with aiohttp.ClientSession() as s:
        assert await (await s.get(mock_exchange.url + "/api/v3/ping")).json() == {}

@pytest.mark.parametrize("mock_exchange", ["binance-spot", "generic"], indirect=True)
def test_indirect(mock_exchange):
    assert mock_exchange.profile.name in ("binance-spot", "generic")
"""
    )
    pytester.runpytest_subprocess("-o", "asyncio_mode=auto").assert_outcomes(passed=4)


def test_a_broken_invariant_fails_the_test_itself(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_rude="""
import aiohttp
import pytest

@pytest.mark.chaos
@pytest.mark.chaos_scenario("exchange-maintenance-503")
async def test_rude_client(mock_exchange):
    async with aiohttp.ClientSession() as s:
        for _ in range(3):
            await s.get(mock_exchange.url + "/v1/time")   # ignores Retry-After

@pytest.mark.chaos
@pytest.mark.chaos_scenario("exchange-maintenance-503")
async def test_polite_client(mock_exchange, chaos):
    import asyncio, time
    class Client:
        known_orders = {}
        cycles = []
    client = Client()
    chaos.watch_client(client)
    async with aiohttp.ClientSession() as s:
        for _ in range(9):
            resp = await s.get(mock_exchange.url + "/v1/time")
            if resp.status == 503:
                await asyncio.sleep(float(resp.headers["Retry-After"]) + 0.01)
        client.cycles.append(time.monotonic())
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)  # a failure of the test, not a teardown error
    result.stdout.fnmatch_lines(
        [
            "*_ test_rude_client _*",
            "E   harness.errors.InvariantViolation: 1 invariant violation (respects_retry_after):",
            "*All traceback entries are hidden*",
        ]
    )
    assert "plugin.py" not in result.stdout.str()
    assert "warnings summary" not in result.stdout.str()  # recovers_within is optional there


def test_an_invariant_without_evidence_fails_the_test_saying_how_to_give_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_latency="""
import aiohttp
import pytest

@pytest.mark.chaos
@pytest.mark.chaos_scenario("lognormal-latency")   # recovers_within needs the client's cycles
async def test_unwatched(mock_server):
    mock_server.get("/v1/time", role="time").respond(json={"time": 1})
    async with aiohttp.ClientSession() as s:
        await s.get(mock_server.url + "/v1/time")
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   harness.errors.MissingEvidence: 1 invariant of this test's scenarios could not "
            "be checked: the test gave them no evidence",
            "*recovers_within needs cycles: *chaos.watch_client(client) with cycles*",
            "*optional: true*",
        ]
    )


def test_the_project_maps_its_paths_to_roles_in_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
[tool.chaos-harness.roles]
"GET /api/candles" = "bars"
"""
    )
    pytester.makepyfile(
        test_roles="""
import aiohttp
import pytest

@pytest.mark.chaos_scenario("truncated-klines")   # every third answer of role bars, cut
async def test_candles(mock_server, chaos):
    mock_server.get("/api/candles").respond(json=[[1700000000000, "1", "2", "0.5", "1.5", "3"]] * 5)
    async with aiohttp.ClientSession() as s:
        for _ in range(6):
            try:
                await (await s.get(mock_server.url + "/api/candles")).read()
            except aiohttp.ClientPayloadError:
                pass
    assert len(chaos.fired("truncate")) == 2 and mock_server.journal.last.role == "bars"
"""
    )
    pytester.runpytest_subprocess("-o", "asyncio_mode=auto").assert_outcomes(passed=1)
