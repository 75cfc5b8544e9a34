"""Orders/s the fake exchange sustains in-process (generic profile), against a static
responder on the same route, measured in one run. Prints one JSON object.

Usage: python bench/exchange.py [--orders 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp

from harness import MockServer
from harness.exchange import MockExchange

ORDER = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": 0.001, "price": 1.0}


async def loop(url: str, n: int, with_ids: bool) -> float:
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        for i in range(n):
            body = {**ORDER, "client_order_id": f"c{i}"} if with_ids else ORDER
            async with session.post(url, json=body) as resp:
                await resp.json()
        return n / (time.perf_counter() - start)


async def exchange_rate(n: int) -> float:
    me = MockExchange.create("generic", seed=1)
    me.exchange.balances["USDT"] = 1e12
    async with me.server.intercept():
        return await loop(me.url + "/v1/orders", n, with_ids=True)


async def static_rate(n: int) -> float:
    server = MockServer(journal_size=1000)
    server.post("/v1/orders").respond(json={"order_id": "1", "status": "new", **ORDER}, status=201)
    async with server.intercept():
        return await loop(server.url + "/v1/orders", n, with_ids=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    orders = static = 0.0
    for _ in range(args.repeat):  # interleaved rounds, best of each
        orders = max(orders, await exchange_rate(args.orders))
        static = max(static, await static_rate(args.orders))
    print(
        json.dumps(
            {
                "benchmark": "exchange",
                "python": sys.version.split()[0],
                "orders": args.orders,
                "orders_per_s": round(orders),
                "static_rps": round(static),
                "ratio": round(orders / static, 2),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
