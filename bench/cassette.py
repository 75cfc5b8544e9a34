"""Requests/s replaying a 1,000-interaction cassette in-process, vs the same routes by hand.

The cassette: 250 distinct Binance-style requests (klines, depth, ticker, 24hr over 50
symbols), each recorded 4 times with a different answer, interleaved as a client would
make them. (a) ``MockServer.from_cassette(path)``; (b) the same 250 routes registered by
hand, ``server.get(path, params=...).respond_seq([...])``, in the same order. The loop
replays the 1,000 recorded requests, in order, through one aiohttp ClientSession; both
servers must give the same answers. Rounds are interleaved and each side keeps its best.

Prints one JSON object (``ratio`` = cassette / by hand). Usage:
python bench/cassette.py [--rounds 8] [--passes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from harness import MockServer, Response
from harness.recordings import dump_cassette

BASE = "https://api.binance.com"
SYMBOLS = [f"SYM{n:02d}USDT" for n in range(50)]
REPEATS = 4


def requests_recorded() -> list[tuple[str, dict[str, str]]]:
    """250 distinct requests (path, query)."""
    keys: list[tuple[str, dict[str, str]]] = []
    for symbol in SYMBOLS:
        for interval in ("1m", "5m"):
            keys.append(("/api/v3/klines", {"symbol": symbol, "interval": interval, "limit": "2"}))
        keys.append(("/api/v3/depth", {"symbol": symbol, "limit": "5"}))
        keys.append(("/api/v3/ticker/price", {"symbol": symbol}))
        keys.append(("/api/v3/ticker/24hr", {"symbol": symbol}))
    return keys


def answer(path: str, query: dict[str, str], repeat: int) -> bytes:
    return json.dumps(
        {"path": path, "symbol": query["symbol"], "n": repeat, "price": f"{64000 + repeat}.12"},
        separators=(",", ":"),
    ).encode()


def build(folder: Path) -> tuple[Path, list[str], list[tuple[str, dict[str, str], list[bytes]]]]:
    """The cassette file, the 1,000 URLs in recorded order, and the distinct requests."""
    keys = requests_recorded()
    interactions = []
    urls = []
    for repeat in range(REPEATS):
        for path, query in keys:
            url = f"{BASE}{path}?{urlencode(query)}"
            urls.append(url)
            interactions.append(
                {
                    "request": {"body": None, "headers": {}, "method": "GET", "uri": url},
                    "response": {
                        "body": {"string": answer(path, query, repeat).decode()},
                        "headers": {"Content-Type": ["application/json"]},
                        "status": {"code": 200, "message": "OK"},
                    },
                }
            )
    file = folder / "bench.yaml"
    file.write_text(dump_cassette(interactions))
    distinct = [(p, q, [answer(p, q, r) for r in range(REPEATS)]) for p, q in keys]
    return file, urls, distinct


def by_hand(distinct: list[tuple[str, dict[str, str], list[bytes]]]) -> MockServer:
    server = MockServer(BASE, journal_size=1000)
    for path, query, bodies in distinct:
        server.get(path, params=query).respond_seq(
            [Response(200, body=b, content_type="application/json") for b in bodies]
        )
    return server


async def replay(server: MockServer, urls: list[str], passes: int) -> tuple[float, list[bytes]]:
    """Requests/s over ``passes`` replays of every recorded request (sequences restart)."""
    bodies: list[bytes] = []
    async with server.intercept(), aiohttp.ClientSession() as session:
        for url in urls[:50]:  # warm up
            async with session.get(url) as resp:
                await resp.read()
        gc.collect()
        elapsed = 0.0
        for _ in range(passes):
            server.reset()
            start = time.perf_counter()
            for url in urls:
                async with session.get(url) as resp:
                    body = await resp.read()
                if len(bodies) < len(urls):
                    bodies.append(body)
            elapsed += time.perf_counter() - start
    return len(urls) * passes / elapsed, bodies


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8, help="best of R rounds, interleaved")
    parser.add_argument("--passes", type=int, default=1, help="replays of the cassette a round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        file, urls, distinct = build(Path(tmp))
        start = time.perf_counter()
        MockServer.from_cassette(file)  # parses the file, imports the exchange profiles
        first_load_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        recorded = MockServer.from_cassette(file, journal_size=1000)  # the file is cached
        load_ms = (time.perf_counter() - start) * 1000
    hand = by_hand(distinct)
    assert len(recorded.routes) == len(hand.routes) == len(distinct)
    best = {"cassette": 0.0, "hand": 0.0}
    for n in range(args.rounds):
        order = [("cassette", recorded), ("hand", hand)]
        for name, server in order if n % 2 == 0 else reversed(order):
            rps, bodies = await replay(server, urls, args.passes)
            if name == "cassette":
                cassette_bodies = bodies
            else:
                hand_bodies = bodies
            best[name] = max(best[name], rps)
        assert cassette_bodies == hand_bodies, "the two servers answered differently"
    print(
        json.dumps(
            {
                "benchmark": "cassette",
                "interactions": len(urls),
                "routes": len(distinct),
                "rounds": args.rounds,
                "passes": args.passes,
                "cassette_rps": round(best["cassette"]),
                "by_hand_rps": round(best["hand"]),
                "ratio": round(best["cassette"] / best["hand"], 3),
                "load_ms": round(load_ms, 1),
                "first_load_ms": round(first_load_ms, 1),
                "python": sys.version.split()[0],
                "aiohttp": aiohttp.__version__,
                "platform": platform.platform(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
