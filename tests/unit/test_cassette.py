"""Recorded traffic as routes: VCR.py cassettes (recorded here by VCR.py itself) and HAR
files, matching as VCR.py does, repeats, several hosts, roles, chaos, secrets, bad files."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import threading
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import vcr  # imported at collection, before any test intercepts aiohttp (see formats.py)
import yaml
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import MockServer, UnmatchedRequestError, faults
from harness.chaos import Chaos
from harness.errors import HarnessWarning, MockConfigError, RecordingError
from harness.recordings import (
    DEFAULT_MATCH_ON,
    load_recording,
    read_cassette,
    servers_by_host,
)
from harness.roles import RoleMap

BINANCE = "https://api.binance.com"


# -- helpers ---------------------------------------------------------------------------------


class Upstream:
    """A plain aiohttp.web server on 127.0.0.1, served from a thread: what VCR.py records."""

    def __init__(self) -> None:
        self.hits = 0
        self.counter = 0
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upstream", daemon=True)
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        async def count(request: web.Request) -> None:
            self.hits += 1

        async def json_(request: web.Request) -> web.Response:
            await count(request)
            return web.json_response({"args": sorted(request.query.items())})

        async def counter(request: web.Request) -> web.Response:
            await count(request)
            self.counter += 1
            status = 503 if self.counter == 1 else 200
            return web.json_response({"n": self.counter}, status=status)

        async def gzipped(request: web.Request) -> web.Response:
            await count(request)
            body = gzip.compress(b'{"compressed": true}')
            return web.Response(
                body=body,
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            )

        async def binary(request: web.Request) -> web.Response:
            await count(request)
            return web.Response(body=b"\x89PNG\r\n\x1a\n\x00\xff\xfe", content_type="image/png")

        async def multi(request: web.Request) -> web.Response:
            await count(request)
            response = web.Response(text="multi")
            response.headers.add("X-Dup", "one")
            response.headers.add("X-Dup", "two")
            return response

        async def order(request: web.Request) -> web.Response:
            await count(request)
            return web.json_response({"echo": (await request.read()).decode()}, status=201)

        app = web.Application()
        app.router.add_get("/json", json_)
        app.router.add_get("/counter", counter)
        app.router.add_get("/gzip", gzipped)
        app.router.add_get("/binary", binary)
        app.router.add_get("/multi", multi)
        app.router.add_post("/order", order)
        return app

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=0.1)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> Upstream:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream().start()
    yield server
    server.stop()


def interaction(
    method: str,
    uri: str,
    status: int = 200,
    body: str | bytes | None = "{}",
    headers: dict[str, list[str]] | None = None,
    request_body: Any = None,
    request_headers: dict[str, list[str]] | None = None,
    reason: str = "OK",
) -> dict[str, Any]:
    """One interaction in VCR.py's on-disk shape."""
    return {
        "request": {
            "body": request_body,
            "headers": request_headers or {},
            "method": method,
            "uri": uri,
        },
        "response": {
            "body": {"string": body},
            "headers": headers if headers is not None else {"Content-Type": ["application/json"]},
            "status": {"code": status, "message": reason},
        },
    }


def write_cassette(path: Path, interactions: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))
    return path


async def fetch(
    session: aiohttp.ClientSession, method: str, url: str, **kw: Any
) -> tuple[int, bytes, aiohttp.ClientResponse]:
    async with session.request(method, url, **kw) as resp:
        return resp.status, await resp.read(), resp


async def record_with_aiohttp(up: Upstream, path: Path, serializer: str, binary: bool) -> None:
    recorder = vcr.VCR(record_mode="all", serializer=serializer)
    with recorder.use_cassette(str(path)):
        async with aiohttp.ClientSession() as session:
            await fetch(session, "GET", f"{up.url}/json?b=2&a=1")
            for _ in range(3):
                await fetch(session, "GET", f"{up.url}/counter")
            await fetch(session, "GET", f"{up.url}/gzip")
            if binary:
                await fetch(session, "GET", f"{up.url}/binary")
            await fetch(session, "GET", f"{up.url}/multi")
            await fetch(session, "POST", f"{up.url}/order", json={"symbol": "BTCUSDT", "qty": 1})


def record_with_requests(up: Upstream, path: Path, serializer: str, binary: bool) -> None:
    recorder = vcr.VCR(record_mode="all", serializer=serializer)
    with recorder.use_cassette(str(path)), requests.Session() as session:
        session.get(f"{up.url}/json?b=2&a=1")
        for _ in range(3):
            session.get(f"{up.url}/counter")
        session.get(f"{up.url}/gzip")
        if binary:
            session.get(f"{up.url}/binary")
        session.get(f"{up.url}/multi")
        session.post(f"{up.url}/order", json={"symbol": "BTCUSDT", "qty": 1})


# -- cassettes recorded by VCR.py --------------------------------------------------------------


@pytest.mark.parametrize(("serializer", "binary"), [("yaml", True), ("json", False)])
async def test_vcrpy_aiohttp_cassette_replays_in_process(
    upstream: Upstream, tmp_path: Path, serializer: str, binary: bool
) -> None:
    path = tmp_path / f"aiohttp.{serializer}"
    await record_with_aiohttp(upstream, path, serializer, binary)
    recorded_hits = upstream.hits

    server = MockServer.from_cassette(path)
    assert server.url == upstream.url
    async with server.intercept(), aiohttp.ClientSession() as session:
        # the query in another order still matches (VCR.py compares it sorted)
        status, body, _ = await fetch(session, "GET", f"{upstream.url}/json?a=1&b=2")
        assert (status, json.loads(body)) == (200, {"args": [["a", "1"], ["b", "2"]]})
        # repeats: recorded order, then the last one repeats
        seq = [await fetch(session, "GET", f"{upstream.url}/counter") for _ in range(5)]
        assert [(s, json.loads(b)["n"]) for s, b, _ in seq] == [
            (503, 1),
            (200, 2),
            (200, 3),
            (200, 3),
            (200, 3),
        ]
        status, body, resp = await fetch(session, "GET", f"{upstream.url}/gzip")
        assert body == b'{"compressed": true}'
        assert "Content-Encoding" not in resp.headers
        assert resp.headers["Content-Length"] == str(len(body))
        if binary:
            _, body, resp = await fetch(session, "GET", f"{upstream.url}/binary")
            assert body == b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
            assert resp.headers["Content-Type"] == "image/png"
        _, body, resp = await fetch(session, "GET", f"{upstream.url}/multi")
        assert resp.headers.getall("X-Dup") == ["one", "two"]
        status, body, _ = await fetch(session, "POST", f"{upstream.url}/order", json={"x": 1})
        assert status == 201 and "BTCUSDT" in json.loads(body)["echo"]
    assert upstream.hits == recorded_hits  # the replay never reached the upstream
    assert not server.unmatched


@pytest.mark.parametrize(("serializer", "binary"), [("yaml", True), ("json", False)])
def test_vcrpy_requests_cassette_replays_over_a_socket(
    upstream: Upstream, tmp_path: Path, serializer: str, binary: bool
) -> None:
    path = tmp_path / f"requests.{serializer}"
    record_with_requests(upstream, path, serializer, binary)
    recorded_hits = upstream.hits

    server = MockServer.from_cassette(path)
    with server.serve_in_thread() as url, requests.Session() as session:
        resp = session.get(f"{url}/json?a=1&b=2")
        assert resp.json() == {"args": [["a", "1"], ["b", "2"]]}
        codes = [session.get(f"{url}/counter") for _ in range(4)]
        assert [(r.status_code, r.json()["n"]) for r in codes] == [
            (503, 1),
            (200, 2),
            (200, 3),
            (200, 3),
        ]
        resp = session.get(f"{url}/gzip")  # recorded decoded, labelled gzip: served plain
        assert resp.json() == {"compressed": True}
        assert "Content-Encoding" not in resp.headers
        if binary:
            assert session.get(f"{url}/binary").content == b"\x89PNG\r\n\x1a\n\x00\xff\xfe"
        assert session.get(f"{url}/multi").text == "multi"
        assert session.post(f"{url}/order", json={"symbol": "X"}).status_code == 201
    assert upstream.hits == recorded_hits
    assert not server.unmatched


# -- matching ------------------------------------------------------------------------------------


async def test_query_is_exact_and_order_insensitive(tmp_path: Path) -> None:
    base = "https://api.exchange.test"
    path = write_cassette(
        tmp_path / "q.yaml",
        [
            interaction("GET", f"{base}/x?a=1", body='"a"'),
            interaction("GET", f"{base}/x?a=1&b=2", body='"ab"'),
            interaction("GET", f"{base}/x?a=1&a=2", body='"aa"'),
        ],
    )
    server = MockServer.from_cassette(path)
    async with server.intercept(), aiohttp.ClientSession() as session:
        assert (await fetch(session, "GET", f"{base}/x?b=2&a=1"))[1] == b'"ab"'
        assert (await fetch(session, "GET", f"{base}/x?a=1"))[1] == b'"a"'
        assert (await fetch(session, "GET", f"{base}/x?a=2&a=1"))[1] == b'"aa"'
        # a blank value is dropped, as VCR.py's parse_qsl drops it
        assert (await fetch(session, "GET", f"{base}/x?a=1&c="))[1] == b'"a"'
        with pytest.raises(UnmatchedRequestError) as caught:
            await fetch(session, "GET", f"{base}/x?a=1&c=3")
    assert "query ?a=1&c=3 != ?a=1" in str(caught.value)
    with pytest.raises(UnmatchedRequestError):
        server.verify()


async def test_volatile_and_secret_parameters_match_any_value(tmp_path: Path) -> None:
    uri = f"{BINANCE}/api/v3/order?symbol=BTCUSDT&orderId=7&timestamp=1&signature=***"
    path = write_cassette(tmp_path / "s.yaml", [interaction("GET", uri, body='{"orderId":7}')])
    server = MockServer.from_cassette(path)
    live = f"{BINANCE}/api/v3/order?symbol=BTCUSDT&orderId=7&timestamp=99&signature=f00"
    async with server.intercept(), aiohttp.ClientSession() as session:
        assert (await fetch(session, "GET", live))[1] == b'{"orderId":7}'
        with pytest.raises(UnmatchedRequestError):  # presence is still required
            await fetch(session, "GET", f"{BINANCE}/api/v3/order?symbol=BTCUSDT&orderId=7")

    strict = MockServer.from_cassette(path, ignore_params=())
    async with strict.intercept(), aiohttp.ClientSession() as session:
        with pytest.raises(UnmatchedRequestError):
            await fetch(session, "GET", live)


async def test_match_on_without_query_merges_and_without_method_accepts_any(
    tmp_path: Path,
) -> None:
    base = "https://api.exchange.test"
    path = write_cassette(
        tmp_path / "m.yaml",
        [
            interaction("GET", f"{base}/x?a=1", body='"first"'),
            interaction("GET", f"{base}/x?a=2", body='"second"'),
        ],
    )
    server = MockServer.from_cassette(path, match_on=("path",))
    assert len(server.routes) == 1
    async with server.intercept(), aiohttp.ClientSession() as session:
        assert (await fetch(session, "GET", f"{base}/x?z=9"))[1] == b'"first"'
        assert (await fetch(session, "DELETE", f"{base}/x"))[1] == b'"second"'
    with pytest.raises(MockConfigError, match="unknown matcher 'headers'"):
        MockServer.from_cassette(path, match_on=("method", "headers"))


async def test_body_matching_when_asked(tmp_path: Path) -> None:
    base = "https://api.exchange.test"
    json_type = {"Content-Type": ["application/json"]}
    form_type = {"Content-Type": ["application/x-www-form-urlencoded"]}
    path = write_cassette(
        tmp_path / "b.yaml",
        [
            interaction(
                "POST",
                f"{base}/o",
                body='"A"',
                request_body='{"s": "A", "n": 1}',
                request_headers=json_type,
            ),
            # aiohttp's json=/data= dicts are recorded as mappings
            interaction("POST", f"{base}/o", body='"B"', request_body={"s": "B", "n": 1}),
            interaction(
                "POST", f"{base}/o", body='"C"', request_body="s=C&n=1", request_headers=form_type
            ),
        ],
    )
    by_body = MockServer.from_cassette(path, match_on=(*DEFAULT_MATCH_ON, "body"))
    assert len(by_body.routes) == 3
    async with by_body.intercept(), aiohttp.ClientSession() as session:
        assert (await fetch(session, "POST", f"{base}/o", json={"n": 1, "s": "B"}))[1] == b'"B"'
        assert (await fetch(session, "POST", f"{base}/o", data={"s": "C", "n": "1"}))[1] == b'"C"'
        assert (await fetch(session, "POST", f"{base}/o", json={"n": 1, "s": "A"}))[1] == b'"A"'
        with pytest.raises(UnmatchedRequestError) as caught:
            await fetch(session, "POST", f"{base}/o", json={"s": "D"})
    assert "body" in str(caught.value)

    in_order = MockServer.from_cassette(path)  # VCR.py's default: the body is not compared
    assert len(in_order.routes) == 1
    async with in_order.intercept(), aiohttp.ClientSession() as session:
        got = [(await fetch(session, "POST", f"{base}/o", json={}))[1] for _ in range(4)]
    assert got == [b'"A"', b'"B"', b'"C"', b'"C"']


async def test_compressed_bodies_are_decoded_only_when_really_compressed(tmp_path: Path) -> None:
    base = "https://api.exchange.test"
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    deflated = raw_deflate.compress(b'{"d": 1}') + raw_deflate.flush()
    path = write_cassette(
        tmp_path / "z.yaml",
        [
            # urllib stores the wire bytes: still gzip'd
            interaction(
                "GET",
                f"{base}/gz",
                body=gzip.compress(b'{"g": 1}'),
                headers={"Content-Encoding": ["gzip"], "Content-Length": ["28"]},
            ),
            interaction(
                "GET", f"{base}/df", body=deflated, headers={"Content-Encoding": ["deflate"]}
            ),
            # requests and aiohttp store it decoded but keep the header
            interaction(
                "GET", f"{base}/plain", body='{"p": 1}', headers={"Content-Encoding": ["gzip"]}
            ),
        ],
    )
    server = MockServer.from_cassette(path)
    async with server.intercept(), aiohttp.ClientSession() as session:
        for route, want in (("gz", b'{"g": 1}'), ("df", b'{"d": 1}'), ("plain", b'{"p": 1}')):
            _, body, resp = await fetch(session, "GET", f"{base}/{route}")
            assert body == want
            assert "Content-Encoding" not in resp.headers
            assert "Content-Type" not in resp.headers  # none was recorded: none is invented


def test_legacy_python_tags_load_and_dangerous_ones_are_refused(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.yaml"
    legacy.write_text(
        """interactions:
- request:
    body: !!python/object/new:_io.BytesIO
      state: !!python/tuple
      - !!binary |
        cXR5PTE=
      - 0
      - null
    headers: {}
    method: !!python/unicode 'POST'
    uri: !!python/str 'https://api.exchange.test/v1/orders'
  response:
    body: {string: !!python/unicode 'ok'}
    headers: {Content-Type: !!python/tuple [text/plain]}
    status: {code: 200, message: OK}
version: 1
"""
    )
    (only,) = read_cassette(legacy)
    assert (only.method, only.request_body, only.body) == ("POST", b"qty=1", b"ok")
    assert only.headers == (("Content-Type", "text/plain"),)

    planted = tmp_path / "pwned"
    evil = tmp_path / "evil.yaml"
    evil.write_text(
        f"interactions: !!python/object/apply:builtins.open ['{planted}', 'w']\nversion: 1\n"
    )
    with pytest.raises(RecordingError, match=r"python/object/apply:builtins\.open"):
        MockServer.from_cassette(evil)
    assert not planted.exists()


# -- HAR -----------------------------------------------------------------------------------------


def har_sample() -> dict[str, Any]:
    def entry(method: str, url: str, status: int, content: dict[str, Any], **kw: Any) -> dict:
        return {
            "startedDateTime": "2026-01-01T00:00:00.000Z",
            "time": 1,
            "request": {
                "method": method,
                "url": url,
                "httpVersion": "HTTP/2",
                "cookies": [],
                "headers": [{"name": ":authority", "value": "api.exchange.test"}],
                "queryString": [],
                "headersSize": -1,
                "bodySize": -1,
                **kw.get("request", {}),
            },
            "response": {
                "status": status,
                "statusText": kw.get("reason", ""),
                "httpVersion": "HTTP/2",
                "cookies": [],
                "headers": kw.get("headers", []),
                "content": content,
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": -1,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 1, "receive": 0},
        }

    depth = "https://api.exchange.test/api/v3/depth?symbol=BTCUSDT&limit=5"
    json_type = {"name": "content-type", "value": "application/json"}
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": [
                entry(
                    "GET",
                    depth,
                    503,
                    {"size": 20, "mimeType": "application/json", "text": '{"code":-1001}'},
                    reason="Service Unavailable",
                    headers=[
                        json_type,
                        {"name": "content-encoding", "value": "gzip"},
                        {"name": "content-length", "value": "40"},
                    ],
                ),
                entry(
                    "GET",
                    depth,
                    200,
                    {"size": 9, "mimeType": "application/json", "text": '{"bids":[]}'},
                    headers=[
                        json_type,
                        {"name": "x-dup", "value": "one"},
                        {"name": "x-dup", "value": "two"},
                    ],
                ),
                entry(
                    "POST",
                    "https://api.exchange.test/api/v3/order",
                    201,
                    {"size": 13, "mimeType": "application/json", "text": '{"orderId":1}'},
                    request={"postData": {"mimeType": "application/json", "text": '{"s":"BTC"}'}},
                ),
                entry(
                    "POST",
                    "https://api.exchange.test/api/v3/order",
                    201,
                    {"size": 13, "mimeType": "application/json", "text": '{"orderId":2}'},
                    request={
                        "postData": {
                            "mimeType": "application/x-www-form-urlencoded",
                            "params": [{"name": "s", "value": "ETH"}],
                        }
                    },
                ),
                entry(
                    "GET",
                    "https://api.exchange.test/logo.png",
                    200,
                    {
                        "size": 8,
                        "mimeType": "image/png",
                        "encoding": "base64",
                        "text": base64.b64encode(b"\x89PNG\x00\xff").decode(),
                    },
                    headers=[{"name": "content-type", "value": "image/png"}],
                ),
                entry("GET", "https://tracker.example/pixel", 0, {"size": 0, "mimeType": ""}),
                entry("GET", "wss://stream.exchange.test/ws", 101, {"size": 0, "mimeType": ""}),
            ],
        }
    }


async def test_har_file_replays_with_repeats_headers_and_binary(tmp_path: Path) -> None:
    path = tmp_path / "sample.har"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(har_sample()).encode())  # a BOM is allowed
    server = MockServer.from_har(path)
    assert server.aliases == []  # status-0 and WebSocket entries are skipped
    base = "https://api.exchange.test"
    async with server.intercept(), aiohttp.ClientSession() as session:
        url = f"{base}/api/v3/depth?limit=5&symbol=BTCUSDT"
        first = await fetch(session, "GET", url)
        assert (first[0], first[1]) == (503, b'{"code":-1001}')
        assert first[2].reason == "Service Unavailable"
        assert "Content-Encoding" not in first[2].headers
        for _ in range(2):
            status, body, resp = await fetch(session, "GET", url)
            assert (status, body) == (200, b'{"bids":[]}')
            assert resp.headers.getall("X-Dup") == ["one", "two"]
        _, body, resp = await fetch(session, "GET", f"{base}/logo.png")
        assert body == b"\x89PNG\x00\xff"
        orders = [await fetch(session, "POST", f"{base}/api/v3/order") for _ in range(3)]
        assert [b for _, b, _ in orders] == [b'{"orderId":1}', b'{"orderId":2}', b'{"orderId":2}']

    by_body = MockServer.from_har(path, match_on=(*DEFAULT_MATCH_ON, "body"))
    async with by_body.intercept(), aiohttp.ClientSession() as session:
        form = await fetch(session, "POST", f"{base}/api/v3/order", data={"s": "ETH"})
        assert form[1] == b'{"orderId":2}'
        sent = await fetch(session, "POST", f"{base}/api/v3/order", json={"s": "BTC"})
        assert sent[1] == b'{"orderId":1}'


# -- several hosts ---------------------------------------------------------------------------------


def multi_host_cassette(tmp_path: Path) -> Path:
    return write_cassette(
        tmp_path / "hosts.yaml",
        [
            interaction("GET", f"{BINANCE}/api/v3/time", body='{"serverTime":1}'),
            interaction("GET", "https://api1.binance.com/api/v3/time", body='{"serverTime":2}'),
            interaction("GET", "http://data.exchange.test:8080/v1/x", body='"x"'),
        ],
    )


async def test_several_hosts_are_one_server_answering_each_by_hostname(tmp_path: Path) -> None:
    server = MockServer.from_cassette(multi_host_cassette(tmp_path))
    assert server.url == BINANCE
    assert sorted(str(a).rstrip("/") for a in server.aliases) == [
        "http://data.exchange.test:8080",
        "https://api1.binance.com",
    ]
    async with server.intercept(), aiohttp.ClientSession() as session:
        assert (await fetch(session, "GET", f"{BINANCE}/api/v3/time"))[1] == b'{"serverTime":1}'
        one = await fetch(session, "GET", "https://api1.binance.com/api/v3/time")
        assert one[1] == b'{"serverTime":2}'
        assert (await fetch(session, "GET", "http://data.exchange.test:8080/v1/x"))[1] == b'"x"'
        with pytest.raises(UnmatchedRequestError) as caught:  # the host is part of the match
            await fetch(session, "GET", "http://data.exchange.test:8080/api/v3/time")
    assert "host" in str(caught.value)


def test_over_a_socket_the_host_recorded_first_answers(tmp_path: Path) -> None:
    server = MockServer.from_cassette(multi_host_cassette(tmp_path))
    with server.serve_in_thread() as url:  # every host arrives at one address
        assert requests.get(f"{url}/api/v3/time").json() == {"serverTime": 1}
        assert requests.get(f"{url}/v1/x").json() == "x"


def test_servers_by_host_gives_each_host_its_own_server(tmp_path: Path) -> None:
    servers = servers_by_host(multi_host_cassette(tmp_path))
    assert list(servers) == [BINANCE, "https://api1.binance.com", "http://data.exchange.test:8080"]
    with (
        servers["https://api1.binance.com"].serve_in_thread() as one,
        servers[BINANCE].serve_in_thread() as zero,
    ):
        assert requests.get(f"{zero}/api/v3/time").json() == {"serverTime": 1}
        assert requests.get(f"{one}/api/v3/time").json() == {"serverTime": 2}
    assert [len(s.routes) for s in servers.values()] == [1, 1, 1]


async def test_load_cassette_into_an_existing_server(tmp_path: Path) -> None:
    path = write_cassette(
        tmp_path / "k.yaml",
        [interaction("GET", f"{BINANCE}/api/v3/klines?symbol=BTCUSDT", body="[[1]]")],
    )
    server = MockServer("https://api.exchange.test")
    own = server.get("/own").respond(json={"own": True})
    routes = server.load_cassette(path)
    assert server.routes == [own, *routes]
    assert [str(a).rstrip("/") for a in server.aliases] == [BINANCE]
    async with server.intercept(), aiohttp.ClientSession() as session:
        # at the recorded host, and at the server's own URL (which no recording names)
        for base in (BINANCE, server.url):
            assert (await fetch(session, "GET", f"{base}/api/v3/klines?symbol=BTCUSDT"))[
                1
            ] == b"[[1]]"
        assert json.loads((await fetch(session, "GET", f"{server.url}/own"))[1]) == {"own": True}


# -- roles and chaos ---------------------------------------------------------------------------------


def binance_cassette(tmp_path: Path) -> Path:
    klines = f"{BINANCE}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=2"
    return write_cassette(
        tmp_path / "binance.yaml",
        [
            interaction("GET", klines, body='[[1700000000000,"1","2","0.5","1.5","10"]]'),
            interaction("GET", f"{BINANCE}/api/v3/depth?symbol=BTCUSDT", body='{"bids":[]}'),
            interaction("POST", f"{BINANCE}/api/v3/order?symbol=BTCUSDT&signature=***", body="{}"),
            interaction("GET", f"{BINANCE}/api/v3/somethingNew", body="{}"),
            interaction("GET", "https://data.mybroker.test/api/candles", body="[]"),
        ],
    )


def test_roles_come_from_the_profile_then_the_role_map(tmp_path: Path) -> None:
    path = binance_cassette(tmp_path)
    server = MockServer.from_cassette(path)
    assert [r.role for r in server.routes] == ["bars", "book", "order_place", None, None]

    roles = RoleMap({"GET /api/candles": "bars", "/api/v3/somethingNew": "status"})
    mapped = MockServer.from_cassette(path, roles=roles)
    assert [r.role for r in mapped.routes] == ["bars", "book", "order_place", "status", "bars"]
    plain = MockServer("https://data.mybroker.test")
    (candles, *_) = [r for r in plain.load_cassette(path, roles={"/api/candles": "bars"})][4:]
    assert candles.role == "bars"


async def test_chaos_fires_on_cassette_routes_by_role(tmp_path: Path) -> None:
    server = MockServer.from_cassette(binance_cassette(tmp_path))
    chaos = Chaos(server, seed=1)
    chaos.inject(faults.Error(status=503), match={"role": "bars"})
    klines = f"{BINANCE}/api/v3/klines?limit=2&interval=1m&symbol=BTCUSDT"
    async with server.intercept(), aiohttp.ClientSession() as session:
        assert (await fetch(session, "GET", klines))[0] == 503
        assert (await fetch(session, "GET", f"{BINANCE}/api/v3/depth?symbol=BTCUSDT"))[0] == 200
    assert [e.kind for e in chaos.fired()] == ["error"]
    assert [e.role for e in server.journal] == ["bars", "book"]


async def test_a_library_scenario_fires_on_a_cassette(tmp_path: Path) -> None:
    server = MockServer.from_cassette(binance_cassette(tmp_path))
    chaos = Chaos(server, seed=1)
    chaos.load("truncated-klines")  # every third bars answer cut in half
    klines = f"{BINANCE}/api/v3/klines?limit=2&interval=1m&symbol=BTCUSDT"
    outcomes = []
    async with server.intercept(), aiohttp.ClientSession() as session:
        for _ in range(3):
            try:
                outcomes.append((await fetch(session, "GET", klines))[0])
            except aiohttp.ClientPayloadError:
                outcomes.append("truncated")
    assert outcomes == [200, 200, "truncated"]
    assert chaos.inert() == []


async def test_beside_vcrpy_with_skip_patchers_aiohttp(tmp_path: Path) -> None:
    """The supported combination: VCR.py leaves aiohttp alone (``skip_patchers``, VCR.py
    >= 9.4) and answers requests; the harness answers aiohttp from the same cassette, with
    chaos."""
    url = "https://api.exchange.test/v1/ticker?symbol=BTCUSDT"
    path = write_cassette(tmp_path / "both.yaml", [interaction("GET", url, body='{"p": 1}')])
    server = MockServer.from_cassette(path)
    Chaos(server, seed=1).inject(faults.Error(status=503), match={"path": "/v1/ticker"})
    with vcr.use_cassette(str(path), record_mode="none", skip_patchers=("aiohttp",)):
        async with server.intercept(), aiohttp.ClientSession() as session:
            status, _, _ = await fetch(session, "GET", url)
            by_vcr = await asyncio.to_thread(requests.get, url)
    assert status == 503  # aiohttp: the harness, with its fault
    assert (by_vcr.status_code, by_vcr.json()) == (200, {"p": 1})  # requests: VCR.py
    assert len(server.journal) == 1


# -- secrets ---------------------------------------------------------------------------------------

PLANTED = ("PLANTED-KEY-123", "PLANTED-SIG-456", "PLANTED-SECRET-789")


def secret_cassette(tmp_path: Path) -> Path:
    key, sig, secret = PLANTED
    return write_cassette(
        tmp_path / "secrets.yaml",
        [
            interaction(
                "GET",
                f"{BINANCE}/api/v3/account?timestamp=1&signature={sig}",
                body=json.dumps({"apiKey": key, "balances": [], "note": f"signed {sig}"}),
                headers={"Content-Type": ["application/json"], "X-Echo": [f"key={key}"]},
                request_headers={"X-MBX-APIKEY": [key]},
            ),
            interaction(
                "POST",
                f"{BINANCE}/api/v3/order",
                body=json.dumps({"echo": secret}),
                request_body={"symbol": "BTCUSDT", "apiSecret": secret},
            ),
        ],
    )


async def test_secrets_in_a_recording_stay_out_of_journals_and_errors(tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server = MockServer.from_cassette(secret_cassette(tmp_path))
    (warning,) = [w for w in caught if issubclass(w.category, HarnessWarning)]  # once
    text = str(warning.message)
    for field in ("X-MBX-APIKEY", "signature", "apiSecret"):
        assert field in text
    assert not any(p in text for p in PLANTED)

    chaos = Chaos(server, seed=2)
    chaos.inject(faults.Latency(fixed_ms=1), match={"role": "account"})
    account = f"{BINANCE}/api/v3/account?timestamp=5&signature=live-signature"
    async with server.intercept(), aiohttp.ClientSession() as session:
        status, body, resp = await fetch(session, "GET", account, headers={"X-MBX-APIKEY": "live"})
        assert status == 200 and json.loads(body)["apiKey"] == "***"
        assert resp.headers["X-Echo"] == "key=***"
        assert (await fetch(session, "POST", f"{BINANCE}/api/v3/order", json={}))[0] == 200
        with pytest.raises(UnmatchedRequestError) as unmatched:
            await fetch(session, "GET", f"{BINANCE}/api/v3/account?timestamp=5")
    seen = json.dumps(
        [e.to_dict() for e in server.journal]
        + [e.to_dict() for e in chaos.fired()]
        + [r.name for r in server.routes]
        + [r.describe() for r in server.routes]
        + [str(unmatched.value)]
    )
    assert "signature=***" in seen and chaos.fired()
    assert not any(p in seen for p in PLANTED)


def test_a_redacted_recording_loads_without_a_warning(tmp_path: Path) -> None:
    path = write_cassette(
        tmp_path / "clean.yaml",
        [
            interaction(
                "GET",
                f"{BINANCE}/api/v3/account?signature=REDACTED&apiKey=%2A%2A%2A",
                request_headers={"X-MBX-APIKEY": ["***"], "Authorization": ["<TOKEN>"]},
                request_body={"password": "FILTERED"},
            )
        ],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MockServer.from_cassette(path)


def test_errors_about_a_recording_never_show_its_secrets(tmp_path: Path) -> None:
    key, sig, _ = PLANTED
    path = write_cassette(
        tmp_path / "bad.yaml",
        [
            interaction("GET", f"ftp://{BINANCE[8:]}/x?signature={sig}"),
            interaction("GET", f"{BINANCE}/x", request_headers={"X-MBX-APIKEY": [{"k": key}]}),
        ],
    )
    with pytest.raises(RecordingError) as caught:
        MockServer.from_cassette(path)
    assert len(caught.value.problems) == 2
    assert not any(p in str(caught.value) for p in PLANTED)


# -- bad files -------------------------------------------------------------------------------------

GOOD = interaction("GET", "https://api.exchange.test/ok")
BAD_CASES = [
    # (file name, content, index, field, words in the message)
    ("notyaml.yaml", "interactions: [\n  - {request: ", None, "", "not valid YAML"),
    ("notjson.json", "{nope", None, "", "not valid JSON"),
    ("empty.yaml", "", None, "", "expected a mapping"),
    ("list.yaml", "- request: {}\n", None, "", "before 1.0"),
    ("scalar.yaml", "just text\n", None, "", "got str"),
    (
        "version.yaml",
        yaml.safe_dump({"interactions": [], "version": 2}),
        None,
        "version",
        "unknown version 2",
    ),
    ("nointeractions.yaml", "version: 1\n", None, "", "missing 'interactions'"),
    ("notalist.yaml", "interactions: {}\nversion: 1\n", None, "interactions", "expected a list"),
    (
        "noresponse.yaml",
        yaml.safe_dump({"interactions": [GOOD, {"request": GOOD["request"]}], "version": 1}),
        1,
        "interactions[1]",
        "missing 'response'",
    ),
    (
        "nomethod.yaml",
        yaml.safe_dump({"interactions": [{**GOOD, "request": {"uri": "https://a.test/"}}]}),
        0,
        "interactions[0].request",
        "missing 'method'",
    ),
    (
        "status.yaml",
        yaml.safe_dump(
            {"interactions": [GOOD, interaction("GET", "https://a.test/", status="abc")]}  # type: ignore[arg-type]
        ),
        1,
        "interactions[1].response.status.code",
        "'abc' is not an HTTP status",
    ),
    (
        "status999.yaml",
        yaml.safe_dump({"interactions": [interaction("GET", "https://a.test/", status=999)]}),
        0,
        "interactions[0].response.status.code",
        "999",
    ),
    (
        "uri.yaml",
        yaml.safe_dump({"interactions": [interaction("GET", "/relative")]}),
        0,
        "interactions[0].request.uri",
        "absolute",
    ),
    ("nolog.har", "{}", None, "", "missing 'log'"),
    ("noentries.har", json.dumps({"log": {"version": "1.2"}}), None, "log", "missing 'entries'"),
    (
        "harversion.har",
        json.dumps({"log": {"version": "3", "entries": []}}),
        None,
        "log.version",
        "unknown version",
    ),
]


def bad_base64_har() -> str:
    sample = har_sample()
    sample["log"]["entries"][4]["response"]["content"]["text"] = "not base64!"
    return json.dumps(sample)


def control_character_header_har() -> str:
    """A header value with \x01: aiohttp's server refuses it (not only CR, LF and NUL)."""
    sample = har_sample()
    sample["log"]["entries"][2]["response"]["headers"] = [{"name": "X-A", "value": "a\x01b"}]
    return json.dumps(sample)


def bad_encoding_har() -> str:
    sample = har_sample()
    sample["log"]["entries"][4]["response"]["content"]["encoding"] = "rot13"
    return json.dumps(sample)


BAD_CASES += [
    ("base64.har", bad_base64_har(), 4, "log.entries[4].response.content.text", "not valid base64"),
    ("encoding.har", bad_encoding_har(), 4, "log.entries[4].response.content.encoding", "rot13"),
    (
        "control.har",
        control_character_header_har(),
        2,
        "log.entries[2].response.headers[0].value",
        "a header value",
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "index", "field", "words"), BAD_CASES, ids=[c[0] for c in BAD_CASES]
)
def test_a_malformed_file_gives_one_clear_error_and_loads_nothing(
    tmp_path: Path, name: str, content: str, index: int | None, field: str, words: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    server = MockServer("https://api.exchange.test")
    own = server.get("/own")
    with pytest.raises(RecordingError) as caught:
        load_recording(server, path)
    error = caught.value
    assert isinstance(error, ValueError)
    assert (error.file, error.index, error.field) == (str(path), index, field)
    assert words in str(error) and str(path) in str(error)
    assert server.routes == [own] and server.aliases == []


def test_unreadable_files_and_paths_outside_the_base_path(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot read"):
        MockServer.from_cassette(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"interactions: ['\xff']\n")
    with pytest.raises(RecordingError, match="UTF-8"):
        MockServer.from_cassette(latin)

    path = write_cassette(
        tmp_path / "base.yaml",
        [
            interaction("GET", "https://api.exchange.test/api/ok"),
            interaction("GET", "https://other.test/elsewhere"),
        ],
    )
    server = MockServer("https://api.exchange.test/api")
    with pytest.raises(RecordingError) as caught:
        server.load_cassette(path)
    assert caught.value.field == "interactions[1].request.uri"
    assert "outside the server's base path /api" in str(caught.value)
    assert server.routes == [] and server.aliases == []


# -- the loader, whatever it is given ---------------------------------------------------------------

_text = st.text(max_size=12)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 700), _text, st.binary(max_size=8))
_junk = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=8,
)


_valid_uri = st.sampled_from(
    [
        "https://api.exchange.test/x?a=1",
        "https://api.exchange.test/x?b=2&a=1",
        "http://h.test:81/p",
        "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&signature=s3cr3t",
    ]
)
_valid_headers = st.dictionaries(
    st.sampled_from(["X-A", "Content-Type", "Content-Encoding", "X-MBX-APIKEY", "Set-Cookie"]),
    st.lists(
        st.one_of(st.text("abc/*; =", max_size=8), st.sampled_from(["gzip", "***"])), max_size=2
    ),
    max_size=3,
)
_valid_body = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.dictionaries(st.sampled_from(["a", "signature", "apiKey"]), _scalar, max_size=3),
)
_valid_interaction = st.fixed_dictionaries(
    {
        "request": st.fixed_dictionaries(
            {
                "method": st.sampled_from(["GET", "POST", "delete"]),
                "uri": _valid_uri,
                "body": _valid_body,
                "headers": _valid_headers,
            }
        ),
        "response": st.fixed_dictionaries(
            {
                "status": st.fixed_dictionaries(
                    {"code": st.integers(100, 599), "message": st.text("OK ", max_size=6)}
                ),
                "headers": _valid_headers,
                "body": st.fixed_dictionaries(
                    {"string": _valid_body.filter(lambda b: not isinstance(b, dict))}
                ),
            }
        ),
    }
)


def _places(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) inside a document, to break one of them."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found.extend(_places(item))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            found.extend(_places(item))
    return found


@st.composite
def _cassettes(draw: st.DrawFn) -> Any:
    """A valid cassette, or one with one place replaced by anything or removed."""
    document = {"interactions": draw(st.lists(_valid_interaction, max_size=4)), "version": 1}
    if draw(st.booleans()):
        container, key = draw(st.sampled_from(_places(document)))
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(_junk)
    return document


_cassette = st.one_of(_cassettes(), _junk)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_cassette, as_json=st.booleans(), raw=st.one_of(st.none(), st.text(max_size=40)))
def test_the_loader_builds_routes_or_raises_only_recording_error(
    tmp_path_factory: pytest.TempPathFactory, document: Any, as_json: bool, raw: str | None
) -> None:
    folder = tmp_path_factory.mktemp("prop", numbered=True)
    if raw is not None:
        path = folder / ("raw.json" if as_json else "raw.yaml")
        path.write_text(raw)
    elif as_json:
        try:
            text = json.dumps(document)
        except (TypeError, ValueError):
            return  # bytes: a JSON cassette cannot hold them
        path = folder / "doc.json"
        path.write_text(text)
    else:
        path = folder / "doc.yaml"
        path.write_text(yaml.safe_dump(document))
    server = MockServer("https://api.exchange.test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HarnessWarning)
        try:
            routes = load_recording(server, path)
        except RecordingError as exc:
            error: RecordingError | None = exc
        else:
            error = None
    if error is not None:
        assert error.problems and str(path) in str(error)
        assert server.routes == [] and server.aliases == []
        return
    assert server.routes == routes
    for route in routes:
        route.describe()


@st.composite
def _hars(draw: st.DrawFn) -> Any:
    """The HAR sample, or the sample with one place replaced by anything or removed."""
    document = har_sample()
    for _ in range(draw(st.integers(0, 2))):
        places = _places(document)
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(_junk)
    return document


@settings(max_examples=200, deadline=None)
@given(document=st.one_of(_hars(), _junk))
def test_the_har_loader_builds_routes_or_raises_only_recording_error(
    tmp_path_factory: pytest.TempPathFactory, document: Any
) -> None:
    try:
        text = json.dumps(document)
    except (TypeError, ValueError):
        return
    path = tmp_path_factory.mktemp("har", numbered=True) / "doc.har"
    path.write_text(text)
    server = MockServer("https://api.exchange.test")
    try:
        routes = load_recording(server, path)
    except RecordingError as exc:
        error: RecordingError | None = exc
    else:
        error = None
        assert server.routes == routes
    if error is not None:
        assert error.problems and server.routes == [] and server.aliases == []
