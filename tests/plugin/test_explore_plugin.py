"""Exploration through pytest: @pytest.mark.chaos_explore, --chaos-explore, the found
folder (written, replayed first, loadable by any test), determinism under -n 0 and -n 2,
the report's section, the clear errors, and ``chaos-harness explore``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

BOT = """
import asyncio

import aiohttp
import pytest


async def client(url, careful=False):
    async def wait(resp):
        if careful and "Retry-After" in resp.headers:
            await asyncio.sleep(float(resp.headers["Retry-After"]))

    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            try:
                async with session.get(url + "/api/time") as resp:
                    await wait(resp)
                    await resp.read()
            except aiohttp.ClientError:
                pass
            try:
                async with session.get(url + "/api/candles") as resp:
                    await wait(resp)
                    if careful and resp.status >= 400:
                        continue
                    assert resp.status < 500, f"candles answered {resp.status}"  # the bug
                    await resp.json()
            except aiohttp.ClientError:
                if not careful:
                    raise


@pytest.fixture
def api(mock_server):
    mock_server.get("/api/time", role="time").respond(json={"t": 1})
    mock_server.get("/api/candles", role="bars").respond(json={"candles": []})
    return mock_server


@pytest.mark.chaos
@pytest.mark.chaos_explore(max_examples=EXAMPLES, kinds=["error", "disconnect", "latency"])
async def test_bot(api, chaos):
    await client(api.url, careful=CAREFUL)
"""

MINIMAL = [
    {
        "kind": "error",
        "match": {"role": "bars"},
        "schedule": {"first": 1},
        "preset": "internal",
        "status": 500,
    }
]


def bot(careful: bool = False, examples: int = 60) -> str:
    return BOT.replace("EXAMPLES", str(examples)).replace("CAREFUL", str(careful))


def found(pytester: pytest.Pytester) -> list[Path]:
    return sorted((pytester.path / "scenarios" / "found").glob("*.yaml"))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-p", "no:randomly", *args)


def test_a_planted_bug_is_found_shrunk_written_and_then_replayed_first(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_bot=bot())
    result = run(pytester, "--chaos-seed", "5")
    result.assert_outcomes(failed=1)
    (path,) = found(pytester)
    out = result.stdout.str()
    assert "exploration found a failure at example" in out and "shrunk to 1 fault" in out
    assert f"minimal scenario written to scenarios/found/{path.name}" in out
    assert "AssertionError: candles answered 500" in out
    data = yaml.safe_load(path.read_text())
    assert data["faults"] == MINIMAL
    assert data["origin"] == "explore test_bot.py::test_bot"
    assert "pytest 'test_bot.py::test_bot' --chaos-seed 5" in data["description"]
    # the next run replays it before it draws anything: the bug is still there
    again = run(pytester, "--chaos-seed", "6")
    again.assert_outcomes(failed=1)
    shown = f"scenarios/found/{path.name}"
    assert f"a scenario exploration found before still fails: {shown}" in again.stdout.str()
    assert found(pytester) == [path]
    # fixed, the client passes the replay and the whole exploration
    pytester.makepyfile(test_bot=bot(careful=True, examples=30))
    run(pytester, "--chaos-seed", "6").assert_outcomes(passed=1)


def test_a_found_scenario_replays_the_failure_in_any_chaos_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=bot())
    run(pytester, "--chaos-seed", "5").assert_outcomes(failed=1)
    (path,) = found(pytester)
    pytester.makepyfile(
        test_replay=f"""
import pytest
from test_bot import client


@pytest.mark.chaos
@pytest.mark.chaos_scenario("scenarios/found/{path.name}")
async def test_replay(api, chaos):
    with pytest.raises(AssertionError, match="candles answered 500"):
        await client(api.url)
    assert [e.kind for e in chaos.log] == ["error"]
    chaos.judged = True
"""
    )
    pytester.makeconftest("from test_bot import api  # noqa: F401")
    run(pytester, "test_replay.py").assert_outcomes(passed=1)


def test_the_same_seed_finds_the_same_scenario_under_n0_and_n2(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=bot())
    texts = []
    for workers in ("0", "2"):
        run(pytester, "--chaos-seed", "11", "-n", workers).assert_outcomes(failed=1)
        (path,) = found(pytester)
        texts.append((path.name, path.read_text()))
        path.unlink()
    assert texts[0] == texts[1]


def test_a_passing_exploration_is_in_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=bot(careful=True, examples=25))
    run(pytester, "--chaos-seed", "3", "--chaos-report", "out").assert_outcomes(passed=1)
    (record,) = json.loads((pytester.path / "out" / "report.json").read_text())["records"]
    exploration = record["exploration"]
    assert exploration["examples"] == 25 and exploration["failing"] == 0
    assert exploration["first_failure"] is None and exploration["broke"] == ""
    assert "## Exploration" in (pytester.path / "out" / "report.md").read_text()
    assert 'id="exploration"' in (pytester.path / "out" / "report.html").read_text()


def test_a_failing_exploration_is_in_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=bot())
    run(pytester, "--chaos-seed", "5", "--chaos-report", "out").assert_outcomes(failed=1)
    (record,) = json.loads((pytester.path / "out" / "report.json").read_text())["records"]
    exploration = record["exploration"]
    assert exploration["faults"] == 1 and exploration["scenario"]["faults"] == MINIMAL
    assert exploration["first_failure"] >= 1 and exploration["first_failure_s"] >= 0
    assert exploration["found"].endswith(".yaml")
    assert (
        "Minimal schedule of `test_bot.py::test_bot`"
        in (pytester.path / "out" / "report.md").read_text()
    )


def test_a_test_failing_without_faults_is_not_explored(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_broken="""
import pytest


@pytest.mark.chaos
@pytest.mark.chaos_explore(max_examples=5)
async def test_broken(mock_server, chaos):
    assert 1 == 2, "broken anyway"
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_broken.py::test_broken: the test fails without any fault (the test raised "
            "AssertionError: broken anyway*"
        ]
    )


def test_what_cannot_be_explored_says_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_cannot="""
import pytest


@pytest.mark.chaos
@pytest.mark.chaos_explore(max_examples=5)
def test_sync(mock_server, chaos):
    pass


@pytest.mark.chaos
@pytest.mark.chaos_explore(max_examples=5)
async def test_no_chaos(mock_server):
    pass


@pytest.mark.chaos
@pytest.mark.chaos_explore(max_exampels=5)
async def test_typo(mock_server, chaos):
    pass


@pytest.mark.chaos
async def test_plain(mock_server):
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(failed=3, passed=1)
    out = result.stdout.str()
    assert "test_sync: exploration needs an async test" in out
    assert "test_no_chaos: exploration needs the chaos fixture" in out
    assert "does not take max_exampels (it takes max_examples, kinds" in out
    # --chaos-explore over a whole suite skips, with the reason, what it cannot explore
    result = run(pytester, "--chaos-explore", "3", "-k", "plain", "-rs")
    result.assert_outcomes(skipped=1)
    assert "test_plain: exploration needs the chaos fixture" in result.stdout.str()


def test_the_command_line_explores_one_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=bot())
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    command = ["explore", "test_bot.py::test_bot", "--examples", "40", "--seed", "5"]
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", *command],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "exploring test_bot.py::test_bot: up to 40 fault schedules, run seed 5" in done.stderr
    assert "minimal scenario written to scenarios/found/" in done.stdout
    (path,) = found(pytester)
    assert yaml.safe_load(path.read_text())["faults"] == MINIMAL
    listed = subprocess.run(
        [sys.executable, "-m", "harness.cli", "list", "scenarios/found", "--json"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (row,) = json.loads(listed.stdout)
    assert row["origin"] == "explore test_bot.py::test_bot" and "found" in row["tags"]


# -- failure paths ------------------------------------------------------------------------

EDGES = """
import asyncio
import random
import time

import aiohttp
import pytest

SEEN = []


@pytest.fixture
def candles(mock_server):
    mock_server.get("/api/candles", role="bars").respond(json={"candles": []})
    return mock_server


async def get(url, timeout=None):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.get(url + "/api/candles") as resp:
            return resp.status


@pytest.mark.chaos_explore(max_examples=10, kinds=["hang"])
async def test_hang_without_timeout(candles, chaos):
    await get(candles.url)


@pytest.mark.chaos_explore(max_examples=8, kinds=["latency"])
async def test_every_example_starts_alike(candles, chaos):
    SEEN.append((time.time(), candles.now(), random.random(), len(asyncio.all_tasks())))
    asyncio.get_running_loop().create_task(asyncio.sleep(3600))  # left running
    await get(candles.url, timeout=60)
    assert candles.journal[0].t == 0.0
    assert len({s[:3] for s in SEEN}) == 1, SEEN  # same wall clock, server clock, random
    assert len({s[3] for s in SEEN}) == 1, SEEN  # no task of an earlier example is left


RUNS = []


@pytest.mark.chaos_explore(max_examples=20, kinds=["latency"])
async def test_flaky(candles, chaos):
    RUNS.append(1)
    await get(candles.url, timeout=60)
    assert len(RUNS) != 5, "leaked state: the 5th run fails whatever the schedule"


@pytest.mark.chaos_explore(max_examples=5)
async def test_no_request(mock_server, chaos):
    pass


@pytest.mark.chaos_explore(max_examples=20, kinds=["error"])
async def test_skips_some_examples(candles, chaos):
    if await get(candles.url) >= 500:
        pytest.skip("the exchange is down")


@pytest.mark.chaos_scenario("exchange-maintenance-503")
@pytest.mark.chaos_explore(max_examples=5)
async def test_with_a_scenario(candles, chaos):
    await get(candles.url)
"""


def test_the_failure_paths_of_an_exploration(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_edges=EDGES)
    result = run(pytester, "--chaos-seed", "3", "-rA", "--chaos-report", "out")
    outcomes = {
        r["nodeid"].split("::")[1]: r
        for r in json.loads((pytester.path / "out" / "report.json").read_text())["records"]
    }
    out = result.stdout.str()
    # a hang with no client timeout: found at once, on virtual time, with the reason
    assert outcomes["test_hang_without_timeout"]["outcome"] == "failed"
    assert "did not end within 7 days of exchange time" in out
    # every example starts on fresh state: clocks, random, tasks (the asserts are inside)
    assert outcomes["test_every_example_starts_alike"]["outcome"] == "passed"
    # a failure that does not come back is reported, and nothing is kept
    assert outcomes["test_flaky"]["outcome"] == "failed"
    assert "a failure that did not happen again when its example ran again" in out
    assert not list((pytester.path / "scenarios" / "found").glob("test-flaky-*"))
    # a test that makes no request tests nothing
    assert "test_no_request: exploration tested nothing: the test made no request" in out
    # skipped examples are discarded, the exploration goes on
    skipping = outcomes["test_skips_some_examples"]
    assert skipping["outcome"] == "passed" and skipping["exploration"]["skipped"] >= 1
    # a loaded scenario and exploration do not mix
    assert "draws its own scenarios, and this test also loads exchange-maintenance-503" in out


def test_a_profile_starts_fresh_for_every_example(pytester: pytest.Pytester) -> None:
    """The alpaca profile refuses a client_order_id it has seen: the same seeded id in every
    example must not be taken for a duplicate."""
    pytester.makepyfile(
        test_alpaca="""
import random

import aiohttp
import pytest


@pytest.mark.exchange("alpaca")
@pytest.mark.chaos_explore(max_examples=5, kinds=["latency"], invariants=[])
async def test_place(mock_exchange, chaos):
    headers = {"APCA-API-KEY-ID": "k", "APCA-API-SECRET-KEY": "s"}
    order = {"symbol": "AAPL", "qty": "1", "side": "buy", "type": "market",
             "time_in_force": "day", "client_order_id": f"bot-{random.getrandbits(32)}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(mock_exchange.url + "/v2/orders", json=order) as resp:
            assert resp.status == 200, await resp.text()
"""
    )
    run(pytester, "--chaos-seed", "3").assert_outcomes(passed=1)


def test_bad_explore_counts_are_usage_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bot=bot())
    result = run(pytester, "--chaos-explore", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-explore: '0' is not a positive whole number*"])


def test_the_command_line_fails_when_nothing_was_explored(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "explore", "test_plain.py::test_plain"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 1
    assert "nothing was explored: test_plain.py::test_plain" in done.stderr
