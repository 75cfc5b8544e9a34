"""The chaos fixture, scenario markers and parametrization, and the run's fault log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

CLIENT = """
import aiohttp
import pytest
from harness import faults


async def hammer(server, n=30, path="/v1/ticker"):
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            try:
                timeout = aiohttp.ClientTimeout(total=0.5)
                resp = await session.get(server.url + path, timeout=timeout)
                statuses.append(resp.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                statuses.append(type(exc).__name__)
    return statuses
"""


def test_chaos_fixture_inject_and_log(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inject=CLIENT
        + """
@pytest.mark.chaos
async def test_inject(mock_server, chaos):
    mock_server.get("/v1/ticker").respond(json={"price": "1"})
    chaos.inject(faults.Error(status=503), schedule={"every": 2})
    statuses = await hammer(mock_server, 4)
    assert statuses == [200, 503, 200, 503]
    assert [line.index for line in chaos.fired("error")] == [1, 3]
    assert chaos.fired("reset") == []
    assert chaos.log[0].test.endswith("test_inject.py::test_inject")
"""
    )
    pytester.runpytest_subprocess("-o", "asyncio_mode=auto").assert_outcomes(passed=1)


def test_chaos_scenario_marker_loads_by_name_and_path(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", my_scenario="name: mine\ndescription: d\nfaults: [{kind: reset}]\n")
    pytester.makepyfile(
        test_marker=CLIENT
        + """
@pytest.mark.chaos_scenario("order-ack-lost")
async def test_by_name(mock_server):
    from harness.plugin import run_seed
    mock_server.get("/v1/ticker").respond(json={})
    chaos = mock_server.chaos
    assert chaos.scenario_names == ["order-ack-lost"]
    assert chaos.armed[0].fault.kind == "ack_lost"

    assert (await hammer(mock_server, 1)) == [200]  # a GET: ack_lost targets order_place

@pytest.mark.chaos_scenario("my_scenario.yaml")
async def test_by_path(mock_server, chaos):
    assert chaos.scenario_names == ["mine"]
    mock_server.get("/v1/ticker").respond(json={})
    await hammer(mock_server, 2)  # reset on every request: aiohttp's re-send meets it too

@pytest.mark.chaos_scenario("no-such-scenario")
def test_unknown(chaos):
    pass
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-rs")
    # a scenario that fired nothing tested nothing: its test is skipped, saying why
    result.assert_outcomes(passed=1, skipped=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ScenarioError: 1 problem in scenario:",
            "*no scenario named 'no-such-scenario'*",
            "SKIPPED*nothing was tested: scenario 'order-ack-lost' fired no fault*",
        ]
    )


def test_an_inert_scenario_skips_the_test_and_fails_it_under_strict(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_inert=CLIENT
        + """
@pytest.mark.chaos
@pytest.mark.chaos_scenario("stale-ticker")
async def test_never_asks_for_a_ticker(mock_server):
    mock_server.get("/api/candles", role="bars").respond(json=[])
    await hammer(mock_server, 3, path="/api/candles")
"""
    )
    args = ("-o", "asyncio_mode=auto", "-p", "no:cacheprovider")
    result = pytester.runpytest_subprocess(*args, "-rs")
    result.assert_outcomes(skipped=1)
    text = result.stdout.str()
    assert "'stale-ticker' fired no fault" in text
    assert "stale on role=ticker" in text  # what the scenario targeted
    assert "GET /api/candles (bars) x3" in text  # and what the client called
    strict = pytester.runpytest_subprocess(*args, "--chaos-strict")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*nothing was tested: scenario 'stale-ticker' fired no fault*"])


def test_scenario_fixture_is_parametrized_with_names_as_ids(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_param="""
def test_each(scenario, chaos):
    assert chaos.scenario_names == [scenario.name]
"""
    )
    result = pytester.runpytest_subprocess("-v", "--chaos-scenarios", "order-ack-lost,stale-ticker")
    result.assert_outcomes(skipped=2)  # loaded, and inert: the test calls nothing
    result.stdout.fnmatch_lines(
        ["*test_each[[]order-ack-lost[]] SKIPPED*", "*test_each[[]stale-ticker[]] SKIPPED*"]
    )


def test_default_selection_is_the_projects_own_scenarios(pytester: pytest.Pytester) -> None:
    """A project with scenarios of its own runs those; the built-ins come in by name or
    tag (tests/plugin/test_project_paths.py covers the ini setting)."""
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "own.yaml").write_text(
        "name: project-own\ndescription: d\nfaults: [{kind: reset}]\n"
    )
    pytester.makepyfile(test_all="def test_each(scenario):\n    pass\n")
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_each[[]project-own[]] PASSED*"])
    both = pytester.runpytest_subprocess("--chaos-scenarios", "scenarios/,order-ack-lost")
    both.assert_outcomes(passed=2)


def test_bad_selection_is_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad="def test_each(scenario):\n    pass\n")
    result = pytester.runpytest_subprocess("--chaos-scenarios", "nothing-like-this-*")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*matches no scenario*"])


SWEEP = (
    CLIENT
    + """
@pytest.mark.parametrize("n", range(4))  # no chaos marker: only the fault log matters here
async def test_flaky_link(mock_server, chaos, n):
    mock_server.get("/v1/ticker").respond(json={"price": "1"})
    chaos.load("flapping-connection")
    chaos.inject(faults.Latency(min_ms=0, max_ms=2))
    chaos.inject(faults.Error(status=502), schedule={"probability": 0.3})
    await hammer(mock_server, 25)
"""
)


def _log_without_time(path: Path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line in lines:
        line.pop("t")
    return lines


def test_fault_log_is_merged_and_identical_under_n0_and_n2(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sweep=SWEEP)
    serial, parallel, other = (
        pytester.path / n for n in ("serial.jsonl", "parallel.jsonl", "other.jsonl")
    )
    args = ("-o", "asyncio_mode=auto", "-p", "no:cacheprovider")
    pytester.runpytest_subprocess(
        *args, "-n", "0", "--chaos-seed", "9", "--chaos-log", str(serial)
    ).assert_outcomes(passed=4)
    pytester.runpytest_subprocess(
        *args, "-n", "2", "--chaos-seed", "9", "--chaos-log", str(parallel)
    ).assert_outcomes(passed=4)
    pytester.runpytest_subprocess(
        *args, "-n", "2", "--chaos-seed", "10", "--chaos-log", str(other)
    ).assert_outcomes(passed=4)
    a, b, c = _log_without_time(serial), _log_without_time(parallel), _log_without_time(other)
    assert a == b  # same seed: the same faults, whichever worker ran which test
    assert a != c  # another seed: another sequence
    assert {line["kind"] for line in a} >= {"disconnect", "latency", "error"}
    assert {line["scenario"] for line in a} == {"flapping-connection", None}
    assert {line["seed"] for line in a} == {9}
    assert len({line["test"] for line in a}) == 4
    assert not list(pytester.path.glob("*.part"))  # worker parts merged and removed


def test_one_test_alone_gives_the_same_faults_as_in_the_full_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sweep=SWEEP)
    full, alone = pytester.path / "full.jsonl", pytester.path / "alone.jsonl"
    args = ("-o", "asyncio_mode=auto", "--chaos-seed", "3")
    pytester.runpytest_subprocess(*args, "--chaos-log", str(full)).assert_outcomes(passed=4)
    pytester.runpytest_subprocess(
        *args, "--chaos-log", str(alone), "test_sweep.py::test_flaky_link[2]"
    ).assert_outcomes(passed=1)
    mine = [line for line in _log_without_time(full) if line["test"].endswith("[2]")]
    assert mine == _log_without_time(alone) and mine
