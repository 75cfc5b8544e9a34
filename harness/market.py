"""A seeded market-data source: realistic random walks to serve from mock routes.

``MarketData(seed).ohlcv(rows=500)`` gives candles from a geometric random walk with
realistic wicks and volume; ``book()``, ``ticker()`` and ``trades()`` derive from the
same walk. The same seed gives the same data, so a failing test replays exactly. The
``market_data`` pytest fixture is one of these, seeded from the test's seed.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd

__all__ = ["MarketData"]

_START = datetime(2024, 1, 1, tzinfo=UTC)


class MarketData:
    """Seeded factory of market data (prices, candles, books, trades) for one symbol."""

    def __init__(
        self,
        seed: int = 0,
        *,
        symbol: str = "BTCUSDT",
        start_price: float = 64_000.0,
        volatility: float = 0.002,
        tick: float = 0.01,
    ) -> None:
        if start_price <= 0 or volatility < 0 or tick <= 0:
            raise ValueError(
                f"MarketData: start_price={start_price} must be > 0, volatility={volatility} "
                f">= 0, tick={tick} > 0"
            )
        self.seed = seed
        self.symbol = symbol
        self.start_price = start_price
        self.volatility = volatility
        self.tick = tick
        self._rng = random.Random(seed)
        self.price = start_price

    def _round(self, value: float) -> float:
        return round(round(value / self.tick) * self.tick, 10)

    def step(self) -> float:
        """Advance the walk by one step and return the new price."""
        self.price = max(self.tick, self.price * math.exp(self._rng.gauss(0.0, self.volatility)))
        return self._round(self.price)

    def ohlcv(
        self,
        rows: int = 500,
        *,
        start: datetime = _START,
        interval: timedelta = timedelta(minutes=1),
        steps_per_bar: int = 8,
    ) -> pd.DataFrame:
        """Candles satisfying :class:`harness.schemas.OHLCV` (low <= open, close <= high)."""
        data = []
        for i in range(rows):
            open_ = self._round(self.price)
            path = [open_] + [self.step() for _ in range(steps_per_bar)]
            close = path[-1]
            wick = abs(self._rng.gauss(0, self.volatility / 2)) * open_
            high = self._round(max(path) + wick)
            low = max(
                self.tick,
                self._round(min(path) - abs(self._rng.gauss(0, self.volatility / 2)) * open_),
            )
            volume = round(self._rng.lognormvariate(1.0, 0.8), 6)
            data.append((start + i * interval, open_, high, low, close, volume))
        frame = pd.DataFrame(data, columns=["ts", "open", "high", "low", "close", "volume"])
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
        return frame

    def ohlcv_payload(
        self,
        rows: int = 500,
        *,
        layout: Literal["rows", "objects"] = "rows",
        start: datetime = _START,
        interval: timedelta = timedelta(minutes=1),
    ) -> list[Any]:
        """Candles as an exchange sends them (Binance kline rows, or objects with ms times)."""
        frame = self.ohlcv(rows, start=start, interval=interval)
        step_ms = int(interval.total_seconds() * 1000)
        out: list[Any] = []
        for r in frame.itertuples(index=False):
            ms = int(r.ts.timestamp() * 1000)
            if layout == "rows":
                out.append(
                    [
                        ms,
                        f"{r.open:.2f}",
                        f"{r.high:.2f}",
                        f"{r.low:.2f}",
                        f"{r.close:.2f}",
                        f"{r.volume:.6f}",
                        ms + step_ms - 1,
                        f"{r.volume * r.close:.2f}",
                        1 + int(r.volume * 10),
                        f"{r.volume / 2:.6f}",
                        f"{r.volume * r.close / 2:.2f}",
                        "0",
                    ]
                )
            else:
                out.append(
                    {
                        "ts": ms,
                        "open": r.open,
                        "high": r.high,
                        "low": r.low,
                        "close": r.close,
                        "volume": r.volume,
                    }
                )
        return out

    def book(self, depth: int = 10, *, spread_ticks: int = 2) -> dict[str, list[list[float]]]:
        """An order book around the current price: ``{"bids": [[price, qty]...], "asks": ...}``."""
        half = max(1, spread_ticks) * self.tick / 2
        bid, ask = self._round(self.price - half), self._round(self.price + half)
        if ask <= bid:
            ask = self._round(bid + self.tick)
        bids, asks = [], []
        for _ in range(depth):
            if bid <= 0:
                break
            bids.append([bid, round(self._rng.lognormvariate(0, 1), 6)])
            asks.append([ask, round(self._rng.lognormvariate(0, 1), 6)])
            bid = self._round(bid - self.tick * (1 + self._rng.randrange(3)))
            ask = self._round(ask + self.tick * (1 + self._rng.randrange(3)))
        return {"bids": bids, "asks": asks}

    def ticker(self) -> dict[str, Any]:
        """The last price after one more step."""
        return {"symbol": self.symbol, "price": self.step()}

    def trades(self, n: int = 100, *, start: datetime = _START) -> pd.DataFrame:
        """Public trades along the walk."""
        rows = []
        t = start
        for i in range(n):
            t += timedelta(milliseconds=self._rng.randrange(1, 2000))
            rows.append(
                {
                    "ts": t,
                    "trade_id": str(i + 1),
                    "price": self.step(),
                    "qty": round(self._rng.lognormvariate(-2, 1), 6),
                    "side": "buy" if self._rng.random() < 0.5 else "sell",
                }
            )
        frame = pd.DataFrame(rows)
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
        return frame
