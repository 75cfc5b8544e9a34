"""Exploration against the reference bots, in-process on virtual time. Prints one JSON object.

For NaiveBot, one exploration per invariant the library's in-process scenarios show it
breaking, with that invariant alone as the oracle: ``examples_to_first_failure``,
``shrunk_faults`` (faults in the minimal scenario) and ``wall_s``. For ResilientBot, one
exploration with every invariant: ``false_alarms`` (failures found; must be 0). Each
exploration draws ``EXAMPLES`` schedules at the most (seed 7), in this process
(``pytest.main`` on a test module written to a temporary folder, which also receives the
found scenarios).

Usage: python bench/explore.py [EXAMPLES]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness.explore import DEFAULT_INVARIANTS

ROOT = Path(__file__).resolve().parent.parent
# the invariants the library's in-process scenarios show NaiveBot breaking (the docs'
# naive-vs-resilient table): the same seven as exploration's default oracle
NAIVE_BREAKS = DEFAULT_INVARIANTS

TESTS = """
import asyncio

import pytest

from strategies.naive import NaiveBot
from strategies.resilient import ResilientBot

EXAMPLES = {examples}


async def run(bot):
    try:
        async with asyncio.timeout(120):  # exchange seconds: a hung bot is stopped here
            await bot.run(6)
    except TimeoutError:
        pass


@pytest.mark.chaos(seed=7)
@pytest.mark.parametrize(
    "invariant",
    [
        pytest.param(name, marks=pytest.mark.chaos_explore(max_examples=EXAMPLES, invariants=[name]))
        for name in {naive_breaks!r}
    ],
)
async def test_naive(invariant, mock_exchange, chaos):
    bot = NaiveBot(mock_exchange.url)
    chaos.watch_client(bot)
    await run(bot)
    mock_exchange.server.cancel_tasks()


@pytest.mark.chaos(seed=7)
@pytest.mark.chaos_explore(max_examples=EXAMPLES)
async def test_resilient(mock_exchange, chaos):
    bot = ResilientBot(mock_exchange.url)
    chaos.watch_client(bot)
    await run(bot)
    mock_exchange.server.cancel_tasks()
"""


def main() -> int:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    from harness import plugin_explore

    done: dict[str, object] = {}
    plugin_explore.LISTENERS.append(
        lambda exploration, event: (
            done.__setitem__(exploration.test, exploration) if event == "done" else None
        )
    )
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_explore_bots.py").write_text(
            TESTS.format(examples=examples, naive_breaks=NAIVE_BREAKS)
        )
        Path(tmp, "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
        os.chdir(tmp)
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            pytest.main(["-p", "no:randomly", "-p", "no:cacheprovider", "-n", "0", "-q"])
        total = time.perf_counter() - started
        found_files = len(list(Path(tmp, "scenarios", "found").glob("*.yaml")))
    naive = {}
    for name in NAIVE_BREAKS:
        ex = done[f"test_explore_bots.py::test_naive[{name}]"]
        naive[name] = {
            "found": ex.scenario is not None,
            "examples_to_first_failure": ex.first_failure,
            "shrunk_faults": len(ex.scenario.faults) if ex.scenario is not None else None,
            "examples": ex.examples,
            "wall_s": round(ex.wall_s, 2),
            "seconds_to_first_failure": None
            if ex.first_failure_s is None
            else round(ex.first_failure_s, 2),
            "kinds": [f.kind for f in ex.scenario.faults] if ex.scenario is not None else [],
        }
    good = done["test_explore_bots.py::test_resilient"]
    print(
        json.dumps(
            {
                "benchmark": "explore",
                "max_examples": examples,
                "naive": naive,
                "naive_all_found": all(v["found"] for v in naive.values()),
                "naive_max_shrunk_faults": max((v["shrunk_faults"] or 0) for v in naive.values()),
                "naive_max_wall_s": max(v["wall_s"] for v in naive.values()),
                "resilient": {
                    "examples": good.examples,
                    "false_alarms": good.failing,
                    "broke": good.broke,
                    "wall_s": round(good.wall_s, 2),
                },
                "found_files": found_files,
                "total_wall_s": round(total, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
