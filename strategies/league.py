"""The league: both reference strategies against every in-process scenario of the library.

``make demo`` runs it after the harness's own demo (``python -m strategies.league``): each
bot meets each scenario on the fake exchange, the scenario's invariants judge it, and the
resilience report is written to ``chaos-report/``. It runs on virtual time (as the suite
does), so the ``realistic`` scenarios' hours of Retry-After, bans and maintenance take a
second, met by the bots' production settings.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from harness import invariants
from harness.chaos import Chaos
from harness.clock import virtual_time
from harness.exchange import MockExchange
from harness.report import Evidence, Record, build_report, violation_dicts, write_report
from harness.scenario import load_library
from strategies.naive import NaiveBot
from strategies.resilient import ResilientBot

BUDGET_S = 8.0
REALISTIC_BUDGET_S = 2 * 3600.0


async def league(console: Console, report_dir: str = "chaos-report") -> None:
    """Both reference bots against every built-in scenario, all at once, on the fake exchange."""

    library = load_library()
    records: list[Record] = []
    console.rule(
        "[bold]reference strategies vs the scenario library[/bold] (seed 7, 6 cycles each)"
    )

    async def run(scenario: Any, bot_cls: type) -> list[str]:
        me = MockExchange.create(
            "generic",
            seed=7,
            base_url=f"https://{scenario.name}-{bot_cls.__name__.lower()}.exchange.test",
        )
        chaos = Chaos(me.server, seed=7)
        chaos.load(scenario)
        realistic = "realistic" in scenario.tags
        bot = bot_cls.production(me.url) if realistic else bot_cls(me.url)
        with me.server.intercept():
            try:  # a bot stuck on a hung request is stopped here (exchange time)
                async with asyncio.timeout(REALISTIC_BUDGET_S if realistic else BUDGET_S):
                    await bot.run(6)
            except TimeoutError:
                pass
            me.server.cancel_tasks()
        found = invariants.evaluate(scenario.invariants, invariants.context_for(chaos, me, bot))
        records.append(
            Record.build(
                nodeid=f"demo::{bot_cls.__name__}[{scenario.name}]",
                test=bot_cls.__name__,
                scenario=scenario.name,
                outcome="failed" if found else "passed",
                run_seed=7,
                test_seed=7,
                exception="InvariantViolation" if found else None,
                evidence=Evidence.of(chaos),
                violations=violation_dicts(found),
                replay=f"make demo  # seed 7, {bot_cls.__name__} against {scenario.name}",
            )
        )
        return sorted(invariants.names(found))

    # Toxiproxy and WebSocket scenarios need real sockets: the suite runs them (tests/chaos).
    names = sorted(n for n, s in library.items() if not s.toxics and not s.streams)
    async with virtual_time(seed=7) as clock:
        results = await asyncio.gather(
            *(run(library[n], cls) for n in names for cls in (ResilientBot, NaiveBot))
        )
    table = Table(title="invariants violated (none = the client kept them all)")
    for column in ("scenario", "ResilientBot", "NaiveBot"):
        table.add_column(column)
    for i, name in enumerate(names):
        good, naive = results[2 * i], results[2 * i + 1]
        table.add_row(
            name,
            ", ".join(good) or "[green]none[/green]",
            ", ".join(naive) or "[green]none[/green]",
        )
    console.print(table)
    console.print(f"{clock.elapsed:,.0f} s of exchange time on virtual time")
    out = write_report(build_report(records, {"run_seed": 7, "source": "make demo"}), report_dir)
    console.print(f"report: [bold]{out}/report.html[/bold] (and report.md, report.json)")


def main() -> int:
    asyncio.run(league(Console()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
