"""The virtual clock in pytest: which chaos tests run on it, and the hooks that turn it on
inside the test's own event loop and keep it on through teardown.

The clock of a test marked ``chaos``: ``chaos(clock=...)``, else ``--chaos-clock``, else
the ``chaos_clock`` ini setting, else ``auto``. ``auto`` runs the test on virtual time when
it can (an async test on the in-process backend) and on real time otherwise (a sync test,
a socket-served ``mock_server``, Toxiproxy, a scenario with toxics or streams).
``virtual`` asked for a test that cannot run on it fails the test and says why. Tests not
marked ``chaos`` always run on real time.

The clock starts in a wrapper around the test coroutine, so it is the loop pytest-asyncio
really runs the test in (whatever the loop scope); fixture setup runs on real time and
counts as nothing (:class:`harness.clock.Anchor`). It stops after the body (invariants
read the last virtual instant), runs again for teardown, and ends with it.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import pytest

from harness.clock import CLOCKS, VirtualClock
from harness.errors import messages
from harness.plugin import item_state, uses_harness

__all__ = ["CHAOS_MARKER_ARGS", "clock_of"]

CHAOS_MARKER_ARGS = ("seed", "clock", "epoch", "idle_timeout", "noop_cycles")
_CLOCK = pytest.StashKey[VirtualClock]()


def _marker_args(item: pytest.Item) -> dict[str, Any] | None:
    marks = list(item.iter_markers("chaos"))
    if not marks:
        # an explored test is a chaos test, even without the marker
        explored = item.get_closest_marker("chaos_explore") is not None
        if not explored and item.config.getoption("--chaos-explore") is not None:
            explored = uses_harness(item)
        return {} if explored else None
    kwargs: dict[str, Any] = {}
    for mark in reversed(marks):  # farthest first: the closest marker wins
        kwargs.update(mark.kwargs)
    unknown = set(kwargs) - set(CHAOS_MARKER_ARGS)
    if unknown:
        text = messages.bad_marker_args("chaos", item.nodeid, unknown, CHAOS_MARKER_ARGS)
        pytest.fail(text, pytrace=False)
    return kwargs


def clock_of(item: pytest.Item) -> tuple[str, str]:
    """(clock asked for, where it was asked): ``auto``, ``virtual`` or ``real``."""
    kwargs = _marker_args(item)
    if kwargs is None:
        return "real", "not a chaos test"
    if kwargs.get("clock") is not None:
        value, source = kwargs["clock"], "@pytest.mark.chaos(clock=...)"
    elif item.config.getoption("--chaos-clock"):
        value, source = item.config.getoption("--chaos-clock"), "--chaos-clock"
    elif item.config.getini("chaos_clock"):
        value, source = item.config.getini("chaos_clock").strip(), "ini chaos_clock"
    else:
        value, source = "auto", "the default"
    if value not in CLOCKS:
        pytest.fail(messages.bad_clock(value, source), pytrace=False)
    return value, source


def _obstacles(item: pytest.Item) -> list[str]:
    from pytest_asyncio import is_async_test

    found = [] if is_async_test(item) else ["it is not an async test (the clock is its loop's)"]
    if "toxiproxy_server" in getattr(item, "fixturenames", ()):
        found.append(messages.real_time_because("toxiproxy"))
    return list(dict.fromkeys(found + item_state(item).real_time))


def _virtual_clock(item: pytest.Item) -> VirtualClock | None:
    """This test's virtual clock, or None when it runs on real time."""
    value, source = clock_of(item)
    if value == "real":
        return None
    obstacles = _obstacles(item)
    if obstacles:
        if value == "virtual":
            reason = "; ".join(obstacles)
            pytest.fail(messages.virtual_time_impossible(item.nodeid, source, reason), False)
        return None
    kwargs = _marker_args(item) or {}
    options = {k: kwargs[k] for k in ("epoch", "idle_timeout", "noop_cycles") if k in kwargs}
    return VirtualClock(seed=item_state(item).test_seed, **options)


def _on_clock(
    fn: Callable[..., Coroutine[Any, Any, Any]], item: pytest.Item, clock: VirtualClock
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(fn)
    async def on_virtual_time(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        import looptime

        if clock.loop is None:  # the first run (hypothesis runs the body once an example)
            clock.start(asyncio.get_running_loop())
            item.stash[_CLOCK] = clock
        else:
            clock.resume()
        try:
            return await fn(*args, **kwargs)
        except looptime.IdleTimeoutError:
            pytest.fail(messages.idle_on_virtual_time(clock.idle_timeout or 0), pytrace=False)
        except looptime.LoopTimeoutError:
            pytest.fail(messages.virtual_time_budget(clock.elapsed), pytrace=False)
        finally:
            clock.suspend()

    return on_virtual_time


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outside exploration: examples share the clock
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    __tracebackhide__ = True
    clock = _virtual_clock(item)
    if clock is None:
        return (yield)
    state = item_state(item)
    state.clock = "virtual"
    fn = item.obj  # type: ignore[attr-defined]
    hypothesis = getattr(fn, "hypothesis", None)
    inner = getattr(hypothesis, "inner_test", None)
    if inner is not None and inspect.iscoroutinefunction(inner):
        hypothesis.inner_test = _on_clock(inner, item, clock)  # type: ignore[union-attr]
        try:
            return (yield)
        finally:
            hypothesis.inner_test = inner  # type: ignore[union-attr]
    item.obj = _on_clock(fn, item, clock)  # type: ignore[attr-defined]
    try:
        return (yield)
    finally:
        item.obj = fn  # type: ignore[attr-defined]
        state.simulated_s = clock.elapsed if clock.loop is not None else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """Teardown on the test's virtual clock (a server task sleeping out a latency fault
    ends at once), then real time again."""
    __tracebackhide__ = True
    clock = item.stash.get(_CLOCK, None)
    if clock is None:
        return (yield)
    clock.resume()
    try:
        return (yield)
    finally:
        clock.close()
        item_state(item).simulated_s = clock.elapsed
        del item.stash[_CLOCK]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A run interrupted inside a test (Ctrl-C) skips its teardown: the clock ends here,
    so the process (a second pytest.main, an IDE's runner) is on real time again."""
    from harness import clock

    current = clock.current()
    if current is not None:
        current.close()
