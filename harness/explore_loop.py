"""Running an exploration's examples on the test's own event loop.

hypothesis is synchronous and the test body is a coroutine on a running loop: hypothesis
runs in a helper thread and hands each drawn scenario to the test's task, which runs the
example and hands the outcome back (:class:`Examples`). Every example thus runs in the
test's task, on its loop and its virtual clock (looptime steps its clock in real time
while an executor's future is pending, so no executor is used). Whatever ends the test,
the thread is stopped and joined.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Examples", "cancel_new_tasks", "run_examples"]


class Stopped(BaseException):
    """The exploration ended (the test failed or was interrupted): the helper thread stops.
    A BaseException, so hypothesis does not take it for the client's failure."""


class Examples:
    """The hand-over between hypothesis' thread and the test's task: the thread puts a
    scenario and waits for its outcome; the task runs it and settles the outcome."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.inbox: asyncio.Queue[tuple[Any, concurrent.futures.Future[Any]]] = asyncio.Queue()
        self.stop = threading.Event()
        self.pending: concurrent.futures.Future[Any] | None = None

    def run(self, scenario: Any) -> Any:
        """In the thread: one example, run by the test's task; its outcome or its error."""
        if self.stop.is_set():
            raise Stopped
        outcome: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.pending = outcome
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, (scenario, outcome))
        try:
            return outcome.result()
        finally:
            self.pending = None

    def end(self, result: Any, error: BaseException | None) -> None:
        """In the thread: the exploration is over (the task stops waiting for scenarios)."""
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, (END, done))

    def close(self, thread: threading.Thread) -> None:
        """In the task, whatever happened: stop the thread and wait for it."""
        self.stop.set()
        pending = self.pending
        if pending is not None and not pending.done():
            pending.set_exception(Stopped())
        thread.join(timeout=30)


END = object()


async def run_examples(
    drive: Callable[[Callable[[Any], Any]], Any], one: Callable[[Any], Awaitable[Any]]
) -> Any:
    """``drive(run)`` in a helper thread (it calls ``run(scenario)`` once per example and
    returns the exploration's result); each ``run`` is carried out by ``one(scenario)`` in
    the calling task. Returns what ``drive`` returned, or raises what it raised."""
    examples = Examples(asyncio.get_running_loop())

    def target() -> None:
        try:
            result = drive(examples.run)
        except BaseException as exc:  # handed to the test's task, raised there
            examples.end(None, exc)
        else:
            examples.end(result, None)

    thread = threading.Thread(target=target, name="chaos-explore", daemon=True)
    thread.start()
    try:
        while True:
            scenario, outcome = await examples.inbox.get()
            if scenario is END:
                return outcome.result()
            try:
                outcome.set_result(await one(scenario))
            except Exception as exc:
                outcome.set_exception(exc)
    finally:
        examples.close(thread)


async def cancel_new_tasks(before: set[asyncio.Task[Any]]) -> None:
    """Cancel what the body started and left running, so the next example starts clean."""
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    for task in left:
        task.cancel()
    if left:
        await asyncio.gather(*left, return_exceptions=True)
