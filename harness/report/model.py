"""What a chaos run produced: one record per test, and the report built from them."""

from __future__ import annotations

import json
import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.chaos.faults.base import Trait
from harness.errors import messages
from harness.redaction import redact_json, redact_text
from harness.seeding import strip_sweep

if TYPE_CHECKING:
    from harness.chaos.engine import Chaos
    from harness.errors import Violation

__all__ = [
    "CRASHED",
    "NO_SCENARIO",
    "Evidence",
    "Record",
    "Report",
    "build_report",
    "crashed_records",
    "failure_of",
    "load_report",
    "merge_reports",
    "outcome_of",
    "violation_dicts",
]

NO_SCENARIO = "(no scenario)"

REPORT_FAULTS = 100
"""A record keeps the latest this many fault events (with exact counts of all of them)."""
REPORT_SAMPLES = 1_000
"""A record keeps at most this many latencies of each kind (evenly spread over the test)."""


def _spread(values: Sequence[float], limit: int = REPORT_SAMPLES) -> list[float]:
    """At most ``limit`` of ``values``, evenly spread and in order (all when there are fewer):
    a histogram of the sample has the shape of the whole."""
    if len(values) <= limit:
        return list(values)
    step = len(values) / limit
    return [values[int(i * step)] for i in range(limit)]


@dataclass
class Evidence:
    """What a chaos test leaves for the report: its faults, scenarios, and client waits."""

    faults: list[dict[str, Any]] = field(default_factory=list)
    """The latest ``REPORT_FAULTS`` fault events (the run's ``--chaos-log`` has all)."""
    faults_total: int = 0
    fault_kinds: dict[str, int] = field(default_factory=dict)
    fault_routes: dict[str, int] = field(default_factory=dict)
    scenarios: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    injected_ms: list[float] = field(default_factory=list)
    inert: list[str] = field(default_factory=list)
    """Scenarios the test loaded that fired no fault."""

    @classmethod
    def of(cls, chaos: Chaos) -> Evidence:
        log = chaos.log
        latest = list(log.events)[-REPORT_FAULTS:]
        return cls(
            faults=[event.to_dict() for event in latest],
            faults_total=log.total,
            fault_kinds=dict(sorted(log.by_kind.items())),
            fault_routes=dict(sorted(log.by_route.items())),
            scenarios=chaos.scenario_names,
            inert=chaos.inert(),
            latencies_ms=_spread(
                [
                    round(e.duration * 1000, 3)
                    for e in chaos.server.journal
                    if e.duration is not None
                ]
            ),
            injected_ms=_spread(
                [
                    float(event.params["delay_ms"])
                    for event in log
                    if event.has(Trait.DELAYS) and "delay_ms" in event.params
                ]
            ),
        )


def violation_dicts(violations: Sequence[Violation]) -> list[dict[str, Any]]:
    """Violations as the report keeps them: name, message, and (JSON-safe) evidence."""
    return [
        {
            "invariant": v.invariant,
            "message": redact_text(v.message),
            "evidence": redact_json(json.loads(json.dumps(v.evidence[:6], default=str))),
        }
        for v in violations
    ]


@dataclass
class Record:
    """One test run: outcome, seeds, faults fired, invariant violations, client latencies."""

    nodeid: str
    test: str
    scenario: str | None
    outcome: str  # passed | failed | error | skipped
    duration: float
    run_seed: int
    test_seed: int
    sweep: int | None = None
    exception: str | None = None
    message: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    """The latest ``REPORT_FAULTS`` fault events of the test."""
    faults_total: int | None = None
    """Every fault that fired in the test (None in reports written before counts)."""
    fault_kinds: dict[str, int] = field(default_factory=dict)
    """kind -> faults fired, exact."""
    fault_routes: dict[str, int] = field(default_factory=dict)
    """Route (``GET /v1/orders/{id}``) -> faults fired, exact."""
    violations: list[dict[str, Any]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    injected_ms: list[float] = field(default_factory=list)
    inert: list[str] = field(default_factory=list)
    """Scenarios this test loaded that fired no fault: it tested nothing of them."""
    replay: str = ""
    """The command that runs this test again with the same faults."""
    clock: str = "real"
    """The clock the test ran on: real, or virtual (:mod:`harness.clock`)."""
    simulated_s: float | None = None
    """On virtual time: the seconds of exchange time the test lived through."""
    exploration: dict[str, Any] | None = None
    """For an explored test: examples run, failures, the shrunk scenario, time to the first
    failure (:meth:`harness.explore.Exploration.as_dict`)."""

    def __post_init__(self) -> None:
        if not self.replay:
            self.replay = messages.replay(self.nodeid, self.run_seed)

    @classmethod
    def build(
        cls,
        *,
        nodeid: str,
        test: str,
        outcome: str,
        run_seed: int,
        test_seed: int,
        evidence: Evidence | None = None,
        scenario: str | None = None,
        duration: float = 0.0,
        sweep: int | None = None,
        exception: str | None = None,
        message: str | None = None,
        violations: list[dict[str, Any]] | None = None,
        replay: str = "",
        clock: str = "real",
        simulated_s: float | None = None,
        exploration: dict[str, Any] | None = None,
    ) -> Record:
        """One record, from a test's outcome and the evidence its chaos left."""
        evidence = evidence or Evidence()
        if scenario is None and evidence.scenarios:
            scenario = ", ".join(evidence.scenarios)
        return cls(
            nodeid=nodeid,
            test=test,
            scenario=scenario,
            outcome=outcome,
            duration=duration,
            run_seed=run_seed,
            test_seed=test_seed,
            sweep=sweep,
            exception=exception,
            message=message,
            faults=evidence.faults,
            faults_total=evidence.faults_total,
            fault_kinds=evidence.fault_kinds,
            fault_routes=evidence.fault_routes,
            violations=violations or [],
            latencies_ms=evidence.latencies_ms,
            injected_ms=evidence.injected_ms,
            inert=evidence.inert,
            replay=replay,
            clock=clock,
            simulated_s=None if simulated_s is None else round(simulated_s, 6),
            exploration=exploration,
        )

    @property
    def failed(self) -> bool:
        return self.outcome in ("failed", "error")

    @property
    def base_nodeid(self) -> str:
        """The node id without the sweep part, so the K seeds of one test group together."""
        return self.nodeid if self.sweep is None else strip_sweep(self.nodeid)

    def cause(self) -> str:
        if self.violations:
            return "invariant: " + ", ".join(sorted({v["invariant"] for v in self.violations}))
        return f"exception: {self.exception or 'unknown'}"

    def kinds_before_failure(self) -> list[str]:
        return sorted(self.kind_counts())

    def kind_counts(self) -> dict[str, int]:
        """kind -> faults fired in this test (exact; from the kept events in a report
        written before the counts)."""
        if self.faults_total is not None:
            return dict(self.fault_kinds)
        return dict(Counter(line["kind"] for line in self.faults))

    def route_counts(self) -> dict[str, int]:
        """Route -> faults fired in this test (``METHOD path`` in older reports)."""
        if self.faults_total is not None:
            return dict(self.fault_routes)
        return dict(Counter(f"{line.get('method')} {line.get('path')}" for line in self.faults))

    @property
    def fired(self) -> int:
        """How many faults fired in this test."""
        return self.faults_total if self.faults_total is not None else len(self.faults)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**data)


def _versions() -> dict[str, str]:
    from harness.deps import installed

    return {name: have for name, have in installed().items() if have is not None}


@dataclass
class Report:
    meta: dict[str, Any]
    records: list[Record]

    # -- derived views ----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.outcome for r in self.records))

    def faults_by_kind(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for r in self.records:
            total.update(r.kind_counts())
        return dict(total)

    def faults_by_route(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for r in self.records:
            total.update(r.route_counts())
        return dict(total)

    def scenarios(self) -> list[str]:
        return sorted({r.scenario or NO_SCENARIO for r in self.records})

    def tests(self) -> list[str]:
        return sorted({r.test for r in self.records})

    def matrix(self) -> dict[tuple[str, str], str]:
        """(scenario, test) -> passed / failed / error / mixed / skipped (mixed: the seeds
        of a sweep, or the parametrizations of a test, did not all end alike)."""
        cells: dict[tuple[str, str], set[str]] = {}
        for r in self.records:
            cells.setdefault((r.scenario or NO_SCENARIO, r.test), set()).add(r.outcome)
        return {k: (next(iter(v)) if len(v) == 1 else "mixed") for k, v in cells.items()}

    def inert_pairs(self) -> list[tuple[str, Record]]:
        """(scenario, record) for every scenario a test loaded that fired no fault."""
        return sorted(
            ((name, r) for r in self.records for name in r.inert), key=lambda p: (p[0], p[1].nodeid)
        )

    def failure_groups(self) -> dict[tuple[str, str, str], list[Record]]:
        """Failures grouped by (scenario, fault kinds that fired, cause)."""
        groups: dict[tuple[str, str, str], list[Record]] = {}
        for r in self.records:
            if r.failed:
                key = (
                    r.scenario or NO_SCENARIO,
                    ", ".join(r.kinds_before_failure()) or "none",
                    r.cause(),
                )
                groups.setdefault(key, []).append(r)
        return groups

    def seed_dependence(self) -> dict[str, dict[str, list[int]]]:
        """For swept tests: which seeds failed and which passed, per test."""
        out: dict[str, dict[str, list[int]]] = {}
        for r in self.records:
            if r.sweep is None:
                continue
            entry = out.setdefault(r.base_nodeid, {"failed": [], "passed": []})
            entry["failed" if r.failed else "passed"].append(r.test_seed)
        return out

    def explorations(self) -> list[Record]:
        """The records of explored tests, by node id."""
        return sorted((r for r in self.records if r.exploration), key=lambda r: r.nodeid)

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "summary": {
                "counts": self.counts(),
                "inert": [{"scenario": n, "nodeid": r.nodeid} for n, r in self.inert_pairs()],
                "faults_by_kind": self.faults_by_kind(),
                "faults_by_route": self.faults_by_route(),
            },
            "records": [r.to_dict() for r in sorted(self.records, key=lambda r: r.nodeid)],
        }


def outcome_of(phases: dict[str, str]) -> str:
    """A test's outcome from its phases' (setup, call, teardown) pytest outcomes: a failure
    outside the call is an error, as pytest counts it."""
    if any(o == "failed" for w, o in phases.items() if w != "call"):
        return "error"
    if phases.get("call") == "failed":
        return "failed"
    if any(o == "skipped" for o in phases.values()):
        return "skipped"
    return "passed"


def failure_of(exc: BaseException) -> tuple[str, str, list[dict[str, Any]]]:
    """What the report keeps of a failure: the exception's type, its first line, and the
    invariant violations it carries. Secret values in the text (a client's exception often
    holds the signed URL) are redacted."""
    text = redact_text(str(exc))
    first = text.splitlines()[0][:300] if text else ""
    return type(exc).__name__, first, violation_dicts(getattr(exc, "violations", None) or [])


CRASHED = "TestCrashed"
"""The exception name of a test whose process died under it."""


def crashed_records(rows: Sequence[dict[str, Any]]) -> list[Record]:
    """The records of a run from the rows its processes wrote: each test's own record, and
    for a test that started but never wrote one (its process died: ``os._exit``, a signal, a
    crashed xdist worker) the crash record its start wrote (``"started": true``)."""
    finished = {row["nodeid"] for row in rows if not row.get("started")}
    crashed = {
        row["nodeid"]: row for row in rows if row.get("started") and row["nodeid"] not in finished
    }
    kept = [row for row in rows if not row.get("started")] + list(crashed.values())
    return [Record.from_dict(row) for row in kept]


def build_report(records: list[Record], meta: dict[str, Any]) -> Report:
    base = {"versions": _versions(), "platform": platform.platform()}
    return Report({**base, **meta}, sorted(records, key=lambda r: r.nodeid))


def load_report(path: str | Path) -> Report:
    """A report from its folder (or its report.json); ``ValueError`` saying what is wrong
    with a file that is not one."""
    path = Path(path)
    file = path / "report.json" if path.is_dir() else path
    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise ValueError(messages.not_a_report(str(file)))
    try:
        return Report(dict(data.get("meta") or {}), [Record.from_dict(r) for r in data["records"]])
    except (TypeError, AttributeError) as exc:
        raise ValueError(messages.not_a_report(str(file), exc)) from None


def merge_reports(reports: list[Report]) -> Report:
    """Join shard reports into one, as if the run had not been split."""
    records: dict[str, Record] = {}
    for report in reports:
        for record in report.records:
            records[record.nodeid] = record
    meta = dict(reports[0].meta) if reports else {}
    meta["merged_from"] = len(reports)
    meta["duration"] = max((r.meta.get("duration", 0.0) for r in reports), default=0.0)
    meta.pop("shard", None)
    return Report(meta, sorted(records.values(), key=lambda r: r.nodeid))
