"""Exploration: random fault schedules against a client, shrunk to a minimal failing one.

:func:`fault_schedules` is a hypothesis strategy that draws a :class:`~harness.scenario.Scenario`:
one to ``max_faults`` faults, each a kind, a ``match`` on the roles (or paths) the client
really uses, a schedule and parameters within the bounds of :data:`BOUNDS`. Hypothesis
shrinks a failing draw toward fewer faults, the first kinds of :data:`KIND_ORDER`, the
simplest schedule (``first: 1``) and the smallest parameters.

:func:`explore` runs a callable once per drawn scenario (the pytest plugin's explorer runs
the user's test body, on virtual time where it can) and returns an :class:`Exploration`:
how many examples ran, the first failure, and the shrunk scenario. :func:`write_found`
keeps it as a scenario file (``scenarios/found/``) that later runs replay first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from harness.clock import real_monotonic
from harness.errors import UsageError, messages
from harness.scenario import Scenario, load_file, scenario_model

__all__ = [
    "BOUNDS",
    "DEFAULT_INVARIANTS",
    "HTTP_KINDS",
    "KIND_ORDER",
    "MESSAGE_KINDS",
    "SKIPPED",
    "Exploration",
    "bounds_table",
    "explore",
    "fault_schedules",
    "found_for",
    "scenario_yaml",
    "write_found",
]

KIND_ORDER = (
    "error",
    "disconnect",
    "reset",
    "ack_lost",
    "hang",
    "latency",
    "rate_limit",
    "truncate",
    "corrupt",
    "stale",
    "dribble",
    "clock_skew",
)
"""The HTTP fault kinds exploration draws, simplest first (what a failure shrinks toward)."""
HTTP_KINDS = frozenset(KIND_ORDER)
MESSAGE_KINDS = (
    "ws_drop",
    "ws_disconnect",
    "ws_duplicate",
    "ws_gap",
    "ws_reorder",
    "ws_delay",
    "ws_silence",
    "ws_corrupt",
)
"""Message kinds: drawn only when asked for (``kinds=[...]``) or the client used a stream."""

DEFAULT_INVARIANTS = (
    "no_duplicate_orders",
    "orders_reconciled",
    "no_trade_on_invalid_data",
    "bounded_retries",
    "respects_retry_after",
    "no_requests_while_banned",
    "recovers_within",
)
"""The oracle beside the test's own assertions: each is judged when the test gives it its
evidence (an exchange, a watched client); the exploration says which were not."""

BOUNDS: dict[str, str] = {
    "error": "preset: internal, bad_gateway, gateway_timeout, maintenance, rate_limited, "
    "banned; retry_after_s 1-120",
    "disconnect": "no parameters",
    "reset": "no parameters",
    "ack_lost": "mode disconnect, hang or status (500, 502, 503, 504)",
    "hang": "no parameters",
    "latency": "fixed_ms 1-30,000",
    "rate_limit": "capacity 1-20, refill_per_s 0.05-2, retry_after_s 1-120, ban_after "
    "none or 1-3, ban_s 10-600, ban_factor 1-4",
    "truncate": "fraction 0.1-0.9",
    "corrupt": "one of the corruptions of `corrupt`",
    "stale": "shift_s 60-86,400 (not `age`: a replay milliseconds old is invalid data no "
    "client can see)",
    "dribble": "chunks 2-8 over_ms 10-30,000",
    "clock_skew": "offset_s 1-120 s ahead or behind",
    "ws_drop": "no parameters (message kinds: drawn when asked for, or the client used a stream)",
    "ws_disconnect": "abrupt or not",
    "ws_duplicate": "no parameters",
    "ws_gap": "skip 1-20",
    "ws_reorder": "window 1-5",
    "ws_delay": "delay_ms 1-5,000",
    "ws_silence": "seconds 1-60",
    "ws_corrupt": "one of the corruptions of `ws_corrupt`",
    "schedule": "first 1-5; every 2-5 (at most 1-5 times); after 1-5 then first 1-5; a "
    "window of 1-1,800 s from 0-600 s; probability 0.1-0.9 (at most 1-5 times). Every "
    "schedule ends: a fault that never stops breaks every client, and tells nothing",
}
"""What exploration draws for each kind (docs/explore.md's table)."""

_SLUG = re.compile(r"[^a-z0-9]+")


def _param_strategies() -> dict[str, st.SearchStrategy[dict[str, Any]]]:
    from harness.corruptions import BODY_KINDS, VALUE_KINDS

    tenths = st.integers(1, 9).map(lambda n: n / 10)
    wait = st.integers(1, 120).map(float)
    return {
        "error": st.sampled_from(
            ["internal", "bad_gateway", "gateway_timeout", "maintenance", "rate_limited", "banned"]
        ).flatmap(  # a wait the exchange asks for always says how long, as exchanges do
            lambda p: st.fixed_dictionaries(
                {"preset": st.just(p)}
                | (
                    {"retry_after_s": wait}
                    if p in ("rate_limited", "maintenance", "banned")
                    else {}
                )
            )
        ),
        "disconnect": st.just({}),
        "reset": st.just({}),
        "ack_lost": st.sampled_from(["disconnect", "hang", "status"]).flatmap(
            lambda m: st.fixed_dictionaries(
                {"mode": st.just(m)}
                | ({"status": st.sampled_from([504, 502, 503, 500])} if m == "status" else {})
            )
        ),
        "hang": st.just({}),
        "latency": st.fixed_dictionaries({"fixed_ms": st.integers(1, 30_000).map(float)}),
        "rate_limit": st.fixed_dictionaries(
            {
                "capacity": st.integers(1, 20).map(float),
                "refill_per_s": st.sampled_from([0.05, 0.1, 0.5, 1.0, 2.0]),
            },
            optional={
                "retry_after_s": st.integers(1, 120).map(float),
                "ban_after": st.integers(1, 3),
                "ban_s": st.integers(10, 600).map(float),
                "ban_factor": st.integers(1, 4).map(float),
            },
        ),
        "truncate": st.fixed_dictionaries({"fraction": tenths}),
        "corrupt": st.fixed_dictionaries(
            {"corruption": st.sampled_from(list(VALUE_KINDS + BODY_KINDS))}
        ),
        # not ``age``: a replayed answer milliseconds old taints the data for
        # no_trade_on_invalid_data, and no client can tell it from a fresh one
        "stale": st.fixed_dictionaries({"shift_s": st.integers(60, 86_400).map(float)}),
        "dribble": st.fixed_dictionaries(
            {"chunks": st.integers(2, 8), "over_ms": st.integers(10, 30_000).map(float)}
        ),
        "clock_skew": st.fixed_dictionaries(
            {
                "offset_s": st.tuples(st.integers(1, 120), st.sampled_from([1, -1])).map(
                    lambda v: float(v[0] * v[1])
                )
            }
        ),
        "ws_drop": st.just({}),
        "ws_disconnect": st.fixed_dictionaries({"abrupt": st.booleans()}),
        "ws_duplicate": st.just({}),
        "ws_gap": st.fixed_dictionaries({"skip": st.integers(1, 20)}),
        "ws_reorder": st.fixed_dictionaries({"window": st.integers(1, 5)}),
        "ws_delay": st.fixed_dictionaries({"delay_ms": st.integers(1, 5_000).map(float)}),
        "ws_silence": st.fixed_dictionaries({"seconds": st.integers(1, 60).map(float)}),
        "ws_corrupt": st.fixed_dictionaries(
            {"corruption": st.sampled_from(list(VALUE_KINDS + BODY_KINDS))}
        ),
    }


def _schedules() -> st.SearchStrategy[dict[str, Any]]:
    small = st.integers(1, 5)
    return st.one_of(
        st.fixed_dictionaries({"first": small}),
        st.fixed_dictionaries({"every": st.integers(2, 5), "count": small}),
        st.fixed_dictionaries({"after": small, "first": small}),
        st.tuples(st.integers(0, 600), st.integers(1, 1_800)).map(
            lambda w: {"window": {"start": w[0], "end": w[0] + w[1], "unit": "seconds"}}
        ),
        st.fixed_dictionaries(
            {"probability": st.integers(1, 9).map(lambda n: n / 10), "count": small}
        ),
    )


def check_kinds(kinds: Iterable[str]) -> list[str]:
    """Known explorable kinds, in :data:`KIND_ORDER` order; a clear error otherwise."""
    from difflib import get_close_matches

    known = list(KIND_ORDER + MESSAGE_KINDS)
    asked = list(kinds)
    for kind in asked:
        if kind not in known:
            raise UsageError(
                messages.explore_unknown_kind(kind, get_close_matches(kind, known, n=1), known)
            )
    return [k for k in known if k in asked]


def fault_schedules(
    *,
    kinds: Sequence[str] | None = None,
    roles: Sequence[str] = (),
    paths: Sequence[str] = (),
    max_faults: int = 3,
    invariants: Sequence[Any] = (),
    prefix: str = "explored",
    description: str = "a fault schedule drawn by exploration",
) -> st.SearchStrategy[Scenario]:
    """Scenarios of 1 to ``max_faults`` faults of ``kinds`` (default: every HTTP kind),
    each matching one of ``roles`` or ``paths`` (the roles and paths a client really uses;
    neither: every request), with the ``invariants`` to judge. The name is ``prefix`` and a
    hash of the faults, so a scenario's fault generators are seeded by what it holds."""
    if not 1 <= max_faults <= 10:
        raise UsageError(messages.explore_bad_option("max_faults", max_faults, "1 to 10"))
    chosen = check_kinds(kinds if kinds is not None else KIND_ORDER)
    if not chosen:
        raise UsageError(messages.explore_bad_option("kinds", kinds, "at least one kind"))
    params = _param_strategies()
    matches = [{"role": r} for r in dict.fromkeys(roles)] + [
        {"path": p} for p in dict.fromkeys(paths)
    ]
    match = st.sampled_from([*matches, {}])

    @st.composite
    def one_fault(draw: st.DrawFn) -> dict[str, Any]:
        kind = draw(st.sampled_from(chosen))
        fault = {"kind": kind, **draw(params[kind])}
        where = draw(match)
        if where:
            fault["match"] = where
        when = draw(_schedules())
        if when:
            fault["schedule"] = when
        return fault

    model = scenario_model()

    def build(faults: list[dict[str, Any]]) -> Scenario:
        digest = hashlib.sha1(json.dumps(faults, sort_keys=True).encode()).hexdigest()[:8]
        return model.model_validate(
            {
                "name": f"{prefix}-{digest}",
                "description": description,
                "tags": ["explored"],
                "faults": faults,
                "invariants": list(invariants),
            }
        )

    return st.lists(one_fault(), min_size=1, max_size=max_faults).map(build)


def slug(nodeid: str) -> str:
    """A test's node id as a file-name stem: ``test_bot-py-test-orders-naive``."""
    name = nodeid.split("::", 1)[-1].lower()
    return _SLUG.sub("-", name).strip("-")[:60] or "test"


@dataclass
class Exploration:
    """What exploring one test found."""

    test: str
    seed: int
    max_examples: int
    examples: int = 0
    """Examples run: the replayed found scenarios, the draws, and the shrinking runs."""
    failing: int = 0
    """Examples that failed (the first, and those shrinking tried that still failed)."""
    first_failure: int | None = None
    """The example (1-based) that failed first."""
    first_failure_s: float | None = None
    """Wall seconds from the start to the first failure."""
    wall_s: float = 0.0
    scenario: Scenario | None = None
    """The minimal failing scenario (shrunk), or None when nothing failed."""
    broke: str = ""
    """What broke, in words: the invariant violated or the exception raised."""
    exception: str = ""
    invariants: list[str] = field(default_factory=list)
    """The invariants the minimal scenario violated."""
    replayed: list[str] = field(default_factory=list)
    """Found scenarios replayed first."""
    regression: str | None = None
    """The found scenario that still fails (nothing new was written)."""
    found: str | None = None
    """The file the minimal scenario was written to."""
    unchecked: dict[str, list[str]] = field(default_factory=dict)
    """Invariants of the oracle the test gave no evidence for: name -> what is missing."""
    fired: int = 0
    """Examples in which at least one drawn fault fired (0: the exploration tested nothing)."""
    skipped: int = 0
    """Examples the test skipped (``pytest.skip()`` in the body): discarded, not judged."""
    flaky: str | None = None
    """A failure that did not happen again when its example was run again: what broke."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "seed": self.seed,
            "max_examples": self.max_examples,
            "examples": self.examples,
            "failing": self.failing,
            "first_failure": self.first_failure,
            "first_failure_s": None
            if self.first_failure_s is None
            else round(self.first_failure_s, 3),
            "wall_s": round(self.wall_s, 3),
            "faults": len(self.scenario.faults) if self.scenario is not None else None,
            "scenario": scenario_data(self.scenario) if self.scenario is not None else None,
            "broke": self.broke,
            "exception": self.exception,
            "invariants": self.invariants,
            "replayed": self.replayed,
            "regression": self.regression,
            "found": self.found,
            "unchecked": self.unchecked,
            "fired": self.fired,
            "skipped": self.skipped,
            "flaky": self.flaky,
        }


def describe_failure(exc: BaseException) -> tuple[str, str, list[str]]:
    """(what broke in words, the exception's type, invariants violated) for a failure."""
    from harness.redaction import redact_text

    violations = getattr(exc, "violations", None) or []
    names = list(dict.fromkeys(v.invariant for v in violations))
    if names:
        first = redact_text(str(violations[0].message)).splitlines()[0][:300]
        return f"invariant {', '.join(names)} violated: {first}", type(exc).__name__, names
    text = redact_text(str(exc)).strip().splitlines()
    line = text[0][:300] if text else ""
    return (
        f"the test raised {type(exc).__name__}{': ' + line if line else ''}",
        (type(exc).__name__),
        [],
    )


SKIPPED = object()
"""What ``run`` returns for an example the test skipped (it is discarded)."""


def explore(
    run: Callable[[Scenario], object],
    strategy: st.SearchStrategy[Scenario],
    *,
    test: str,
    seed: int,
    max_examples: int = 200,
    known: Sequence[Scenario] = (),
    progress: Callable[[Exploration, str], None] | None = None,
) -> Exploration:
    """Run ``run(scenario)`` for the ``known`` scenarios, then for up to ``max_examples``
    drawn by ``strategy`` (seeded by ``seed``: the same seed draws the same scenarios);
    ``run`` raises when the client fails, returns False when no fault fired (the example
    tested nothing) and :data:`SKIPPED` for an example the test skipped. A failure is
    shrunk to a minimal scenario; one that does not happen again is reported as
    ``flaky``, not kept.
    ``progress(exploration, event)`` is told of every example (``pass``, ``fail``,
    ``shrink``) and the end (``done``)."""
    from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
    from hypothesis import seed as seed_of

    if not 1 <= max_examples <= 100_000:
        raise UsageError(messages.explore_bad_option("max_examples", max_examples, "1 to 100000"))
    out = Exploration(test=test, seed=seed, max_examples=max_examples)
    out.replayed = [s.source or s.name for s in known]
    started = real_monotonic()
    last: dict[str, Any] = {}

    def tell(event: str) -> None:
        if progress is not None:
            progress(out, event)

    def one(scenario: Scenario) -> None:
        from hypothesis import reject

        out.examples += 1
        try:
            outcome = run(scenario)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt, pytest's Exit, a stopped exploration
            out.failing += 1
            out.fired += 1
            if out.first_failure is None:
                out.first_failure = out.examples
                out.first_failure_s = real_monotonic() - started
            last["scenario"], last["exc"] = scenario, exc
            tell("fail" if out.failing == 1 else "shrink")
            raise
        if outcome is SKIPPED:
            out.skipped += 1
            tell("skip")
            reject()  # hypothesis draws another instead
        out.fired += outcome is not False
        tell("pass")

    test_fn = given(strategy)(one)
    for scenario in reversed(list(known)):  # @example runs in the order it is applied
        test_fn = example(scenario)(test_fn)
    test_fn = settings(
        max_examples=max_examples,
        database=None,  # memory is the found folder: a run is the same for the same seed
        deadline=None,
        derandomize=False,
        report_multiple_bugs=False,
        print_blob=False,
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )(test_fn)
    test_fn = seed_of(seed)(test_fn)
    from hypothesis.errors import Flaky

    try:
        test_fn()
    except Flaky as exc:  # the shrunk example passed when run again: nothing to keep
        out.flaky = describe_failure(last["exc"])[0] if "exc" in last else str(exc)
    except Exception:
        if "scenario" not in last:
            raise  # hypothesis' own error (a strategy that cannot draw): not the client's
        scenario, exc = last["scenario"], last["exc"]
        out.scenario = scenario
        out.broke, out.exception, out.invariants = describe_failure(exc)
        if any(scenario is s for s in known):
            out.regression = scenario.source or scenario.name
    out.wall_s = real_monotonic() - started
    tell("done")
    return out


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """A scenario as the plain data of its YAML file (defaults left out)."""
    faults = []
    for fault in scenario.faults:
        data = fault.model_dump(mode="json", exclude_defaults=True)
        data = {k: v for k, v in data.items() if v != {}}  # an empty match: every request
        faults.append({"kind": fault.kind, **data})
    out: dict[str, Any] = {"name": scenario.name, "description": scenario.description}
    if scenario.origin:
        out["origin"] = scenario.origin
    out["tags"] = list(scenario.tags)
    out["faults"] = faults
    if scenario.invariants:
        out["invariants"] = list(scenario.invariants)
    return out


def scenario_yaml(scenario: Scenario) -> str:
    """A scenario as a YAML file, with the schema comment editors read."""
    body = yaml.safe_dump(scenario_data(scenario), sort_keys=False, width=88, allow_unicode=True)
    return "# yaml-language-server: $schema=../scenario.schema.json\n" + body


def write_found(
    found: Exploration, folder: str | Path, *, replay: str, scenario_path_hint: str = ""
) -> Path:
    """Write the minimal scenario of ``found`` into ``folder`` as
    ``<test>-<hash>.yaml``: what broke, how it was found and how to replay it."""
    assert found.scenario is not None
    folder = Path(folder)
    name = found.scenario.name
    path = folder / f"{name.removeprefix('found-')}.yaml"
    rel = scenario_path_hint or str(path)
    description = messages.explore_description(
        found.test,
        found.seed,
        found.first_failure or 0,
        found.examples,
        found.broke,
        replay,
        rel,
    )
    scenario = found.scenario.model_copy(
        update={
            "description": description,
            "origin": f"explore {found.test}",
            "tags": ["found", "explored"],
            "invariants": list(found.invariants),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(scenario_yaml(scenario))
    load_file(path)  # what is written must load (and replay)
    found.found = str(path)
    return path


def found_for(test: str, folder: str | Path) -> list[Scenario]:
    """The found scenarios in ``folder`` whose origin is exploring ``test``."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    out = []
    for file in sorted(folder.glob("*.y*ml")):
        scenario = load_file(file)
        if scenario.origin == f"explore {test}":
            out.append(scenario)
    return out


def bounds_table() -> str:
    """:data:`BOUNDS` as a Markdown table (docs/explore.md shows it)."""
    rows = ["| fault kind | what exploration draws |", "| --- | --- |"]
    rows += [f"| `{kind}` | {BOUNDS[kind]} |" for kind in (*KIND_ORDER, *MESSAGE_KINDS)]
    rows.append(f"| every schedule | {BOUNDS['schedule']} |")
    return "\n".join(rows)
