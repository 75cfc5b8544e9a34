"""The in-process backend, through real aiohttp clients."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from harness import MockServer, Request, Response, UnmatchedRequestError
from harness.errors import MockConfigError
from harness.mock.inprocess import dispatcher, is_loopback

BASE = "https://api.exchange.test"


@pytest.fixture
def server() -> MockServer:
    return MockServer(BASE)


class ThirdPartyClient:
    """A client library that owns its ClientSession, as ccxt-style connectors do."""

    def __init__(self, base_url: str) -> None:
        self._base = base_url
        self._session: aiohttp.ClientSession | None = None

    async def server_time(self) -> int:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": "third-party/1.0", "X-MBX-APIKEY": "secret-key"}
            )
        async with self._session.get(f"{self._base}/api/v3/time") as resp:
            resp.raise_for_status()
            return int((await resp.json())["serverTime"])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


async def test_get_with_params_and_route_handle(server: MockServer) -> None:
    bars = server.get("/api/v3/klines", params={"symbol": "BTCUSDT"}).respond(json=[[1, "2.0"]])
    async with (
        server.intercept(),
        aiohttp.ClientSession() as session,
        session.get(
            f"{server.url}/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"}
        ) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert await resp.json() == [[1, "2.0"]]
    assert bars.called and bars.call_count == 1
    last = bars.calls.last.request
    assert last.query["interval"] == "1m"
    assert bars.calls.last.response is not None and bars.calls.last.response.status == 200


async def test_session_created_before_intercept_is_served(server: MockServer) -> None:
    server.get("/v1/time").respond(json={"t": 1})
    async with aiohttp.ClientSession() as session, server.intercept():
        resp = await session.get(f"{server.url}/v1/time")
        assert await resp.json() == {"t": 1}


async def test_third_party_client_with_its_own_session(server: MockServer) -> None:
    server.get("/api/v3/time").respond(json={"serverTime": 1700000000000})
    client = ThirdPartyClient(server.url)
    async with server.intercept():
        try:
            assert await client.server_time() == 1700000000000
        finally:
            await client.close()
    entry = server.journal.last
    assert entry.headers["User-Agent"] == "third-party/1.0"
    assert entry.headers["X-MBX-APIKEY"] == "***"


async def test_base_url_session_and_relative_paths() -> None:
    server = MockServer("https://api.exchange.test/api")
    server.get("/v3/ping").respond(json={})
    async with server.intercept(), aiohttp.ClientSession("https://api.exchange.test") as s:
        assert (await s.get("/api/v3/ping")).status == 200


async def test_post_json_form_and_bytes_bodies(server: MockServer) -> None:
    orders = server.post("/v1/orders").respond(lambda r: Response(201, json={"echo": r.json()}))
    forms = server.post("/v1/form").respond(lambda r: {"form": dict(r.form)})
    raw = server.put("/v1/raw").respond(lambda r: {"n": len(r.body)})
    async with server.intercept(), aiohttp.ClientSession() as s:
        resp = await s.post(f"{server.url}/v1/orders", json={"side": "buy", "qty": "1"})
        assert resp.status == 201
        assert await resp.json() == {"echo": {"side": "buy", "qty": "1"}}
        resp = await s.post(f"{server.url}/v1/form", data={"symbol": "BTCUSDT", "signature": "abc"})
        assert await resp.json() == {"form": {"symbol": "BTCUSDT", "signature": "abc"}}
        resp = await s.put(f"{server.url}/v1/raw", data=b"\x00\x01\x02")
        assert await resp.json() == {"n": 3}
    assert orders.calls.last.request.headers["Content-Type"] == "application/json"
    assert "signature=%2A%2A%2A" in server.journal[1].body or "***" in server.journal[1].body
    assert raw.called and forms.called


async def test_json_body_matching_selects_the_route(server: MockServer) -> None:
    server.post("/v1/orders", json={"side": "buy"}).respond(json={"route": "buy"})
    server.post("/v1/orders", json={"side": "sell"}).respond(json={"route": "sell"})
    async with server.intercept(), aiohttp.ClientSession() as s:
        r = await s.post(f"{server.url}/v1/orders", json={"side": "sell", "qty": 1})
        assert await r.json() == {"route": "sell"}


async def test_path_placeholders_reach_the_handler(server: MockServer) -> None:
    server.delete("/v1/orders/{order_id}").respond(
        lambda r: {"canceled": r.path_params["order_id"]}
    )
    async with server.intercept(), aiohttp.ClientSession() as s:
        r = await s.delete(f"{server.url}/v1/orders/abc-1")
        assert await r.json() == {"canceled": "abc-1"}


async def test_head_has_no_body_but_content_length(server: MockServer) -> None:
    server.head("/v1/ping").respond(json={"a": 1})
    async with server.intercept(), aiohttp.ClientSession() as s:
        r = await s.head(f"{server.url}/v1/ping")
        assert r.status == 200 and await r.read() == b""
        assert r.headers["Content-Length"] == "7"


async def test_respond_seq_statuses_and_raise_for_status(server: MockServer) -> None:
    server.get("/v1/ticker").respond_seq(
        [Response(503), Response(429, headers={"Retry-After": "1"}), {"p": 1}]
    )
    async with server.intercept(), aiohttp.ClientSession(raise_for_status=True) as s:
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await s.get(f"{server.url}/v1/ticker")
        assert info.value.status == 503
        with pytest.raises(aiohttp.ClientResponseError) as info:
            await s.get(f"{server.url}/v1/ticker")
        assert info.value.status == 429 and info.value.headers["Retry-After"] == "1"
        assert await (await s.get(f"{server.url}/v1/ticker")).json() == {"p": 1}


async def test_exception_from_sequence_reaches_client(server: MockServer) -> None:
    server.get("/v1/x").respond_seq([aiohttp.ServerDisconnectedError(), {"ok": True}])
    async with server.intercept(), aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await s.get(f"{server.url}/v1/x")
        assert (await s.get(f"{server.url}/v1/x")).status == 200
    error = server.journal[0].error
    assert error is not None and error.kind == "raised"
    assert "ServerDisconnectedError" in error.detail


async def test_set_cookie_reaches_the_cookie_jar(server: MockServer) -> None:
    server.get("/login").respond(json={}, headers={"Set-Cookie": "session=abc; Path=/"})
    async with server.intercept(), aiohttp.ClientSession() as s:
        r = await s.get(f"{server.url}/login")
        assert r.cookies["session"].value == "abc"
        assert any(c.key == "session" for c in s.cookie_jar)


class TestTimeouts:
    """ClientTimeout is honoured as over a socket: the same exception, at the timeout."""

    @staticmethod
    def slow(seconds: float, answer: Any = None) -> Any:
        async def handler(request: Request) -> Any:
            await asyncio.sleep(seconds)
            return answer if answer is not None else {"late": True}

        return handler

    async def test_total_timeout_raises_timeout_error_at_the_timeout(
        self, server: MockServer
    ) -> None:
        server.get("/slow").respond(self.slow(30))
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(asyncio.TimeoutError) as info:
                await s.get(f"{server.url}/slow", timeout=aiohttp.ClientTimeout(total=0.05))
            # it fired on the timeout, not when the 30 s responder finished: the server is
            # still working on the request when the client gives up
            assert server.journal.last.status is None and server.in_flight == 1
        assert not isinstance(info.value, aiohttp.ServerTimeoutError)
        assert str(server.journal.last.client_outcome) == "TimeoutError (total)"

    async def test_sock_read_timeout_raises_socket_timeout_error(self, server: MockServer) -> None:
        server.get("/slow").respond(self.slow(30))
        async with (
            server.intercept(),
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60, sock_read=0.05)) as s,
        ):
            with pytest.raises(aiohttp.SocketTimeoutError):
                await s.get(f"{server.url}/slow")

    async def test_number_timeout_means_total(self, server: MockServer) -> None:
        server.get("/slow").respond(self.slow(30))
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(asyncio.TimeoutError):
                await s.get(f"{server.url}/slow", timeout=0.05)  # type: ignore[arg-type]

    async def test_fast_enough_responder_is_not_timed_out(self, server: MockServer) -> None:
        server.get("/ok").respond(self.slow(0.01))
        async with server.intercept(), aiohttp.ClientSession() as s:
            r = await s.get(f"{server.url}/ok", timeout=aiohttp.ClientTimeout(total=30))
            assert await r.json() == {"late": True}

    async def test_server_keeps_working_after_the_client_gave_up(self, server: MockServer) -> None:
        placed: list[str] = []
        done = asyncio.Event()

        async def place(request: Request) -> Any:
            await asyncio.sleep(0.1)
            placed.append(request.json()["id"])
            done.set()
            return {"id": request.json()["id"]}

        server.post("/v1/orders").respond(place)
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(asyncio.TimeoutError):
                await s.post(f"{server.url}/v1/orders", json={"id": "a"}, timeout=0.02)  # type: ignore[arg-type]
            assert not placed  # the client gave up first...
            await asyncio.wait_for(done.wait(), 10)  # ...and the exchange still places it
        assert placed == ["a"]
        assert server.journal.last.status == 200

    async def test_client_cancellation_does_not_cancel_the_server(self, server: MockServer) -> None:
        started, done = asyncio.Event(), asyncio.Event()

        async def place(request: Request) -> Any:
            started.set()
            await asyncio.sleep(0.05)
            done.set()
            return {}

        server.post("/v1/orders").respond(place)
        async with server.intercept(), aiohttp.ClientSession() as s:
            task = asyncio.create_task(s.post(f"{server.url}/v1/orders"))
            await asyncio.wait_for(started.wait(), 10)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(done.wait(), 10)

    async def test_hung_responders_are_cancelled_when_interception_ends(
        self, server: MockServer
    ) -> None:
        server.get("/hang").respond(self.slow(3600))
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(asyncio.TimeoutError):
                await s.get(f"{server.url}/hang", timeout=0.02)  # type: ignore[arg-type]
        await asyncio.sleep(0)  # let the cancellation reach the responder's task
        error = server.journal.last.error
        assert error is not None and error.kind == "cancelled"
        assert server.in_flight == 0


class TestUnmatched:
    async def test_unmatched_request_names_method_url_and_closest_routes(
        self, server: MockServer
    ) -> None:
        server.get("/v1/time").respond(json={})
        server.get("/api/v3/klines", params={"symbol": "BTCUSDT"}).respond(json=[])
        server.post("/api/v3/order").respond(json={})
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(UnmatchedRequestError) as info:
                await s.get(f"{server.url}/api/v3/klines", params={"symbol": "ETHUSDT"})
        err = info.value
        assert err.method == "GET" and "/api/v3/klines?symbol=ETHUSDT" in err.url
        assert err.misses[0].route == "GET /api/v3/klines?symbol=BTCUSDT"
        assert any("symbol=BTCUSDT" in r and "ETHUSDT" in r for r in err.misses[0].reasons)
        assert not isinstance(err, aiohttp.ClientError)  # never looks like a network fault
        assert server.unmatched == [err]

    async def test_verify_reports_swallowed_unmatched_requests(self, server: MockServer) -> None:
        async with server.intercept(), aiohttp.ClientSession() as s:
            for _ in range(2):
                try:  # noqa: SIM105 - written the way a careless client is
                    await s.get(f"{server.url}/nothing")
                except Exception:
                    pass
        with pytest.raises(UnmatchedRequestError) as info:
            server.verify()
        assert "2 requests" in str(info.value) and "/nothing" in str(info.value)

    async def test_assert_all_called(self) -> None:
        server = MockServer(BASE, assert_all_called=True)
        server.get("/used").respond(json={})
        server.get("/unused").respond(json={})
        async with server.intercept(), aiohttp.ClientSession() as s:
            await s.get(f"{server.url}/used")
        with pytest.raises(AssertionError, match="/unused"):
            server.verify()


class TestDispatch:
    async def test_two_servers_at_once(self) -> None:
        a, b = MockServer("https://a.exchange.test"), MockServer("https://b.exchange.test")
        a.get("/x").respond(json={"who": "a"})
        b.get("/x").respond(json={"who": "b"})
        async with a.intercept(), b.intercept(), aiohttp.ClientSession() as s:
            assert await (await s.get("https://a.exchange.test/x")).json() == {"who": "a"}
            assert await (await s.get("https://b.exchange.test/x")).json() == {"who": "b"}
        assert not dispatcher.active

    async def test_interception_is_removed_afterwards(self, server: MockServer) -> None:
        original = aiohttp.ClientSession._request
        async with server.intercept():
            assert aiohttp.ClientSession._request is not original
        assert aiohttp.ClientSession._request is original

    async def test_loopback_passes_through_to_a_real_server(self, server: MockServer) -> None:
        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"real": True})

        app = web.Application()
        app.router.add_get("/hello", hello)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with server.intercept(), aiohttp.ClientSession() as s:
                r = await s.get(f"http://127.0.0.1:{port}/hello")
                assert await r.json() == {"real": True}
        finally:
            await runner.cleanup()

    async def test_reset_keeps_routes_and_clear_removes_them(self, server: MockServer) -> None:
        route = server.get("/a").respond(json={})
        async with server.intercept(), aiohttp.ClientSession() as s:
            await s.get(f"{server.url}/a")
        server.reset()
        assert route.call_count == 0 and len(server.journal) == 0 and server.routes == [route]
        server.clear()
        assert server.routes == []

    async def test_journal_is_bounded_but_counts_everything(self) -> None:
        server = MockServer(BASE, journal_size=5)
        server.get("/a").respond(json={})
        async with server.intercept(), aiohttp.ClientSession() as s:
            for _ in range(12):
                await s.get(f"{server.url}/a")
        assert len(server.journal) == 5 and server.journal.total == 12
        assert [e.index for e in server.journal] == [7, 8, 9, 10, 11]


def test_base_url_must_be_absolute_http() -> None:
    with pytest.raises(MockConfigError, match="base_url"):
        MockServer("api.exchange.test")
    with pytest.raises(MockConfigError, match="base_url"):
        MockServer("ftp://api.exchange.test")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("api.binance.com", False),
        (None, False),
    ],
)
def test_is_loopback(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected
