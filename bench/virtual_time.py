"""Virtual time vs real time on the project's own chaos suite. Prints one JSON object.

Runs the in-process chaos suite of both reference bots over the scenario library
(``tests/chaos/test_bots.py`` without the Toxiproxy, WebSocket and realistic scenarios,
which need sockets or hours) twice in this process: once with ``--chaos-clock real`` and
once on virtual time (the default), after a warm-up run, so both pay the same for imports
and first calls (``pytest.main`` in one interpreter). Then the ``realistic`` set, which only
virtual time can run (Retry-After of 45 s, bans of minutes, a 30-minute maintenance), and
how many seconds of exchange time it lives through per second of wall time.

Keys: ``real_wall_s``, ``virtual_wall_s``, ``speedup`` (real / virtual), ``cpu_s`` (CPU
seconds of the virtual run), ``real_cpu_s``, ``tests``, ``realistic_tests``,
``realistic_wall_s``, ``simulated_s`` (exchange seconds the realistic set lived through,
from the report) and ``simulated_s_per_wall_s``. Every run is ``-n 0``.

Usage: python bench/virtual_time.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = "tests/chaos/test_bots.py"
IN_PROCESS = "not toxic and not ws- and not realistic and not table"
REALISTIC = "realistic"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Count:
    """Counts the tests that passed (a pytest plugin object)."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and report.passed:
            self.passed += 1
        elif report.failed:
            self.failed.append(report.nodeid)


def run(select: str, *extra: str) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, tests passed) of one pytest run in this process."""
    count = _Count()
    args = [SUITE, "-k", select, "-n", "0", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    cpu, wall = _cpu(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main([*args, *extra], plugins=[count])
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    if code != 0 or count.failed:
        sys.exit(f"pytest -k {select!r} {' '.join(extra)} failed: {count.failed}")
    return wall, cpu, count.passed


def main() -> int:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    run(IN_PROCESS)  # warm-up: imports and first calls, paid by neither measured run
    real_wall, real_cpu, tests = run(IN_PROCESS, "--chaos-clock", "real")
    virtual_wall, virtual_cpu, same = run(IN_PROCESS)
    assert same == tests, (tests, same)
    with tempfile.TemporaryDirectory() as report:
        realistic_wall, _, realistic_tests = run(REALISTIC, "--chaos-report", report)
        records = json.loads((Path(report) / "report.json").read_text())["records"]
    simulated = sum(r["simulated_s"] or 0.0 for r in records)
    print(
        json.dumps(
            {
                "real_wall_s": round(real_wall, 2),
                "virtual_wall_s": round(virtual_wall, 2),
                "speedup": round(real_wall / virtual_wall, 1),
                "cpu_s": round(virtual_cpu, 2),
                "real_cpu_s": round(real_cpu, 2),
                "tests": tests,
                "realistic_tests": realistic_tests,
                "realistic_wall_s": round(realistic_wall, 2),
                "simulated_s": round(simulated, 1),
                "simulated_s_per_wall_s": round(simulated / realistic_wall, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
