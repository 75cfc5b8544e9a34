"""The shared corruption functions, on the shapes exchanges send."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import corruptions
from harness.corruptions import NotApplicable, corrupt_body, mutate_value

KLINES = [
    [1700000000000 + i * 60000, "100.0", "102.0", "99.0", "101.0", "5.5", 1700000059999 + i * 60000]
    for i in range(6)
]
TRADES = [
    {"id": i, "price": 100.0 + i, "qty": 0.5, "side": "buy", "time": 1700000000000 + i}
    for i in range(5)
]
BOOK = {
    "lastUpdateId": 7,
    "bids": [["100.0", "1.0"], ["99.5", "2.0"], ["99.0", "4.0"]],
    "asks": [["100.5", "1.0"], ["101.0", "3.0"], ["101.5", "1.0"]],
}


def rng(seed: int = 0) -> random.Random:
    return random.Random(seed)


def test_every_kind_is_listed_once() -> None:
    assert len(set(corruptions.KINDS)) == len(corruptions.KINDS) == 14


@pytest.mark.parametrize("payload", [KLINES, TRADES, BOOK], ids=["klines", "trades", "book"])
@pytest.mark.parametrize("kind", corruptions.VALUE_KINDS)
def test_value_kinds_change_the_payload_and_never_the_input(payload: object, kind: str) -> None:
    before = json.dumps(payload)
    try:
        new, detail = mutate_value(kind, payload, rng())
    except NotApplicable:
        assert kind in (
            "swap_high_low",
            "string_numbers",
        )  # a book has no high/low; klines already strings
        return
    assert json.dumps(payload) == before  # a copy was mutated
    assert json.dumps(new, allow_nan=True) != before
    assert isinstance(detail, dict)


def test_swap_high_low_on_klines() -> None:
    new, detail = mutate_value("swap_high_low", KLINES, rng())
    row = new[detail["row"]]
    assert float(row[2]) < float(row[3])


def test_negative_price_on_objects_and_rows() -> None:
    new, detail = mutate_value("negative_price", TRADES, rng())
    assert new[detail["row"]]["price"] < 0
    new, detail = mutate_value("negative_price", BOOK, rng())
    assert any(level[0].startswith("-") for side in ("bids", "asks") for level in new[side])


def test_nan_keeps_strings_strings() -> None:
    new, detail = mutate_value("nan", KLINES, rng())
    assert new[detail["row"]][detail["field"]] == "NaN"
    new, detail = mutate_value("nan", TRADES, rng())
    assert math.isnan(new[detail["row"]][detail["field"]])


def test_row_kinds() -> None:
    assert len(mutate_value("duplicate_rows", KLINES, rng())[0]) == 7
    dropped, detail = mutate_value("drop_rows", KLINES, rng())
    assert len(dropped) == 5 and 0 < detail["row"] < 5
    shuffled, _ = mutate_value("shuffle_rows", KLINES, rng())
    assert sorted(shuffled) == sorted(KLINES) and shuffled != KLINES
    with pytest.raises(NotApplicable):
        mutate_value("shuffle_rows", KLINES[:1], rng())


def test_string_numbers_turns_numbers_into_strings() -> None:
    new, detail = mutate_value("string_numbers", TRADES, rng())
    assert new[0]["price"] == "100.0" and detail["fields"] > 0


@pytest.mark.parametrize("kind", corruptions.BODY_KINDS)
def test_body_kinds_break_json(kind: str) -> None:
    result = corrupt_body(kind, json.dumps(KLINES).encode(), rng())
    with pytest.raises(ValueError):
        json.loads(result.body)
    if kind == "html_error_page":
        assert result.content_type is not None and result.content_type.startswith("text/html")


def test_value_kinds_need_json() -> None:
    with pytest.raises(NotApplicable):
        corrupt_body("nan", b"<html>", rng())


@given(st.integers(0, 2**32), st.sampled_from(corruptions.KINDS))
def test_same_seed_same_corruption(seed: int, kind: str) -> None:
    body = json.dumps(KLINES).encode()
    try:
        a = corrupt_body(kind, body, random.Random(seed))
    except NotApplicable:
        return
    b = corrupt_body(kind, body, random.Random(seed))
    assert (a.body, a.detail) == (b.body, b.detail)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values, st.sampled_from(corruptions.VALUE_KINDS), st.integers(0, 99))
def test_any_json_is_corrupted_or_not_applicable(value: object, kind: str, seed: int) -> None:
    before = json.dumps(value, sort_keys=True)
    try:
        changed, detail = mutate_value(kind, value, random.Random(seed))
    except NotApplicable:
        return
    assert json.dumps(value, sort_keys=True) == before  # the input is left alone
    assert json.dumps(changed, sort_keys=True, default=str) != before  # the copy is changed
    assert isinstance(detail, dict) and detail  # and the change is described
