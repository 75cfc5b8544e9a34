"""Market-data contracts (pandera, pandas backend) and ``validate_edge`` to apply them.

Validate data where it enters the client: ``validate_edge(payload, OHLCV, source=...)``
takes what the exchange sent (a DataFrame, a list of dicts, or a list of kline rows),
coerces it, checks every rule at once, and returns the validated frame, or raises one
:class:`~harness.errors.MarketDataError` listing every failed check with its rows.

Extend a model by subclassing it::

    class MyOHLCV(OHLCV):
        @pa.check("volume", name="volume_below_cap")
        def volume_below_cap(cls, volume: Series[float]) -> Series[bool]:
            return volume < 1e9
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors
from pandera.typing import Series

from harness.errors import CheckFailure, MarketDataError, messages

__all__ = [
    "KLINE_COLUMNS",
    "OHLCV",
    "Fill",
    "Order",
    "OrderBook",
    "Quote",
    "Trade",
    "validate_edge",
    "validated",
]

Timestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]

KLINE_COLUMNS: tuple[str | None, ...] = ("ts", "open", "high", "low", "close", "volume")
"""Column map for kline rows ``[open_time, open, high, low, close, volume, ...]`` (the
layout of Binance and most exchanges): millisecond open times, string numbers; columns
beyond the sixth are dropped."""


def _finite(series: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(series.to_numpy(dtype=float, na_value=np.nan)), index=series.index)


def _strictly_increasing(series: pd.Series) -> pd.Series:
    """True where a value is greater than the one before it (the first row is True)."""
    ok = series.diff() > pd.Timedelta(0) if _is_time(series) else series.diff() > 0
    ok.iloc[:1] = True
    return ok


def _is_time(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series.dtype)


class _Base(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = False  # exchanges add fields; a contract checks the ones it names


class OHLCV(_Base):
    """Candles: ``ts`` strictly increasing and unique; prices finite and > 0; volume >= 0."""

    ts: Series[Timestamp] = pa.Field(unique=True)  # type: ignore[type-var]
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    volume: Series[float] = pa.Field(ge=0)

    @pa.check("open", "high", "low", "close", "volume", name="finite")
    def _finite(cls, series: Series[float]) -> Series[bool]:
        return _finite(series)  # type: ignore[return-value]

    @pa.check("ts", name="strictly_increasing")
    def _ts_increasing(cls, series: Series[Any]) -> Series[bool]:
        return _strictly_increasing(series)  # type: ignore[return-value]

    @pa.dataframe_check(name="high >= max(open, close)")
    def _high_bounds(cls, df: pd.DataFrame) -> Series[bool]:
        return df["high"] >= df[["open", "close"]].max(axis=1)  # type: ignore[return-value]

    @pa.dataframe_check(name="low <= min(open, close)")
    def _low_bounds(cls, df: pd.DataFrame) -> Series[bool]:
        return df["low"] <= df[["open", "close"]].min(axis=1)  # type: ignore[return-value]

    @pa.dataframe_check(name="high >= low")
    def _high_low(cls, df: pd.DataFrame) -> Series[bool]:
        return df["high"] >= df["low"]  # type: ignore[return-value]


class Trade(_Base):
    """Public trades."""

    ts: Series[Timestamp]  # type: ignore[type-var]
    trade_id: Series[str] = pa.Field(unique=True)
    price: Series[float] = pa.Field(gt=0)
    qty: Series[float] = pa.Field(gt=0)
    side: Series[str] = pa.Field(isin=["buy", "sell"])

    @pa.check("price", "qty", name="finite")
    def _finite(cls, series: Series[float]) -> Series[bool]:
        return _finite(series)  # type: ignore[return-value]


class Quote(_Base):
    """Best bid and offer."""

    ts: Series[Timestamp]  # type: ignore[type-var]
    bid: Series[float] = pa.Field(gt=0)
    ask: Series[float] = pa.Field(gt=0)
    bid_size: Series[float] = pa.Field(ge=0)
    ask_size: Series[float] = pa.Field(ge=0)

    @pa.check("bid", "ask", "bid_size", "ask_size", name="finite")
    def _finite(cls, series: Series[float]) -> Series[bool]:
        return _finite(series)  # type: ignore[return-value]

    @pa.dataframe_check(name="bid <= ask")
    def _not_crossed(cls, df: pd.DataFrame) -> Series[bool]:
        return df["bid"] <= df["ask"]  # type: ignore[return-value]


class OrderBook(_Base):
    """One row per level, in the order sent: bids best (highest) first, asks best (lowest) first."""

    side: Series[str] = pa.Field(isin=["bid", "ask"])
    price: Series[float] = pa.Field(gt=0)
    qty: Series[float] = pa.Field(gt=0)

    @pa.check("price", "qty", name="finite")
    def _finite(cls, series: Series[float]) -> Series[bool]:
        return _finite(series)  # type: ignore[return-value]

    @pa.dataframe_check(name="bids strictly descending")
    def _bids_descending(cls, df: pd.DataFrame) -> Series[bool]:
        ok = pd.Series(True, index=df.index)
        bids = df["price"][df["side"] == "bid"]
        ok[bids.index] = (-bids).pipe(_strictly_increasing)
        return ok  # type: ignore[return-value]

    @pa.dataframe_check(name="asks strictly ascending")
    def _asks_ascending(cls, df: pd.DataFrame) -> Series[bool]:
        ok = pd.Series(True, index=df.index)
        asks = df["price"][df["side"] == "ask"]
        ok[asks.index] = _strictly_increasing(asks)
        return ok  # type: ignore[return-value]

    @pa.dataframe_check(name="best bid < best ask")
    def _not_crossed(cls, df: pd.DataFrame) -> Series[bool]:
        bids = df["price"][df["side"] == "bid"]
        asks = df["price"][df["side"] == "ask"]
        ok = pd.Series(True, index=df.index)
        if len(bids) and len(asks) and not bids.max() < asks.min():
            ok[bids.idxmax()] = False
            ok[asks.idxmin()] = False
        return ok  # type: ignore[return-value]


class Order(_Base):
    """Orders as the exchange reports them."""

    order_id: Series[str]
    client_order_id: Series[str] = pa.Field(unique=True)
    side: Series[str] = pa.Field(isin=["buy", "sell"])
    type: Series[str] = pa.Field(isin=["market", "limit"])
    status: Series[str] = pa.Field(
        isin=["new", "partially_filled", "filled", "canceled", "rejected"]
    )
    qty: Series[float] = pa.Field(gt=0)
    filled_qty: Series[float] = pa.Field(ge=0)
    price: Series[float] = pa.Field(nullable=True)

    @pa.dataframe_check(name="filled_qty <= qty")
    def _filled_within_qty(cls, df: pd.DataFrame) -> Series[bool]:
        return df["filled_qty"] <= df["qty"]  # type: ignore[return-value]

    @pa.dataframe_check(name="price > 0 for limit orders")
    def _limit_price(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["type"] != "limit") | (df["price"] > 0)  # type: ignore[return-value]


class Fill(_Base):
    """Executions of orders."""

    order_id: Series[str]
    price: Series[float] = pa.Field(gt=0)
    qty: Series[float] = pa.Field(gt=0)
    fee: Series[float] = pa.Field(ge=0)
    ts: Series[Timestamp]  # type: ignore[type-var]


# -- validate_edge --------------------------------------------------------------------------

Schema = type[pa.DataFrameModel]
Columns = Sequence[str | None] | Mapping[Any, str]
_MAX_VALUES = 10


def _time_columns(schema: Schema) -> list[str]:
    return [
        name
        for name, column in schema.to_schema().columns.items()
        if "datetime" in str(column.dtype).lower()
    ]


def _to_time(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Epoch seconds, ms or µs (by magnitude), or ISO strings, to UTC; and where it failed."""
    if _is_time(series):
        converted = series if series.dt.tz is not None else series.dt.tz_localize("UTC")
        return converted, pd.Series(False, index=series.index)
    numbers = pd.to_numeric(series, errors="coerce")
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[us, UTC]")
    for unit, low, high in (("s", 0, 1e11), ("ms", 1e11, 1e14), ("us", 1e14, 1e17)):
        mask = numbers.notna() & numbers.abs().between(low, high, inclusive="left")
        if mask.any():
            out[mask] = pd.to_datetime(numbers[mask], unit=unit, utc=True).astype(out.dtype)
    text = series.notna() & numbers.isna()
    if text.any():
        parsed = pd.to_datetime(
            series[text].astype(str), utc=True, errors="coerce", format="ISO8601"
        )
        out[text] = parsed.astype(out.dtype)
    failed = series.notna() & out.isna()
    return out, failed


def _unwrap(payload: Any, wrapper: str | None) -> Any:
    """The list under ``wrapper`` (a key, or ``a.b`` for a nested one)."""
    if wrapper is None:
        return payload
    for key in wrapper.split("."):
        if not isinstance(payload, Mapping) or key not in payload:
            found = sorted(payload) if isinstance(payload, Mapping) else type(payload).__name__
            raise KeyError(f"no {key!r} in the payload (has {found})")
        payload = payload[key]
    return payload


def _frame(
    payload: Any, columns: Columns | None, schema: Schema, wrapper: str | None = None
) -> pd.DataFrame:
    if isinstance(payload, pd.DataFrame):
        frame = payload.copy()
        return frame.rename(columns=dict(columns)) if isinstance(columns, Mapping) else frame
    if isinstance(payload, (bytes, bytearray, str)):
        payload = json.loads(payload)
    payload = _unwrap(payload, wrapper)
    if isinstance(payload, Mapping):
        raise TypeError(
            messages.wrapped_payload([k for k, v in payload.items() if isinstance(v, list)])
        )
    if not isinstance(payload, list):
        raise TypeError(
            "expected a DataFrame, a list of objects or a list of rows, "
            f"got {type(payload).__name__}"
        )
    if not payload:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in schema.to_schema().columns})
    if all(isinstance(row, Mapping) for row in payload):
        frame = pd.DataFrame.from_records(payload)
        return frame.rename(columns=dict(columns)) if isinstance(columns, Mapping) else frame
    if all(isinstance(row, (list, tuple)) for row in payload):
        if columns is None:
            if schema is not OHLCV and not issubclass(schema, OHLCV):
                raise TypeError(f"rows need a column map (columns=...) for {schema.__name__}")
            columns = KLINE_COLUMNS
        positions = (
            {int(k): v for k, v in columns.items()}
            if isinstance(columns, Mapping)
            else {i: name for i, name in enumerate(columns) if name is not None}
        )
        data = {
            name: [row[i] if i < len(row) else None for row in payload]
            for i, name in positions.items()
        }
        return pd.DataFrame(data)
    raise TypeError("rows mix objects and arrays")


def _failures(exc: SchemaErrors) -> list[CheckFailure]:
    """One entry per failed check: rows and values (the first ten), readable in a report.

    Follow-on noise is dropped: checks that could not run because a column was missing or
    could not be coerced (pandera reports them with no row), and the dtype check of a
    column whose coercion already failed.
    """
    cases = exc.failure_cases
    out: list[CheckFailure] = []
    missing = cases[cases["check"] == "column_in_dataframe"]
    if len(missing):
        names = [str(v) for v in pd.unique(missing["failure_case"])]
        out.append(CheckFailure("", "required columns present", [], names, len(names)))
    uncoerced = set(cases.loc[cases["check"].astype(str).str.startswith("coerce_dtype"), "column"])
    by_frame = cases[(cases["schema_context"] == "DataFrameSchema") & cases["index"].notna()]
    for check, group in by_frame.groupby("check", sort=False):
        rows = sorted(int(i) for i in pd.unique(group["index"]))
        named = [c for c in pd.unique(group["column"].dropna()) if c in str(check)]
        shown = named or list(pd.unique(group["column"].dropna()))
        values = []
        for row in rows[:_MAX_VALUES]:
            at_row = group[group["index"] == row].drop_duplicates("column").set_index("column")
            values.append(
                ", ".join(
                    f"{c}={_short(at_row.at[c, 'failure_case'])}"
                    for c in shown
                    if c in at_row.index
                )
            )
        out.append(CheckFailure("", str(check), rows, values, len(rows)))
    by_column = cases[
        (cases["schema_context"] != "DataFrameSchema") & (cases["check"] != "column_in_dataframe")
    ]
    for (column, check), group in by_column.groupby(["column", "check"], sort=False, dropna=False):
        check = str(check)
        if group["index"].isna().all():
            continue  # the check could not run (its column failed to coerce)
        if check.startswith("dtype(") and column in uncoerced:
            continue
        group = group.sort_values("index", kind="stable")
        rows = [int(i) for i in pd.unique(group["index"].dropna())]
        values = [_short(v) for v in group["failure_case"].tolist()[:_MAX_VALUES]]
        out.append(CheckFailure(str(column), check, rows, values, len(group)))
    return out


def _short(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_edge(
    payload: Any,
    schema: Schema,
    *,
    source: str | None = None,
    columns: Columns | None = None,
    wrapper: str | None = None,
    profile: Any = None,
    role: str | None = None,
) -> pd.DataFrame:
    """Validate market data where it enters the client; return the coerced DataFrame.

    ``payload``: a DataFrame, a list of dicts, a list of rows (with ``columns``, a list of
    names by position or ``{position: name}``; OHLCV rows default to :data:`KLINE_COLUMNS`),
    or the raw JSON body. ``columns`` given as a dict renames the keys of dicts (the API's
    name -> the contract's: ``{"t": "ts", "o": "open"}``); ``wrapper`` names the key the
    rows are under (``{"candles": [...]}``). ``profile`` and ``role``: take both from an
    API profile that declares them (a custom profile's ``response`` of that role).
    Raises :class:`MarketDataError` naming ``source`` and listing every failed check.
    """
    name = schema.__name__
    edge = profile.edge_options(role) if role and hasattr(profile, "edge_options") else {}
    wrapper = wrapper if wrapper is not None else edge.get("wrapper")
    columns = columns if columns is not None else edge.get("columns")
    try:
        frame = _frame(payload, columns, schema, wrapper)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise MarketDataError.unreadable(source, name, str(exc)) from None
    frame.columns = [str(c) for c in frame.columns]
    pre_failures: list[CheckFailure] = []
    for column in _time_columns(schema):
        if column in frame.columns:
            try:
                converted, failed = _to_time(frame[column])
            except (TypeError, ValueError, OverflowError) as exc:
                raise MarketDataError.unreadable(source, name, f"{column}: {exc}") from None
            if failed.any():
                rows = [int(i) for i in frame.index[failed]]
                values = [_short(v) for v in frame[column][failed].tolist()[:_MAX_VALUES]]
                pre_failures.append(CheckFailure(column, "timestamp", rows, values, len(rows)))
            frame[column] = converted
    try:
        validated_frame = schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        failures = pre_failures + _failures(exc)
        raise MarketDataError(source, name, len(frame), failures) from None
    except (SchemaError, TypeError, ValueError) as exc:
        raise MarketDataError.unreadable(source, name, str(exc)) from None
    if pre_failures:
        raise MarketDataError(source, name, len(frame), pre_failures)
    return validated_frame  # type: ignore[no-any-return]


F = TypeVar("F", bound=Callable[..., Any])


def validated(
    schema: Schema,
    *,
    source: str | None = None,
    columns: Columns | None = None,
    wrapper: str | None = None,
) -> Callable[[F], F]:
    """Decorate a sync or async function returning market data: its result goes through
    :func:`validate_edge`, and the caller gets the validated DataFrame."""

    def decorate(fn: F) -> F:
        options = {"source": source or fn.__qualname__, "columns": columns, "wrapper": wrapper}
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapped(*args: Any, **kwargs: Any) -> pd.DataFrame:
                return validate_edge(await fn(*args, **kwargs), schema, **options)

            return async_wrapped  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> pd.DataFrame:
            return validate_edge(fn(*args, **kwargs), schema, **options)

        return wrapped  # type: ignore[return-value]

    return decorate
