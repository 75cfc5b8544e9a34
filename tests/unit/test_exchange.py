"""The fake exchange and its two API profiles, through real aiohttp clients."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from harness import faults
from harness.chaos import Chaos
from harness.errors import ExchangeReject, MockConfigError
from harness.exchange import FakeExchange, MockExchange, mount
from harness.mock import MockServer
from harness.schemas import OHLCV, OrderBook, validate_edge


class TestCore:
    def test_market_order_fills_with_slippage_and_fees(self) -> None:
        ex = FakeExchange(1)
        price = ex.price("BTCUSDT")
        order = ex.place_order("BTCUSDT", "buy", "market", 0.5)
        assert order.status == "filled" and order.filled_qty == 0.5
        assert order.avg_price == pytest.approx(price * 1.0005, rel=1e-6)
        assert ex.balances["BTC"] == pytest.approx(10.5)
        assert ex.fills[-1].fee == pytest.approx(0.5 * order.avg_price * 0.001)

    def test_limit_order_rests_then_fills_when_the_price_crosses(self) -> None:
        ex = FakeExchange(2)
        far = ex.place_order("BTCUSDT", "buy", "limit", 0.1, price=1.0)
        near = ex.place_order("BTCUSDT", "sell", "limit", 0.1, price=ex.price("BTCUSDT") * 0.99)
        assert near.status == "filled"  # marketable: fills at once
        assert far.status == "new" and ex.locked["USDT"] == pytest.approx(0.1)
        for _ in range(50):
            ex.step("BTCUSDT")
        assert far.status == "new"
        ex.cancel(far.order_id)
        assert far.status == "canceled" and ex.locked["USDT"] == pytest.approx(0.0)

    def test_partial_fills(self) -> None:
        ex = FakeExchange(3, partial_fills=True)
        order = ex.place_order("BTCUSDT", "sell", "limit", 1.0, price=ex.price("BTCUSDT") * 0.5)
        assert order.status == "partially_filled" and order.filled_qty == pytest.approx(0.5)

    def test_client_order_id_is_idempotent(self) -> None:
        ex = FakeExchange(4)
        ex.place_order("BTCUSDT", "buy", "limit", 0.1, price=1.0, client_order_id="intent-1")
        with pytest.raises(ExchangeReject) as info:
            ex.place_order("BTCUSDT", "buy", "limit", 0.1, price=1.0, client_order_id="intent-1")
        assert info.value.code == "duplicate_client_order_id" and info.value.status == 409
        assert len(ex.orders) == 1 and ex.by_client_id("intent-1") is not None

    @pytest.mark.parametrize(
        ("kwargs", "code"),
        [
            ({"side": "hold"}, "bad_side"),
            ({"type": "stop"}, "bad_type"),
            ({"qty": 0}, "bad_qty"),
            ({"price": None}, "bad_price"),
            ({"symbol": "DOGEUSDT"}, "unknown_symbol"),
            ({"qty": 10**9}, "insufficient_balance"),
        ],
    )
    def test_bad_orders_are_refused(self, kwargs: dict[str, Any], code: str) -> None:
        args = {
            "symbol": "BTCUSDT",
            "side": "buy",
            "type": "limit",
            "qty": 0.1,
            "price": 100.0,
        } | kwargs
        with pytest.raises(ExchangeReject) as info:
            FakeExchange(5).place_order(**args)
        assert info.value.code == code

    def test_bars_are_valid_and_end_now(self) -> None:
        ex = FakeExchange(6)
        bars = ex.bars("BTCUSDT", "1s", 50)
        frame = validate_edge([[b[0] * 1000, *b[1:]] for b in bars], OHLCV)
        assert len(frame) == 50 and abs(bars[-1][0] - time.time()) < 5
        with pytest.raises(ExchangeReject, match="interval"):
            ex.bars("BTCUSDT", "7m", 5)

    def test_same_seed_same_market(self) -> None:
        a, b = FakeExchange(9), FakeExchange(9)
        assert [a.step("BTCUSDT") for _ in range(20)] == [b.step("BTCUSDT") for _ in range(20)]


async def test_generic_profile_end_to_end() -> None:
    me = MockExchange.create("generic", seed=1)
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        assert abs((await (await s.get("/v1/time")).json())["time"] / 1000 - time.time()) < 5
        bars = await (await s.get("/v1/bars", params={"symbol": "BTCUSDT", "limit": "20"})).json()
        validate_edge(bars, OHLCV)
        book = await (await s.get("/v1/book", params={"symbol": "BTCUSDT"})).json()
        rows = [["bid", *lvl] for lvl in book["bids"]] + [["ask", *lvl] for lvl in book["asks"]]
        validate_edge(rows, OrderBook, columns=["side", "price", "qty"])
        ticker = await (await s.get("/v1/ticker", params={"symbol": "BTCUSDT"})).json()
        body = {
            "symbol": "BTCUSDT",
            "side": "buy",
            "type": "limit",
            "qty": 0.01,
            "price": 1.0,
            "client_order_id": "c1",
        }
        placed = await s.post("/v1/orders", json=body)
        assert placed.status == 201
        order = await placed.json()
        assert (await (await s.get(f"/v1/orders/{order['order_id']}")).json())["status"] == "new"
        again = await s.post("/v1/orders", json=body)
        assert again.status == 409
        assert (await again.json())["error"]["code"] == "duplicate_client_order_id"
        found = await (await s.get("/v1/orders", params={"client_order_id": "c1"})).json()
        assert [o["order_id"] for o in found] == [order["order_id"]]
        canceled = await (await s.delete(f"/v1/orders/{order['order_id']}")).json()
        assert canceled["status"] == "canceled"
        missing = await s.get("/v1/orders/999")
        assert missing.status == 404 and (await missing.json())["error"]["code"] == "unknown_order"
        bad = await s.post("/v1/orders", json={"symbol": "BTCUSDT"})
        assert bad.status == 400 and "missing" in (await bad.json())["error"]["message"]
        assert (await (await s.get("/v1/balances")).json())["USDT"]["free"] > 0
        assert ticker["price"] > 0


def signed(params: dict[str, Any], secret: bytes = b"secret") -> str:
    """Binance's SIGNED endpoint rule: HMAC-SHA256 of the query string, as `signature`."""
    query = urlencode(params)
    return query + "&signature=" + hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()


async def test_binance_profile_shapes_and_signed_rules() -> None:
    me = MockExchange.create("binance-spot", seed=2)
    assert me.url == "https://api.binance.com"
    headers = {"X-MBX-APIKEY": "any-key"}
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        assert await (await s.get("/api/v3/ping")).json() == {}
        info = await (await s.get("/api/v3/exchangeInfo")).json()
        assert info["symbols"][0]["symbol"] == "BTCUSDT"
        klines = await s.get(
            "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m", "limit": "5"}
        )
        rows = await klines.json()
        assert len(rows) == 5 and len(rows[0]) == 12 and isinstance(rows[0][1], str)
        assert int(klines.headers["X-MBX-USED-WEIGHT-1M"]) >= 2
        validate_edge(rows, OHLCV)
        depth = await (
            await s.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": "5"})
        ).json()
        assert {"lastUpdateId", "bids", "asks"} <= set(depth)
        assert (
            "price"
            in await (await s.get("/api/v3/ticker/price", params={"symbol": "BTCUSDT"})).json()
        )
        assert (
            "priceChangePercent"
            in await (await s.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})).json()
        )

        now = int(time.time() * 1000)
        order = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.01",
            "price": "1.00",
            "newClientOrderId": "b1",
            "timestamp": now,
        }
        placed = await (await s.post("/api/v3/order?" + signed(order), headers=headers)).json()
        assert placed["status"] == "NEW" and placed["clientOrderId"] == "b1" and "fills" in placed
        dup = await s.post(
            "/api/v3/order",
            data=signed(order),
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert dup.status == 400 and (await dup.json())["code"] == -2010
        query = signed({"symbol": "BTCUSDT", "origClientOrderId": "b1", "timestamp": now})
        assert (await (await s.get("/api/v3/order?" + query, headers=headers)).json())[
            "orderId"
        ] == placed["orderId"]
        opens = await (
            await s.get("/api/v3/openOrders?" + signed({"timestamp": now}), headers=headers)
        ).json()
        assert [o["orderId"] for o in opens] == [placed["orderId"]]
        account = await (
            await s.get("/api/v3/account?" + signed({"timestamp": now}), headers=headers)
        ).json()
        assert {b["asset"] for b in account["balances"]} == {"BTC", "USDT"}
        cancel = signed({"symbol": "BTCUSDT", "orderId": placed["orderId"], "timestamp": now})
        assert (await (await s.delete("/api/v3/order?" + cancel, headers=headers)).json())[
            "status"
        ] == "CANCELED"

        errors = {
            "no key": (await s.get("/api/v3/account?" + signed({"timestamp": now})), -2014),
            "no signature": (
                await s.get(f"/api/v3/account?timestamp={now}", headers=headers),
                -1102,
            ),
            "bad signature": (
                await s.get(f"/api/v3/account?timestamp={now}&signature=zz", headers=headers),
                -1022,
            ),
            "old timestamp": (
                await s.get(
                    "/api/v3/account?" + signed({"timestamp": now - 60_000}), headers=headers
                ),
                -1021,
            ),
            "unknown order": (
                await s.get(
                    "/api/v3/order?"
                    + signed({"symbol": "BTCUSDT", "orderId": 99, "timestamp": now}),
                    headers=headers,
                ),
                -2013,
            ),
        }
        for what, (resp, code) in errors.items():
            assert (await resp.json())["code"] == code, what


async def test_clock_skew_gives_minus_1021_on_signed_requests() -> None:
    me = MockExchange.create("binance-spot", seed=3)
    chaos = Chaos(me.server, seed=1)
    chaos.inject(faults.ClockSkew(offset_s=-30))
    headers = {"X-MBX-APIKEY": "k"}
    async with me.server.intercept(), aiohttp.ClientSession(me.url) as s:
        server_time = (await (await s.get("/api/v3/time")).json())["serverTime"]
        assert server_time < time.time() * 1000 - 25_000
        resp = await s.get(
            "/api/v3/account?" + signed({"timestamp": int(time.time() * 1000)}), headers=headers
        )
        assert resp.status == 400 and (await resp.json())["code"] == -1021
        # a client that syncs to the exchange's clock (as Binance advises) gets through
        resp = await s.get("/api/v3/account?" + signed({"timestamp": server_time}), headers=headers)
        assert resp.status == 200
    assert len(chaos.fired("clock_skew")) == 3


def test_clock_skew_arguments() -> None:
    from harness.errors import FaultConfigError

    with pytest.raises(FaultConfigError, match="non-zero"):
        faults.ClockSkew(offset_s=0)


def test_unknown_profile() -> None:
    with pytest.raises(MockConfigError, match="generic"):
        mount(MockServer(), FakeExchange(), "kraken")
