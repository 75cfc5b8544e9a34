"""Paths in markers, options and ini settings resolve from the project (the rootdir), so
pytest runs the same from the project's root and from its tests/ folder."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

FLAGS = ("-p", "no:randomly", "-p", "no:cacheprovider")
SCENARIO = """
name: my-outage
description: our gateway answers 503 once
faults:
  - kind: error
    status: 503
    match: {path: /api/time}
    schedule: {first: 1}
"""

TEST = """
import aiohttp
import pytest


@pytest.mark.chaos
@pytest.mark.chaos_scenario("scenarios/my-outage.yaml")
async def test_marker_path(mock_server, chaos):
    mock_server.get("/api/time").respond(json={"t": 1})
    async with aiohttp.ClientSession() as session:
        assert (await session.get(mock_server.url + "/api/time")).status == 503
    assert [s.name for s in chaos.scenarios] == ["my-outage"]


@pytest.mark.chaos
async def test_option_path(scenario, mock_server, chaos):
    mock_server.get("/api/time").respond(json={"t": 1})
    async with aiohttp.ClientSession() as session:
        await session.get(mock_server.url + "/api/time")
    assert scenario.name == "my-outage"
"""


@pytest.mark.parametrize("where", [".", "tests"])
def test_paths_resolve_from_the_rootdir(pytester: pytest.Pytester, where: str) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "my-outage.yaml").write_text(SCENARIO)
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_api.py").write_text(TEST)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *FLAGS, "--chaos-scenarios", "scenarios/", "-q"],
        cwd=pytester.path / where,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


SCENARIO_TEST = """
import pytest


@pytest.mark.chaos
def test_each(scenario):
    pass
"""


def test_the_default_set_is_the_projects_own_scenarios(pytester: pytest.Pytester) -> None:
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "my-outage.yaml").write_text(SCENARIO)
    pytester.makepyfile(test_each=SCENARIO_TEST)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "chaos scenarios (the scenario fixture): the project's scenarios/ folder",
            "chaos scenarios: 1 scenario from the project's scenarios/ folder",
            "*test_each[[]my-outage[]] PASSED*",
        ]
    )


def test_the_ini_setting_adds_built_ins_by_tag_or_name(pytester: pytest.Pytester) -> None:
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "my-outage.yaml").write_text(SCENARIO)
    pytester.makeini(
        "[pytest]\nchaos_scenarios =\n    scenarios/\n    tag:realistic\n    order-ack-lost\n"
    )
    pytester.makepyfile(test_each=SCENARIO_TEST)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["chaos scenarios: 6 scenarios from ini chaos_scenarios"])
    assert "realistic-maintenance" in result.stdout.str()


def test_without_project_scenarios_the_built_in_library_runs(pytester: pytest.Pytester) -> None:
    from harness.scenario import load_library

    pytester.makepyfile(test_each=SCENARIO_TEST)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=len(load_library()))
    result.stdout.fnmatch_lines(["chaos scenarios (the scenario fixture): the built-in library"])


def test_an_unknown_tag_lists_the_tags(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_each=SCENARIO_TEST)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--chaos-scenarios", "tag:nope")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*no scenario has the tag 'nope'; tags: *realistic*"])
