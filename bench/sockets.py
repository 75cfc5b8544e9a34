"""The socket backend's overhead, WebSocket fan-out, and Toxiproxy's added latency.

* ``serve_rps`` vs ``bare_rps``: GETs/s through ``server.serve()`` (no faults) against a bare
  aiohttp.web app with an equivalent handler, one client session, measured in one run;
* ``ws_messages_per_s``: messages delivered per second to 1 and to 50 subscribers of a
  market-data feed;
* ``toxiproxy_added_ms``: median and p99 of what a Toxiproxy proxy with no toxics adds to a
  request, against the same server reached directly.

Prints one JSON object. Usage: python bench/sockets.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

import aiohttp
from aiohttp import web

from harness import MockServer
from harness.exchange import GenericFeed, MockExchange
from harness.toxiproxy import ProxySet, Toxiproxy, ToxiproxyServer

BODY = {"symbol": "BTCUSDT", "price": "64000.12", "time": 1700000000000}


async def rate(url: str, n: int) -> float:
    async with aiohttp.ClientSession() as session:
        for _ in range(50):
            async with session.get(url) as resp:
                await resp.read()
        start = time.perf_counter()
        for _ in range(n):
            async with session.get(url) as resp:
                await resp.json()
        return n / (time.perf_counter() - start)


async def serve_rate(n: int) -> float:
    server = MockServer(journal_size=1000)
    server.get("/v1/ticker").respond(json=BODY)
    async with server.serve() as url:
        return await rate(url + "/v1/ticker", n)


async def bare_rate(n: int) -> float:
    payload = json.dumps(BODY, separators=(",", ":")).encode()

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=payload, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        return await rate(f"http://127.0.0.1:{runner.addresses[0][1]}/v1/ticker", n)
    finally:
        await runner.cleanup()


async def ws_rate(subscribers: int, seconds: float = 2.0) -> float:
    me = MockExchange.create("generic", seed=1)
    me.server.ws_routes.clear()
    me.server.websocket(
        "/v1/stream", feed=GenericFeed(me.exchange), interval_s=0.001, heartbeat_s=None
    )
    received = 0

    async def subscriber(url: str, session: aiohttp.ClientSession, stop: float) -> None:
        nonlocal received
        async with session.ws_connect(url) as ws:
            await ws.send_json({"op": "subscribe", "channels": ["ticker:BTCUSDT"]})
            await ws.receive()
            loop = asyncio.get_running_loop()
            while loop.time() < stop:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                received += 1

    async with me.server.serve() as url, aiohttp.ClientSession() as session:
        stop = asyncio.get_running_loop().time() + seconds
        await asyncio.gather(
            *(
                subscriber(url.replace("http", "ws") + "/v1/stream", session, stop)
                for _ in range(subscribers)
            )
        )
    return received / seconds


async def latencies(url: str, n: int) -> list[float]:
    out = []
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            start = time.perf_counter()
            async with session.get(url) as resp:
                await resp.read()
            out.append((time.perf_counter() - start) * 1000)
    return out


async def toxiproxy_added(n: int) -> dict[str, float]:
    tp = ToxiproxyServer.from_environment()
    tp.start()
    server = MockServer(journal_size=1000)
    server.get("/v1/ticker").respond(json=BODY)
    proxies = ProxySet(Toxiproxy(tp.url), "bench")
    try:
        async with server.serve() as url:
            await asyncio.to_thread(proxies.create, "exchange", url.removeprefix("http://"))
            direct = await latencies(url + "/v1/ticker", n)
            proxied = await latencies(proxies.url("exchange") + "/v1/ticker", n)
            await asyncio.to_thread(proxies.close)
    finally:
        tp.stop()

    def q(values: list[float], p: float) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]

    return {
        "median": round(statistics.median(proxied) - statistics.median(direct), 3),
        "p99": round(q(proxied, 99) - q(direct, 99), 3),
        "direct_median_ms": round(statistics.median(direct), 3),
        "proxied_median_ms": round(statistics.median(proxied), 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    serve = bare = 0.0
    for _ in range(args.repeat):  # interleaved rounds, best of each
        serve = max(serve, await serve_rate(args.requests))
        bare = max(bare, await bare_rate(args.requests))
    print(
        json.dumps(
            {
                "benchmark": "sockets",
                "python": sys.version.split()[0],
                "requests": args.requests,
                "serve_rps": round(serve),
                "bare_rps": round(bare),
                "ratio": round(serve / bare, 2),
                "ws_messages_per_s": {"1": round(await ws_rate(1)), "50": round(await ws_rate(50))},
                "toxiproxy_added_ms": await toxiproxy_added(500),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
