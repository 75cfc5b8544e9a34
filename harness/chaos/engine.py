"""The chaos engine: runs the faults that match a request, in order, and writes the fault log.

``Chaos(server, seed=...)`` attaches to a MockServer. Every fault gets its own
``random.Random`` seeded from (test seed, scenario name, fault index); the test seed is
itself derived from (run seed, test node id), so the same run seed replays the same
faults whatever the test order or the xdist worker.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from harness.chaos.faults import (
    Fault,
    FaultContext,
    MessageFault,
    RequestFault,
    ResponseFault,
    problems_of,
)
from harness.chaos.schedule import Match, Schedule, ScheduleState
from harness.errors import FaultConfigError, UsageError, messages
from harness.faultlog import FaultEvent, FaultLog
from harness.mock.journal import JournalEntry
from harness.mock.routes import Request, Response, Route
from harness.seeding import derive_seed

if TYPE_CHECKING:
    from harness.errors import Violation
    from harness.mock.server import MockServer
    from harness.scenario import Scenario

__all__ = ["ArmedFault", "Chaos"]

_F = TypeVar("_F", bound=Fault)
_M = TypeVar("_M", bound=BaseModel)


@dataclass
class ArmedFault:
    """A fault in play: its generator, its schedule counters and its private state."""

    fault: Fault
    scenario: str | None
    index: int
    """The fault's index within its scenario (what its seed derives from)."""
    position: int
    """Its position in ``chaos.armed`` (what fault-log events and journal entries name)."""
    rng: random.Random
    schedule_state: ScheduleState = field(default_factory=ScheduleState)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def fired(self) -> int:
        return self.schedule_state.fired

    @property
    def kind(self) -> str:
        return self.fault.kind


def _coerce(model: type[_M], value: Any, kind: str, name: str) -> _M:
    if isinstance(value, model):
        return value
    if isinstance(value, Mapping):
        try:
            return model(**value)
        except ValidationError as exc:
            problems = [(f"{name}.{a}", v, m) for a, v, m in problems_of(exc, model.model_fields)]
            raise FaultConfigError.from_problems(kind, problems) from None
    raise FaultConfigError(kind, name, value, f"must be a dict or a {model.__name__}")


class Chaos:
    """Faults injected between clients and a MockServer's responders."""

    def __init__(
        self,
        server: MockServer,
        seed: int = 0,
        *,
        run_seed: int | None = None,
        test: str | None = None,
    ) -> None:
        self.server = server
        self.seed = int(seed)
        self.run_seed = int(run_seed) if run_seed is not None else self.seed
        self.test = test
        self.armed: list[ArmedFault] = []
        self.log = FaultLog(self.run_seed, test, server.now)
        self.scenarios: list[Scenario] = []
        self._counts: dict[str | None, int] = {}
        self.client: Any = None
        self.judged = False
        """True once the test judged the invariants itself (:meth:`violations`)."""
        server.attach_chaos(self)

    # -- configuring ---------------------------------------------------------------------
    def inject(
        self,
        fault: Fault,
        *,
        match: Match | Mapping[str, Any] | None = None,
        schedule: Schedule | Mapping[str, Any] | None = None,
        scenario: str | None = None,
    ) -> ArmedFault:
        """Add a fault; ``match``/``schedule`` (dicts or models) override the fault's own."""
        if not isinstance(fault, Fault):
            raise FaultConfigError(
                "inject", "fault", fault, "must be a fault, such as faults.Latency(fixed_ms=50)"
            )
        update: dict[str, Any] = {}
        if match is not None:
            update["match"] = _coerce(Match, match, fault.kind, "match")
        if schedule is not None:
            update["schedule"] = _coerce(Schedule, schedule, fault.kind, "schedule")
        if update:
            fault = fault.model_copy(update=update)
        index = self._counts.get(scenario, 0)
        self._counts[scenario] = index + 1
        armed = ArmedFault(
            fault=fault,
            scenario=scenario,
            index=index,
            position=len(self.armed),
            rng=random.Random(derive_seed(self.seed, scenario or "", index)),
        )
        self.armed.append(armed)
        return armed

    def load(self, scenario: Scenario | str | Path) -> Scenario:
        """Add every fault of a scenario (an object, a library name, or a file path)."""
        from harness.scenario import Scenario, load_scenario

        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        if any(s.name == scenario.name for s in self.scenarios):
            raise UsageError(messages.scenario_loaded_twice(scenario.name))
        self.scenarios.append(scenario)
        for fault in scenario.faults:
            self.inject(fault, scenario=scenario.name)
        return scenario

    def record_external(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        scenario: str | None = None,
        path: str | None = None,
    ) -> FaultEvent:
        """Log a fault applied outside the engine (a Toxiproxy toxic) in this test's fault log."""
        return self.log.external(kind, params, scenario=scenario, path=path)

    def watch_client(self, client: Any) -> None:
        """Register the client under test for invariants that need its view: an object with
        ``known_orders`` (order id -> status) and ``cycles`` (:func:`harness.clock.monotonic` of each
        completed trading cycle)."""
        self.client = client

    def clear(self) -> None:
        self.armed.clear()
        self.scenarios.clear()
        self._counts.clear()

    def reset(self) -> None:
        """Back to a fresh engine: no faults, an empty fault log, no client, not judged
        (exploration runs a test body once per drawn scenario on the same engine)."""
        self.clear()
        self.log.clear()
        self.client = None
        self.judged = False

    def detach(self) -> None:
        self.server.attach_chaos(None)

    # -- reading -------------------------------------------------------------------------
    def fired(self, kind: str | None = None) -> list[FaultEvent]:
        """Fault-log events of this test, all or of one kind: ``chaos.fired("reset")`` (the
        latest 10,000 of them; :meth:`fault_count` counts all)."""
        return [event for event in self.log if kind is None or event.kind == kind]

    def fault_count(self, kind: str | None = None) -> int:
        """How many faults fired in this test, all or of one kind, counted exactly."""
        return self.log.count(kind)

    def fault_of(self, event: FaultEvent) -> ArmedFault | None:
        """The armed fault that wrote this fault-log event (None for external faults)."""
        return self.armed[event.fault] if event.fault is not None else None

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    def inert(self) -> list[str]:
        """Scenarios loaded into this chaos that fired no fault (nothing they describe
        happened to the client: the test tested nothing of them)."""
        fired = self.log.by_scenario
        return [s.name for s in self.scenarios if not fired[s.name]]

    def targets(self, names: Iterable[str]) -> dict[str, list[str]]:
        """What each named scenario's faults (and toxics) aim at, in words."""
        out: dict[str, list[str]] = {}
        for scenario in self.scenarios:
            if scenario.name in names:
                out[scenario.name] = [
                    f"{f.kind} on {f.match.pattern.describe()}" for f in scenario.faults
                ] + [f"toxic {t.type} on the test's Toxiproxy proxies" for t in scenario.toxics]
        return out

    def called(self, limit: int = 8) -> list[str]:
        """What the client called, most frequent first: ``GET /v1/ticker (ticker) x4``."""
        counts: dict[tuple[str, str, str | None], int] = {}
        for entry in self.server.journal:
            key = (entry.method, entry.rel_path, entry.role)
            counts[key] = counts.get(key, 0) + 1
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
        return [f"{m} {p} ({role or 'no role'}) x{n}" for (m, p, role), n in ranked]

    def violations(self) -> list[Violation]:
        """Judge the invariants of this test's scenarios now, and take over the verdict: the
        pytest plugin does not check them again when the test ends."""
        from harness.invariants import context_for, evaluate

        self.judged = True
        specs = [spec for scenario in self.scenarios for spec in scenario.invariants]
        return evaluate(specs, context_for(self))

    # -- the pipeline (called by the MockServer) -----------------------------------------
    def _candidates(self, side: type[_F], entry: JournalEntry) -> Iterable[tuple[ArmedFault, _F]]:
        for position in entry.matched_faults:
            armed = self.armed[position]
            if isinstance(armed.fault, side):
                yield armed, armed.fault

    def _context(
        self, armed: ArmedFault, request: Request, route: Route, entry: JournalEntry
    ) -> FaultContext:
        return FaultContext(
            request=request,
            route=route,
            rng=armed.rng,
            state=armed.state,
            now=self.server.now(),
            dialect=self.server.dialect,
            on_fire=lambda ctx: self._record(armed, ctx, entry),
        )

    def _record(self, armed: ArmedFault, ctx: FaultContext, entry: JournalEntry) -> None:
        armed.schedule_state.fired += 1
        applied = ctx.applied or {}
        params = armed.fault.parameters()
        params.update(applied)
        if ctx.message is not None:
            params["message"] = ctx.message
        event = FaultEvent(
            seed=self.run_seed,
            test=self.test,
            scenario=armed.scenario,
            index=ctx.request.index,
            method=ctx.request.method,
            path=ctx.request.path,
            role=ctx.request.role,
            kind=armed.fault.kind,
            params=params,
            t=round(ctx.now, 6),
            traits=tuple(sorted(armed.fault.fired_traits(applied))),
            fault=armed.position,
            route=entry.route,
        )
        self.log.append(event)
        entry.faults.append(event)

    def _decide(
        self, side: type[_F], request: Request, route: Route, entry: JournalEntry
    ) -> list[tuple[ArmedFault, _F, FaultContext]]:
        """Every matching fault counts this request and rolls its dice, acting or not.

        A schedule therefore selects requests by their position among the requests its
        fault matches (``every: 3`` is every third matching request, whatever other faults
        did), and a fault's random sequence does not depend on the faults before it.
        """
        chosen = []
        now = self.server.now()
        for armed, fault in self._candidates(side, entry):
            if armed.schedule_state.consult(fault.schedule, request.index, now, armed.rng):
                chosen.append((armed, fault, self._context(armed, request, route, entry)))
        return chosen

    def _match(self, request: Request, entry: JournalEntry) -> None:
        entry.matched_faults = [
            armed.position for armed in self.armed if armed.fault.match.matches(request)
        ]

    async def before(self, request: Request, route: Route, entry: JournalEntry) -> Response | None:
        """Request-side faults, in order. Returns a response that replaces the responder's;
        the faults after it do not act on this request."""
        self._match(request, entry)
        for _, fault, ctx in self._decide(RequestFault, request, route, entry):
            ctx.now = self.server.now()
            answer = await fault.on_request(ctx)
            if answer is not None:
                return answer
        return None

    async def after(
        self, request: Request, route: Route, response: Response, entry: JournalEntry
    ) -> Response:
        """Response-side faults, in order, on the responder's response."""
        for armed, fault in self._candidates(ResponseFault, entry):
            fault.observe(self._context(armed, request, route, entry), response)
        for _, fault, ctx in self._decide(ResponseFault, request, route, entry):
            ctx.now = self.server.now()
            response = await fault.on_response(ctx, response)
        return response

    async def messages(
        self,
        request: Request,
        route: Route,
        entry: JournalEntry,
        message: Any,
        number: int,
        numbered: Callable[[Any], bool] | None = None,
    ) -> list[Any]:
        """Message faults on one outgoing WebSocket message (the ``number``-th of its
        connection); returns what is sent instead. Schedules count messages; ``numbered``
        tells whether a message carries a sequence number (the feed knows its format)."""
        self._match(request, entry)
        out: list[Any] = []
        for armed, fault in self._candidates(MessageFault, entry):
            out.extend(fault.release(self._context(armed, request, route, entry)))
        pending = [message]
        for _, fault, ctx in self._decide(MessageFault, request, route, entry):
            ctx.message = number
            ctx.numbered = numbered
            nxt: list[Any] = []
            for item in pending:
                nxt.extend(await fault.on_message(ctx, item))
            pending = nxt
        return pending + out

    def __repr__(self) -> str:
        return f"<Chaos seed={self.seed} faults={len(self.armed)} fired={self.log.total}>"
