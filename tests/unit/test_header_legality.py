"""Headers HTTP cannot carry: refused when a Response is built, and a 500 (the same on both
backends) when a responder produces one anyway; the test fails at teardown."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp.http_writer import _safe_header

from harness import MockServer, Request, Response, faults
from harness.chaos import Chaos
from harness.chaos.faults import Fault
from harness.chaos.faults.base import legal_headers
from harness.errors import MockConfigError
from harness.mock.dialect import Dialect
from harness.mock.headers import header_problem, reason_problem

BACKENDS = ["inprocess", "socket"]


class TestTheRule:
    @pytest.mark.parametrize("code", range(0x80))
    def test_values_are_refused_exactly_where_aiohttps_server_refuses_them(self, code: int) -> None:
        value = f"a{chr(code)}b"
        try:
            _safe_header(value)
            aiohttp_sends = True
        except ValueError:
            aiohttp_sends = False
        assert (header_problem("X-A", value) is None) is aiohttp_sends
        assert (reason_problem(value) is None) is aiohttp_sends

    @pytest.mark.parametrize("value", ["", "\ta b\t", "caf\xe9", "\u20ac", "a=1; Path=/"])
    def test_legal_values(self, value: str) -> None:
        assert header_problem("X-A", value) is None

    @pytest.mark.parametrize("name", ["X A", "X:A", "", "X-\xe9", "X\r\nY", 5, None])
    def test_names_are_tokens(self, name: Any) -> None:
        assert "is not an HTTP token" in (header_problem(name, "v") or "")

    @pytest.mark.parametrize("value", [5, b"x", None])
    def test_values_are_str(self, value: Any) -> None:
        assert "not a str" in (header_problem("X-A", value) or "")

    def test_as_a_validator(self) -> None:
        assert legal_headers({"X-A": "b"}) == {"X-A": "b"}
        with pytest.raises(ValueError, match=r"header 'X-A': the value 'a\\nb' holds '\\n'"):
            legal_headers({"X-A": "a\nb"})


class TestBuildingAResponse:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"headers": {"X-A": "a\r\nb"}}, r"header 'X-A': the value 'a\\r\\nb' holds '\\r'"),
            ({"headers": {"X-A": "a\x00b"}}, r"holds '\\x00'"),
            ({"headers": {"X-A": "a\x01b"}}, r"holds '\\x01'"),
            ({"headers": [("X-A", "ok"), ("X-B", "a\nb")]}, r"header 'X-B'"),
            ({"headers": {"X A": "b"}}, r"header name 'X A' is not an HTTP token"),
            ({"headers": {"X-A": 5}}, r"header 'X-A': the value 5 is a int, not a str"),
            ({"headers": {5: "x"}}, r"headers=\{5: 'x'\}"),
            ({"content_type": "text/plain\r\nX-B: c"}, r"header 'Content-Type'"),
            ({"reason": "OK\r\nX-B: c"}, r"reason='OK\\r\\nX-B: c' holds '\\r'"),
            # framing is the backend's: a socket client refuses these, in-process ones did not
            ({"headers": {"Transfer-Encoding": "chunked"}}, r"'Transfer-Encoding' is the server's"),
        ],
    )
    def test_refused_with_a_clear_error(self, kwargs: dict[str, Any], message: str) -> None:
        with pytest.raises(MockConfigError, match=rf"^Response: .*{message}"):
            Response(200, json={}, **kwargs)

    def test_on_every_way_of_configuring_a_route(self) -> None:
        server = MockServer()
        with pytest.raises(MockConfigError, match="header 'X-A'"):
            server.get("/x").respond(json={}, headers={"X-A": "a\nb"})
        with pytest.raises(MockConfigError, match="header 'X-A'"):
            server.get("/x").respond(Response(200, headers={"X-A": "a\nb"}))
        with pytest.raises(MockConfigError, match="header 'X-A'"):
            Response.coerce((200, {}, {"X-A": "a\nb"}))

    def test_legal_headers_are_kept_as_given(self) -> None:
        response = Response(200, json={}, headers={"X-A": " caf\xe9\t", "Link": "<a>"})
        assert response.headers["X-A"] == " caf\xe9\t"
        assert response.problem() is None

    def test_a_header_changed_after_it_was_built_is_a_problem(self) -> None:
        response = Response(200, json={})
        response.headers["X-A"] = "a\r\nb"
        assert response.problem() == (
            "header 'X-A': the value 'a\\r\\nb' holds '\\r'; a header value holds no control "
            "character but tab (CR or LF would split the answer on a socket)"
        )


# -- at request time, on both backends -------------------------------------------------------


@asynccontextmanager
async def served(server: MockServer, backend: str) -> AsyncIterator[str]:
    if backend == "inprocess":
        async with server.intercept():
            yield server.url
    else:
        async with server.serve() as url:
            yield url


async def get(server: MockServer, backend: str, method: str = "GET") -> tuple[int, Any, dict]:
    async with (
        served(server, backend) as url,
        aiohttp.ClientSession() as session,
        session.request(method, url + "/x", timeout=aiohttp.ClientTimeout(total=5)) as resp,
    ):
        return resp.status, await resp.json(), dict(resp.headers)


def _bad_later(request: Request) -> Response:
    response = Response(json={"ok": 1})
    response.headers["X-A"] = "a\r\nb"
    return response


HANDLERS: dict[str, Callable[[MockServer], Any]] = {
    "built in a handler": lambda s: s.get("/x").respond(
        lambda r: Response(json={}, headers={"X-A": "a\nb"})
    ),
    "changed in a handler": lambda s: s.get("/x").respond(_bad_later),
    "a tuple from a handler": lambda s: s.get("/x").respond(lambda r: (200, {}, {"X A": "b"})),
    "in a sequence": lambda s: s.get("/x").respond_seq([_bad_later]),
    "a static answer changed after": lambda s: s.get("/x").respond(_changed_static()),
}


def _changed_static() -> Response:
    response = Response(json={"ok": 1})
    response.headers.add("X-A", "a\x00b")
    return response


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", list(HANDLERS))
async def test_a_responder_producing_one_gets_the_same_500(how: str, backend: str) -> None:
    server = MockServer()
    HANDLERS[how](server)
    status, body, headers = await get(server, backend)
    assert status == 500
    assert "X-A" not in headers and "X A" not in headers
    assert body["error"]["code"] == 500
    assert body["error"]["message"].startswith("route GET /x answered what cannot be sent: ")
    assert body["error"]["message"].endswith("The test fails at teardown")
    entry = server.journal.last
    assert entry.status == 500 and entry.error is not None
    assert entry.error.kind == "raised" and "MockConfigError" in entry.error.detail
    assert server.routes[0].calls.last.response is None
    with pytest.raises(MockConfigError, match=r"^MockServer: 1 request got a 500 .*route GET /x"):
        server.verify()
    server.reset()
    server.verify()  # reset forgets them, as it forgets unmatched requests


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "fault",
    [
        faults.Truncate(fraction=0.5),
        faults.Dribble(chunks=2, over_ms=10),
        faults.Latency(fixed_ms=1),
    ],
    ids=["truncate", "dribble", "latency"],
)
async def test_a_fault_carrying_one_still_gets_the_500(fault: Fault, backend: str) -> None:
    """A cut or dribbled body with such a header is not sent either (the socket would drop)."""
    server = MockServer()
    server.get("/x").respond(_bad_later)
    chaos = Chaos(server, seed=1)
    chaos.inject(fault)
    status, _, _ = await get(server, backend)
    assert status == 500
    assert len(chaos.log) == 1
    assert len(server.misconfigured) == 1


class _BadDialect(Dialect):
    def headers(self, status: int, reason: str) -> dict[str, str]:
        return {"X-Weight": "1\n"}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_dialect_with_bad_error_headers_falls_back_to_the_generic_500(
    backend: str,
) -> None:
    server = MockServer(dialect=_BadDialect())
    server.get("/x").respond(_bad_later)
    status, body, _ = await get(server, backend)
    assert status == 500 and "cannot be sent" in body["error"]["message"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_other_responder_exceptions_are_unchanged(backend: str) -> None:
    """Only an answer that cannot be sent is a 500 in-process; a responder that raises is
    still raised to the in-process client (and a 500 over a socket)."""
    server = MockServer()
    server.get("/x").respond_seq([ValueError("boom")])
    if backend == "inprocess":
        with pytest.raises(ValueError, match="boom"):
            await get(server, backend)
    else:
        assert (await get(server, backend))[0] == 500
    assert server.misconfigured == []


async def test_the_same_headers_reach_the_client_on_both_backends() -> None:
    """Spaces and tabs around a value are not part of it (the client's parser drops them);
    non-ASCII characters arrive as sent, also on a truncated answer."""
    seen = {}
    for backend in BACKENDS:
        for fault in (None, faults.Truncate(fraction=0.5, framing="close")):
            server = MockServer()
            server.get("/x").respond(json={"a": 1}, headers={"X-A": " \tcaf\xe9 \u20ac\t "})
            if fault is not None:
                Chaos(server, seed=1).inject(fault)
            async with (
                served(server, backend) as url,
                aiohttp.ClientSession() as session,
                session.get(url + "/x") as resp,
            ):
                seen[(backend, fault is not None)] = (resp.status, resp.headers["X-A"])
    assert set(seen.values()) == {(200, "caf\xe9 \u20ac")}, seen
