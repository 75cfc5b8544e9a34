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

import contextlib
import inspect
import json
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field, PydanticUserError, TypeAdapter, ValidationError

from harness.chaos.faults.base import Trait
from harness.errors import (
    InvariantViolation,
    MissingEvidence,
    UsageError,
    Violation,
    messages,
)
from harness.intents import intent_of
from harness.roles import LOOKUP, MARKET_DATA

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
    "is_optional",
    "markdown_table",
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

    def check_arguments(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """The arguments as the check's annotations type and bound them (``max_attempts:
        Annotated[int, Field(ge=1)]``; numbers finite); a value that does not fit is a
        ``UsageError`` now, not a ``TypeError`` when the test has already run."""
        adapters = _argument_adapters(self.check)
        out = dict(args)
        for argument, value in args.items():
            adapter = adapters.get(argument)
            if adapter is None:
                continue
            try:
                out[argument] = adapter.validate_python(value)
            except ValidationError as exc:
                expected = " or ".join(
                    dict.fromkeys(
                        str(e["msg"]).removeprefix("Input should be ")
                        for e in exc.errors(include_url=False)
                    )
                )
                raise UsageError(
                    messages.bad_invariant_argument(self.name, argument, value, expected)
                ) from None
        return out


_ARGUMENT_CONFIG = ConfigDict(allow_inf_nan=False)


@cache
def _argument_adapters(check: Callable[..., Any]) -> dict[str, TypeAdapter[Any]]:
    """A validator per annotated argument of ``check`` (none when they do not resolve: a
    user's invariant may annotate with names only a type checker sees)."""
    try:
        hints = typing.get_type_hints(check, include_extras=True)
    except (NameError, TypeError):
        return {}
    adapters: dict[str, TypeAdapter[Any]] = {}
    for name in list(inspect.signature(check).parameters)[1:]:
        if name in hints:
            with contextlib.suppress(PydanticUserError):  # a type pydantic cannot check
                adapters[name] = TypeAdapter(hints[name], config=_ARGUMENT_CONFIG)
    return adapters


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
    """:func:`harness.clock.monotonic` at every trading cycle the client completed successfully."""

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


def _ambiguous(entry: JournalEntry) -> bool:
    """The order exists (its responder answered with success), but the client did not get
    a good acknowledgement: lost, timed out, cut, or replaced by an error."""
    if not entry.took_effect:
        return False
    return not entry.delivered or entry.failed


def _informed(entry: JournalEntry) -> bool:
    """A lookup whose answer reached the client: it can tell whether its order exists."""
    return entry.role in LOOKUP and entry.delivered and not entry.failed


@invariant(
    "no_duplicate_orders",
    holds_when=(
        "no order was placed twice for one intent: after an ambiguous outcome (ack lost, "
        "timeout, disconnect, 5xx after the order existed), the client looked the order "
        "up before sending it again"
    ),
)
def no_duplicate_orders(ctx: InvariantContext) -> list[Violation]:
    """Judged on ``order_place`` requests in the journal, by intent (symbol, side, type,
    quantity, price), whatever client order ids, timestamps and signatures the sends carry."""
    entries = ctx.journal
    fields = getattr(ctx.profile, "intent_fields", None)
    places = [e for e in entries if e.role == "order_place" and e.attempt == 1]
    intents = {e.index: intent_of(e, fields) for e in places}
    out = []
    for first in places:
        if not _ambiguous(first):
            continue
        for second in places:
            if second.index <= first.index or intents[second.index] != intents[first.index]:
                continue
            between = [e for e in entries if first.index < e.index < second.index]
            if any(_informed(e) for e in between):
                break  # the client checked before sending the same order again
            if not second.took_effect:
                continue  # the exchange refused the second (a duplicate client order id)
            outcome = first.error or first.client_outcome or f"HTTP {first.status}"
            out.append(
                Violation(
                    "no_duplicate_orders",
                    f"request {second.index} placed the same order as request {first.index} "
                    f"({intents[first.index]}), whose acknowledgement the client never got "
                    f"({outcome}), without looking it up in between: the exchange holds both",
                    [{"intent": str(intents[first.index])}, _brief(first), _brief(second)],
                )
            )
            break
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
    holds_when=(
        "no order was placed after the client received market data a fault made invalid "
        "(corrupted, cut, stale), before valid data from that endpoint replaced it"
    ),
)
def no_trade_on_invalid_data(ctx: InvariantContext) -> list[Violation]:
    """Judged on the journal by roles: market data (bars, ticker, book, trades) delivered
    with a ``taints_data`` fault taints its endpoint until a clean answer from it; an
    ``order_place`` that took effect meanwhile is a violation."""
    tainted: dict[str, JournalEntry] = {}  # route -> the bad answer the client holds
    out = []
    for entry in ctx.journal:
        if entry.role in MARKET_DATA and entry.delivered and not entry.failed:
            if any(f.has(Trait.TAINTS_DATA) for f in entry.faults):
                tainted[entry.route or entry.path] = entry
            else:
                tainted.pop(entry.route or entry.path, None)
        if entry.role == "order_place" and entry.took_effect and tainted:
            causes = sorted(tainted.values(), key=lambda e: e.index)
            out.append(
                Violation(
                    "no_trade_on_invalid_data",
                    f"request {entry.index} placed an order after the client received invalid "
                    "data from "
                    + ", ".join(
                        f"{e.path} (request {e.index}: {', '.join(_fault_names(e))})"
                        for e in causes
                    )
                    + " and before valid data replaced it",
                    [*(_brief(e) for e in causes), _brief(entry)],
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
    ctx: InvariantContext,
    max_attempts: Annotated[int, Field(ge=1)] = 5,
    reset_after_s: Annotated[float, Field(ge=0)] = 1.0,
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
    reported: set[int] = set()  # early requests already held against an earlier wait
    for i, entry in enumerate(journal):
        if entry.status not in statuses or not entry.delivered or entry.index in reported:
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
            reported.update(e.index for e in early)
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


def _bursts(ctx: InvariantContext) -> list[tuple[float, FaultEvent]]:
    """When each burst of consecutive faulted requests ended (the client could try again
    from then on), with the burst's first fault: a burst ends when its last request ends,
    or, for one that never answered, when the client sent its next request; and not before
    a Retry-After (429, 503) or a ban (418) of one of its answers elapsed."""
    journal = ctx.journal
    out: list[tuple[float, FaultEvent]] = []
    burst: list[JournalEntry] = []

    def close(next_start: float | None) -> None:
        if not burst:
            return
        last = burst[-1]
        end = next_start if next_start is not None else last.t
        if last.duration is not None:
            end = last.t + last.duration
        for entry in burst:  # the client may not try again before a wait it was told
            wait = _retry_after(entry) if entry.status in (418, 429, 503) else None
            if wait is not None:
                end = max(end, entry.t + (entry.duration or 0.0) + wait)
        out.append((end, burst[0].faults[0]))
        burst.clear()

    for entry in journal:
        if entry.faults:
            burst.append(entry)
        else:
            close(entry.t)
    close(None)
    for event in ctx.fault_log:
        if event.index is None:  # a toxic: no request of its own
            out.append((event.t, event))
    return out


@invariant(
    "recovers_within",
    holds_when=(
        "after each burst of consecutive faults, a good trading cycle completes within "
        "the bound (measured from the end of the burst, or of the Retry-After or ban it "
        "imposed)"
    ),
    needs=("cycles",),
)
def recovers_within(
    ctx: InvariantContext, seconds: Annotated[float, Field(gt=0)] = 10.0
) -> list[Violation]:
    """After each burst of faults, a good cycle completes within ``seconds`` of the burst's
    end (a client with a 2 s timeout facing two hangs in a row has until 4 s plus the bound).
    A burst followed by no good cycle counts until the check: a client stuck on a hung
    request is caught; one that keeps trading under constant latency is not."""
    if seconds <= 0:
        raise UsageError(
            messages.bad_invariant_argument("recovers_within", "seconds", seconds, "> 0")
        )
    t0 = ctx.server.t0
    done = sorted(c - t0 for c in ctx.cycles or [])
    end = ctx.server.now()
    worst: tuple[float, float, FaultEvent, float | None] | None = None
    for burst_end, event in _bursts(ctx):
        after = next((c for c in done if c >= burst_end), None)
        took = (after if after is not None else end) - burst_end
        if took > seconds and (worst is None or took > worst[0]):
            worst = (took, burst_end, event, after)
    if worst is None:
        return []
    took, burst_end, event, after = worst
    how = (
        f"the next good cycle came {took:.2f} s later"
        if after is not None
        else f"no good cycle followed in the {took:.2f} s until the check"
    )
    return [
        Violation(
            "recovers_within",
            f"after the faults that began with {event.kind} at t={event.t:.3f} s (request "
            f"{event.index}) and ended at t={burst_end:.3f} s, {how}; the bound is {seconds:g} s",
            [event.to_dict()],
        )
    ]


@invariant(
    "no_unhandled_gap",
    holds_when=(
        "after a stream lost, skipped or reordered an update, the client resynced its book "
        "(a REST snapshot) before its next order"
    ),
)
def no_unhandled_gap(
    ctx: InvariantContext,
    snapshot_path: str | None = None,
    grace_s: Annotated[float, Field(ge=0)] = 0.1,
) -> list[Violation]:
    """After a ``breaks_sequence`` fault on a stream, the client fetched a book snapshot
    (role ``book``, or ``snapshot_path``) before it placed its next order. A lost update
    shows only when the next one arrives, so orders within ``grace_s`` of the fault are not
    held against the client."""
    journal = ctx.journal

    def snapshot(e: JournalEntry) -> bool:
        chosen = e.path == snapshot_path if snapshot_path else e.role == "book"
        return chosen and e.delivered and not e.failed

    snapshots = [e.t for e in journal if snapshot(e)]
    orders = [e for e in journal if e.role == "order_place" and e.took_effect]
    out = []
    for line in ctx.fault_log:
        if not line.has(Trait.BREAKS_SEQUENCE):
            continue
        nxt = next((e for e in orders if e.t > line.t + grace_s), None)
        if nxt is None:
            continue
        if not any(line.t < t < nxt.t for t in snapshots):
            out.append(
                Violation(
                    "no_unhandled_gap",
                    f"after a {line.kind} on {line.path} (t={line.t:.3f} s) request {nxt.index} "
                    f"placed an order at t={nxt.t:.3f} s without a resync from a book snapshot",
                    [line.to_dict(), _brief(nxt)],
                )
            )
    return out


@invariant(
    "reconnects_with_backoff",
    holds_when="after the exchange dropped a stream, the client waited before reconnecting",
)
def reconnects_with_backoff(
    ctx: InvariantContext, min_delay_s: Annotated[float, Field(ge=0)] = 0.1
) -> list[Violation]:
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
    """``"name"`` or ``{"name": {argument: value}}`` -> (name, arguments), checked.
    ``optional: true`` among the arguments (see :func:`is_optional`) is not passed on."""
    if isinstance(spec, str):
        name, args = spec, {}
    elif isinstance(spec, Mapping) and len(spec) == 1:
        name, raw = next(iter(spec.items()))
        args = dict(raw or {})
    else:
        raise UsageError(messages.bad_invariant_spec(spec))
    optional = args.pop("optional", False)
    if not isinstance(optional, bool):
        raise UsageError(
            messages.bad_invariant_argument(str(name), "optional", optional, "true or false")
        )
    if name not in INVARIANTS:
        near = get_close_matches(str(name), list(INVARIANTS), n=1)
        raise UsageError(messages.unknown_invariant(str(name), near, list(INVARIANTS)))
    allowed = INVARIANTS[name].arguments
    unknown = [a for a in args if a not in allowed]
    if unknown:
        raise UsageError(messages.bad_invariant_arguments(str(name), allowed, unknown))
    return str(name), INVARIANTS[name].check_arguments(args)


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


def is_optional(spec: str | Mapping[str, Mapping[str, Any]]) -> bool:
    """``{name: {optional: true}}``: the invariant is checked only when the test gives it
    its evidence (otherwise a test that gives none fails, saying what is missing)."""
    if isinstance(spec, Mapping) and len(spec) == 1:
        args = next(iter(spec.values())) or {}
        return bool(isinstance(args, Mapping) and args.get("optional"))
    return False


def checkable(
    specs: Iterable[str | Mapping[str, Mapping[str, Any]]], ctx: InvariantContext
) -> tuple[list[str | Mapping[str, Mapping[str, Any]]], dict[str, list[str]]]:
    """Split specs into those the context can check and, for the others, what evidence
    each lacks (by invariant name)."""
    ok: list[str | Mapping[str, Mapping[str, Any]]] = []
    lacking: dict[str, list[str]] = {}
    for spec in specs:
        name, _ = parse_spec(spec)
        missing = ctx.missing(INVARIANTS[name].needs)
        if missing:
            lacking[name] = missing
        else:
            ok.append(spec)
    return ok, lacking


def check_after_test(chaos: Chaos, *, invariants: bool = True) -> str | None:
    """What the pytest plugin runs when a chaos test passed.

    Returns why the test tested nothing when a scenario it loaded fired no fault (the
    plugin skips it, or fails it under ``--chaos-strict``); otherwise judges the
    scenarios' invariants and raises :class:`InvariantViolation`, or
    :class:`MissingEvidence` when the test gave an invariant none of the evidence it needs
    (unless the scenario marks it ``optional``). Nothing when the test judged them itself
    (``chaos.violations()``)."""
    __tracebackhide__ = True
    if chaos.judged:
        return None
    inert = chaos.inert()
    if inert:
        return messages.inert_scenarios(inert, chaos.targets(inert), chaos.called())
    specs = [spec for scenario in chaos.scenarios for spec in scenario.invariants]
    if not specs or not invariants:
        return None
    ctx = context_for(chaos)
    required = [spec for spec in specs if not is_optional(spec)]
    _, lacking = checkable(required, ctx)
    if lacking:
        raise MissingEvidence(lacking, EVIDENCE)
    specs, _ = checkable(specs, ctx)
    chaos.judged = True
    check_invariants(specs, ctx)
    return None


def names(violations: Iterable[Violation]) -> set[str]:
    return {v.invariant for v in violations}


def markdown_table() -> str:
    """The registry as a Markdown table (the module docstring and docs/invariants.md show it)."""
    rows = ["| invariant | holds when | evidence beyond the journal |", "| --- | --- | --- |"]
    for entry in INVARIANTS.values():
        needs = ", ".join(f"`{n}`" for n in entry.needs) or "none"
        rows.append(f"| `{entry.title()}` | {entry.holds_when} | {needs} |")
    return "\n".join(rows)


__doc__ = (__doc__ or "") + "\n" + markdown_table() + "\n"
