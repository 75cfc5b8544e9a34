"""Order intents: what an order asks for, whatever the API calls its fields.

Two requests that place the same order carry the same intent (symbol, side, type,
quantity, price) even when a client library gives each send a fresh client order id, a new
timestamp and a new signature. Invariants compare intents, never ids.

The fields are read from the request's query, form body and JSON body (top level, or one
level down such as ``{"order": {...}}``), under the names real APIs use (``qty``,
``quantity``, ``origQty``, ``size``, ``limit_price``...); a profile may name its own
(:class:`IntentFields`). Numbers compare by value (``"0.0010"`` is ``0.001``), words
case-insensitively (``BUY`` is ``buy``). A request with none of these fields is identified
by all its parameters but the volatile ones (ids, timestamps, nonces, signatures).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from harness.mock.journal import JournalEntry

__all__ = ["VOLATILE", "Intent", "IntentFields", "intent_of"]

VOLATILE = frozenset(
    name.lower()
    for name in (
        "timestamp",
        "ts",
        "time",
        "nonce",
        "signature",
        "sign",
        "sig",
        "recvWindow",
        "clientOrderId",
        "newClientOrderId",
        "client_order_id",
        "clientOid",
        "client_oid",
        "clOrdID",
        "cl_ord_id",
        "clientId",
        "client_id",
        "requestId",
        "request_id",
        "apiKey",
        "api_key",
        "text",
    )
)
"""Parameters that change from one send of the same order to the next."""


@dataclass(frozen=True)
class IntentFields:
    """Where an API puts each part of an order (candidate names, first found wins)."""

    symbol: Sequence[str] = (
        "symbol",
        "instrument",
        "instrument_id",
        "instId",
        "pair",
        "market",
        "product_id",
        "ticker",
    )
    side: Sequence[str] = ("side", "direction")
    type: Sequence[str] = ("type", "order_type", "orderType", "ordType")
    quantity: Sequence[str] = (
        "quantity",
        "qty",
        "size",
        "amount",
        "origQty",
        "volume",
        "units",
        "sz",
        "quoteOrderQty",
        "notional",
    )
    price: Sequence[str] = (
        "price",
        "limit_price",
        "limitPrice",
        "px",
        "rate",
        "stopPrice",
        "stop_price",
    )

    @classmethod
    def for_names(cls, names: Mapping[str, str | Sequence[str]]) -> IntentFields:
        """A profile's own names: ``{"quantity": "qty", "price": ["px", "price"]}``."""
        given = {k: ([v] if isinstance(v, str) else list(v)) for k, v in names.items()}
        default = cls()
        return cls(**{part: tuple(given.get(part, getattr(default, part))) for part in _PARTS})


_PARTS = ("symbol", "side", "type", "quantity", "price")
_WORDS = ("symbol", "side", "type")


@dataclass(frozen=True)
class Intent:
    """What an order asks for. ``rest`` identifies a request that names none of the parts."""

    symbol: str | None = None
    side: str | None = None
    type: str | None = None
    quantity: str | None = None
    price: str | None = None
    rest: tuple[tuple[str, str], ...] = field(default=())

    def __str__(self) -> str:
        parts = [f"{p}={getattr(self, p)}" for p in _PARTS if getattr(self, p) is not None]
        if not parts:
            parts = [f"{k}={v}" for k, v in self.rest]
        return " ".join(parts) or "(no parameters)"


def _number(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value).strip().lower()
    if not number.is_finite():
        return str(value).strip().lower()
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _flat(body: Any) -> dict[str, Any]:
    """A JSON object's scalar fields, the top level first, then one level down."""
    out: dict[str, Any] = {}
    if not isinstance(body, Mapping):
        return out
    nested: list[Mapping[str, Any]] = []
    for key, value in body.items():
        if isinstance(value, Mapping):
            nested.append(value)
        elif not isinstance(value, list):
            out.setdefault(str(key), value)
    for inner in nested:
        for key, value in inner.items():
            if not isinstance(value, (Mapping, list)):
                out.setdefault(str(key), value)
    return out


def parameters(entry: JournalEntry) -> dict[str, Any]:
    """Every parameter a request carried: query, then form or JSON body."""
    found: dict[str, Any] = {}
    for key, value in entry.params.items():
        found[key] = value[0] if isinstance(value, list) else value
    body = entry.body.strip()
    if body.startswith("{"):
        with contextlib.suppress(ValueError):
            found.update(_flat(json.loads(body)))
    elif "=" in body:
        found.update(dict(parse_qsl(body, keep_blank_values=True)))
    return found


def intent_of(entry: JournalEntry, fields: IntentFields | None = None) -> Intent:
    """The intent of an order request from the journal."""
    fields = fields or IntentFields()
    params = parameters(entry)
    lowered = {k.lower(): v for k, v in params.items()}
    values: dict[str, str | None] = {}
    for part in _PARTS:
        value = None
        for name in getattr(fields, part):
            if name.lower() in lowered and lowered[name.lower()] not in (None, ""):
                value = lowered[name.lower()]
                break
        if value is None:
            values[part] = None
        elif part == "symbol":
            values[part] = str(value).strip().upper()
        elif part in _WORDS:
            values[part] = str(value).strip().lower()
        else:
            values[part] = _number(value)
    if any(v is not None for v in values.values()):
        return Intent(**values)
    rest = tuple(sorted((k, str(v)) for k, v in params.items() if k.lower() not in VOLATILE))
    return Intent(rest=rest)
