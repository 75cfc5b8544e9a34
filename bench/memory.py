"""Memory and report size of one long chaos test. Prints one JSON object.

Runs, in a fresh pytest process each, one in-process chaos test that sends N requests
with a fault firing on every one of them (``--chaos-log`` and ``--chaos-report`` on), for
a small N and a large N (10x more). What a bounded harness shows: the peak memory of the
large run is close to the small one's, report.json does not grow with the number of
faults, and the fault log file still holds every line.

Keys: ``requests`` (small, large), ``peak_rss_mb`` (of the pytest process, small and
large), ``rss_growth`` (large / small), ``report_kb`` (small, large), ``log_lines``
(small, large: every fault is in the streamed log), ``wall_s`` (small, large).

Usage: python bench/memory.py [LARGE]   (default 100000)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEST = """
import aiohttp
import pytest

from harness import faults


@pytest.mark.chaos
async def test_long(mock_server, chaos):
    mock_server.get("/v1/ticker", role="ticker").respond(json={"price": "64000.5"})
    chaos.inject(faults.Latency(fixed_ms=1))
    async with aiohttp.ClientSession() as session:
        for _ in range({n}):
            async with session.get(mock_server.url + "/v1/ticker") as resp:
                await resp.read()
    assert chaos.fault_count() == {n}
"""

_PEAK = (
    "import resource, subprocess, sys, json;"
    "rc = subprocess.call(sys.argv[1:]);"
    "print(json.dumps({'rc': rc, 'kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
)


def run(n: int, folder: Path) -> dict[str, float]:
    work = folder / f"n{n}"
    work.mkdir()
    (work / "test_long.py").write_text(TEST.replace("{n}", str(n)), encoding="utf-8")
    (work / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n", encoding="utf-8")
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK,
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--chaos-seed",
            "1",
            "--chaos-log",
            str(work / "chaos.log"),
            "--chaos-report",
            str(work / "report"),
            str(work / "test_long.py"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    peak = json.loads(out.stdout.strip().splitlines()[-1])
    if peak["rc"] != 0:
        sys.exit(f"the run of {n} requests failed (pytest exit {peak['rc']})")
    with (work / "chaos.log").open(encoding="utf-8") as fh:
        lines = sum(1 for _ in fh)
    return {
        "rss_mb": round(peak["kb"] / 1024, 1),
        "report_kb": round((work / "report" / "report.json").stat().st_size / 1024, 1),
        "log_lines": lines,
        "wall_s": round(wall, 2),
    }


def main() -> None:
    large = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    small = large // 10
    with tempfile.TemporaryDirectory() as tmp:
        a, b = run(small, Path(tmp)), run(large, Path(tmp))
    print(
        json.dumps(
            {
                "requests": [small, large],
                "peak_rss_mb": [a["rss_mb"], b["rss_mb"]],
                "rss_growth": round(b["rss_mb"] / a["rss_mb"], 2),
                "report_kb": [a["report_kb"], b["report_kb"]],
                "log_lines": [a["log_lines"], b["log_lines"]],
                "wall_s": [a["wall_s"], b["wall_s"]],
            }
        )
    )


if __name__ == "__main__":
    main()
