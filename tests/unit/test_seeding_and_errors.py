"""Seeds and the error registry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import errors
from harness.seeding import derive_seed, new_run_seed, rng


@given(st.integers(min_value=0, max_value=2**64), st.text(max_size=50))
def test_derived_seeds_are_stable_63_bit(seed: int, name: str) -> None:
    value = derive_seed(seed, name)
    assert value == derive_seed(seed, name)
    assert 0 <= value < 2**63


def test_derived_seeds_differ_by_every_part() -> None:
    base = derive_seed(1, "tests/a.py::t", "scenario", 0)
    assert base != derive_seed(2, "tests/a.py::t", "scenario", 0)
    assert base != derive_seed(1, "tests/a.py::u", "scenario", 0)
    assert base != derive_seed(1, "tests/a.py::t", "other", 0)
    assert base != derive_seed(1, "tests/a.py::t", "scenario", 1)
    # parts are separated, not concatenated
    assert derive_seed(1, "ab", "c") != derive_seed(1, "a", "bc")


def test_rng_replays() -> None:
    assert [rng(7, "x").random() for _ in range(3)] == [rng(7, "x").random() for _ in range(3)]
    assert 1 <= new_run_seed() < 2**32


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.MockConfigError, ValueError),
        (errors.FaultConfigError, ValueError),
        (errors.ScenarioError, ValueError),
        (errors.MarketDataError, ValueError),
        (errors.InvariantViolation, AssertionError),
        (errors.UnmatchedRequestError, AssertionError),
        (errors.ToxiproxyError, RuntimeError),
        (errors.LiveEndpointBlocked, RuntimeError),
        (errors.UsageError, RuntimeError),
    ],
)
def test_every_family_has_one_root_and_its_builtin(cls: type, builtin: type) -> None:
    assert issubclass(cls, errors.HarnessError) and issubclass(cls, builtin)


def test_fault_config_error_names_kind_argument_and_value() -> None:
    err = errors.FaultConfigError("latency", "p99_ms", 50, "must be >= p50_ms=80")
    assert str(err) == "latency: p99_ms=50 must be >= p50_ms=80"
    assert (err.kind, err.argument, err.value) == ("latency", "p99_ms", 50)


def test_scenario_error_lists_every_problem_with_its_place() -> None:
    err = errors.ScenarioError(
        [
            errors.ScenarioProblem("s.yaml", 3, "faults[0].kind", "unknown kind 'latncy'"),
            errors.ScenarioProblem("s.yaml", 9, "name", "field required"),
        ]
    )
    assert "2 problems" in str(err)
    assert "s.yaml:3: faults[0].kind: unknown kind 'latncy'" in str(err)
    assert "s.yaml:9: name: field required" in str(err)
