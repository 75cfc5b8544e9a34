"""The socket backend: real 127.0.0.1 sockets, three client stacks, faults on the wire."""

from __future__ import annotations

import asyncio
import errno
import json
from typing import Any

import aiohttp
import httpx
import pytest
import requests

from harness import MockServer, faults
from harness.chaos import Chaos
from harness.chaos.faults import Fault
from harness.mock.routes import Response

BODY = {"rows": list(range(50))}


def make_server(fault: Fault | None = None) -> MockServer:
    server = MockServer()
    server.get("/x").respond(json=BODY)
    server.post("/x").respond(json=BODY)
    if fault is not None:
        Chaos(server, seed=1).inject(fault)
    return server


# fault -> what each stack raises over a real socket (GET and POST alike: every attempt fails)
EXPECTED: dict[str, tuple[Fault, dict[str, type[BaseException]]]] = {
    "disconnect": (
        faults.Disconnect(),
        {
            "aiohttp": aiohttp.ServerDisconnectedError,
            "httpx": httpx.RemoteProtocolError,
            "requests": requests.ConnectionError,
        },
    ),
    "reset": (
        faults.Reset(),
        {
            "aiohttp": aiohttp.ClientOSError,
            "httpx": httpx.ReadError,
            "requests": requests.ConnectionError,
        },
    ),
    "truncate": (
        faults.Truncate(fraction=0.5),
        {
            "aiohttp": aiohttp.ClientPayloadError,
            "httpx": httpx.RemoteProtocolError,
            "requests": requests.exceptions.ChunkedEncodingError,
        },
    ),
    "truncate-close": (
        faults.Truncate(fraction=0.5, framing="close"),
        {"aiohttp": json.JSONDecodeError, "httpx": json.JSONDecodeError, "requests": ValueError},
    ),
    "hang": (
        faults.Hang(),
        {
            "aiohttp": asyncio.TimeoutError,
            "httpx": httpx.ReadTimeout,
            "requests": requests.ReadTimeout,
        },
    ),
    "html": (
        faults.Corrupt(corruption="html_error_page"),
        {
            "aiohttp": aiohttp.ContentTypeError,
            "httpx": json.JSONDecodeError,
            "requests": ValueError,
        },
    ),
}


def sync_call(lib: str, method: str, url: str) -> Any:
    if lib == "requests":
        return requests.request(method, url, timeout=0.5).json()
    return httpx.request(method, url, timeout=0.5).json()


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("lib", ["requests", "httpx"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_sync_stacks_see_real_network_errors(name: str, lib: str, method: str) -> None:
    fault, expected = EXPECTED[name]
    server = make_server(fault)
    with server.serve_in_thread() as url, pytest.raises(expected[lib]):
        sync_call(lib, method, url + "/x")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", list(EXPECTED))
async def test_aiohttp_sees_real_network_errors(name: str, method: str) -> None:
    fault, expected = EXPECTED[name]
    server = make_server(fault)
    async with server.serve() as url, aiohttp.ClientSession() as session:
        with pytest.raises(expected["aiohttp"]) as info:
            async with session.request(
                method, url + "/x", timeout=aiohttp.ClientTimeout(total=0.5)
            ) as resp:
                await resp.json()
    if name == "reset":
        assert info.value.errno == errno.ECONNRESET


async def test_one_shot_reset_on_get_is_retried_by_aiohttp_over_the_wire() -> None:
    server = MockServer()
    server.get("/x").respond(json=BODY)
    Chaos(server, seed=1).inject(faults.Reset(), schedule={"first": 1})
    async with server.serve() as url, aiohttp.ClientSession() as session:
        assert (await session.get(url + "/x")).status == 200
    assert [e.status for e in server.journal] == [None, 200]


async def test_latency_and_dribble_on_the_wire() -> None:
    server = make_server()
    chaos = Chaos(server, seed=1)
    chaos.inject(faults.Latency(fixed_ms=60), match={"method": "GET"})
    chaos.inject(faults.Dribble(chunks=5, over_ms=500), match={"method": "POST"})
    loop = asyncio.get_running_loop()
    async with server.serve() as url, aiohttp.ClientSession() as session:
        start = loop.time()
        assert await (await session.get(url + "/x")).json() == BODY
        assert loop.time() - start >= 0.059
        # the headers come at once, the body in five pieces: sock_read fires between pieces
        with pytest.raises(aiohttp.SocketTimeoutError):
            resp = await session.post(url + "/x", timeout=aiohttp.ClientTimeout(sock_read=0.05))
            await resp.read()
        resp = await session.post(url + "/x")
        assert await resp.json() == BODY


async def test_dribble_in_process_delivers_the_body_slowly() -> None:
    server = make_server()
    Chaos(server, seed=1).inject(faults.Dribble(chunks=4, over_ms=120))
    loop = asyncio.get_running_loop()
    async with server.intercept(), aiohttp.ClientSession() as session:
        start = loop.time()
        resp = await session.get(server.url + "/x")
        assert await resp.json() == BODY
        assert loop.time() - start >= 0.1


def test_routes_journal_and_handlers_over_the_socket() -> None:
    server = MockServer("https://api.exchange.test/api")
    orders = server.post("/v1/orders").respond(lambda r: (201, {"echo": r.json()}))
    with server.serve_in_thread() as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api") and server.url == url
        resp = requests.post(
            url + "/v1/orders", json={"side": "buy"}, headers={"X-MBX-APIKEY": "k"}, timeout=5
        )
        assert resp.status_code == 201 and resp.json() == {"echo": {"side": "buy"}}
    assert orders.call_count == 1 and server.journal.last.headers["X-MBX-APIKEY"] == "***"
    assert server.url == "https://api.exchange.test/api"


def test_unmatched_request_over_the_socket_is_recorded() -> None:
    server = make_server()
    with server.serve_in_thread() as url:
        resp = requests.get(url + "/nope?symbol=X&signature=abc123", timeout=5)
    # an error in the server's dialect (generic here): never data, never a network error
    assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("application/json")
    message = resp.json()["error"]["message"]
    assert "no route matches GET /nope?symbol=X&signature=***" in message
    assert "abc123" not in resp.text
    assert len(server.unmatched) == 1 and "abc123" not in str(server.unmatched[0])
    with pytest.raises(AssertionError, match="without a matching route"):
        server.verify()


def test_hung_handlers_do_not_block_shutdown() -> None:
    server = make_server(faults.Hang())
    with server.serve_in_thread() as url, pytest.raises(requests.ReadTimeout):
        requests.get(url + "/x", timeout=0.2)
    error = server.journal.last.error
    assert error is not None and error.kind == "cancelled"


async def test_ports_are_free_ones_and_servers_do_not_collide() -> None:
    a, b = make_server(), make_server()
    async with a.serve() as url_a, b.serve() as url_b:
        assert url_a != url_b
        async with aiohttp.ClientSession() as session:
            assert (await session.get(url_a + "/x")).status == 200
            assert (await session.get(url_b + "/x")).status == 200
    assert len(a.journal) == len(b.journal) == 1


@pytest.mark.parametrize("fault", [None, faults.Dribble(over_ms=1)], ids=["plain", "dribble"])
async def test_repeated_response_headers_reach_the_client_on_both_backends(
    fault: Fault | None,
) -> None:
    """Set-Cookie twice, Link twice: a multi-valued header is not collapsed to its last value."""
    server = MockServer()
    server.get("/h").respond(
        Response(200, json={}, headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    )
    if fault is not None:
        Chaos(server, seed=1).inject(fault)
    seen = []
    async with (
        server.serve() as url,
        aiohttp.ClientSession() as session,
        session.get(f"{url}/h") as resp,
    ):
        seen.append(resp.headers.getall("Set-Cookie"))
    async with (
        server.intercept(),
        aiohttp.ClientSession() as session,
        session.get(f"{server.base_url}/h") as resp,
    ):
        seen.append(resp.headers.getall("Set-Cookie"))
    assert seen == [["a=1", "b=2"], ["a=1", "b=2"]]
