"""Schedules: which of the matching requests a fault fires on."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.chaos.schedule import Schedule, ScheduleState, Window


def fires(
    schedule: Schedule, n: int = 12, seed: int = 0, times: list[float] | None = None
) -> list[int]:
    state, rng, out = ScheduleState(), random.Random(seed), []
    for i in range(n):
        t = times[i] if times else 0.0
        if state.consult(schedule, i, t, rng):
            state.fired += 1
            out.append(i + 1)
    return out


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, list(range(1, 13))),
        ({"first": 3}, [1, 2, 3]),
        ({"after": 9}, [10, 11, 12]),
        ({"every": 4}, [4, 8, 12]),
        ({"count": 2}, [1, 2]),
        ({"after": 2, "every": 3}, [5, 8, 11]),
        ({"after": 2, "first": 2}, [3, 4]),
        ({"every": 2, "count": 2}, [2, 4]),
        ({"window": {"start": 5, "end": 8}}, [6, 7, 8]),
    ],
)
def test_schedule_shapes(kwargs: dict, expected: list[int]) -> None:
    assert fires(Schedule(**kwargs)) == expected


def test_window_in_seconds() -> None:
    times = [i * 0.5 for i in range(12)]
    schedule = Schedule(window=Window(start=1.0, end=2.5, unit="seconds"))
    assert fires(schedule, times=times) == [3, 4, 5]


def test_probability_is_seeded() -> None:
    schedule = Schedule(probability=0.5)
    assert fires(schedule, 200, seed=1) == fires(schedule, 200, seed=1)
    assert fires(schedule, 200, seed=1) != fires(schedule, 200, seed=2)
    assert 60 < len(fires(schedule, 200, seed=1)) < 140


@given(
    first=st.none() | st.integers(1, 20),
    after=st.integers(0, 20),
    every=st.none() | st.integers(1, 6),
    count=st.none() | st.integers(1, 20),
    probability=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_schedule_laws(
    first: int | None,
    after: int,
    every: int | None,
    count: int | None,
    probability: float,
    seed: int,
) -> None:
    schedule = Schedule(first=first, after=after, every=every, count=count, probability=probability)
    fired = fires(schedule, 60, seed)
    assert fired == fires(schedule, 60, seed)  # deterministic
    assert all(m > after for m in fired)
    if first is not None:
        assert all(m <= after + first for m in fired)
    if every is not None:
        assert all((m - after) % every == 0 for m in fired)
    if count is not None:
        assert len(fired) <= count
    if probability == 1.0 and first is None and every is None and count is None:
        assert fired == list(range(after + 1, 61))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"probability": 1.5},
        {"first": 0},
        {"every": 0},
        {"after": -1},
        {"count": 0},
        {"window": {"start": 5, "end": 5}},
        {"evry": 2},
    ],
)
def test_bad_schedules_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Schedule(**kwargs)
