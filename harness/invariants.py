"""Trading invariants: what a resilient client keeps true while the exchange misbehaves.

Each invariant reads the evidence a chaos test leaves (the request journal, the fault
log, the fake exchange's orders, and what the client says it saw) and returns the
violations it finds, each with its evidence. Invariants register themselves with the
evidence they need; they ask faults for their traits, never for their kind names. Use
them by name from scenario YAML
(``invariants: [no_duplicate_orders, bounded_retries: {max_attempts: 5}]``) or from Python::

    check_invariants(["no_duplicate_orders", "orders_reconciled"], context)
"""

from __future__ import annotations

import inspect
import itertools
import json
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

from harness.chaos.faults.base import Trait
from harness.errors import HarnessWarning, InvariantViolation, UsageError, Violation, messages

if TYPE_CHECKING:
    from harness.chaos.engine import Chaos
    from harness.exchange.core import FakeExchange
    from harness.exchange.profiles import Profile
    from harness.faultlog import FaultEvent
    from harness.mock.journal import JournalEntry
    from harness.mock.server import MockServer

__all__ = [
    "INVARIANTS",
    "Invariant",
    "InvariantContext",
    "Violation",
    "check_after_test",
    "check_invariants",
    "context_for",
    "evaluate",
    "invariant",
    "parse_spec",
]

_VOLATILE_PARAMS = frozenset(("timestamp", "signature", "recvWindow"))

EVIDENCE = {
    "exchange": "the fake exchange's orders (use the mock_exchange fixture)",
    "client_orders": "the client's view of its orders (chaos.watch_client(client) with known_orders)",
    "cycles": "the client's completed trading cycles (chaos.watch_client(client) with cycles)",
}
"""What an invariant may need beyond the journal and the fault log, and how to provide it."""


@dataclass(frozen=True)
class Invariant:
    """A registered invariant: its check, the evidence it needs, and when it holds."""

    name: str
    check: Callable[..., list[Violation]]
    needs: tuple[str, ...]
    holds_when: str

    @property
    def arguments(self) -> list[str]:
        return list(inspect.signature(self.check).parameters)[1:]

    def title(self) -> str:
        args = self.arguments
        return f"{self.name}({', '.join(args)})" if args else self.name


INVARIANTS: dict[str, Invariant] = {}
"""Every invariant by name."""


def invariant(
    name: str, *, holds_when: str, needs: Sequence[str] = ()
) -> Callable[[Callable[..., list[Violation]]], Callable[..., list[Violation]]]:
    """Register an invariant: ``@invariant("name", holds_when=..., needs=("exchange",))``."""
    unknown = [n for n in needs if n not in EVIDENCE]
    if unknown:
        raise UsageError(messages.unknown_evidence(name, unknown, list(EVIDENCE)))

    def register(check: Callable[..., list[Violation]]) -> Callable[..., list[Violation]]:
        if name in INVARIANTS:
            raise UsageError(messages.invariant_registered_twice(name))
        INVARIANTS[name] = Invariant(name, check, tuple(needs), holds_when)
        return check

    return register


@dataclass
class InvariantContext:
    """The evidence of one chaos test."""

    server: MockServer
    chaos: Chaos | None = None
    exchange: FakeExchange | None = None
    profile: Profile | None = None
    client_orders: Mapping[str, str] | None = None
    """The client's final view of its orders: order id -> status."""
    cycles: Sequence[float] | None = None
    """``time.monotonic()`` of every trading cycle the client completed successfully."""

    @property
    def journal(self) -> list[JournalEntry]:
        return list(self.server.journal)

    @property
    def fault_log(self) -> list[FaultEvent]:
        return list(self.chaos.log) if self.chaos is not None else []

    def missing(self, needs: Iterable[str]) -> list[str]:
        """The evidence among ``needs`` this context does not have."""
        return [what for what in needs if getattr(self, what) is None]


def _brief(entry: JournalEntry) -> dict[str, Any]:
    return {
        "index": entry.index,
        "t": round(entry.t, 4),
        "method": entry.method,
        "path": entry.path,
        "params": entry.params,
        "status": entry.status,
        "error": str(entry.error) if entry.error is not None else None,
        "client_outcome": str(entry.client_outcome) if entry.client_outcome else None,
        "faults": [f.kind for f in entry.faults],
    }


def _identity(entry: JournalEntry) -> str:
    params = {k: v for k, v in entry.params.items() if k not in _VOLATILE_PARAMS}
    body = entry.body
    if "timestamp=" in body or "signature=" in body:
        from urllib.parse import parse_qsl

        body = json.dumps(sorted((k, v) for k, v in parse_qsl(body) if k not in _VOLATILE_PARAMS))
    return json.dumps([entry.method, entry.path, sorted(params.items()), body], default=str)


# -- the invariants ------------------------------------------------------------------------


@invariant(
    "no_duplicate_orders",
    holds_when="no order was placed twice for one intent (a resend after a lost ack)",
    needs=("exchange",),
)
def no_duplicate_orders(ctx: InvariantContext) -> list[Violation]:
    exchange = _exchange(ctx)
    entries = ctx.journal
    journal = {e.index: e for e in entries}
    orders = sorted(
        (o for o in exchange.orders.values() if o.request_index is not None),
        key=lambda o: o.request_index,
    )
    out = []
    for first, second in itertools.pairwise(orders):
        entry = journal.get(first.request_index)
        if entry is None or entry.delivered:
            continue  # the client got the first acknowledgement
        same = (first.symbol, first.side, first.type, first.qty, first.price) == (
            second.symbol,
            second.side,
            second.type,
            second.qty,
            second.price,
        )
        between = [e for e in entries if first.request_index < e.index < second.request_index]
        resend = all(e.method == entry.method and e.path == entry.path for e in between)
        if (
            same
            and resend
            and (second.client_order_id is None or second.client_order_id == first.client_order_id)
        ):
            out.append(
                Violation(
                    "no_duplicate_orders",
                    f"order {second.order_id} repeats order {first.order_id}, whose acknowledgement "
                    f"the client never received ({entry.error or entry.client_outcome})",
                    [
                        {"order": first.to_dict()},
                        {"order": second.to_dict()},
                        _brief(entry),
                        *(
                            _brief(journal[second.request_index])
                            for _ in [0]
                            if second.request_index in journal
                        ),
                    ],
                )
            )
    return out


@invariant(
    "orders_reconciled",
    holds_when="the client's final view of its orders equals the exchange's",
    needs=("exchange", "client_orders"),
)
def orders_reconciled(ctx: InvariantContext) -> list[Violation]:
    exchange = _exchange(ctx)
    client = dict(ctx.client_orders or {})
    actual = {o.order_id: o.status for o in exchange.orders.values()}
    out = []
    for order_id, status in sorted(actual.items()):
        if order_id not in client:
            out.append(
                Violation(
                    "orders_reconciled",
                    f"order {order_id} ({status}) exists on the exchange but the client does not know it",
                    [{"order": exchange.orders[order_id].to_dict()}],
                )
            )
        elif client[order_id] != status:
            out.append(
                Violation(
                    "orders_reconciled",
                    f"order {order_id} is {status} on the exchange; the client thinks {client[order_id]}",
                    [
                        {
                            "order": exchange.orders[order_id].to_dict(),
                            "client_status": client[order_id],
                        }
                    ],
                )
            )
    for order_id in sorted(set(client) - set(actual)):
        out.append(
            Violation(
                "orders_reconciled",
                f"the client believes in order {order_id}, which the exchange never had",
                [{"client_order": order_id, "client_status": client[order_id]}],
            )
        )
    return out


@invariant(
    "no_trade_on_invalid_data",
    holds_when="no order after corrupted/stale/truncated market data, before valid data again",
    needs=("exchange",),
)
def no_trade_on_invalid_data(ctx: InvariantContext) -> list[Violation]:
    exchange = _exchange(ctx)
    journal = ctx.journal
    tainted: dict[str, JournalEntry] = {}  # path -> the bad response the client holds
    creators = {o.request_index: o for o in exchange.orders.values() if o.request_index is not None}
    out = []
    for entry in journal:
        if (
            entry.method == "GET"
            and entry.delivered
            and entry.status is not None
            and entry.status < 400
        ):
            bad = [f for f in entry.faults if f.has(Trait.TAINTS_DATA)]
            if bad:
                tainted[entry.path] = entry
            else:
                tainted.pop(entry.path, None)
        order = creators.get(entry.index)
        if order is not None and tainted:
            causes = sorted(tainted.values(), key=lambda e: e.index)
            out.append(
                Violation(
                    "no_trade_on_invalid_data",
                    f"order {order.order_id} was placed after the client received invalid data from "
                    + ", ".join(
                        f"{e.path} (request {e.index}: {', '.join(_fault_names(e))})"
                        for e in causes
                    )
                    + " and before valid data replaced it",
                    [{"order": order.to_dict()}, *(_brief(e) for e in causes), _brief(entry)],
                )
            )
    return out


def _fault_names(entry: JournalEntry) -> list[str]:
    names = []
    for f in entry.faults:
        extra = f.params.get("corruption")
        names.append(f"{f.kind}:{extra}" if extra else f.kind)
    return names


@invariant(
    "bounded_retries",
    holds_when="no request is tried more than max_attempts times in a row",
)
def bounded_retries(
    ctx: InvariantContext, max_attempts: int = 5, reset_after_s: float = 1.0
) -> list[Violation]:
    if max_attempts < 1:
        raise UsageError(
            messages.bad_invariant_argument("bounded_retries", "max_attempts", max_attempts, ">= 1")
        )
    out = []
    chain: list[JournalEntry] = []
    reported: set[int] = set()
    for entry in ctx.journal:
        if entry.attempt > 1:
            # aiohttp's own transparent re-send, not the client's retry: it does not count,
            # but when it succeeded the client saw a success.
            if not entry.failed:
                chain = []
            continue
        previous = chain[-1] if chain else None
        continues = (
            previous is not None
            and previous.failed
            and _identity(previous) == _identity(entry)
            and entry.t - (previous.t + (previous.duration or 0.0)) < reset_after_s
        )
        chain = [*chain, entry] if continues else [entry]
        if len(chain) > max_attempts and id(chain[0]) not in reported:
            reported.add(id(chain[0]))
            out.append(
                Violation(
                    "bounded_retries",
                    f"{chain[0].method} {chain[0].path} was tried more than {max_attempts} times in a row "
                    f"(requests {chain[0].index}..{entry.index})",
                    [_brief(e) for e in chain[: max_attempts + 1]],
                )
            )
    return out


def _retry_after(entry: JournalEntry) -> float | None:
    headers = {k.lower(): v for k, v in (entry.response_headers or {}).items()}
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _scope(entry: JournalEntry) -> Callable[[JournalEntry], bool]:
    """Which later requests a Retry-After on ``entry`` covers: those the limiting fault's
    match accepts, or (without such a fault) the same path."""
    for event in entry.faults:
        if event.has(Trait.LIMITS_RATE) and event.fault is not None:
            position = event.fault
            return lambda e: position in e.matched_faults
    return lambda e: e.path == entry.path


def _waits(
    ctx: InvariantContext, statuses: tuple[int, ...], name: str, what: str
) -> list[Violation]:
    out = []
    journal = ctx.journal
    for i, entry in enumerate(journal):
        if entry.status not in statuses or not entry.delivered:
            continue
        wait = _retry_after(entry)
        if wait is None:
            continue
        until = entry.t + (entry.duration or 0.0) + wait
        in_scope = _scope(entry)
        early = [
            e for e in journal[i + 1 :] if e.t < until - 0.001 and e.attempt == 1 and in_scope(e)
        ]
        if early:
            first = early[0]
            out.append(
                Violation(
                    name,
                    f"request {first.index} ({first.method} {first.path}) came "
                    f"{until - first.t:.3f} s before the end of the {what} of request {entry.index} "
                    f"({entry.status}, Retry-After {wait:g} s); {len(early)} such request(s)",
                    [_brief(entry), *(_brief(e) for e in early[:5])],
                )
            )
    return out


@invariant(
    "respects_retry_after",
    holds_when="nothing is sent to a limited route before its Retry-After elapsed",
)
def respects_retry_after(ctx: InvariantContext) -> list[Violation]:
    return _waits(ctx, (429, 503), "respects_retry_after", "wait")


@invariant(
    "no_requests_while_banned",
    holds_when="nothing is sent to a banned route while the 418 ban lasts",
)
def no_requests_while_banned(ctx: InvariantContext) -> list[Violation]:
    return _waits(ctx, (418,), "no_requests_while_banned", "ban")


@invariant(
    "recovers_within",
    holds_when="after the last fault, the client completes a good cycle within the bound",
    needs=("cycles",),
)
def recovers_within(ctx: InvariantContext, seconds: float = 10.0) -> list[Violation]:
    """After every fault, a good cycle completes within ``seconds`` (or the test ends first).

    A fault followed by no good cycle at all counts until the moment of the check: a client
    stuck on a hung request is caught, a client that keeps trading under constant latency
    is not.
    """
    cycles = ctx.cycles or []
    t0 = ctx.server.t0
    done = sorted(c - t0 for c in cycles)
    end = ctx.server.now()
    worst: tuple[float, dict[str, Any], float | None] | None = None
    for line in ctx.fault_log:
        after = next((c for c in done if c >= line.t), None)
        took = (after if after is not None else end) - line.t
        if took > seconds and (worst is None or took > worst[0]):
            worst = (took, line, after)
    if worst is None:
        return []
    took, line, after = worst
    how = (
        f"the next good cycle came {took:.2f} s later"
        if after is not None
        else f"no good cycle followed in the {took:.2f} s until the check"
    )
    return [
        Violation(
            "recovers_within",
            f"after the {line.kind} fault at t={line.t:.3f} s (request {line.index}) {how}; "
            f"the bound is {seconds:g} s",
            [line.to_dict()],
        )
    ]


@invariant(
    "no_unhandled_gap",
    holds_when="after a lost, skipped or reordered stream update, the client resynced before trading",
    needs=("exchange",),
)
def no_unhandled_gap(
    ctx: InvariantContext, snapshot_path: str | None = None, grace_s: float = 0.1
) -> list[Violation]:
    """After a stream lost, skipped or reordered an update, the client rebuilt its book from
    the REST snapshot before it placed its next order. A lost update shows only when the next
    one arrives, so orders within ``grace_s`` of the fault are not held against the client."""
    exchange = _exchange(ctx)
    path = snapshot_path or getattr(ctx.profile, "snapshot_path", "") or "/v1/book"
    journal = ctx.journal
    by_index = {e.index: e for e in journal}
    snapshots = [e.t for e in journal if e.method == "GET" and e.path == path and e.delivered]
    orders = sorted(
        (
            (by_index[o.request_index].t, o)
            for o in exchange.orders.values()
            if o.request_index in by_index
        ),
        key=lambda pair: pair[0],
    )
    out = []
    for line in ctx.fault_log:
        if not line.has(Trait.BREAKS_SEQUENCE):
            continue
        nxt = next(((t, o) for t, o in orders if t > line.t + grace_s), None)
        if nxt is None:
            continue
        placed_at, order = nxt
        if not any(line.t < t < placed_at for t in snapshots):
            out.append(
                Violation(
                    "no_unhandled_gap",
                    f"after a {line.kind} on {line.path} (t={line.t:.3f} s) order {order.order_id} was "
                    f"placed at t={placed_at:.3f} s without a resync from {path}",
                    [line.to_dict(), {"order": order.to_dict()}],
                )
            )
    return out


@invariant(
    "reconnects_with_backoff",
    holds_when="after the exchange dropped a stream, the client waited before reconnecting",
)
def reconnects_with_backoff(ctx: InvariantContext, min_delay_s: float = 0.1) -> list[Violation]:
    """After the exchange dropped a stream, the client waited at least ``min_delay_s`` before
    connecting again (no tight reconnect loop hammering a struggling exchange)."""
    connects = [e for e in ctx.journal if e.method == "WS"]
    out = []
    for line in ctx.fault_log:
        if not line.has(Trait.CLOSES_STREAM):
            continue
        nxt = next((e for e in connects if e.path == line.path and e.t > line.t), None)
        if nxt is not None and nxt.t - line.t < min_delay_s:
            out.append(
                Violation(
                    "reconnects_with_backoff",
                    f"the stream {line.path} was dropped at t={line.t:.3f} s and the client "
                    f"reconnected {nxt.t - line.t:.3f} s later (at least {min_delay_s:g} s expected)",
                    [line.to_dict(), _brief(nxt)],
                )
            )
    return out


def _exchange(ctx: InvariantContext) -> FakeExchange:
    exchange = ctx.exchange
    assert exchange is not None  # the registry checks an invariant's needs before it runs
    return exchange


def parse_spec(spec: str | Mapping[str, Mapping[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``{"name": {argument: value}}`` -> (name, arguments), checked."""
    if isinstance(spec, str):
        name, args = spec, {}
    elif isinstance(spec, Mapping) and len(spec) == 1:
        name, raw = next(iter(spec.items()))
        args = dict(raw or {})
    else:
        raise UsageError(messages.bad_invariant_spec(spec))
    if name not in INVARIANTS:
        near = get_close_matches(str(name), list(INVARIANTS), n=1)
        raise UsageError(messages.unknown_invariant(str(name), near, list(INVARIANTS)))
    allowed = INVARIANTS[name].arguments
    unknown = [a for a in args if a not in allowed]
    if unknown:
        raise UsageError(messages.bad_invariant_arguments(str(name), allowed, unknown))
    return str(name), args


def evaluate(
    specs: Iterable[str | Mapping[str, Mapping[str, Any]]], ctx: InvariantContext
) -> list[Violation]:
    """Every violation of every invariant named in ``specs``."""
    out: list[Violation] = []
    for spec in specs:
        name, args = parse_spec(spec)
        entry = INVARIANTS[name]
        missing = ctx.missing(entry.needs)
        if missing:
            raise UsageError(messages.invariant_needs(name, missing, EVIDENCE))
        out.extend(entry.check(ctx, **args))
    return out


def check_invariants(
    specs: Iterable[str | Mapping[str, Mapping[str, Any]]], ctx: InvariantContext
) -> None:
    """Raise :class:`InvariantViolation` listing every violation, with its evidence."""
    __tracebackhide__ = True
    violations = evaluate(specs, ctx)
    if violations:
        raise InvariantViolation(violations)


def context_for(chaos: Chaos, exchange: Any = None, client: Any = None) -> InvariantContext:
    """The context of a chaos test: its server and faults, the fake exchange mounted on the
    server (or the one given: a ``MockExchange``, a ``FakeExchange``), and the client if
    one was watched."""
    client = client if client is not None else chaos.client
    profile = getattr(exchange, "profile", None) or chaos.server.profile
    if exchange is None and profile is not None:
        exchange = profile.exchange
    return InvariantContext(
        server=chaos.server,
        chaos=chaos,
        exchange=getattr(exchange, "exchange", exchange),
        profile=profile,
        client_orders=getattr(client, "known_orders", None),
        cycles=getattr(client, "cycles", None),
    )


def checkable(
    specs: Iterable[str | Mapping[str, Mapping[str, Any]]], ctx: InvariantContext
) -> tuple[list[str | Mapping[str, Mapping[str, Any]]], list[str]]:
    """Split specs into those the context can check and the names of those it cannot."""
    ok: list[str | Mapping[str, Mapping[str, Any]]] = []
    skipped: list[str] = []
    for spec in specs:
        name, _ = parse_spec(spec)
        if ctx.missing(INVARIANTS[name].needs):
            skipped.append(name)
        else:
            ok.append(spec)
    return ok, skipped


def check_after_test(chaos: Chaos) -> None:
    """What the pytest plugin runs when a chaos test ends: the invariants of its scenarios,
    unless the test judged them itself (``chaos.violations()``)."""
    __tracebackhide__ = True
    if chaos.judged:
        return
    specs = [spec for scenario in chaos.scenarios for spec in scenario.invariants]
    if not specs:
        return
    ctx = context_for(chaos)
    specs, skipped = checkable(specs, ctx)
    if skipped:
        warnings.warn(HarnessWarning(messages.invariants_not_checked(skipped)), stacklevel=2)
    chaos.judged = True
    check_invariants(specs, ctx)


def names(violations: Iterable[Violation]) -> set[str]:
    return {v.invariant for v in violations}


def _table() -> str:
    rows = ["| name | holds when | needs |", "| --- | --- | --- |"]
    for entry in INVARIANTS.values():
        needs = ", ".join(entry.needs) or "the journal and fault log"
        rows.append(f"| ``{entry.title()}`` | {entry.holds_when} | {needs} |")
    return "\n".join(rows) + "\n"


__doc__ = (__doc__ or "") + "\n" + _table()
