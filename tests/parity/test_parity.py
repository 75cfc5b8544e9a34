"""Backend parity: the same fault gives the same client-visible outcome in-process and over
a socket. Any difference fails here; the docs' table is generated from the same runs."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from harness import LiveEndpointBlocked, faults
from harness.chaos import Chaos
from harness.errors import MockConfigError
from harness.exchange import MockExchange
from harness.guard import LiveEndpointGuard
from tests.parity.cases import (
    CASES,
    METHODS,
    NO_FAULT,
    Outcome,
    make_server,
    matrix,
    outcome,
    render,
)
from tests.readme_tables import assert_current

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("case", "shape"), CASES)
async def test_same_outcome_on_both_backends(case: str, shape: str, method: str) -> None:
    inprocess = await outcome("inprocess", case, shape, method)
    over_socket = await outcome("socket", case, shape, method)
    assert inprocess == over_socket


async def test_a_dribble_slower_than_the_total_timeout_times_out_on_both_backends() -> None:
    """The body is read under ClientTimeout(total=0.5) in-process too, not to its end (1 s)."""
    for backend in ("inprocess", "socket"):
        seen = await outcome(backend, "dribble 1 s", "one-shot", "GET")
        assert seen == Outcome("TimeoutError", requests=1, fired=1), backend


@pytest.mark.parametrize("backend", ["inprocess", "socket"])
async def test_an_answer_that_cannot_be_sent_is_a_500_and_fails_the_test(backend: str) -> None:
    server, _ = make_server("a handler sets a header value with CR LF", NO_FAULT, seed=1)
    async with (
        server.intercept() if backend == "inprocess" else server.serve(),
        aiohttp.ClientSession() as session,
        session.get(server.url + "/v1/ticker") as resp,
    ):
        assert resp.status == 500
        assert "X-A" not in resp.headers
        message = (await resp.json())["error"]["message"]
    assert message.startswith("route * /v1/ticker answered what cannot be sent: header 'X-A'")
    assert str(server.journal.last.error).startswith("the responder raised MockConfigError")
    assert server.journal.last.status == 500
    with pytest.raises(MockConfigError, match=r"1 request got a 500 .* header 'X-A'"):
        server.verify()


async def test_the_readme_table_is_generated_from_these_runs() -> None:
    assert_current("parity-table", render(await matrix()), "python -m tests.parity.cases")


class BinanceClient:
    """Signs requests the way Binance's documentation says: HMAC-SHA256 of the query string
    with the secret key, sent as `signature`, the API key in X-MBX-APIKEY."""

    def __init__(
        self, base_url: str, key: str = "test-key", secret: bytes = b"test-secret"
    ) -> None:
        self.base_url, self.key, self.secret = base_url, key, secret

    def _signed(self, params: dict[str, Any]) -> str:
        query = urlencode({**params, "recvWindow": 5000})
        signature = hmac.new(self.secret, query.encode(), hashlib.sha256).hexdigest()
        return f"{query}&signature={signature}"

    async def call(
        self,
        session: aiohttp.ClientSession,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        signed: bool = False,
    ) -> tuple[int, Any]:
        params = dict(params or {})
        headers = {"X-MBX-APIKEY": self.key} if signed else {}
        query = self._signed(params) if signed else urlencode(params)
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        try:
            async with session.request(
                method, url, headers=headers, timeout=aiohttp.ClientTimeout(total=2)
            ) as resp:
                return resp.status, await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 0, type(exc).__name__


def shape(value: Any) -> Any:
    """What must match across backends: error codes, keys, lengths; not prices or times."""
    if isinstance(value, dict):
        if "code" in value and "msg" in value:
            return {"code": value["code"]}
        return sorted(value)
    if isinstance(value, list):
        return [len(value), shape(value[0]) if value else None]
    return value if isinstance(value, str) else type(value).__name__


async def binance_session(client: BinanceClient) -> list[tuple[str, int, Any]]:
    now = int(time.time() * 1000)
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": "1.00",
        "newClientOrderId": "p1",
        "timestamp": now,
    }
    out = []
    async with aiohttp.ClientSession() as s:
        calls: list[tuple[str, str, str, dict[str, Any], bool]] = [
            ("ping", "GET", "/api/v3/ping", {}, False),
            ("time", "GET", "/api/v3/time", {}, False),
            ("exchangeInfo", "GET", "/api/v3/exchangeInfo", {}, False),
            (
                "klines",
                "GET",
                "/api/v3/klines",
                {"symbol": "BTCUSDT", "interval": "1m", "limit": 5},
                False,
            ),
            ("depth", "GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5}, False),
            ("price", "GET", "/api/v3/ticker/price", {"symbol": "BTCUSDT"}, False),
            ("24hr", "GET", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"}, False),
            (
                "order",
                "POST",
                "/api/v3/order",
                order,
                True,
            ),
            (
                "duplicate",
                "POST",
                "/api/v3/order",
                order,
                True,
            ),
            (
                "query",
                "GET",
                "/api/v3/order",
                {"symbol": "BTCUSDT", "origClientOrderId": "p1", "timestamp": now},
                True,
            ),
            ("open", "GET", "/api/v3/openOrders", {"symbol": "BTCUSDT", "timestamp": now}, True),
            (
                "cancel",
                "DELETE",
                "/api/v3/order",
                {"symbol": "BTCUSDT", "origClientOrderId": "p1", "timestamp": now},
                True,
            ),
            ("account", "GET", "/api/v3/account", {"timestamp": now}, True),
            ("stale timestamp", "GET", "/api/v3/account", {"timestamp": now - 60_000}, True),
        ]
        for name, method, path, params, signed in calls:
            status, body = await client.call(s, method, path, params, signed)
            out.append((name, status, shape(body)))
    return out


async def run_binance(backend: str, skew: bool) -> list[tuple[str, int, Any]]:
    me = MockExchange.create("binance-spot", seed=11)
    chaos = Chaos(me.server, seed=11)
    chaos.inject(
        faults.Reset(), match={"method": "GET", "path": "/api/v3/depth"}, schedule={"first": 1}
    )
    chaos.inject(faults.Error(status=502), match={"path": "/api/v3/ticker/24hr"})
    if skew:
        chaos.inject(faults.ClockSkew(offset_s=-20), match={"path": "/api/v3/account"})
    if backend == "inprocess":
        with me.server.intercept(), LiveEndpointGuard():
            return await binance_session(BinanceClient(me.url))
    async with me.server.serve() as url:
        return await binance_session(BinanceClient(url))


@pytest.mark.parametrize("skew", [False, True], ids=["clock-ok", "clock-skew"])
async def test_binance_profile_parity(skew: bool) -> None:
    inprocess = await run_binance("inprocess", skew)
    over_socket = await run_binance("socket", skew)
    assert inprocess == over_socket
    codes = {name: (status, body) for name, status, body in inprocess}
    assert codes["duplicate"] == (400, {"code": -2010})
    assert codes["stale timestamp"] == (400, {"code": -1021})
    assert codes["24hr"][0] == 502 and codes["depth"][0] == 200  # the reset was retried by aiohttp
    assert codes["account"][0] == (400 if skew else 200)


async def test_production_hostname_is_intercepted_and_the_guard_still_blocks_the_rest() -> None:
    me = MockExchange.create("binance-spot", seed=1)  # base URL https://api.binance.com
    with me.server.intercept(), LiveEndpointGuard():
        async with aiohttp.ClientSession() as s:
            assert (await s.get("https://api.binance.com/api/v3/ping")).status == 200
            # Binance's other hosts are the profile's aliases: served by the same routes
            assert (await s.get("https://api1.binance.com/api/v3/ping")).status == 200
            assert (await s.get("https://fapi.binance.com/fapi/v1/exchangeInfo")).status == 200
            with pytest.raises(LiveEndpointBlocked):
                await s.get("https://api.binance.us/api/v3/ping")
            with pytest.raises(LiveEndpointBlocked):
                await s.get("https://eapi.binance.com/eapi/v1/time")
