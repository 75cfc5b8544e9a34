"""On virtual time a chaos run is a function of its seed: the fault log (with its ``t``),
the journal and every invariant verdict are the same under -n 0, under -n 2, and with the
machine saturated by CPU-burning processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = "realistic-weight-limit-ban,realistic-ack-lost,order-ack-lost,hung-order-endpoint"

BOTS = """
import asyncio
import pytest
from harness import invariants
from strategies.naive import NaiveBot
from strategies.resilient import ResilientBot


@pytest.mark.chaos(seed=7)
@pytest.mark.parametrize("bot_cls", [NaiveBot, ResilientBot], ids=["naive", "resilient"])
async def test_bot(bot_cls, scenario, mock_exchange, chaos):
    realistic = "realistic" in scenario.tags
    bot = bot_cls.production(mock_exchange.url) if realistic else bot_cls(mock_exchange.url)
    chaos.watch_client(bot)
    try:
        async with asyncio.timeout(7200 if realistic else 8):
            await bot.run(6)
    except TimeoutError:
        pass
    mock_exchange.server.cancel_tasks()  # the plugin then judges the scenario's invariants
"""

# every test's journal, written at teardown (the journal is not part of the report)
CONFTEST = """
import json, os
import pytest


@pytest.fixture(autouse=True)
def _dump_journal(request, mock_exchange):
    yield
    rows = [
        [e.index, e.t, e.duration, e.method, e.path, e.params, e.body, e.status,
         e.error.kind if e.error else None]
        for e in mock_exchange.server.journal
    ]
    out = os.environ["JOURNAL_DIR"]
    name = request.node.nodeid.replace("/", "_").replace(":", "_")
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(rows, f)
"""


@pytest.fixture
def burners() -> Iterator[list[subprocess.Popen[bytes]]]:
    """CPU-burning processes, one more than the machine has cores; stopped however the test
    ends."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range((os.cpu_count() or 1) + 1):
            procs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(timeout=30)


def run(pytester: pytest.Pytester, name: str, *args: str) -> dict[str, Any]:
    journals = pytester.path / f"journal-{name}"
    journals.mkdir()
    log, report = pytester.path / f"{name}.jsonl", pytester.path / f"report-{name}"
    os.environ["JOURNAL_DIR"] = str(journals)
    result = pytester.runpytest_subprocess(
        "-o", "asyncio_mode=auto", "-p", "no:randomly", "-p", "no:cacheprovider",
        "--chaos-seed", "5", "--chaos-scenarios", SCENARIOS,
        "--chaos-log", str(log), "--chaos-report", str(report), *args,
    )  # fmt: skip
    assert result.ret in (0, 1), result.stdout.str()[-3000:]
    records = json.loads((report / "report.json").read_text())["records"]
    return {
        "faults": sorted(log.read_text().splitlines()),
        "journals": {p.name: json.loads(p.read_text()) for p in sorted(journals.iterdir())},
        "verdicts": {
            r["nodeid"]: (r["outcome"], r["clock"], r["simulated_s"], r["violations"])
            for r in records
        },
    }


def test_the_same_seed_gives_the_same_run_under_n0_n2_and_load(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, burners: list[Any]
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("JOURNAL_DIR", "")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_bots=BOTS)
    for proc in burners:  # quiet first: the saturated run comes last
        proc.send_signal(19)  # SIGSTOP
    serial = run(pytester, "serial", "-n", "0")
    parallel = run(pytester, "parallel", "-n", "2")
    for proc in burners:
        proc.send_signal(18)  # SIGCONT: every core busy from here on
    loaded = run(pytester, "loaded", "-n", "0")

    assert len(serial["verdicts"]) == 8
    assert {clock for _, clock, _, _ in serial["verdicts"].values()} == {"virtual"}
    assert any(v for *_, v in serial["verdicts"].values())  # the naive bot is convicted
    times = [json.loads(line)["t"] for line in serial["faults"]]
    assert len(times) > 20 and max(times) > 300  # minutes of exchange time, to the microsecond
    for other in (parallel, loaded):
        assert other["faults"] == serial["faults"]  # t included
        assert other["journals"] == serial["journals"]
        assert other["verdicts"] == serial["verdicts"]


REAL_TIME = """
import asyncio
import aiohttp
import pytest
from harness import faults


@pytest.mark.chaos
async def test_client(mock_server, chaos):
    mock_server.get("/v1/orders/{id}").respond(json={"status": "NEW"})
    chaos.inject(faults.RateLimit(capacity=3, refill_per_s=0.001, ban_after=2, ban_s=600))
    chaos.inject(faults.Latency(min_ms=1, max_ms=4))
    chaos.inject(faults.Error(status=503), schedule={"every": 3})
    async with aiohttp.ClientSession() as session:
        for i in range(10):
            async with session.get(f"{mock_server.url}/v1/orders/{i}") as resp:
                await resp.read()
            await asyncio.sleep(0.001 * (i % 3))
"""


def test_on_real_time_the_fault_log_is_the_same_apart_from_t(pytester: pytest.Pytester) -> None:
    """Nothing in a fault-log line but ``t`` depends on when the requests came: the rate
    limit's Retry-After and bans are drawn from the fault, not measured."""
    pytester.makepyfile(test_real=REAL_TIME)
    logs = []
    for name in ("first", "second"):
        pytester.runpytest_subprocess(
            "-o", "asyncio_mode=auto", "-p", "no:randomly", "-p", "no:cacheprovider",
            "--chaos-seed", "5", "--chaos-clock", "real", "--chaos-log", f"{name}.jsonl",
        ).assert_outcomes(passed=1)  # fmt: skip
        lines = [
            json.loads(raw) for raw in (pytester.path / f"{name}.jsonl").read_text().splitlines()
        ]
        logs.append([{k: v for k, v in line.items() if k != "t"} for line in lines])
    kinds = {(line["kind"], line["params"].get("status")) for line in logs[0]}
    assert {("rate_limit", 429), ("rate_limit", 418), ("latency", None)} <= kinds
    assert logs[0] == logs[1]
