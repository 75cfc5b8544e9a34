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
from typing import TYPE_CHECKING, Any

from harness.chaos.faults import Fault, FaultContext
from harness.chaos.schedule import Match, Schedule, ScheduleState
from harness.errors import FaultConfigError, UsageError
from harness.mock.journal import JournalEntry
from harness.mock.routes import Request, Response, Route
from harness.seeding import derive_seed

if TYPE_CHECKING:
    from harness.mock.server import MockServer
    from harness.scenario import Scenario

__all__ = ["ArmedFault", "Chaos"]


@dataclass
class ArmedFault:
    """A fault in play: its generator, its schedule counters and its private state."""

    fault: Fault
    scenario: str | None
    index: int
    rng: random.Random
    schedule_state: ScheduleState = field(default_factory=ScheduleState)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def fired(self) -> int:
        return self.schedule_state.fired

    @property
    def kind(self) -> str:
        return self.fault.kind


def _coerce(model: type[Match] | type[Schedule], value: Any, kind: str, name: str) -> Any:
    if value is None or isinstance(value, model):
        return value
    if isinstance(value, Mapping):
        try:
            return model(**value)
        except Exception as exc:  # pydantic ValidationError: name the argument
            from pydantic import ValidationError

            if isinstance(exc, ValidationError):
                from harness.chaos.faults import _problems

                problems = [(f"{name}.{a}", v, m) for a, v, m in _problems(exc, model.model_fields)]
                raise FaultConfigError.from_problems(kind, problems) from None
            raise
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
        self.log: list[dict[str, Any]] = []
        self.scenarios: list[Scenario] = []
        self._counts: dict[str | None, int] = {}
        self._sinks: list[Callable[[dict[str, Any]], None]] = []
        self._line_faults: dict[int, ArmedFault] = {}
        self.client: Any = None
        self.invariants_checked = False
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
            raise UsageError(f"scenario {scenario.name!r} is already loaded into this chaos")
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
    ) -> dict[str, Any]:
        """Log a fault applied outside the engine (a Toxiproxy toxic) in this test's fault log."""
        line = {
            "seed": self.run_seed,
            "test": self.test,
            "scenario": scenario,
            "index": None,
            "method": None,
            "path": path,
            "kind": kind,
            "params": params,
            "t": round(self.server.now(), 6),
        }
        self.log.append(line)
        for sink in self._sinks:
            sink(line)
        return line

    def watch_client(self, client: Any) -> None:
        """Register the client under test for invariants that need its view: an object with
        ``known_orders`` (order id -> status) and ``cycles`` (``time.monotonic()`` of each
        completed trading cycle)."""
        self.client = client

    def add_sink(self, sink: Callable[[dict[str, Any]], None]) -> None:
        """Call ``sink(line)`` for every fault-log line as it is written."""
        self._sinks.append(sink)

    def clear(self) -> None:
        self.armed.clear()
        self.scenarios.clear()
        self._counts.clear()

    def detach(self) -> None:
        self.server.attach_chaos(None)

    # -- reading -------------------------------------------------------------------------
    def fired(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Fault-log lines of this test, all or of one kind: ``chaos.fired("reset")``."""
        return [line for line in self.log if kind is None or line["kind"] == kind]

    def fault_of(self, line: dict[str, Any]) -> ArmedFault | None:
        """The armed fault that wrote this fault-log line."""
        return self._line_faults.get(id(line))

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]

    # -- the pipeline (called by the MockServer) -----------------------------------------
    def _candidates(self, side: str, request: Request, rel_path: str) -> Iterable[ArmedFault]:
        for armed in self.armed:
            if armed.fault.side == side and armed.fault.match.matches(request, rel_path):
                yield armed

    def _context(
        self, armed: ArmedFault, request: Request, route: Route, rel_path: str, entry: JournalEntry
    ) -> FaultContext:
        return FaultContext(
            request=request,
            route=route,
            rng=armed.rng,
            state=armed.state,
            now=self.server.now(),
            extra={"rel_path": rel_path},
            on_fire=lambda ctx: self._record(armed, ctx, entry),
        )

    def _record(self, armed: ArmedFault, ctx: FaultContext, entry: JournalEntry) -> None:
        armed.schedule_state.fired += 1
        params = armed.fault.parameters()
        params.update(ctx.applied or {})
        if "message" in ctx.extra:
            params["message"] = ctx.extra["message"]
        line = {
            "seed": self.run_seed,
            "test": self.test,
            "scenario": armed.scenario,
            "index": ctx.request.index,
            "method": ctx.request.method,
            "path": ctx.request.path,
            "kind": armed.fault.kind,
            "params": params,
            "t": round(ctx.now, 6),
        }
        self.log.append(line)
        self._line_faults[id(line)] = armed
        entry.faults.append(line)
        for sink in self._sinks:
            sink(line)

    def _decide(
        self, side: str, request: Request, route: Route, rel_path: str, entry: JournalEntry
    ) -> list[tuple[ArmedFault, FaultContext]]:
        """Every matching fault counts this request and rolls its dice, acting or not.

        A schedule therefore selects requests by their position among the requests its
        fault matches (``every: 3`` is every third matching request, whatever other faults
        did), and a fault's random sequence does not depend on the faults before it.
        """
        chosen = []
        now = self.server.now()
        for armed in self._candidates(side, request, rel_path):
            if armed.schedule_state.consult(armed.fault.schedule, request.index, now, armed.rng):
                chosen.append((armed, self._context(armed, request, route, rel_path, entry)))
        return chosen

    async def before(
        self, request: Request, route: Route, rel_path: str, entry: JournalEntry
    ) -> Response | None:
        """Request-side faults, in order. Returns a response that replaces the responder's;
        the faults after it do not act on this request."""
        for armed, ctx in self._decide("request", request, route, rel_path, entry):
            ctx.now = self.server.now()
            answer = await armed.fault.on_request(ctx)
            if answer is not None:
                return answer
        return None

    async def after(
        self, request: Request, route: Route, rel_path: str, response: Response, entry: JournalEntry
    ) -> Response:
        """Response-side faults, in order, on the responder's response."""
        for armed in self._candidates("response", request, rel_path):
            armed.fault.observe(self._context(armed, request, route, rel_path, entry), response)
        for armed, ctx in self._decide("response", request, route, rel_path, entry):
            ctx.now = self.server.now()
            response = await armed.fault.on_response(ctx, response)
        return response

    async def messages(
        self,
        request: Request,
        route: Route,
        rel_path: str,
        entry: JournalEntry,
        message: Any,
        number: int,
    ) -> list[Any]:
        """Message faults on one outgoing WebSocket message (the ``number``-th of its
        connection); returns what is sent instead. Schedules count messages."""
        out: list[Any] = []
        for armed in self._candidates("message", request, rel_path):
            release = getattr(armed.fault, "observe_message", None)
            if release is not None:
                out.extend(release(self._context(armed, request, route, rel_path, entry), message))
        pending = [message]
        for armed, ctx in self._decide("message", request, route, rel_path, entry):
            ctx.extra["message"] = number
            nxt: list[Any] = []
            for item in pending:
                nxt.extend(await armed.fault.on_message(ctx, item))  # type: ignore[attr-defined]
            pending = nxt
        return pending + out

    def __repr__(self) -> str:
        return f"<Chaos seed={self.seed} faults={len(self.armed)} fired={len(self.log)}>"
