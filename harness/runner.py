"""``chaos-harness run``: pytest with chaos defaults, live progress, and the report."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.errors import messages

__all__ = ["chaos_args", "explore_args", "run_explore", "run_pytest"]


def chaos_args(args: Sequence[str], report_dir: str) -> list[str]:
    """The user's pytest arguments plus the chaos defaults they did not override."""
    out = list(args)
    if not any(a == "-m" or (a.startswith("-m") and len(a) > 2) for a in out):
        out += ["-m", "chaos"]
    no_xdist = any(
        (a == "no:xdist" and i > 0 and out[i - 1] == "-p") or a == "-pno:xdist"
        for i, a in enumerate(out)
    )
    if not no_xdist and not any(
        a in ("-n", "--numprocesses") or a.startswith(("-n", "--numprocesses=")) for a in out
    ):
        out += ["-n", "auto"]
    if not any(a.startswith("--chaos-report") for a in out):
        out += ["--chaos-report", report_dir]
    return out


class _Live:
    """Counts tests, failures and faults as reports arrive (from xdist workers too)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("chaos", total=None, failures=0, faults=0)
        self.failures = 0
        self.faults = 0
        self.failed: set[str] = set()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        self.progress.update(self.task, total=len(ids))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not hasattr(session.config, "workerinput"):
            self.progress.update(self.task, total=len(session.items) or None)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and report.nodeid not in self.failed:
            self.failed.add(report.nodeid)
            self.failures += 1
        if report.when == "teardown":
            self.faults += getattr(report, "chaos_faults", 0)
            self.progress.update(self.task, advance=1, failures=self.failures, faults=self.faults)


def run_pytest(args: Sequence[str], report_dir: str = "chaos-report") -> int:
    final = chaos_args(args, report_dir)
    console = Console(stderr=True)
    console.print(messages.cli_run_banner(final))
    progress = Progress(
        TextColumn("[bold]chaos tests"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failures: [red]{task.fields[failures]}[/red]"),
        TextColumn("faults fired: {task.fields[faults]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        code = pytest.main(final, plugins=[_Live(progress)])
    if (Path(report_dir) / "report.json").is_file():  # not after a usage error
        console.print(messages.cli_run_report(report_dir))
    return int(code)


def explore_args(nodeid: str, examples: int, seed: int | None, extra: Sequence[str]) -> list[str]:
    """pytest arguments that explore one test: in this process (``-n 0``), quiet."""
    out = [nodeid, "--chaos-explore", str(examples), "-n", "0", "-p", "no:randomly", "-q"]
    if seed is not None:
        out += ["--chaos-seed", str(seed)]
    return out + list(extra)


def run_explore(
    nodeid: str, examples: int = 200, seed: int | None = None, extra: Sequence[str] = ()
) -> int:
    """``chaos-harness explore``: explore one test with live progress; pytest's exit code."""
    from harness import plugin_explore

    console = Console(stderr=True)
    console.print(messages.cli_explore_banner(nodeid, examples, seed))
    progress = Progress(
        TextColumn("[bold]exploring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    task = progress.add_task("explore", total=examples, state="")

    explored: list[Any] = []

    def listen(exploration: Any, event: str) -> None:
        if event == "done":
            explored.append(exploration)
        state = messages.explore_progress(
            exploration.examples, exploration.max_examples, exploration.failing, event
        )
        total = max(examples, exploration.examples)
        progress.update(task, completed=exploration.examples, total=total, state=state)

    plugin_explore.LISTENERS.append(listen)
    try:
        with progress:
            code = pytest.main(explore_args(nodeid, examples, seed, extra))
    finally:
        plugin_explore.LISTENERS.remove(listen)
    if not explored:  # skipped, deselected, not a chaos test: a run that tested nothing
        console.print(messages.explore_nothing_explored(nodeid))
        return max(int(code), 1)
    return int(code)
