"""The parity matrix: every HTTP fault kind x schedule shape x method, on both backends,
and answers HTTP limits (header values with CR, LF, NUL, spaces, non-ASCII characters).

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

from harness import MockServer, Request, Response, faults
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
    "dribble 1 s": faults.Dribble(chunks=4, over_ms=1000),  # slower than TIMEOUT's total
    "clock_skew": faults.ClockSkew(offset_s=30),
}
SHAPES: dict[str, dict[str, Any]] = {
    "one-shot": {"first": 1},
    "two in a row": {"first": 2},
    "sticky": {},
}
BODY = {"symbol": "BTCUSDT", "price": "64000.5", "time": 1700000000000}
TIMEOUT = aiohttp.ClientTimeout(total=0.5)
NO_FAULT = "no fault"


def _crlf_header(request: Request) -> Response:
    return Response(json=BODY, headers={"X-A": "a\r\nb"})  # refused: MockConfigError


def _crlf_header_set_later(request: Request) -> Response:
    response = Response(json=BODY)
    response.headers["X-A"] = "a\r\nb"  # past the constructor's check
    return response


def _nul_header_in_sequence(request: Request) -> Response:
    return Response(json=BODY, headers={"X-A": "a\x00b"})


ANSWERS: dict[str, Any] = {
    "a handler builds a header value with CR LF": _crlf_header,
    "a handler sets a header value with CR LF": _crlf_header_set_later,
    "a sequence answers a header value with NUL": [_nul_header_in_sequence],
    "a header value with spaces around it": Response(json=BODY, headers={"X-A": " \ta "}),
    "a header value with a non-ASCII character": Response(
        json=BODY, headers={"X-A": "caf\xe9 \u20ac"}
    ),
}
"""Answers that HTTP limits (no fault): the client sees the same on both backends (the
ones that cannot be sent are a 500 from the server, and the test fails at teardown)."""
CASES: list[tuple[str, str]] = [(f, s) for f in FAULTS for s in SHAPES] + [
    (a, NO_FAULT) for a in ANSWERS
]
"""Every row of the table: (fault kind or answer, schedule shape)."""
METHODS = ("GET", "POST")


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
                header = f" X-A={resp.headers['X-A']!r}" if "X-A" in resp.headers else ""
                return f"{resp.status} {json.dumps(body, sort_keys=True)}{header}"
        except Exception as exc:
            return type(exc).__name__


def make_server(case: str, shape: str, seed: int) -> tuple[MockServer, Chaos]:
    server = MockServer()
    route = server.route("*", "/v1/ticker")
    chaos = Chaos(server, seed=seed)
    if shape == NO_FAULT:
        answer = ANSWERS[case]
        if isinstance(answer, list):
            route.respond_seq(answer)
        else:
            route.respond(answer)
    else:
        route.respond(json=BODY)
        chaos.inject(FAULTS[case], schedule=SHAPES[shape])
    return server, chaos


async def outcome(backend: str, fault: str, shape: str, method: str, seed: int = 3) -> Outcome:
    server, chaos = make_server(fault, shape, seed)
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
    for case, shape in CASES:
        for method in METHODS:
            results[(case, shape, method)] = {
                backend: await outcome(backend, case, shape, method)
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
    for case, shape in CASES:
        cells, agree = [], True
        for method in METHODS:
            pair = results[(case, shape, method)]
            a, b = pair["inprocess"], pair["socket"]
            agree &= a == b
            cells.append(f"{a.short()} ({a.requests}, {a.fired})")
        name = case if shape == NO_FAULT else f"`{case}`"
        lines.append(
            f"| {name} | {shape} | {cells[0]} | {cells[1]} | {'yes' if agree else '**no**'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(asyncio.run(matrix())))
