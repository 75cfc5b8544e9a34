"""Market-data contracts, validate_edge, and the generators (properties)."""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.typing import Series

from harness import corruptions, gen
from harness.errors import MarketDataError
from harness.market import MarketData
from harness.schemas import (
    KLINE_COLUMNS,
    OHLCV,
    Fill,
    Order,
    OrderBook,
    Quote,
    Trade,
    validate_edge,
    validated,
)

CI = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def kline(
    i: int, o: str = "100", h: str = "101", lo: str = "99", c: str = "100.5", v: str = "3"
) -> list[Any]:
    t = 1_700_000_000_000 + i * 60_000
    return [t, o, h, lo, c, v, t + 59_999, "300", 12, "1.5", "150", "0"]


class TestValidateEdge:
    def test_kline_rows_with_string_numbers_and_ms_times(self) -> None:
        frame = validate_edge([kline(0), kline(1)], OHLCV, source="GET /api/v3/klines")
        assert list(frame.columns) == ["ts", "open", "high", "low", "close", "volume"]
        assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
        assert frame["ts"].iloc[1] == pd.Timestamp("2023-11-14 22:14:20", tz="UTC")
        assert frame["close"].iloc[0] == 100.5

    def test_objects_with_a_rename_map(self) -> None:
        payload = [{"T": 1_700_000_000_000, "a": 7, "p": "10.5", "q": "2", "m": "buy"}]
        frame = validate_edge(
            payload,
            Trade,
            columns={"T": "ts", "a": "trade_id", "p": "price", "q": "qty", "m": "side"},
        )
        assert frame["trade_id"].iloc[0] == "7" and frame["price"].iloc[0] == 10.5

    def test_custom_column_map_for_rows(self) -> None:
        rows = [["bid", "100", "1"], ["ask", "101", "2"]]
        frame = validate_edge(rows, OrderBook, columns=["side", "price", "qty"])
        assert frame["price"].tolist() == [100.0, 101.0]
        assert len(validate_edge(rows, OrderBook, columns={0: "side", 1: "price", 2: "qty"})) == 2

    def test_every_failure_at_once_with_rows_and_values(self) -> None:
        rows = [kline(i) for i in range(5)]
        rows[2][2] = "98"  # high below open/close/low
        rows[3][1] = "-1"  # negative open
        rows[4][0] = rows[3][0]  # duplicate, not increasing
        with pytest.raises(MarketDataError) as info:
            validate_edge(rows, OHLCV, source="GET /api/v3/klines")
        err = info.value
        assert err.source == "GET /api/v3/klines" and err.schema == "OHLCV" and err.rows == 5
        checks = {f.check: f for f in err.failures}
        assert checks["high >= max(open, close)"].rows == [2]
        assert "high=98.0" in checks["high >= max(open, close)"].values[0]
        assert checks["greater_than(0)"].rows == [3] and checks["greater_than(0)"].column == "open"
        assert checks["field_uniqueness"].rows == [3, 4]
        assert checks["strictly_increasing"].rows == [4]
        text = str(err)
        assert "GET /api/v3/klines" in text and "rows 2" in text

    def test_values_are_capped_at_ten_per_check(self) -> None:
        rows = [kline(i, o="-1") for i in range(50)]
        with pytest.raises(MarketDataError) as info:
            validate_edge(rows, OHLCV)
        failure = next(f for f in info.value.failures if f.check == "greater_than(0)")
        assert len(failure.rows) == 50 and len(failure.values) == 10
        assert len(str(info.value)) < 5000

    def test_uncoercible_values_are_named_without_follow_on_noise(self) -> None:
        rows = [kline(0), kline(1, v="abc")]
        with pytest.raises(MarketDataError) as info:
            validate_edge(rows, OHLCV)
        (failure,) = info.value.failures
        assert failure.column == "volume" and failure.rows == [1] and failure.values == ["'abc'"]

    def test_bad_timestamps_and_missing_columns(self) -> None:
        with pytest.raises(MarketDataError) as info:
            validate_edge([{"ts": "yesterday", "open": 1, "high": 1, "low": 1, "close": 1}], OHLCV)
        text = str(info.value)
        assert "ts: timestamp" in text and "'yesterday'" in text and "volume" in text

    @pytest.mark.parametrize("junk", [{"a": 1}, "nope", 42, [1, 2], [[1], {"a": 1}], b"<html>"])
    def test_unreadable_payloads(self, junk: Any) -> None:
        with pytest.raises(MarketDataError):
            validate_edge(junk, OHLCV, source="junk")

    def test_rows_need_a_map_for_other_schemas(self) -> None:
        with pytest.raises(MarketDataError, match="column map"):
            validate_edge([["1", "2"]], Trade)

    def test_empty_payload_is_an_empty_frame(self) -> None:
        assert len(validate_edge([], OHLCV)) == 0

    def test_raw_json_body(self) -> None:
        assert len(validate_edge(json.dumps([kline(0)]).encode(), OHLCV)) == 1

    async def test_validated_decorator_sync_and_async(self) -> None:
        @validated(OHLCV, source="bars")
        def sync_bars() -> list[Any]:
            return [kline(0)]

        @validated(OHLCV, source="bars")
        async def async_bars() -> list[Any]:
            return [kline(0, o="-5")]

        assert len(sync_bars()) == 1
        with pytest.raises(MarketDataError, match="from bars"):
            await async_bars()


class TestSchemas:
    def test_order_book_rules(self) -> None:
        good = pd.DataFrame(
            {
                "side": ["bid", "bid", "ask", "ask"],
                "price": [100, 99, 101, 102],
                "qty": [1, 1, 1, 1],
            }
        )
        validate_edge(good, OrderBook)
        crossed = good.assign(price=[100, 99, 99.5, 102])
        with pytest.raises(MarketDataError, match="best bid < best ask"):
            validate_edge(crossed, OrderBook)
        unsorted = good.assign(price=[99, 100, 101, 102])
        with pytest.raises(MarketDataError, match="bids strictly descending"):
            validate_edge(unsorted, OrderBook)

    def test_quote_not_crossed(self) -> None:
        frame = pd.DataFrame(
            {
                "ts": [1_700_000_000_000],
                "bid": [2.0],
                "ask": [1.0],
                "bid_size": [1],
                "ask_size": [1],
            }
        )
        with pytest.raises(MarketDataError, match="bid <= ask"):
            validate_edge(frame, Quote)

    def test_order_rules(self) -> None:
        rows = [
            {
                "order_id": "1",
                "client_order_id": "a",
                "side": "buy",
                "type": "limit",
                "status": "new",
                "qty": 1,
                "filled_qty": 2,
                "price": None,
            },
            {
                "order_id": "2",
                "client_order_id": "a",
                "side": "buy",
                "type": "market",
                "status": "done",
                "qty": 1,
                "filled_qty": 0,
                "price": None,
            },
        ]
        with pytest.raises(MarketDataError) as info:
            validate_edge(rows, Order)
        checks = {f.check for f in info.value.failures}
        assert {"filled_qty <= qty", "price > 0 for limit orders", "field_uniqueness"} <= checks
        assert any(c.startswith("isin") for c in checks)

    def test_fill_rules(self) -> None:
        with pytest.raises(MarketDataError, match="fee"):
            validate_edge(
                [{"order_id": "1", "price": 1, "qty": 1, "fee": -1, "ts": 1_700_000_000}], Fill
            )

    def test_users_extend_by_subclassing(self) -> None:
        class CappedOHLCV(OHLCV):
            @pa.check("volume", name="volume below 1000")
            def _cap(cls, volume: Series[float]) -> Series[bool]:
                return volume < 1000  # type: ignore[return-value]

        validate_edge([kline(0)], CappedOHLCV)
        with pytest.raises(MarketDataError, match="volume below 1000"):
            validate_edge([kline(0, v="5000")], CappedOHLCV)


class TestMarketData:
    def test_same_seed_same_data(self) -> None:
        assert MarketData(5).ohlcv(50).equals(MarketData(5).ohlcv(50))
        assert not MarketData(5).ohlcv(50).equals(MarketData(6).ohlcv(50))

    def test_everything_it_makes_is_valid(self) -> None:
        data = MarketData(9)
        validate_edge(data.ohlcv(500), OHLCV)
        validate_edge(data.ohlcv_payload(200), OHLCV)
        validate_edge(data.ohlcv_payload(200, layout="objects"), OHLCV)
        validate_edge(data.trades(100), Trade)
        book = data.book(10)
        rows = [["bid", p, q] for p, q in book["bids"]] + [["ask", p, q] for p, q in book["asks"]]
        validate_edge(rows, OrderBook, columns=["side", "price", "qty"])
        assert data.ticker()["price"] > 0

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="start_price"):
            MarketData(start_price=0)


# -- properties ----------------------------------------------------------------------------


@CI
@given(gen.ohlcv_frames(max_rows=30))
def test_generated_ohlcv_frames_are_valid(frame: pd.DataFrame) -> None:
    validate_edge(frame, OHLCV)


@CI
@given(gen.ohlcv_payloads(layout="rows", max_rows=30))
def test_generated_kline_rows_are_valid(payload: list[Any]) -> None:
    validate_edge(payload, OHLCV)


@CI
@given(gen.ohlcv_payloads(layout="objects", max_rows=30))
def test_generated_kline_objects_are_valid(payload: list[Any]) -> None:
    validate_edge(payload, OHLCV)


@CI
@given(gen.trades())
def test_generated_trades_are_valid(frame: pd.DataFrame) -> None:
    validate_edge(frame, Trade)


@CI
@given(gen.quotes())
def test_generated_quotes_are_valid(frame: pd.DataFrame) -> None:
    validate_edge(frame, Quote)


@CI
@given(gen.order_books(depth=10))
def test_generated_books_are_valid(frame: pd.DataFrame) -> None:
    validate_edge(frame, OrderBook)


@CI
@given(gen.orders())
def test_generated_orders_are_valid(frame: pd.DataFrame) -> None:
    validate_edge(frame, Order)


@CI
@given(gen.fills())
def test_generated_fills_are_valid(frame: pd.DataFrame) -> None:
    validate_edge(frame, Fill)


# Whether OHLCV must catch each corruption of a valid payload: True (always caught), False
# (harmless to the contract: accepted), or "may" (caught only when it happens to break a
# rule). The property below checks both ways for True and False.
OHLCV_CATCHES: dict[str, dict[str, bool | str]] = {
    "objects": {
        "invalid_json": True,
        "html_error_page": True,
        "empty_body": True,
        "wrong_type": True,
        "missing_field": True,
        "null_field": True,
        "nan": True,
        "negative_price": True,
        "swap_high_low": True,
        "shuffle_rows": True,
        "duplicate_rows": True,
        "extra_field": False,  # exchanges add fields; the contract checks the ones it names
        "string_numbers": False,  # "64000.5" coerces to 64000.5: same data
        "drop_rows": False,  # a gap in time is not a contract violation (subclass to add one)
    },
    "rows": {
        "invalid_json": True,
        "html_error_page": True,
        "empty_body": True,
        "nan": True,
        "negative_price": True,  # both pick a price field
        "swap_high_low": True,
        "shuffle_rows": True,
        "duplicate_rows": True,
        # Binance rows carry 12 fields and the contract reads the first six: a field-level
        # corruption is caught exactly when it hits one of those.
        "wrong_type": "if_read",
        "null_field": "if_read",
        # a shorter row shifts its columns: caught only if that breaks a rule
        "missing_field": "may",
        "extra_field": False,
        "string_numbers": False,
        "drop_rows": False,
    },
}


def test_every_corruption_kind_has_a_documented_expectation() -> None:
    for layout in OHLCV_CATCHES.values():
        assert set(layout) == set(corruptions.KINDS)


@pytest.mark.parametrize("layout", ["objects", "rows"])
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_corruptions_are_caught_exactly_as_documented(layout: str, data: st.DataObject) -> None:
    bad = data.draw(gen.corrupted(gen.ohlcv_payloads(layout=layout, min_rows=3, max_rows=12)))
    expected = OHLCV_CATCHES[layout][bad.kind]
    if expected == "if_read":
        expected = bad.detail["field"] < len(KLINE_COLUMNS)
    try:
        validate_edge(bad.body, OHLCV, source=f"corrupted {bad.kind}")
    except MarketDataError:
        caught = True
    else:
        caught = False
    if expected != "may":
        assert caught is expected, (bad.kind, bad.detail)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=40,
)


JUNK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@JUNK
@given(json_values)
def test_junk_gives_a_frame_or_market_data_error(value: Any) -> None:
    try:
        frame = validate_edge(value, OHLCV, source="junk")
    except MarketDataError:
        return
    assert isinstance(frame, pd.DataFrame)


@JUNK
@given(
    st.lists(
        st.lists(st.one_of(st.integers(), st.floats(), st.text(max_size=6), st.none()), max_size=8),
        max_size=6,
    )
)
def test_junk_rows_give_a_frame_or_market_data_error(rows: list[list[Any]]) -> None:
    with contextlib.suppress(MarketDataError):
        validate_edge(rows, OHLCV, source="junk rows")


@settings(max_examples=20, deadline=None)
@given(gen.corrupted(gen.ohlcv_payloads(min_rows=3), kinds=["nan"]))
def test_corrupted_records_what_it_did(example: gen.CorruptedPayload) -> None:
    assert example.kind == "nan" and "row" in example.detail
    values = [v for row in example.payload for v in row]
    assert any(
        (isinstance(v, str) and v == "NaN") or (isinstance(v, float) and math.isnan(v))
        for v in values
    )
    with pytest.raises(ValueError, match="unknown kinds"):
        gen.corrupted(gen.ohlcv_payloads(), kinds=["bogus"])
