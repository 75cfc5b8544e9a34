"""Route matching, responders and Response coercion (no client involved)."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import MockConfigError
from harness.mock.routes import PathPattern, Request, Response, Route


def make_request(
    method: str = "GET",
    url: str = "https://x.test/a",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Request:
    return Request.build(method, url, headers, body)


class TestPathPattern:
    def test_exact(self) -> None:
        p = PathPattern("/api/v3/klines")
        assert p.match("/api/v3/klines") == {}
        assert p.match("/api/v3/klines/") is None
        assert p.match("/api/v3/kline") is None

    def test_leading_slash_is_added(self) -> None:
        assert PathPattern("v1/time").match("/v1/time") == {}

    def test_placeholders_capture_one_segment(self) -> None:
        p = PathPattern("/v1/orders/{order_id}/fills/{fill}")
        assert p.match("/v1/orders/42/fills/7") == {"order_id": "42", "fill": "7"}
        assert p.match("/v1/orders/42/x/fills/7") is None

    def test_glob_single_and_double_star(self) -> None:
        assert PathPattern("/v1/*/price").match("/v1/ticker/price") == {}
        assert PathPattern("/v1/*/price").match("/v1/a/b/price") is None
        assert PathPattern("/v1/**").match("/v1/a/b/c") == {}

    def test_regex_fullmatch_and_groups(self) -> None:
        p = PathPattern(re.compile(r"/api/v(?P<version>\d)/depth"))
        assert p.match("/api/v3/depth") == {"version": "3"}
        assert p.match("/api/v3/depthx") is None

    def test_regex_special_characters_in_literal_parts(self) -> None:
        assert PathPattern("/a.b/{x}").match("/aXb/1") is None
        assert PathPattern("/a.b/{x}").match("/a.b/1") == {"x": "1"}

    @pytest.mark.parametrize("bad", ["/v1/{1bad}", "/v1/{}", "/v1/{a}/{a}"])
    def test_bad_placeholders_name_the_pattern(self, bad: str) -> None:
        with pytest.raises(MockConfigError) as info:
            PathPattern(bad)
        assert bad in str(info.value)

    def test_non_string_is_refused(self) -> None:
        with pytest.raises(MockConfigError, match="int"):
            PathPattern(42)  # type: ignore[arg-type]

    @given(
        st.lists(st.text(alphabet="abcxyz019-_.", min_size=1, max_size=8), min_size=1, max_size=5)
    )
    def test_exact_patterns_match_only_themselves(self, segments: list[str]) -> None:
        path = "/" + "/".join(segments)
        assert PathPattern(path).match(path) == {}
        assert PathPattern(path).match(path + "x") is None


class TestRouteMatching:
    def test_query_is_a_subset_match(self) -> None:
        route = Route("GET", "/k", params={"symbol": "BTCUSDT", "limit": 5})
        assert route.match(make_request(url="https://x.test/k?symbol=BTCUSDT&limit=5&x=1")) == {}
        assert route.match(make_request(url="https://x.test/k?symbol=BTCUSDT")) is None
        assert route.match(make_request(url="https://x.test/k?symbol=ETH&limit=5")) is None

    def test_bool_params_compare_like_urls(self) -> None:
        route = Route("GET", "/k", params={"flag": True})
        assert route.match(make_request(url="https://x.test/k?flag=true")) == {}

    def test_method_and_wildcard_method(self) -> None:
        assert Route("POST", "/o").match(make_request("GET", "https://x.test/o")) is None
        assert Route("*", "/o").match(make_request("DELETE", "https://x.test/o")) == {}

    def test_headers_subset_case_insensitive(self) -> None:
        route = Route("GET", "/a", headers={"x-mbx-apikey": "k"})
        assert route.match(make_request(headers={"X-MBX-APIKEY": "k"})) == {}
        assert route.match(make_request(headers={"X-MBX-APIKEY": "other"})) is None

    def test_json_body_subset(self) -> None:
        route = Route("POST", "/o", json={"side": "buy", "meta": {"tag": "x"}})
        body = json.dumps({"side": "buy", "qty": 1, "meta": {"tag": "x", "n": 2}}).encode()
        assert route.match(make_request("POST", "https://x.test/o", body)) == {}
        assert route.match(make_request("POST", "https://x.test/o", b'{"side":"sell"}')) is None
        assert route.match(make_request("POST", "https://x.test/o", b"not json")) is None

    def test_miss_explains_every_reason(self) -> None:
        route = Route("POST", "/v1/orders", params={"symbol": "BTC"})
        _, miss = route.miss(make_request("GET", "https://x.test/v1/order?symbol=ETH"))
        text = "; ".join(miss.reasons)
        assert "method GET != POST" in text
        assert "/v1/orders" in text
        assert "symbol=BTC" in text and "ETH" in text

    def test_bad_method_is_refused(self) -> None:
        with pytest.raises(MockConfigError, match="method"):
            Route("", "/x")


class TestResponders:
    def run(self, route: Route, request: Request | None = None) -> Response:
        return asyncio.run(route.responder(request or make_request()))

    def test_static_json(self) -> None:
        route = Route("GET", "/a").respond(json={"a": 1}, headers={"X-Y": "z"})
        resp = self.run(route)
        assert resp.status == 200 and resp.json() == {"a": 1}
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.headers["X-Y"] == "z"

    def test_sync_and_async_handlers(self) -> None:
        async def handler(request: Request) -> Response:
            return Response(201, json={"path": request.path})

        assert self.run(Route("GET", "/a").respond(lambda r: {"m": r.method})).json() == {
            "m": "GET"
        }
        assert self.run(Route("GET", "/a").respond(handler)).status == 201

    def test_sequence_plays_in_order_then_repeats_last(self) -> None:
        route = Route("GET", "/a").respond_seq([Response(503), {"n": 2}, lambda r: {"n": 3}])
        statuses = [self.run(route).status for _ in range(2)]
        assert statuses == [503, 200]
        assert [self.run(route).json() for _ in range(3)] == [{"n": 3}] * 3

    def test_sequence_raises_exceptions(self) -> None:
        route = Route("GET", "/a").respond_seq(
            [ValueError("boom"), ConnectionResetError, {"ok": 1}]
        )
        with pytest.raises(ValueError, match="boom"):
            self.run(route)
        with pytest.raises(ConnectionResetError):
            self.run(route)
        assert self.run(route).json() == {"ok": 1}

    def test_empty_sequence_is_refused(self) -> None:
        with pytest.raises(MockConfigError, match="empty"):
            Route("GET", "/a").respond_seq([])

    def test_handler_and_arguments_together_are_refused(self) -> None:
        with pytest.raises(MockConfigError, match="either a handler"):
            Route("GET", "/a").respond(lambda r: {}, json={"a": 1})

    def test_non_callable_handler_is_refused(self) -> None:
        with pytest.raises(MockConfigError, match="not callable"):
            Route("GET", "/a").respond(42)  # type: ignore[arg-type]

    def test_handler_returning_junk_is_a_clear_error(self) -> None:
        with pytest.raises(MockConfigError, match="returned object"):
            self.run(Route("GET", "/a").respond(lambda r: object()))


class TestResponse:
    @pytest.mark.parametrize(
        ("value", "status", "body"),
        [
            ({"a": 1}, 200, b'{"a":1}'),
            ([1, 2], 200, b"[1,2]"),
            ("hi", 200, b"hi"),
            (b"\x00", 200, b"\x00"),
            (None, 204, b""),
            ((418, {"code": -1003}), 418, b'{"code":-1003}'),
        ],
    )
    def test_coerce(self, value: object, status: int, body: bytes) -> None:
        resp = Response.coerce(value)
        assert (resp.status, resp.body) == (status, body)

    def test_status_out_of_range(self) -> None:
        with pytest.raises(MockConfigError, match="status=700"):
            Response(700)

    def test_two_bodies_refused(self) -> None:
        with pytest.raises(MockConfigError, match="json and text"):
            Response(json={}, text="x")

    def test_content_type_override(self) -> None:
        assert (
            Response(text="<html>", content_type="text/html").headers["Content-Type"] == "text/html"
        )


async def test_an_expected_unmatched_request_is_acknowledged() -> None:
    """A test that asserts a missing route says so, and teardown does not fail it again."""
    import aiohttp

    from harness import MockServer
    from harness.errors import UnmatchedRequestError

    server = MockServer("https://api.exchange.test")
    server.get("/v1/time").respond(json={"t": 1})
    with server.intercept():
        async with aiohttp.ClientSession() as session:
            with server.expect_unmatched() as missed, pytest.raises(UnmatchedRequestError):
                await session.get(server.url + "/v1/nope")
            assert [m.url for m in missed] == ["https://api.exchange.test/v1/nope"]
            server.verify()  # nothing left to fail at teardown
            two = pytest.raises(AssertionError, match="expected 2 unmatched requests, and 1 came")
            with two, server.expect_unmatched(count=2), pytest.raises(UnmatchedRequestError):
                await session.get(server.url + "/v1/nope")
            none = pytest.raises(AssertionError, match="expected an unmatched request, and 0 came")
            with none, server.expect_unmatched():
                await session.get(server.url + "/v1/time")
