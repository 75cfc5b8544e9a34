"""harness.clock on its own: one clock for the loop, time.monotonic, time.time and datetime;
anchors that run on across a switch; real time kept for threads; refusals."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time

import pytest

from harness import MockServer, clock
from harness.clock import VIRTUAL_EPOCH, Anchor, VirtualClock, virtual_time
from harness.errors import UsageError


async def test_every_clock_the_client_reads_is_the_loop_clock() -> None:
    loop = asyncio.get_running_loop()
    async with virtual_time() as vc:
        start = (loop.time(), time.monotonic(), time.perf_counter(), time.time())
        assert start[0] == start[1] == start[2] == vc.mono0
        assert time.time() == VIRTUAL_EPOCH == clock.wall()
        assert dt.datetime.now(dt.UTC) == dt.datetime(2025, 1, 6, 15, 0, tzinfo=dt.UTC)
        await asyncio.sleep(3600)
        assert loop.time() - start[0] == 3600.0
        assert time.monotonic() - start[1] == 3600.0
        assert time.perf_counter_ns() == round(loop.time() * 1e9)
        assert time.time() == VIRTUAL_EPOCH + 3600
        assert dt.date.today() == dt.date(2025, 1, 6)
        assert vc.elapsed == 3600.0 == clock.monotonic() - vc.mono0
    # real again: the wall clock is today's, and monotonic is the machine's
    assert abs(time.time() - clock.real_wall()) < 5
    assert time.monotonic is not None and clock.current() is None


async def test_an_epoch_of_ones_own() -> None:
    async with virtual_time(epoch=1_700_000_000):
        assert time.time() == 1_700_000_000
        await asyncio.sleep(1.5)
        assert time.time() == 1_700_000_001.5


async def test_a_thread_keeps_real_clocks_and_does_not_move_virtual_time() -> None:
    async with virtual_time() as vc:
        before = vc.elapsed
        real = await asyncio.to_thread(time.time)
        assert abs(real - clock.real_wall()) < 5  # today, not 2025-01-06
        assert vc.elapsed == before


async def test_an_anchor_made_before_the_clock_starts_runs_on_without_a_jump() -> None:
    used = Anchor()
    await asyncio.sleep(0.01)
    reading = used.elapsed()  # a fixture read it: the clock must not go back
    fresh = Anchor()  # nobody read it: fixture time counts as nothing
    async with virtual_time():
        assert fresh.elapsed() == 0.0
        assert used.elapsed() == reading
        await asyncio.sleep(90)
        assert fresh.elapsed() == 90.0
        assert used.elapsed() == reading + 90
    after = fresh.elapsed()
    assert 90.0 <= after < 95.0  # back on real time, from where virtual time left it


async def test_a_mock_server_made_in_a_fixture_starts_at_zero() -> None:
    server = MockServer("https://x.test")
    server.get("/a").respond(json={})
    async with virtual_time():
        await asyncio.sleep(42)
        import aiohttp

        async with server.intercept(), aiohttp.ClientSession() as session:
            await session.get("https://x.test/a")
    assert [e.t for e in server.journal] == [42.0]


async def test_the_seed_seeds_random_so_jitter_replays() -> None:
    draws = []
    for _ in range(2):
        async with virtual_time(seed=11):
            draws.append([random.random() for _ in range(3)])
    assert draws[0] == draws[1]


async def test_sockets_threads_and_a_second_clock_are_refused() -> None:
    server = MockServer("https://x.test")
    async with virtual_time():
        with pytest.raises(UsageError, match=r"MockServer.serve\(\) needs real time.*socket"):
            server.serve()
        with pytest.raises(UsageError, match="serve_in_thread"):
            server.serve_in_thread()
        with pytest.raises(UsageError, match="one test, one clock"):
            VirtualClock().start(asyncio.get_running_loop())
    assert clock.current() is None


async def test_a_client_that_waits_for_nothing_gets_a_clear_idle_error() -> None:
    import looptime

    async with virtual_time(idle_timeout=0.2):
        with pytest.raises(looptime.IdleTimeoutError):
            await asyncio.Event().wait()  # no timer, no I/O: nothing can ever wake it


def test_outside_a_loop_the_harness_clock_is_the_machines() -> None:
    assert clock.current() is None
    assert abs(clock.monotonic() - time.monotonic()) < 1
    assert abs(clock.wall() - time.time()) < 1
