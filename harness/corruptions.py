"""Corruptions of market-data payloads: the one module the chaos ``corrupt`` fault and the
hypothesis ``corrupted()`` strategies share.

Structure-aware for what exchanges send: JSON arrays of objects (trades, orders), arrays
of arrays (kline rows ``[open_time, open, high, low, close, volume, ...]``, book levels
``[price, qty]``), and objects holding such arrays (``{"bids": [...], "asks": [...]}``).

Two layers:

* :func:`mutate_value` changes a parsed JSON value (returns a new value and what it did);
* :func:`corrupt_body` changes a response body (bytes), including the kinds that only
  exist as bytes: ``invalid_json``, ``html_error_page``, ``empty_body``.

Every function takes a ``random.Random``; the same seed gives the same corruption.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BENIGN",
    "BODY_KINDS",
    "KINDS",
    "VALUE_KINDS",
    "Corruption",
    "NotApplicable",
    "corrupt_body",
    "mutate_value",
]

BODY_KINDS = ("invalid_json", "html_error_page", "empty_body")
VALUE_KINDS = (
    "wrong_type",
    "missing_field",
    "null_field",
    "extra_field",
    "nan",
    "negative_price",
    "swap_high_low",
    "shuffle_rows",
    "duplicate_rows",
    "drop_rows",
    "string_numbers",
)
KINDS = BODY_KINDS + VALUE_KINDS
BENIGN = frozenset(("extra_field", "string_numbers", "drop_rows"))
"""Corruptions that leave market data valid under the contracts (see harness.schemas)."""

_PRICE_KEY = re.compile(
    r"^(price|p|open|high|low|close|o|h|l|c|bid|ask|bidPrice|askPrice|"
    r"lastPrice|last|mark|markPrice|avgPrice|stopPrice)$",
    re.I,
)
_HIGH_KEYS = ("high", "h")
_LOW_KEYS = ("low", "l")
_HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
)


class NotApplicable(Exception):
    """This corruption cannot act on this payload (for example shuffling a single row)."""


@dataclass
class Corruption:
    """The result of corrupting a body: new bytes, maybe a new content type, and what changed."""

    kind: str
    body: bytes
    content_type: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


# -- structure ---------------------------------------------------------------------------


def _rows(value: Any, depth: int = 3) -> tuple[list[Any], str | None]:
    """The list of records in a payload, and the key it sits under (None for a top-level
    list); found a few levels down too (``{"bars": {"AAPL": [...]}}``)."""
    if isinstance(value, list):
        return value, None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, list) and item and isinstance(item[0], (dict, list)):
                return item, key
        if depth > 1:
            for item in value.values():
                if isinstance(item, dict):
                    try:
                        return _rows(item, depth - 1)
                    except NotApplicable:
                        continue
    raise NotApplicable("no list of records")


def _records(value: Any) -> list[tuple[Any, str | None]]:
    """Every record a field-level corruption can act on, with its container key."""
    if isinstance(value, dict):
        try:
            rows, key = _rows(value)
        except NotApplicable:
            return [(value, None)]
        return [(r, key) for r in rows if isinstance(r, (dict, list)) and r]
    if isinstance(value, list):
        return [(r, None) for r in value if isinstance(r, (dict, list)) and r]
    return []


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    if isinstance(v, str):
        try:
            float(v)
        except ValueError:
            return False
        return v.strip() != "" and v.lower() not in ("nan", "inf", "-inf", "infinity")
    return False


def _price_fields(record: Any) -> list[Any]:
    """Keys (objects) or indices (rows) that hold prices."""
    if isinstance(record, dict):
        keys = [k for k, v in record.items() if _PRICE_KEY.match(str(k)) and _is_number(v)]
        return keys
    if isinstance(record, list):
        if len(record) >= 5 and all(_is_number(record[i]) for i in range(1, 5)):
            return [1, 2, 3, 4]  # kline: open, high, low, close
        if record and _is_number(record[0]):
            return [0]  # book level / trade row: price first
    return []


def _numeric_fields(record: Any) -> list[Any]:
    if isinstance(record, dict):
        return [k for k, v in record.items() if _is_number(v)]
    if isinstance(record, list):
        return [i for i, v in enumerate(record) if _is_number(v)]
    return []


def _all_fields(record: Any) -> list[Any]:
    if isinstance(record, dict):
        return list(record.keys())
    return list(range(len(record)))


def _pick_record(
    value: Any, rng: random.Random, need: Callable[[Any], list[Any]]
) -> tuple[Any, Any, int]:
    candidates = [(i, r) for i, (r, _) in enumerate(_records(value)) if need(r)]
    if not candidates:
        raise NotApplicable("no record with a suitable field")
    index, record = candidates[rng.randrange(len(candidates))]
    fields = need(record)
    return record, fields[rng.randrange(len(fields))], index


def _negate(v: Any) -> Any:
    if isinstance(v, str):
        return v[1:] if v.startswith("-") else "-" + v
    return -v


# -- value-level mutations -----------------------------------------------------------------


def _wrong_type(value: Any, rng: random.Random) -> dict[str, Any]:
    record, key, row = _pick_record(value, rng, _all_fields)
    old = record[key]
    if _is_number(old):
        new: Any = "N/A"
    elif isinstance(old, str):
        new = 0
    elif isinstance(old, list):
        new = {}
    elif isinstance(old, dict):
        new = []
    else:
        new = "N/A"
    record[key] = new
    return {"row": row, "field": key, "was": old, "now": new}


def _missing_field(value: Any, rng: random.Random) -> dict[str, Any]:
    record, key, row = _pick_record(value, rng, _all_fields)
    if isinstance(record, dict):
        del record[key]
    else:
        record.pop(key)
    return {"row": row, "field": key}


def _null_field(value: Any, rng: random.Random) -> dict[str, Any]:
    record, key, row = _pick_record(value, rng, _all_fields)
    record[key] = None
    return {"row": row, "field": key}


def _extra_field(value: Any, rng: random.Random) -> dict[str, Any]:
    records = _records(value)
    if not records:
        raise NotApplicable("no record")
    row = rng.randrange(len(records))
    record = records[row][0]
    if isinstance(record, dict):
        record["unexpectedField"] = "surprise"
        return {"row": row, "field": "unexpectedField"}
    record.append("surprise")
    return {"row": row, "field": len(record) - 1}


def _prices_else_numbers(record: Any) -> list[Any]:
    return _price_fields(record) or _numeric_fields(record)


def _nan(value: Any, rng: random.Random) -> dict[str, Any]:
    record, key, row = _pick_record(value, rng, _prices_else_numbers)
    old = record[key]
    record[key] = "NaN" if isinstance(old, str) else math.nan
    return {"row": row, "field": key, "was": old}


def _negative_price(value: Any, rng: random.Random) -> dict[str, Any]:
    record, key, row = _pick_record(value, rng, _price_fields)
    old = record[key]
    if float(old) == 0:
        raise NotApplicable("price is zero")
    record[key] = _negate(old) if float(old) > 0 else old
    return {"row": row, "field": key, "was": old, "now": record[key]}


def _high_low_fields(record: Any) -> list[Any]:
    if (
        isinstance(record, list)
        and len(record) >= 5
        and _is_number(record[2])
        and _is_number(record[3])
    ):
        return [(2, 3)] if float(record[2]) != float(record[3]) else []
    if isinstance(record, dict):
        for hk, lk in zip(_HIGH_KEYS, _LOW_KEYS, strict=True):
            if hk in record and lk in record and float(record[hk]) != float(record[lk]):
                return [(hk, lk)]
    return []


def _swap_high_low(value: Any, rng: random.Random) -> dict[str, Any]:
    record, (hk, lk), row = _pick_record(value, rng, _high_low_fields)
    record[hk], record[lk] = record[lk], record[hk]
    return {"row": row, "high": record[hk], "low": record[lk]}


def _shuffle_rows(value: Any, rng: random.Random) -> dict[str, Any]:
    rows, key = _rows(value)
    if len(rows) < 2:
        raise NotApplicable("fewer than two rows")
    original = list(rows)
    order = list(range(len(rows)))
    while order == sorted(order):
        rng.shuffle(order)
    rows[:] = [original[i] for i in order]
    return {"rows": len(rows), "key": key, "order": order[:20]}


def _duplicate_rows(value: Any, rng: random.Random) -> dict[str, Any]:
    rows, key = _rows(value)
    if not rows:
        raise NotApplicable("no rows")
    i = rng.randrange(len(rows))
    rows.insert(i + 1, copy.deepcopy(rows[i]))
    return {"row": i, "key": key}


def _drop_rows(value: Any, rng: random.Random) -> dict[str, Any]:
    rows, key = _rows(value)
    if len(rows) < 3:
        raise NotApplicable("fewer than three rows: dropping one would not leave a gap")
    i = rng.randrange(1, len(rows) - 1)  # a gap in the middle, not a shorter window
    del rows[i]
    return {"row": i, "key": key}


def _string_numbers(value: Any, rng: random.Random) -> dict[str, Any]:
    changed = 0

    def walk(v: Any) -> Any:
        nonlocal changed
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, (int, float)):
            changed += 1
            return str(v)
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    new = walk(value)
    if not changed:
        raise NotApplicable("no JSON numbers to turn into strings")
    if isinstance(value, list):
        value[:] = new
    elif isinstance(value, dict):
        value.clear()
        value.update(new)
    return {"fields": changed}


_MUTATORS: dict[str, Callable[[Any, random.Random], dict[str, Any]]] = {
    "wrong_type": _wrong_type,
    "missing_field": _missing_field,
    "null_field": _null_field,
    "extra_field": _extra_field,
    "nan": _nan,
    "negative_price": _negative_price,
    "swap_high_low": _swap_high_low,
    "shuffle_rows": _shuffle_rows,
    "duplicate_rows": _duplicate_rows,
    "drop_rows": _drop_rows,
    "string_numbers": _string_numbers,
}


def mutate_value(kind: str, value: Any, rng: random.Random) -> tuple[Any, dict[str, Any]]:
    """A corrupted deep copy of a parsed JSON value, and what was changed.

    Raises :class:`NotApplicable` when the kind cannot act on this value.
    """
    if kind not in _MUTATORS:
        raise KeyError(kind)
    new = copy.deepcopy(value)
    if not isinstance(new, (list, dict)):
        raise NotApplicable("not a JSON array or object")
    detail = _MUTATORS[kind](new, rng)
    if _canonical(new) == _canonical(value):
        # equal rows shuffled, a null nulled, a negative price negated: nothing would change
        raise NotApplicable("the change would leave the value as it was")
    return new, detail


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def corrupt_body(kind: str, body: bytes, rng: random.Random) -> Corruption:
    """A corrupted response body. Raises :class:`NotApplicable` when the kind cannot act."""
    if kind == "invalid_json":
        if len(body) < 2:
            return Corruption(kind, b"{", detail={"cut_at": 1})
        cut = rng.randrange(1, len(body))
        return Corruption(kind, body[:cut] + b"\x00}{", detail={"cut_at": cut})
    if kind == "html_error_page":
        return Corruption(kind, _HTML_PAGE, content_type="text/html; charset=utf-8")
    if kind == "empty_body":
        return Corruption(kind, b"")
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise NotApplicable("body is not JSON") from exc
    new, detail = mutate_value(kind, value, rng)
    return Corruption(kind, json.dumps(new, separators=(",", ":")).encode(), detail=detail)
