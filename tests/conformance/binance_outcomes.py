"""What ccxt and python-binance do under each fault of the harness, from real runs.

Both clients run unmodified against the binance-spot profile, in-process (Binance's
production hostnames) and over a socket (``ccxt_urls``, ``python_binance_urls``). For every
fault kind that acts on HTTP, one representative fault (each ``error`` preset and several
corruptions are listed apart) is matched on the role of the call (``ticker`` for the
market-data call, ``order_place`` for the order) on every request (sticky: a dropped GET
fails its transparent resend too). The scenario files are not used: they are being moved to
roles, and a scenario that fires nothing would record nothing. A fresh exchange serves each
case; the client loads its markets (or pings) before the fault is armed.

A cell is what the call returned (described: which fields came back empty, NaN, negative
or old) or what it raised (the client's own exception class; python-binance's
``BinanceAPIException`` with its status and code); ``· order placed`` when the exchange holds
the order although the client got an error or an unusable answer; for a value corruption,
the field it changed. Where the two backends differ, the socket's outcome follows in
parentheses.
``python -m tests.conformance.binance_outcomes`` prints the docs' table.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from harness import faults
from harness.chaos import Chaos
from harness.chaos.faults import Fault
from harness.exchange import MockExchange
from harness.guard import LiveEndpointGuard
from tests.conformance.binance_clients import BACKENDS, Venue, open_venue, prepare

SEED = 11
TIMEOUT_S = 0.5
"""Both clients' timeout against a fault that stalls the answer (their default is 10 s):
what a ``hang`` waits."""
GENEROUS_S = 10.0
"""Their timeout against every other fault: a loaded machine never turns an answer into a
timeout."""

FAULTS: dict[str, Fault] = {
    "`latency` 20 ms": faults.Latency(fixed_ms=20),
    "`hang`": faults.Hang(),
    "`error` 429 `rate_limited`": faults.Error(preset="rate_limited"),
    "`error` 418 `banned`": faults.Error(preset="banned"),
    "`error` 500 `internal`": faults.Error(preset="internal"),
    "`error` 502 `bad_gateway`": faults.Error(preset="bad_gateway"),
    "`error` 503 `maintenance`": faults.Error(preset="maintenance"),
    "`error` 504 `gateway_timeout`": faults.Error(preset="gateway_timeout"),
    "`rate_limit` (bucket empty)": faults.RateLimit(capacity=0.5, refill_per_s=0.001),
    "`disconnect`": faults.Disconnect(),
    "`reset`": faults.Reset(),
    "`truncate` half": faults.Truncate(fraction=0.5),
    "`truncate` half, `framing: close`": faults.Truncate(fraction=0.5, framing="close"),
    "`corrupt` `html_error_page`": faults.Corrupt(corruption="html_error_page"),
    "`corrupt` `invalid_json`": faults.Corrupt(corruption="invalid_json"),
    "`corrupt` `empty_body`": faults.Corrupt(corruption="empty_body"),
    "`corrupt` `nan`": faults.Corrupt(corruption="nan"),
    "`corrupt` `negative_price`": faults.Corrupt(corruption="negative_price"),
    "`corrupt` `null_field`": faults.Corrupt(corruption="null_field"),
    "`corrupt` `wrong_type`": faults.Corrupt(corruption="wrong_type"),
    "`stale` `shift_s: 3600`": faults.Stale(shift_s=3600),
    "`ack_lost` `disconnect`": faults.AckLost(mode="disconnect"),
    "`ack_lost` `hang`": faults.AckLost(mode="hang"),
    "`ack_lost` 504": faults.AckLost(status=504),
    "`dribble` 4 chunks over 40 ms": faults.Dribble(chunks=4, over_ms=40),
    "`clock_skew` -30 s": faults.ClockSkew(offset_s=-30),
}


def timeout_for(fault: Fault) -> float:
    """The clients' timeout in a run of this fault."""
    stalls = isinstance(fault, faults.Hang) or getattr(fault, "mode", None) == "hang"
    return TIMEOUT_S if stalls else GENEROUS_S


def _timeout(seconds: float) -> dict[str, Any]:
    return {"requests_params": {"timeout": seconds}}


@dataclass(frozen=True)
class Call:
    """One client call of the table: which client, the role it hits, and how to make it."""

    client: str
    name: str
    role: str
    run: Callable[[Any, float], Awaitable[Any]]
    """(client, timeout in seconds) -> the call's result."""


CALLS: tuple[Call, ...] = (
    Call("ccxt", "fetch_ticker", "ticker", lambda ex, _: ex.fetch_ticker("BTC/USDT")),
    Call(
        "ccxt",
        "create_order",
        "order_place",
        lambda ex, _: ex.create_order("BTC/USDT", "limit", "buy", 0.01, 50_000.0),
    ),
    Call(
        "python-binance",
        "get_ticker",
        "ticker",
        lambda c, t: c.get_ticker(symbol="BTCUSDT", **_timeout(t)),
    ),
    Call(
        "python-binance",
        "create_order",
        "order_place",
        lambda c, t: c.order_limit_buy(
            symbol="BTCUSDT", quantity="0.01", price="50000", **_timeout(t)
        ),
    ),
)


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _problems(record: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    found = []
    for key in keys:
        if key not in record:
            found.append(f"no {key}")
            continue
        value = record[key]
        number = _number(value)
        if value is None:
            found.append(f"{key}=None")
        elif number is None:
            found.append(f"{key}={value!r}")
        elif math.isnan(number):
            found.append(f"{key}=NaN")
        elif number < 0:
            found.append(f"{key}<0")
    return found


def _age(timestamp_ms: Any) -> str:
    number = _number(timestamp_ms)
    if number is None:
        return ""
    age = time.time() - number / 1000
    if age >= 120:
        return f"{round(age / 60)} min old"
    if age >= 10:
        return f"{round(age / 5) * 5} s old"
    return ""


def _summary(what: str, problems: list[str], age: str = "") -> str:
    notes = problems[:3] + ([f"+{len(problems) - 3} more"] if len(problems) > 3 else [])
    if age:
        notes.append(age)
    return f"{what}: {', '.join(notes)}" if notes else what


def describe(call: Call, result: Any) -> str:
    """What a call returned, in a few words that do not depend on prices or times."""
    if call.client == "ccxt" and isinstance(result, dict):
        if call.role == "ticker":
            keys = ("last", "bid", "ask", "high", "low")
            problems = [p for p in _problems(result, keys) if not p.startswith("no ")]
            if len(problems) == len(keys):
                return "empty ticker (every price None)"
            return _summary("ticker", problems, _age(result.get("timestamp")))
        if result.get("id") is None:
            return f"order with id=None, status={result.get('status')}"
        return _summary(f"order `{result.get('status')}`", _problems(result, ("price", "amount")))
    if isinstance(result, dict):
        if not result:
            return "`{}`"
        if call.role == "ticker":
            keys = ("lastPrice", "bidPrice", "askPrice", "highPrice", "lowPrice")
            return _summary("ticker", _problems(result, keys), _age(result.get("closeTime")))
        problems = _problems(result, ("orderId", "price", "origQty"))
        return _summary(f"order `{result.get('status')}`", problems)
    return f"{type(result).__name__}"


def describe_error(exc: BaseException) -> str:
    from binance.exceptions import BinanceAPIException

    if isinstance(exc, BinanceAPIException):
        return f"BinanceAPIException {exc.status_code} / {exc.code}"
    return type(exc).__name__


async def _client(call: Call, venue: Venue, timeout_s: float) -> Any:
    if call.client == "ccxt":
        exchange = venue.ccxt()
        await exchange.load_markets()
        exchange.timeout = int(timeout_s * 1000)
        return exchange
    return await venue.binance()


async def _case(backend: str, fault: Fault, call: Call) -> str:
    me = MockExchange.create("binance-spot", seed=SEED)
    prepare(me)
    chaos = Chaos(me.server, seed=SEED)
    intercept = me.server.intercept() if backend == "inprocess" else contextlib.nullcontext()
    with intercept, LiveEndpointGuard():
        async with open_venue(me, backend) as venue:
            timeout_s = timeout_for(fault)
            client = await _client(call, venue, timeout_s)
            chaos.inject(fault, match={"role": call.role})
            ok = True
            try:
                seen = describe(call, await call.run(client, timeout_s))
                ok = not seen.startswith("order with id=None") and "`{}`" not in seen
            except Exception as exc:
                seen, ok = describe_error(exc), False
            me.server.cancel_tasks()
    if call.role == "order_place" and not ok and me.exchange.orders:
        seen += " · order placed"
    fields = [e.params["field"] for e in chaos.log if "field" in e.params]
    if fields:  # a value corruption: which field it changed
        seen += f" (in `{fields[0]}`)"
    if not chaos.log:
        seen += " (fired nothing)"
    return seen


async def matrix() -> dict[tuple[str, str, str], str]:
    """(backend, fault label, client call) -> outcome, for every case."""
    results = {}
    for backend in BACKENDS:
        for label, fault in FAULTS.items():
            for call in CALLS:
                key = f"{call.client} `{call.name}`"
                results[(backend, label, key)] = await _case(backend, fault, call)
    return results


def disagreements(
    results: dict[tuple[str, str, str], str],
) -> dict[tuple[str, str], tuple[str, str]]:
    """(fault, call) -> (in-process, socket) outcome, where the two backends differ."""
    return {
        (label, key): (seen, results[("socket", label, key)])
        for (backend, label, key), seen in results.items()
        if backend == "inprocess" and seen != results[("socket", label, key)]
    }


def render(results: dict[tuple[str, str, str], str]) -> str:
    """The docs' table: rows are faults, columns are client calls."""
    keys = [f"{call.client} `{call.name}`" for call in CALLS]
    header = "fault, one per kind, on the call's role, every request (not the scenario files)"
    lines = [f"| {header} | " + " | ".join(keys) + " |", "| --- " * (len(keys) + 1) + "|"]
    for label in FAULTS:
        cells = []
        for key in keys:
            inprocess, socket = results[("inprocess", label, key)], results[("socket", label, key)]
            cells.append(inprocess if inprocess == socket else f"{inprocess} (socket: {socket})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table() -> str:
    return render(asyncio.run(matrix()))


if __name__ == "__main__":
    print(table())
