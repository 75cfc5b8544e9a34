"""Which clock a chaos test runs on: chaos(clock=...) > --chaos-clock > ini chaos_clock >
auto; the clear errors where virtual time cannot run; teardown, hypothesis and the report."""

from __future__ import annotations

import json
import sys

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

PROBE = """
import asyncio, time
import pytest
from harness import clock


def on_virtual():
    return clock.current() is not None


@pytest.mark.chaos
async def test_async_in_process(mock_server):
    assert on_virtual() is EXPECT_ASYNC


@pytest.mark.chaos
def test_sync(mock_server):
    assert not on_virtual()


async def test_not_a_chaos_test(mock_server):
    assert not on_virtual()


@pytest.mark.chaos
async def test_socket(mock_server_socket):
    assert not on_virtual()


@pytest.mark.chaos(clock="real")
async def test_marked_real(mock_server):
    assert not on_virtual()


@pytest.mark.chaos(clock="virtual")
async def test_marked_virtual(mock_server):
    assert on_virtual()
"""


def probe(expect_async: bool) -> str:
    return PROBE.replace("EXPECT_ASYNC", str(expect_async))


def test_auto_is_the_default_and_picks_virtual_time_where_it_can(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_probe=probe(True))
    pytester.runpytest_subprocess("-o", "asyncio_mode=auto").assert_outcomes(passed=6)


@pytest.mark.parametrize(
    "args",
    [("--chaos-clock", "real"), ("-o", "chaos_clock=real")],
    ids=["option", "ini"],
)
def test_real_for_the_run_or_the_project(pytester: pytest.Pytester, args: tuple[str, str]) -> None:
    pytester.makepyfile(test_probe=probe(False))
    pytester.runpytest_subprocess("-o", "asyncio_mode=auto", *args).assert_outcomes(passed=6)


def test_virtual_asked_where_it_cannot_run_fails_those_tests_and_says_why(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_probe=probe(True))
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "--chaos-clock", "virtual")
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*test_sync: virtual time was asked for (--chaos-clock) but this test cannot run on "
            "it: it is not an async test*",
            "*test_socket: virtual time was asked for (--chaos-clock)*served from a thread on a "
            "real 127.0.0.1 socket*chaos(clock='real')*",
        ]
    )


def test_serving_a_socket_on_virtual_time_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_serve="""
import pytest

@pytest.mark.chaos
async def test_serve(mock_server):
    async with mock_server.serve():
        pass
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*UsageError: MockServer.serve() needs real time, and this test runs on virtual time*"]
    )


def test_scenarios_with_streams_or_toxics_run_on_real_time(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_streams="""
import pytest
from harness import clock

@pytest.mark.chaos
@pytest.mark.chaos_scenario("ws-disconnects")
async def test_auto(mock_server, chaos):
    assert clock.current() is None

@pytest.mark.chaos(clock="virtual")
@pytest.mark.chaos_scenario("ws-disconnects")
async def test_virtual(mock_server, chaos):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-p", "no:randomly")
    result.assert_outcomes(skipped=1, failed=1)  # skipped: the stream never ran, so inert
    result.stdout.fnmatch_lines(["*scenario 'ws-disconnects' has WebSocket streams*"])


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        (
            'clock="virtaul"',
            "*clock 'virtaul' is not one of 'auto', 'virtual', 'real' (did you mean 'virtual'?)*",
        ),
        ("speed=2", "*@pytest.mark.chaos does not take speed (it takes seed, clock, epoch*"),
    ],
    ids=["bad-clock", "unknown-argument"],
)
def test_bad_markers_are_named(pytester: pytest.Pytester, marker: str, expected: str) -> None:
    pytester.makepyfile(
        test_bad=f"""
import pytest

@pytest.mark.chaos({marker})
async def test_it(mock_server):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([expected])


def test_a_bad_clock_option_is_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="def test_x(): pass\n")
    result = pytester.runpytest_subprocess("--chaos-clock", "fast")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*--chaos-clock: invalid choice: 'fast'*"])


def test_a_hang_without_a_client_timeout_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_idle="""
import aiohttp, pytest
from harness import faults

@pytest.mark.chaos(idle_timeout=0.3)
async def test_idle(mock_server, chaos):
    mock_server.get("/x").respond(json={})
    chaos.inject(faults.Hang())
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as s:
        await s.get(mock_server.url + "/x")
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*virtual time: for 0.3 s of real time no task had a timer*"])


def test_teardown_hypothesis_epoch_and_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_more="""
import asyncio, time
import pytest
from hypothesis import given, settings, strategies as st
from harness import clock

@pytest.fixture
async def slow_teardown():
    yield
    await asyncio.sleep(3600)  # an hour of virtual time: instant
    assert clock.current() is not None

@pytest.mark.chaos(epoch=1_700_000_000)
async def test_epoch_and_teardown(mock_server, slow_teardown):
    assert time.time() == 1_700_000_000
    await asyncio.sleep(60)

@pytest.mark.chaos
@settings(max_examples=5, deadline=None)
@given(st.integers(1, 3600))
async def test_hypothesis(seconds):
    t = time.monotonic()
    await asyncio.sleep(seconds)
    assert time.monotonic() - t == seconds
"""
    )
    result = pytester.runpytest_subprocess(
        "-o", "asyncio_mode=auto", "--chaos-report", "report", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=2)
    records = json.loads(pytester.path.joinpath("report", "report.json").read_text())["records"]
    by_test = {r["test"]: r for r in records}
    assert by_test["test_epoch_and_teardown"]["clock"] == "virtual"
    assert by_test["test_epoch_and_teardown"]["simulated_s"] == 3660.0


def test_virtual_time_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_probe=probe(True))
    pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-n", "2").assert_outcomes(passed=6)


def test_an_interrupted_run_leaves_real_time_behind(pytester: pytest.Pytester) -> None:
    """Ctrl-C inside a test skips its teardown: the session's end turns the clock off, so a
    second pytest.main in the same process (an IDE, a driver script) is on real time."""
    pytester.makepyfile(
        test_kbi="""
import asyncio
import pytest


@pytest.mark.chaos
async def test_interrupted(mock_server, chaos):
    await asyncio.sleep(5)
    raise KeyboardInterrupt
""",
        test_ok="""
import pytest


@pytest.mark.chaos
async def test_ok(mock_server):
    pass
""",
    )
    driver = pytester.makepyfile(
        driver="""
import time

import pytest

from harness import clock

first = pytest.main(["test_kbi.py", "-q", "-p", "no:randomly", "-o", "asyncio_mode=auto"])
print("after:", clock.current(), time.monotonic is clock._real_monotonic)
second = pytest.main(["test_ok.py", "-q", "-p", "no:randomly", "-o", "asyncio_mode=auto"])
print("codes:", int(first), int(second))
"""
    )
    result = pytester.run(sys.executable, str(driver), timeout=120)
    result.stdout.fnmatch_lines(["after: None True", "codes: 2 0"])
