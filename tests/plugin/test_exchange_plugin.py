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
            "E   harness.errors.InvariantViolation: 2 invariant violations (respects_retry_after):",
            "*All traceback entries are hidden*",
        ]
    )
    assert "plugin.py" not in result.stdout.str().split("warnings summary")[0]
    result.stdout.fnmatch_lines(["*invariants not checked*recovers_within*"])
