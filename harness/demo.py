"""``make demo``: an example trading client meets the mock exchange, with readable output.

The client is a small, plain aiohttp client of the kind users write: it opens its own
ClientSession, retries 429/5xx with Retry-After, and uses a request timeout. The mock
exchange answers it in-process; what each request met is printed from the journal.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from harness.errors import LiveEndpointBlocked, UnmatchedRequestError
from harness.guard import LiveEndpointGuard
from harness.mock import MockServer, Request, Response

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


async def _slow(request: Request) -> dict[str, Any]:
    await asyncio.sleep(1.0)
    return {"symbol": request.query["symbol"], "price": "64000.5"}


async def run_demo(console: Console | None = None) -> int:
    console = console or Console()
    console.rule("[bold]trading-chaos-harness demo[/bold]: a ticker client meets a moody exchange")
    server = MockServer(BASE)
    ticker = server.get("/v1/ticker", params={"symbol": "BTCUSDT"}).respond_seq(
        [
            Response(503, json={"error": {"code": "maintenance", "message": "back soon"}}),
            Response(
                429, json={"error": {"code": "rate_limited"}}, headers={"Retry-After": "0.02"}
            ),
            _slow,  # the client's 0.2 s timeout fires
            {"symbol": "BTCUSDT", "price": "64000.5"},
        ]
    )
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
    server.cancel_tasks()
    return 0
