"""ccxt 4.5.90 (``ccxt.async_support.binance``, default options, credentials given),
unmodified, against the binance-spot profile: in-process at Binance's production hostnames
and over a socket (``ccxt_urls``). Every spot method that maps onto the profile is called;
results are checked for shape and for values against the FakeExchange. The client-side
throttle is off (``enableRateLimit=False``): these tests are not about it.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any
from urllib.parse import parse_qsl

import ccxt.async_support as ccxt
import pytest
import pytest_asyncio

from tests.conformance.binance_clients import Venue

pytestmark = pytest.mark.exchange("binance-spot")


@pytest_asyncio.fixture
async def ex(venue: Venue) -> ccxt.binance:
    exchange = venue.ccxt()
    await exchange.load_markets()
    return exchange


async def market_price(ex: ccxt.binance, symbol: str = "BTC/USDT") -> float:
    return float((await ex.fetch_ticker(symbol))["last"])


async def test_load_markets_with_default_options_reads_every_api_family(venue: Venue) -> None:
    ex = venue.ccxt()
    assert ex.options["fetchMarkets"]["types"] == ["spot", "linear", "inverse"]  # the defaults
    markets = await ex.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT"}
    btc, eth = markets["BTC/USDT"], markets["ETH/USDT"]
    assert btc["spot"] and btc["active"] and (btc["base"], btc["quote"]) == ("BTC", "USDT")
    assert btc["precision"]["price"] == 0.01 and btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["amount"]["min"] == 0.00001 and btc["limits"]["cost"]["min"] == 5
    assert eth["limits"]["amount"]["min"] == 0.001 and eth["precision"]["amount"] == 0.0001
    assert btc["precision"]["base"] == 1e-8 and btc["precision"]["quote"] == 1e-8
    assert {"BTC", "USDT", "ETH"} <= set(ex.currencies)
    assert ex.currencies["BTC"]["name"] == "Bitcoin"
    seen = {(e.method, e.path) for e in venue.me.server.journal}
    assert {
        ("GET", "/api/v3/exchangeInfo"),
        ("GET", "/sapi/v1/capital/config/getall"),
        ("GET", "/sapi/v1/margin/allPairs"),
        ("GET", "/sapi/v1/margin/isolated/allPairs"),
        ("GET", "/fapi/v1/exchangeInfo"),
        ("GET", "/dapi/v1/exchangeInfo"),
    } <= seen
    assert all(e.status == 200 for e in venue.me.server.journal)  # signatures verified
    if venue.backend == "inprocess":  # one server answers Binance's hosts by name
        hosts = {e.url.split("/")[2] for e in venue.me.server.journal}
        assert hosts == {"api.binance.com", "fapi.binance.com", "dapi.binance.com"}


async def test_time_status_and_tickers(venue: Venue, ex: ccxt.binance) -> None:
    now_ms = venue.exchange.now() * 1000
    assert abs(await ex.fetch_time() - now_ms) < 5_000
    status = await ex.fetch_status()
    assert status["status"] == "ok"
    ticker = await ex.fetch_ticker("BTC/USDT")
    assert ticker["symbol"] == "BTC/USDT" and abs(ticker["timestamp"] - now_ms) < 5_000
    for key in ("last", "bid", "ask", "high", "low", "open", "vwap", "baseVolume", "quoteVolume"):
        assert isinstance(ticker[key], float) and ticker[key] > 0, key
    assert ticker["bid"] < ticker["ask"] and ticker["low"] <= ticker["last"] <= ticker["high"]
    assert abs(ticker["last"] - venue.exchange.price("BTCUSDT")) < 0.02
    assert math.isclose(ticker["change"], ticker["last"] - ticker["open"], rel_tol=1e-6)
    everything = await ex.fetch_tickers()
    assert set(everything) == {"BTC/USDT", "ETH/USDT"}
    assert 2000 < everything["ETH/USDT"]["last"] < 4000
    chosen = await ex.fetch_tickers(["ETH/USDT"])  # symbols=["ETHUSDT"], percent-encoded
    assert set(chosen) == {"ETH/USDT"}
    bids_asks = await ex.fetch_bids_asks()
    assert set(bids_asks) == {"BTC/USDT", "ETH/USDT"}
    assert all(t["bid"] < t["ask"] for t in bids_asks.values())
    assert set(await ex.fetch_bids_asks(["BTC/USDT"])) == {"BTC/USDT"}
    prices = await ex.fetch_last_prices()
    assert set(prices) == {"BTC/USDT", "ETH/USDT"} and prices["BTC/USDT"]["price"] > 0


async def test_order_book_candles_and_trades(venue: Venue, ex: ccxt.binance) -> None:
    book = await ex.fetch_order_book("BTC/USDT", 5)
    assert len(book["bids"]) == len(book["asks"]) == 5 and isinstance(book["nonce"], int)
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert [a[0] for a in book["asks"]] == sorted(a[0] for a in book["asks"])
    assert book["bids"][0][0] < book["asks"][0][0]
    candles = await ex.fetch_ohlcv("BTC/USDT", "1m", limit=5)
    assert len(candles) == 5 and all(len(c) == 6 for c in candles)
    assert [b[0] - a[0] for a, b in itertools.pairwise(candles)] == [60_000] * 4
    assert all(c[3] <= min(c[1], c[4]) <= max(c[1], c[4]) <= c[2] for c in candles)
    hourly = await ex.fetch_ohlcv("BTC/USDT", "1h", limit=3)
    assert [b[0] - a[0] for a, b in itertools.pairwise(hourly)] == [3_600_000] * 2
    since = int(venue.exchange.now() * 1000) - 10 * 60_000
    recent = await ex.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=3)
    assert len(recent) == 3 and recent[0][0] >= since - 60_000 and recent[0][0] > since - 60_000
    trades = await ex.fetch_trades("BTC/USDT", limit=10)
    assert len(trades) == 10
    assert [t["timestamp"] for t in trades] == sorted(t["timestamp"] for t in trades)
    for trade in trades:
        assert trade["side"] in ("buy", "sell") and trade["price"] > 0 and trade["amount"] > 0
        assert math.isclose(trade["cost"], trade["price"] * trade["amount"], rel_tol=1e-9)
    later = await ex.fetch_trades("BTC/USDT", since=trades[5]["timestamp"])
    assert later and all(t["timestamp"] >= trades[5]["timestamp"] for t in later)


async def test_fees_currencies_and_balance(venue: Venue, ex: ccxt.binance) -> None:
    fee = await ex.fetch_trading_fee("BTC/USDT")
    assert fee["maker"] == fee["taker"] == venue.exchange.fee_rate
    fees = await ex.fetch_trading_fees()
    assert set(fees) == {"BTC/USDT", "ETH/USDT"}
    currencies = await ex.fetch_currencies()
    assert currencies["USDT"]["active"] and currencies["ETH"]["name"] == "Ethereum"
    balance = await ex.fetch_balance()
    assert balance["USDT"] == {"free": 1_000_000.0, "used": 0.0, "total": 1_000_000.0}
    assert balance["BTC"]["total"] == 10.0 and balance["ETH"]["total"] == 50.0


async def test_a_limit_order_from_placement_to_cancel(venue: Venue, ex: ccxt.binance) -> None:
    price = float(ex.price_to_precision("BTC/USDT", await market_price(ex) * 0.9))
    order = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, price)
    assert (order["status"], order["type"], order["side"]) == ("open", "limit", "buy")
    assert (order["price"], order["amount"], order["filled"]) == (price, 0.01, 0.0)
    assert order["clientOrderId"].startswith("x-")  # ccxt's broker prefix, echoed
    placed = venue.exchange.orders[order["id"]]
    assert (placed.price, placed.qty, placed.status) == (price, 0.01, "new")
    balance = await ex.fetch_balance()
    assert math.isclose(balance["USDT"]["used"], price * 0.01, rel_tol=1e-9)
    assert (await ex.fetch_order(order["id"], "BTC/USDT"))["status"] == "open"
    by_client = await ex.fetch_order(None, "BTC/USDT", {"clientOrderId": order["clientOrderId"]})
    assert by_client["id"] == order["id"]
    assert [o["id"] for o in await ex.fetch_open_orders("BTC/USDT")] == [order["id"]]
    assert [o["id"] for o in await ex.fetch_orders("BTC/USDT")] == [order["id"]]
    assert await ex.fetch_closed_orders("BTC/USDT") == []
    canceled = await ex.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled" and canceled["id"] == order["id"]
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order(order["id"], "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        await ex.fetch_order("424242", "BTC/USDT")
    assert (await ex.fetch_balance())["USDT"]["used"] == 0.0
    assert (await ex.fetch_canceled_orders("BTC/USDT"))[0]["id"] == order["id"]


async def test_market_orders_fill_and_pay_fees_in_the_asset_received(
    venue: Venue, ex: ccxt.binance
) -> None:
    before = await ex.fetch_balance()
    bought = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
    assert bought["status"] == "closed" and bought["filled"] == 0.01 and bought["amount"] == 0.01
    assert bought["fee"]["currency"] == "BTC"  # Binance: the asset received pays
    assert math.isclose(bought["fee"]["cost"], 0.01 * venue.exchange.fee_rate)
    assert math.isclose(bought["cost"], bought["average"] * 0.01, rel_tol=1e-9)
    sold = await ex.create_order("BTC/USDT", "market", "sell", 0.01)
    assert sold["status"] == "closed" and sold["fee"]["currency"] == "USDT"
    after = await ex.fetch_balance()
    assert math.isclose(after["BTC"]["total"], before["BTC"]["total"] - bought["fee"]["cost"])
    expected_usdt = before["USDT"]["total"] - bought["cost"] + sold["cost"] - sold["fee"]["cost"]
    assert math.isclose(after["USDT"]["total"], expected_usdt, rel_tol=1e-12)
    # a market buy with a price spends amount x price of USDT (quoteOrderQty)
    price = await market_price(ex)
    spent = await ex.create_order("BTC/USDT", "market", "buy", 0.002, price)
    quote = float(spent["info"]["origQuoteOrderQty"])  # ccxt rounds it to the quote precision
    assert quote == pytest.approx(0.002 * price, abs=0.01)
    assert spent["status"] == "closed" and quote * 0.99 < spent["cost"] <= quote
    trades = await ex.fetch_my_trades("BTC/USDT")
    assert [t["order"] for t in trades] == [bought["id"], sold["id"], spent["id"]]
    assert [t["fee"]["currency"] for t in trades] == ["BTC", "USDT", "BTC"]
    assert all(t["takerOrMaker"] == "taker" for t in trades)
    assert [t["side"] for t in trades] == ["buy", "sell", "buy"]
    of_order = await ex.fetch_order_trades(sold["id"], "BTC/USDT")
    assert [t["id"] for t in of_order] == [trades[1]["id"]]
    closed = await ex.fetch_closed_orders("BTC/USDT")
    assert {o["id"] for o in closed} == {bought["id"], sold["id"], spent["id"]}


async def test_a_resting_order_fills_when_the_market_crosses_it(
    venue: Venue, ex: ccxt.binance
) -> None:
    price = float(ex.price_to_precision("BTC/USDT", await market_price(ex) * 0.99))
    order = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, price)
    venue.exchange.set_price("BTCUSDT", price * 0.995)
    filled = await ex.fetch_order(order["id"], "BTC/USDT")
    assert filled["status"] == "closed" and filled["filled"] == 0.01 and filled["price"] == price
    (trade,) = await ex.fetch_my_trades("BTC/USDT")
    assert trade["takerOrMaker"] == "maker" and trade["price"] == price


async def test_post_only_orders(venue: Venue, ex: ccxt.binance) -> None:
    last = await market_price(ex)
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await ex.create_order("BTC/USDT", "limit", "buy", 0.01, last * 1.01, {"postOnly": True})
    resting = await ex.create_order(
        "BTC/USDT",
        "LIMIT_MAKER",
        "buy",
        0.01,
        float(ex.price_to_precision("BTC/USDT", last * 0.98)),
    )
    assert resting["postOnly"] and resting["status"] == "open"
    assert resting["info"]["type"] == "LIMIT_MAKER"
    assert len(venue.exchange.orders) == 1  # the refused one was never created


async def test_stop_and_take_profit_orders_trigger_when_the_market_crosses(
    venue: Venue, ex: ccxt.binance
) -> None:
    last = await market_price(ex)
    stop, limit = round(last * 0.98, 2), round(last * 0.97, 2)
    stop_loss = await ex.create_order(
        "BTC/USDT", "limit", "sell", 0.01, limit, {"stopLossPrice": stop}
    )
    assert stop_loss["info"]["type"] == "STOP_LOSS_LIMIT" and stop_loss["status"] == "open"
    assert stop_loss["triggerPrice"] == stop
    target = round(last * 1.03, 2)
    take_profit = await ex.create_order(
        "BTC/USDT",
        "TAKE_PROFIT_LIMIT",
        "sell",
        0.01,
        round(last * 1.04, 2),
        {"triggerPrice": target},
    )
    market_stop = await ex.create_order(
        "BTC/USDT", "market", "sell", 0.01, None, {"triggerPrice": round(last * 0.96, 2)}
    )
    assert market_stop["info"]["type"] == "STOP_LOSS"
    assert (await ex.fetch_balance())["BTC"]["used"] == pytest.approx(0.03)
    info = (await ex.fetch_order(stop_loss["id"], "BTC/USDT"))["info"]
    assert info["isWorking"] is False and info["workingTime"] == -1
    venue.exchange.set_price("BTCUSDT", limit * 0.999)  # a gap through the stop and the limit
    working = (await ex.fetch_order(stop_loss["id"], "BTC/USDT"))["info"]
    assert working["isWorking"] is True and working["status"] == "NEW"  # the limit protects it
    venue.exchange.set_price("BTCUSDT", (stop + limit) / 2)  # back above the limit: it sells
    assert (await ex.fetch_order(stop_loss["id"], "BTC/USDT"))["status"] == "closed"
    assert (await ex.fetch_order(take_profit["id"], "BTC/USDT"))["status"] == "open"
    venue.exchange.set_price("BTCUSDT", last * 0.95)  # the market stop sells at the market
    sold = await ex.fetch_order(market_stop["id"], "BTC/USDT")
    assert sold["status"] == "closed" and sold["average"] < last * 0.96
    venue.exchange.set_price("BTCUSDT", last * 1.05)  # through the target and the limit
    assert (await ex.fetch_order(take_profit["id"], "BTC/USDT"))["status"] == "closed"
    with pytest.raises(ccxt.InvalidOrder, match="would trigger immediately"):
        await ex.create_order("BTC/USDT", "limit", "sell", 0.01, 99_000.0, {"stopLossPrice": 1e5})


async def test_time_in_force(venue: Venue, ex: ccxt.binance) -> None:
    last = await market_price(ex)
    low, high = round(last * 0.9, 2), round(last * 1.1, 2)
    ioc = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, low, {"timeInForce": "IOC"})
    assert ioc["status"] == "expired" and ioc["filled"] == 0.0 and ioc["timeInForce"] == "IOC"
    fok = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, low, {"timeInForce": "FOK"})
    assert fok["status"] == "expired" and fok["filled"] == 0.0
    taken = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, high, {"timeInForce": "FOK"})
    assert taken["status"] == "closed" and taken["filled"] == 0.01
    assert (await ex.fetch_balance())["USDT"]["used"] == 0.0  # nothing left reserved
    assert await ex.fetch_open_orders("BTC/USDT") == []


async def test_filters_and_balances_refuse_orders_with_binances_codes(
    venue: Venue, ex: ccxt.binance
) -> None:
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):  # 0.0005 ETH < minQty 0.001
        await ex.create_order("ETH/USDT", "limit", "buy", 0.0005, 2900.0)
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):  # 0.001 x 1000 < 5 USDT
        await ex.create_order("ETH/USDT", "limit", "buy", 0.001, 1000.0)
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order("BTC/USDT", "limit", "buy", 100, 50_000.0)
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order("ETH/USDT", "market", "sell", 60)
    assert venue.exchange.orders == {}


async def test_cancel_all_and_test_orders(venue: Venue, ex: ccxt.binance) -> None:
    last = await market_price(ex)
    ids = [
        (await ex.create_order("BTC/USDT", "limit", "buy", 0.01, round(last * f, 2)))["id"]
        for f in (0.9, 0.8)
    ]
    canceled = await ex.cancel_all_orders("BTC/USDT")
    assert sorted(o["id"] for o in canceled) == sorted(ids)
    assert all(o["status"] == "canceled" for o in canceled)
    with pytest.raises(ccxt.OrderNotFound):  # -2011: nothing left to cancel
        await ex.cancel_all_orders("BTC/USDT")
    test = await ex.create_order(
        "BTC/USDT", "limit", "buy", 0.01, round(last * 0.9, 2), {"test": True}
    )
    assert test["id"] is None and len(venue.exchange.orders) == 2
    assert venue.me.server.journal.last.path == "/api/v3/order/test"
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):  # a test order is validated
        await ex.create_order("ETH/USDT", "limit", "buy", 0.001, 1000.0, {"test": True})


async def test_used_weight_header_counts_binances_weights(venue: Venue, ex: ccxt.binance) -> None:
    venue.exchange.set_time((time.time() // 60 + 1) * 60 + 1)  # a fresh minute, public calls
    journal = venue.me.server.journal
    await ex.fetch_order_book("BTC/USDT", 5)
    await ex.fetch_order_book("BTC/USDT", 500)
    await ex.fetch_tickers()
    await ex.fetch_ticker("BTC/USDT")
    await ex.fetch_trades("BTC/USDT", limit=5)
    used = [int(e.response_headers["X-MBX-USED-WEIGHT-1M"]) for e in list(journal)[-5:]]
    assert [b - a for a, b in itertools.pairwise([0, *used])] == [5, 25, 80, 2, 4]
    await ex.fetch_status()  # /sapi has a weight count of its own
    assert journal.last.response_headers["X-MBX-USED-WEIGHT-1M"] == "1"


async def test_the_journal_never_holds_the_key_or_a_signature(
    venue: Venue, ex: ccxt.binance
) -> None:
    await ex.create_order("BTC/USDT", "market", "buy", 0.01)
    await ex.fetch_open_orders("BTC/USDT")
    signed = [
        e for e in venue.me.server.journal if "signature" in e.params or "signature=" in e.body
    ]
    assert signed
    for entry in venue.me.server.journal:
        data: Any = entry.to_dict()
        assert "conformanceKEY" not in str(data)
        assert data["params"].get("signature", "***") == "***"
        assert dict(parse_qsl(data["body"])).get("signature", "***") == "***"
