"""Custom profiles: a team's own API in YAML, served by the FakeExchange, judged by every
invariant with no Python glue; validated like scenarios."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import aiohttp
import pytest

from harness import faults
from harness.chaos import Chaos
from harness.errors import MarketDataError, ScenarioError
from harness.exchange import MockExchange
from harness.exchange.profiles.custom import parse_profile, profile_json_schema
from harness.invariants import context_for, evaluate, names
from harness.schemas import OHLCV, validate_edge

PROFILE = Path(__file__).resolve().parents[1] / "scenarios" / "mybroker.yaml"


@pytest.fixture
def broker() -> MockExchange:
    return MockExchange.create(PROFILE, seed=5)


async def test_the_api_is_served_in_its_own_shape(broker: MockExchange) -> None:
    async with broker.server.intercept(), aiohttp.ClientSession(broker.url) as s:
        candles = await (await s.get("/api/candles", params={"market": "BTC-USD", "n": "3"})).json()
        assert list(candles) == ["candles"] and len(candles["candles"]) == 3
        assert set(candles["candles"][0]) == {"t", "o", "h", "l", "c", "v"}
        assert isinstance(candles["candles"][0]["o"], str)  # numbers: string
        placed = await s.post(
            "/api/orders",
            json={"market": "BTC-USD", "side": "BUY", "size": "0.1", "price": "1", "cid": "a"},
        )
        assert placed.status == 201
        body = await placed.json()
        assert body["id"] == "1" and body["cid"] == "a" and body["status"] == "OPEN"
        found = await (await s.get("/api/orders", params={"cid": "a"})).json()
        assert [o["order_id"] for o in found["orders"]] == ["1"]
        missing = await s.get("/api/orders/99")
        assert missing.status == 404
        assert (await missing.json()) == {
            "ok": False,
            "error": {"code": "NO_SUCH_ORDER", "text": "no order '99'"},
        }
    assert broker.exchange.orders["1"].side == "buy" and broker.exchange.orders["1"].qty == 0.1
    assert broker.exchange.balances["USD"] == 100000  # from the profile


async def test_faults_answer_in_the_profiles_error_format(broker: MockExchange) -> None:
    Chaos(broker.server, seed=1).inject(faults.Error(preset="rate_limited"), match={"role": "bars"})
    async with broker.server.intercept(), aiohttp.ClientSession(broker.url) as s:
        resp = await s.get("/api/candles", params={"market": "BTC-USD"})
        assert resp.status == 429 and resp.headers["Retry-After"] == "1"
        assert (await resp.json())["error"]["code"] == "TOO_MANY_REQUESTS"


async def test_validate_edge_reads_the_profiles_bodies(broker: MockExchange) -> None:
    async with broker.server.intercept(), aiohttp.ClientSession(broker.url) as s:
        body = await (await s.get("/api/candles", params={"market": "BTC-USD", "n": "4"})).json()
    frame = validate_edge(body, OHLCV, profile=broker.profile, role="bars")
    assert len(frame) == 4 and list(frame.columns)[:2] == ["ts", "open"]
    with pytest.raises(MarketDataError) as info:
        validate_edge(body, OHLCV)  # without the profile: wrapped and short names
    assert "pass wrapper='candles'" in str(info.value)
    assert "from market data" not in str(info.value)


@pytest.mark.parametrize("look_first", [False, True])
async def test_every_invariant_works_on_the_custom_api(
    broker: MockExchange, look_first: bool
) -> None:
    chaos = Chaos(broker.server, seed=2)
    chaos.inject(faults.AckLost(status=504), match={"role": "order_place"}, schedule={"first": 1})
    order = {"market": "BTC-USD", "side": "BUY", "size": "0.1", "price": "1"}
    async with broker.server.intercept(), aiohttp.ClientSession(broker.url) as s:
        first = await s.post("/api/orders", json={**order, "cid": "c1"})
        assert first.status == 504
        if look_first:
            assert (await (await s.get("/api/orders", params={"cid": "c1"})).json())["orders"]
        else:
            await s.post("/api/orders", json={**order, "cid": "c2"})  # a fresh client id
    ctx = context_for(chaos)
    ctx.client_orders = {"1": "new"}  # the client's view, as a watched client gives it
    found = evaluate(["no_duplicate_orders", "orders_reconciled"], ctx)
    expected = set() if look_first else {"no_duplicate_orders", "orders_reconciled"}
    assert names(found) == expected


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "name: x\nbase_url: https://a.test\nroutes:\n  barz: {path: /a}\n",
            ":3: routes: role 'barz'",
        ),
        (
            "name: x\nbase_url: https://a.test\nroutes:\n  bars: {path: /a, response: {fields: {tss: t}}}\n",
            "['tss'] are not fields of bars",
        ),
        (
            "name: x\nbase_url: https://a.test\nroutes:\n  bars: {method: FETCH, path: /a}\n",
            "method 'FETCH'",
        ),
        ("name: x\nroutes:\n  bars: {path: /a}\n", ":1: base_url: field required"),
        ("- a list\n", "a profile is a mapping"),
    ],
)
def test_bad_profiles_say_where(text: str, where: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_profile(text, "p.yaml")
    assert "in profile" in str(info.value) and where in str(info.value)


def test_did_you_mean_for_a_role_typo() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'bars'"):
        parse_profile("name: x\nbase_url: https://a.test\nroutes:\n  barz: {path: /a}\n", "p.yaml")


def test_the_json_schema_names_the_roles() -> None:
    schema = profile_json_schema()
    assert schema["title"] == "trading-chaos-harness API profile"
    assert "routes" in schema["required"]
    json.dumps(schema)


def test_the_exchange_marker_takes_a_profile_file(pytester: pytest.Pytester) -> None:
    (pytester.path / "profiles").mkdir()
    shutil.copy(PROFILE, pytester.path / "profiles" / "mybroker.yaml")
    pytester.makepyfile(
        test_bot="""
import uuid
import aiohttp
import pytest

ORDER = {"market": "BTC-USD", "side": "BUY", "size": "0.1", "price": "1"}


async def place(url, look_first):
    async with aiohttp.ClientSession(url) as s:
        for _ in range(2):
            cid = uuid.uuid4().hex  # a fresh client order id on every send
            try:
                async with s.post("/api/orders", json={**ORDER, "cid": cid}) as resp:
                    if resp.status == 201:
                        return
            except aiohttp.ClientError:
                if look_first:
                    async with s.get("/api/orders", params={"cid": cid}) as found:
                        if (await found.json())["orders"]:
                            return


@pytest.mark.chaos
@pytest.mark.exchange("profiles/mybroker.yaml")
@pytest.mark.chaos_scenario("order-ack-lost")
@pytest.mark.parametrize("look_first", [False, True], ids=["blind", "careful"])
async def test_bot(mock_exchange, look_first):
    for _ in range(3):  # the scenario loses every third acknowledgement
        await place(mock_exchange.url, look_first)
"""
    )
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_bot[[]blind[]]*",
            "*InvariantViolation: 1 invariant violation (no_duplicate_orders)*",
        ]
    )
