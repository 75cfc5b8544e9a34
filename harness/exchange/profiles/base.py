"""The profile base: a named set of routes, each with its role, over one FakeExchange."""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

from harness.errors import ExchangeReject
from harness.exchange.core import ExchangeOrder, FakeExchange, Instrument
from harness.intents import IntentFields
from harness.mock.dialect import Dialect
from harness.mock.routes import Request
from harness.mock.server import DEFAULT_BASE_URL, MockServer

__all__ = ["Profile", "as_float", "as_int", "ms", "order_fields"]


class Profile:
    """Base: a named set of routes over one FakeExchange."""

    name: ClassVar[str] = ""
    base_url: ClassVar[str] = DEFAULT_BASE_URL
    aliases: ClassVar[tuple[str, ...]] = ()
    """The exchange's other hosts (its API families, its mirrors): a mounted server answers
    them in-process too, so clients reach it at the production hostnames."""
    snapshot_path: ClassVar[str] = ""
    """The REST order-book snapshot a client resyncs its streamed book from."""

    def __init__(self, exchange: FakeExchange) -> None:
        self.exchange = exchange
        self.dialect: Dialect = Dialect()
        """How this API says "no": faults that answer on its server use its error format."""

    def snapshot(self) -> dict[str, Any]:
        """The profile's own state (client ids seen, weights used, its generators) and its
        exchange's, to :meth:`restore` (exploration runs each example on a fresh exchange)."""
        return {
            "exchange": self.exchange.snapshot(),
            "profile": copy.deepcopy(vars(self), self._shared()),
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Back to a :meth:`snapshot`."""
        vars(self).update(copy.deepcopy(snapshot["profile"], self._shared()))
        self.exchange.restore(snapshot["exchange"])

    def _shared(self) -> dict[int, Any]:
        """What a snapshot refers to but never copies: the profile itself, its exchange,
        and the servers it is mounted on."""
        keep: list[Any] = [self, self.exchange]
        keep += [v for v in vars(self).values() if isinstance(v, MockServer)]
        return {id(obj): obj for obj in keep}

    def mount(self, server: MockServer) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    intent_fields: IntentFields | None = None
    """The API's own names for an order's parts, when the defaults do not find them."""

    @classmethod
    def instruments(cls) -> list[Instrument] | None:
        """The instruments the exchange lists (None: the FakeExchange's default)."""
        return None

    @classmethod
    def balances(cls) -> dict[str, float] | None:
        """The account's starting balances (None: the FakeExchange's default)."""
        return None

    @staticmethod
    def offset(request: Request) -> float:
        return float(request.context.get("clock_offset_s", 0.0))


def order_fields(order: ExchangeOrder, created_at: Any) -> dict[str, Any]:
    """An order under the harness's own field names (the generic and custom profiles' JSON)."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "qty": order.qty,
        "price": order.price,
        "status": order.status,
        "filled_qty": order.filled_qty,
        "avg_price": order.avg_price,
        "created_at": created_at,
    }


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExchangeReject("bad_parameter", f"{name}={value!r} is not an integer", 400) from None


def as_float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ExchangeReject("bad_parameter", f"{name}={value!r} is not a number", 400) from None
    if not math.isfinite(number):
        raise ExchangeReject("bad_parameter", f"{name}={value!r} is not finite", 400)
    return number
