"""The profile base: a named set of routes, each with its role, over one FakeExchange."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from harness.errors import ExchangeReject
from harness.exchange.core import FakeExchange
from harness.mock.dialect import Dialect
from harness.mock.routes import Request
from harness.mock.server import DEFAULT_BASE_URL, MockServer

__all__ = ["Profile", "as_float", "as_int", "ms"]


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

    def mount(self, server: MockServer) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def offset(request: Request) -> float:
        return float(request.context.get("clock_offset_s", 0.0))


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
