"""python-binance 1.0.37 (``binance.AsyncClient``), unmodified, against the binance-spot
profile: in-process at Binance's production hostnames and over a socket (a subclass carrying
``python_binance_urls``). Every spot method that maps onto the profile is called; results
are checked for shape and for values against the FakeExchange.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
import pytest_asyncio
from binance import AsyncClient
from binance.exceptions import BinanceAPIException

from tests.conformance.binance_clients import Venue

pytestmark = pytest.mark.exchange("binance-spot")


@pytest_asyncio.fixture
async def client(venue: Venue) -> AsyncClient:
    return await venue.binance()


async def api_error(call: Any) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as info:
        await call
    return info.value


async def last_price(client: AsyncClient, symbol: str = "BTCUSDT") -> float:
    return float((await client.get_symbol_ticker(symbol=symbol))["price"])


async def test_create_pings_and_syncs_the_clock(venue: Venue, client: AsyncClient) -> None:
    paths = [e.path for e in venue.me.server.journal]
    assert paths[:2] == ["/api/v3/ping", "/api/v3/time"]
    assert abs(client.timestamp_offset) < 5_000
    assert await client.ping() == {}
    server_time = (await client.get_server_time())["serverTime"]
    assert abs(server_time - venue.exchange.now() * 1000) < 5_000
    assert await client.get_system_status() == {"status": 0, "msg": "normal"}


async def test_exchange_and_symbol_info(venue: Venue, client: AsyncClient) -> None:
    info = await client.get_exchange_info()
    assert info["timezone"] == "UTC" and info["exchangeFilters"] == []
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]
    eth = await client.get_symbol_info("ETHUSDT")
    assert eth is not None and (eth["baseAsset"], eth["quoteAsset"]) == ("ETH", "USDT")
    assert eth["isSpotTradingAllowed"] and eth["permissionSets"] == [["SPOT"]]
    assert eth["baseAssetPrecision"] == eth["quotePrecision"] == eth["quoteAssetPrecision"] == 8
    assert "LIMIT_MAKER" in eth["orderTypes"] and "TAKE_PROFIT_LIMIT" in eth["orderTypes"]
    filters = {f["filterType"]: f for f in eth["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["minQty"] == "0.00100000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00010000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert {"MARKET_LOT_SIZE", "MAX_NUM_ORDERS"} <= set(filters)
    assert await client.get_symbol_info("XXXUSDT") is None


async def test_candles(venue: Venue, client: AsyncClient) -> None:
    rows = await client.get_klines(symbol="BTCUSDT", interval="1m", limit=5)
    assert len(rows) == 5 and all(len(r) == 12 and isinstance(r[1], str) for r in rows)
    assert [b[0] - a[0] for a, b in itertools.pairwise(rows)] == [60_000] * 4
    assert all(r[6] == r[0] + 59_999 for r in rows)
    assert all(float(r[3]) <= float(r[1]) <= float(r[2]) for r in rows)
    ui = await client.get_ui_klines(symbol="BTCUSDT", interval="5m", limit=3)
    assert [b[0] - a[0] for a, b in itertools.pairwise(ui)] == [300_000] * 2
    start = int(venue.exchange.now() * 1000) - 10 * 60_000
    history = await client.get_historical_klines("BTCUSDT", "1m", start_str=start)
    assert 10 <= len(history) <= 11 and history[0][0] >= start - 60_000
    assert [b[0] - a[0] for a, b in itertools.pairwise(history)] == [60_000] * (len(history) - 1)
    with pytest.raises(BinanceAPIException) as bad:
        await client.get_klines(symbol="BTCUSDT", interval="7m")
    assert bad.value.code == -1120


async def test_book_trades_and_averages(venue: Venue, client: AsyncClient) -> None:
    book = await client.get_order_book(symbol="BTCUSDT", limit=5)
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    recent = await client.get_recent_trades(symbol="BTCUSDT", limit=5)
    assert len(recent) == 5 and [t["id"] for t in recent] == sorted(t["id"] for t in recent)
    t = recent[0]
    assert math.isclose(float(t["quoteQty"]), float(t["price"]) * float(t["qty"]), rel_tol=1e-6)
    older = await client.get_historical_trades(symbol="BTCUSDT", limit=3, fromId=recent[0]["id"])
    assert [x["id"] for x in older] == [x["id"] for x in recent[:3]]
    agg = await client.get_aggregate_trades(symbol="BTCUSDT", limit=5)
    assert len(agg) == 5 and all({"a", "p", "q", "f", "l", "T", "m", "M"} <= set(a) for a in agg)
    window = await client.get_aggregate_trades(
        symbol="BTCUSDT", startTime=agg[1]["T"], endTime=agg[3]["T"]
    )
    assert window and all(agg[1]["T"] <= a["T"] <= agg[3]["T"] for a in window)
    average = await client.get_avg_price(symbol="BTCUSDT")
    assert (
        average["mins"] == 5 and abs(float(average["price"]) / await last_price(client) - 1) < 0.02
    )


async def test_tickers_one_many_and_all(venue: Venue, client: AsyncClient) -> None:
    day = await client.get_ticker(symbol="BTCUSDT")
    for key in ("bidPrice", "bidQty", "askPrice", "askQty", "weightedAvgPrice", "prevClosePrice"):
        assert float(day[key]) > 0, key
    for key in ("quoteVolume", "lastQty", "lastPrice", "openPrice", "highPrice", "lowPrice"):
        assert float(day[key]) > 0, key
    assert day["count"] == day["lastId"] - day["firstId"] + 1 and day["count"] > 0
    assert float(day["lowPrice"]) <= float(day["lastPrice"]) <= float(day["highPrice"])
    assert [t["symbol"] for t in await client.get_ticker()] == ["BTCUSDT", "ETHUSDT"]
    assert (await client.get_symbol_ticker(symbol="ETHUSDT"))["symbol"] == "ETHUSDT"
    assert [t["symbol"] for t in await client.get_symbol_ticker()] == ["BTCUSDT", "ETHUSDT"]
    assert [t["symbol"] for t in await client.get_all_tickers()] == ["BTCUSDT", "ETHUSDT"]
    best = await client.get_orderbook_ticker(symbol="BTCUSDT")
    assert float(best["bidPrice"]) < float(best["askPrice"])
    assert len(await client.get_orderbook_ticker()) == 2
    raw = await client.get_orderbook_tickers(symbols='["ETHUSDT","BTCUSDT"]')  # sent unencoded
    assert [t["symbol"] for t in raw] == ["ETHUSDT", "BTCUSDT"]
    window = await client.get_symbol_ticker_window(symbol="BTCUSDT", windowSize="1h")
    assert window["symbol"] == "BTCUSDT" and float(window["volume"]) > 0
    unknown = await api_error(client.get_ticker(symbol="NOPEUSDT"))
    assert (unknown.status_code, unknown.code, unknown.message) == (400, -1121, "Invalid symbol.")


async def test_orders_default_response_types_and_lookups(venue: Venue, client: AsyncClient) -> None:
    price = round(await last_price(client) * 0.9, 2)
    limit = await client.create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price=price
    )
    assert limit["status"] == "NEW" and limit["fills"] == []  # LIMIT and MARKET: FULL
    assert limit["clientOrderId"].startswith("x-") and float(limit["price"]) == price
    maker = await client.create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity="0.01", price=price
    )
    assert set(maker) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = await client.order_limit_sell(
        symbol="BTCUSDT", quantity=0.01, price=round(price * 1.3, 2), newOrderRespType="RESULT"
    )
    assert result["status"] == "NEW" and "fills" not in result and result["side"] == "SELL"
    bought = await client.order_limit_buy(symbol="BTCUSDT", quantity=0.01, price=price)
    assert bought["type"] == "LIMIT" and bought["timeInForce"] == "GTC"
    found = await client.get_order(symbol="BTCUSDT", orderId=limit["orderId"])
    assert (found["orderId"], found["status"], found["origQty"]) == (
        limit["orderId"],
        "NEW",
        "0.01000000",
    )
    by_client = await client.get_order(symbol="BTCUSDT", origClientOrderId=maker["clientOrderId"])
    assert by_client["type"] == "LIMIT_MAKER" and by_client["isWorking"] is True
    ids = [limit["orderId"], maker["orderId"], result["orderId"], bought["orderId"]]
    assert [o["orderId"] for o in await client.get_all_orders(symbol="BTCUSDT")] == ids
    assert [o["orderId"] for o in await client.get_open_orders(symbol="BTCUSDT")] == ids
    assert len(await client.get_open_orders()) == 4
    canceled = await client.cancel_order(symbol="BTCUSDT", orderId=limit["orderId"])  # a body
    assert (
        canceled["status"] == "CANCELED" and canceled["origClientOrderId"] == limit["clientOrderId"]
    )
    assert venue.exchange.orders[str(limit["orderId"])].status == "canceled"
    again = await api_error(client.cancel_order(symbol="BTCUSDT", orderId=limit["orderId"]))
    assert (again.code, again.message) == (-2011, "Unknown order sent.")
    missing = await api_error(client.get_order(symbol="BTCUSDT", orderId=99999))
    assert (missing.code, missing.message) == (-2013, "Order does not exist.")
    assert (await client.get_current_order_count())[0]["count"] == 4


async def test_market_orders_fills_commissions_and_balances(
    venue: Venue, client: AsyncClient
) -> None:
    before = {b["asset"]: float(b["free"]) for b in (await client.get_account())["balances"]}
    bought = await client.order_market_buy(symbol="BTCUSDT", quantity=0.01)
    (fill,) = bought["fills"]
    assert bought["status"] == "FILLED" and fill["commissionAsset"] == "BTC"
    assert float(fill["commission"]) == pytest.approx(0.01 * venue.exchange.fee_rate)
    cost = float(bought["cummulativeQuoteQty"])
    spend = await client.order_market_buy(symbol="BTCUSDT", quoteOrderQty=100)
    assert (
        spend["origQuoteOrderQty"] == "100.00000000"
        and 99 < float(spend["cummulativeQuoteQty"]) <= 100
    )
    sold = await client.order_market_sell(symbol="BTCUSDT", quantity=0.01)
    assert sold["fills"][0]["commissionAsset"] == "USDT"
    account = await client.get_account()
    after = {b["asset"]: float(b["free"]) for b in account["balances"]}
    btc_in = (
        0.01
        - float(fill["commission"])
        + float(spend["executedQty"])
        - float(spend["fills"][0]["commission"])
        - 0.01
    )
    assert after["BTC"] == pytest.approx(before["BTC"] + btc_in, abs=1e-9)
    usdt_out = cost + float(spend["cummulativeQuoteQty"])
    usdt_in = float(sold["cummulativeQuoteQty"]) - float(sold["fills"][0]["commission"])
    assert after["USDT"] == pytest.approx(before["USDT"] - usdt_out + usdt_in, abs=1e-6)
    assert account["commissionRates"]["taker"] == "0.00100000" and account["canTrade"]
    btc = await client.get_asset_balance(asset="btc")
    assert btc is not None and float(btc["free"]) == pytest.approx(after["BTC"])
    trades = await client.get_my_trades(symbol="BTCUSDT")
    assert [t["orderId"] for t in trades] == [bought["orderId"], spend["orderId"], sold["orderId"]]
    assert [t["isBuyer"] for t in trades] == [True, True, False]
    assert [t["commissionAsset"] for t in trades] == ["BTC", "BTC", "USDT"]
    assert [t["id"] for t in trades] == [
        f["tradeId"] for o in (bought, spend, sold) for f in o["fills"]
    ]
    one = await client.get_my_trades(symbol="BTCUSDT", orderId=sold["orderId"])
    assert [t["id"] for t in one] == [trades[-1]["id"]]


async def test_test_orders_validate_without_placing(venue: Venue, client: AsyncClient) -> None:
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    assert await client.create_test_order(**order, quantity="0.01", price="50000") == {}
    rates = await client.create_test_order(
        **order, quantity="0.01", price="50000", computeCommissionRates="true"
    )
    assert rates["standardCommissionForOrder"] == {"maker": "0.00100000", "taker": "0.00100000"}
    bad = await api_error(client.create_test_order(**order, quantity="0.01", price="0.001"))
    assert (bad.code, bad.message) == (-1013, "Filter failure: PRICE_FILTER")
    assert venue.exchange.orders == {}


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"price": "50000.005"}, -1013, "Filter failure: PRICE_FILTER"),
        ({"quantity": "0.000015"}, -1013, "Filter failure: LOT_SIZE"),
        ({"quantity": "0.00001", "price": "1000"}, -1013, "Filter failure: NOTIONAL"),
        ({"quantity": 1e-05}, -1100, "Illegal characters found in parameter 'quantity'"),
        ({"timeInForce": None}, -1102, "Mandatory parameter 'timeInForce'"),
        ({"timeInForce": "GTD"}, -1115, "Invalid timeInForce."),
        ({"type": "LIMITED"}, -1116, "Invalid orderType."),
        ({"quantity": "100", "price": "50000"}, -2010, "Account has insufficient balance"),
        ({"symbol": "NOPEUSDT"}, -1121, "Invalid symbol."),
    ],
    ids=["tick", "step", "notional", "float", "no-tif", "bad-tif", "bad-type", "funds", "symbol"],
)
async def test_refusals_in_binances_codes(
    venue: Venue, client: AsyncClient, params: dict[str, Any], code: int, message: str
) -> None:
    order: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": "50000",
        **params,
    }
    error = await api_error(
        client.create_order(**{k: v for k, v in order.items() if v is not None})
    )
    assert error.status_code == 400 and error.code == code and error.message.startswith(message)
    assert venue.exchange.orders == {}


async def test_stop_orders_are_acknowledged_and_wait_for_the_market(
    venue: Venue, client: AsyncClient
) -> None:
    last = await last_price(client)
    stop_price = f"{last * 0.95:.2f}"
    stop = await client.create_order(
        symbol="BTCUSDT",
        side="SELL",
        type="STOP_LOSS_LIMIT",
        timeInForce="GTC",
        quantity="0.01",
        price=f"{last * 0.94:.2f}",
        stopPrice=stop_price,
    )
    assert "status" not in stop  # every type but LIMIT and MARKET defaults to ACK
    waiting = await client.get_order(symbol="BTCUSDT", orderId=stop["orderId"])
    assert waiting["isWorking"] is False and float(waiting["stopPrice"]) == float(stop_price)
    venue.exchange.set_price("BTCUSDT", last * 0.945)
    done = await client.get_order(symbol="BTCUSDT", orderId=stop["orderId"])
    assert done["status"] == "FILLED" and done["workingTime"] > 0
    too_late = await api_error(
        client.create_order(
            symbol="BTCUSDT", side="BUY", type="TAKE_PROFIT", quantity="0.01", stopPrice="99999"
        )
    )
    assert too_late.message == "Order would trigger immediately."  # the market is below it


async def test_wallet_fees_and_margin_lists(venue: Venue, client: AsyncClient) -> None:
    assert await client.get_trade_fee(symbol="ETHUSDT") == [
        {"symbol": "ETHUSDT", "makerCommission": "0.001", "takerCommission": "0.001"}
    ]
    assert len(await client.get_trade_fee()) == 2
    pairs = await client.get_margin_all_pairs()
    assert [p["symbol"] for p in pairs] == ["BTCUSDT", "ETHUSDT"]
    isolated = await client.get_all_isolated_margin_symbols()
    assert [(p["base"], p["quote"]) for p in isolated] == [("BTC", "USDT"), ("ETH", "USDT")]
