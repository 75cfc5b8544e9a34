"""Trading invariants: what a resilient client keeps true while the exchange misbehaves.

Each invariant reads the evidence a chaos test leaves (the request journal, the fault
log, the fake exchange's orders, and what the client says it saw) and returns the
violations it finds, each with its evidence. Use them by name from scenario YAML
(``invariants: [no_duplicate_orders, bounded_retries: {max_attempts: 5}]``) or from Python::

    check_invariants(["no_duplicate_orders", "orders_reconciled"], context)

| name | holds when |
| --- | --- |
| ``no_duplicate_orders`` | no order was placed twice for one intent (a resend after a lost ack) |
| ``orders_reconciled`` | the client's final view of its orders equals the exchange's |
| ``no_trade_on_invalid_data`` | no order after corrupted/stale/truncated market data, before valid data again |
| ``bounded_retries(max_attempts, reset_after_s)`` | no request is tried more than N times in a row |
| ``respects_retry_after`` | nothing is sent to a limited route before its Retry-After elapsed |
| ``no_requests_while_banned`` | nothing is sent to a banned route while the 418 ban lasts |
| ``recovers_within(seconds)`` | after the last fault, the client completes a good cycle within the bound |
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.errors import InvariantViolation, UsageError, Violation

if TYPE_CHECKING:
    from harness.chaos.engine import Chaos
    from harness.exchange.core import FakeExchange
    from harness.exchange.profiles import Profile
    from harness.mock.journal import JournalEntry
    from harness.mock.server import MockServer

__all__ = [
    "BENIGN_CORRUPTIONS",
    "INVARIANTS",
    "InvariantContext",
    "Violation",
    "check_invariants",
    "evaluate",
    "parse_spec",
]

BENIGN_CORRUPTIONS = frozenset(("extra_field", "string_numbers", "drop_rows"))
"""Corruptions that leave market data valid under the contracts (see harness.schemas)."""
_DATA_FAULTS = frozenset(("corrupt", "truncate", "stale"))
_VOLATILE_PARAMS = frozenset(("timestamp", "signature", "recvWindow"))


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
    def fault_log(self) -> list[dict[str, Any]]:
        return list(self.chaos.log) if self.chaos is not None else []

    def need(self, what: str, invariant: str) -> Any:
        value = getattr(self, what)
        if value is None:
            raise UsageError(
                f"invariant {invariant!r} needs {what!r} in its context "
                f"(pass it to InvariantContext, or register the client with chaos.watch_client)"
            )
        return value


def _brief(entry: JournalEntry) -> dict[str, Any]:
    return {
        "index": entry.index,
        "t": round(entry.t, 4),
        "method": entry.method,
        "path": entry.path,
        "params": entry.params,
        "status": entry.status,
        "error": entry.error,
        "client_outcome": entry.client_outcome,
        "faults": [f["kind"] for f in entry.faults],
    }


def _delivered(entry: JournalEntry) -> bool:
    """The client received this response (not lost, not timed out)."""
    if entry.client_outcome is not None:
        return False
    return entry.status is not None and (
        entry.error is None or entry.error.startswith("body truncated")
    )


def _failed(entry: JournalEntry) -> bool:
    return (
        entry.status is None
        or entry.status >= 400
        or entry.error is not None
        or (entry.client_outcome is not None)
    )


def _identity(entry: JournalEntry) -> str:
    params = {k: v for k, v in entry.params.items() if k not in _VOLATILE_PARAMS}
    body = entry.body
    if "timestamp=" in body or "signature=" in body:
        from urllib.parse import parse_qsl

        body = json.dumps(sorted((k, v) for k, v in parse_qsl(body) if k not in _VOLATILE_PARAMS))
    return json.dumps([entry.method, entry.path, sorted(params.items()), body], default=str)


# -- the invariants ------------------------------------------------------------------------


def no_duplicate_orders(ctx: InvariantContext) -> list[Violation]:
    exchange = ctx.need("exchange", "no_duplicate_orders")
    entries = ctx.journal
    journal = {e.index: e for e in entries}
    orders = sorted(
        (o for o in exchange.orders.values() if o.request_index is not None),
        key=lambda o: o.request_index,
    )
    out = []
    for first, second in itertools.pairwise(orders):
        entry = journal.get(first.request_index)
        if entry is None or _delivered(entry):
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


def orders_reconciled(ctx: InvariantContext) -> list[Violation]:
    exchange = ctx.need("exchange", "orders_reconciled")
    client = dict(ctx.need("client_orders", "orders_reconciled"))
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


def no_trade_on_invalid_data(ctx: InvariantContext) -> list[Violation]:
    exchange = ctx.need("exchange", "no_trade_on_invalid_data")
    journal = ctx.journal
    tainted: dict[str, JournalEntry] = {}  # path -> the bad response the client holds
    creators = {o.request_index: o for o in exchange.orders.values() if o.request_index is not None}
    out = []
    for entry in journal:
        if (
            entry.method == "GET"
            and _delivered(entry)
            and entry.status is not None
            and entry.status < 400
        ):
            bad = [
                f
                for f in entry.faults
                if f["kind"] in _DATA_FAULTS
                and f["params"].get("corruption") not in BENIGN_CORRUPTIONS
            ]
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
        extra = f["params"].get("corruption")
        names.append(f"{f['kind']}:{extra}" if extra else f["kind"])
    return names


def bounded_retries(
    ctx: InvariantContext, max_attempts: int = 5, reset_after_s: float = 1.0
) -> list[Violation]:
    if max_attempts < 1:
        raise UsageError(f"bounded_retries: max_attempts={max_attempts} must be >= 1")
    out = []
    chain: list[JournalEntry] = []
    reported: set[int] = set()
    for entry in ctx.journal:
        if entry.attempt > 1:
            # aiohttp's own transparent re-send, not the client's retry: it does not count,
            # but when it succeeded the client saw a success.
            if not _failed(entry):
                chain = []
            continue
        previous = chain[-1] if chain else None
        continues = (
            previous is not None
            and _failed(previous)
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


def _scope(ctx: InvariantContext, entry: JournalEntry) -> Callable[[JournalEntry], bool]:
    """Which later requests a Retry-After on ``entry`` covers: the fault's match, or the route."""
    if ctx.chaos is not None:
        for line in entry.faults:
            armed = ctx.chaos.fault_of(line)
            if armed is not None and armed.kind in ("rate_limit", "error"):
                match = armed.fault.match
                return lambda e: match.matches(_as_request(e), e.path)
    return lambda e: e.path == entry.path


def _as_request(entry: JournalEntry) -> Any:
    from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
    from yarl import URL

    from harness.mock.routes import Request

    query: MultiDict[str] = MultiDict()
    for k, v in entry.params.items():
        for item in v if isinstance(v, list) else [v]:
            query.add(k, str(item))
    return Request(
        entry.method,
        URL(entry.url),
        entry.path,
        MultiDictProxy(query),
        CIMultiDictProxy(CIMultiDict(entry.headers)),
    )


def _waits(
    ctx: InvariantContext, statuses: tuple[int, ...], name: str, what: str
) -> list[Violation]:
    out = []
    journal = ctx.journal
    for i, entry in enumerate(journal):
        if entry.status not in statuses or not _delivered(entry):
            continue
        wait = _retry_after(entry)
        if wait is None:
            continue
        until = entry.t + (entry.duration or 0.0) + wait
        in_scope = _scope(ctx, entry)
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


def respects_retry_after(ctx: InvariantContext) -> list[Violation]:
    return _waits(ctx, (429, 503), "respects_retry_after", "wait")


def no_requests_while_banned(ctx: InvariantContext) -> list[Violation]:
    return _waits(ctx, (418,), "no_requests_while_banned", "ban")


def recovers_within(ctx: InvariantContext, seconds: float = 10.0) -> list[Violation]:
    """After every fault, a good cycle completes within ``seconds`` (or the test ends first).

    A fault followed by no good cycle at all counts until the moment of the check: a client
    stuck on a hung request is caught, a client that keeps trading under constant latency
    is not.
    """
    cycles = ctx.need("cycles", "recovers_within")
    t0 = ctx.server._t0
    done = sorted(c - t0 for c in cycles)
    end = ctx.server.now()
    worst: tuple[float, dict[str, Any], float | None] | None = None
    for line in ctx.fault_log:
        after = next((c for c in done if c >= line["t"]), None)
        took = (after if after is not None else end) - line["t"]
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
            f"after the {line['kind']} fault at t={line['t']:.3f} s (request {line['index']}) {how}; "
            f"the bound is {seconds:g} s",
            [line],
        )
    ]


_GAP_FAULTS = frozenset(("ws_gap", "ws_drop", "ws_reorder"))


def no_unhandled_gap(
    ctx: InvariantContext, snapshot_path: str | None = None, grace_s: float = 0.1
) -> list[Violation]:
    """After a stream lost, skipped or reordered an update, the client rebuilt its book from
    the REST snapshot before it placed its next order. A lost update shows only when the next
    one arrives, so orders within ``grace_s`` of the fault are not held against the client."""
    exchange = ctx.need("exchange", "no_unhandled_gap")
    path = snapshot_path or getattr(ctx.profile, "snapshot_path", "") or "/v1/book"
    journal = ctx.journal
    by_index = {e.index: e for e in journal}
    snapshots = [e.t for e in journal if e.method == "GET" and e.path == path and _delivered(e)]
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
        if line["kind"] not in _GAP_FAULTS:
            continue
        nxt = next(((t, o) for t, o in orders if t > line["t"] + grace_s), None)
        if nxt is None:
            continue
        placed_at, order = nxt
        if not any(line["t"] < t < placed_at for t in snapshots):
            out.append(
                Violation(
                    "no_unhandled_gap",
                    f"after a {line['kind']} on {line['path']} (t={line['t']:.3f} s) order {order.order_id} was "
                    f"placed at t={placed_at:.3f} s without a resync from {path}",
                    [line, {"order": order.to_dict()}],
                )
            )
    return out


def reconnects_with_backoff(ctx: InvariantContext, min_delay_s: float = 0.1) -> list[Violation]:
    """After the exchange dropped a stream, the client waited at least ``min_delay_s`` before
    connecting again (no tight reconnect loop hammering a struggling exchange)."""
    connects = [e for e in ctx.journal if e.method == "WS"]
    out = []
    for line in ctx.fault_log:
        if line["kind"] != "ws_disconnect":
            continue
        nxt = next((e for e in connects if e.path == line["path"] and e.t > line["t"]), None)
        if nxt is not None and nxt.t - line["t"] < min_delay_s:
            out.append(
                Violation(
                    "reconnects_with_backoff",
                    f"the stream {line['path']} was dropped at t={line['t']:.3f} s and the client "
                    f"reconnected {nxt.t - line['t']:.3f} s later (at least {min_delay_s:g} s expected)",
                    [line, _brief(nxt)],
                )
            )
    return out


INVARIANTS: dict[str, Callable[..., list[Violation]]] = {
    "no_duplicate_orders": no_duplicate_orders,
    "orders_reconciled": orders_reconciled,
    "no_trade_on_invalid_data": no_trade_on_invalid_data,
    "bounded_retries": bounded_retries,
    "respects_retry_after": respects_retry_after,
    "no_requests_while_banned": no_requests_while_banned,
    "recovers_within": recovers_within,
    "no_unhandled_gap": no_unhandled_gap,
    "reconnects_with_backoff": reconnects_with_backoff,
}


def parse_spec(spec: str | Mapping[str, Mapping[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``"name"`` or ``{"name": {argument: value}}`` -> (name, arguments), checked."""
    if isinstance(spec, str):
        name, args = spec, {}
    elif isinstance(spec, Mapping) and len(spec) == 1:
        name, raw = next(iter(spec.items()))
        args = dict(raw or {})
    else:
        raise UsageError(f"an invariant is a name or {{name: {{arguments}}}}, got {spec!r}")
    if name not in INVARIANTS:
        from difflib import get_close_matches

        near = get_close_matches(str(name), list(INVARIANTS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise UsageError(f"unknown invariant {name!r}{hint}; known: {', '.join(INVARIANTS)}")
    import inspect

    allowed = list(inspect.signature(INVARIANTS[name]).parameters)[1:]
    unknown = [a for a in args if a not in allowed]
    if unknown:
        raise UsageError(
            f"invariant {name!r} takes {', '.join(allowed) or 'no arguments'}; got {unknown}"
        )
    return str(name), args


def evaluate(
    specs: Iterable[str | Mapping[str, Mapping[str, Any]]], ctx: InvariantContext
) -> list[Violation]:
    """Every violation of every invariant named in ``specs``."""
    out: list[Violation] = []
    for spec in specs:
        name, args = parse_spec(spec)
        out.extend(INVARIANTS[name](ctx, **args))
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
    """The context of a chaos test: its server and faults, the fake exchange if one was
    mounted (a ``MockExchange``), and the client if one was watched."""
    client = client if client is not None else chaos.client
    return InvariantContext(
        server=chaos.server,
        chaos=chaos,
        exchange=getattr(exchange, "exchange", exchange),
        profile=getattr(exchange, "profile", None),
        client_orders=getattr(client, "known_orders", None),
        cycles=getattr(client, "cycles", None),
    )


def checkable(
    specs: Iterable[str | Mapping[str, Mapping[str, Any]]], ctx: InvariantContext
) -> tuple[list[str | Mapping[str, Mapping[str, Any]]], list[str]]:
    """Split specs into those the context can check and the names of those it cannot."""
    needs = {
        "no_duplicate_orders": ("exchange",),
        "orders_reconciled": ("exchange", "client_orders"),
        "no_trade_on_invalid_data": ("exchange",),
        "no_unhandled_gap": ("exchange",),
        "recovers_within": ("cycles",),
    }
    ok, skipped = [], []
    for spec in specs:
        name, _ = parse_spec(spec)
        if all(getattr(ctx, what) is not None for what in needs.get(name, ())):
            ok.append(spec)
        else:
            skipped.append(name)
    return ok, skipped


def names(violations: Iterable[Violation]) -> set[str]:
    return {v.invariant for v in violations}
