"""The resilience report from small pytester runs with known failures."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.report import load_report

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

SUITE = """
import aiohttp
import pytest
from harness import faults

@pytest.mark.chaos
@pytest.mark.chaos_scenario("exchange-maintenance-503")
async def test_rude(mock_server):
    mock_server.get("/v1/time").respond(json={"t": 1})
    async with aiohttp.ClientSession() as s:
        for _ in range(3):
            await s.get(mock_server.url + "/v1/time")   # ignores Retry-After

@pytest.mark.chaos
async def test_reset_breaks_it(mock_server, chaos):
    mock_server.post("/v1/orders").respond(json={})
    chaos.inject(faults.Latency(fixed_ms=5))
    chaos.inject(faults.Reset(), schedule={"first": 1})
    async with aiohttp.ClientSession() as s:
        await s.post(mock_server.url + "/v1/orders")

@pytest.mark.chaos
async def test_fine(mock_server, chaos):
    mock_server.get("/v1/time").respond(json={"t": 1})
    chaos.inject(faults.Latency(fixed_ms=3))
    async with aiohttp.ClientSession() as s:
        assert (await s.get(mock_server.url + "/v1/time")).status == 200

@pytest.mark.chaos
def test_seed_dependent(chaos_seed):
    assert chaos_seed % 3 != 0

@pytest.mark.chaos
def test_always_fails(mock_server):
    assert False, "broken under any seed"

def test_not_chaos():
    pass
"""
ARGS = ("-o", "asyncio_mode=auto", "-p", "no:cacheprovider", "--chaos-seed", "11")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=SUITE)
    return pytester.runpytest_subprocess(*ARGS, *args)


def test_report_contents_grouping_and_counts(pytester: pytest.Pytester) -> None:
    run(pytester, "--chaos-report", "out", "-n", "2")
    out = pytester.path / "out"
    data = json.loads((out / "report.json").read_text())
    assert data["meta"]["run_seed"] == 11 and "python" in data["meta"]["versions"]
    records = {r["test"]: r for r in data["records"]}
    assert set(records) == {
        "test_rude",
        "test_reset_breaks_it",
        "test_fine",
        "test_seed_dependent",
        "test_always_fails",
    }  # the test that does not use the harness is left out
    assert records["test_fine"]["outcome"] == "passed" and records["test_fine"]["injected_ms"] == [
        3.0
    ]
    assert records["test_fine"]["latencies_ms"] and records["test_fine"]["latencies_ms"][0] >= 3
    rude = records["test_rude"]
    assert rude["outcome"] == "failed" and rude["scenario"] == "exchange-maintenance-503"
    assert rude["violations"][0]["invariant"] == "respects_retry_after"
    assert rude["violations"][0]["evidence"][0]["status"] == 503  # the journal entries behind it
    reset = records["test_reset_breaks_it"]
    assert reset["outcome"] == "failed" and reset["exception"] == "ClientOSError"
    assert [f["kind"] for f in reset["faults"]] == ["latency", "reset"]
    assert data["summary"]["faults_by_kind"]["reset"] == 1
    md = (out / "report.md").read_text()
    assert "### exchange-maintenance-503: invariant: respects_retry_after" in md
    assert (
        "### (no scenario): exception: ClientOSError" in md
        and "Faults that fired: latency, reset." in md
    )
    assert "pytest 'test_suite.py::test_reset_breaks_it' --chaos-seed 11" in md
    html = (out / "report.html").read_text()
    assert (
        '<svg id="heatmap"' in html and 'class="cell failed"' in html and "<script src" not in html
    )


def test_replay_commands_reproduce_the_failures(pytester: pytest.Pytester) -> None:
    run(pytester, "--chaos-report", "out")
    report = load_report(pytester.path / "out")
    failures = [r for r in report.records if r.failed]
    assert {r.test for r in failures} >= {"test_rude", "test_reset_breaks_it", "test_always_fails"}
    for record in failures:
        # the options that shaped the run come along (ini override, plugins)
        assert "-o asyncio_mode=auto -p no:cacheprovider" in record.replay, record.replay
        args = shlex.split(record.replay)[1:]
        again = pytester.runpytest_subprocess(*args)
        assert again.ret != 0, record.replay
        assert record.exception is None or record.exception in again.stdout.str()


def test_sweep_classifies_every_seed_or_some(pytester: pytest.Pytester) -> None:
    run(pytester, "--chaos-report", "out", "--chaos-sweep", "6", "-n", "2")
    report = load_report(pytester.path / "out")
    dependence = report.seed_dependence()
    always = dependence["test_suite.py::test_always_fails"]
    assert len(always["failed"]) == 6 and not always["passed"]
    some = dependence["test_suite.py::test_seed_dependent"]
    assert some["failed"] and some["passed"]
    assert all(seed % 3 == 0 for seed in some["failed"]) and all(
        seed % 3 for seed in some["passed"]
    )
    md = (pytester.path / "out" / "report.md").read_text()
    assert "`test_suite.py::test_always_fails` fails under every seed (6)" in md
    assert "`test_suite.py::test_seed_dependent` fails only under some seeds" in md
    assert "--chaos-sweep 6" in md


def test_shards_merge_into_the_unsharded_report(pytester: pytest.Pytester) -> None:
    run(pytester, "--chaos-report", "full")
    for i in (1, 2):
        pytester.runpytest_subprocess(
            *ARGS, "--chaos-report", f"shard{i}", "--chaos-shard", f"{i}/2"
        )
    shards = [load_report(pytester.path / f"shard{i}") for i in (1, 2)]
    assert all(shard.records for shard in shards)
    assert not {r.nodeid for r in shards[0].records} & {r.nodeid for r in shards[1].records}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "report",
            "merge",
            "shard1",
            "shard2",
            "--out",
            "merged",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    def essence(path: str) -> set[tuple[str, str, str | None, int]]:
        return {
            (r.nodeid, r.outcome, r.exception, len(r.faults))
            for r in load_report(pytester.path / path).records
        }

    assert essence("merged") == essence("full")


def test_bad_shard_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--chaos-shard", "3/2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-shard: '3/2' is not I/N*"])


def test_run_command_progress_and_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", *ARGS, "-n", "2", "--report", "rep"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 1
    assert "pytest" in done.stderr and "-m chaos" in done.stderr and "failures:" in done.stderr
    fired = re.findall(r"faults fired: (\d+)", done.stderr)
    assert fired and int(fired[-1]) >= 3  # counted from the workers' reports
    assert "PytestAssertRewriteWarning" not in done.stdout + done.stderr
    report = load_report(pytester.path / "rep")
    assert {r.test for r in report.records} == {
        "test_rude",
        "test_reset_breaks_it",
        "test_fine",
        "test_seed_dependent",
        "test_always_fails",
    }
    rerender = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", "rep"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert rerender.returncode == 0 and (pytester.path / "rep" / "report.html").is_file()


def test_scenarios_docs_catalogue(tmp_path: Path) -> None:
    from harness.scenario import load_library

    out = tmp_path / "scenarios.md"
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "scenarios", "docs", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    text = out.read_text()
    for name, scenario in load_library().items():
        assert f"## {name}" in text and " ".join(scenario.description.split()) in text
    assert "`ack_lost`" in text and "`respects_retry_after`" in text


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_report_renders_the_heatmap_in_headless_chromium(pytester: pytest.Pytester) -> None:
    if CHROMIUM is None:
        # `make test` installs Debian's chromium and sets this: there, a missing browser fails
        if os.environ.get("CHAOS_HARNESS_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed, yet make test required it (see make chromium)")
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    run(pytester, "--chaos-report", "out")
    page = pytester.path / "out" / "report.html"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={pytester.path / 'profile'}",
    ]
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'id="heatmap"' in dom.stdout and dom.stdout.count('class="cell ') >= 5
    shot = pytester.path / "shot.png"
    done = subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0 and shot.is_file()
    png = shot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000  # a rendered page, not a blank one


def test_inert_pairs_are_listed_apart(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_inert="""
import pytest

@pytest.mark.chaos_scenario("stale-ticker")
def test_calls_nothing(mock_server):
    pass
"""
    )
    pytester.runpytest_subprocess("--chaos-report", "out").assert_outcomes(skipped=1)
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    assert data["summary"]["inert"] == [
        {"scenario": "stale-ticker", "nodeid": "test_inert.py::test_calls_nothing"}
    ]
    assert data["records"][0]["outcome"] == "skipped"
    assert "nothing was tested" in data["records"][0]["message"]
    md = (pytester.path / "out" / "report.md").read_text()
    assert "## Inert: scenarios that fired no fault" in md and "| stale-ticker |" in md
    assert 'id="inert"' in (pytester.path / "out" / "report.html").read_text()


LONG = """
import aiohttp
import pytest
from harness import faults

@pytest.mark.chaos
async def test_long(mock_server, chaos):
    mock_server.get("/v1/ticker").respond(json={"price": "1"})
    chaos.inject(faults.Latency(fixed_ms=1))
    async with aiohttp.ClientSession() as session:
        for _ in range(3000):
            async with session.get(mock_server.url + "/v1/ticker") as resp:
                await resp.read()
    assert chaos.fault_count() == chaos.fault_count("latency") == 3000
    assert len(chaos.fired()) == 3000
"""


def test_a_long_test_keeps_the_report_small_and_the_log_whole(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_long=LONG)
    result = pytester.runpytest_subprocess(
        *ARGS, "-n", "2", "--chaos-report", "out", "--chaos-log", "chaos.log"
    )
    result.assert_outcomes(passed=1)
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    (record,) = data["records"]
    assert len(record["faults"]) == 100 and record["faults_total"] == 3000
    assert record["fault_kinds"] == {"latency": 3000}
    assert record["faults"][-1]["index"] == 2999  # the latest are kept
    assert len(record["injected_ms"]) == 1000 and len(record["latencies_ms"]) == 1000
    assert data["summary"]["faults_by_kind"] == {"latency": 3000}
    assert data["summary"]["faults_by_route"] == {"GET /v1/ticker": 3000}
    lines = (pytester.path / "chaos.log").read_text().splitlines()
    assert len(lines) == 3000 and json.loads(lines[-1])["index"] == 2999


CRASHING = """
import os, signal
import pytest

@pytest.mark.chaos
def test_a_fine(mock_server):
    pass

@pytest.mark.chaos
def test_b_dies(mock_server):
    os._exit(1)

@pytest.mark.chaos
def test_c_fine(mock_server):
    pass

@pytest.mark.chaos
def test_d_fine(mock_server):
    pass
"""


def test_a_test_whose_worker_dies_is_in_the_report(pytester: pytest.Pytester) -> None:
    """os._exit under -n 2: xdist counts the test failed, and so does the report."""
    pytester.makepyfile(test_crash=CRASHING)
    result = pytester.runpytest_subprocess(*ARGS, "-n", "2", "--chaos-report", "out")
    result.assert_outcomes(passed=3, failed=1)
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    records = {r["test"]: r for r in data["records"]}
    assert set(records) == {"test_a_fine", "test_b_dies", "test_c_fine", "test_d_fine"}
    dead = records["test_b_dies"]
    assert dead["outcome"] == "failed" and dead["exception"] == "TestCrashed"
    assert "never finished" in dead["message"] and dead["test_seed"]
    assert dead["replay"].startswith("pytest 'test_crash.py::test_b_dies' --chaos-seed 11")
    assert data["summary"]["counts"] == {"passed": 3, "failed": 1}


TERMINATED = """
import os, signal
import pytest

@pytest.mark.chaos
def test_a_fine(mock_server):
    pass

@pytest.mark.chaos
def test_b_terminated(mock_server, chaos):
    chaos.record_external("toxic:latency", {"latency": 100})
    os.kill(os.getpid(), signal.SIGTERM)  # a CI job's timeout

@pytest.mark.chaos
def test_c_never_ran(mock_server):
    pass
"""


def test_sigterm_stops_the_run_and_still_writes_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_term=TERMINATED)
    result = pytester.runpytest_subprocess(
        *ARGS, "-p", "no:xdist", "--chaos-report", "out", "--chaos-log", "chaos.log"
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*KeyboardInterrupt*", "*SIGTERM: the run was stopped*"])
    data = json.loads((pytester.path / "out" / "report.json").read_text())
    records = {r["test"]: r["outcome"] for r in data["records"]}
    assert records == {"test_a_fine": "passed", "test_b_terminated": "failed"}
    # the interrupted test's faults are in the log: it is merged after the teardown
    (line,) = [json.loads(raw) for raw in (pytester.path / "chaos.log").read_text().splitlines()]
    assert line["test"] == "test_term.py::test_b_terminated" and line["kind"] == "toxic:latency"
    assert not list(pytester.path.rglob("*.part"))
