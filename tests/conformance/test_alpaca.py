"""alpaca-py 0.44, unmodified, against the ``alpaca`` profile.

Its ``TradingClient`` and ``StockHistoricalDataClient`` use requests, so they reach the
profile over the socket backend (``mock_server_socket``, or ``mock_exchange`` with
``@pytest.mark.mock_server(backend="socket")``). Two things differ from a production
setup, both stated in the docs: ``url_override`` (the server's bare origin) and
``_retry_wait = 0`` (alpaca-py sleeps a fixed 3 s before each retry of a 429 or 504).
Every method that maps onto the profile is called, and its result checked for shape and
for values against the FakeExchange; then what alpaca-py does under each fault, from the
same runs as the docs' table.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from harness import faults
from harness.chaos import Chaos
from harness.exchange import MockExchange
from harness.exchange.profiles.alpaca import AlpacaProfile, eastern
from harness.invariants import context_for, evaluate, names
from harness.mock.server import MockServer
from tests.conformance.alpaca_outcomes import (
    CALLS,
    CALLS_HEADER,
    CASES,
    ORDERS_HEADER,
    START,
    Clients,
    calls_row,
    orders_row,
    outcomes_of,
    run_case,
)
from tests.readme_tables import readme_block

alpaca_py = pytest.importorskip("alpaca", reason="alpaca-py is a dev dependency")

from alpaca.common.exceptions import APIError  # noqa: E402
from alpaca.data.enums import DataFeed  # noqa: E402
from alpaca.data.requests import (  # noqa: E402
    StockBarsRequest,
    StockLatestBarRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockQuotesRequest,
    StockSnapshotRequest,
    StockTradesRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit  # noqa: E402
from alpaca.trading.enums import (  # noqa: E402
    AssetClass,
    AssetExchange,
    AssetStatus,
    OrderSide,
    OrderStatus,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.requests import (  # noqa: E402
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
)


@pytest.fixture
def alpaca(mock_server_socket: MockServer) -> MockExchange:
    """The alpaca profile on a socket, its clock at a Tuesday 10:00:07 ET (market open)."""
    me = MockExchange.create("alpaca", seed=7, server=mock_server_socket)
    me.exchange.set_time(START)
    return me


@pytest.fixture
def clients(alpaca: MockExchange) -> Clients:
    return Clients(alpaca.url)


def profile_of(me: MockExchange) -> AlpacaProfile:
    assert isinstance(me.profile, AlpacaProfile)
    return me.profile


def market(symbol: str = "AAPL", qty: float = 2, side: str = "buy", **kw: Any) -> Any:
    return MarketOrderRequest(
        symbol=symbol, qty=qty, side=OrderSide(side), time_in_force=TimeInForce.DAY, **kw
    )


def limit(price: float, tif: str = "gtc", side: str = "buy", **kw: Any) -> Any:
    kw.setdefault("qty", 1)
    kw.setdefault("symbol", "AAPL")
    return LimitOrderRequest(
        side=OrderSide(side), time_in_force=TimeInForce(tif), limit_price=price, **kw
    )


def api_error(call: Any) -> APIError:
    with pytest.raises(APIError) as info:
        call()
    return info.value


# -- the trading client -----------------------------------------------------------------


def test_account_reflects_the_exchange(alpaca: MockExchange, clients: Clients) -> None:
    tc = clients.trading
    account = tc.get_account()
    assert account.status.value == "ACTIVE" and account.currency == "USD"
    assert account.cash == account.buying_power == account.equity == "100000.00"
    assert isinstance(account.id, UUID) and account.account_number.startswith("PA")
    order = tc.submit_order(market(qty=3))
    cost = 3 * float(order.filled_avg_price)
    after = tc.get_account()
    assert float(after.cash) == pytest.approx(100_000 - cost, abs=0.005)
    assert after.cash == f"{alpaca.exchange.balances['USD']:.2f}"
    assert float(after.long_market_value) == pytest.approx(
        3 * alpaca.exchange.price("AAPL"), abs=0.005
    )


def test_clock_and_calendar_follow_the_exchange_clock(
    alpaca: MockExchange, clients: Clients
) -> None:
    tc = clients.trading
    clock = tc.get_clock()
    assert clock.is_open
    assert clock.timestamp.utcoffset() == timedelta(hours=-5)  # US/Eastern, winter
    assert abs(clock.timestamp.timestamp() - alpaca.exchange.now()) < 60
    assert clock.next_close.timestamp() == eastern(2024, 1, 2, 16)
    assert clock.next_open.timestamp() == eastern(2024, 1, 3, 9, 30)
    alpaca.exchange.set_time(eastern(2024, 7, 6, 12))  # a Saturday in summer
    clock = tc.get_clock()
    assert not clock.is_open and clock.timestamp.utcoffset() == timedelta(hours=-4)
    assert clock.next_open.timestamp() == eastern(2024, 7, 8, 9, 30)
    assert clock.next_close.timestamp() == eastern(2024, 7, 8, 16)
    days = tc.get_calendar(GetCalendarRequest(start=date(2024, 7, 5), end=date(2024, 7, 9)))
    assert [d.date for d in days] == [date(2024, 7, 5), date(2024, 7, 8), date(2024, 7, 9)]
    assert (days[0].open.hour, days[0].open.minute, days[0].close.hour) == (9, 30, 16)


def test_assets(alpaca: MockExchange, clients: Clients) -> None:
    tc = clients.trading
    assets = tc.get_all_assets()
    assert [a.symbol for a in assets] == ["AAPL", "MSFT", "SPY"]
    filtered = tc.get_all_assets(
        GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.US_EQUITY)
    )
    assert filtered == assets
    spy = tc.get_asset("SPY")
    assert spy.exchange == AssetExchange.ARCA and spy.asset_class == AssetClass.US_EQUITY
    assert spy.tradable and spy.fractionable
    assert tc.get_asset(str(spy.id)) == spy
    assert tc.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO)) == []
    error = api_error(lambda: tc.get_asset("NOPE"))
    assert (error.status_code, error.code) == (404, 40410000)


def test_orders_submit_query_filter(alpaca: MockExchange, clients: Clients) -> None:
    tc, ex = clients.trading, alpaca.exchange
    filled = tc.submit_order(market(client_order_id="intent-1"))
    assert filled.status == OrderStatus.FILLED and filled.client_order_id == "intent-1"
    assert (filled.qty, filled.filled_qty) == ("2", "2")
    fills = [f for f in ex.fills if f.order_id == str(filled.id)]
    assert float(filled.filled_avg_price) == pytest.approx(fills[0].price)
    assert filled.filled_at is not None and filled.time_in_force == TimeInForce.DAY
    resting = tc.submit_order(limit(150.25, side="buy"))
    assert resting.status == OrderStatus.NEW and resting.limit_price == "150.25"
    assert resting.client_order_id  # generated by the exchange, as Alpaca does
    assert ex.orders[str(resting.id)].status == "new"  # the FakeExchange's id is Alpaca's
    notional = tc.submit_order(
        MarketOrderRequest(
            symbol="MSFT", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        )
    )
    assert notional.notional == "500" and notional.qty is None
    assert float(notional.filled_qty) * float(notional.filled_avg_price) == pytest.approx(
        500, rel=1e-3
    )

    assert [o.id for o in tc.get_orders()] == [resting.id]  # open by default
    closed = tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))
    assert [o.id for o in closed] == [notional.id, filled.id]  # newest first
    everything = tc.get_orders(
        GetOrdersRequest(status=QueryOrderStatus.ALL, direction="asc", symbols=["AAPL"])
    )
    assert [o.id for o in everything] == [filled.id, resting.id]
    assert len(tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=1))) == 1
    created = ex.orders[str(resting.id)].created_at
    window = GetOrdersRequest(
        status=QueryOrderStatus.ALL,
        after=datetime.fromtimestamp(created - 0.000_5, UTC),
        until=datetime.fromtimestamp(created + 0.000_5, UTC),
    )
    assert [o.id for o in tc.get_orders(window)] == [resting.id]
    sells = tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, side=OrderSide.SELL))
    assert sells == []

    assert tc.get_order_by_id(filled.id) == tc.get_order_by_client_id("intent-1")
    assert tc.get_order_by_id(filled.id).status == OrderStatus.FILLED


def test_replace_and_cancel(alpaca: MockExchange, clients: Clients) -> None:
    tc, ex = clients.trading, alpaca.exchange
    old = tc.submit_order(limit(150.0, client_order_id="rest-1"))
    new = tc.replace_order_by_id(
        old.id, ReplaceOrderRequest(qty=3, limit_price=151.5, client_order_id="rest-2")
    )
    assert new.id != old.id and new.replaces == old.id and new.status == OrderStatus.NEW
    assert (new.qty, new.limit_price, new.client_order_id) == ("3", "151.5", "rest-2")
    replaced = tc.get_order_by_id(old.id)
    assert replaced.status == OrderStatus.REPLACED and replaced.replaced_by == new.id
    assert ex.locked["USD"] == pytest.approx(3 * 151.5)  # the old order's funds released

    assert tc.cancel_order_by_id(new.id) is None  # 204, no body
    assert tc.get_order_by_id(new.id).status == OrderStatus.CANCELED
    assert ex.locked["USD"] == pytest.approx(0)
    error = api_error(lambda: tc.cancel_order_by_id(new.id))
    assert (error.status_code, error.code) == (422, 42210000)

    a, b = tc.submit_order(limit(140.0)), tc.submit_order(limit(141.0))
    cancelled = tc.cancel_orders()
    assert {c.id for c in cancelled} == {a.id, b.id}
    assert {c.status for c in cancelled} == {200}
    assert {tc.get_order_by_id(o.id).status for o in (a, b)} == {OrderStatus.CANCELED}
    assert tc.cancel_orders() == []


def test_positions_and_closing_them(alpaca: MockExchange, clients: Clients) -> None:
    tc, ex = clients.trading, alpaca.exchange
    assert tc.get_all_positions() == []
    bought = tc.submit_order(market(qty=4))
    tc.submit_order(market("MSFT", qty=1))
    positions = {p.symbol: p for p in tc.get_all_positions()}
    assert set(positions) == {"AAPL", "MSFT"}
    aapl = positions["AAPL"]
    assert (aapl.qty, aapl.side.value, aapl.asset_class) == ("4", "long", AssetClass.US_EQUITY)
    assert float(aapl.avg_entry_price) == pytest.approx(float(bought.filled_avg_price), abs=1e-4)
    assert float(aapl.cost_basis) == pytest.approx(4 * float(bought.filled_avg_price), abs=0.005)
    assert float(aapl.current_price) == pytest.approx(ex.price("AAPL"), abs=0.005)
    assert tc.get_open_position("AAPL") == tc.get_open_position(str(aapl.asset_id))

    one = tc.close_position("AAPL", ClosePositionRequest(qty="1"))
    assert (one.side, one.qty, one.status) == (OrderSide.SELL, "1", OrderStatus.FILLED)
    half = tc.close_position("AAPL", ClosePositionRequest(percentage="50"))
    assert half.qty == "1.5" and tc.get_open_position("AAPL").qty == "1.5"

    tc.submit_order(limit(9999.0, side="sell", symbol="MSFT"))  # holds the 1 MSFT
    held = tc.close_all_positions(cancel_orders=False)
    by_symbol = {r.symbol: r for r in held}
    assert by_symbol["AAPL"].status == 200 and by_symbol["AAPL"].body.status == OrderStatus.FILLED
    assert by_symbol["MSFT"].status == 403 and by_symbol["MSFT"].body.code == 40310000
    closed = tc.close_all_positions(cancel_orders=True)
    assert [(r.symbol, r.status) for r in closed] == [("MSFT", 200)]
    assert tc.get_all_positions() == [] and tc.get_orders() == []
    error = api_error(lambda: tc.get_open_position("AAPL"))
    assert (error.status_code, error.code, error.message) == (
        404,
        40410000,
        "position does not exist",
    )


def test_errors_in_alpacas_format(alpaca: MockExchange, clients: Clients) -> None:
    tc = clients.trading
    poor = api_error(lambda: tc.submit_order(market(qty=10**6)))
    assert (poor.status_code, poor.code, poor.message) == (
        403,
        40310000,
        "insufficient buying power",
    )
    assert '"buying_power":"100000.00"' in str(poor)
    short = api_error(lambda: tc.submit_order(market("SPY", qty=5, side="sell")))
    assert (short.status_code, short.code) == (403, 40310000)
    assert short.message.startswith("insufficient qty available for order (requested: 5")
    tc.submit_order(market(client_order_id="once"))
    twice = api_error(lambda: tc.submit_order(market(client_order_id="once")))
    assert (twice.status_code, twice.code, twice.message) == (
        422,
        40010001,
        "client_order_id must be unique",
    )
    missing = api_error(lambda: tc.get_order_by_id("00000000-0000-4000-8000-000000000000"))
    assert (missing.status_code, missing.code) == (404, 40410000)
    unknown = api_error(lambda: tc.get_order_by_client_id("never-sent"))
    assert (unknown.status_code, unknown.code) == (404, 40410000)
    extended = api_error(lambda: tc.submit_order(market(extended_hours=True)))
    assert (extended.status_code, extended.code) == (422, 42210000)
    secrets = {e.headers.get("APCA-API-SECRET-KEY") for e in alpaca.server.journal}
    assert secrets == {"***"}  # redacted like every secret


# -- market hours and time in force ------------------------------------------------------


def test_orders_outside_market_hours_queue_until_the_open(
    alpaca: MockExchange, clients: Clients
) -> None:
    tc, ex = clients.trading, alpaca.exchange
    ex.set_time(eastern(2024, 1, 2, 8, 0))  # pre-market
    day = tc.submit_order(market())
    gtc = tc.submit_order(limit(9999.0, tif="gtc"))
    ioc = tc.submit_order(limit(1.0, tif="ioc"))
    opg = tc.submit_order(limit(1.0, tif="opg"))
    cls = tc.submit_order(limit(1.0, tif="cls"))
    queued = (day, gtc, ioc, opg, cls)
    assert {o.status for o in queued} == {OrderStatus.ACCEPTED}
    assert {o.id for o in tc.get_orders()} == {o.id for o in queued}  # accepted is open
    assert ex.fills == []
    ext = tc.submit_order(limit(9999.0, tif="day", extended_hours=True))
    assert ext.status == OrderStatus.FILLED and ext.extended_hours  # works pre-market

    ex.set_time(eastern(2024, 1, 2, 9, 30, 1))  # the open
    status = {o.id: tc.get_order_by_id(o.id).status for o in queued}
    assert status[day.id] == status[gtc.id] == OrderStatus.FILLED  # marketable: filled
    assert status[ioc.id] == status[opg.id] == OrderStatus.CANCELED  # not filled at the open
    assert status[cls.id] == OrderStatus.ACCEPTED  # waits for the close
    late = tc.submit_order(limit(1.0, tif="day"))
    assert late.status == OrderStatus.NEW and late.expires_at is not None

    ex.set_time(eastern(2024, 1, 2, 16, 0, 1))  # the close
    assert tc.get_order_by_id(cls.id).status == OrderStatus.CANCELED  # LOC at 1.00: not filled
    expired = tc.get_order_by_id(late.id)
    assert expired.status == OrderStatus.EXPIRED and expired.expired_at is not None
    assert ex.locked["USD"] == pytest.approx(0)


@pytest.mark.parametrize(
    ("when", "tif", "refused"),
    [
        (eastern(2024, 1, 2, 9, 28), "opg", True),
        (eastern(2024, 1, 2, 18, 59), "opg", True),
        (eastern(2024, 1, 2, 19, 0), "opg", False),
        (eastern(2024, 1, 2, 9, 27), "opg", False),
        (eastern(2024, 1, 2, 15, 50), "cls", True),
        (eastern(2024, 1, 2, 15, 49), "cls", False),
        (eastern(2024, 1, 6, 12, 0), "opg", False),  # a Saturday
    ],
)
def test_opg_and_cls_reject_windows(
    alpaca: MockExchange, clients: Clients, when: float, tif: str, refused: bool
) -> None:
    alpaca.exchange.set_time(when)
    if refused:
        error = api_error(lambda: clients.trading.submit_order(limit(1.0, tif=tif)))
        assert (error.status_code, error.code) == (422, 42210000)
        assert alpaca.exchange.orders == {}
    else:
        assert clients.trading.submit_order(limit(1.0, tif=tif)).status == OrderStatus.ACCEPTED


def test_ioc_and_fok_during_the_session(alpaca: MockExchange, clients: Clients) -> None:
    tc = clients.trading
    assert tc.submit_order(limit(1.0, tif="ioc")).status == OrderStatus.CANCELED
    assert tc.submit_order(limit(1.0, tif="fok")).status == OrderStatus.CANCELED
    fok = tc.submit_order(limit(9999.0, tif="fok"))
    assert (fok.status, fok.filled_qty) == (OrderStatus.FILLED, "1")
    error = api_error(lambda: tc.submit_order(limit(9999.0, tif="gtc", extended_hours=True)))
    assert error.message == "extended hours order must be DAY limit orders"


# -- the market data client --------------------------------------------------------------


def candles_between(me: MockExchange, symbol: str, interval_s: int, lo: float, hi: float) -> Any:
    """What the profile should have sent: the FakeExchange's candles, as Alpaca bars."""
    return [
        AlpacaProfile.bar_json(c)
        for c in me.exchange.candles(symbol, interval_s, step=False)
        if lo <= c[0] <= hi
    ]


def as_sent(bar: Any) -> dict[str, Any]:
    return {
        "t": bar.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
        "n": bar.trade_count,
        "vw": bar.vwap,
    }


def test_bars_multi_symbol_paged_as_alpaca_py_pages(alpaca: MockExchange, clients: Clients) -> None:
    profile_of(alpaca).page_size = 40
    start = datetime.fromtimestamp(START - 3600, UTC)
    request = StockBarsRequest(
        symbol_or_symbols=["MSFT", "AAPL"],
        timeframe=TimeFrame.Minute,
        start=start,
        end=datetime.fromtimestamp(START, UTC),
        limit=100,
        feed=DataFeed.IEX,
    )
    barset = clients.data.get_stock_bars(request)
    assert {s: len(b) for s, b in barset.data.items()} == {"AAPL": 60, "MSFT": 40}
    pages = [e for e in alpaca.server.journal if e.path == "/v2/stocks/bars"]
    assert [(e.params["limit"], e.params.get("page_token") is None) for e in pages] == [
        ("100", True),
        ("60", False),
        ("20", False),
    ]
    lo, hi = START - 3600, START
    for symbol, bars in barset.data.items():
        expected = candles_between(alpaca, symbol, 60, lo, hi)[: len(bars)]
        got = [as_sent(b) for b in bars]
        assert got[:-1] == expected[: len(got) - 1]  # the last bar may still be forming
        assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)
    everything = clients.data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Minute, start=start
        )
    )
    assert {s: len(b) for s, b in everything.data.items()} == {"AAPL": 60, "MSFT": 60}


def test_bars_timeframes_sort_and_a_single_symbol(alpaca: MockExchange, clients: Clients) -> None:
    dc = clients.data
    five = dc.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols="SPY", timeframe=TimeFrame(5, TimeFrameUnit.Minute), limit=10
        )
    )["SPY"]
    stamps = [b.timestamp.timestamp() for b in five]
    assert len(five) == 10 and all(t % 300 == 0 for t in stamps)
    assert [b - a for a, b in itertools.pairwise(stamps)] == [300.0] * 9
    days = dc.get_stock_bars(
        StockBarsRequest(symbol_or_symbols="SPY", timeframe=TimeFrame.Day, limit=3, sort="desc")
    )["SPY"]
    assert [b.timestamp for b in days] == sorted((b.timestamp for b in days), reverse=True)
    assert days[0].close == round(alpaca.exchange.price("SPY"), 2)  # today's bar, so far
    unknown = dc.get_stock_bars(StockBarsRequest(symbol_or_symbols="ZZZZ", timeframe=TimeFrame.Day))
    assert unknown.data == {}


def test_latest_trade_quote_bar_and_snapshot(alpaca: MockExchange, clients: Clients) -> None:
    dc, ex = clients.data, alpaca.exchange
    trades = dc.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=["AAPL", "MSFT"]))
    assert set(trades) == {"AAPL", "MSFT"}
    assert trades["MSFT"].price == round(ex.price("MSFT"), 2)
    assert abs(trades["AAPL"].timestamp.timestamp() - ex.now()) < 60
    quote = dc.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))["AAPL"]
    assert quote.bid_price < quote.ask_price
    assert abs((quote.bid_price + quote.ask_price) / 2 - ex.price("AAPL")) <= 0.011
    bar = dc.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols="AAPL"))["AAPL"]
    assert bar.timestamp.timestamp() == ex.now() // 60 * 60
    assert bar.close == round(ex.price("AAPL"), 2)
    snaps = dc.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=["AAPL", "SPY"]))
    spy = snaps["SPY"]
    price = round(ex.price("SPY"), 2)
    assert spy.latest_trade.price == spy.minute_bar.close == spy.daily_bar.close == price
    assert spy.latest_quote.bid_price < spy.latest_quote.ask_price
    assert spy.previous_daily_bar.timestamp == spy.daily_bar.timestamp - timedelta(days=1)


def test_trades_and_quotes_paged(alpaca: MockExchange, clients: Clients) -> None:
    profile_of(alpaca).page_size = 7
    dc = clients.data
    minute = START // 60 * 60
    start = datetime.fromtimestamp(minute - 600, UTC)  # five whole minutes
    end = datetime.fromtimestamp(minute - 300.001, UTC)
    trades = dc.get_stock_trades(
        StockTradesRequest(symbol_or_symbols="AAPL", start=start, end=end, limit=18)
    )["AAPL"]
    assert len(trades) == 18  # four a minute over five minutes, cut at the limit
    assert all(start <= t.timestamp <= end for t in trades)
    assert [t.timestamp for t in trades] == sorted(t.timestamp for t in trades)
    bars = {b[0]: b for b in alpaca.exchange.candles("AAPL", 60, step=False) if b[0] < START - 120}
    for trade in trades:  # each trade lies within its minute's candle
        candle = bars[trade.timestamp.timestamp() // 60 * 60]
        assert round(candle[3], 2) <= trade.price <= round(candle[2], 2)
    pages = [e for e in alpaca.server.journal if e.path == "/v2/stocks/trades"]
    assert [e.params["limit"] for e in pages] == ["18", "11", "4"]
    quotes = dc.get_stock_quotes(
        StockQuotesRequest(symbol_or_symbols=["AAPL", "MSFT"], start=start, end=end, sort="desc")
    )
    assert {s: len(q) for s, q in quotes.data.items()} == {"AAPL": 20, "MSFT": 20}
    for q in quotes["MSFT"]:
        assert round(q.ask_price - q.bid_price, 2) == 0.02
    stamps = [q.timestamp for q in quotes["AAPL"]]
    assert stamps == sorted(stamps, reverse=True)


# -- sync clients in sync and async tests ----------------------------------------------------


@pytest.mark.exchange("alpaca")
@pytest.mark.mock_server(backend="socket")
def test_a_sync_test_with_mock_exchange_on_a_socket(mock_exchange: MockExchange) -> None:
    tc = Clients(mock_exchange.url).trading
    assert mock_exchange.url.startswith("http://127.0.0.1:")
    order = tc.submit_order(market())
    assert str(order.id) in mock_exchange.exchange.orders


@pytest.mark.exchange("alpaca")
@pytest.mark.mock_server(backend="socket")
async def test_an_async_test_runs_the_sync_client_in_a_thread(
    mock_exchange: MockExchange,
) -> None:
    clients = Clients(mock_exchange.url)
    account, clock = await asyncio.gather(
        asyncio.to_thread(clients.trading.get_account),
        asyncio.to_thread(clients.trading.get_clock),
    )
    assert account.status.value == "ACTIVE" and clock.timestamp is not None


async def test_an_async_test_with_mock_server_socket(alpaca: MockExchange) -> None:
    tc = Clients(alpaca.url).trading
    order = await asyncio.to_thread(tc.submit_order, market())
    assert order.status == OrderStatus.FILLED


@pytest.mark.exchange("alpaca")
@pytest.mark.mock_server(backend="socket")
def test_the_chaos_fixture_acts_on_the_socket(mock_exchange: MockExchange, chaos: Chaos) -> None:
    mock_exchange.exchange.set_time(START)
    chaos.inject(faults.AckLost(status=504), match={"role": "order_place"}, schedule={"first": 1})
    tc = Clients(mock_exchange.url).trading
    order = tc.submit_order(market())  # the 504 is retried: a second order
    assert order.status == OrderStatus.FILLED
    assert len(mock_exchange.exchange.orders) == 2
    assert [e.status for e in mock_exchange.server.journal] == [504, 200]


# -- what alpaca-py does under faults -------------------------------------------------------


def case(label_start: str) -> Any:
    return next(c for c in CASES if c.label.startswith(label_start))


def test_a_504_after_a_placed_order_makes_alpaca_py_place_it_again() -> None:
    once = run_case("submit_order", case("`ack_lost` status 504"))
    assert (once.seen, once.requests, once.orders) == ("returns `Order` (filled)", 2, 2)
    sticky = run_case("submit_order", case("`ack_lost` status 504, every"))
    assert (sticky.requests, sticky.orders) == (4, 4)
    assert sticky.seen == "raises `APIError` 504 `50410000`"


def test_a_client_order_id_turns_the_resend_into_a_refusal() -> None:
    once = run_case("submit_order_coid", case("`ack_lost` status 504"))
    assert (once.requests, once.orders) == (2, 1)
    assert once.seen == "raises `APIError` 422 `40010001` client_order_id must be unique"


def test_429_is_retried_and_retry_after_is_ignored(
    alpaca: MockExchange, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alpaca.common.rest as rest

    waits: list[float] = []
    monkeypatch.setattr(rest.time, "sleep", waits.append)
    chaos = Chaos(alpaca.server, seed=1)
    chaos.inject(faults.Error(preset="rate_limited", retry_after_s=30), schedule={"first": 1})
    clients.trading._retry_wait = 0.25
    assert clients.trading.get_account().status.value == "ACTIVE"
    first = next(iter(alpaca.server.journal))
    assert first.status == 429 and first.response_headers["Retry-After"] == "30"
    assert waits == [0.25]  # its own fixed wait, not the 30 s the exchange asked for


def test_an_order_placed_behind_a_504_is_found_by_its_client_order_id(
    alpaca: MockExchange, clients: Clients
) -> None:
    chaos = Chaos(alpaca.server, seed=1)
    chaos.inject(faults.AckLost(status=504), match={"role": "order_place"})
    tc = clients.trading
    tc._retry = 0  # no retry: the client sees the 504 and looks the order up itself
    error = api_error(lambda: tc.submit_order(market(client_order_id="intent-9")))
    assert error.status_code == 504
    found = tc.get_order_by_client_id("intent-9")
    assert found.status == OrderStatus.FILLED and len(alpaca.exchange.orders) == 1


def test_the_harness_convicts_alpaca_py_re_sending_an_order_after_a_504(
    alpaca: MockExchange, clients: Clients
) -> None:
    """alpaca-py re-sends a POST after a 504 by itself: the order placed behind the 504 and
    its resend are two orders for one intent, and ``no_duplicate_orders`` says so."""
    chaos = Chaos(alpaca.server, seed=1)
    chaos.inject(faults.AckLost(status=504), match={"role": "order_place"}, schedule={"first": 1})
    clients.trading._retry_wait = 0  # its retry pause (3 s by default), not the behaviour
    clients.trading.submit_order(market())
    assert len(alpaca.exchange.orders) == 2
    found = evaluate(["no_duplicate_orders"], context_for(chaos))
    assert names(found) == {"no_duplicate_orders"}
    assert "symbol=AAPL side=buy type=market quantity=2" in found[0].message


def test_the_harness_passes_a_client_that_looks_the_order_up_by_client_order_id(
    alpaca: MockExchange, clients: Clients
) -> None:
    chaos = Chaos(alpaca.server, seed=1)
    chaos.inject(faults.AckLost(status=504), match={"role": "order_place"}, schedule={"first": 1})
    tc = clients.trading
    tc._retry = 0
    assert (
        api_error(lambda: tc.submit_order(market(client_order_id="intent-10"))).status_code == 504
    )
    order = tc.get_order_by_client_id("intent-10")  # placed after all: do not send it again
    assert order.status == OrderStatus.FILLED and len(alpaca.exchange.orders) == 1
    assert chaos.log and evaluate(["no_duplicate_orders"], context_for(chaos)) == []


def readme_lines() -> list[str]:
    return readme_block("alpaca-outcomes").split("\n")


STALE = "the docs' alpaca-py table is stale: run python -m tests.conformance.alpaca_outcomes"


def test_the_readme_tables_have_a_row_per_fault() -> None:
    lines = readme_lines()
    n = len(CASES)
    assert lines[:2] == ORDERS_HEADER and lines[2 + n : 5 + n] == ["", *CALLS_HEADER], STALE
    assert len(lines) == 2 * n + 5, STALE
    labels = [c.label for c in CASES]
    assert [line.split(" | ")[0][2:] for line in lines[2 : 2 + n]] == labels, STALE


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"row{i}" for i in range(len(CASES))])
def test_the_readme_rows_are_generated_from_these_runs(index: int) -> None:
    """Each row of both tables, run again (one test a fault, so xdist spreads the runs)."""
    lines, n, row = readme_lines(), len(CASES), CASES[index]
    outcomes = outcomes_of(row)
    assert lines[2 + index] == orders_row(row, outcomes), STALE
    assert lines[5 + n + index] == calls_row(row, outcomes), STALE


def test_every_call_of_the_table_runs_against_the_profile() -> None:
    for name in CALLS:
        outcome = run_case(name, case("`latency`"))
        assert outcome.seen.startswith("returns") and outcome.fired == 1, (name, outcome)
