"""Hypothesis strategies for market data: valid data, and corrupted data.

(Named ``gen`` so it is never confused with the trading clients in ``strategies/``.)

Every strategy builds its data constructively, so each example satisfies its schema in
:mod:`harness.schemas` without filtering, and shrinks toward few rows and round prices.
``corrupted(strategy, kinds=...)`` applies the same corruption functions as the chaos
``corrupt`` fault and records which one it applied.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pandas as pd
from hypothesis import strategies as st

from harness import corruptions

__all__ = [
    "CorruptedPayload",
    "corrupted",
    "fills",
    "ohlcv_frames",
    "ohlcv_payloads",
    "order_books",
    "orders",
    "quotes",
    "trades",
]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

# Prices as integer ticks, so shrinking goes to short, readable numbers.
_TICKS = 100  # 0.01


def _price(ticks: int) -> float:
    return ticks / _TICKS


@st.composite
def _ohlcv_rows(
    draw: st.DrawFn, min_rows: int, max_rows: int, start: datetime, interval: timedelta
) -> list[dict[str, Any]]:
    n = draw(st.integers(min_rows, max_rows))
    close = draw(st.integers(1, 10_000_000))  # 0.01 .. 100,000.00
    rows = []
    for i in range(n):
        open_ = close
        change = draw(st.integers(-500, 500))  # +-5% in basis points
        close = max(1, open_ + open_ * change // 10_000)
        high = max(open_, close) + draw(st.integers(0, max(open_, close) // 50))
        low = max(1, min(open_, close) - draw(st.integers(0, min(open_, close) // 50)))
        rows.append(
            {
                "ts": start + i * interval,
                "open": _price(open_),
                "high": _price(high),
                "low": _price(low),
                "close": _price(close),
                "volume": draw(st.integers(0, 10_000_000)) / 1000,
            }
        )
    return rows


def ohlcv_frames(
    min_rows: int = 1,
    max_rows: int = 50,
    start: datetime = EPOCH,
    interval: timedelta = timedelta(minutes=1),
) -> st.SearchStrategy[pd.DataFrame]:
    """Valid OHLCV frames: a random walk of candles, one every ``interval`` from ``start``."""
    if not 0 <= min_rows <= max_rows:
        raise ValueError(f"ohlcv_frames: need 0 <= min_rows={min_rows} <= max_rows={max_rows}")
    return _ohlcv_rows(min_rows, max_rows, start, interval).map(_ohlcv_frame)


def _ohlcv_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ts", "open", "high", "low", "close", "volume"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
    return frame


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def _num(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"


def ohlcv_payloads(
    layout: Literal["rows", "objects"] = "rows",
    min_rows: int = 1,
    max_rows: int = 50,
    start: datetime = EPOCH,
    interval: timedelta = timedelta(minutes=1),
) -> st.SearchStrategy[list[Any]]:
    """The same candles as an exchange sends them.

    ``rows``: Binance's kline arrays ``[open_time, "open", "high", "low", "close", "volume",
    close_time, "quote_volume", trades, "taker_base", "taker_quote", "0"]`` (ms times,
    string numbers). ``objects``: ``{"ts": ms, "open": float, ...}`` dicts.
    """
    if layout not in ("rows", "objects"):
        raise ValueError(f"ohlcv_payloads: layout={layout!r} must be 'rows' or 'objects'")
    step_ms = int(interval.total_seconds() * 1000)

    def to_rows(rows: list[dict[str, Any]]) -> list[Any]:
        return [
            [
                _ms(r["ts"]),
                _num(r["open"]),
                _num(r["high"]),
                _num(r["low"]),
                _num(r["close"]),
                _num(r["volume"]),
                _ms(r["ts"]) + step_ms - 1,
                _num(r["volume"] * r["close"]),
                int(r["volume"]) + 1,
                _num(r["volume"] / 2),
                _num(r["volume"] * r["close"] / 2),
                "0",
            ]
            for r in rows
        ]

    def to_objects(rows: list[dict[str, Any]]) -> list[Any]:
        return [{**r, "ts": _ms(r["ts"])} for r in rows]

    return _ohlcv_rows(min_rows, max_rows, start, interval).map(
        to_rows if layout == "rows" else to_objects
    )


@st.composite
def _trade_rows(draw: st.DrawFn, min_rows: int, max_rows: int) -> list[dict[str, Any]]:
    n = draw(st.integers(min_rows, max_rows))
    price = draw(st.integers(1, 10_000_000))
    first_id = draw(st.integers(1, 10**9))
    rows = []
    for i in range(n):
        price = max(1, price + draw(st.integers(-price // 100, price // 100)))
        rows.append(
            {
                "ts": EPOCH + timedelta(milliseconds=i * draw(st.integers(0, 5000))),
                "trade_id": str(first_id + i),
                "price": _price(price),
                "qty": draw(st.integers(1, 10**7)) / 10**4,
                "side": draw(st.sampled_from(["buy", "sell"])),
            }
        )
    return rows


def trades(min_rows: int = 1, max_rows: int = 50) -> st.SearchStrategy[pd.DataFrame]:
    """Valid public trades (unique ids, positive prices and sizes)."""
    return _trade_rows(min_rows, max_rows).map(_frame_with_ts)


def _frame_with_ts(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if "ts" in frame:
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
    return frame


@st.composite
def _quote_rows(draw: st.DrawFn, min_rows: int, max_rows: int) -> list[dict[str, Any]]:
    n = draw(st.integers(min_rows, max_rows))
    rows = []
    for i in range(n):
        bid = draw(st.integers(1, 10_000_000))
        spread = draw(st.integers(0, max(1, bid // 100)))
        rows.append(
            {
                "ts": EPOCH + timedelta(milliseconds=100 * i),
                "bid": _price(bid),
                "ask": _price(bid + spread),
                "bid_size": draw(st.integers(0, 10**6)) / 100,
                "ask_size": draw(st.integers(0, 10**6)) / 100,
            }
        )
    return rows


def quotes(min_rows: int = 1, max_rows: int = 50) -> st.SearchStrategy[pd.DataFrame]:
    """Valid top-of-book quotes (bid <= ask)."""
    return _quote_rows(min_rows, max_rows).map(_frame_with_ts)


@st.composite
def _book_rows(draw: st.DrawFn, depth: int) -> list[dict[str, Any]]:
    mid = draw(st.integers(1_000, 10_000_000))
    half_spread = draw(st.integers(1, max(1, mid // 1000)))
    bids, asks = [], []
    price = mid - half_spread
    for _ in range(depth):
        bids.append(
            {"side": "bid", "price": _price(price), "qty": draw(st.integers(1, 10**6)) / 100}
        )
        price -= draw(st.integers(1, 100))
        if price < 1:
            break
    price = mid + half_spread
    for _ in range(depth):
        asks.append(
            {"side": "ask", "price": _price(price), "qty": draw(st.integers(1, 10**6)) / 100}
        )
        price += draw(st.integers(1, 100))
    return bids + asks


def order_books(depth: int = 10) -> st.SearchStrategy[pd.DataFrame]:
    """Valid order books: ``depth`` levels a side, bids descending, asks ascending, not crossed."""
    if depth < 1:
        raise ValueError(f"order_books: depth={depth} must be >= 1")
    return _book_rows(depth).map(pd.DataFrame)


@st.composite
def _order_rows(draw: st.DrawFn, min_rows: int, max_rows: int) -> list[dict[str, Any]]:
    n = draw(st.integers(min_rows, max_rows))
    rows = []
    for i in range(n):
        kind = draw(st.sampled_from(["market", "limit"]))
        qty = draw(st.integers(1, 10**6))
        status = draw(
            st.sampled_from(["new", "partially_filled", "filled", "canceled", "rejected"])
        )
        filled = {"new": 0, "filled": qty, "rejected": 0}.get(status, draw(st.integers(0, qty)))
        rows.append(
            {
                "order_id": f"o-{i}",
                "client_order_id": f"c-{i}",
                "side": draw(st.sampled_from(["buy", "sell"])),
                "type": kind,
                "status": status,
                "qty": qty / 1000,
                "filled_qty": filled / 1000,
                "price": _price(draw(st.integers(1, 10_000_000))) if kind == "limit" else None,
            }
        )
    return rows


def orders(min_rows: int = 1, max_rows: int = 30) -> st.SearchStrategy[pd.DataFrame]:
    """Valid orders (unique client order ids, filled within quantity, limit prices > 0)."""
    return _order_rows(min_rows, max_rows).map(
        lambda rows: pd.DataFrame(rows).astype({"price": "float64"})
    )


@st.composite
def _fill_rows(draw: st.DrawFn, min_rows: int, max_rows: int) -> list[dict[str, Any]]:
    n = draw(st.integers(min_rows, max_rows))
    return [
        {
            "order_id": f"o-{draw(st.integers(0, 5))}",
            "price": _price(draw(st.integers(1, 10_000_000))),
            "qty": draw(st.integers(1, 10**6)) / 1000,
            "fee": draw(st.integers(0, 10**4)) / 10**4,
            "ts": EPOCH + timedelta(seconds=i),
        }
        for i in range(n)
    ]


def fills(min_rows: int = 1, max_rows: int = 30) -> st.SearchStrategy[pd.DataFrame]:
    """Valid fills."""
    return _fill_rows(min_rows, max_rows).map(_frame_with_ts)


# -- corrupted data -----------------------------------------------------------------------


@dataclass
class CorruptedPayload:
    """A corrupted payload and what was done to it."""

    kind: str
    body: bytes
    """The JSON body as an exchange would send it (for body-level kinds, not JSON at all)."""
    original: Any
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def payload(self) -> Any:
        """The corrupted JSON value (raises ValueError for body-level kinds)."""
        return json.loads(self.body)


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        frame = value.copy()
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("int64") // 1000  # µs -> ms
        return json.loads(frame.to_json(orient="records"))
    return value


def corrupted(
    strategy: st.SearchStrategy[Any], kinds: list[str] | tuple[str, ...] | None = None
) -> st.SearchStrategy[CorruptedPayload]:
    """Examples of ``strategy`` (JSON payloads, or frames turned into records) corrupted by
    one of ``kinds`` (default: every kind), with the same functions as the ``corrupt`` fault.
    Examples a kind cannot act on (shuffling one row) are not generated."""
    chosen = tuple(kinds) if kinds is not None else corruptions.KINDS
    unknown = [k for k in chosen if k not in corruptions.KINDS]
    if unknown or not chosen:
        raise ValueError(
            f"corrupted: unknown kinds {unknown}; known: {', '.join(corruptions.KINDS)}"
        )

    @st.composite
    def build(draw: st.DrawFn) -> CorruptedPayload:
        original = _jsonable(draw(strategy))
        body = json.dumps(original, separators=(",", ":")).encode()
        kind = draw(st.sampled_from(chosen))
        rng = random.Random(draw(st.integers(0, 2**32 - 1)))
        try:
            result = corruptions.corrupt_body(kind, body, rng)
        except corruptions.NotApplicable:
            from hypothesis import assume

            assume(False)
            raise  # pragma: no cover
        return CorruptedPayload(kind, result.body, original, result.detail)

    return build()
