"""The stateful fake exchange: instruments, balances, orders, fills, and a seeded market.

It knows trading semantics that generic mocks do not: an order whose acknowledgement was
lost still exists, a second order with the same client order id is refused, a limit order
fills when the price crosses it. Profiles (``generic``, ``binance-spot``) mount it on a
MockServer as routes; it does not know HTTP.
"""

from __future__ import annotations

import bisect
import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from harness import clock
from harness.clock import Anchor
from harness.errors import ExchangeReject
from harness.market import MarketData

__all__ = ["INTERVALS", "ExchangeOrder", "FakeExchange", "Fill", "Instrument"]


@dataclass(frozen=True)
class Instrument:
    symbol: str
    base: str
    quote: str
    tick: float = 0.01
    step: float = 0.000001
    min_qty: float = 0.000001
    min_notional: float = 0.0
    """The smallest order value (price x quantity) a profile accepts (Binance's NOTIONAL)."""


@dataclass
class ExchangeOrder:
    order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    type: str
    qty: float
    price: float | None
    status: str = "new"
    filled_qty: float = 0.0
    avg_price: float | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    request_index: int | None = None
    """The index of the request that created it (links the order to the journal)."""
    time_in_force: str = "gtc"
    """How long it works (``gtc``, ``day``, ``ioc``...; profiles give the words a meaning)."""
    post_only: bool = False
    """Placed to rest only (refused when it would fill at once): Binance's LIMIT_MAKER."""
    trigger: str | None = None
    """``stop_loss`` or ``take_profit``: it waits until the market crosses ``stop_price``."""
    stop_price: float | None = None
    triggered_at: float | None = None
    """When the market crossed ``stop_price`` and the order started working."""
    expired: bool = False
    """Canceled by the exchange itself (the unfilled rest of an IOC or FOK order)."""
    quote_qty: float | None = None
    """A market order for an amount of the quote asset (Binance's ``quoteOrderQty``)."""

    @property
    def open(self) -> bool:
        # "accepted": received and queued, not yet working (placed with ``hold=True``)
        return self.status in ("new", "partially_filled", "accepted")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fill:
    order_id: str
    symbol: str
    side: str
    price: float
    qty: float
    fee: float
    ts: float
    trade_id: int = 0
    """The exchange's id of this trade (1, 2, ... in the order trades happen)."""
    fee_asset: str = ""
    """The asset ``fee`` is paid in (the quote asset, or the asset received: see fee_asset)."""
    maker: bool = False
    """The order was resting on the book (not taking liquidity) when it filled."""


@dataclass
class _Bars:
    interval_s: int
    bars: list[list[float]] = field(default_factory=list)  # [open_time_s, o, h, l, c, v]


INTERVALS = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
}
"""Candle intervals by name (Binance's names), in seconds."""


class FakeExchange:
    """One venue's state. All times are epoch seconds on the exchange's (real) clock."""

    def __init__(
        self,
        seed: int = 0,
        *,
        instruments: list[Instrument] | None = None,
        balances: dict[str, float] | None = None,
        slippage: float = 0.0005,
        fee_rate: float = 0.001,
        partial_fills: bool = False,
        history_bars: int = 200,
        start_time: float | None = None,
        fee_asset: str | None = None,
    ) -> None:
        self.seed = seed
        self.instruments = {
            i.symbol: i for i in (instruments or [Instrument("BTCUSDT", "BTC", "USDT")])
        }
        self.balances: dict[str, float] = dict(balances or {"USDT": 1_000_000.0, "BTC": 10.0})
        self.locked: dict[str, float] = {asset: 0.0 for asset in self.balances}
        self.slippage = slippage
        self.fee_rate = fee_rate
        self.partial_fills = partial_fills
        self.history_bars = history_bars
        self.orders: dict[str, ExchangeOrder] = {}
        self.fills: list[Fill] = []
        self.markets = {
            symbol: MarketData(seed + i, symbol=symbol, volatility=0.0008)
            for i, symbol in enumerate(sorted(self.instruments))
        }
        self._bars: dict[tuple[str, int], _Bars] = {}
        self._last_id = 0
        self._by_client_id: dict[str, str] = {}
        self.book_update_id = 1000
        """The id of the last order-book update; streams number their diffs from it."""
        self._resting: dict[
            str, tuple[list[tuple[float, ExchangeOrder]], list[tuple[float, ExchangeOrder]]]
        ] = {}
        self._clock: tuple[float, Anchor] | None = None
        """(exchange epoch, time zero on the harness clock) once the clock was set; None:
        the harness's wall clock (:func:`harness.clock.wall`)."""
        if start_time is not None:
            self.set_time(start_time)
        self.fee_asset = fee_asset
        """Who pays the fee on a buy: ``quote`` (None: the quote asset is debited) or
        ``received`` (the bought asset is: Binance's rule); sells always pay in the quote."""
        self._stops: dict[str, list[ExchangeOrder]] = {}
        self._taking = 0  # > 0 while an order is being placed or triggered (its fills take)

    # -- clock and market ---------------------------------------------------------------
    def now(self, offset_s: float = 0.0) -> float:
        """The exchange's time, epoch seconds: the wall clock, or the clock a test set
        (``start_time=``, :meth:`set_time`), running on from there. Every time read of the
        exchange and its profiles goes through here."""
        if self._clock is None:
            return clock.wall() + offset_s
        epoch, zero = self._clock
        return epoch + zero.elapsed() + offset_s

    def set_time(self, epoch_s: float) -> None:
        """Set the exchange's clock to ``epoch_s`` (it runs on from there on the harness
        clock: real time, or the test's virtual time, from the test's start).
        Set it before the first market-data request: candle history ends at that time."""
        self._clock = (float(epoch_s), Anchor())

    def _new_id(self) -> str:
        self._last_id += 1
        return str(self._last_id)

    def snapshot(self) -> dict[str, Any]:
        """The exchange's whole state (orders, balances, markets, clock), to :meth:`restore`."""
        state = dict(self.__dict__)
        clock_set = state.pop("_clock")
        return {
            "state": copy.deepcopy(state),
            "epoch": None if clock_set is None else clock_set[0] + clock_set[1].elapsed(),
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Back to a :meth:`snapshot` (a clock that was set starts again from where it read
        then; exploration runs each example on a fresh exchange)."""
        self.__dict__.update(copy.deepcopy(snapshot["state"]))
        self._clock = None
        if snapshot["epoch"] is not None:
            self.set_time(snapshot["epoch"])

    def advance(self, seconds: float) -> None:
        """Move the exchange's clock forward (the market opens, a day order expires...)."""
        self.set_time(self.now() + seconds)

    def add_instrument(self, instrument: Instrument, *, price: float | None = None) -> None:
        """List one more instrument, its market seeded like the others (from ``price``)."""
        self.instruments[instrument.symbol] = instrument
        kwargs = {"start_price": price} if price is not None else {}
        self.markets[instrument.symbol] = MarketData(
            self.seed + len(self.markets), symbol=instrument.symbol, volatility=0.0008, **kwargs
        )
        for asset in (instrument.base, instrument.quote):
            self.balances.setdefault(asset, 0.0)
            self.locked.setdefault(asset, 0.0)

    def instrument(self, symbol: str) -> Instrument:
        if symbol not in self.instruments:
            raise ExchangeReject("unknown_symbol", f"unknown symbol {symbol!r}", 400)
        return self.instruments[symbol]

    def price(self, symbol: str) -> float:
        return self.markets[self.instrument(symbol).symbol].price

    def step(self, symbol: str) -> float:
        """The market moves one step (on every market-data request); limit orders may fill."""
        price = self.markets[self.instrument(symbol).symbol].step()
        self._update_bars(symbol, price)
        self._trigger_stops(symbol, price)
        self._match(symbol, price)
        return price

    def _series(self, symbol: str, interval_s: int) -> _Bars:
        key = (symbol, interval_s)
        if key not in self._bars:
            market = MarketData(
                self.seed + 1000 + interval_s,
                symbol=symbol,
                volatility=0.0008,
                start_price=self.price(symbol),
            )
            now = math.floor(self.now() / interval_s) * interval_s
            history = market.ohlcv(self.history_bars)
            series = _Bars(interval_s)
            # History ends at the current bar; rescale so its last close is today's price.
            scale = self.price(symbol) / float(history["close"].iloc[-1])
            for i, row in enumerate(history.itertuples(index=False)):
                t = now - (self.history_bars - 1 - i) * interval_s
                series.bars.append(
                    [
                        t,
                        row.open * scale,
                        row.high * scale,
                        row.low * scale,
                        row.close * scale,
                        row.volume,
                    ]
                )
            self._bars[key] = series
        return self._bars[key]

    def _update_bars(self, symbol: str, price: float) -> None:
        for (sym, _), series in self._bars.items():
            if sym == symbol:
                self._roll(series, price)

    def _roll(self, series: _Bars, price: float) -> None:
        now = math.floor(self.now() / series.interval_s) * series.interval_s
        last = series.bars[-1]
        while last[0] < now:
            close = last[4]
            last = [last[0] + series.interval_s, close, close, close, close, 0.0]
            series.bars.append(last)
        last[2] = max(last[2], price)
        last[3] = min(last[3], price)
        last[4] = price
        last[5] += 0.01
        if len(series.bars) > self.history_bars * 4:
            del series.bars[: -self.history_bars * 2]

    def bars(self, symbol: str, interval: str = "1m", limit: int = 100) -> list[list[float]]:
        """Candles ``[open_time_s, open, high, low, close, volume]``, oldest first."""
        if interval not in INTERVALS:
            raise ExchangeReject(
                "bad_interval",
                f"unknown interval {interval!r}; use one of {', '.join(INTERVALS)}",
                400,
            )
        if not 1 <= limit <= 1000:
            raise ExchangeReject("bad_limit", f"limit={limit} must be 1..1000", 400)
        series = self._series(self.instrument(symbol).symbol, INTERVALS[interval])
        self._roll(series, self.step(symbol))
        return [list(bar) for bar in series.bars[-limit:]]

    def candles(self, symbol: str, interval_s: int, *, step: bool = True) -> list[list[float]]:
        """Every candle kept for ``interval_s`` (any whole number of seconds), rolled to now,
        oldest first: ``[open_time_s, open, high, low, close, volume]``. The market steps
        first, as on every market-data request, unless ``step=False`` (a read only)."""
        if interval_s < 1:
            raise ExchangeReject("bad_interval", f"interval_s={interval_s} must be >= 1", 400)
        series = self._series(self.instrument(symbol).symbol, int(interval_s))
        if step:
            self._roll(series, self.step(symbol))
        elif series.bars[-1][0] < math.floor(self.now() / series.interval_s) * series.interval_s:
            self._roll(series, series.bars[-1][4])  # time moved on; the price did not
        return [list(bar) for bar in series.bars]

    def book(self, symbol: str, depth: int = 10) -> dict[str, list[list[float]]]:
        self.step(symbol)
        return self.markets[self.instrument(symbol).symbol].book(depth)

    # -- orders ---------------------------------------------------------------------------
    def place_order(
        self,
        symbol: str,
        side: str,
        type: str,
        qty: float,
        price: float | None = None,
        client_order_id: str | None = None,
        *,
        request_index: int | None = None,
        order_id: str | None = None,
        time_in_force: str = "gtc",
        hold: bool = False,
    ) -> ExchangeOrder:
        """Create an order, or raise :class:`ExchangeReject` (duplicate client id, bad args).

        ``order_id``: the id to give it (a profile's own format; default: a counter).
        ``hold``: queue it as ``accepted`` (funds reserved, not working) until :meth:`release`.
        """
        inst = self.instrument(symbol)
        side, type = str(side).lower(), str(type).lower()
        if side not in ("buy", "sell"):
            raise ExchangeReject("bad_side", f"side={side!r} must be buy or sell", 400)
        if type not in ("market", "limit"):
            raise ExchangeReject("bad_type", f"type={type!r} must be market or limit", 400)
        if not (isinstance(qty, (int, float)) and math.isfinite(qty) and qty >= inst.min_qty):
            raise ExchangeReject("bad_qty", f"qty={qty!r} must be >= {inst.min_qty}", 400)
        if type == "limit" and not (
            isinstance(price, (int, float)) and math.isfinite(price) and price > 0
        ):
            raise ExchangeReject("bad_price", f"limit orders need a price > 0 (got {price!r})", 400)
        if client_order_id is not None and client_order_id in self._by_client_id:
            raise ExchangeReject(
                "duplicate_client_order_id",
                f"an order with client_order_id {client_order_id!r} already exists "
                f"({self._by_client_id[client_order_id]})",
                409,
            )
        cost_asset, cost = (
            (inst.quote, qty * (price or self.price(symbol))) if side == "buy" else (inst.base, qty)
        )
        if self.balances.get(cost_asset, 0.0) - self.locked.get(cost_asset, 0.0) < cost:
            raise ExchangeReject(
                "insufficient_balance", f"not enough {cost_asset} for this order", 400
            )
        now = self.now()
        order = ExchangeOrder(
            order_id=order_id if order_id is not None else self._new_id(),
            client_order_id=client_order_id,
            symbol=inst.symbol,
            side=side,
            type=type,
            qty=float(qty),
            price=float(price) if price is not None else None,
            created_at=now,
            updated_at=now,
            request_index=request_index,
            time_in_force=time_in_force,
        )
        self.orders[order.order_id] = order
        if client_order_id is not None:
            self._by_client_id[client_order_id] = order.order_id
        if hold:
            order.status = "accepted"
            if type == "limit" or side == "sell":  # a market buy reserves nothing
                self.locked[cost_asset] = self.locked.get(cost_asset, 0.0) + cost
            return order
        if type == "market":
            fill_price = self.price(symbol) * (
                1 + self.slippage if side == "buy" else 1 - self.slippage
            )
            self._fill(order, round(fill_price, 8), order.qty)
        else:
            self.locked[cost_asset] = self.locked.get(cost_asset, 0.0) + cost
            self._rest(order)
            self._match(symbol, self.price(symbol))
        return order

    def _fill(self, order: ExchangeOrder, price: float, qty: float) -> None:
        inst = self.instruments[order.symbol]
        qty = min(qty, order.qty - order.filled_qty)
        if qty <= 0:
            return
        fee = qty * price * self.fee_rate
        base_fee = 0.0
        if order.side == "buy" and self.fee_asset == "received":
            fee, base_fee = 0.0, qty * self.fee_rate  # the bought asset pays (Binance's rule)
        if order.side == "buy":
            self.balances[inst.quote] = self.balances.get(inst.quote, 0.0) - qty * price - fee
            self.balances[inst.base] = self.balances.get(inst.base, 0.0) + qty - base_fee
            if order.type == "limit":
                self.locked[inst.quote] = max(
                    0.0, self.locked.get(inst.quote, 0.0) - qty * (order.price or price)
                )
        else:
            self.balances[inst.base] = self.balances.get(inst.base, 0.0) - qty
            self.balances[inst.quote] = self.balances.get(inst.quote, 0.0) + qty * price - fee
            if order.type == "limit":
                self.locked[inst.base] = max(0.0, self.locked.get(inst.base, 0.0) - qty)
        previous = order.filled_qty * (order.avg_price or 0.0)
        order.filled_qty = round(order.filled_qty + qty, 12)
        order.avg_price = (previous + qty * price) / order.filled_qty
        order.status = "filled" if order.filled_qty >= order.qty - 1e-12 else "partially_filled"
        order.updated_at = self.now()
        paid, asset = (base_fee, inst.base) if base_fee else (fee, inst.quote)
        self.fills.append(
            Fill(
                order.order_id,
                order.symbol,
                order.side,
                price,
                qty,
                paid,
                order.updated_at,
                trade_id=len(self.fills) + 1,
                fee_asset=asset,
                maker=order.type == "limit" and not self._taking,
            )
        )

    def _match(self, symbol: str, price: float) -> None:
        """Fill resting limit orders the price crossed: buys at or above it, sells at or below.

        Resting orders are kept sorted by price per side, so a step looks only at the
        orders it fills, however many rest far from the market.
        """
        buys, sells = self._resting.get(symbol, ([], []))
        crossed = []
        while buys and buys[-1][0] >= price:
            crossed.append(buys.pop()[1])
        while sells and sells[0][0] <= price:
            crossed.append(sells.pop(0)[1])
        for order in crossed:
            if not order.open:
                continue
            remaining = order.qty - order.filled_qty
            qty = (
                remaining / 2
                if self.partial_fills and remaining > 2 * self.instruments[symbol].min_qty
                else remaining
            )
            self._fill(order, float(order.price), qty)  # type: ignore[arg-type]
            if order.open:
                self._rest(order)

    def _rest(self, order: ExchangeOrder) -> None:
        buys, sells = self._resting.setdefault(order.symbol, ([], []))
        side = buys if order.side == "buy" else sells
        bisect.insort(side, (float(order.price), order), key=lambda item: item[0])  # type: ignore[arg-type]

    def _unrest(self, order: ExchangeOrder) -> None:
        buys, sells = self._resting.get(order.symbol, ([], []))
        side = buys if order.side == "buy" else sells
        for i, (_, resting) in enumerate(side):
            if resting is order:
                del side[i]
                return

    def cancel(self, order_id: str) -> ExchangeOrder:
        order = self.get(order_id)
        if not order.open:
            raise ExchangeReject("not_open", f"order {order_id} is {order.status}", 400)
        inst = self.instruments[order.symbol]
        remaining = order.qty - order.filled_qty
        if order.side == "buy":
            self.locked[inst.quote] = max(
                0.0, self.locked.get(inst.quote, 0.0) - remaining * (order.price or 0)
            )
        else:
            self.locked[inst.base] = max(0.0, self.locked.get(inst.base, 0.0) - remaining)
        order.status = "canceled"
        order.updated_at = self.now()
        self._unrest(order)
        return order

    def release(self, order_id: str) -> ExchangeOrder:
        """Start working a queued (``accepted``) order: a market order fills now (or is
        ``rejected`` when the funds are no longer there), a limit order rests (and fills
        when the price crosses it)."""
        order = self.get(order_id)
        if order.status != "accepted":
            raise ExchangeReject("not_held", f"order {order_id} is {order.status}", 400)
        inst = self.instruments[order.symbol]
        order.status = "new"
        order.updated_at = self.now()
        if order.type == "limit":
            self._rest(order)
            self._match(order.symbol, self.price(order.symbol))
            return order
        if order.side == "sell":
            self.locked[inst.base] = max(0.0, self.locked.get(inst.base, 0.0) - order.qty)
        buy = order.side == "buy"
        price = self.price(order.symbol) * (1 + self.slippage if buy else 1 - self.slippage)
        if (buy and self.free(inst.quote) < order.qty * price) or (
            not buy and self.free(inst.base) < order.qty
        ):
            order.status = "rejected"
            return order
        self._fill(order, round(price, 8), order.qty)
        return order

    def _reserved(self, order: ExchangeOrder) -> tuple[str, float]:
        """The asset and amount an open order keeps locked (as :meth:`cancel` releases it)."""
        inst = self.instruments[order.symbol]
        remaining = order.qty - order.filled_qty
        if order.side == "buy":
            return inst.quote, remaining * (order.price or 0.0)
        return inst.base, remaining

    def replace(
        self,
        order_id: str,
        *,
        qty: float | None = None,
        price: float | None = None,
        client_order_id: str | None = None,
        time_in_force: str | None = None,
        new_order_id: str | None = None,
        request_index: int | None = None,
    ) -> ExchangeOrder:
        """Replace an open order by a new one with another ``qty``, ``price`` or
        ``time_in_force``: the old one ends ``replaced``, the new one is returned. When the
        new one is refused (:class:`ExchangeReject`), the old one works on unchanged."""
        old = self.get(order_id)
        if not old.open:
            raise ExchangeReject("not_open", f"order {order_id} is {old.status}", 400)
        held = old.status == "accepted"
        asset, amount = self._reserved(old)
        self.locked[asset] = max(0.0, self.locked.get(asset, 0.0) - amount)
        self._unrest(old)
        try:
            new = self.place_order(
                old.symbol,
                old.side,
                old.type,
                qty if qty is not None else old.qty,
                price if price is not None else old.price,
                client_order_id,
                request_index=request_index,
                order_id=new_order_id,
                time_in_force=time_in_force or old.time_in_force,
                hold=held,
            )
        except ExchangeReject:
            self.locked[asset] = self.locked.get(asset, 0.0) + amount
            if not held and old.type == "limit":
                self._rest(old)
            raise
        old.status = "replaced"
        old.updated_at = self.now()
        return new

    def positions(self) -> dict[str, tuple[float, float]]:
        """Positions built from the fills: symbol -> (qty, average entry price); a
        negative qty is short. Balances held before any fill are not positions."""
        out: dict[str, tuple[float, float]] = {}
        for fill in self.fills:
            qty, avg = out.get(fill.symbol, (0.0, 0.0))
            signed = fill.qty if fill.side == "buy" else -fill.qty
            new = round(qty + signed, 12)
            if qty == 0 or (qty > 0) == (signed > 0):  # opening or adding
                avg = (abs(qty) * avg + abs(signed) * fill.price) / abs(new)
            elif new == 0:
                avg = 0.0
            elif (new > 0) != (qty > 0):  # flipped through zero
                avg = fill.price
            out[fill.symbol] = (new, avg)
        return {symbol: value for symbol, value in out.items() if value[0] != 0}

    def submit_order(
        self,
        symbol: str,
        side: str,
        type: str,
        qty: float | None,
        price: float | None = None,
        client_order_id: str | None = None,
        *,
        time_in_force: str = "gtc",
        post_only: bool = False,
        trigger: str | None = None,
        stop_price: float | None = None,
        quote_qty: float | None = None,
        request_index: int | None = None,
        order_id: str | None = None,
    ) -> ExchangeOrder:
        """:meth:`place_order` with the order options of real venues.

        ``time_in_force``: ``gtc``; ``ioc`` (what does not fill at once is canceled by the
        exchange: ``expired``); ``fok`` (fills entirely at once, or expires unfilled).
        ``post_only``: refused (``would_take``) when it would fill at once. ``trigger``
        (``stop_loss`` or ``take_profit``) with ``stop_price``: the order waits, its funds
        reserved, until the market crosses ``stop_price`` (a stop-loss sells at or below it
        and buys at or above it, a take-profit the other way round), then works as a market
        or limit order; refused (``would_trigger``) when the market is already there.
        ``quote_qty``: a market order for an amount of the quote asset; the quantity follows
        from the price, rounded down to the instrument's step.
        """
        inst = self.instrument(symbol)
        side, type, tif = str(side).lower(), str(type).lower(), str(time_in_force).lower()
        if tif not in ("gtc", "ioc", "fok"):
            raise ExchangeReject("bad_time_in_force", f"time_in_force={tif!r}", 400)
        market = self.price(inst.symbol)
        if quote_qty is not None:
            if type != "market" or not (math.isfinite(quote_qty) and quote_qty > 0):
                raise ExchangeReject("bad_quote_qty", f"quote_qty={quote_qty!r}", 400)
            fill = market * (1 + self.slippage if side == "buy" else 1 - self.slippage)
            qty = round(math.floor(quote_qty / fill / inst.step + 1e-9) * inst.step, 12)
        if trigger is not None:
            if trigger not in ("stop_loss", "take_profit"):
                raise ExchangeReject("bad_trigger", f"trigger={trigger!r}", 400)
            if stop_price is None or not (math.isfinite(stop_price) and stop_price > 0):
                raise ExchangeReject("bad_stop_price", f"stop_price={stop_price!r}", 400)
            if _triggered(trigger, side, stop_price, market):
                raise ExchangeReject("would_trigger", "the stop price would trigger at once", 400)
        crosses = (
            type == "limit"
            and isinstance(price, (int, float))
            and (price >= market if side == "buy" else price <= market)
        )
        if post_only and crosses:
            raise ExchangeReject("would_take", "a post-only order would fill at once", 400)
        unfillable = tif == "fok" and type == "limit" and (not crosses or self.partial_fills)
        self._taking += 1
        try:
            order = self.place_order(
                inst.symbol,
                side,
                type,
                qty,  # type: ignore[arg-type]  # place_order validates it
                price,
                client_order_id,
                request_index=request_index,
                order_id=order_id,
                time_in_force=tif,
                hold=trigger is not None or unfillable,
            )
        finally:
            self._taking -= 1
        order.post_only, order.quote_qty = post_only, quote_qty
        if trigger is not None:
            order.status, order.trigger, order.stop_price = "new", trigger, stop_price
            self._stops.setdefault(inst.symbol, []).append(order)
        elif tif in ("ioc", "fok") and order.open:
            self.cancel(order.order_id)
            order.expired = True
        return order

    def _trigger_stops(self, symbol: str, price: float) -> None:
        """Start the waiting stop orders of ``symbol`` that ``price`` crossed."""
        waiting = self._stops.get(symbol)
        if not waiting:
            return
        self._stops[symbol] = []
        for order in waiting:
            if order.status != "new" or order.triggered_at is not None:
                continue  # canceled meanwhile
            if not _triggered(order.trigger or "", order.side, order.stop_price or 0.0, price):
                self._stops[symbol].append(order)
                continue
            order.triggered_at = self.now()
            order.status = "accepted"
            self._taking += 1
            try:
                self.release(order.order_id)
            finally:
                self._taking -= 1

    def set_price(self, symbol: str, price: float) -> None:
        """Move the market of ``symbol`` to ``price`` at once, as a step would: stop orders it
        crosses trigger, resting limit orders it crosses fill."""
        inst = self.instrument(symbol)
        if not (math.isfinite(price) and price > 0):
            raise ExchangeReject("bad_price", f"price={price!r} must be > 0", 400)
        self.markets[inst.symbol].price = float(price)
        self._update_bars(inst.symbol, float(price))
        self._trigger_stops(inst.symbol, float(price))
        self._match(inst.symbol, float(price))

    def cancel_all(self, symbol: str) -> list[ExchangeOrder]:
        """Cancel every open order of ``symbol`` (waiting stop orders too), oldest first."""
        return [self.cancel(order.order_id) for order in self.open_orders(symbol)]

    def get(self, order_id: str) -> ExchangeOrder:
        if order_id not in self.orders:
            raise ExchangeReject("unknown_order", f"no order {order_id!r}", 404)
        return self.orders[order_id]

    def by_client_id(self, client_order_id: str) -> ExchangeOrder | None:
        order_id = self._by_client_id.get(client_order_id)
        return self.orders[order_id] if order_id is not None else None

    def open_orders(self, symbol: str | None = None) -> list[ExchangeOrder]:
        return [
            o for o in self.orders.values() if o.open and (symbol is None or o.symbol == symbol)
        ]

    def free(self, asset: str) -> float:
        return self.balances.get(asset, 0.0) - self.locked.get(asset, 0.0)


def _triggered(trigger: str, side: str, stop_price: float, price: float) -> bool:
    """Whether the market at ``price`` has reached a stop order's ``stop_price``: a stop-loss
    sells at or below it and buys at or above it; a take-profit the other way round."""
    rising = (trigger == "stop_loss") == (side == "buy")
    return price >= stop_price if rising else price <= stop_price
