"""Exploration in pytest: ``@pytest.mark.chaos_explore`` (or ``--chaos-explore N``) runs a
chaos test once per fault schedule drawn by :func:`harness.explore.fault_schedules`.

The test body runs first without faults (it must pass, and make requests: the baseline
tells which roles and paths the client uses), then once per drawn scenario on the same
fixtures, reset between runs: the mock server's journal and the routes the body added,
the chaos engine, the fake exchange and its profile, tasks the body left running, the
virtual clock (back to the epoch, on a whole second) and the global ``random`` (seeded with
the test's seed). The oracle is the test's own assertions and exceptions plus the
invariants of the exploration.

hypothesis drives the examples from a helper thread; every example runs in the test's
own task (:mod:`harness.explore_loop`).
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import HarnessWarning, messages
from harness.explore_loop import cancel_new_tasks, run_examples
from harness.plugin import item_state, run_seed, uses_harness

__all__ = ["EXPLORE_MARKER_ARGS", "LISTENERS"]

EXPLORE_MARKER_ARGS = ("max_examples", "kinds", "roles", "paths", "max_faults", "invariants")
LISTENERS: list[Callable[[Any, str], None]] = []
"""Progress listeners: ``listener(exploration, event)`` (``chaos-harness explore`` prints)."""
MAX_VIRTUAL_S = 7 * 24 * 3600.0
"""Exchange time one example may live through before it is stopped (virtual time only)."""


def _options(item: pytest.Item) -> dict[str, Any] | None:
    """The exploration options of this test, or None when it is not explored."""
    marks = list(item.iter_markers("chaos_explore"))
    examples = item.config.getoption("--chaos-explore")
    if not marks and (examples is None or not uses_harness(item)):
        return None
    kwargs: dict[str, Any] = {}
    for mark in reversed(marks):
        kwargs.update(mark.kwargs)
    unknown = set(kwargs) - set(EXPLORE_MARKER_ARGS)
    if unknown:
        text = messages.bad_marker_args("chaos_explore", item.nodeid, unknown, EXPLORE_MARKER_ARGS)
        pytest.fail(text, pytrace=False)
    if examples is not None:
        kwargs["max_examples"] = examples
    kwargs["_marked"] = bool(marks)
    return kwargs


def _found_dir(config: pytest.Config) -> Path:
    folder = config.getini("chaos_found") or "scenarios/found"
    return Path(config.rootpath) / folder


def _shown(path: Path, root: Path) -> str:
    """A path as messages show it: relative to the rootdir when it is inside."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    __tracebackhide__ = True
    options = _options(item)
    if options is None:
        return (yield)
    marked = options.pop("_marked")
    funcargs = getattr(item, "funcargs", {})
    fn = getattr(item, "obj", None)
    missing = None
    if "chaos" not in funcargs:
        missing = "the chaos fixture"
    elif not asyncio.iscoroutinefunction(fn):
        missing = "an async test"
    if missing is not None:
        text = messages.explore_needs(item.nodeid, missing)
        (pytest.fail if marked else pytest.skip)(text)
    item.obj = _explorer(item, fn, options)  # type: ignore[attr-defined]
    try:
        return (yield)
    finally:
        item.obj = fn  # type: ignore[attr-defined]


def _explorer(
    item: pytest.Item, fn: Callable[..., Coroutine[Any, Any, Any]], options: dict[str, Any]
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(fn)
    async def explored(**kwargs: Any) -> None:
        __tracebackhide__ = True
        from harness import clock
        from harness.explore import (
            DEFAULT_INVARIANTS,
            KIND_ORDER,
            MESSAGE_KINDS,
            SKIPPED,
            describe_failure,
            explore,
            fault_schedules,
            found_for,
            slug,
            write_found,
        )
        from harness.invariants import check_invariants, checkable, context_for

        funcargs = item.funcargs  # type: ignore[attr-defined]
        chaos = funcargs["chaos"]
        if chaos.scenarios:
            names = [s.name for s in chaos.scenarios]
            pytest.fail(messages.explore_with_scenarios(item.nodeid, names), pytrace=False)
        server = chaos.server
        state = item_state(item)
        seed = state.test_seed
        profile = server.profile
        snapshot = profile.snapshot() if profile is not None else None
        fixture_routes = len(server.routes)
        unchecked: dict[str, list[str]] = {}

        async def one(scenario: Any) -> Any:
            """One run of the body on fresh state: its outcome for :func:`explore`."""
            server.cancel_tasks()
            del server.routes[fixture_routes:]
            server.reset()
            chaos.reset()
            if profile is not None:
                profile.restore(snapshot)
            virtual = clock.current()
            if virtual is not None:
                virtual.rebase()
            random.seed(seed)
            if scenario is not None:
                chaos.load(scenario)
            before = asyncio.all_tasks()
            # on virtual time, an example that never ends (a hung request and no client
            # timeout) meets this deadline in no wall time: a loop time, set while the
            # clock is off, that the example's virtual clock reaches
            deadline = virtual.mono0 + MAX_VIRTUAL_S if virtual is not None else None
            try:
                async with asyncio.timeout_at(deadline) as budget:
                    await fn(**kwargs)
            except TimeoutError:
                if not budget.expired():
                    raise
                raise AssertionError(messages.explore_example_budget(MAX_VIRTUAL_S)) from None
            except pytest.skip.Exception:
                return SKIPPED
            except pytest.fail.Exception as exc:  # pytest.fail() in the body, an idle clock
                raise AssertionError(str(exc)) from None
            finally:
                await cancel_new_tasks(before)
            server.verify_answers()
            if scenario is not None and scenario.invariants:
                ctx = context_for(chaos)
                specs, lacking = checkable(scenario.invariants, ctx)
                unchecked.update(lacking)
                check_invariants(specs, ctx)
            return bool(chaos.log)

        try:
            await one(None)
        except Exception as exc:
            text = messages.explore_baseline_fails(item.nodeid, describe_failure(exc)[0])
            pytest.fail(text, pytrace=False)
        used = list(server.journal)
        if not used:
            why = "the test made no request without faults, so no fault could reach it"
            pytest.fail(messages.explore_nothing(item.nodeid, why), pytrace=False)
        roles = options.get("roles") or [e.role for e in used if e.role]
        # a route's own pattern (/v1/orders/{id}), not the one id the baseline happened to use
        patterns = {r.name: r.path.describe() for r in server.routes}
        paths = options.get("paths") or [
            patterns.get(e.route or "", e.path) for e in used if not e.role
        ]
        kinds = options.get("kinds")
        if kinds is None and any(e.method == "WS" for e in used):
            kinds = list(KIND_ORDER + MESSAGE_KINDS)
        invariants = options.get("invariants")
        strategy = fault_schedules(
            kinds=kinds,
            roles=roles,
            paths=paths,
            max_faults=options.get("max_faults", 3),
            invariants=list(DEFAULT_INVARIANTS if invariants is None else invariants),
            prefix=f"found-{slug(item.nodeid)}",
        )
        folder = _found_dir(item.config)
        known = found_for(item.nodeid, folder)

        def progress(exploration: Any, event: str) -> None:
            for listener in LISTENERS:
                listener(exploration, event)

        def drive(run: Callable[[Any], Any]) -> Any:
            return explore(
                run,
                strategy,
                test=item.nodeid,
                seed=seed,
                max_examples=options.get("max_examples", 200),
                known=known,
                progress=progress,
            )

        result = await run_examples(drive, one)
        result.unchecked = unchecked
        state.exploration = result
        if unchecked:
            item.warn(HarnessWarning(messages.explore_unchecked(unchecked)))
        chaos.judged = True  # each example was judged; the teardown judges nothing again
        root = Path(item.config.rootpath)
        if result.flaky is not None:
            chaos.reset()
            chaos.judged = True
            pytest.fail(messages.explore_flaky(item.nodeid, result.flaky), pytrace=False)
        if result.scenario is None:
            chaos.reset()
            chaos.judged = True
            if result.fired == 0:
                why = f"no drawn fault fired in {result.examples} examples"
                pytest.fail(messages.explore_nothing(item.nodeid, why), pytrace=False)
            return
        if result.regression is not None:
            where = _shown(Path(result.regression), root)
            pytest.fail(messages.explore_regression(where, result.broke), pytrace=False)
        replay = messages.replay(item.nodeid, run_seed(item.config))
        name = f"{result.scenario.name.removeprefix('found-')}.yaml"
        shown = _shown(folder / name, root)
        write_found(result, folder, replay=replay, scenario_path_hint=shown)
        pytest.fail(
            messages.explore_found(
                shown,
                result.broke,
                len(result.scenario.faults),
                result.first_failure or 0,
                result.examples,
            ),
            pytrace=False,
        )

    return explored
