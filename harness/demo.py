"""``make demo``: an example trading client meets a faulty mock exchange, with readable output.

The client is a small, plain aiohttp client of the kind users write: it opens its own
ClientSession, retries 429/5xx with Retry-After, and uses a request timeout. The mock
exchange answers it in-process while the chaos engine injects maintenance, a rate limit,
a hang, a connection reset and latency; the journal and the fault log show what happened.
(``make demo`` then runs the reference strategies against the scenario library:
``strategies/league.py``.)
"""

from __future__ import annotations

import asyncio

import aiohttp
from rich.console import Console
from rich.table import Table

from harness import faults
from harness.chaos import Chaos
from harness.errors import LiveEndpointBlocked, UnmatchedRequestError
from harness.guard import LiveEndpointGuard
from harness.mock import MockServer
from harness.mock.server import DEFAULT_BASE_URL as BASE


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
        answered = str(entry.status) if entry.status is not None else str(entry.error or "")
        table.add_row(
            str(entry.index),
            f"{entry.t * 1000:.0f}",
            f"{entry.method} {entry.path}?" + "&".join(f"{k}={v}" for k, v in entry.params.items()),
            answered,
            str(entry.client_outcome or ("response" if entry.status else "error")),
        )
    console.print(table)
    faults_table = Table(title=f"fault log (seed {chaos.seed}: the same faults on every run)")
    for column in ("request", "fault", "parameters"):
        faults_table.add_column(column)
    for line in chaos.log:
        faults_table.add_row(str(line.index), line.kind, str(line.params))
    console.print(faults_table)
    server.cancel_tasks()
    return 0
