"""Each invariant, held and broken, on small scripted clients."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from harness import faults
from harness.chaos import Chaos
from harness.errors import InvariantViolation, UsageError
from harness.exchange import MockExchange
from harness.invariants import (
    INVARIANTS,
    check_invariants,
    context_for,
    evaluate,
    names,
    parse_spec,
)

ORDER = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": 0.01, "price": 1.0}


class Client:
    def __init__(self) -> None:
        self.known_orders: dict[str, str] = {}
        self.cycles: list[float] = []


@pytest.fixture
def me() -> MockExchange:
    return MockExchange.create("generic", seed=1)


@pytest.fixture
def chaos(me: MockExchange) -> Chaos:
    return Chaos(me.server, seed=3)


async def post(s: aiohttp.ClientSession, body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        resp = await s.post("/v1/orders", json=body, timeout=aiohttp.ClientTimeout(total=0.1))
        return await resp.json()
    except (aiohttp.ClientError, TimeoutError):
        return None


async def test_duplicate_after_a_lost_ack_and_the_idempotent_way(
    me: MockExchange, chaos: Chaos
) -> None:
    chaos.inject(faults.AckLost(mode="disconnect"), match={"method": "POST"}, schedule={"first": 1})
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        assert await post(s, ORDER) is None
        await post(s, ORDER)  # the naive resend
    found = evaluate(["no_duplicate_orders"], context_for(chaos, me))
    assert names(found) == {"no_duplicate_orders"}
    assert "acknowledgement" in found[0].message and len(found[0].evidence) >= 3


async def test_client_order_id_resend_is_no_duplicate(me: MockExchange, chaos: Chaos) -> None:
    chaos.inject(faults.AckLost(mode="disconnect"), match={"method": "POST"}, schedule={"first": 1})
    body = {**ORDER, "client_order_id": "intent-1"}
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        assert await post(s, body) is None
        await post(s, body)  # refused with 409: the exchange has it
    assert evaluate(["no_duplicate_orders"], context_for(chaos, me)) == []
    assert len(me.exchange.orders) == 1


async def test_orders_reconciled(me: MockExchange, chaos: Chaos) -> None:
    client = Client()
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        placed = await post(s, ORDER)
    assert placed is not None
    client.known_orders[placed["order_id"]] = "filled"
    found = evaluate(["orders_reconciled"], context_for(chaos, me, client))
    assert "the client thinks filled" in found[0].message
    client.known_orders = {placed["order_id"]: "new", "ghost": "new"}
    assert {
        v.message.split()[-1]
        for v in evaluate(["orders_reconciled"], context_for(chaos, me, client))
    } == {"had"}
    client.known_orders = {placed["order_id"]: "new"}
    assert evaluate(["orders_reconciled"], context_for(chaos, me, client)) == []


async def test_trade_on_invalid_data_and_after_valid_data(me: MockExchange, chaos: Chaos) -> None:
    chaos.inject(
        faults.Corrupt(corruption="nan"), match={"path": "/v1/bars"}, schedule={"first": 1}
    )
    params = {"symbol": "BTCUSDT", "limit": "30"}
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        await s.get("/v1/bars", params=params)  # NaN in it
        await post(s, ORDER)  # traded on it: violation
        await s.get("/v1/bars", params=params)  # valid again
        await post(s, ORDER)  # fine
    found = evaluate(["no_trade_on_invalid_data"], context_for(chaos, me))
    assert len(found) == 1 and "corrupt:nan" in found[0].message


async def test_benign_corruptions_are_not_invalid_data(me: MockExchange, chaos: Chaos) -> None:
    chaos.inject(faults.Corrupt(corruption="string_numbers"), match={"path": "/v1/bars"})
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        await s.get("/v1/bars", params={"symbol": "BTCUSDT"})
        await post(s, ORDER)
    assert evaluate(["no_trade_on_invalid_data"], context_for(chaos, me)) == []


async def test_bounded_retries_and_the_reset_pause(me: MockExchange, chaos: Chaos) -> None:
    chaos.inject(faults.Error(status=502), match={"path": "/v1/time"})
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        for _ in range(4):
            await s.get("/v1/time")
        await asyncio.sleep(0.25)  # a pause longer than reset_after_s starts a new chain
        for _ in range(4):
            await s.get("/v1/time")
    ctx = context_for(chaos, me)
    assert evaluate([{"bounded_retries": {"max_attempts": 4, "reset_after_s": 0.2}}], ctx) == []
    found = evaluate([{"bounded_retries": {"max_attempts": 4, "reset_after_s": 1.0}}], ctx)
    assert names(found) == {"bounded_retries"} and "more than 4 times" in found[0].message


async def test_retry_after_respected_or_not(me: MockExchange, chaos: Chaos) -> None:
    chaos.inject(faults.Error(preset="maintenance", retry_after_s=0.2), schedule={"first": 2})
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        first = await s.get("/v1/time")
        await asyncio.sleep(float(first.headers["Retry-After"]) + 0.01)  # polite
        await s.get("/v1/time")  # 503 again
        await s.get("/v1/time")  # at once: rude
    found = evaluate(["respects_retry_after"], context_for(chaos, me))
    assert len(found) == 1 and "request 2" in found[0].message


async def test_no_requests_while_banned(me: MockExchange, chaos: Chaos) -> None:
    chaos.inject(
        faults.RateLimit(capacity=1, refill_per_s=0.01, retry_after_s=5, ban_after=1, ban_s=30)
    )
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        statuses = [(await s.get("/v1/time")).status for _ in range(4)]
    assert statuses == [200, 429, 418, 418]
    found = evaluate(["no_requests_while_banned", "respects_retry_after"], context_for(chaos, me))
    assert names(found) == {"no_requests_while_banned", "respects_retry_after"}


async def test_recovers_within(me: MockExchange, chaos: Chaos) -> None:
    client = Client()
    chaos.inject(faults.Error(status=500), schedule={"first": 1})
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        await s.get("/v1/time")
        await s.get("/v1/time")
        client.cycles.append(time.monotonic())
    assert evaluate([{"recovers_within": {"seconds": 5}}], context_for(chaos, me, client)) == []
    stuck = Client()  # never completed a cycle after the fault
    found = evaluate([{"recovers_within": {"seconds": 0.0001}}], context_for(chaos, me, stuck))
    assert "no good cycle followed" in found[0].message


async def test_check_invariants_raises_with_evidence(me: MockExchange, chaos: Chaos) -> None:
    chaos.inject(faults.Error(preset="rate_limited", retry_after_s=10))
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        await s.get("/v1/time")
        await s.get("/v1/time")
    with pytest.raises(InvariantViolation) as info:
        check_invariants(["respects_retry_after"], context_for(chaos, me))
    assert info.value.violations[0].invariant == "respects_retry_after"
    assert '"status": 429' in str(info.value)


def test_specs_are_checked() -> None:
    assert parse_spec({"bounded_retries": {"max_attempts": 3}}) == (
        "bounded_retries",
        {"max_attempts": 3},
    )
    with pytest.raises(UsageError, match="did you mean 'no_duplicate_orders'"):
        parse_spec("no_duplicate_order")
    with pytest.raises(UsageError, match="takes max_attempts, reset_after_s"):
        parse_spec({"bounded_retries": {"attempts": 3}})
    from harness.invariants import InvariantContext
    from harness.mock import MockServer

    empty = InvariantContext(server=MockServer())
    with pytest.raises(UsageError, match=r"needs exchange: .* mock_exchange fixture"):
        evaluate(["orders_reconciled"], empty)


def test_every_library_invariant_is_known() -> None:
    from harness.scenario import load_library

    for scenario in load_library().values():
        for spec in scenario.invariants:
            assert parse_spec(spec)[0] in INVARIANTS


def test_the_readme_lists_the_registry() -> None:
    """The docs' invariant table is the registry's own (and so is the module docstring)."""

    from harness import invariants
    from tests.readme_tables import readme_block

    assert readme_block("invariants-table") == invariants.markdown_table()
    assert invariants.markdown_table() in (invariants.__doc__ or "")
