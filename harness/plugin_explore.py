"""Exploration in pytest: ``@pytest.mark.chaos_explore`` (or ``--chaos-explore N``) runs a
chaos test once per fault schedule drawn by :func:`harness.explore.fault_schedules`.

The test body runs first without faults (it must pass: the baseline, which also tells
which roles and paths the client uses), then once per drawn scenario on the same
fixtures, reset between runs: the mock server's journal and the routes the body added,
the chaos engine, the fake exchange's state, the virtual clock's epoch and the global
``random`` (seeded with the test's seed). The oracle is the test's own assertions and
exceptions plus the invariants of the exploration. hypothesis drives the examples from a
helper thread, each run on the test's own event loop (and on its virtual clock).
"""

from __future__ import annotations

import asyncio
import functools
import random
import threading
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import HarnessWarning, messages
from harness.plugin import item_state, run_seed

__all__ = ["EXPLORE_MARKER_ARGS", "LISTENERS"]

EXPLORE_MARKER_ARGS = ("max_examples", "kinds", "roles", "paths", "max_faults", "invariants")
LISTENERS: list[Callable[[Any, str], None]] = []
"""Progress listeners: ``listener(exploration, event)`` (``chaos-harness explore`` prints)."""


def _options(item: pytest.Item) -> dict[str, Any] | None:
    """The exploration options of this test, or None when it is not explored."""
    marks = list(item.iter_markers("chaos_explore"))
    examples = item.config.getoption("--chaos-explore")
    if not marks and examples is None:
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


async def _in_thread(call: Callable[[], Any]) -> Any:
    """``call()`` in a thread of its own, awaited without an executor: looptime steps its
    clock in real time while an executor's future is pending, and the examples this
    thread sends to the loop must run on virtual time."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def target() -> None:
        try:
            result = call()
        except BaseException as exc:  # handed to the awaiting test, raised there
            loop.call_soon_threadsafe(_settle, done, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, done, result, None)

    threading.Thread(target=target, name="chaos-explore", daemon=True).start()
    return await done


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if not future.done():
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)


def _explorer(
    item: pytest.Item, fn: Callable[..., Coroutine[Any, Any, Any]], options: dict[str, Any]
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(fn)
    async def explored(**kwargs: Any) -> None:
        __tracebackhide__ = True
        from harness import clock
        from harness.errors import UnmatchedRequestError
        from harness.explore import (
            DEFAULT_INVARIANTS,
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
        server = chaos.server
        state = item_state(item)
        seed = state.test_seed
        exchange = getattr(server.profile, "exchange", None) if server.profile else None
        snapshot = exchange.snapshot() if exchange is not None else None
        fixture_routes = len(server.routes)
        unchecked: dict[str, list[str]] = {}

        async def one(scenario: Any) -> None:
            server.cancel_tasks()
            del server.routes[fixture_routes:]
            server.reset()
            chaos.reset()
            if exchange is not None:
                exchange.restore(snapshot)
            virtual = clock.current()
            if virtual is not None:
                virtual.rebase()
            random.seed(seed)
            if scenario is not None:
                chaos.load(scenario)
            try:
                await fn(**kwargs)
            except pytest.fail.Exception as exc:  # pytest.fail() in the body: a failure
                raise AssertionError(str(exc)) from None
            if server.unmatched:
                raise UnmatchedRequestError.at_teardown(server.unmatched)
            if scenario is not None and scenario.invariants:
                ctx = context_for(chaos)
                specs, lacking = checkable(scenario.invariants, ctx)
                unchecked.update(lacking)
                check_invariants(specs, ctx)

        try:
            await one(None)
        except Exception as exc:
            text = messages.explore_baseline_fails(item.nodeid, describe_failure(exc)[0])
            pytest.fail(text, pytrace=False)
        used = list(server.journal)
        roles = options.get("roles") or [e.role for e in used if e.role]
        paths = options.get("paths") or [e.path for e in used if not e.role]
        kinds = options.get("kinds")
        if kinds is None and any(e.method == "WS" for e in used):
            from harness.explore import KIND_ORDER, MESSAGE_KINDS

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
        loop = asyncio.get_running_loop()

        def run(scenario: Any) -> None:
            asyncio.run_coroutine_threadsafe(one(scenario), loop).result()

        def progress(exploration: Any, event: str) -> None:
            for listener in LISTENERS:
                listener(exploration, event)

        result = await _in_thread(
            functools.partial(
                explore,
                run,
                strategy,
                test=item.nodeid,
                seed=seed,
                max_examples=options.get("max_examples", 200),
                known=known,
                progress=progress,
            )
        )
        result.unchecked = unchecked
        state.exploration = result
        if unchecked:
            item.warn(HarnessWarning(messages.explore_unchecked(unchecked)))
        chaos.judged = True  # each example was judged; the teardown judges nothing again
        if result.scenario is None:
            chaos.reset()
            chaos.judged = True
            return
        if result.regression is not None:
            pytest.fail(messages.explore_regression(result.regression, result.broke), False)
        replay = messages.replay(item.nodeid, run_seed(item.config))
        rel = (
            folder.relative_to(item.config.rootpath)
            if folder.is_relative_to(item.config.rootpath)
            else folder
        )
        path = write_found(
            result,
            folder,
            replay=replay,
            scenario_path_hint=str(rel / f"{result.scenario.name.removeprefix('found-')}.yaml"),
        )
        pytest.fail(
            messages.explore_found(
                str(rel / path.name),
                result.broke,
                len(result.scenario.faults),
                result.first_failure or 0,
                result.examples,
            ),
            pytrace=False,
        )

    return explored
