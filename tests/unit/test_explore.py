"""The fault-schedule strategy and the explorer, without pytest in between."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.explore import (
    BOUNDS,
    KIND_ORDER,
    MESSAGE_KINDS,
    explore,
    fault_schedules,
    found_for,
    scenario_yaml,
    write_found,
)
from harness.scenario import Scenario, load_file, parse_scenario

ROLES = ["time", "bars", "order_place"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(fault_schedules(kinds=[*KIND_ORDER, *MESSAGE_KINDS], roles=ROLES, paths=["/api/x"]))
def test_every_drawn_scenario_round_trips_through_the_yaml_loader(scenario: Scenario) -> None:
    assert 1 <= len(scenario.faults) <= 3
    again = parse_scenario(scenario_yaml(scenario), "drawn.yaml")
    assert again.model_dump() == scenario.model_dump()


@settings(max_examples=200)
@given(fault_schedules(roles=ROLES))
def test_every_drawn_schedule_ends(scenario: Scenario) -> None:
    """A fault that never stops breaks every client and tells nothing: each is bounded."""
    for fault in scenario.faults:
        s = fault.schedule
        bounded = s.first is not None or s.count is not None
        bounded = bounded or (s.window is not None and s.window.end is not None)
        assert bounded, fault


@settings(max_examples=100)
@given(fault_schedules(roles=["bars"], kinds=["latency", "rate_limit"], max_faults=1))
def test_draws_stay_within_the_documented_bounds(scenario: Scenario) -> None:
    (fault,) = scenario.faults
    assert fault.kind in ("latency", "rate_limit")
    assert fault.match.role in ("bars", None)  # the role the client uses, or every request
    if fault.kind == "latency":
        assert 1 <= fault.fixed_ms <= 30_000
    else:
        assert 1 <= fault.capacity <= 20 and 0.05 <= fault.refill_per_s <= 2


def test_every_kind_has_documented_bounds() -> None:
    from harness.explore import bounds_table
    from tests.readme_tables import assert_current

    assert {*KIND_ORDER, *MESSAGE_KINDS} <= set(BOUNDS)
    assert_current(
        "explore-bounds",
        bounds_table(),
        "python -c 'from harness.explore import bounds_table; print(bounds_table())'",
    )


@settings(max_examples=20)
@given(fault_schedules(roles=ROLES, prefix="found-t"))
def test_the_name_is_a_hash_of_the_faults(scenario: Scenario) -> None:
    assert scenario.name.startswith("found-t-") and len(scenario.name) == len("found-t-") + 8


def planted(scenario: Scenario) -> None:
    """A client that breaks on any 5xx from its bars endpoint."""
    for fault in scenario.faults:
        if fault.kind == "error" and fault.status >= 500 and fault.match.role in (None, "bars"):
            raise RuntimeError("the client crashed on a 5xx from its candles")


def test_a_planted_bug_shrinks_to_its_minimal_schedule() -> None:
    found = explore(planted, fault_schedules(roles=ROLES), test="t", seed=1, max_examples=300)
    assert found.scenario is not None and found.first_failure is not None
    (fault,) = found.scenario.faults
    assert fault.kind == "error" and fault.preset == "internal"
    assert fault.match.role == "bars"
    assert fault.schedule.first == 1 and fault.schedule.every is None
    assert (
        found.broke == "the test raised RuntimeError: the client crashed on a 5xx from its candles"
    )
    assert found.failing >= 1 and found.examples >= found.first_failure


def test_the_same_seed_explores_the_same_schedules() -> None:
    seen: list[list[str]] = [[], []]

    def recorder(i: int):
        def run(scenario: Scenario) -> None:
            seen[i].append(scenario.name)

        return run

    for i in range(2):
        explore(recorder(i), fault_schedules(roles=ROLES), test="t", seed=42, max_examples=30)
    assert seen[0] == seen[1] and len(seen[0]) == 30
    other: list[str] = []
    explore(other.append, fault_schedules(roles=ROLES), test="t", seed=43, max_examples=30)
    assert [s.name for s in other] != seen[0]


def test_a_passing_client_is_run_max_examples_times() -> None:
    found = explore(lambda s: None, fault_schedules(roles=ROLES), test="t", seed=3, max_examples=25)
    assert found.scenario is None and found.examples == 25 and found.failing == 0
    assert found.as_dict()["broke"] == ""


def test_found_scenarios_are_written_replayed_first_and_reloaded(tmp_path: Path) -> None:
    strategy = fault_schedules(roles=ROLES, prefix="found-test-bot")
    found = explore(planted, strategy, test="tests/t.py::test_bot", seed=1, max_examples=300)
    path = write_found(found, tmp_path / "found", replay="pytest 'tests/t.py::test_bot'")
    assert path.name == f"{found.scenario.name.removeprefix('found-')}.yaml"
    loaded = load_file(path)
    assert loaded.origin == "explore tests/t.py::test_bot" and "found" in loaded.tags
    assert (
        "RuntimeError" in loaded.description
        and "pytest 'tests/t.py::test_bot'" in loaded.description
    )
    assert [f.model_dump() for f in loaded.faults] == [
        f.model_dump() for f in found.scenario.faults
    ]
    # the next run replays it before drawing anything, and says it still fails
    assert [s.name for s in found_for("tests/t.py::test_bot", tmp_path / "found")] == [loaded.name]
    assert found_for("tests/t.py::other", tmp_path / "found") == []
    again = explore(
        planted, strategy, test="tests/t.py::test_bot", seed=9, max_examples=300, known=[loaded]
    )
    assert again.first_failure == 1 and again.regression == str(path)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"kinds": ["latncy"]}, "no fault kind 'latncy' to explore (did you mean 'latency'?)"),
        ({"kinds": []}, "kinds=[] is not allowed (at least one kind)"),
        ({"max_faults": 0}, "max_faults=0 is not allowed (1 to 10)"),
    ],
)
def test_bad_options_say_what_is_wrong(kwargs: dict, text: str) -> None:
    with pytest.raises(UsageError) as info:
        fault_schedules(**kwargs)
    assert text in str(info.value)


def test_bad_max_examples() -> None:
    with pytest.raises(UsageError, match="max_examples=0"):
        explore(lambda s: None, fault_schedules(), test="t", seed=1, max_examples=0)


def test_hypothesis_own_errors_are_not_blamed_on_the_client() -> None:
    """A strategy that cannot draw raises hypothesis' own error, not a found failure."""
    from hypothesis.errors import Unsatisfiable

    with pytest.raises(Unsatisfiable):
        explore(lambda s: None, st.nothing(), test="t", seed=1, max_examples=5)
