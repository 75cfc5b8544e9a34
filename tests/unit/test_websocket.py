"""WebSocket feeds over the socket backend, and each message fault."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
import pytest

from harness import MockServer, faults
from harness.chaos import Chaos
from harness.chaos.faults import Fault
from harness.errors import MockConfigError
from harness.exchange import FakeExchange, GenericFeed, MockExchange

SUB = {"op": "subscribe", "channels": ["book:BTCUSDT"]}


async def collect(
    url: str, n: int, subscribe: Any = SUB, wait_s: float = 5.0
) -> tuple[list[Any], int | None]:
    """Up to n data messages (parsed where they parse), and the close code if it closed."""
    out: list[Any] = []
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
        if subscribe is not None:
            await ws.send_json(subscribe)
        try:
            async with asyncio.timeout(wait_s):
                while len(out) < n:
                    msg = await ws.receive()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    try:
                        data = json.loads(msg.data)
                    except ValueError:
                        out.append(msg.data)
                        continue
                    if isinstance(data, dict) and data.get("op") in ("subscribed", "heartbeat"):
                        continue
                    out.append(data)
        except TimeoutError:
            pass
        return out, ws.close_code


async def feed(fault: Fault | None = None, **schedule: Any) -> tuple[list[Any], int | None, Chaos]:
    me = MockExchange.create("generic", seed=3)
    chaos = Chaos(me.server, seed=3)
    if fault is not None:
        chaos.inject(fault, match={"path": "/v1/stream"}, schedule=schedule)
    async with me.server.serve() as url:
        messages, code = await collect(url.replace("http", "ws") + "/v1/stream", 12)
    return messages, code, chaos


def seqs(messages: list[Any]) -> list[int]:
    return [m["seq"] for m in messages if isinstance(m, dict) and "seq" in m]


async def test_generic_feed_subscribe_and_sequence_numbers() -> None:
    messages, _, _ = await feed()
    assert len(messages) == 12 and messages[0]["channel"] == "book:BTCUSDT"
    assert seqs(messages) == list(range(seqs(messages)[0], seqs(messages)[0] + 12))
    assert set(messages[0]["data"]) == {"bids", "asks", "ts"}


async def test_other_channels_and_unknown_ops() -> None:
    me = MockExchange.create("generic", seed=3)
    async with (
        me.server.serve() as url,
        aiohttp.ClientSession() as s,
        s.ws_connect(url.replace("http", "ws") + "/v1/stream") as ws,
    ):
        await ws.send_json({"op": "hello"})
        assert (await ws.receive_json())["op"] == "error"
        await ws.send_json(
            {"op": "subscribe", "channels": ["trades:BTCUSDT", "ticker:BTCUSDT", "nope:X"]}
        )
        ack = await ws.receive_json()
        assert ack == {"op": "subscribed", "channels": ["trades:BTCUSDT", "ticker:BTCUSDT"]}
        seen = {(await ws.receive_json())["channel"] for _ in range(4)}
        assert seen == {"trades:BTCUSDT", "ticker:BTCUSDT"}


async def test_binance_streams_by_path_and_by_subscribe() -> None:
    me = MockExchange.create("binance-spot", seed=3)
    async with me.server.serve() as url:
        ws_url = url.replace("http", "ws")
        depth, _ = await collect(ws_url + "/ws/btcusdt@depth", 3, subscribe=None)
        assert all(m["e"] == "depthUpdate" for m in depth)
        assert [m["U"] for m in depth[1:]] == [m["u"] + 1 for m in depth[:-1]]  # contiguous ids
        mixed, _ = await collect(
            ws_url + "/ws",
            4,
            subscribe={
                "method": "SUBSCRIBE",
                "params": ["btcusdt@trade", "btcusdt@kline_1m"],
                "id": 7,
            },
        )
        assert mixed[0] == {"result": None, "id": 7}
        assert {m["e"] for m in mixed[1:]} == {"trade", "kline"}


async def test_scripted_feed() -> None:
    server = MockServer()
    server.websocket("/feed", script=[{"n": 1}, {"n": 2}, "not json"], heartbeat_s=None)
    async with server.serve() as url:
        messages, _ = await collect(
            url.replace("http", "ws") + "/feed", 3, subscribe=None, wait_s=1
        )
    assert messages == [{"n": 1}, {"n": 2}, "not json"]


async def test_ws_drop_leaves_a_hole() -> None:
    messages, _, chaos = await feed(faults.WsDrop(), every=4)
    numbers = seqs(messages)
    assert any(b - a == 2 for a, b in itertools.pairwise(numbers))
    assert chaos.fired("ws_drop") and chaos.fired("ws_drop")[0].method == "WS"


async def test_ws_gap_skips_sequence_numbers() -> None:
    messages, _, chaos = await feed(faults.WsGap(skip=5), first=1, after=3)
    numbers = seqs(messages)
    assert numbers[3] - numbers[2] == 6  # the 4th message jumps
    assert chaos.fired("ws_gap")[0].params == {"skip": 5, "message": 4}


async def test_ws_duplicate_and_reorder() -> None:
    messages, _, _ = await feed(faults.WsDuplicate(), first=1, after=1)
    numbers = seqs(messages)
    assert numbers[1] == numbers[2]
    messages, _, _ = await feed(faults.WsReorder(window=2), first=1, after=1)
    numbers = seqs(messages)
    assert numbers[1] > numbers[2] or numbers != sorted(numbers)


async def test_ws_corrupt_and_delay() -> None:
    messages, _, chaos = await feed(faults.WsCorrupt(corruption="invalid_json"), first=1)
    assert isinstance(messages[0], str)
    loop = asyncio.get_running_loop()
    start = loop.time()
    messages, _, chaos = await feed(faults.WsDelay(delay_ms=300), first=1)
    assert loop.time() - start >= 0.3 and chaos.fired("ws_delay")


async def test_ws_disconnect_with_a_code() -> None:
    messages, code, _ = await feed(faults.WsDisconnect(code=4001), first=1, after=2)
    assert len(messages) == 2 and code == 4001


async def test_ws_abrupt_disconnect_is_a_reset() -> None:
    messages, code, _ = await feed(faults.WsDisconnect(abrupt=True), first=1, after=2)
    assert len(messages) == 2 and code != 1000


async def test_ws_silence_keeps_the_socket_open_and_answers_pings() -> None:
    me = MockExchange.create("generic", seed=3)
    Chaos(me.server, seed=3).inject(
        faults.WsSilence(seconds=1.0),
        match={"path": "/v1/stream"},
        schedule={"after": 1, "first": 1},
    )
    loop = asyncio.get_running_loop()
    async with (
        me.server.serve() as url,
        aiohttp.ClientSession() as s,
        s.ws_connect(url.replace("http", "ws") + "/v1/stream", autoping=False) as ws,
    ):
        await ws.send_json(SUB)
        await ws.receive_json()  # ack
        await ws.receive_json()  # first update
        start = loop.time()
        await ws.ping(b"still there?")
        pong = await ws.receive(timeout=5)  # the next frame is the pong, not data: still silent
        assert pong.type == aiohttp.WSMsgType.PONG
        while "seq" not in (data := json.loads((await ws.receive(timeout=5)).data)):
            pass  # heartbeats carry no data
        assert data["seq"] and loop.time() - start >= 0.9


def test_bad_feed_configurations() -> None:
    with pytest.raises(MockConfigError, match="exactly one message source"):
        MockServer().websocket("/x")
    with pytest.raises(MockConfigError, match="exactly one message source"):
        MockServer().websocket("/x", feed=GenericFeed(FakeExchange()), script=[])
    with pytest.raises(MockConfigError, match="interval_s=0 must be > 0"):
        MockServer().websocket("/x", script=[], interval_s=0)
