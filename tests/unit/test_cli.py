"""chaos-harness validate / list / schema: exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main
from harness.scenario import builtin_dir, load_library

BROKEN = (
    "name: broken\ndescription: d\nfaults:\n  - kind: latency\n    p50_ms: 80\n    p99_ms: 50\n"
)


def test_validate_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(builtin_dir())]) == 0
    assert f"{len(load_library())} scenarios valid" in capsys.readouterr().out


def test_validate_reports_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    (tmp_path / "worse.yaml").write_text("name: w\nfaults: [{kind: nope}]\n")
    good = tmp_path / "good.yaml"
    good.write_text("name: good\ndescription: fine\nfaults: [{kind: reset}]\n")
    assert main(["validate", str(tmp_path)]) == 2
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert f"{tmp_path / 'broken.yaml'}:6: faults[0].latency.p99_ms: must be >= p50_ms=80" in lines
    assert any(line.startswith(f"{tmp_path / 'worse.yaml'}:1: description") for line in lines)
    assert any("unknown fault kind 'nope'" in line for line in lines)
    assert "2 of 3 scenario files invalid" in out.err
    assert main(["validate", str(good)]) == 0


def test_validate_duplicate_names_and_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "name: same\ndescription: d\nfaults: [{kind: reset}]\n"
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    assert main(["validate", str(tmp_path)]) == 2
    assert "also used by" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["validate", str(empty)]) == 2


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == len(load_library())
    row = next(r for r in rows if r["name"] == "order-ack-lost")
    assert set(row) == {"name", "kinds", "tags", "file", "origin"}
    assert row["origin"] is None  # a built-in scenario; found ones say which test found them
    assert row["kinds"] == ["ack_lost"] and "idempotency" in row["tags"]
    assert row["file"].endswith("order-ack-lost.yaml")


def test_list_table_of_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text(
        "name: mine\ndescription: d\ntags: [x]\nfaults: [{kind: reset}]\n"
    )
    assert main(["list", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "reset" in out


def test_list_of_a_broken_folder_fails(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN)
    assert main(["list", str(tmp_path)]) == 2


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "trading-chaos-harness scenario"
    assert "faults" in schema["properties"]


def test_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0 and json.loads(done.stdout)


def test_validate_checks_invariant_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.yaml").write_text(
        "name: s\ndescription: d\nfaults: [{kind: reset}]\n"
        "invariants: [no_duplicate_order, {bounded_retries: {attempts: 2}}]\n"
    )
    assert main(["validate", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "invariants[0]: unknown invariant 'no_duplicate_order'" in out
    assert "did you mean 'no_duplicate_orders'" in out
    assert "invariants[1]: invariant 'bounded_retries' takes max_attempts, reset_after_s" in out


def test_doctor_passes_here_and_fails_without_toxiproxy(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "Toxiproxy server" in out and "scenario library" in out and "FAIL" not in out
    monkeypatch.setenv("TOXIPROXY_BIN", str(tmp_path / "missing"))
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "300")  # the fix on one line
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "chaos-harness toxiproxy install" in out


def test_list_fits_80_columns_and_shows_paths_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "order-ack-lost" in out and ".yaml" not in out
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list", "--verbose"]) == 0
    assert "order-ack-lost.yaml" in capsys.readouterr().out


def test_the_command_line_says_what_is_wrong_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "report.json").write_text("[1, 2]")
    assert main(["report", str(tmp_path / "list")]) == 2
    assert "is not a chaos report (a JSON object with meta and records)" in capsys.readouterr().err
    assert main(["scenarios", "docs", "--out", str(tmp_path / "missing" / "x.md")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["scenarios", "docs", "--out", str(tmp_path)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["validate", "/dev/zero"]) == 2
    assert "is not a regular file" in capsys.readouterr().out


def test_run_keeps_xdist_unless_it_is_turned_off() -> None:
    from harness.runner import chaos_args

    assert "-n" in chaos_args(["tests", "-p", "no:randomly"], "r")
    assert "-n" not in chaos_args(["tests", "-p", "no:xdist"], "r")
    assert chaos_args(["tests", "-n", "2"], "r").count("-n") == 1


@pytest.mark.usefixtures("clean_xdist_env")
def test_a_negative_sweep_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    result = pytester.runpytest_subprocess("--chaos-sweep", "-3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chaos-sweep: '-3' is not a positive whole number*"])
