"""The live-endpoint guard: while a test uses the harness, only mocks and loopback answer.

Socket connections are restricted with pytest-socket (``socket_allow_hosts``, loopback
only); its error is turned into :class:`~harness.errors.LiveEndpointBlocked` naming the
host. Name resolution of a non-loopback host is refused too, so ``requests`` or
``httpx`` fail at once on the host name instead of after a DNS timeout. aiohttp
requests are stopped earlier still, by the in-process dispatcher, before any lookup.
"""

from __future__ import annotations

import socket
import warnings
from types import TracebackType
from typing import Any

import pytest_socket

from harness.errors import LiveEndpointBlocked, is_ip_address
from harness.mock.inprocess import dispatcher, is_loopback

__all__ = ["LiveEndpointGuard"]

LOOPBACK = ["127.0.0.0/8", "::1"]
_UNSPECIFIED = frozenset(("", "0.0.0.0", "::"))


class LiveEndpointGuard:
    """Context manager; nests (the outermost exit restores the socket module)."""

    _depth = 0
    _saved: dict[str, Any] = {}

    def __enter__(self) -> LiveEndpointGuard:
        cls = type(self)
        if cls._depth == 0:
            cls._install()
        cls._depth += 1
        dispatcher.add_guard()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cls = type(self)
        dispatcher.remove_guard()
        cls._depth -= 1
        if cls._depth == 0:
            cls._uninstall()

    @property
    def active(self) -> bool:
        return type(self)._depth > 0

    @classmethod
    def _install(cls) -> None:
        cls._saved = {
            "connect": socket.socket.connect,
            "getaddrinfo": socket.getaddrinfo,
        }
        pytest_socket.socket_allow_hosts(LOOPBACK, allow_unix_socket=True)
        restricted = socket.socket.connect
        original_getaddrinfo = socket.getaddrinfo

        def connect(sock: socket.socket, *args: Any) -> Any:
            try:
                with warnings.catch_warnings():
                    # pytest-socket warns as it raises; our error says more.
                    warnings.simplefilter("ignore")
                    return restricted(sock, *args)
            except pytest_socket.SocketConnectBlockedError:
                address = args[0] if args else None
                host, port = (
                    (address[0], address[1]) if isinstance(address, tuple) else (str(address), None)
                )
                raise LiveEndpointBlocked(str(host), port, via="socket connect") from None

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name is not None and name not in _UNSPECIFIED and not is_loopback(name):
                numeric = is_ip_address(str(name))  # create_connection resolves addresses too
                raise LiveEndpointBlocked(
                    str(name),
                    port if isinstance(port, int) else None,
                    via="connection" if numeric else "DNS lookup",
                )
            return original_getaddrinfo(host, port, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo

    @classmethod
    def _uninstall(cls) -> None:
        socket.socket.connect = cls._saved["connect"]  # type: ignore[method-assign]
        socket.getaddrinfo = cls._saved["getaddrinfo"]
        cls._saved = {}
