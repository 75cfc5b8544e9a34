"""harness.watchers: ccxt and python-binance, unedited, watched for the order invariants."""

from __future__ import annotations

import time
from typing import Any

import ccxt.async_support as ccxt
import pytest
from binance import AsyncClient

from harness import faults
from harness.chaos import Chaos
from harness.exchange import MockExchange
from harness.invariants import context_for, evaluate
from harness.watchers import WatchedClient, normalize_status, orders_in, watch

pytestmark = pytest.mark.exchange("binance-spot")
KEY, SECRET = "watch-key", "watch-secret"


def reconciled(chaos: Chaos) -> list[str]:
    return [v.message for v in evaluate(["orders_reconciled"], context_for(chaos))]


@pytest.mark.parametrize(
    ("status", "filled", "expected"),
    [
        ("NEW", None, "new"),
        ("PARTIALLY_FILLED", None, "partially_filled"),
        ("FILLED", None, "filled"),
        ("CANCELED", None, "canceled"),
        ("EXPIRED", None, "canceled"),
        ("REJECTED", None, "rejected"),
        ("open", 0.0, "new"),
        ("open", 0.5, "partially_filled"),
        ("closed", 1.0, "filled"),
        ("canceled", 0.0, "canceled"),
        ("expired", 0.0, "canceled"),
        ("rejected", None, "rejected"),
        ("filled", None, "filled"),
        (None, None, None),
        ("SOMETHING", None, None),
    ],
)
def test_statuses_in_the_harness_words(status: Any, filled: Any, expected: str | None) -> None:
    assert normalize_status(status, filled) == expected


def test_what_counts_as_an_order() -> None:
    ack = {
        "symbol": "BTCUSDT",
        "orderId": 7,
        "orderListId": -1,
        "clientOrderId": "c",
        "transactTime": 1,
    }
    full = {**ack, "status": "FILLED"}
    trade = {"symbol": "BTCUSDT", "id": 3, "orderId": 7, "isBuyer": True, "price": "1"}
    unified = {"id": "8", "status": "open", "filled": 0.25, "amount": 1.0, "info": {}}
    raw_in_info = {**unified, "info": {"orderId": 8, "clientOrderId": "x", "status": "NEW"}}
    test_order = {"id": None, "status": None, "amount": None, "info": {}}
    assert orders_in(ack) == [("7", None)]
    assert orders_in([full, trade]) == [("7", "filled")]
    assert orders_in(unified) == [("8", "partially_filled")]
    assert orders_in(raw_in_info) == [("8", "new")]  # Binance's own word wins
    assert orders_in({"order_id": "g1", "status": "filled"}) == [("g1", "filled")]
    assert orders_in(test_order) == orders_in({}) == orders_in("text") == []


async def test_a_watched_ccxt_exchange(mock_exchange: MockExchange, chaos: Chaos) -> None:
    watched = watch(ccxt.binance({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False}))
    async with watched as ex:  # ccxt's own async with, through the proxy
        await run_ccxt(ex, mock_exchange, chaos)
    assert ex is watched and ex.wrapped.session is None  # closed by ccxt


async def run_ccxt(ex: Any, mock_exchange: MockExchange, chaos: Chaos) -> None:
    chaos.watch_client(ex)
    ex.timeout = 4321  # attributes go to the client
    assert ex.wrapped.timeout == 4321 and ex.id == "binance" and isinstance(ex, WatchedClient)
    try:
        async with ex.cycle():
            await ex.load_markets()
            last = (await ex.fetch_ticker("BTC/USDT"))["last"]
            resting = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, round(last * 0.9, 2))
            bought = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
            expired = await ex.create_order(
                "BTC/USDT", "limit", "buy", 0.01, round(last * 0.9, 2), {"timeInForce": "IOC"}
            )
            await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 1000.0, {"test": True})
        assert ex.known_orders == {
            resting["id"]: "new",
            bought["id"]: "filled",
            expired["id"]: "canceled",
        }
        assert len(ex.cycles) == 1 and ex.cycles[0] <= time.monotonic()
        assert reconciled(chaos) == []
        with pytest.raises(ccxt.OrderNotFound):
            async with ex.cycle():  # a cycle that raised is not a completed one
                await ex.cancel_order("999", "BTC/USDT")
        assert len(ex.cycles) == 1
        mock_exchange.exchange.set_price("BTCUSDT", round(last * 0.85, 2))  # the resting one fills
        assert reconciled(chaos) == [
            f"order {resting['id']} is filled on the exchange; the client thinks new"
        ]
        await ex.fetch_orders("BTC/USDT")  # the client looks: its view is the exchange's again
        assert ex.known_orders[resting["id"]] == "filled" and reconciled(chaos) == []
        # a lost acknowledgement: the order exists, the client does not know it...
        chaos.inject(faults.AckLost(mode="disconnect"), match={"role": "order_place"})
        with pytest.raises(ccxt.NetworkError):
            await ex.create_order("BTC/USDT", "limit", "sell", 0.01, round(last * 1.2, 2))
        (lost,) = [o for o in mock_exchange.exchange.orders.values() if o.side == "sell"]
        assert reconciled(chaos) == [
            f"order {lost.order_id} (new) exists on the exchange but the client does not know it"
        ]
        await ex.fetch_open_orders("BTC/USDT")  # ...until it reconciles
        assert reconciled(chaos) == []
    finally:
        mock_exchange.server.cancel_tasks()


async def test_a_watched_python_binance_client(mock_exchange: MockExchange, chaos: Chaos) -> None:
    mock_exchange.exchange.partial_fills = True
    client = watch(await AsyncClient.create(KEY, SECRET))
    try:
        chaos.watch_client(client)
        last = float((await client.get_symbol_ticker(symbol="BTCUSDT"))["price"])
        price = f"{last * 0.9:.2f}"
        ack = await client.create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT_MAKER", quantity="0.02", price=price
        )
        assert "status" not in ack and client.known_orders == {str(ack["orderId"]): "new"}
        bought = await client.order_market_buy(symbol="BTCUSDT", quantity=0.01)
        await client.get_my_trades(symbol="BTCUSDT")  # trades are not orders
        assert client.known_orders[str(bought["orderId"])] == "filled"
        mock_exchange.exchange.set_price("BTCUSDT", last * 0.85)  # half of the resting one fills
        await client.get_order(symbol="BTCUSDT", orderId=ack["orderId"])
        assert client.known_orders[str(ack["orderId"])] == "partially_filled"
        await client.cancel_order(symbol="BTCUSDT", orderId=ack["orderId"])
        assert client.known_orders[str(ack["orderId"])] == "canceled"
        client.mark_cycle()
        assert len(client.cycles) == 1 and reconciled(chaos) == []
    finally:
        await client.close_connection()
