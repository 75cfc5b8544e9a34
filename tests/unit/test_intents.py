"""Order intents, and no_duplicate_orders judged on them from the journal and roles alone:
no FakeExchange, fresh client order ids on every send, both backends."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import MockServer, faults
from harness.chaos import Chaos
from harness.intents import IntentFields, intent_of
from harness.invariants import context_for, evaluate, names
from harness.mock.journal import JournalEntry


def entry(body: Any = "", params: dict[str, Any] | None = None) -> JournalEntry:
    text = body if isinstance(body, str) else json.dumps(body)
    return JournalEntry(0, 0.0, "POST", "u", "/o", params or {}, {}, text, None)


class TestIntentOf:
    def test_ids_timestamps_and_signatures_do_not_count(self) -> None:
        a = entry(
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.0010&price=50000"
            "&newClientOrderId=x-1&timestamp=1&signature=aa"
        )
        b = entry(
            "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.001&price=50000.00"
            "&newClientOrderId=x-2&timestamp=2&signature=bb"
        )
        assert intent_of(a) == intent_of(b)
        assert str(intent_of(a)) == "symbol=BTCUSDT side=buy type=limit quantity=0.001 price=50000"

    def test_json_bodies_query_strings_and_nesting(self) -> None:
        alpaca = entry(
            {
                "symbol": "AAPL",
                "qty": 2,
                "side": "buy",
                "type": "limit",
                "limit_price": 150.25,
                "client_order_id": str(uuid.uuid4()),
            }
        )
        nested = entry(
            {
                "order": {
                    "instrument": "aapl",
                    "size": "2",
                    "side": "BUY",
                    "type": "LIMIT",
                    "px": "150.250",
                }
            }
        )
        assert intent_of(alpaca) == intent_of(nested)
        query = entry(params={"symbol": "AAPL", "qty": "2", "side": "sell"})
        assert intent_of(query).side == "sell"

    def test_a_profile_names_its_own_fields(self) -> None:
        custom = entry({"ins": "BTC-USD", "dir": "long", "amt": "1"})
        fields = IntentFields.for_names({"symbol": "ins", "side": "dir", "quantity": "amt"})
        assert intent_of(custom, fields).symbol == "BTC-USD"
        assert intent_of(custom).symbol is None  # unknown names: identified by all the rest

    def test_without_any_known_field_the_rest_identifies_it(self) -> None:
        a, b = entry({"what": "x", "nonce": 1}), entry({"what": "x", "nonce": 2})
        assert intent_of(a) == intent_of(b) != intent_of(entry({"what": "y"}))

    @given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers())))
    def test_any_body_has_an_intent(self, body: dict[str, Any]) -> None:
        intent_of(entry(body))
        intent_of(entry("&".join(f"{k}={v}" for k, v in body.items())))


ORDERS = "/api/orders"


def api(backend_url: str = "https://api.mybroker.test") -> MockServer:
    """A team's own API, described only by roles on plain routes: no FakeExchange."""
    server = MockServer(backend_url, seed=1)
    placed: list[dict[str, Any]] = []

    def place(request: Any) -> Any:
        body = request.json()
        placed.append(body)
        return 201, {"id": f"o{len(placed)}", "cid": body["cid"], "status": "open"}

    def lookup(request: Any) -> Any:
        found = [b for b in placed if b["cid"] == request.query.get("cid")]
        return [{"cid": b["cid"], "status": "open"} for b in found]

    server.post(ORDERS, role="order_place").respond(place)
    server.get(ORDERS, role="open_orders").respond(lookup)
    server.placed = placed  # type: ignore[attr-defined]
    return server


async def send(session: aiohttp.ClientSession, url: str, look_first: bool) -> int:
    """Place one order for one intent; on an ambiguous outcome, retry with a fresh client
    order id (as ccxt and python-binance do), looking the first one up first or not."""
    order = {"symbol": "BTC-USD", "side": "buy", "type": "limit", "qty": "0.5", "price": "100"}
    cid = uuid.uuid4().hex
    for _ in range(3):
        try:
            async with session.post(url + ORDERS, json={**order, "cid": cid}) as resp:
                if resp.status < 500:
                    return resp.status
        except (aiohttp.ClientError, TimeoutError):
            pass
        if look_first:
            async with session.get(url + ORDERS, params={"cid": cid}) as resp:
                if await resp.json():
                    return 200  # it exists: do not send it again
        cid = uuid.uuid4().hex  # a fresh id, like a client library's
    return 0


@pytest.mark.parametrize("backend", ["inprocess", "socket"])
@pytest.mark.parametrize(
    "fault",
    [faults.AckLost(mode="disconnect"), faults.AckLost(status=504)],
    ids=["ack-lost-disconnect", "ack-lost-504"],
)
@pytest.mark.parametrize("look_first", [False, True], ids=["blind-resend", "looks-it-up"])
async def test_duplicates_are_judged_by_intent_on_any_api(
    backend: str, fault: faults.AckLost, look_first: bool
) -> None:
    server = api()
    chaos = Chaos(server, seed=3)
    chaos.inject(fault, match={"role": "order_place"}, schedule={"first": 1})
    if backend == "inprocess":
        async with server.intercept(), aiohttp.ClientSession() as session:
            await send(session, server.url, look_first)
    else:
        async with server.serve() as url, aiohttp.ClientSession() as session:
            await send(session, url, look_first)
    found = evaluate(["no_duplicate_orders"], context_for(chaos))
    assert len(server.placed) == (1 if look_first else 2)  # type: ignore[attr-defined]
    assert names(found) == (set() if look_first else {"no_duplicate_orders"})
    if found:
        assert "symbol=BTC-USD side=buy type=limit quantity=0.5 price=100" in found[0].message


async def test_a_refused_resend_is_not_a_duplicate() -> None:
    server = MockServer("https://x.test", seed=1)
    server.post(ORDERS, role="order_place").respond_seq([(201, {}), (409, {"error": "dup"})])
    chaos = Chaos(server, seed=1)
    chaos.inject(faults.AckLost(), match={"role": "order_place"}, schedule={"first": 1})
    async with server.intercept(), aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.post(server.url + ORDERS, json={"symbol": "A", "qty": 1})
        assert (
            await session.post(server.url + ORDERS, json={"symbol": "A", "qty": 1})
        ).status == 409
    assert evaluate(["no_duplicate_orders"], context_for(chaos)) == []


async def test_an_order_lost_before_the_exchange_saw_it_may_be_sent_again() -> None:
    server = api()
    chaos = Chaos(server, seed=1)
    chaos.inject(faults.Reset(), match={"role": "order_place"}, schedule={"first": 1})
    async with server.intercept(), aiohttp.ClientSession() as session:
        await send(session, server.url, look_first=False)
    assert len(server.placed) == 1  # type: ignore[attr-defined]
    assert evaluate(["no_duplicate_orders"], context_for(chaos)) == []
