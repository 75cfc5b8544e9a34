"""The harness's one clock, real or virtual.

Everything the harness times reads this module: the mock server's and the fault log's
``t``, the fake exchange's clock, Retry-After windows and rate-limit buckets, the cycles
invariants judge. On real time these are ``time.monotonic()`` and ``time.time()``.

On virtual time (:class:`VirtualClock`) the event loop's clock is fast-forwarded by
`looptime <https://pypi.org/project/looptime/>`_: when every task waits, time jumps to the
next timer, so a 60 s Retry-After or a 30 s client timeout costs no wall time. The client
sees one consistent clock while its test runs: ``asyncio.sleep``, aiohttp's
``ClientTimeout`` and ``loop.time()`` (looptime), ``time.monotonic()`` and
``time.perf_counter()`` (swapped for the loop's clock), and ``time.time()``,
``datetime.now()``, ``date.today()`` (`time-machine <https://pypi.org/project/time-machine/>`_,
kept in step with the loop). The wall clock starts at a fixed epoch, so a run is the same
for the same seed whatever the machine's load: CPU time never moves virtual time.

What cannot follow: other threads and processes (they keep real clocks, and looptime
jumps past them to the next timer), real sockets (the socket backend, Toxiproxy,
WebSocket feeds: the harness refuses them on virtual time and says why), and
``time.sleep()`` (it burns real time and no virtual time).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

__all__ = [
    "CLOCKS",
    "VIRTUAL_EPOCH",
    "Anchor",
    "VirtualClock",
    "current",
    "monotonic",
    "real_monotonic",
    "real_wall",
    "refuse_virtual",
    "virtual_time",
    "wall",
]

CLOCKS = ("auto", "virtual", "real")
"""``--chaos-clock`` / ``chaos_clock`` / ``chaos(clock=...)``: ``auto`` (the default) runs a
chaos test on virtual time when it can (async, in-process) and on real time otherwise."""

VIRTUAL_EPOCH = 1_736_175_600.0
"""Where the wall clock of a virtual run starts: 2025-01-06 15:00:00 UTC, a Monday, 10:00 in
New York (markets open, no holiday)."""

_real_monotonic = time.monotonic
_real_monotonic_ns = time.monotonic_ns
_real_perf_counter = time.perf_counter
_real_perf_counter_ns = time.perf_counter_ns
_running_loop = asyncio._get_running_loop  # C-accelerated, thread-local, never raises

_current: VirtualClock | None = None
_anchors: weakref.WeakSet[Anchor] = weakref.WeakSet()
_left: weakref.WeakKeyDictionary[Any, tuple[float, float]] = weakref.WeakKeyDictionary()
"""loop -> (its virtual time, the real monotonic time) when its last virtual clock closed."""


def current() -> VirtualClock | None:
    """The virtual clock of the test running now (None: real time)."""
    return _current


def monotonic() -> float:
    """The harness's monotonic clock: virtual while a virtual clock is on, else real."""
    clock = _current
    return clock.monotonic() if clock is not None else time.monotonic()


def wall() -> float:
    """The harness's wall clock (epoch seconds): virtual while a virtual clock is on."""
    clock = _current
    return clock.wall() if clock is not None else time.time()


def real_monotonic() -> float:
    """The machine's monotonic clock, even on virtual time (busy-waits on other processes)."""
    return _real_monotonic()


def real_wall() -> float:
    """The machine's wall clock, even on virtual time (how long a run really took)."""
    if _current is not None and _current._travel is not None:
        import time_machine

        return time_machine.escape_hatch.time.time()
    return time.time()


def refuse_virtual(what: str, why: str) -> None:
    """Raise ``UsageError`` when a virtual clock is on: ``what`` needs real time, ``why``."""
    if _current is not None:
        from harness.errors import UsageError, messages

        raise UsageError(messages.virtual_time_refused(what, why))


class Anchor:
    """Time zero of a server, a fault log or an exchange clock, on the harness clock.

    Made before a test's virtual clock starts (in a fixture), an anchor is moved onto it
    when it starts and back onto real time when it ends, so its :meth:`elapsed` runs on
    without a jump: fixture time counts as nothing.
    """

    __slots__ = ("__weakref__", "last", "t0")

    def __init__(self) -> None:
        self.t0 = monotonic()
        self.last = 0.0
        """The largest reading so far: where the anchor resumes after a clock switch."""
        _anchors.add(self)

    def elapsed(self) -> float:
        """Seconds since time zero."""
        seconds = monotonic() - self.t0
        if seconds > self.last:
            self.last = seconds
        return seconds

    def restart(self) -> None:
        """Time zero is now."""
        self.t0 = monotonic()
        self.last = 0.0

    def _move_to(self, now: float) -> None:
        self.t0 = now - self.last


def _move_anchors(now: float) -> None:
    for anchor in list(_anchors):
        anchor._move_to(now)


class VirtualClock:
    """Virtual time on one running event loop (looptime + time-machine).

    ``epoch``: the wall clock at the start (default :data:`VIRTUAL_EPOCH`); ``seed``: seeds
    the global ``random`` at the start, so a client's jitter replays too (None: untouched);
    ``idle_timeout``: real seconds the loop may wait with no timer and no I/O before every
    task gets looptime's ``IdleTimeoutError`` (a client waiting forever on a hang with no
    timeout of its own); ``noop_cycles``: looptime's idle iterations before a time jump.
    """

    def __init__(
        self,
        *,
        epoch: float | None = None,
        seed: int | None = None,
        idle_timeout: float | None = 10.0,
        noop_cycles: int = 42,
    ) -> None:
        self.epoch = VIRTUAL_EPOCH if epoch is None else float(epoch)
        self.seed = seed
        self.idle_timeout = idle_timeout
        self.noop_cycles = noop_cycles
        self.loop: Any = None
        self.mono0 = 0.0
        self._frozen: float | None = None
        self._enabler: Any = None
        self._travel: Any = None
        self._saved: dict[str, Any] = {}
        self._real_started = 0.0
        self._suspended_at = 0.0
        self.real_elapsed = 0.0
        """Wall seconds the clock was on (the test body and its teardown)."""

    # -- the clocks the patches install ----------------------------------------------------
    def _on_loop(self) -> bool:
        return _running_loop() is self.loop and self._frozen is None

    def monotonic(self) -> float:
        """The virtual monotonic clock (the loop's time; frozen while suspended)."""
        return self.loop.time() if self._frozen is None else self._frozen

    def wall(self) -> float:
        """The virtual wall clock: the epoch plus the virtual time elapsed."""
        return self.epoch + (self.monotonic() - self.mono0)

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the clock started."""
        return self.monotonic() - self.mono0

    def _monotonic(self) -> float:
        return self.loop.time() if self._on_loop() else _real_monotonic()

    def _monotonic_ns(self) -> int:
        return round(self.loop.time() * 1e9) if self._on_loop() else _real_monotonic_ns()

    def _perf_counter(self) -> float:
        return self.loop.time() if self._on_loop() else _real_perf_counter()

    def _perf_counter_ns(self) -> int:
        return round(self.loop.time() * 1e9) if self._on_loop() else _real_perf_counter_ns()

    def _wall_ns(self) -> int:
        if not self._on_loop():
            import time_machine  # time.time itself is patched: its escape hatch is not

            return time_machine.escape_hatch.time.time_ns()
        return round(self.wall() * 1e9)

    # -- switching -------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Turn virtual time on for ``loop`` (call it from a coroutine running on it)."""
        global _current
        import looptime

        from harness.errors import UsageError, messages

        if _current is not None:
            raise UsageError(messages.virtual_time_twice())
        if not isinstance(loop, looptime.LoopTimeEventLoop):
            looptime.patch_event_loop(loop, _enabled=False)  # type: ignore[arg-type]
        if loop.looptime_on:  # type: ignore[attr-defined]
            raise UsageError(messages.virtual_time_looptime_on())
        self.loop = loop
        # A whole second, so aiohttp's timeouts (rounded up to whole loop seconds) fall at
        # the same virtual instant in every run; the loop time runs on from the real one,
        # or from where an earlier virtual clock of this loop left it (never backwards).
        now = _real_monotonic()
        virtual, real = _left.get(loop, (now, now))
        self.mono0 = float(math.ceil(max(now, virtual + (now - real))) + 1)
        loop.setup_looptime(  # type: ignore[attr-defined]
            start=self.mono0, idle_timeout=self.idle_timeout, noop_cycles=self.noop_cycles
        )
        _current = self
        _move_anchors(self.mono0)
        if self.seed is not None:
            random.seed(self.seed)
        self.resume()

    def resume(self) -> None:
        """Virtual time runs again (for the test's teardown)."""
        import time_machine

        if self._travel is not None:
            return
        self._real_started = _real_perf_counter()
        self._frozen = None
        if not self.loop.looptime_on:
            self._enabler = self.loop.looptime_enabled()
            self._enabler.__enter__()
        for name in ("monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns"):
            self._saved[name] = getattr(time, name)
            setattr(time, name, getattr(self, "_" + name))
        self._travel = time_machine.travel(self.wall(), tick=False)
        traveller = self._travel.start()
        traveller.time_ns = self._wall_ns  # time-machine's C patches call it on every read

    def suspend(self) -> None:
        """Virtual time stops (between the test body and its teardown): the harness clock
        stays at the last virtual instant; other code gets real clocks back."""
        if self._travel is None:
            return
        self._frozen = self.loop.time()
        self._suspended_at = _real_perf_counter()
        self._travel.stop()
        self._travel = None
        for name, fn in self._saved.items():
            setattr(time, name, fn)
        self._saved.clear()
        if self._enabler is not None:
            self._enabler.__exit__(None, None, None)
            self._enabler = None
        self.real_elapsed += _real_perf_counter() - self._real_started

    def rebase(self) -> None:
        """Start again at the epoch, on a whole loop second, as :meth:`start` does (while
        suspended: between the examples of an exploration, so each meets the same instants
        and aiohttp's rounded deadlines fall alike)."""
        if self.loop is None:
            return
        assert self._frozen is not None, "rebase() only while suspended"
        # looptime's own time ran on with real time since the suspension
        ahead = self._frozen + (_real_perf_counter() - self._suspended_at)
        self.mono0 = float(math.ceil(ahead) + 1)
        self.loop.setup_looptime(
            start=self.mono0,
            idle_timeout=self.idle_timeout,
            noop_cycles=self.noop_cycles,
        )
        self._frozen = self.mono0
        _move_anchors(self.mono0)

    def close(self) -> None:
        """Back to real time for good: anchors run on from where virtual time left them."""
        global _current
        if self.loop is None:
            return
        self.suspend()
        if _current is self:
            _current = None
            _left[self.loop] = (self.monotonic(), _real_monotonic())
            _move_anchors(_real_monotonic())


@contextlib.asynccontextmanager
async def virtual_time(**options: Any) -> AsyncIterator[VirtualClock]:
    """Virtual time on the running loop for the ``async with`` block (outside pytest: a
    script, a benchmark)::

        async with virtual_time() as clock:
            await bot.run(cycles=100)
        print(clock.elapsed, "simulated seconds")
    """
    clock = VirtualClock(**options)
    clock.start(asyncio.get_running_loop())
    try:
        yield clock
    finally:
        clock.close()
