"""The stateful fake exchange: instruments, balances, orders, fills, and a seeded market.

It knows trading semantics that generic mocks do not: an order whose acknowledgement was
lost still exists, a second order with the same client order id is refused, a limit order
fills when the price crosses it. Profiles (``generic``, ``binance-spot``) mount it on a
MockServer as routes; it does not know HTTP.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import ExchangeReject
from harness.market import MarketData

__all__ = ["ExchangeOrder", "FakeExchange", "Fill", "Instrument"]


@dataclass(frozen=True)
class Instrument:
    symbol: str
    base: str
    quote: str
    tick: float = 0.01
    step: float = 0.000001
    min_qty: float = 0.000001


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

    @property
    def open(self) -> bool:
        return self.status in ("new", "partially_filled")

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


@dataclass
class _Bars:
    interval_s: int
    bars: list[list[float]] = field(default_factory=list)  # [open_time_s, o, h, l, c, v]


_INTERVALS = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "4h": 14400,
    "1d": 86400,
}


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
        self._ids = itertools.count(1)
        self._by_client_id: dict[str, str] = {}
        self.book_update_id = 1000
        """The id of the last order-book update; streams number their diffs from it."""
        self._resting: dict[
            str, tuple[list[tuple[float, ExchangeOrder]], list[tuple[float, ExchangeOrder]]]
        ] = {}

    # -- clock and market ---------------------------------------------------------------
    @staticmethod
    def now(offset_s: float = 0.0) -> float:
        return time.time() + offset_s

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
        if interval not in _INTERVALS:
            raise ExchangeReject(
                "bad_interval",
                f"unknown interval {interval!r}; use one of {', '.join(_INTERVALS)}",
                400,
            )
        if not 1 <= limit <= 1000:
            raise ExchangeReject("bad_limit", f"limit={limit} must be 1..1000", 400)
        series = self._series(self.instrument(symbol).symbol, _INTERVALS[interval])
        self._roll(series, self.step(symbol))
        return [list(bar) for bar in series.bars[-limit:]]

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
    ) -> ExchangeOrder:
        """Create an order, or raise :class:`ExchangeReject` (duplicate client id, bad args)."""
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
            order_id=str(next(self._ids)),
            client_order_id=client_order_id,
            symbol=inst.symbol,
            side=side,
            type=type,
            qty=float(qty),
            price=float(price) if price is not None else None,
            created_at=now,
            updated_at=now,
            request_index=request_index,
        )
        self.orders[order.order_id] = order
        if client_order_id is not None:
            self._by_client_id[client_order_id] = order.order_id
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
        if order.side == "buy":
            self.balances[inst.quote] = self.balances.get(inst.quote, 0.0) - qty * price - fee
            self.balances[inst.base] = self.balances.get(inst.base, 0.0) + qty
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
        self.fills.append(
            Fill(order.order_id, order.symbol, order.side, price, qty, fee, order.updated_at)
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
