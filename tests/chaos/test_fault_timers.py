"""Every timer of every fault kind on the virtual clock: chaos tests on the in-process
backend run on virtual time by default (clock 'auto'), so real-world durations are exact
and cost no wall time.

Each test asserts exact virtual instants (journal ``t``, the client's ``time.monotonic()``):
under real time they would be approximate and take minutes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from harness import MockServer, clock, faults
from harness.chaos import Chaos
from harness.clock import VIRTUAL_EPOCH
from harness.exchange import MockExchange
from harness.invariants import context_for, evaluate, names

URL = "https://api.exchange.test"


@pytest.fixture
def server(mock_server: MockServer) -> MockServer:
    mock_server.get("/v1/ticker", role="ticker").respond(json={"price": 1.0})
    return mock_server


def seen(server: MockServer) -> list[tuple[float, Any]]:
    return [(e.t, e.status if e.status is not None else e.error.kind) for e in server.journal]


async def get(session: aiohttp.ClientSession, **timeout: float) -> int:
    async with session.get(
        URL + "/v1/ticker", timeout=aiohttp.ClientTimeout(**timeout) if timeout else None
    ) as resp:
        await resp.read()
        return resp.status


async def send_at(plan: list[float]) -> None:
    """One GET at each of these virtual instants (seconds from now)."""
    start = time.monotonic()
    async with aiohttp.ClientSession() as session:
        for at in plan:
            await asyncio.sleep(start + at - time.monotonic())
            await get(session)


@pytest.mark.chaos
async def test_this_test_is_on_virtual_time() -> None:
    assert clock.current() is not None
    assert time.time() == VIRTUAL_EPOCH


@pytest.mark.chaos
async def test_latency_is_exact(server: MockServer, chaos: Chaos) -> None:
    chaos.inject(faults.Latency(fixed_ms=5000))
    async with aiohttp.ClientSession() as session:
        t = time.monotonic()
        assert await get(session, total=10) == 200
        assert time.monotonic() - t == 5.0
        with pytest.raises(TimeoutError):
            await get(session, total=2)  # a 2 s budget against a 5 s answer
        assert time.monotonic() - t == 7.0
    assert server.journal[0].duration == 5.0


@pytest.mark.chaos
async def test_a_hang_outlasts_a_30_s_timeout_exactly(server: MockServer, chaos: Chaos) -> None:
    chaos.inject(faults.Hang(), schedule={"first": 1})
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TimeoutError):
            await get(session, sock_read=30)
        assert await get(session, total=10) == 200
    assert [e.t for e in server.journal] == [0.0, 30.0]


@pytest.mark.chaos
async def test_a_dribbled_body_arrives_over_its_time(server: MockServer, chaos: Chaos) -> None:
    chaos.inject(faults.Dribble(chunks=4, over_ms=20_000))
    async with aiohttp.ClientSession() as session:
        t = time.monotonic()
        assert await get(session, sock_read=30) == 200
        assert time.monotonic() - t == 20.0


@pytest.mark.chaos
async def test_retry_after_and_a_window_in_seconds(server: MockServer, chaos: Chaos) -> None:
    chaos.inject(
        faults.Error(preset="rate_limited", retry_after_s=60),
        schedule={"window": {"start": 0, "end": 300, "unit": "seconds"}},
    )
    async with aiohttp.ClientSession() as session:
        statuses = []
        for _ in range(3):
            statuses.append(await get(session))
            await asyncio.sleep(150)
    assert statuses == [429, 429, 200]
    assert seen(server) == [(0.0, 429), (150.0, 429), (300.0, 200)]
    assert server.journal[0].response_headers["Retry-After"] == "60"


@pytest.mark.chaos
async def test_rate_limit_bucket_and_ban_run_on_the_clock(server: MockServer, chaos: Chaos) -> None:
    """2 tokens refilled one per 30 s; two early sends while told to wait earn a 120 s ban."""
    chaos.inject(
        faults.RateLimit(capacity=2, refill_per_s=1 / 30, ban_after=2, ban_s=120),
    )
    plan = [0, 0, 0, 1, 2, 60, 121, 123, 245]  # when each request is sent (virtual seconds)
    await send_at(plan)
    assert seen(server) == [
        (0.0, 200),
        (0.0, 200),
        (0.0, 429),  # empty: Retry-After 30
        (1.0, 429),  # too early: a violation
        (2.0, 418),  # the second violation: banned for 120 s
        (60.0, 418),
        (121.0, 418),
        (123.0, 200),  # the ban is over; tokens refilled meanwhile
        (245.0, 200),
    ]
    found = evaluate(["respects_retry_after", "no_requests_while_banned"], context_for(chaos))
    assert names(found) == {"respects_retry_after", "no_requests_while_banned"}


@pytest.mark.chaos
async def test_bans_grow_as_binance_does(server: MockServer, chaos: Chaos) -> None:
    """Each ban lasts twice the one before: 2 minutes, then 4."""
    chaos.inject(
        faults.RateLimit(
            capacity=1, refill_per_s=1 / 60, retry_after_s=30, ban_after=1, ban_s=120, ban_factor=2
        )
    )
    plan = [0, 0, 1, 121, 121, 122, 361, 362]
    await send_at(plan)
    assert seen(server) == [
        (0.0, 200),
        (0.0, 429),
        (1.0, 418),  # sent while told to wait 30 s: banned for 120 s
        (121.0, 200),
        (121.0, 429),
        (122.0, 418),  # the second ban: 240 s
        (361.0, 418),
        (362.0, 200),
    ]
    # The log names each ban (length, number), not the measured time left of it.
    assert [
        (e.params["banned_for_s"], e.params["ban"]) for e in chaos.log if e.params["status"] == 418
    ] == [(120, 1), (240, 2), (240, 2)]
    assert server.journal[6].response_headers["Retry-After"] == "1"  # what is left of it


@pytest.mark.chaos
async def test_tenacity_with_a_60_s_retry_after_takes_no_wall_time(
    server: MockServer, chaos: Chaos
) -> None:
    """tenacity reads time.monotonic(); the whole retry loop lives in virtual time."""
    chaos.inject(faults.Error(preset="rate_limited", retry_after_s=60), schedule={"first": 2})
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(600),
            wait=wait_fixed(60),
            retry=retry_if_exception_type(aiohttp.ClientResponseError),
        ):
            with attempt:
                await get(session)
    assert seen(server) == [(0.0, 429), (60.0, 429), (120.0, 200)]
    assert evaluate(["respects_retry_after"], context_for(chaos)) == []
    virtual = clock.current()
    assert virtual is not None and virtual.elapsed == 120.0  # on the loop's clock, not a
    # machine's: two minutes of waits that cost no wall time (bench/virtual_time.py)


@pytest.mark.chaos
async def test_a_client_that_ignores_retry_after_is_convicted(
    server: MockServer, chaos: Chaos
) -> None:
    chaos.inject(faults.Error(preset="rate_limited", retry_after_s=60), schedule={"first": 2})
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            if await get(session) == 200:
                break
            await asyncio.sleep(30)  # half the wait it was asked for
    found = evaluate(["respects_retry_after"], context_for(chaos))
    assert names(found) == {"respects_retry_after"}
    assert seen(server) == [(0.0, 429), (30.0, 429), (60.0, 200)]


@pytest.mark.chaos
async def test_a_lost_ack_outlasting_the_timeout_leaves_the_order(
    mock_exchange: MockExchange, chaos: Chaos
) -> None:
    chaos.inject(faults.AckLost(mode="hang"), match={"role": "order_place"})
    order = {"symbol": "BTCUSDT", "side": "buy", "type": "market", "qty": 0.01}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TimeoutError):
            await session.post(
                mock_exchange.url + "/v1/orders", json=order, timeout=aiohttp.ClientTimeout(10)
            )
    assert len(mock_exchange.exchange.orders) == 1
    assert [e.t for e in chaos.log] == [0.0]
    assert time.monotonic() - chaos.server.t0 == 10.0


@pytest.mark.chaos
async def test_the_exchange_clock_and_market_follow(mock_exchange: MockExchange) -> None:
    exchange = mock_exchange.exchange
    assert exchange.now() == VIRTUAL_EPOCH
    first = exchange.candles("BTCUSDT", 60, step=False)[-1][0]
    await asyncio.sleep(3600)
    assert exchange.now() == VIRTUAL_EPOCH + 3600
    assert exchange.candles("BTCUSDT", 60, step=False)[-1][0] == first + 3600


@pytest.fixture
def exchange_at_open(mock_exchange: MockExchange) -> MockExchange:
    mock_exchange.exchange.set_time(1_700_000_000)
    return mock_exchange


@pytest.mark.chaos
async def test_a_clock_set_in_a_fixture_starts_the_test_exactly(
    exchange_at_open: MockExchange,
) -> None:
    assert exchange_at_open.exchange.now() == 1_700_000_000
    await asyncio.sleep(30 * 60)  # a 30-minute maintenance window
    assert exchange_at_open.exchange.now() == 1_700_000_000 + 1800


@pytest.mark.chaos
async def test_recovers_within_measures_virtual_seconds(server: MockServer, chaos: Chaos) -> None:
    """Two 30 s hangs in a row, then a good cycle: recovered 0 s after the burst's end."""
    chaos.inject(faults.Hang(), schedule={"first": 2})

    class Client:
        cycles: list[float] = []
        known_orders: dict[str, str] = {}

    client = Client()
    chaos.watch_client(client)
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            try:
                await get(session, total=30)
                client.cycles.append(clock.monotonic())
            except TimeoutError:
                pass
    assert [e.t for e in chaos.log] == [0.0, 30.0]
    assert evaluate([{"recovers_within": {"seconds": 1}}], context_for(chaos)) == []
    assert client.cycles == [chaos.server.t0 + 60.0]


@pytest.mark.chaos(clock="real")
async def test_clock_real_keeps_this_test_on_real_time() -> None:
    assert clock.current() is None
    assert abs(time.time() - clock.real_wall()) < 5


@pytest.mark.chaos
async def test_a_dribbled_body_is_cut_by_the_total_timeout(
    server: MockServer, chaos: Chaos
) -> None:
    """aiohttp's total timeout covers reading the body, in-process as over a socket."""
    chaos.inject(faults.Dribble(chunks=4, over_ms=30_000))
    async with aiohttp.ClientSession() as session:
        t = time.monotonic()
        with pytest.raises(TimeoutError):
            await get(session, total=10)
        assert time.monotonic() - t == 10.0
        assert await get(session, total=40) == 200  # given the time, the body arrives
    outcomes = [e.client_outcome and e.client_outcome.kind for e in server.journal]
    assert outcomes == ["timeout", None]
