"""``make demo``: an example trading client meets a faulty mock exchange, with readable output.

The client is a small, plain aiohttp client of the kind users write: it opens its own
ClientSession, retries 429/5xx with Retry-After, and uses a request timeout. The mock
exchange answers it in-process while the chaos engine injects maintenance, a rate limit,
a hang, a connection reset and latency; the journal and the fault log show what happened.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from harness import faults
from harness.chaos import Chaos
from harness.errors import LiveEndpointBlocked, UnmatchedRequestError
from harness.guard import LiveEndpointGuard
from harness.mock import MockServer

BASE = "https://api.exchange.test"


class TickerClient:
    """A user's client: own session, timeout, bounded retries honouring Retry-After."""

    def __init__(self, base_url: str, timeout_s: float = 0.2, attempts: int = 4) -> None:
        self.base_url = base_url
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.attempts = attempts

    async def price(self, symbol: str) -> float:
        async with aiohttp.ClientSession(self.base_url, timeout=self.timeout) as session:
            for attempt in range(1, self.attempts + 1):
                try:
                    async with session.get("/v1/ticker", params={"symbol": symbol}) as resp:
                        if resp.status == 429 or resp.status >= 500:
                            wait = float(resp.headers.get("Retry-After", "0.01"))
                            await asyncio.sleep(min(wait, 0.05))
                            continue
                        resp.raise_for_status()
                        return float((await resp.json())["price"])
                except TimeoutError:
                    if attempt == self.attempts:
                        raise
            raise RuntimeError(f"no price for {symbol} after {self.attempts} attempts")


async def run_demo(console: Console | None = None) -> int:
    console = console or Console()
    console.rule("[bold]trading-chaos-harness demo[/bold]: a ticker client meets a moody exchange")
    server = MockServer(BASE)
    ticker = server.get("/v1/ticker", params={"symbol": "BTCUSDT"}).respond(
        json={"symbol": "BTCUSDT", "price": "64000.5"}
    )
    chaos = Chaos(server, seed=2024)
    chaos.inject(faults.Error(preset="maintenance", retry_after_s=0.02), schedule={"first": 1})
    chaos.inject(
        faults.Error(preset="rate_limited", retry_after_s=0.02), schedule={"after": 1, "first": 1}
    )
    chaos.inject(faults.Hang(), schedule={"after": 2, "first": 1})  # the client's timeout fires
    chaos.inject(faults.Reset(), schedule={"after": 3, "first": 1})  # aiohttp re-sends the GET
    chaos.inject(faults.Latency(p50_ms=5, p99_ms=40))
    client = TickerClient(BASE)
    with LiveEndpointGuard(), server.intercept():
        price = await client.price("BTCUSDT")
        console.print(
            f"client got BTCUSDT = [green]{price}[/green] after {ticker.call_count} requests"
        )
        try:
            await TickerClient(BASE).price("ETHUSDT")
        except UnmatchedRequestError as exc:
            console.print("[yellow]a request without a route is a clear error, not chaos:[/yellow]")
            console.print(str(exc), markup=False)
        try:
            await TickerClient("https://api.binance.com").price("BTCUSDT")
        except LiveEndpointBlocked as exc:
            console.print(
                f"[yellow]the live-endpoint guard stopped a real host:[/yellow] {exc.host}"
            )
    await asyncio.sleep(0)
    table = Table(title="journal: what each request met")
    for column in ("#", "t (ms)", "request", "server answered", "client saw"):
        table.add_column(column)
    for entry in server.journal:
        answered = str(entry.status) if entry.status is not None else (entry.error or "")
        table.add_row(
            str(entry.index),
            f"{entry.t * 1000:.0f}",
            f"{entry.method} {entry.path}?" + "&".join(f"{k}={v}" for k, v in entry.params.items()),
            answered,
            entry.client_outcome or ("response" if entry.status else "error"),
        )
    console.print(table)
    faults_table = Table(title=f"fault log (seed {chaos.seed}: the same faults on every run)")
    for column in ("request", "fault", "parameters"):
        faults_table.add_column(column)
    for line in chaos.log:
        faults_table.add_row(str(line["index"]), line["kind"], str(line["params"]))
    console.print(faults_table)
    server.cancel_tasks()
    await _strategies_vs_library(console)
    return 0


async def _strategies_vs_library(console: Console, report_dir: str = "chaos-report") -> None:
    """Both reference bots against every built-in scenario, all at once, on the fake exchange."""
    try:
        from strategies.naive import NaiveBot
        from strategies.resilient import ResilientBot
    except ImportError:
        console.print("[dim](run from a checkout to see the reference strategies: make demo)[/dim]")
        return
    from harness import invariants
    from harness.exchange import MockExchange
    from harness.report import Record, build_report, write_report
    from harness.scenario import load_library

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
        bot = bot_cls(me.url)
        with me.server.intercept():
            try:
                async with asyncio.timeout(8):
                    await bot.run(6)
            except TimeoutError:
                pass
            me.server.cancel_tasks()
        found = invariants.evaluate(scenario.invariants, invariants.context_for(chaos, me, bot))
        records.append(
            Record(
                nodeid=f"demo::{bot_cls.__name__}[{scenario.name}]",
                test=bot_cls.__name__,
                scenario=scenario.name,
                outcome="failed" if found else "passed",
                duration=0.0,
                run_seed=7,
                test_seed=7,
                exception="InvariantViolation" if found else None,
                faults=list(chaos.log),
                violations=[{"invariant": v.invariant, "message": v.message} for v in found],
                latencies_ms=[round(e.duration * 1000, 3) for e in me.server.journal if e.duration],
                injected_ms=[
                    line["params"]["delay_ms"] for line in chaos.log if line["kind"] == "latency"
                ],
                replay=f"make demo  # seed 7, {bot_cls.__name__} against {scenario.name}",
            )
        )
        return sorted(invariants.names(found))

    # Toxiproxy and WebSocket scenarios need real sockets: the suite runs them (tests/chaos).
    names = sorted(
        n
        for n, s in library.items()
        if not s.toxics and not any(f.side == "message" for f in s.faults)
    )
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
    out = write_report(build_report(records, {"run_seed": 7, "source": "make demo"}), report_dir)
    console.print(f"report: [bold]{out}/report.html[/bold] (and report.md, report.json)")
