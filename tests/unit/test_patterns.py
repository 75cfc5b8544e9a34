"""One request pattern for routes, fault matches and the unmatched-route message."""

from __future__ import annotations

import pytest

from harness.chaos.schedule import Match
from harness.errors import MockConfigError
from harness.mock.patterns import Headers, JsonBody, Method, Mismatch, Path, Query, Role
from harness.mock.routes import Request, Route
from harness.roles import RoleMap, check_role


def req(
    method: str = "GET", url: str = "https://x.test/v1/bars?symbol=BTC", **kw: object
) -> Request:
    request = Request.build(method, url, kw.get("headers"), kw.get("body", b""))  # type: ignore[arg-type]
    request.role = kw.get("role")  # type: ignore[assignment]
    return request


def test_difference_names_each_part_with_its_values() -> None:
    pattern = Method("POST") & Path("/v1/orders") & Query({"symbol": "ETH"})
    diff = pattern.difference(req())
    assert [m.part for m in diff] == ["method", "path", "query symbol"]
    assert diff[0] == Mismatch("method", "POST", "GET")
    assert str(diff[1]) == "path /v1/bars does not match /v1/orders"
    assert str(diff[2]) == "query symbol=ETH (got BTC)"
    assert not (Method("GET") & Path("/v1/bars") & Query({"symbol": "BTC"})).difference(req())


def test_patterns_combine() -> None:
    bars, orders = Path("/v1/bars"), Path("/v1/orders")
    assert (bars | orders).match(req()) and not (orders | Path("/x")).match(req())
    assert (~orders).match(req()) and not (~bars).match(req())
    assert (Method("GET") & ~Query({"symbol": "ETH"})).match(req())
    assert (bars & orders).describe() == "/v1/bars /v1/orders"


def test_headers_never_show_their_values() -> None:
    diff = Headers({"X-MBX-APIKEY": "secret-key"}).difference(
        req(headers={"X-MBX-APIKEY": "other"})
    )
    assert "secret" not in str(diff[0]) and "other" not in str(diff[0])


def test_json_body_subset() -> None:
    body = JsonBody({"side": "buy", "meta": {"tag": "x"}})
    assert body.match(req(body=b'{"side": "buy", "qty": 1, "meta": {"tag": "x", "n": 2}}'))
    assert body.difference(req(body=b"not json"))[0].actual == "not JSON"


def test_roles_match_what_the_route_declared() -> None:
    assert Role("bars").match(req(role="bars")) and not Role(["ticker", "book"]).match(
        req(role="bars")
    )
    assert str(Role("bars").difference(req())[0]) == "role none != bars"


def test_routes_faults_and_the_unmatched_message_share_the_pattern() -> None:
    route = Route("GET", "/v1/bars", params={"symbol": "ETH"}, role="bars")
    match = Match(method="GET", path="/v1/bars", query={"symbol": "ETH"})
    request = req()
    assert route.match(request) is None and not match.matches(request)
    _, miss = route.miss(request)
    assert miss.reasons == tuple(str(m) for m in match.pattern.difference(request))


def test_role_vocabulary_is_checked_everywhere() -> None:
    with pytest.raises(MockConfigError, match=r"unknown role 'barz' .did you mean 'bars'.."):
        Route("GET", "/x", role="barz")
    with pytest.raises(MockConfigError, match="unknown role"):
        check_role("candles")
    with pytest.raises(ValueError, match="did you mean 'order_place'"):
        Match(role=["order_placed"])


def test_a_role_map_fills_in_roles_routes_do_not_declare() -> None:
    roles = RoleMap({"GET /api/candles": "bars", "/api/orders/{id}": "order_query"})
    assert roles.role_for("GET", "/api/candles") == "bars"
    assert roles.role_for("POST", "/api/candles") is None
    assert roles.role_for("DELETE", "/api/orders/7") == "order_query"
    with pytest.raises(MockConfigError, match="unknown role 'barz'"):
        RoleMap({"GET /x": "barz"})
