"""Each fault's effect on a real aiohttp client, in-process."""

from __future__ import annotations

import asyncio
import errno
import json
from typing import Any, Literal

import aiohttp
import pytest

from harness import MockServer, faults
from harness.chaos import Chaos
from harness.clock import virtual_time
from harness.errors import FaultConfigError

BARS = [
    [
        1700000000000 + i * 60_000,
        "100.0",
        "101.0",
        "99.0",
        "100.5",
        "3.0",
        1700000059999 + i * 60_000,
    ]
    for i in range(5)
]


@pytest.fixture
def server() -> MockServer:
    s = MockServer()
    s.get("/v1/bars").respond(json=BARS)
    s.get("/v1/ticker").respond(json={"symbol": "BTCUSDT", "price": "100.5", "time": 1700000000000})
    return s


@pytest.fixture
def chaos(server: MockServer) -> Chaos:
    return Chaos(server, seed=11, run_seed=5, test="t::x")


async def get(server: MockServer, path: str = "/v1/bars", **kw: Any) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as s:
        resp = await s.get(server.url + path, **kw)
        await resp.read()
        return resp


class TestLatency:
    async def test_fixed_latency_delays_at_least_its_amount(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Latency(fixed_ms=80))
        loop = asyncio.get_running_loop()
        async with server.intercept():
            start = loop.time()
            resp = await get(server)
            elapsed = loop.time() - start
        assert resp.status == 200
        assert elapsed >= 0.079  # a lower bound only: never assert an upper wall-clock bound
        line = chaos.fired("latency")[0]
        assert line.params["delay_ms"] == 80 and line.params["fixed_ms"] == 80

    async def test_latency_past_the_client_timeout_times_out(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Latency(fixed_ms=5000))
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(asyncio.TimeoutError):
                await s.get(server.url + "/v1/bars", timeout=aiohttp.ClientTimeout(total=0.05))

    @pytest.mark.parametrize(
        ("kwargs", "distribution"),
        [
            ({"fixed_ms": 1}, "fixed"),
            ({"min_ms": 1, "max_ms": 2}, "uniform"),
            ({"mean_ms": 1, "std_ms": 1}, "normal"),
            ({"p50_ms": 1, "p99_ms": 2}, "lognormal"),
            ({"base_ms": 1, "spike_ms": 9, "spike_probability": 0.5}, "spike"),
        ],
    )
    def test_distribution_follows_the_arguments(
        self, kwargs: dict[str, float], distribution: str
    ) -> None:
        assert faults.Latency(**kwargs).distribution == distribution

    @pytest.mark.parametrize(
        ("kwargs", "argument", "fragment"),
        [
            ({"p50_ms": 80, "p99_ms": 50}, "p99_ms", "must be >= p50_ms=80"),
            ({"min_ms": 10, "max_ms": 5}, "max_ms", "must be >= min_ms=10"),
            ({"fixed_ms": -1}, "fixed_ms", "greater than or equal to 0"),
            (
                {"spike_probability": 2, "base_ms": 1, "spike_ms": 2},
                "spike_probability",
                "less than",
            ),
            ({"p50": 3}, "p50", "did you mean 'p50_ms'"),
        ],
    )
    def test_bad_arguments_are_named(
        self, kwargs: dict[str, float], argument: str, fragment: str
    ) -> None:
        with pytest.raises(FaultConfigError) as info:
            faults.Latency(**kwargs)
        assert info.value.kind == "latency" and info.value.argument == argument
        assert fragment in str(info.value)

    def test_mixed_or_missing_distributions_are_refused(self) -> None:
        with pytest.raises(FaultConfigError, match="exactly one distribution"):
            faults.Latency(fixed_ms=1, p50_ms=2, p99_ms=3)
        with pytest.raises(FaultConfigError, match="exactly one distribution"):
            faults.Latency()
        with pytest.raises(FaultConfigError, match="lognormal latency needs p99_ms"):
            faults.Latency(p50_ms=3)
        with pytest.raises(FaultConfigError, match="takes fixed_ms"):
            faults.Latency(distribution="fixed", p50_ms=1, p99_ms=2)


async def test_hang_leaves_the_client_to_its_timeout(server: MockServer, chaos: Chaos) -> None:
    chaos.inject(faults.Hang(), match={"path": "/v1/ticker"})
    async with server.intercept(), aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.SocketTimeoutError):
            await s.get(server.url + "/v1/ticker", timeout=aiohttp.ClientTimeout(sock_read=0.05))
        assert (await s.get(server.url + "/v1/bars")).status == 200  # other routes unaffected
    assert len(chaos.fired("hang")) == 1


class TestError:
    @pytest.mark.parametrize(
        ("preset", "status"),
        [
            ("rate_limited", 429),
            ("banned", 418),
            ("internal", 500),
            ("bad_gateway", 502),
            ("maintenance", 503),
            ("gateway_timeout", 504),
        ],
    )
    async def test_presets(
        self, server: MockServer, chaos: Chaos, preset: str, status: int
    ) -> None:
        chaos.inject(faults.Error(preset=preset))
        async with server.intercept():
            resp = await get(server)
        assert resp.status == status
        assert (await resp.json())["error"]["code"] == status
        if preset == "rate_limited":
            assert resp.headers["Retry-After"] == "1"

    async def test_any_status_body_and_headers(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(
            faults.Error(
                status=400,
                body={"code": -1021, "msg": "Timestamp outside"},
                headers={"X-Reason": "skew"},
            )
        )
        async with server.intercept():
            resp = await get(server)
        assert resp.status == 400 and resp.headers["X-Reason"] == "skew"
        assert await resp.json() == {"code": -1021, "msg": "Timestamp outside"}

    async def test_the_responder_does_not_run(self, server: MockServer, chaos: Chaos) -> None:
        placed = server.post("/v1/orders").respond(json={"id": 1})
        chaos.inject(faults.Error(status=503), match={"method": "POST"})
        async with server.intercept(), aiohttp.ClientSession() as s:
            assert (await s.post(server.url + "/v1/orders")).status == 503
        assert placed.call_count == 1 and placed.calls.last.response is not None
        assert placed.calls.last.response.status == 503

    def test_needs_status_or_preset(self) -> None:
        with pytest.raises(FaultConfigError, match="status"):
            faults.Error()
        with pytest.raises(FaultConfigError) as info:
            faults.Error(status=200)
        assert info.value.argument == "status"


class TestRateLimit:
    async def test_429_with_retry_after_then_refill(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(faults.RateLimit(capacity=3, refill_per_s=20))
        async with server.intercept(), aiohttp.ClientSession() as s:
            statuses = [(await s.get(server.url + "/v1/bars")).status for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            resp = await s.get(server.url + "/v1/bars")
            assert resp.status == 429 and float(resp.headers["Retry-After"]) > 0
            await asyncio.sleep(0.2)  # honour Retry-After: 4 tokens refill in 0.2 s at 20/s
            assert (await s.get(server.url + "/v1/bars")).status == 200

    @pytest.mark.parametrize("pause_s", [0.0, 0.013, 0.031])
    async def test_retry_after_is_drawn_from_the_fault_not_measured(
        self, server: MockServer, chaos: Chaos, pause_s: float
    ) -> None:
        """However much the bucket refilled before the request, the logged Retry-After (and
        the header) is the time to refill its weight: the fault log is the same on any
        machine, and a client that honours it gets through."""
        chaos.inject(faults.RateLimit(capacity=2, refill_per_s=10, weights={"/v1/bars": 2}))
        async with virtual_time(), server.intercept(), aiohttp.ClientSession() as s:
            assert (await s.get(server.url + "/v1/ticker")).status == 200
            await asyncio.sleep(pause_s)  # the bucket refilled 0, 0.13 or 0.31 of a token
            told = await s.get(server.url + "/v1/bars")
            assert told.status == 429 and told.headers["Retry-After"] == "0.2"
            await asyncio.sleep(0.2)
            assert (await s.get(server.url + "/v1/bars")).status == 200
        (line,) = chaos.fired("rate_limit")
        assert line.params["retry_after_s"] == 0.2

    async def test_waits_and_bans_stay_within_their_limits(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        """A bucket that hardly refills says MAX_WAIT_S, not 10^15 s (or inf: an
        OverflowError in the client); the 500th ban of a growing series is MAX_BAN_S."""
        from harness.chaos.faults.base import MAX_BAN_S, MAX_WAIT_S

        armed = chaos.inject(
            faults.RateLimit(
                capacity=1, refill_per_s=1e-300, ban_after=1, ban_s=1e6, ban_factor=1000
            )
        )
        async with server.intercept(), aiohttp.ClientSession() as s:
            assert (await s.get(server.url + "/v1/ticker")).status == 200
            told = await s.get(server.url + "/v1/ticker")
            assert told.status == 429 and told.headers["Retry-After"] == f"{MAX_WAIT_S:.0f}"
            armed.state["bans"] = 500
            banned = await s.get(server.url + "/v1/ticker")
            assert banned.status == 418
        assert chaos.fired("rate_limit")[-1].params["banned_for_s"] == MAX_BAN_S

    async def test_shared_by_routes_with_weights(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(faults.RateLimit(capacity=4, refill_per_s=0.001, weights={"/v1/bars": 3}))
        async with server.intercept(), aiohttp.ClientSession() as s:
            assert (await s.get(server.url + "/v1/bars")).status == 200  # 3 of 4
            assert (await s.get(server.url + "/v1/ticker")).status == 200  # 1 of 4
            assert (await s.get(server.url + "/v1/ticker")).status == 429  # shared bucket

    async def test_violations_escalate_to_a_ban(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(
            faults.RateLimit(
                capacity=1, refill_per_s=0.001, retry_after_s=30, ban_after=2, ban_s=60
            )
        )
        async with server.intercept(), aiohttp.ClientSession() as s:
            statuses = [(await s.get(server.url + "/v1/ticker")).status for _ in range(6)]
        # 1 allowed, told to wait, 1st violation (429), 2nd violation -> banned (418) ...
        assert statuses == [200, 429, 429, 418, 418, 418]
        assert [line.params["status"] for line in chaos.fired("rate_limit")] == [
            429,
            429,
            418,
            418,
            418,
        ]

    def test_bad_weights(self) -> None:
        with pytest.raises(FaultConfigError, match="weight for '/v1/bars' must be a finite"):
            faults.RateLimit(capacity=1, refill_per_s=1, weights={"/v1/bars": 0})
        with pytest.raises(FaultConfigError, match=r"unknown role 'barz' .did you mean 'bars'"):
            faults.RateLimit(capacity=1, refill_per_s=1, weights={"barz": 2})

    def test_weights_by_role_or_path(self) -> None:
        limit = faults.RateLimit(capacity=1, refill_per_s=1, weights={"bars": 2, "/v1/x*": 3})
        assert limit.weight_of("/api/candles", "bars") == 2
        assert limit.weight_of("/v1/xyz", None) == 3
        assert limit.weight_of("/v1/ticker", "ticker") == 1
        with pytest.raises(FaultConfigError) as info:
            faults.RateLimit(capacity=0, refill_per_s=1)
        assert info.value.argument == "capacity"


class TestConnectionDrops:
    async def test_disconnect_on_post(self, server: MockServer, chaos: Chaos) -> None:
        orders = server.post("/v1/orders").respond(json={})
        chaos.inject(faults.Disconnect())
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await s.post(server.url + "/v1/orders", json={})
        assert orders.call_count == 1 and orders.calls.last.response is None

    async def test_reset_on_post_is_econnreset(self, server: MockServer, chaos: Chaos) -> None:
        server.post("/v1/orders").respond(json={})
        chaos.inject(faults.Reset())
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ClientOSError) as info:
                await s.post(server.url + "/v1/orders", json={})
        assert info.value.errno == errno.ECONNRESET

    async def test_one_shot_drop_on_get_is_retried_by_aiohttp(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Reset(), schedule={"first": 1})
        async with server.intercept():
            resp = await get(server)
        assert resp.status == 200
        assert [(e.attempt, e.status) for e in server.journal] == [(1, None), (2, 200)]
        assert len(chaos.fired("reset")) == 1

    async def test_two_drops_in_a_row_surface_on_get(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Disconnect(), schedule={"first": 2})
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await s.get(server.url + "/v1/bars")
            assert (await s.get(server.url + "/v1/bars")).status == 200


class TestTruncate:
    async def test_content_length_framing_is_a_payload_error(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Truncate(fraction=0.5))
        async with server.intercept(), aiohttp.ClientSession() as s:
            resp = await s.get(server.url + "/v1/bars")
            assert resp.status == 200
            with pytest.raises(aiohttp.ClientPayloadError):
                await resp.json()

    async def test_close_framing_is_broken_json(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(faults.Truncate(bytes=20, framing="close"))
        async with server.intercept(), aiohttp.ClientSession() as s:
            resp = await s.get(server.url + "/v1/bars")
            assert len(await resp.read()) == 20
            with pytest.raises(json.JSONDecodeError):
                await resp.json()
        assert chaos.fired("truncate")[0].params["kept_bytes"] == 20

    async def test_cut_beyond_the_body_does_not_fire(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Truncate(bytes=10_000))
        async with server.intercept():
            assert (await get(server)).status == 200
        assert chaos.fired() == []

    def test_exactly_one_of_bytes_or_fraction(self) -> None:
        with pytest.raises(FaultConfigError, match="exactly one of bytes or fraction"):
            faults.Truncate()
        with pytest.raises(FaultConfigError, match="exactly one of bytes or fraction"):
            faults.Truncate(bytes=1, fraction=0.5)


class TestCorrupt:
    async def test_html_error_page_gives_content_type_error(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Corrupt(corruption="html_error_page"))
        async with server.intercept(), aiohttp.ClientSession() as s:
            resp = await s.get(server.url + "/v1/bars")
            assert resp.status == 200
            with pytest.raises(aiohttp.ContentTypeError):
                await resp.json()

    async def test_invalid_json_gives_decode_error(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(faults.Corrupt(corruption="invalid_json"))
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(json.JSONDecodeError):
                await (await s.get(server.url + "/v1/bars")).json()

    async def test_swap_high_low_on_kline_rows(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(faults.Corrupt(corruption="swap_high_low"))
        async with server.intercept():
            rows = await (await get(server)).json()
        bad = [r for r in rows if float(r[2]) < float(r[3])]
        assert len(bad) == 1
        assert chaos.fired("corrupt")[0].params["corruption"] == "swap_high_low"

    async def test_a_list_picks_one_that_applies(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(
            faults.Corrupt(corruption=["swap_high_low", "empty_body"]), match={"path": "/v1/ticker"}
        )
        async with server.intercept():
            resp = await get(server, "/v1/ticker")
        # a ticker has no high/low: only empty_body can act on it
        assert await resp.read() == b""
        assert chaos.fired("corrupt")[0].params["corruption"] == "empty_body"

    def test_unknown_corruption_suggests(self) -> None:
        with pytest.raises(FaultConfigError, match="did you mean 'nan'"):
            faults.Corrupt(corruption="nann")


class TestStale:
    async def test_age_serves_an_older_body(self, server: MockServer, chaos: Chaos) -> None:
        prices = iter(range(100, 200))
        server.get("/v1/px").respond(lambda r: {"price": next(prices)})
        chaos.inject(faults.Stale(age=2), match={"path": "/v1/px"}, schedule={"after": 3})
        async with server.intercept():
            seen = [(await (await get(server, "/v1/px")).json())["price"] for _ in range(5)]
        # the 4th and 5th answers are the ones from two responses earlier
        assert seen == [100, 101, 102, 101, 102]

    async def test_shift_moves_every_timestamp_back(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(faults.Stale(shift_s=3600))
        async with server.intercept():
            rows = await (await get(server)).json()
            ticker = await (await get(server, "/v1/ticker")).json()
        assert rows[0][0] == BARS[0][0] - 3_600_000 and rows[0][6] == BARS[0][6] - 3_600_000
        assert rows[0][1:6] == BARS[0][1:6]
        assert ticker["time"] == 1700000000000 - 3_600_000

    def test_exactly_one_of_age_or_shift(self) -> None:
        with pytest.raises(FaultConfigError, match="exactly one of age or shift_s"):
            faults.Stale()


class TestAckLost:
    async def test_disconnect_after_the_order_was_placed(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        book: list[dict[str, Any]] = []
        server.post("/v1/orders").respond(lambda r: book.append(r.json()) or {"id": len(book)})
        chaos.inject(faults.AckLost(mode="disconnect"), schedule={"first": 1})
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await s.post(server.url + "/v1/orders", json={"side": "buy"})
            # the naive retry: a second order, the trap this fault sets
            assert (await s.post(server.url + "/v1/orders", json={"side": "buy"})).status == 200
        assert len(book) == 2
        assert chaos.fired("ack_lost")[0].params == {"mode": "disconnect", "lost_status": 200}
        first = server.journal[0]
        assert first.status == 200 and first.took_effect
        assert first.error is not None and first.error.kind == "closed"
        assert first.error.after_response and not first.delivered

    async def test_hang_after_the_order_was_placed(self, server: MockServer, chaos: Chaos) -> None:
        book: list[int] = []
        server.post("/v1/orders").respond(lambda r: book.append(1) or {"id": 1})
        chaos.inject(faults.AckLost(mode="hang"))
        async with server.intercept(), aiohttp.ClientSession() as s:
            with pytest.raises(asyncio.TimeoutError):
                await s.post(server.url + "/v1/orders", timeout=aiohttp.ClientTimeout(total=0.05))
        assert book == [1]


class TestMatchAndInject:
    async def test_match_by_method_path_and_query(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(
            faults.Error(status=500),
            match={"method": "GET", "path": "/v1/ticker", "query": {"symbol": "ETHUSDT"}},
        )
        async with server.intercept():
            assert (await get(server, "/v1/ticker?symbol=BTCUSDT")).status == 200
            assert (await get(server, "/v1/ticker?symbol=ETHUSDT")).status == 500
            assert (await get(server, "/v1/bars?symbol=ETHUSDT")).status == 200

    async def test_faults_apply_in_order_and_short_circuit(
        self, server: MockServer, chaos: Chaos
    ) -> None:
        chaos.inject(faults.Latency(fixed_ms=1))
        chaos.inject(faults.Error(status=503))
        chaos.inject(faults.Latency(fixed_ms=1))  # never consulted: the error answered
        async with server.intercept():
            assert (await get(server)).status == 503
        assert [line.kind for line in chaos.log] == ["latency", "error"]

    def test_bad_match_and_schedule_are_named(self, server: MockServer, chaos: Chaos) -> None:
        with pytest.raises(FaultConfigError) as info:
            chaos.inject(faults.Reset(), schedule={"evry": 2})
        assert info.value.argument == "schedule.evry" and "did you mean 'every'" in str(info.value)
        with pytest.raises(FaultConfigError, match="unknown HTTP method"):
            chaos.inject(faults.Reset(), match={"method": "FETCH"})
        with pytest.raises(FaultConfigError, match="must be a fault"):
            chaos.inject("reset")  # type: ignore[arg-type]

    async def test_journal_and_log_lines_agree(self, server: MockServer, chaos: Chaos) -> None:
        chaos.inject(faults.Error(status=502), schedule={"first": 1})
        async with server.intercept():
            await get(server, "/v1/bars?symbol=BTCUSDT")
        line = chaos.log[0]
        assert set(line.to_dict()) == {
            "seed",
            "test",
            "scenario",
            "index",
            "method",
            "path",
            "role",
            "kind",
            "params",
            "t",
            "traits",
            "fault",
            "route",
        }
        assert (line.seed, line.test, line.scenario, line.index) == (5, "t::x", None, 0)
        assert (line.method, line.path, line.kind) == ("GET", "/v1/bars", "error")
        assert server.journal[0].faults == [line]

    def test_registry_is_read_only_and_refuses_duplicates(self) -> None:
        registry = faults.registry()
        assert registry["latency"] is faults.Latency
        with pytest.raises(TypeError):
            registry["x"] = faults.Latency  # type: ignore[index]
        with pytest.raises(TypeError, match="already registered"):
            type(
                "Other",
                (faults.Fault,),
                {"__annotations__": {"kind": Literal["latency"]}, "kind": "latency"},
            )
