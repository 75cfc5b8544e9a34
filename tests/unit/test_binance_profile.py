"""The binance-spot profile in detail, with a hand-signed aiohttp client: hosts, URL helpers,
routes and roles, parameters from query and body, signatures, weights, filters, order types
and response types; and the FakeExchange order options underneath."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from harness.errors import ExchangeReject
from harness.exchange import FakeExchange, Instrument, MockExchange
from harness.exchange.profiles.binance import (
    ALIASES,
    ENDPOINTS,
    BinanceSpotProfile,
    ccxt_urls,
    python_binance_urls,
)
from harness.guard import LiveEndpointGuard
from harness.roles import ROLES

KEY, SECRET = "unit-key", "unit-secret"


def sign(query: str, body: str = "", secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()


class Client:
    """Signs as Binance documents: HMAC-SHA256 of the query string followed by the body."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        body: dict[str, Any] | None = None,
        secret: str = SECRET,
        key: str = KEY,
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        query = dict(params or {})
        form = urlencode(body or {})
        if signed:
            query.setdefault("timestamp", int(time.time() * 1000))
            raw = urlencode(query)
            query_string = raw + "&signature=" + sign(raw, form, secret)
        else:
            query_string = urlencode(query)
        headers = {"X-MBX-APIKEY": key}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = URL(f"https://api.binance.com{path}?{query_string}", encoded=True)
        async with self.session.request(method, url, data=form or None, headers=headers) as resp:
            return resp.status, await resp.json(), resp


@pytest_asyncio.fixture
async def binance() -> AsyncIterator[tuple[MockExchange, Client]]:
    me = MockExchange.create("binance-spot", seed=4)
    me.exchange.add_instrument(Instrument("ETHUSDT", "ETH", "USDT", min_notional=5), price=3000)
    me.profile.api_keys = {KEY: SECRET}  # type: ignore[attr-defined]
    with me.server.intercept(), LiveEndpointGuard():
        async with aiohttp.ClientSession() as session:
            yield me, Client(session)
    assert not me.server.unmatched


def test_ccxt_urls_cover_every_api_family_of_ccxt() -> None:
    ccxt = pytest.importorskip("ccxt")
    defaults = ccxt.binance().urls["api"]
    mapped = ccxt_urls("http://127.0.0.1:5555/")
    assert set(mapped) == set(defaults)
    for key, url in defaults.items():
        assert mapped[key] == "http://127.0.0.1:5555" + URL(url).path, key


async def test_python_binance_urls_survive_the_client_constructor() -> None:
    binance = pytest.importorskip("binance")
    cls = type("Mock", (binance.AsyncClient,), python_binance_urls("http://127.0.0.1:5555"))
    client = cls("key", "secret")
    try:
        assert client.API_URL == "http://127.0.0.1:5555/api"
        assert client.MARGIN_API_URL == "http://127.0.0.1:5555/sapi"
        assert client._create_api_uri("ping", False, "v3") == "http://127.0.0.1:5555/api/v3/ping"
    finally:
        await client.close_connection()


def test_every_endpoint_has_a_role_a_weight_and_one_route() -> None:
    keys = [(e.method, e.path) for e in ENDPOINTS]
    assert len(keys) == len(set(keys))
    assert all(e.role in ROLES for e in ENDPOINTS)
    me = MockExchange.create("binance-spot")
    registered = {(r.method, r.path.describe()): r.role for r in me.server.routes}
    assert {k: registered[k] for k in keys} == {(e.method, e.path): e.role for e in ENDPOINTS}
    roles = {e.path: e.role for e in ENDPOINTS}
    assert roles["/api/v3/order/test"] == "order_test"
    assert roles["/api/v3/allOrders"] == "order_history" and roles["/api/v3/myTrades"] == "fills"
    assert {e.role for e in ENDPOINTS if e.path == "/api/v3/openOrders"} == {
        "open_orders",
        "order_cancel",
    }
    assert BinanceSpotProfile.aliases == ALIASES
    assert {URL(a).host for a in ALIASES} >= {"fapi.binance.com", "dapi.binance.com"}


async def test_every_host_and_every_route_answers_json_with_the_weight_header(
    binance: tuple[MockExchange, Client],
) -> None:
    _me, client = binance
    async with aiohttp.ClientSession() as session:
        for host in ("api1", "api2", "api3", "api4", "fapi", "dapi"):
            path = "/fapi/v1/exchangeInfo" if host == "fapi" else "/dapi/v1/exchangeInfo"
            path = path if host in ("fapi", "dapi") else "/api/v3/ping"
            resp = await session.get(f"https://{host}.binance.com{path}")
            assert resp.status == 200, host
    for endpoint in ENDPOINTS:  # even a request missing its parameters gets Binance's JSON
        status, body, resp = await client.call(
            endpoint.method, endpoint.path, signed=endpoint.signed
        )
        assert resp.headers["Content-Type"] == "application/json", endpoint.path
        assert "X-MBX-USED-WEIGHT-1M" in resp.headers
        assert status == 200 or set(body) == {"code", "msg"}, endpoint.path


async def test_symbols_raw_or_percent_encoded(binance: tuple[MockExchange, Client]) -> None:
    _me, client = binance
    async with aiohttp.ClientSession() as session:
        raw = URL(
            'https://api.binance.com/api/v3/ticker/price?symbols=["ETHUSDT","BTCUSDT"]',
            encoded=True,
        )
        got = await (await session.get(raw)).json()
    assert [t["symbol"] for t in got] == ["ETHUSDT", "BTCUSDT"]
    _, encoded, _ = await client.call("GET", "/api/v3/ticker/24hr", {"symbols": '["ETHUSDT"]'})
    assert [t["symbol"] for t in encoded] == ["ETHUSDT"] and "bidQty" in encoded[0]
    _, mini, _ = await client.call("GET", "/api/v3/ticker/24hr", {"type": "MINI"})
    assert len(mini) == 2 and "bidPrice" not in mini[0] and "quoteVolume" in mini[0]
    status, both, _ = await client.call(
        "GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT", "symbols": '["BTCUSDT"]'}
    )
    assert (status, both["code"]) == (400, -1101)
    status, bad, _ = await client.call("GET", "/api/v3/ticker/price", {"symbols": '["NOPE"]'})
    assert (status, bad["code"]) == (400, -1121)
    _, info, _ = await client.call("GET", "/api/v3/exchangeInfo", {"symbol": "ETHUSDT"})
    assert [s["symbol"] for s in info["symbols"]] == ["ETHUSDT"]


async def test_signatures_over_query_and_body(binance: tuple[MockExchange, Client]) -> None:
    me, client = binance
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    # half the parameters in the query, half in the body: the signature covers both
    ts = int(time.time() * 1000)
    query = urlencode({"symbol": "BTCUSDT", "timestamp": ts})
    form = urlencode({k: v for k, v in order.items() if k != "symbol"})
    async with aiohttp.ClientSession() as session:
        resp = await session.post(
            f"https://api.binance.com/api/v3/order?{query}&signature={sign(query, form)}",
            data=form,
            headers={"X-MBX-APIKEY": KEY, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert resp.status == 200 and (await resp.json())["status"] == "FILLED"
    status, body, _ = await client.call("GET", "/api/v3/account", signed=True, secret="wrong")
    assert (status, body["code"]) == (400, -1022)
    status, body, _ = await client.call("GET", "/api/v3/account", signed=True, key="other")
    assert (status, body["code"]) == (401, -2015)
    ahead = {"timestamp": int(time.time() * 1000) + 5_000}
    status, body, _ = await client.call("GET", "/api/v3/account", ahead, signed=True)
    assert (status, body["code"]) == (400, -1021) and "ahead" in body["msg"]
    me.profile.api_keys = {}  # type: ignore[attr-defined]  # any key, any 64-hex signature
    status, _, _ = await client.call("GET", "/api/v3/account", signed=True, secret="wrong")
    assert status == 200


async def test_response_types_and_their_defaults(binance: tuple[MockExchange, Client]) -> None:
    me, client = binance
    base = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01"}
    price = f"{me.exchange.price('BTCUSDT') * 0.9:.2f}"
    stop = f"{me.exchange.price('BTCUSDT') * 1.1:.2f}"
    shapes = {}
    for name, extra in {
        "MARKET": {"type": "MARKET"},
        "LIMIT": {"type": "LIMIT", "timeInForce": "GTC", "price": price},
        "LIMIT_MAKER": {"type": "LIMIT_MAKER", "price": price},
        "STOP_LOSS": {"type": "STOP_LOSS", "stopPrice": stop},
        "LIMIT RESULT": {"type": "LIMIT", "timeInForce": "GTC", "price": price,
                         "newOrderRespType": "RESULT"},
        "MARKET ACK": {"type": "MARKET", "newOrderRespType": "ACK"},
    }.items():  # fmt: skip
        status, body, resp = await client.call(
            "POST", "/api/v3/order", {**base, **extra}, signed=True
        )
        assert status == 200, (name, body)
        assert resp.headers["X-MBX-ORDER-COUNT-10S"] == resp.headers["X-MBX-ORDER-COUNT-1D"]
        shapes[name] = "FULL" if "fills" in body else "RESULT" if "status" in body else "ACK"
    assert shapes == {
        "MARKET": "FULL",
        "LIMIT": "FULL",
        "LIMIT_MAKER": "ACK",
        "STOP_LOSS": "ACK",
        "LIMIT RESULT": "RESULT",
        "MARKET ACK": "ACK",
    }
    status, body, _ = await client.call(
        "POST", "/api/v3/order", {**base, "type": "MARKET", "timeInForce": "GTC"}, signed=True
    )
    assert (status, body["code"]) == (400, -1106)
    status, body, _ = await client.call(
        "POST", "/api/v3/order", {**base, "type": "MARKET", "trailingDelta": 100}, signed=True
    )
    assert body == {"code": -2010, "msg": "Trailing stop orders are not supported for this symbol."}


async def test_weights_by_family_and_by_parameters(binance: tuple[MockExchange, Client]) -> None:
    me, client = binance
    me.exchange.set_time((time.time() // 60 + 1) * 60 + 1)  # a fresh minute (unsigned calls)

    async def weight(path: str, params: dict[str, Any] | None = None) -> int:
        _, _, resp = await client.call("GET", path, params)
        return int(resp.headers["X-MBX-USED-WEIGHT-1M"])

    assert await weight("/api/v3/depth", {"symbol": "BTCUSDT", "limit": 1000}) == 50
    assert await weight("/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5000}) == 300
    assert await weight("/api/v3/ticker/24hr") == 380  # no symbol: 80
    assert await weight("/api/v3/ticker/24hr", {"symbols": '["BTCUSDT"]'}) == 382
    assert await weight("/api/v3/exchangeInfo") == 402
    assert await weight("/sapi/v1/system/status") == 1  # each family counts on its own
    assert await weight("/fapi/v1/exchangeInfo") == 1
    assert me.profile.used_weight() == 402  # type: ignore[attr-defined]


# -- the FakeExchange underneath -------------------------------------------------------------


def exchange(**kw: Any) -> FakeExchange:
    fake = FakeExchange(3, **kw)
    fake.set_price("BTCUSDT", 100.0)
    return fake


def test_post_only_stop_and_time_in_force() -> None:
    fake = exchange()
    with pytest.raises(ExchangeReject) as taker:
        fake.submit_order("BTCUSDT", "buy", "limit", 1, 101.0, post_only=True)
    assert taker.value.code == "would_take" and fake.orders == {}
    with pytest.raises(ExchangeReject) as trigger:
        fake.submit_order("BTCUSDT", "sell", "limit", 1, 98.0, trigger="stop_loss", stop_price=101)
    assert trigger.value.code == "would_trigger"
    stop = fake.submit_order(
        "BTCUSDT", "sell", "limit", 1, 98.0, trigger="stop_loss", stop_price=99
    )
    assert (stop.status, stop.triggered_at, fake.locked["BTC"]) == ("new", None, 1.0)
    fake.set_price("BTCUSDT", 97.0)  # through the stop and the limit: triggered, not filled
    assert stop.triggered_at is not None and stop.status == "new"
    fake.set_price("BTCUSDT", 98.5)
    assert stop.status == "filled" and fake.fills[-1].price == 98.0 and fake.locked["BTC"] == 0
    ioc = fake.submit_order("BTCUSDT", "buy", "limit", 1, 90.0, time_in_force="ioc")
    assert (ioc.status, ioc.expired, fake.locked["USDT"]) == ("canceled", True, 0.0)
    fok = fake.submit_order("BTCUSDT", "buy", "limit", 1, 99.0, time_in_force="fok")
    assert fok.status == "filled" and not fok.expired


def test_fok_never_fills_partly() -> None:
    fake = exchange(partial_fills=True)
    fok = fake.submit_order("BTCUSDT", "buy", "limit", 1, 101.0, time_in_force="fok")
    assert (fok.status, fok.expired, fok.filled_qty, fake.locked["USDT"]) == (
        "canceled",
        True,
        0.0,
        0.0,
    )
    ioc = fake.submit_order("BTCUSDT", "buy", "limit", 1, 101.0, time_in_force="ioc")
    assert (ioc.status, ioc.expired, ioc.filled_qty) == ("canceled", True, 0.5)


def test_quote_quantity_fees_trade_ids_and_cancel_all() -> None:
    fake = exchange(fee_asset="received")
    spent = fake.submit_order("BTCUSDT", "buy", "market", None, quote_qty=50.0)
    assert spent.quote_qty == 50.0 and spent.qty * spent.avg_price == pytest.approx(50, abs=1e-3)
    (fill,) = fake.fills
    assert (fill.trade_id, fill.fee_asset, fill.maker) == (1, "BTC", False)
    assert fake.balances["BTC"] == pytest.approx(10 + spent.qty - fill.fee)
    resting = fake.submit_order("BTCUSDT", "sell", "limit", 0.1, 101.0)
    fake.submit_order("BTCUSDT", "buy", "limit", 0.1, 90.0)
    fake.set_price("BTCUSDT", 101.5)
    assert resting.status == "filled"
    assert (fake.fills[-1].trade_id, fake.fills[-1].fee_asset, fake.fills[-1].maker) == (
        2,
        "USDT",
        True,
    )
    assert [o.status for o in fake.cancel_all("BTCUSDT")] == ["canceled"]
    assert fake.cancel_all("BTCUSDT") == [] and fake.locked["USDT"] == pytest.approx(0)


def test_the_default_fee_is_still_paid_in_the_quote_asset() -> None:
    fake = exchange()  # fee_asset unset: the generic profile's behaviour
    order = fake.place_order("BTCUSDT", "buy", "market", 1)
    assert fake.fills[0].fee_asset == "USDT" and fake.balances["BTC"] == 11.0
    assert fake.balances["USDT"] == pytest.approx(1_000_000 - order.avg_price * 1.001)
    assert fake.fee_asset is None
    MockExchange.create("binance-spot", seed=1)  # the profile sets its own exchange only
    assert fake.fee_asset is None
