"""The live-endpoint guard, outside pytest's plugin (the plugin tests cover wiring)."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from harness import LiveEndpointBlocked, MockServer
from harness.guard import LiveEndpointGuard


def test_socket_connect_to_a_public_address_is_blocked() -> None:
    with LiveEndpointGuard(), pytest.raises(LiveEndpointBlocked) as info:
        socket.create_connection(("203.0.113.7", 443), timeout=1)
    assert info.value.host == "203.0.113.7" and info.value.port == 443
    assert "--chaos-allow-network" in str(info.value)
    # an address is a connection, not a DNS lookup, and the fix fits an address
    assert info.value.via == "connection" and "(connection)" in str(info.value)
    assert "serve the mock on 127.0.0.1" in str(info.value)
    assert 'MockServer("https://203.0.113.7")' not in str(info.value)


def test_raw_connect_is_blocked_with_the_host_named() -> None:
    sock = socket.socket()
    try:
        with LiveEndpointGuard(), pytest.raises(LiveEndpointBlocked) as info:
            sock.connect(("198.51.100.1", 80))
        assert info.value.host == "198.51.100.1"
    finally:
        sock.close()


def test_dns_lookup_of_a_real_host_is_blocked() -> None:
    with LiveEndpointGuard(), pytest.raises(LiveEndpointBlocked) as info:
        socket.getaddrinfo("api.binance.com", 443)
    assert info.value.host == "api.binance.com" and info.value.via == "DNS lookup"
    assert 'MockServer("https://api.binance.com")' in str(info.value)


def test_loopback_stays_reachable() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        with LiveEndpointGuard():
            with socket.create_connection(listener.getsockname(), timeout=5):
                pass
            assert socket.getaddrinfo("localhost", 80)
    finally:
        listener.close()


def test_guard_is_not_an_oserror() -> None:
    # A client's retry loop around network errors must not swallow it.
    assert not issubclass(LiveEndpointBlocked, OSError)


def test_guard_nests_and_restores_the_socket_module() -> None:
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo
    with LiveEndpointGuard():
        with LiveEndpointGuard():
            pass
        assert socket.socket.connect is not connect  # still active after the inner exit
    assert socket.socket.connect is connect and socket.getaddrinfo is getaddrinfo


async def test_aiohttp_request_to_an_unmocked_host_is_blocked_before_dns() -> None:
    server = MockServer("https://api.exchange.test")
    server.get("/v1/time").respond(json={})
    with LiveEndpointGuard(), server.intercept():
        async with aiohttp.ClientSession() as session:
            assert (await session.get(f"{server.url}/v1/time")).status == 200
            with pytest.raises(LiveEndpointBlocked) as info:
                await session.get("https://api.binance.com/api/v3/time")
    assert info.value.host == "api.binance.com" and info.value.via == "aiohttp"


async def test_aiohttp_guard_without_any_mock_server() -> None:
    with LiveEndpointGuard():
        async with aiohttp.ClientSession() as session:
            with pytest.raises(LiveEndpointBlocked):
                await session.get("https://api.kraken.com/0/public/Time")


async def test_production_hostname_is_served_when_mocked() -> None:
    # Users keep their production base URL; mocking it makes it reachable, nothing else.
    server = MockServer("https://api.binance.com")
    server.get("/api/v3/time").respond(json={"serverTime": 1})
    with LiveEndpointGuard(), server.intercept():
        async with aiohttp.ClientSession() as session:
            assert await (await session.get("https://api.binance.com/api/v3/time")).json() == {
                "serverTime": 1
            }
            with pytest.raises(LiveEndpointBlocked):
                await session.get("https://api1.binance.com/api/v3/time")


def test_the_lesser_known_doors_are_closed_too() -> None:
    """connect_ex, UDP sendto, gethostbyname(_ex) and the C module's lookups."""
    import _socket

    def doors() -> tuple:
        return (
            socket.socket.connect_ex,
            socket.socket.sendto,
            socket.gethostbyname,
            socket.gethostbyname_ex,
            _socket.getaddrinfo,
            _socket.gethostbyname,
        )

    before = doors()
    tcp, udp = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with LiveEndpointGuard():
            with pytest.raises(LiveEndpointBlocked, match="socket connect_ex"):
                tcp.connect_ex(("198.51.100.1", 80))
            with pytest.raises(LiveEndpointBlocked, match="UDP sendto"):
                udp.sendto(b"x", ("198.51.100.1", 53))
            for lookup in (socket.gethostbyname, socket.gethostbyname_ex, _socket.gethostbyname):
                with pytest.raises(LiveEndpointBlocked, match="DNS lookup"):
                    lookup("api.binance.com")
            with pytest.raises(LiveEndpointBlocked, match="DNS lookup"):
                _socket.getaddrinfo("api.binance.com", 443)
            assert socket.gethostbyname("localhost").startswith("127.")
            udp.sendto(b"x", ("127.0.0.1", 9))  # loopback stays open
        assert doors() == before  # and everything is back as it was
    finally:
        tcp.close()
        udp.close()
