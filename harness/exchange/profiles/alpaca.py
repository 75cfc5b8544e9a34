"""The ``alpaca`` profile: Alpaca's Trading API v2 and Market Data v2 (stocks) on the fake
exchange, as alpaca-py 0.44 calls them.

Trading (``/v2/account``, ``/v2/orders``, ``/v2/positions``, ``/v2/clock``, ``/v2/assets``)
and market data (``/v2/stocks/...``) do not share a path, so one MockServer answers both
hosts: ``https://paper-api.alpaca.markets`` (the base URL), ``https://api.alpaca.markets``
and ``https://data.alpaca.markets`` (aliases, answered in-process). Over a socket, point
both clients' ``url_override`` at the one server URL (the bare origin: no ``/v2``, no
trailing slash).

What Alpaca does, as modelled here:

* **Auth**: ``APCA-API-KEY-ID`` and ``APCA-API-SECRET-KEY`` (any values), or an
  ``Authorization: Bearer``/``Basic`` header; without them, 401 ``{"code": 40110000}``.
  The journal stores the keys as ``***``.
* **Errors**: ``{"code": <8 digits>, "message": ...}``: 403 ``40310000`` (insufficient
  buying power or qty, with Alpaca's extra fields), 404 ``40410000``, 422 ``40010001``
  (invalid or missing parameters, a duplicate ``client_order_id``) and ``42210000`` (not
  cancelable, extended hours on anything but a limit day order, an opg/cls order inside
  its reject window). Faults answer in the same format (:class:`AlpacaDialect`).
* **Orders**: ``id`` is a UUID (the FakeExchange order id itself), ``client_order_id`` is
  generated when the client sends none, quantities and prices are strings, enums
  lower-case. Market and limit orders; ``qty`` or ``notional``; statuses ``accepted``
  (queued outside market hours), ``new``, ``partially_filled``, ``filled``, ``canceled``,
  ``expired``, ``replaced``, ``rejected``. Cancel answers 204, cancel-all and
  close-all-positions 207. The fake is commission-free, like Alpaca.
* **Market hours** (:class:`MarketHours`, the exchange's clock ``FakeExchange.now()``):
  weekdays, regular session 09:30-16:00 US/Eastern, pre-market from 04:00, after-hours
  to 20:00; no holidays unless given, no half days. ``day``/``gtc``/``ioc``/``fok``
  orders sent outside regular hours are queued as ``accepted`` and start working at the
  next open (a marketable one fills then); ``extended_hours`` (limit + day only) orders
  work in the pre-market and after-hours sessions; ``opg`` is refused from 09:28 to
  19:00 ET and otherwise runs at the next open, ``cls`` is refused from 15:50 to 19:00
  and otherwise runs at the next close; what an ``ioc``/``fok``/``opg``/``cls`` order
  could not fill is canceled at once; ``day`` orders expire at 16:00 (20:00 with
  extended hours). Queued orders start when the next request reaches the profile after
  their time (the fills use the price then).
* **Calendar**: ``/v2/calendar`` lists the trading days from ``start`` to ``end`` (default:
  the exchange's today and the 30 days after it; Alpaca's default is 1970-2029).
* **Market data**: bars for any Alpaca timeframe (``1Min``..``59Min``, ``1Hour``..
  ``23Hour``, ``1Day``, ``1Week``, ``1Month``..``12Month`` with 30-day months) from the
  exchange's seeded candles; trades and quotes derived from its one-minute candles (four
  of each a minute); latest trade, quote and bar; snapshots. ``start``/``end``/``limit``/
  ``sort`` filter, and pages follow ``next_page_token`` (``page_token`` in the next
  request), at most ``min(limit, profile.page_size)`` items a page across all symbols.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from harness.errors import ExchangeReject
from harness.exchange.core import ExchangeOrder, FakeExchange, Instrument
from harness.exchange.profiles.base import Profile
from harness.mock.dialect import Dialect
from harness.mock.routes import Request, Response
from harness.mock.server import MockServer

__all__ = ["AlpacaDialect", "AlpacaError", "AlpacaProfile", "MarketHours", "eastern"]

Session = Literal["regular", "pre", "after", "closed"]


@functools.cache
def _eastern_zone() -> ZoneInfo:
    return ZoneInfo("America/New_York")


def eastern(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> float:
    """Epoch seconds of a US/Eastern wall-clock time: ``FakeExchange(start_time=eastern(2024,
    1, 2, 10))`` starts the exchange at 10:00 ET on a Tuesday, market open."""
    local = datetime(year, month, day, hour, minute, second, tzinfo=_eastern_zone())
    return local.timestamp()


class MarketHours:
    """US equity sessions in US/Eastern (daylight saving included): pre-market 04:00-09:30,
    regular 09:30-16:00, after-hours 16:00-20:00, on weekdays not in ``holidays`` (none by
    default: add dates to model one; half days are not modelled)."""

    PRE_OPEN = clock_time(4, 0)
    OPEN = clock_time(9, 30)
    CLOSE = clock_time(16, 0)
    AFTER_CLOSE = clock_time(20, 0)
    OPG_CUTOFF = clock_time(9, 28)
    """opg orders sent from here to QUEUE_FROM are refused."""
    CLS_CUTOFF = clock_time(15, 50)
    """cls orders sent from here to QUEUE_FROM are refused."""
    QUEUE_FROM = clock_time(19, 0)

    def __init__(self, holidays: Iterable[date] = ()) -> None:
        self.holidays: set[date] = set(holidays)

    @staticmethod
    def local(epoch: float) -> datetime:
        """The time in US/Eastern, with its offset (-05:00 or -04:00)."""
        return datetime.fromtimestamp(epoch, _eastern_zone())

    @staticmethod
    def at(day: date, wall: clock_time) -> float:
        """Epoch seconds of ``wall`` (US/Eastern) on ``day``."""
        return datetime.combine(day, wall, tzinfo=_eastern_zone()).timestamp()

    def trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def next_trading_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.trading_day(day):
            day += timedelta(days=1)
        return day

    def _day_and_time(self, epoch: float) -> tuple[date, clock_time, bool]:
        local = self.local(epoch)
        return local.date(), local.time(), self.trading_day(local.date())

    def session(self, epoch: float) -> Session:
        _, wall, trading = self._day_and_time(epoch)
        if not trading:
            return "closed"
        if self.OPEN <= wall < self.CLOSE:
            return "regular"
        if self.PRE_OPEN <= wall < self.OPEN:
            return "pre"
        if self.CLOSE <= wall < self.AFTER_CLOSE:
            return "after"
        return "closed"

    def is_open(self, epoch: float) -> bool:
        return self.session(epoch) == "regular"

    def _next(self, epoch: float, wall_at: clock_time) -> float:
        day, wall, trading = self._day_and_time(epoch)
        if trading and wall < wall_at:
            return self.at(day, wall_at)
        return self.at(self.next_trading_day(day), wall_at)

    def next_open(self, epoch: float) -> float:
        """The next 09:30 ET of a trading day after ``epoch`` (tomorrow's while open)."""
        return self._next(epoch, self.OPEN)

    def next_close(self, epoch: float) -> float:
        """Today's 16:00 ET until then on a trading day, else the next trading day's."""
        return self._next(epoch, self.CLOSE)

    def next_pre_open(self, epoch: float) -> float:
        """The next 04:00 ET of a trading day (when extended-hours orders start working)."""
        return self._next(epoch, self.PRE_OPEN)

    def day_end(self, epoch: float, extended: bool = False) -> float:
        """When a day order working at ``epoch`` expires: 16:00 ET that day (20:00 with
        extended hours)."""
        return self.at(self.local(epoch).date(), self.AFTER_CLOSE if extended else self.CLOSE)

    def _in_window(self, epoch: float, start: clock_time) -> bool:
        _, wall, trading = self._day_and_time(epoch)
        return trading and start <= wall < self.QUEUE_FROM

    def opg_refused(self, epoch: float) -> bool:
        return self._in_window(epoch, self.OPG_CUTOFF)

    def cls_refused(self, epoch: float) -> bool:
        return self._in_window(epoch, self.CLS_CUTOFF)


class AlpacaError(Exception):
    """An answer in Alpaca's error format: ``{"code": 40310000, "message": ..., **extra}``."""

    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        self.status, self.code, self.message, self.extra = status, code, message, extra
        super().__init__(message)

    @property
    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}

    def response(self) -> Response:
        return Response(self.status, json=self.body)


def _invalid(message: str, status: int = 422) -> AlpacaError:
    return AlpacaError(status, 40010001, message)


def _unprocessable(message: str) -> AlpacaError:
    return AlpacaError(422, 42210000, message)


def _not_found(message: str) -> AlpacaError:
    return AlpacaError(404, 40410000, message)


_DIALECT_TEXT = {
    "rate_limited": "rate limit exceeded",
    "banned": "too many requests",
    "internal": "internal server error",
    "responder_error": "internal server error",
    "bad_gateway": "bad gateway",
    "maintenance": "service unavailable",
    "gateway_timeout": "gateway timeout",
    "unmatched": "endpoint not found",
}


class AlpacaDialect(Dialect):
    """Alpaca's ``{"code", "message"}``: the code is the status followed by ``10000``
    (429 -> ``42910000``, 504 -> ``50410000``); a 429 carries ``X-RateLimit-Limit: 200``,
    ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (epoch seconds)."""

    name = "alpaca"

    def __init__(self, profile: AlpacaProfile | None = None) -> None:
        self.profile = profile

    def body(self, status: int, reason: str, message: str) -> Any:
        text = _DIALECT_TEXT.get(reason, message)
        if reason == "unmatched":
            text = f"{text} ({message})"
        return {"code": status * 100_000 + 10_000, "message": text}

    def headers(self, status: int, reason: str) -> dict[str, str]:
        if status != 429:
            return {}
        now = self.profile.exchange.now() if self.profile is not None else 0.0
        return {
            "X-RateLimit-Limit": "200",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(now // 60 * 60 + 60)),
        }


# -- formatting --------------------------------------------------------------------------


def _ts(epoch: float) -> str:
    """RFC 3339 in UTC with microseconds, as Alpaca's trading API writes times."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ts_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts_nanos(nanos: int) -> str:
    """RFC 3339 with nanoseconds, as Alpaca's market data writes trade and quote times."""
    seconds, rest = divmod(nanos, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{rest:09d}Z"


def _num(value: float | None) -> str | None:
    """A quantity or price as Alpaca writes it: a string, no trailing zeros."""
    if value is None:
        return None
    text = f"{value:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _money(value: float) -> str:
    return f"{value:.2f}"


def _flag(value: Any) -> bool:
    """A boolean from JSON or a query string (alpaca-py sends ``True``/``False``)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise _invalid(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _invalid(f"invalid {name}: {value!r}") from None
    if not math.isfinite(number):
        raise _invalid(f"invalid {name}: {value!r}")
    return number


def _when(value: str | None, name: str, status: int = 422) -> float | None:
    """RFC 3339 (or a date) to epoch seconds; a time without an offset is UTC."""
    if value is None or value == "":
        return None
    text = value.strip().replace(" ", "+")  # a '+' sent unencoded arrives as a space
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _invalid(f"invalid {name}: {value!r}", status) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_TIMEFRAME = re.compile(r"^(\d+)(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNITS: dict[str, tuple[int, Callable[[int], bool]]] = {
    "Min": (60, lambda n: 1 <= n <= 59),
    "T": (60, lambda n: 1 <= n <= 59),
    "Hour": (3600, lambda n: 1 <= n <= 23),
    "H": (3600, lambda n: 1 <= n <= 23),
    "Day": (86_400, lambda n: n == 1),
    "D": (86_400, lambda n: n == 1),
    "Week": (604_800, lambda n: n == 1),
    "W": (604_800, lambda n: n == 1),
    "Month": (2_592_000, lambda n: n in (1, 2, 3, 6, 12)),
    "M": (2_592_000, lambda n: n in (1, 2, 3, 6, 12)),
}
_FEEDS = frozenset(("iex", "sip", "delayed_sip", "otc", "boats", "overnight"))
_TIFS = frozenset(("day", "gtc", "opg", "cls", "ioc", "fok"))
_DEFAULT_STOCKS: dict[str, tuple[float, str, str]] = {
    "AAPL": (190.0, "NASDAQ", "Apple Inc. Common Stock"),
    "MSFT": (370.0, "NASDAQ", "Microsoft Corporation Common Stock"),
    "SPY": (475.0, "ARCA", "SPDR S&P 500 ETF Trust"),
}
_TAPES = {"NASDAQ": "C", "NYSE": "A"}


def timeframe_seconds(value: str) -> int:
    """``5Min`` -> 300; an unknown or out-of-range timeframe -> 400 ``40010001``."""
    m = _TIMEFRAME.match(value or "")
    if m is None:
        raise _invalid(f"invalid timeframe: {value!r}", 400)
    n, unit = int(m.group(1)), m.group(2)
    seconds, valid = _UNITS[unit]
    if not valid(n):
        raise _invalid(f"invalid timeframe: {value!r}", 400)
    return n * seconds


@dataclass
class _OrderInfo:
    """What Alpaca says about an order that the FakeExchange does not keep."""

    client_order_id: str
    extended_hours: bool = False
    notional: float | None = None
    release_at: float | None = None
    """A queued (``accepted``) order starts working at this time."""
    expires_at: float | None = None
    """A working day order expires at this time."""
    replaces: str | None = None
    replaced_by: str | None = None


class AlpacaProfile(Profile):
    """Alpaca's Trading API v2 and Market Data v2 (stocks). ``hours`` is the market
    calendar, ``page_size`` the most items a market-data page holds (lower it to make a
    client page), ``cash_asset`` the account currency. An exchange with no instrument
    quoted in ``USD`` gets AAPL, MSFT and SPY, USD 100,000 and no commission."""

    name = "alpaca"
    base_url = "https://paper-api.alpaca.markets"
    aliases = ("https://api.alpaca.markets", "https://data.alpaca.markets")
    snapshot_path = "/v2/stocks/quotes/latest"
    cash_asset = "USD"

    def __init__(self, exchange: FakeExchange) -> None:
        super().__init__(exchange)
        self.dialect = AlpacaDialect(self)
        self.hours = MarketHours()
        self.page_size = 10_000
        self.listings: dict[str, tuple[str, str]] = {
            symbol: (venue, name) for symbol, (_, venue, name) in _DEFAULT_STOCKS.items()
        }
        """symbol -> (exchange, name) of its asset (NASDAQ and the symbol by default)."""
        self._rng = random.Random(f"alpaca:{exchange.seed}")
        self._info: dict[str, _OrderInfo] = {}
        self._client_ids: dict[str, str] = {}
        self._pending: set[str] = set()
        if not any(i.quote == self.cash_asset for i in exchange.instruments.values()):
            if not exchange.balances.get(self.cash_asset):
                exchange.balances[self.cash_asset] = 100_000.0
            exchange.fee_rate = 0.0
            for symbol, (price, _, _) in _DEFAULT_STOCKS.items():
                stock = Instrument(symbol, symbol, self.cash_asset, step=1e-9, min_qty=1e-9)
                exchange.add_instrument(stock, price=price)
        self.account_id = self._new_id()
        self.account_number = f"PA{self._rng.randrange(10**10):010d}"
        self.created_at: float | None = None
        """When the account was opened (a month before the exchange time first asked)."""

    # -- routes ---------------------------------------------------------------------------
    def mount(self, server: MockServer) -> None:
        routes: list[tuple[str, str, str, Callable[[Request], Any], dict[str, str] | None]] = [
            ("GET", "/v2/account", "account", self._account, None),
            ("GET", "/v2/clock", "time", self._clock, None),
            ("GET", "/v2/calendar", "time", self._calendar, None),
            ("GET", "/v2/assets", "exchange_info", self._assets, None),
            ("GET", "/v2/assets/{asset}", "exchange_info", self._asset, None),
            ("POST", "/v2/orders", "order_place", self._submit, None),
            ("GET", "/v2/orders", "order_history", self._orders, {"status": "closed"}),
            ("GET", "/v2/orders", "order_history", self._orders, {"status": "all"}),
            ("GET", "/v2/orders", "open_orders", self._orders, None),
            ("GET", "/v2/orders:by_client_order_id", "order_query", self._by_client_id, None),
            ("GET", "/v2/orders/{order_id}", "order_query", self._order, None),
            ("PATCH", "/v2/orders/{order_id}", "order_replace", self._replace, None),
            ("DELETE", "/v2/orders/{order_id}", "order_cancel", self._cancel, None),
            ("DELETE", "/v2/orders", "order_cancel", self._cancel_all, None),
            ("GET", "/v2/positions", "positions", self._positions, None),
            ("GET", "/v2/positions/{asset}", "positions", self._position, None),
            ("DELETE", "/v2/positions/{asset}", "order_place", self._close_position, None),
            ("DELETE", "/v2/positions", "order_place", self._close_all, None),
            # Market Data v2, stocks (data.alpaca.markets); multi-symbol first
            ("GET", "/v2/stocks/bars/latest", "bars", self._latest_bars, None),
            ("GET", "/v2/stocks/trades/latest", "trades", self._latest_trades, None),
            ("GET", "/v2/stocks/quotes/latest", "book", self._latest_quotes, None),
            ("GET", "/v2/stocks/bars", "bars", self._bars, None),
            ("GET", "/v2/stocks/trades", "trades", self._trades, None),
            ("GET", "/v2/stocks/quotes", "book", self._quotes, None),
            ("GET", "/v2/stocks/snapshots", "ticker", self._snapshots, None),
            ("GET", "/v2/stocks/{symbol}/bars/latest", "bars", self._latest_bars, None),
            ("GET", "/v2/stocks/{symbol}/trades/latest", "trades", self._latest_trades, None),
            ("GET", "/v2/stocks/{symbol}/quotes/latest", "book", self._latest_quotes, None),
            ("GET", "/v2/stocks/{symbol}/bars", "bars", self._bars, None),
            ("GET", "/v2/stocks/{symbol}/trades", "trades", self._trades, None),
            ("GET", "/v2/stocks/{symbol}/quotes", "book", self._quotes, None),
            ("GET", "/v2/stocks/{symbol}/snapshot", "ticker", self._snapshots, None),
        ]
        for method, path, role, handler, params in routes:
            server.route(method, path, role=role, params=params).respond(self._guard(handler))

    def _guard(self, handler: Callable[[Request], Any]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                if not self._authorized(request):
                    raise AlpacaError(401, 40110000, "request is not authorized")
                self.sync()
                body = handler(request)
                return body if isinstance(body, Response) else Response(json=body)
            except AlpacaError as exc:
                return exc.response()
            except ExchangeReject as exc:
                return self._translate(exc).response()

        return run

    @staticmethod
    def _authorized(request: Request) -> bool:
        headers = request.headers
        if headers.get("APCA-API-KEY-ID") and headers.get("APCA-API-SECRET-KEY"):
            return True
        scheme, _, credentials = headers.get("Authorization", "").partition(" ")
        return scheme in ("Bearer", "Basic") and bool(credentials.strip())

    @staticmethod
    def _translate(exc: ExchangeReject) -> AlpacaError:
        if exc.code == "duplicate_client_order_id":
            return _invalid("client_order_id must be unique")
        if exc.code == "unknown_order":
            return _not_found("order not found")
        if exc.code == "not_open":
            return _unprocessable(f"order is not cancelable ({exc.message})")
        if exc.code == "insufficient_balance":
            return AlpacaError(403, 40310000, "insufficient buying power")
        return _invalid(exc.message)

    # -- time and orders that wait for it ---------------------------------------------------
    def sync(self) -> None:
        """Bring queued and day orders up to the exchange's time: a queued order whose
        session began starts working (a marketable one fills), a day order past its close
        expires. Every request runs it first."""
        now = self.exchange.now()
        while self._pending:
            due: list[tuple[float, int, str]] = []
            for order_id in list(self._pending):
                order, info = self.exchange.orders[order_id], self._info[order_id]
                if order.status == "accepted" and info.release_at is not None:
                    if info.release_at <= now:
                        due.append((info.release_at, 0, order_id))
                elif order.open and info.expires_at is not None:
                    if info.expires_at <= now:
                        due.append((info.expires_at, 1, order_id))
                else:
                    self._pending.discard(order_id)
            if not due:
                return
            at, what, order_id = min(due)
            order, info = self.exchange.orders[order_id], self._info[order_id]
            self._pending.discard(order_id)
            if what == 0:
                self._start(order, info, at)
            else:
                self._end(order, "expired")

    def _start(self, order: ExchangeOrder, info: _OrderInfo, at: float) -> None:
        """A held order starts working (now, or at its session's start)."""
        info.release_at = None
        if order.time_in_force == "fok" and not self._marketable(order):
            self._end(order, "canceled")
            return
        self.exchange.release(order.order_id)
        self._working(order, info, at)

    def _working(self, order: ExchangeOrder, info: _OrderInfo, at: float) -> None:
        """What an order's time in force does once it works: cancel what could not fill at
        once (ioc, fok, opg, cls), or expire at the close (day)."""
        if not order.open:
            return
        if order.time_in_force in ("ioc", "fok", "opg", "cls"):
            self._end(order, "canceled")
        elif order.time_in_force == "day":
            info.expires_at = self.hours.day_end(at, info.extended_hours)
            self._pending.add(order.order_id)

    def _end(self, order: ExchangeOrder, status: str) -> None:
        self.exchange.cancel(order.order_id)
        order.status = status

    def _marketable(self, order: ExchangeOrder) -> bool:
        if order.type == "market":
            return True
        price = self.exchange.price(order.symbol)
        limit = order.price or 0.0
        return limit >= price if order.side == "buy" else limit <= price

    def _hold_until(self, tif: str, extended: bool, now: float) -> float | None:
        """None: the order works now; else when it starts (Alpaca's time-in-force rules)."""
        hours = self.hours
        if tif == "opg":
            if hours.opg_refused(now):
                raise _unprocessable(
                    "opg orders are refused from 9:28am to 7:00pm ET; send them before "
                    "9:28am or after 7:00pm for the next opening auction"
                )
            return hours.next_open(now)
        if tif == "cls":
            if hours.cls_refused(now):
                raise _unprocessable(
                    "cls orders are refused from 3:50pm to 7:00pm ET; send them before "
                    "3:50pm or after 7:00pm for the next closing auction"
                )
            return hours.next_close(now)
        session = hours.session(now)
        if session == "regular" or (extended and session in ("pre", "after")):
            return None
        return hours.next_pre_open(now) if extended else hours.next_open(now)

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # -- lookups ------------------------------------------------------------------------------
    def stocks(self) -> list[Instrument]:
        """The instruments this profile lists as assets (quoted in ``cash_asset``)."""
        return sorted(
            (i for i in self.exchange.instruments.values() if i.quote == self.cash_asset),
            key=lambda i: i.symbol,
        )

    @staticmethod
    def asset_id(symbol: str) -> str:
        """The asset's UUID (the same for a symbol in every run)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"alpaca-asset:{symbol}"))

    def _stock(self, symbol_or_id: str) -> Instrument | None:
        for inst in self.stocks():
            if symbol_or_id in (inst.symbol, self.asset_id(inst.symbol)):
                return inst
        return None

    def _order_by_id(self, order_id: str) -> ExchangeOrder:
        if not _is_uuid(order_id):
            raise _invalid("order_id is missing")
        order = self.exchange.orders.get(order_id)
        if order is None:
            raise _not_found("order not found")
        return order

    def info(self, order: ExchangeOrder) -> _OrderInfo:
        """Alpaca's view of an order (created for orders placed past the profile)."""
        if order.order_id not in self._info:
            self._info[order.order_id] = _OrderInfo(order.client_order_id or order.order_id)
        return self._info[order.order_id]

    # -- trading: account, clock, assets --------------------------------------------------------
    def _holdings(self) -> list[tuple[Instrument, float]]:
        return [
            (i, self.exchange.balances.get(i.base, 0.0))
            for i in self.stocks()
            if abs(self.exchange.balances.get(i.base, 0.0)) > 1e-12
        ]

    def _account(self, request: Request) -> Any:
        ex = self.exchange
        cash = ex.balances.get(self.cash_asset, 0.0)
        free = ex.free(self.cash_asset)
        long_value = sum(q * ex.price(i.symbol) for i, q in self._holdings() if q > 0)
        short_value = sum(q * ex.price(i.symbol) for i, q in self._holdings() if q < 0)
        equity = cash + long_value + short_value
        return {
            "id": self.account_id,
            "account_number": self.account_number,
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": self.cash_asset,
            "buying_power": _money(free),
            "regt_buying_power": _money(free),
            "daytrading_buying_power": "0",
            "effective_buying_power": _money(free),
            "non_marginable_buying_power": _money(free),
            "options_buying_power": _money(free),
            "cash": _money(cash),
            "accrued_fees": "0",
            "portfolio_value": _money(equity),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": _ts(self._opened()),
            "trade_suspended_by_user": False,
            "multiplier": "1",
            "shorting_enabled": False,
            "equity": _money(equity),
            "last_equity": _money(equity),
            "long_market_value": _money(long_value),
            "short_market_value": _money(short_value),
            "initial_margin": "0",
            "maintenance_margin": "0",
            "last_maintenance_margin": "0",
            "sma": "0",
            "daytrade_count": 0,
            "options_approved_level": 0,
            "options_trading_level": 0,
        }

    def _opened(self) -> float:
        if self.created_at is None:
            self.created_at = self.exchange.now() - 30 * 86_400
        return self.created_at

    def _clock(self, request: Request) -> Any:
        now = self.exchange.now(self.offset(request))
        hours = self.hours
        return {
            "timestamp": hours.local(now).isoformat(timespec="microseconds"),
            "is_open": hours.is_open(now),
            "next_open": hours.local(hours.next_open(now)).isoformat(),
            "next_close": hours.local(hours.next_close(now)).isoformat(),
        }

    def _calendar(self, request: Request) -> Any:
        q = request.query
        try:
            start = date.fromisoformat(q["start"][:10]) if q.get("start") else None
            end = date.fromisoformat(q["end"][:10]) if q.get("end") else None
        except ValueError:
            raise _invalid("invalid start or end: use YYYY-MM-DD") from None
        start = start or self.hours.local(self.exchange.now()).date()
        end = end or start + timedelta(days=30)
        out, day = [], start
        while day <= end:
            if self.hours.trading_day(day):
                out.append(
                    {
                        "date": day.isoformat(),
                        "open": "09:30",
                        "close": "16:00",
                        "session_open": "0400",
                        "session_close": "2000",
                        "settlement_date": self.hours.next_trading_day(day).isoformat(),
                    }
                )
            day += timedelta(days=1)
        return out

    def _asset_json(self, inst: Instrument) -> dict[str, Any]:
        venue, name = self.listings.get(inst.symbol, ("NASDAQ", inst.symbol))
        return {
            "id": self.asset_id(inst.symbol),
            "class": "us_equity",
            "exchange": venue,
            "symbol": inst.symbol,
            "name": name,
            "status": "active",
            "tradable": True,
            "marginable": True,
            "maintenance_margin_requirement": 30,
            "margin_requirement_long": "30",
            "margin_requirement_short": "100",
            "shortable": True,
            "easy_to_borrow": True,
            "fractionable": True,
            "attributes": ["has_options"],
        }

    def _assets(self, request: Request) -> Any:
        q = request.query
        status = q.get("status", "active").lower()
        asset_class = q.get("asset_class", "us_equity").lower()
        wanted = [a for a in q.get("attributes", "").split(",") if a]
        if status != "active" or asset_class != "us_equity":
            return []
        out = []
        for inst in self.stocks():
            item = self._asset_json(inst)
            if q.get("exchange") and item["exchange"] != q["exchange"].upper():
                continue
            if not all(a in item["attributes"] for a in wanted):
                continue
            out.append(item)
        return out

    def _asset(self, request: Request) -> Any:
        wanted = request.path_params["asset"]
        inst = self._stock(wanted)
        if inst is None:
            raise _not_found(f"asset not found for {wanted}")
        return self._asset_json(inst)

    # -- trading: orders --------------------------------------------------------------------------
    def order_json(self, order: ExchangeOrder) -> dict[str, Any]:
        """The order as Alpaca answers it (POST, GET, PATCH, close position)."""
        info = self.info(order)
        status = order.status
        ended = order.updated_at
        limit = order.type == "limit"
        return {
            "id": order.order_id,
            "client_order_id": info.client_order_id,
            "created_at": _ts(order.created_at),
            "updated_at": _ts(order.updated_at),
            "submitted_at": _ts(order.created_at),
            "filled_at": _ts(ended) if status == "filled" else None,
            "expired_at": _ts(ended) if status == "expired" else None,
            "expires_at": _ts(info.expires_at) if info.expires_at is not None else None,
            "canceled_at": _ts(ended) if status == "canceled" else None,
            "failed_at": _ts(ended) if status == "rejected" else None,
            "replaced_at": _ts(ended) if status == "replaced" else None,
            "replaced_by": info.replaced_by,
            "replaces": info.replaces,
            "asset_id": self.asset_id(order.symbol),
            "symbol": order.symbol,
            "asset_class": "us_equity",
            "notional": _num(info.notional),
            "qty": None if info.notional is not None else _num(order.qty),
            "filled_qty": _num(order.filled_qty),
            "filled_avg_price": _num(order.avg_price) if order.filled_qty > 0 else None,
            "order_class": "",
            "order_type": order.type,
            "type": order.type,
            "side": order.side,
            "position_intent": "buy_to_open" if order.side == "buy" else "sell_to_close",
            "time_in_force": order.time_in_force,
            "limit_price": _num(order.price) if limit else None,
            "stop_price": None,
            "status": status,
            "extended_hours": info.extended_hours,
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": None,
        }

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError:
            raise AlpacaError(400, 40010000, "request body format is invalid") from None
        if not isinstance(body, dict):
            raise AlpacaError(400, 40010000, "request body format is invalid")
        return body

    def _check_client_id(self, client_order_id: Any) -> str | None:
        if client_order_id is None:
            return None
        coid = str(client_order_id)
        if len(coid) > 128:
            raise _invalid("client_order_id must be no more than 128 characters")
        if coid in self._client_ids or self.exchange.by_client_id(coid) is not None:
            raise _invalid("client_order_id must be unique")
        return coid

    def _submit(self, request: Request) -> Any:
        body = self._body(request)
        return self.place(
            symbol=body.get("symbol"),
            side=body.get("side"),
            type=body.get("type") or body.get("order_type"),
            time_in_force=body.get("time_in_force"),
            qty=body.get("qty"),
            notional=body.get("notional"),
            limit_price=body.get("limit_price"),
            extended_hours=_flag(body.get("extended_hours", False)),
            client_order_id=body.get("client_order_id"),
            request_index=request.index,
            unsupported=[
                k for k in ("stop_price", "trail_price", "trail_percent", "legs") if body.get(k)
            ]
            + ([f"order_class {body['order_class']}"] if body.get("order_class") else []),
        )

    def place(
        self,
        *,
        symbol: Any,
        side: Any,
        type: Any,
        time_in_force: Any,
        qty: Any = None,
        notional: Any = None,
        limit_price: Any = None,
        extended_hours: bool = False,
        client_order_id: Any = None,
        request_index: int | None = None,
        unsupported: list[str] | None = None,
    ) -> dict[str, Any]:
        """Submit an order as ``POST /v2/orders`` does; the answer's JSON, or AlpacaError."""
        for name, value in (
            ("symbol", symbol),
            ("side", side),
            ("type", type),
            ("time_in_force", time_in_force),
        ):
            if not value:
                raise _invalid(f"{name} is required")
        symbol, side = str(symbol).upper(), str(side).lower()
        kind, tif = str(type).lower(), str(time_in_force).lower()
        if side not in ("buy", "sell"):
            raise _invalid(f"invalid side: {side!r}")
        if tif not in _TIFS:
            raise _invalid(f"invalid time_in_force: {tif!r}")
        if kind not in ("market", "limit", "stop", "stop_limit", "trailing_stop"):
            raise _invalid(f"invalid order type: {kind!r}")
        if kind not in ("market", "limit") or unsupported:
            what = ", ".join(unsupported or []) or f"type {kind}"
            raise _unprocessable(
                f"{what}: not modelled by the harness's alpaca profile (market and limit "
                "simple orders are)"
            )
        if (qty is None) == (notional is None):
            raise _invalid("qty or notional is required, not both")
        if notional is not None and kind != "market":
            raise _invalid("notional orders must be market orders")
        if extended_hours and not (kind == "limit" and tif == "day"):
            raise _unprocessable("extended hours order must be DAY limit orders")
        price = None
        if kind == "limit":
            if limit_price is None:
                raise _invalid("limit_price is required for limit orders")
            price = _number(limit_price, "limit_price")
            if price <= 0:
                raise _invalid("limit_price must be > 0")
        elif limit_price is not None:
            raise _invalid("limit_price must not be given for market orders")
        inst = self._stock(symbol)
        if inst is None:
            raise _invalid(f'asset "{symbol}" not found')
        coid = self._check_client_id(client_order_id)
        market = self.exchange.price(inst.symbol)
        amount = None if notional is None else _number(notional, "notional")
        if amount is not None:
            if amount <= 0:
                raise _invalid("notional must be > 0")
            size = round(amount / market, 9)
        else:
            size = _number(qty, "qty")
            if size <= 0:
                raise _invalid("qty must be > 0")
        self._check_funds(inst, side, size, price or market)
        now = self.exchange.now()
        hold_until = self._hold_until(tif, extended_hours, now)
        order = self.exchange.place_order(
            inst.symbol,
            side,
            kind,
            size,
            price,
            coid,
            request_index=request_index,
            order_id=self._new_id(),
            time_in_force=tif,
            hold=hold_until is not None or tif == "fok",
        )
        info = _OrderInfo(
            client_order_id=coid or self._new_id(),
            extended_hours=extended_hours,
            notional=amount,
            release_at=hold_until,
        )
        self._info[order.order_id] = info
        self._client_ids[info.client_order_id] = order.order_id
        if hold_until is not None:
            self._pending.add(order.order_id)
        elif tif == "fok":
            self._start(order, info, now)
        else:
            self._working(order, info, now)
        return self.order_json(order)

    def _check_funds(self, inst: Instrument, side: str, qty: float, price: float) -> None:
        ex = self.exchange
        if side == "buy":
            cost = qty * price
            if ex.free(inst.quote) < cost:
                raise AlpacaError(
                    403,
                    40310000,
                    "insufficient buying power",
                    buying_power=_money(ex.free(inst.quote)),
                    cost_basis=_money(cost),
                )
            return
        available = ex.free(inst.base)
        if available < qty - 1e-12:
            raise AlpacaError(
                403,
                40310000,
                f"insufficient qty available for order (requested: {_num(qty)}, "
                f"available: {_num(max(0.0, available))})",
                available=_num(max(0.0, available)),
                existing_qty=_num(ex.balances.get(inst.base, 0.0)),
                held_for_orders=_num(ex.locked.get(inst.base, 0.0)),
                symbol=inst.symbol,
            )

    def _orders(self, request: Request) -> Any:
        q = request.query
        status = q.get("status", "open").lower()
        if status not in ("open", "closed", "all"):
            raise _invalid(f"invalid status: {status!r}")
        try:
            limit = int(q.get("limit", "50"))
        except ValueError:
            raise _invalid(f"invalid limit: {q.get('limit')!r}") from None
        if not 1 <= limit <= 500:
            raise _invalid("limit must be between 1 and 500")
        after, until = _when(q.get("after"), "after"), _when(q.get("until"), "until")
        direction = q.get("direction", "desc").lower()
        if direction not in ("asc", "desc"):
            raise _invalid(f"invalid direction: {direction!r}")
        side = q.get("side")
        symbols = {s.strip().upper() for s in q.get("symbols", "").split(",") if s.strip()}
        listed = {i.symbol for i in self.stocks()}
        found = [
            o
            for o in self.exchange.orders.values()
            if o.symbol in listed
            and (status == "all" or (status == "open") == o.open)
            and (after is None or o.created_at > after)
            and (until is None or o.created_at < until)
            and (side is None or o.side == side.lower())
            and (not symbols or o.symbol in symbols)
        ]
        found.sort(key=lambda o: o.created_at)  # stable: same time keeps the send order
        if direction == "desc":
            found.reverse()
        return [self.order_json(o) for o in found[:limit]]

    def _order(self, request: Request) -> Any:
        return self.order_json(self._order_by_id(request.path_params["order_id"]))

    def _by_client_id(self, request: Request) -> Any:
        coid = request.query.get("client_order_id")
        if not coid:
            raise _invalid("client_order_id is missing")
        order_id = self._client_ids.get(coid)
        order = (
            self.exchange.orders.get(order_id)
            if order_id is not None
            else self.exchange.by_client_id(coid)
        )
        if order is None:
            raise _not_found("order not found")
        return self.order_json(order)

    def _replace(self, request: Request) -> Any:
        old = self._order_by_id(request.path_params["order_id"])
        body = self._body(request)
        if not old.open:
            raise _unprocessable(f"order is not replaceable (status: {old.status})")
        if body.get("stop_price") is not None or body.get("trail") is not None:
            raise _invalid("stop_price and trail apply to stop and trailing stop orders only")
        qty = None
        if body.get("qty") is not None:
            qty = _number(body["qty"], "qty")
            if qty <= 0:
                raise _invalid("qty must be > 0")
        price = None
        if body.get("limit_price") is not None:
            if old.type != "limit":
                raise _invalid("limit_price applies to limit orders only")
            price = _number(body["limit_price"], "limit_price")
            if price <= 0:
                raise _invalid("limit_price must be > 0")
        tif = body.get("time_in_force")
        if tif is not None and str(tif).lower() not in _TIFS:
            raise _invalid(f"invalid time_in_force: {tif!r}")
        coid = self._check_client_id(body.get("client_order_id"))
        old_info = self.info(old)
        new = self.exchange.replace(
            old.order_id,
            qty=qty,
            price=price,
            client_order_id=coid,
            time_in_force=str(tif).lower() if tif is not None else None,
            new_order_id=self._new_id(),
            request_index=request.index,
        )
        info = _OrderInfo(
            client_order_id=coid or self._new_id(),
            extended_hours=old_info.extended_hours,
            release_at=old_info.release_at if new.status == "accepted" else None,
            replaces=old.order_id,
        )
        old_info.replaced_by = new.order_id
        old_info.release_at = old_info.expires_at = None
        self._info[new.order_id] = info
        self._client_ids[info.client_order_id] = new.order_id
        if new.status == "accepted":
            self._pending.add(new.order_id)
        else:
            self._working(new, info, self.exchange.now())
        return self.order_json(new)

    def _cancel(self, request: Request) -> Any:
        order = self._order_by_id(request.path_params["order_id"])
        if not order.open:
            raise _unprocessable("order is not cancelable")
        self.exchange.cancel(order.order_id)
        return Response(204)

    def _cancel_all(self, request: Request) -> Any:
        out = []
        for order in [o for o in self.exchange.orders.values() if o.open]:
            self.exchange.cancel(order.order_id)
            out.append({"id": order.order_id, "status": 200, "body": self.order_json(order)})
        return Response(207, json=out)

    # -- trading: positions --------------------------------------------------------------------
    def _position_json(self, inst: Instrument, qty: float) -> dict[str, Any]:
        ex = self.exchange
        price = ex.price(inst.symbol)
        entry = ex.positions().get(inst.symbol, (qty, price))[1] or price
        value, basis = qty * price, qty * entry
        venue, _ = self.listings.get(inst.symbol, ("NASDAQ", inst.symbol))
        pl = value - basis
        plpc = f"{pl / abs(basis):.6f}" if basis else "0"
        return {
            "asset_id": self.asset_id(inst.symbol),
            "symbol": inst.symbol,
            "exchange": venue,
            "asset_class": "us_equity",
            "asset_marginable": True,
            "qty": _num(qty),
            "qty_available": _num(qty - ex.locked.get(inst.base, 0.0)),
            "avg_entry_price": f"{entry:.4f}",
            "side": "long" if qty > 0 else "short",
            "market_value": _money(value),
            "cost_basis": _money(basis),
            "unrealized_pl": _money(pl),
            "unrealized_plpc": plpc,
            "unrealized_intraday_pl": _money(pl),
            "unrealized_intraday_plpc": plpc,
            "current_price": _money(price),
            "lastday_price": _money(price),
            "change_today": "0",
        }

    def _positions(self, request: Request) -> Any:
        return [self._position_json(inst, qty) for inst, qty in self._holdings()]

    def _holding(self, symbol_or_id: str) -> tuple[Instrument, float]:
        inst = self._stock(symbol_or_id)
        qty = self.exchange.balances.get(inst.base, 0.0) if inst is not None else 0.0
        if inst is None or abs(qty) <= 1e-12:
            raise _not_found("position does not exist")
        return inst, qty

    def _position(self, request: Request) -> Any:
        return self._position_json(*self._holding(request.path_params["asset"]))

    def _close(self, symbol_or_id: str, qty: str | None, percentage: str | None, index: int) -> Any:
        inst, held = self._holding(symbol_or_id)
        if qty is not None and percentage is not None:
            raise _invalid("only one of qty or percentage may be given")
        size = abs(held)
        if qty is not None:
            size = _number(qty, "qty")
        elif percentage is not None:
            pct = _number(percentage, "percentage")
            if not 0 < pct <= 100:
                raise _invalid("percentage must be in (0, 100]")
            size = round(abs(held) * pct / 100, 9)
        if size <= 0:
            raise _invalid("qty must be > 0")
        return self.place(
            symbol=inst.symbol,
            side="sell" if held > 0 else "buy",
            type="market",
            time_in_force="day",
            qty=size,
            request_index=index,
        )

    def _close_position(self, request: Request) -> Any:
        q = request.query
        return self._close(
            request.path_params["asset"], q.get("qty"), q.get("percentage"), request.index
        )

    def _close_all(self, request: Request) -> Any:
        if _flag(request.query.get("cancel_orders", "false")):
            for order in [o for o in self.exchange.orders.values() if o.open]:
                self.exchange.cancel(order.order_id)
        out = []
        for inst, _ in self._holdings():
            try:
                body = self._close(inst.symbol, None, None, request.index)
                out.append({"symbol": inst.symbol, "status": 200, "body": body})
            except AlpacaError as exc:
                out.append({"symbol": inst.symbol, "status": exc.status, "body": exc.body})
        return Response(207, json=out)

    # -- market data ---------------------------------------------------------------------------
    def _symbols(self, request: Request) -> list[str]:
        one = request.path_params.get("symbol")
        if one is not None:
            return [one.upper()]
        given = request.query.get("symbols", "")
        symbols = sorted({s.strip().upper() for s in given.split(",") if s.strip()})
        if not symbols:
            raise _invalid("missing symbols", 400)
        return symbols

    def _known(self, symbol: str) -> bool:
        return self._stock(symbol) is not None

    def _window(self, request: Request) -> tuple[float | None, float | None]:
        q = request.query
        start, end = _when(q.get("start"), "start", 400), _when(q.get("end"), "end", 400)
        if start is not None and end is not None and end < start:
            raise _invalid("end should not be before start", 400)
        feed = q.get("feed")
        if feed is not None and feed not in _FEEDS:
            raise _invalid(f"invalid feed: {feed!r}", 400)
        return start, end

    def _page(
        self,
        request: Request,
        key: str,
        items: Callable[[str], list[tuple[int, dict[str, Any]]]],
    ) -> dict[str, Any]:
        """One page of ``items`` (``(sort key, item)`` pairs per symbol, oldest first) as
        Alpaca pages: symbols in order, at most ``min(limit, page_size)`` items in all,
        ``next_page_token`` naming the first item of the next page."""
        q = request.query
        try:
            limit = int(q.get("limit", "1000"))
        except ValueError:
            raise _invalid(f"invalid limit: {q.get('limit')!r}", 400) from None
        if not 1 <= limit <= 10_000:
            raise _invalid("invalid limit: must be between 1 and 10000", 400)
        descending = q.get("sort", "asc").lower() == "desc"
        symbols = self._symbols(request)
        resume = self._resume(q.get("page_token"), symbols)
        page = min(limit, self.page_size)
        out: dict[str, list[dict[str, Any]]] = {}
        taken, token = 0, None
        for symbol in symbols:
            if resume is not None and symbol < resume[0]:
                continue
            series = items(symbol) if self._known(symbol) else []
            if descending:
                series = series[::-1]
            if resume is not None and symbol == resume[0]:
                at = resume[1]
                series = [s for s in series if (s[0] <= at if descending else s[0] >= at)]
            for sort_key, item in series:
                if taken == page:
                    token = base64.b64encode(json.dumps([symbol, sort_key]).encode()).decode()
                    break
                out.setdefault(symbol, []).append(item)
                taken += 1
            if token is not None:
                break
        if request.path_params.get("symbol") is not None:
            return {key: out.get(symbols[0], []), "symbol": symbols[0], "next_page_token": token}
        return {key: out, "next_page_token": token}

    @staticmethod
    def _resume(token: str | None, symbols: list[str]) -> tuple[str, int] | None:
        if not token:
            return None
        try:
            symbol, at = json.loads(base64.b64decode(token, validate=True))
            if symbol in symbols and isinstance(at, int):
                return str(symbol), at
        except (ValueError, TypeError, binascii.Error):
            pass
        raise _invalid("invalid page token", 400)

    @staticmethod
    def bar_json(bar: list[float]) -> dict[str, Any]:
        """A candle ``[t, o, h, l, c, v]`` of the FakeExchange as an Alpaca bar."""
        t, o, h, low, c, v = bar[:6]
        return {
            "t": _ts_seconds(t),
            "o": round(o, 2),
            "h": round(h, 2),
            "l": round(low, 2),
            "c": round(c, 2),
            "v": round(v * 1000),
            "n": max(1, round(v * 10)),
            "vw": round((h + low + c) / 3, 4),
        }

    def _bars(self, request: Request) -> Any:
        interval = timeframe_seconds(request.query.get("timeframe", ""))
        start, end = self._window(request)

        def items(symbol: str) -> list[tuple[int, dict[str, Any]]]:
            return [
                (int(b[0]), self.bar_json(b))
                for b in self.exchange.candles(symbol, interval)
                if (start is None or b[0] >= start) and (end is None or b[0] <= end)
            ]

        return self._page(request, "bars", items)

    def _ticks(self, symbol: str, kind: str) -> list[tuple[int, dict[str, Any]]]:
        """Four trades (or quotes) a minute along the exchange's one-minute candles, the
        same for a candle every time it is asked for (seeded by symbol and minute)."""
        now_ns = int(self.exchange.now() * 1e9)
        tape = self._tape(symbol)
        out = []
        for t, o, h, low, c, _v in self.exchange.candles(symbol, 60):
            rng = random.Random(f"alpaca:{self.exchange.seed}:{kind}:{symbol}:{int(t)}")
            offsets = sorted(rng.sample(range(1, 60_000), 4))
            path = [o, h, low, c] if c >= o else [o, low, h, c]
            for k, (offset_ms, price) in enumerate(zip(offsets, path, strict=True)):
                nanos = int(t) * 1_000_000_000 + offset_ms * 1_000_000 + rng.randrange(1_000_000)
                if nanos > now_ns:
                    break
                if kind == "trades":
                    item = {
                        "t": _ts_nanos(nanos),
                        "x": "V",
                        "p": round(price, 2),
                        "s": rng.randrange(1, 500),
                        "c": ["@"],
                        "i": int(t) // 60 * 4 + k,
                        "z": tape,
                    }
                else:
                    mid = round(price, 2)
                    item = {
                        "t": _ts_nanos(nanos),
                        "ax": "V",
                        "ap": round(mid + 0.01, 2),
                        "as": rng.randrange(1, 10),
                        "bx": "V",
                        "bp": round(mid - 0.01, 2),
                        "bs": rng.randrange(1, 10),
                        "c": ["R"],
                        "z": tape,
                    }
                out.append((nanos, item))
        return out

    def _ticks_page(self, request: Request, kind: str) -> Any:
        start, end = self._window(request)
        lo = None if start is None else int(start * 1e9)
        hi = None if end is None else int(end * 1e9)

        def items(symbol: str) -> list[tuple[int, dict[str, Any]]]:
            return [
                (n, item)
                for n, item in self._ticks(symbol, kind)
                if (lo is None or n >= lo) and (hi is None or n <= hi)
            ]

        return self._page(request, kind, items)

    def _trades(self, request: Request) -> Any:
        return self._ticks_page(request, "trades")

    def _quotes(self, request: Request) -> Any:
        return self._ticks_page(request, "quotes")

    def _tape(self, symbol: str) -> str:
        return _TAPES.get(self.listings.get(symbol, ("NASDAQ", ""))[0], "B")

    def _trade_json(self, symbol: str, price: float) -> dict[str, Any]:
        now = self.exchange.now()
        return {
            "t": _ts_nanos(int(now * 1e9)),
            "x": "V",
            "p": round(price, 2),
            "s": 100,
            "c": ["@"],
            "i": int(now * 1000),
            "z": self._tape(symbol),
        }

    def _latest_trade(self, symbol: str) -> dict[str, Any]:
        """The last trade: at the price the market just stepped to, now."""
        return self._trade_json(symbol, self.exchange.step(symbol))

    def _latest_quote(self, symbol: str) -> dict[str, Any]:
        book = self.exchange.book(symbol, 1)
        tape = self._tape(symbol)
        (bid, bid_size), (ask, ask_size) = book["bids"][0], book["asks"][0]
        return {
            "t": _ts_nanos(int(self.exchange.now() * 1e9)),
            "ax": "V",
            "ap": round(ask, 2),
            "as": int(ask_size * 10) + 1,
            "bx": "V",
            "bp": round(bid, 2),
            "bs": int(bid_size * 10) + 1,
            "c": ["R"],
            "z": tape,
        }

    def _latest(
        self, request: Request, key: str, one: str, make: Callable[[str], dict[str, Any]]
    ) -> Any:
        self._window(request)  # validates feed
        symbols = [s for s in self._symbols(request) if self._known(s)]
        single = request.path_params.get("symbol")
        if single is not None:
            if not symbols:
                raise _not_found(f"no {one} found for {single.upper()}")
            return {"symbol": symbols[0], one: make(symbols[0])}
        return {key: {s: make(s) for s in symbols}}

    def _latest_trades(self, request: Request) -> Any:
        return self._latest(request, "trades", "trade", self._latest_trade)

    def _latest_quotes(self, request: Request) -> Any:
        return self._latest(request, "quotes", "quote", self._latest_quote)

    def _latest_bars(self, request: Request) -> Any:
        return self._latest(
            request, "bars", "bar", lambda s: self.bar_json(self.exchange.candles(s, 60)[-1])
        )

    def _snapshot(self, symbol: str) -> dict[str, Any]:
        quote = self._latest_quote(symbol)  # the market steps once; the rest reads it
        days = self.exchange.candles(symbol, 86_400, step=False)
        return {
            "latestTrade": self._trade_json(symbol, self.exchange.price(symbol)),
            "latestQuote": quote,
            "minuteBar": self.bar_json(self.exchange.candles(symbol, 60, step=False)[-1]),
            "dailyBar": self.bar_json(days[-1]),
            "prevDailyBar": self.bar_json(days[-2]) if len(days) > 1 else None,
        }

    def _snapshots(self, request: Request) -> Any:
        self._window(request)
        symbols = [s for s in self._symbols(request) if self._known(s)]
        single = request.path_params.get("symbol")
        if single is not None:
            if not symbols:
                raise _not_found(f"no snapshot found for {single.upper()}")
            return {"symbol": symbols[0], **self._snapshot(symbols[0])}
        return {s: self._snapshot(s) for s in symbols}
