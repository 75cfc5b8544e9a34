"""The parity matrix: every HTTP fault kind x schedule shape x method, on both backends.

``outcome(...)`` runs the same aiohttp client code against the in-process backend or the
socket backend and reports what the client saw, how many requests the server saw and how
many faults fired. ``python -m tests.parity.cases`` prints the docs' table.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from harness import MockServer, faults
from harness.chaos import Chaos
from harness.chaos.faults import Fault

FAULTS: dict[str, Fault] = {
    "latency": faults.Latency(fixed_ms=20),
    "hang": faults.Hang(),
    "error": faults.Error(status=503),
    "rate_limit": faults.RateLimit(capacity=0.5, refill_per_s=0.001),
    "disconnect": faults.Disconnect(),
    "reset": faults.Reset(),
    "truncate": faults.Truncate(fraction=0.5),
    "corrupt": faults.Corrupt(corruption="html_error_page"),
    "stale": faults.Stale(shift_s=3600),
    "ack_lost": faults.AckLost(mode="disconnect"),
    "ack_lost 504": faults.AckLost(status=504),
    "dribble": faults.Dribble(chunks=4, over_ms=40),
    "clock_skew": faults.ClockSkew(offset_s=30),
}
SHAPES: dict[str, dict[str, Any]] = {
    "one-shot": {"first": 1},
    "two in a row": {"first": 2},
    "sticky": {},
}
METHODS = ("GET", "POST")
BODY = {"symbol": "BTCUSDT", "price": "64000.5", "time": 1700000000000}
TIMEOUT = aiohttp.ClientTimeout(total=0.5)


@dataclass(frozen=True)
class Outcome:
    seen: str  # "200 {...}" or the exception type the client got
    requests: int
    fired: int

    def short(self) -> str:
        return self.seen.split(" ", 1)[0] if self.seen[0].isdigit() else self.seen


async def _client(url: str, method: str) -> str:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.request(method, url + "/v1/ticker", timeout=TIMEOUT) as resp:
                body = await resp.json()
                return f"{resp.status} {json.dumps(body, sort_keys=True)}"
        except Exception as exc:
            return type(exc).__name__


def _server(fault: str, shape: str, seed: int) -> tuple[MockServer, Chaos]:
    server = MockServer()
    server.route("*", "/v1/ticker").respond(json=BODY)
    chaos = Chaos(server, seed=seed)
    chaos.inject(FAULTS[fault], schedule=SHAPES[shape])
    return server, chaos


async def outcome(backend: str, fault: str, shape: str, method: str, seed: int = 3) -> Outcome:
    server, chaos = _server(fault, shape, seed)
    if backend == "inprocess":
        async with server.intercept():
            seen = await _client(server.url, method)
    else:
        async with server.serve() as url:
            seen = await _client(url, method)
    await asyncio.sleep(0)
    server.cancel_tasks()
    return Outcome(seen, server.journal.total, len(chaos.log))


async def matrix() -> dict[tuple[str, str, str], dict[str, Outcome]]:
    results = {}
    for fault in FAULTS:
        for shape in SHAPES:
            for method in METHODS:
                results[(fault, shape, method)] = {
                    backend: await outcome(backend, fault, shape, method)
                    for backend in ("inprocess", "socket")
                }
    return results


def render(results: dict[tuple[str, str, str], dict[str, Outcome]]) -> str:
    """The docs' table: what the client sees, per fault kind and schedule, both backends."""
    lines = [
        "| fault | schedule | GET: client sees (requests, faults) "
        "| POST: client sees (requests, faults) | backends agree |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fault in FAULTS:
        for shape in SHAPES:
            cells, agree = [], True
            for method in METHODS:
                pair = results[(fault, shape, method)]
                a, b = pair["inprocess"], pair["socket"]
                agree &= a == b
                cells.append(f"{a.short()} ({a.requests}, {a.fired})")
            lines.append(
                f"| `{fault}` | {shape} | {cells[0]} | {cells[1]} | {'yes' if agree else '**no**'} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(asyncio.run(matrix())))
