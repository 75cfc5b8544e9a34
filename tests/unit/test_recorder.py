"""The recording proxy: the fake exchange (over a loopback socket, never a real host)
recorded through it, replayed by the harness and by VCR.py; secrets; the file it writes."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import signal
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import vcr  # imported at collection, before any test intercepts aiohttp
import yaml
from vcr.serializers import jsonserializer, yamlserializer

from harness import MockServer, Request, Response
from harness.errors import HarnessWarning, MockConfigError
from harness.exchange import MockExchange
from harness.recorder import RecordingProxy, record

CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/bars?symbol=BTCUSDT&interval=1m&limit=3", {}),
    ("GET", "/v1/ticker?symbol=BTCUSDT", {}),
    ("GET", "/v1/ticker?symbol=BTCUSDT", {}),  # a new price: replayed in order
    ("GET", "/v1/book?symbol=BTCUSDT&depth=2", {}),
    (
        "POST",
        "/v1/orders",
        {"json": {"symbol": "BTCUSDT", "side": "buy", "type": "market", "qty": 0.01}},
    ),
    ("GET", "/v1/orders?status=open", {}),
    ("GET", "/v1/ticker?symbol=NOPE", {}),  # an error answer is recorded as it is
]


async def play(session: aiohttp.ClientSession, base: str) -> list[tuple[int, Any, str]]:
    answers = []
    for method, path, kw in CALLS:
        async with session.request(method, base + path, **kw) as resp:
            answers.append((resp.status, await resp.json(), resp.headers["Content-Type"]))
    return answers


class Proxy:
    """``record()`` running as a task, until the test stops it."""

    def __init__(self, upstream: str, out: Path) -> None:
        self.stop = asyncio.Event()
        self.urls: list[str] = []
        self.task = asyncio.create_task(
            record(upstream, out, ready=self.urls.append, stop=self.stop)
        )

    async def url(self) -> str:
        while not self.urls:
            assert not self.task.done(), self.task.exception()
            await asyncio.sleep(0.005)
        return self.urls[0]

    async def close(self) -> int:
        self.stop.set()
        return await self.task


async def record_fake_exchange(out: Path) -> tuple[str, list[tuple[int, Any, str]]]:
    """Record the generic fake exchange through the proxy; its URL and what the client got."""
    me = MockExchange.create("generic", seed=1)
    async with me.server.serve() as upstream:
        proxy = Proxy(upstream, out)
        async with aiohttp.ClientSession() as session:
            answers = await play(session, await proxy.url())
        assert await proxy.close() == len(CALLS)
    return upstream, answers


async def test_round_trip_the_harness_replays_what_the_proxy_recorded(tmp_path: Path) -> None:
    out = tmp_path / "exchange.yaml"
    upstream, recorded = await record_fake_exchange(out)
    assert recorded[1][1]["price"] != recorded[2][1]["price"]
    assert recorded[-1][0] == 400

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a recorded cassette holds no secret
        server = MockServer.from_cassette(out)
    assert server.url == upstream
    async with server.intercept(), aiohttp.ClientSession() as session:
        assert await play(session, upstream) == recorded
    # the generic profile's host is not the loopback one: roles come from a role map
    assert all(route.role is None for route in server.routes)
    mapped = MockServer.from_cassette(out, roles={"GET /v1/ticker": "ticker"})
    assert [r.role for r in mapped.routes].count("ticker") == 2  # two symbols


async def test_vcrpy_replays_the_cassette_with_aiohttp(tmp_path: Path) -> None:
    out = tmp_path / "exchange.yaml"
    upstream, recorded = await record_fake_exchange(out)  # the upstream is gone now
    with vcr.use_cassette(str(out), record_mode="none") as cassette:
        async with aiohttp.ClientSession() as session:
            assert await play(session, upstream) == recorded
        assert cassette.all_played


def test_vcrpy_replays_the_cassette_with_requests(tmp_path: Path) -> None:
    out = tmp_path / "exchange.yaml"
    upstream, recorded = asyncio.run(record_fake_exchange(out))
    with vcr.use_cassette(str(out), record_mode="none"), requests.Session() as session:
        for (method, path, kw), (status, body, ctype) in zip(CALLS, recorded, strict=True):
            resp = session.request(method, upstream + path, **kw)
            assert (resp.status_code, resp.json(), resp.headers["Content-Type"]) == (
                status,
                body,
                ctype,
            )


def echo(request: Request) -> Response:
    return Response(
        json={
            "query": dict(request.query),
            "headers": {k: v for k, v in request.headers.items() if k.startswith("X-")},
            "body": request.text,
        }
    )


PLANTED = ("PLANTED-KEY-1", "PLANTED-SIG-2", "PLANTED-SECRET-3", "PLANTED-PASS-4", "PLANTED-TOK-5")


async def test_secrets_never_reach_the_cassette(tmp_path: Path) -> None:
    key, sig, secret, password, token = PLANTED
    upstream_server = MockServer("http://127.0.0.1")
    upstream_server.route("*", "/echo").respond(echo)
    out = tmp_path / "secrets.yaml"
    async with upstream_server.serve() as upstream:
        proxy = Proxy(upstream, out)
        base = await proxy.url()
        headers = {"X-MBX-APIKEY": key, "Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(f"{base}/echo?symbol=BTC&signature={sig}") as resp:
                seen = await resp.text()
            async with session.post(f"{base}/echo", json={"apiSecret": secret, "n": 1}) as resp:
                seen += await resp.text()
            async with session.post(f"{base}/echo", data={"password": password}) as resp:
                seen += await resp.text()
        assert await proxy.close() == 3
    assert all(p in seen for p in (key, sig, secret, password))  # the client got the truth
    text = out.read_text()
    assert not any(p in text for p in PLANTED)
    assert "signature=***" in text and "'***'" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MockServer.from_cassette(out)  # nothing left to warn about


async def test_the_file_is_vcrpys_format_and_always_complete(tmp_path: Path) -> None:
    upstream_server = MockServer("http://127.0.0.1")
    upstream_server.get("/gzip").respond(
        body=gzip.compress(b'{"compressed": true}'),
        headers={"Content-Encoding": "gzip"},
        content_type="application/json",
    )
    upstream_server.get("/binary").respond(body=b"\x89PNG\x00\xff", content_type="image/png")
    upstream_server.get("/text").respond(text="café ✓")
    out = tmp_path / "format.yaml"
    async with upstream_server.serve() as upstream:
        proxy = Proxy(upstream, out)
        base = await proxy.url()
        assert yaml.safe_load(out.read_text()) == {"interactions": [], "version": 1}
        async with aiohttp.ClientSession() as session:
            for n, path in enumerate(["/gzip", "/binary", "/text"], start=1):
                async with session.get(base + path) as resp:
                    await resp.read()
                # written after every interaction, whole
                assert len(yaml.safe_load(out.read_text())["interactions"]) == n
        await proxy.close()
    text = out.read_text()
    # what VCR.py's own YAML serializer writes for the same data, byte for byte
    assert yamlserializer.serialize(yamlserializer.deserialize(text)) == text
    gz, binary, plain = yaml.safe_load(text)["interactions"]
    assert gz["response"]["body"]["string"] == '{"compressed": true}'
    assert "Content-Encoding" not in gz["response"]["headers"]
    assert gz["response"]["headers"]["Content-Length"] == ["20"]
    assert binary["response"]["body"]["string"] == b"\x89PNG\x00\xff"  # !!binary
    assert "!!binary" in text
    assert plain["response"]["body"]["string"] == "café ✓"
    assert [p.name for p in await asyncio.to_thread(lambda: list(tmp_path.iterdir()))] == [
        "format.yaml"
    ]


async def test_a_json_cassette_and_its_limits(tmp_path: Path) -> None:
    upstream_server = MockServer("http://127.0.0.1")
    upstream_server.get("/ok").respond(json={"ok": True})
    upstream_server.get("/binary").respond(body=b"\xff\xfe")
    out = tmp_path / "c.json"
    async with upstream_server.serve() as upstream:
        proxy = Proxy(upstream, out)
        base = await proxy.url()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/ok") as resp:
                assert await resp.json() == {"ok": True}
            with pytest.warns(HarnessWarning, match="JSON cassette cannot hold bytes"):
                async with session.get(f"{base}/binary") as resp:
                    assert await resp.read() == b"\xff\xfe"  # answered, not recorded
        assert await proxy.close() == 1
    text = out.read_text()
    assert jsonserializer.serialize(json.loads(text)) == text
    assert MockServer.from_cassette(out).routes[0].name == "GET /ok"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_upstream_is_a_502_and_is_not_recorded(tmp_path: Path) -> None:
    out = tmp_path / "down.yaml"
    upstream = f"http://127.0.0.1:{free_port()}"
    proxy = Proxy(upstream, out)
    async with aiohttp.ClientSession() as session, session.get(await proxy.url() + "/x") as resp:
        assert resp.status == 502
        body = await resp.json()
    assert body["error"]["code"] == "upstream_unreachable"
    assert upstream in body["error"]["message"]
    assert await proxy.close() == 0
    assert yaml.safe_load(out.read_text())["interactions"] == []


def test_a_bad_upstream_is_refused() -> None:
    with pytest.raises(MockConfigError, match=r"upstream='api\.binance\.com'"):
        RecordingProxy("api.binance.com", "out.yaml")


def test_run_recorder_serves_until_interrupted(tmp_path: Path) -> None:
    upstream_server = MockServer("http://127.0.0.1")
    upstream_server.get("/v1/time").respond(json={"time": 1})
    out = tmp_path / "cli.yaml"
    with upstream_server.serve_in_thread() as upstream:
        code = (
            f"from harness.recorder import run_recorder; run_recorder({upstream!r}, {str(out)!r})"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout is not None
            banner = child.stdout.readline()
            match = re.search(r"recording proxy on (http://\S+) -> " + re.escape(upstream), banner)
            assert match, banner + (child.stderr.read() if child.stderr else "")
            assert requests.get(match.group(1) + "/v1/time", timeout=10).json() == {"time": 1}
            child.send_signal(signal.SIGINT)
            rest, errors = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode == 0, errors
    assert f"1 interaction recorded in {out}" in rest
    assert len(yaml.safe_load(out.read_text())["interactions"]) == 1
