"""What alpaca-py 0.44 does under each fault of the harness, from real runs.

alpaca-py's ``TradingClient`` and ``StockHistoricalDataClient`` run unmodified against the
``alpaca`` profile served on a 127.0.0.1 socket, with two exceptions stated in the docs:
``url_override`` (the server's URL) and ``_retry_wait = 0`` (alpaca-py sleeps a fixed 3 s
before each of its 3 retries of a 429 or 504, whatever ``Retry-After`` says; here it re-sends
at once, which changes no outcome, only the time taken).

For every call and every fault (one of each kind, matched on the role of the call), a fresh
exchange records what alpaca-py returned or raised, how many requests the server saw during
the call, and how many orders the exchange holds because of it.
``python -m tests.conformance.alpaca_outcomes`` prints the docs' tables.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness import faults
from harness.chaos import Chaos
from harness.chaos.faults import Fault
from harness.exchange import MockExchange
from harness.exchange.profiles.alpaca import eastern

SEED = 7
START = eastern(2024, 1, 2, 10, 0, 7)
"""A Tuesday, 10:00:07 ET: the market is open, so market orders fill at once."""
HANG_WAIT_S = 0.3
"""How long a call must still be blocked after a ``hang`` fired to be reported as blocked."""


@dataclass
class Clients:
    """alpaca-py's two REST clients, pointed at one server (its bare origin)."""

    url: str
    trading: Any = field(init=False)
    data: Any = field(init=False)

    def __post_init__(self) -> None:
        from alpaca.data.historical.stock import StockHistoricalDataClient
        from alpaca.trading.client import TradingClient

        self.trading = TradingClient("PKTEST", "secret", paper=True, url_override=self.url)
        self.data = StockHistoricalDataClient("PKTEST", "secret", url_override=self.url)
        for client in (self.trading, self.data):
            client._retry_wait = 0  # alpaca-py's fixed 3 s between retries, skipped


def _market(client_order_id: str | None = None) -> Any:
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import MarketOrderRequest

    return MarketOrderRequest(
        symbol="AAPL",
        qty=1,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.DAY,
        client_order_id=client_order_id,
    )


def _resting(clients: Clients, client_order_id: str) -> Any:
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest

    return clients.trading.submit_order(
        LimitOrderRequest(
            symbol="AAPL",
            qty=1,
            side=OrderSide.BUY,
            time_in_force=TimeInForce.GTC,
            limit_price=100,
            client_order_id=client_order_id,
        )
    )


def _bars(clients: Clients, _: Any) -> Any:
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame

    request = StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame.Minute, limit=50)
    return clients.data.get_stock_bars(request)


def _quote(clients: Clients, _: Any) -> Any:
    from alpaca.data.requests import StockLatestQuoteRequest

    return clients.data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))


@dataclass(frozen=True)
class Call:
    """One client method: ``setup`` prepares two arguments (a warm-up's and the measured
    call's) before any fault is armed; ``run`` calls the method with one of them."""

    name: str
    role: str
    run: Callable[[Clients, Any], Any]
    setup: Callable[[Clients], list[Any]] = lambda clients: [None, None]


CALLS: dict[str, Call] = {
    "submit_order": Call(
        "TradingClient.submit_order (market, no client_order_id)",
        "order_place",
        lambda c, _: c.trading.submit_order(_market()),
    ),
    "submit_order_coid": Call(
        "TradingClient.submit_order (market, client_order_id)",
        "order_place",
        lambda c, coid: c.trading.submit_order(_market(coid)),
        lambda c: ["coid-warm-up", "coid-1"],
    ),
    "get_order_by_client_id": Call(
        "TradingClient.get_order_by_client_id",
        "order_query",
        lambda c, coid: c.trading.get_order_by_client_id(coid),
        lambda c: [_resting(c, "rest-0").client_order_id, _resting(c, "rest-1").client_order_id],
    ),
    "cancel_order_by_id": Call(
        "TradingClient.cancel_order_by_id",
        "order_cancel",
        lambda c, order_id: c.trading.cancel_order_by_id(order_id),
        lambda c: [_resting(c, "rest-0").id, _resting(c, "rest-1").id],
    ),
    "get_account": Call(
        "TradingClient.get_account", "account", lambda c, _: c.trading.get_account()
    ),
    "get_clock": Call("TradingClient.get_clock", "time", lambda c, _: c.trading.get_clock()),
    "get_stock_bars": Call("StockHistoricalDataClient.get_stock_bars", "bars", _bars),
    "get_stock_latest_quote": Call(
        "StockHistoricalDataClient.get_stock_latest_quote", "book", _quote
    ),
}
ORDER_CALLS = ("submit_order", "submit_order_coid")
OTHER_CALLS = tuple(name for name in CALLS if name not in ORDER_CALLS)

ONE_SHOT: dict[str, Any] = {"first": 1}
STICKY: dict[str, Any] = {}


@dataclass(frozen=True)
class Case:
    """One fault, as a docs table row: its label, the fault, its schedule."""

    label: str
    fault: Fault
    schedule: dict[str, Any] = field(default_factory=lambda: dict(ONE_SHOT))
    warm_up: bool = False
    """Call once before the measured call (``stale`` serves an earlier answer)."""


CASES: list[Case] = [
    Case("`latency` 50 ms", faults.Latency(fixed_ms=50)),
    Case("`hang`", faults.Hang()),
    Case("`error` 429 (`rate_limited`, Retry-After: 1)", faults.Error(preset="rate_limited")),
    Case("`error` 429, every request", faults.Error(preset="rate_limited"), STICKY),
    Case("`error` 500 (`internal`)", faults.Error(preset="internal")),
    Case("`error` 503 (`maintenance`)", faults.Error(preset="maintenance")),
    Case("`error` 504 (`gateway_timeout`)", faults.Error(preset="gateway_timeout")),
    Case("`error` 504, every request", faults.Error(preset="gateway_timeout"), STICKY),
    Case(
        "`rate_limit` (an empty bucket: every request)",
        faults.RateLimit(capacity=0.5, refill_per_s=0.001),
        STICKY,
    ),
    Case("`disconnect`", faults.Disconnect()),
    Case("`reset`", faults.Reset()),
    Case("`truncate` half the body", faults.Truncate(fraction=0.5)),
    Case("`corrupt` `html_error_page`", faults.Corrupt(corruption="html_error_page")),
    Case(
        "`stale` (`age: 1`, on the second call)",
        faults.Stale(age=1),
        {"after": 1, "first": 1},
        warm_up=True,
    ),
    Case("`ack_lost` `disconnect`", faults.AckLost(mode="disconnect")),
    Case("`ack_lost` status 500", faults.AckLost(status=500)),
    Case("`ack_lost` status 504", faults.AckLost(status=504)),
    Case("`ack_lost` status 504, every request", faults.AckLost(status=504), STICKY),
    Case("`dribble` 4 chunks over 40 ms", faults.Dribble(chunks=4, over_ms=40)),
    Case("`clock_skew` +30 s", faults.ClockSkew(offset_s=30)),
]


@dataclass(frozen=True)
class Outcome:
    seen: str
    """What alpaca-py returned (``Order (filled)``) or raised (``APIError 504``)."""
    requests: int
    """Requests the server saw during the call (retries included)."""
    orders: int
    """Orders the exchange holds because of the call."""
    fired: int
    """Times the fault fired during the call."""


def describe(value: Any, error: BaseException | None, earlier: Any = None) -> str:
    """A short text for what a call gave: the exception type, or the returned type."""
    if error is not None:
        from alpaca.common.exceptions import APIError

        if isinstance(error, APIError):
            status = error.status_code
            try:
                code, message = error.code, error.message
            except (ValueError, KeyError, TypeError):
                return f"raises `APIError` {status} (no JSON body)"
            said = f" {message}" if 400 <= status < 500 and status != 429 else ""
            return f"raises `APIError` {status} `{code}`{said}"
        return f"raises `{type(error).__name__}`"
    if value is None:
        text = "returns `None`"
    elif isinstance(value, dict):
        text = "returns " + ", ".join(f"`{type(v).__name__}`" for v in value.values())
    elif hasattr(value, "data") and isinstance(value.data, dict):  # BarSet and friends
        count = sum(len(v) for v in value.data.values())
        text = f"returns `{type(value).__name__}` of {count}"
    elif hasattr(value, "status") and hasattr(value, "client_order_id"):
        text = f"returns `Order` ({value.status.value})"
    else:
        text = f"returns `{type(value).__name__}`"
    if earlier is not None and value is not None and value == earlier:
        text += ", the earlier answer"
    return text


@dataclass
class _Result:
    value: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _start(call: Callable[[], Any]) -> tuple[threading.Thread, _Result]:
    result = _Result()

    def target() -> None:
        try:
            result.value = call()
        except BaseException as exc:
            result.error = exc
        finally:
            result.done.set()

    thread = threading.Thread(target=target, name="alpaca-call", daemon=True)
    thread.start()
    return thread, result


def run_case(call_name: str, case: Case, seed: int = SEED) -> Outcome:
    """One call under one fault, on a fresh exchange and server."""
    call = CALLS[call_name]
    me = MockExchange.create("alpaca", seed=seed)
    me.exchange.set_time(START)
    chaos = Chaos(me.server, seed=seed)
    thread: threading.Thread | None = None
    with me.server.serve_in_thread() as url:
        clients = Clients(url)
        args = call.setup(clients)
        chaos.inject(case.fault, match={"role": call.role}, schedule=case.schedule)
        earlier = call.run(clients, args[0]) if case.warm_up else None
        fired_before = chaos.log.total
        requests, orders = me.server.journal.total, len(me.exchange.orders)
        thread, result = _start(lambda: call.run(clients, args[1]))
        blocked = False
        if isinstance(case.fault, faults.Hang):
            _wait_for(lambda: chaos.log.total > fired_before or result.done.is_set())
            blocked = not result.done.wait(HANG_WAIT_S)
        else:
            blocked = not result.done.wait(30)
        requests = me.server.journal.total - requests
        orders = len(me.exchange.orders) - orders
        fired = len(chaos.log) - fired_before
    # leaving the server closed the hung connection; the blocked call ends with it
    thread.join(30)
    seen = (
        "blocks (no timeout)"
        if blocked
        else describe(result.value, result.error, earlier if case.warm_up else None)
    )
    return Outcome(seen, requests, orders, fired)


def _wait_for(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    event = threading.Event()
    for _ in range(int(limit_s / 0.005)):
        if condition():
            return
        event.wait(0.005)


def _fired(outcome: Outcome) -> str:
    return "" if outcome.fired else " (the fault did not fire)"


def _requests(n: int) -> str:
    return f"{n} request" + ("" if n == 1 else "s")


ORDERS_HEADER = [
    "| fault (on the call's role) | `submit_order`, no `client_order_id`: alpaca-py "
    "| requests | orders | `submit_order` with `client_order_id`: alpaca-py "
    "| requests | orders |",
    "| --- | --- | --- | --- | --- | --- | --- |",
]
CALLS_HEADER = [
    "| fault (on the call's role) | "
    + " | ".join(f"`{CALLS[n].name.split('.')[-1]}` ({CALLS[n].role})" for n in OTHER_CALLS)
    + " |",
    "| --- |" + " --- |" * len(OTHER_CALLS),
]


def orders_row(case: Case, outcomes: dict[str, Outcome]) -> str:
    """A row of the order table: what alpaca-py did, requests seen, orders left."""
    cells = []
    for name in ORDER_CALLS:
        o = outcomes[name]
        cells += [o.seen + _fired(o), str(o.requests), str(o.orders)]
    return f"| {case.label} | " + " | ".join(cells) + " |"


def calls_row(case: Case, outcomes: dict[str, Outcome]) -> str:
    """A row of the table of the other calls: what alpaca-py did, and requests seen."""
    cells = []
    for name in OTHER_CALLS:
        o = outcomes[name]
        cells.append(f"{o.seen}{_fired(o)}, {_requests(o.requests)}")
    return f"| {case.label} | " + " | ".join(cells) + " |"


def outcomes_of(case: Case) -> dict[str, Outcome]:
    """Every call of the tables under one fault."""
    return {name: run_case(name, case) for name in CALLS}


def render(results: dict[str, dict[str, Outcome]]) -> str:
    """The docs' tables (case label -> call -> outcome): order placement with the orders
    it left, a blank line, then the other calls."""
    lines = list(ORDERS_HEADER)
    lines += [orders_row(case, results[case.label]) for case in CASES]
    lines += ["", *CALLS_HEADER]
    lines += [calls_row(case, results[case.label]) for case in CASES]
    return "\n".join(lines)


def table() -> str:
    return render({case.label: outcomes_of(case) for case in CASES})


if __name__ == "__main__":
    print(table())
