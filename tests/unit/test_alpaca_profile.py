"""The ``alpaca`` profile and what it added to the FakeExchange, through plain HTTP clients
(aiohttp in-process at Alpaca's own hostnames, requests and httpx over a socket)."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import date
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from harness import faults
from harness.chaos import Chaos
from harness.errors import ExchangeReject, LiveEndpointBlocked
from harness.exchange import FakeExchange, Instrument, MockExchange, mount
from harness.exchange.profiles import PROFILES
from harness.exchange.profiles.alpaca import (
    AlpacaDialect,
    AlpacaProfile,
    MarketHours,
    eastern,
    timeframe_seconds,
)
from harness.guard import LiveEndpointGuard
from harness.mock import MockServer
from harness.roles import ROLES

KEYS = {"APCA-API-KEY-ID": "PKTEST", "APCA-API-SECRET-KEY": "very-secret"}
TRADING, DATA = "https://paper-api.alpaca.markets", "https://data.alpaca.markets"
OPEN = eastern(2024, 1, 2, 10, 0, 7)  # a Tuesday, 10:00:07 ET


def alpaca(at: float = OPEN, seed: int = 5) -> MockExchange:
    me = MockExchange.create("alpaca", seed=seed)
    me.exchange.set_time(at)
    return me


async def call(
    s: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[int, Any, dict[str, str]]:
    kw.setdefault("headers", KEYS)
    async with s.request(method, url, **kw) as resp:
        body = await resp.json() if (await resp.read()).strip() else None
        return resp.status, body, dict(resp.headers)


# -- market hours ------------------------------------------------------------------------


class TestMarketHours:
    hours = MarketHours()

    @pytest.mark.parametrize(
        ("when", "session"),
        [
            (eastern(2024, 1, 2, 3, 59), "closed"),
            (eastern(2024, 1, 2, 4, 0), "pre"),
            (eastern(2024, 1, 2, 9, 29, 59), "pre"),
            (eastern(2024, 1, 2, 9, 30), "regular"),
            (eastern(2024, 1, 2, 15, 59, 59), "regular"),
            (eastern(2024, 1, 2, 16, 0), "after"),
            (eastern(2024, 1, 2, 19, 59), "after"),
            (eastern(2024, 1, 2, 20, 0), "closed"),
            (eastern(2024, 1, 6, 11, 0), "closed"),  # Saturday
            (eastern(2024, 7, 1, 9, 30), "regular"),  # summer time: 13:30 UTC
        ],
    )
    def test_sessions(self, when: float, session: str) -> None:
        assert self.hours.session(when) == session

    def test_eastern_time_follows_daylight_saving(self) -> None:
        assert eastern(2024, 1, 2, 9, 30) - eastern(2024, 1, 2) == 9.5 * 3600
        assert self.hours.local(eastern(2024, 3, 8, 12)).utcoffset().total_seconds() == -5 * 3600
        assert self.hours.local(eastern(2024, 3, 11, 12)).utcoffset().total_seconds() == -4 * 3600
        # Friday before the spring change -> Monday's open, an hour "earlier" in UTC terms
        assert self.hours.next_open(eastern(2024, 3, 8, 17)) == eastern(2024, 3, 11, 9, 30)
        assert self.hours.next_close(eastern(2024, 11, 1, 17)) == eastern(2024, 11, 4, 16)

    def test_next_open_and_close(self) -> None:
        h = self.hours
        assert h.next_open(eastern(2024, 1, 2, 8)) == eastern(2024, 1, 2, 9, 30)
        assert h.next_open(eastern(2024, 1, 2, 9, 30)) == eastern(2024, 1, 3, 9, 30)
        assert h.next_close(eastern(2024, 1, 2, 8)) == eastern(2024, 1, 2, 16)
        assert h.next_close(eastern(2024, 1, 2, 16)) == eastern(2024, 1, 3, 16)
        assert h.next_open(eastern(2024, 1, 5, 17)) == eastern(2024, 1, 8, 9, 30)
        assert h.next_pre_open(eastern(2024, 1, 5, 21)) == eastern(2024, 1, 8, 4)
        assert h.day_end(eastern(2024, 1, 2, 10)) == eastern(2024, 1, 2, 16)
        assert h.day_end(eastern(2024, 1, 2, 5), extended=True) == eastern(2024, 1, 2, 20)

    def test_holidays(self) -> None:
        hours = MarketHours(holidays=[date(2024, 1, 15)])  # a Monday
        assert hours.session(eastern(2024, 1, 15, 10)) == "closed"
        assert hours.next_open(eastern(2024, 1, 12, 17)) == eastern(2024, 1, 16, 9, 30)
        assert not hours.opg_refused(eastern(2024, 1, 15, 10))

    def test_opg_and_cls_windows(self) -> None:
        h = self.hours
        assert not h.opg_refused(eastern(2024, 1, 2, 9, 27, 59))
        assert h.opg_refused(eastern(2024, 1, 2, 9, 28))
        assert h.opg_refused(eastern(2024, 1, 2, 18, 59, 59))
        assert not h.opg_refused(eastern(2024, 1, 2, 19))
        assert not h.cls_refused(eastern(2024, 1, 2, 15, 49, 59))
        assert h.cls_refused(eastern(2024, 1, 2, 15, 50))
        assert not h.cls_refused(eastern(2024, 1, 6, 15, 55))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1Min", 60), ("15T", 900), ("2Hour", 7200), ("1Day", 86_400), ("1Week", 604_800)],
)
def test_timeframes(text: str, seconds: int) -> None:
    assert timeframe_seconds(text) == seconds


@pytest.mark.parametrize("text", ["60Min", "24Hour", "2Day", "5Month", "1Sec", ""])
def test_bad_timeframes(text: str) -> None:
    with pytest.raises(Exception, match="invalid timeframe"):
        timeframe_seconds(text)


# -- what the FakeExchange gained ----------------------------------------------------------


class TestExchangeAdditions:
    def test_the_clock_can_be_set_and_runs_on(self) -> None:
        ex = FakeExchange(1, start_time=1_700_000_000.0)
        assert 1_700_000_000.0 <= ex.now() < 1_700_000_060.0
        ex.advance(3600)
        assert ex.now() >= 1_700_003_600.0
        ex.set_time(eastern(2024, 1, 2, 10))
        assert abs(ex.now() - eastern(2024, 1, 2, 10)) < 60
        assert abs(FakeExchange(1).now() - ex.now()) > 1e6  # the default is the wall clock

    def test_candle_history_ends_at_the_exchange_time(self) -> None:
        ex = FakeExchange(2, start_time=eastern(2024, 1, 2, 10, 0, 30))
        candles = ex.candles("BTCUSDT", 300)
        assert candles[-1][0] == eastern(2024, 1, 2, 10)
        assert ex.candles("BTCUSDT", 300, step=False) == ex.candles("BTCUSDT", 300, step=False)

    def test_held_orders_wait_and_reserve_funds(self) -> None:
        ex = FakeExchange(3)
        buy = ex.place_order("BTCUSDT", "buy", "limit", 0.1, price=1.0, hold=True)
        sell = ex.place_order("BTCUSDT", "sell", "market", 2.0, hold=True, order_id="mine")
        assert (buy.status, sell.status, sell.order_id) == ("accepted", "accepted", "mine")
        assert buy.open and ex.open_orders() == [buy, sell]
        assert ex.locked["USDT"] == pytest.approx(0.1) and ex.locked["BTC"] == pytest.approx(2)
        ex.release("mine")
        assert sell.status == "filled" and ex.locked["BTC"] == pytest.approx(0)
        ex.release(buy.order_id)
        assert buy.status == "new"  # rests at 1.0
        ex.cancel(buy.order_id)
        assert ex.locked["USDT"] == pytest.approx(0)
        with pytest.raises(ExchangeReject, match="not_held"):
            ex.release(buy.order_id)

    def test_a_held_market_order_is_rejected_when_funds_are_gone(self) -> None:
        ex = FakeExchange(4, balances={"USDT": 100_000.0, "BTC": 0.0})
        order = ex.place_order("BTCUSDT", "buy", "market", 1.0, hold=True)
        ex.balances["USDT"] = 10.0
        assert ex.release(order.order_id).status == "rejected" and ex.fills == []

    def test_replace(self) -> None:
        ex = FakeExchange(5)
        old = ex.place_order("BTCUSDT", "buy", "limit", 0.1, price=1.0, client_order_id="a")
        new = ex.replace(old.order_id, qty=0.2, price=2.0, client_order_id="b")
        assert (old.status, new.status, new.qty, new.price) == ("replaced", "new", 0.2, 2.0)
        assert ex.locked["USDT"] == pytest.approx(0.4)
        with pytest.raises(ExchangeReject, match="insufficient_balance"):
            ex.replace(new.order_id, qty=10**9)
        assert new.status == "new" and ex.locked["USDT"] == pytest.approx(0.4)  # unchanged
        ex.step("BTCUSDT")
        assert ex.open_orders() == [new]  # still resting
        with pytest.raises(ExchangeReject, match="not_open"):
            ex.replace(old.order_id, qty=1)

    def test_positions_from_fills(self) -> None:
        ex = FakeExchange(6, fee_rate=0.0, slippage=0.0)
        first = ex.place_order("BTCUSDT", "buy", "market", 1.0)
        ex.step("BTCUSDT")
        second = ex.place_order("BTCUSDT", "buy", "market", 1.0)
        qty, avg = ex.positions()["BTCUSDT"]
        assert qty == 2.0 and avg == pytest.approx((first.avg_price + second.avg_price) / 2)
        ex.place_order("BTCUSDT", "sell", "market", 0.5)
        assert ex.positions()["BTCUSDT"] == (1.5, pytest.approx(avg))  # a sale keeps the entry
        ex.place_order("BTCUSDT", "sell", "market", 1.5)
        assert ex.positions() == {}

    def test_add_instrument(self) -> None:
        ex = FakeExchange(7)
        ex.add_instrument(Instrument("AAPL", "AAPL", "USD"), price=190.0)
        assert ex.price("AAPL") == 190.0 and ex.balances["USD"] == 0.0
        assert abs(ex.step("AAPL") - 190.0) < 1


# -- the profile over HTTP -----------------------------------------------------------------


def test_registered_with_alpacas_hosts_and_dialect() -> None:
    assert PROFILES["alpaca"] is AlpacaProfile
    me = alpaca()
    assert me.url == TRADING
    assert {str(a) for a in me.server.aliases} >= {"https://api.alpaca.markets", DATA}
    assert isinstance(me.server.dialect, AlpacaDialect)
    assert [i.symbol for i in me.profile.stocks()] == ["AAPL", "MSFT", "SPY"]  # type: ignore[attr-defined]
    assert me.exchange.balances["USD"] == 100_000.0 and me.exchange.fee_rate == 0.0


def test_every_route_declares_a_role() -> None:
    me = alpaca()
    roles = {(r.method, r.describe().split(" ")[1].split("?")[0], r.role) for r in me.server.routes}
    assert all(role in ROLES for _, _, role in roles)
    assert ("GET", "/v2/orders", "order_history") in roles
    assert ("GET", "/v2/orders", "open_orders") in roles
    assert ("GET", "/v2/stocks/quotes/latest", "book") in roles
    assert ("GET", "/v2/stocks/snapshots", "ticker") in roles


def test_an_exchange_with_its_own_stocks_is_kept() -> None:
    ex = FakeExchange(1, instruments=[Instrument("TSLA", "TSLA", "USD")], balances={"USD": 50.0})
    profile = mount(MockServer(TRADING), ex, "alpaca")
    assert [i.symbol for i in profile.stocks()] == ["TSLA"]  # type: ignore[attr-defined]
    assert ex.balances["USD"] == 50.0 and ex.fee_rate == 0.001


async def test_both_hosts_in_process_and_the_guard() -> None:
    me = alpaca()
    async with me.server.intercept(), aiohttp.ClientSession() as s:
        with LiveEndpointGuard():
            status, clock, _ = await call(s, "GET", f"{TRADING}/v2/clock")
            assert status == 200 and clock["is_open"] is True
            assert (
                clock["timestamp"].startswith("2024-01-02T10:00:")
                and "-05:00" in clock["timestamp"]
            )
            status, bars, _ = await call(
                s, "GET", f"{DATA}/v2/stocks/bars", params={"symbols": "AAPL", "timeframe": "1Min"}
            )
            assert status == 200 and len(bars["bars"]["AAPL"]) == 200
            status, _, _ = await call(s, "GET", "https://api.alpaca.markets/v2/account")
            assert status == 200
            with pytest.raises(LiveEndpointBlocked):
                await s.get("https://stream.data.alpaca.markets/v2/iex")


async def test_auth_is_required_and_redacted() -> None:
    me = alpaca()
    async with me.server.intercept(), aiohttp.ClientSession(TRADING) as s:
        status, body, _ = await call(s, "GET", "/v2/account", headers={})
        assert (status, body) == (401, {"code": 40110000, "message": "request is not authorized"})
        status, _, _ = await call(
            s, "GET", "/v2/account", headers={"APCA-API-KEY-ID": "only-the-key"}
        )
        assert status == 401
        status, _, _ = await call(s, "GET", "/v2/account", headers={"Authorization": "Bearer t"})
        assert status == 200
        status, _, _ = await call(s, "GET", "/v2/account")
        assert status == 200
    last = me.server.journal.last
    assert last.headers["APCA-API-KEY-ID"] == last.headers["APCA-API-SECRET-KEY"] == "***"
    assert "very-secret" not in json.dumps(last.to_dict(), default=str)


MARKET_DAY = {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}


@pytest.mark.parametrize(
    ("change", "status", "code", "says"),
    [
        ({"qty": None}, 422, 40010001, "qty or notional"),
        ({"notional": 5}, 422, 40010001, "not both"),
        ({"type": "limit"}, 422, 40010001, "limit_price is required"),
        ({"type": "stop", "stop_price": 1}, 422, 42210000, "not modelled"),
        ({"time_in_force": "week"}, 422, 40010001, "time_in_force"),
        ({"symbol": "ZZZZ"}, 422, 40010001, 'asset "ZZZZ" not found'),
        ({"client_order_id": "x" * 129}, 422, 40010001, "128"),
        ({"extended_hours": True}, 422, 42210000, "DAY limit"),
        ({"qty": 1e6}, 403, 40310000, "buying power"),
    ],
)
async def test_order_validation(change: dict[str, Any], status: int, code: int, says: str) -> None:
    body = {k: v for k, v in (MARKET_DAY | change).items() if v is not None}
    me = alpaca()
    async with me.server.intercept(), aiohttp.ClientSession(TRADING) as s:
        got, answer, _ = await call(s, "POST", "/v2/orders", json=body)
    assert (got, answer["code"]) == (status, code) and says in answer["message"]
    assert me.exchange.orders == {}


async def test_ids_and_bodies_that_are_not_json() -> None:
    me = alpaca()
    async with me.server.intercept(), aiohttp.ClientSession(TRADING) as s:
        status, body, _ = await call(s, "GET", "/v2/orders/not-a-uuid")
        assert (status, body["code"], body["message"]) == (422, 40010001, "order_id is missing")
        status, body, _ = await call(s, "POST", "/v2/orders", data=b"{nope")
        assert (status, body["code"]) == (400, 40010000)
        status, body, _ = await call(s, "GET", "/v2/orders", params={"status": "weird"})
        assert status == 422
        status, body, _ = await call(s, "DELETE", "/v2/positions/AAPL")
        assert (status, body["message"]) == (404, "position does not exist")


async def test_faults_answer_in_alpacas_format() -> None:
    me = alpaca()
    chaos = Chaos(me.server, seed=1)
    chaos.inject(faults.Error(preset="rate_limited"), match={"role": "account"})
    chaos.inject(faults.AckLost(status=504), match={"role": "order_place"})
    order = {"symbol": "AAPL", "qty": 1, "side": "buy", "type": "market", "time_in_force": "day"}
    async with me.server.intercept(), aiohttp.ClientSession(TRADING) as s:
        status, body, headers = await call(s, "GET", "/v2/account")
        assert (status, body) == (429, {"code": 42910000, "message": "rate limit exceeded"})
        assert headers["Retry-After"] == "1" and headers["X-RateLimit-Remaining"] == "0"
        assert int(headers["X-RateLimit-Reset"]) > me.exchange.now()
        status, body, _ = await call(s, "POST", "/v2/orders", json=order)
        assert (status, body) == (504, {"code": 50410000, "message": "gateway timeout"})
    assert len(me.exchange.orders) == 1  # the order exists behind the 504


async def test_order_lists_have_the_role_of_what_they_list() -> None:
    me = alpaca()
    async with me.server.intercept(), aiohttp.ClientSession(TRADING) as s:
        await call(s, "GET", "/v2/orders")
        await call(s, "GET", "/v2/orders", params={"status": "closed"})
        await call(s, "GET", "/v2/orders", params={"status": "all", "direction": "asc"})
    assert [e.role for e in me.server.journal] == ["open_orders", "order_history", "order_history"]


async def test_single_symbol_market_data_and_its_pages() -> None:
    me = alpaca()
    me.profile.page_size = 30  # type: ignore[attr-defined]
    async with me.server.intercept(), aiohttp.ClientSession(DATA) as s:
        status, page, _ = await call(
            s, "GET", "/v2/stocks/AAPL/bars", params={"timeframe": "1Min", "limit": "50"}
        )
        assert status == 200 and page["symbol"] == "AAPL" and len(page["bars"]) == 30
        token = page["next_page_token"]
        symbol, at = json.loads(base64.b64decode(token))
        assert symbol == "AAPL" and isinstance(at, int)
        status, rest, _ = await call(
            s,
            "GET",
            "/v2/stocks/AAPL/bars",
            params={"timeframe": "1Min", "limit": "20", "page_token": token},
        )
        assert len(rest["bars"]) == 20 and rest["bars"][0]["t"] > page["bars"][-1]["t"]
        assert set(rest["bars"][0]) == {"t", "o", "h", "l", "c", "v", "n", "vw"}
        for path, key in (
            ("trades/latest", "trade"),
            ("quotes/latest", "quote"),
            ("bars/latest", "bar"),
        ):
            status, body, _ = await call(s, "GET", f"/v2/stocks/MSFT/{path}")
            assert status == 200 and body["symbol"] == "MSFT" and key in body
        status, snap, _ = await call(s, "GET", "/v2/stocks/SPY/snapshot")
        assert status == 200 and {"latestTrade", "latestQuote", "dailyBar"} <= set(snap)
        status, body, _ = await call(s, "GET", "/v2/stocks/ZZZZ/trades/latest")
        assert (status, body["code"]) == (404, 40410000)
        status, body, _ = await call(s, "GET", "/v2/stocks/ZZZZ/trades", params={"limit": "5"})
        assert (status, body["trades"]) == (200, [])


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"symbols": "AAPL", "timeframe": "7Day"}, "invalid timeframe"),
        ({"symbols": "AAPL", "timeframe": "1Min", "limit": "0"}, "invalid limit"),
        ({"symbols": "AAPL", "timeframe": "1Min", "page_token": "bm9wZQ=="}, "invalid page token"),
        ({"timeframe": "1Min"}, "missing symbols"),
        ({"symbols": "AAPL", "timeframe": "1Min", "feed": "nasdaq"}, "invalid feed"),
        ({"symbols": "AAPL", "timeframe": "1Min", "start": "yesterday"}, "invalid start"),
    ],
)
async def test_market_data_errors(params: dict[str, str], says: str) -> None:
    me = alpaca()
    async with me.server.intercept(), aiohttp.ClientSession(DATA) as s:
        status, body, _ = await call(s, "GET", "/v2/stocks/bars", params=params)
    assert (status, body["code"]) == (400, 40010001) and says in body["message"]


async def test_queued_orders_start_when_the_exchange_clock_reaches_the_open() -> None:
    me = alpaca(at=eastern(2024, 1, 5, 18))  # Friday, after hours
    order = {"symbol": "SPY", "qty": 2, "side": "buy", "type": "market", "time_in_force": "gtc"}
    async with me.server.intercept(), aiohttp.ClientSession(TRADING) as s:
        _, placed, _ = await call(s, "POST", "/v2/orders", json=order)
        assert placed["status"] == "accepted" and placed["filled_at"] is None
        me.exchange.set_time(eastern(2024, 1, 8, 9, 29))  # Monday, still pre-market
        _, still, _ = await call(s, "GET", f"/v2/orders/{placed['id']}")
        assert still["status"] == "accepted"
        me.exchange.advance(61)
        _, filled, _ = await call(s, "GET", f"/v2/orders/{placed['id']}")
        assert filled["status"] == "filled" and filled["filled_qty"] == "2"
        _, positions, _ = await call(s, "GET", "/v2/positions")
        assert [(p["symbol"], p["qty"]) for p in positions] == [("SPY", "2")]


def test_a_requests_client_in_a_sync_test(mock_server_socket: MockServer) -> None:
    me = MockExchange.create("alpaca", seed=3, server=mock_server_socket)
    me.exchange.set_time(OPEN)
    resp = requests.get(f"{me.url}/v2/clock", headers=KEYS, timeout=5)
    assert resp.status_code == 200 and resp.json()["is_open"] is True
    resp = requests.delete(f"{me.url}/v2/orders", headers=KEYS, timeout=5)
    assert (resp.status_code, resp.json()) == (207, [])


async def test_an_httpx_client_in_an_async_test(mock_server_socket: MockServer) -> None:
    me = MockExchange.create("alpaca", seed=3, server=mock_server_socket)
    me.exchange.set_time(OPEN)
    async with httpx.AsyncClient(base_url=me.url, headers=KEYS, timeout=5) as client:
        resp = await client.get("/v2/stocks/trades/latest", params={"symbols": "AAPL,MSFT"})
        assert resp.status_code == 200 and set(resp.json()["trades"]) == {"AAPL", "MSFT"}
        resp = await client.post(
            "/v2/orders",
            json={
                "symbol": "AAPL",
                "qty": 1,
                "side": "buy",
                "type": "market",
                "time_in_force": "day",
            },
        )
        assert resp.json()["status"] == "filled"
    with httpx.Client(base_url=me.url, headers=KEYS, timeout=5) as sync_client:
        account = await asyncio.to_thread(sync_client.get, "/v2/account")  # a sync client
        assert account.json()["status"] == "ACTIVE"
