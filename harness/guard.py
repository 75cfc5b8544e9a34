"""The live-endpoint guard: while a test uses the harness, only mocks and loopback answer.

Socket connections are restricted with pytest-socket (``socket_allow_hosts``, loopback
only); its error is turned into :class:`~harness.errors.LiveEndpointBlocked` naming the
host. Name resolution of a non-loopback host is refused too, so ``requests`` or
``httpx`` fail at once on the host name instead of after a DNS timeout. aiohttp
requests are stopped earlier still, by the in-process dispatcher, before any lookup.
``connect_ex``, UDP ``sendto``, ``gethostbyname(_ex)`` and the C module's ``_socket``
lookups are refused the same way. What no Python patch can reach: ``connect`` called on
the C type ``_socket.socket`` itself (not on ``socket.socket``), and C extensions that open
sockets without Python's socket module.
"""

from __future__ import annotations

import _socket
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
            "connect_ex": socket.socket.connect_ex,
            "sendto": socket.socket.sendto,
            "getaddrinfo": socket.getaddrinfo,
            "gethostbyname": socket.gethostbyname,
            "gethostbyname_ex": socket.gethostbyname_ex,
            "_socket.getaddrinfo": _socket.getaddrinfo,
            "_socket.gethostbyname": _socket.gethostbyname,
            "_socket.gethostbyname_ex": _socket.gethostbyname_ex,
        }
        saved = cls._saved
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

        def refuse_name(name: Any, port: Any = None) -> None:
            text = name.decode() if isinstance(name, bytes) else name
            if text is not None and text not in _UNSPECIFIED and not is_loopback(str(text)):
                # create_connection resolves addresses too: for one, it is a connection
                via = "connection" if is_ip_address(str(text)) else "DNS lookup"
                raise LiveEndpointBlocked(str(text), port if isinstance(port, int) else None, via)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            refuse_name(host, port)
            return original_getaddrinfo(host, port, *args, **kwargs)

        def refuse_address(address: Any, via: str) -> None:
            if isinstance(address, tuple) and address and isinstance(address[0], str | bytes):
                host = address[0].decode() if isinstance(address[0], bytes) else address[0]
                if host not in _UNSPECIFIED and not is_loopback(host):
                    port = address[1] if len(address) > 1 else None
                    raise LiveEndpointBlocked(host, port, via=via)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            refuse_address(address, "socket connect_ex")
            return saved["connect_ex"](sock, address)

        def sendto(sock: socket.socket, data: Any, *args: Any) -> Any:
            refuse_address(args[-1] if args else None, "UDP sendto")
            return saved["sendto"](sock, data, *args)

        def gethostbyname(name: Any) -> Any:
            refuse_name(name)
            return saved["gethostbyname"](name)

        def gethostbyname_ex(name: Any) -> Any:
            refuse_name(name)
            return saved["gethostbyname_ex"](name)

        def c_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            refuse_name(host, port)
            return saved["_socket.getaddrinfo"](host, port, *args, **kwargs)

        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = sendto  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        socket.gethostbyname_ex = gethostbyname_ex
        _socket.getaddrinfo = c_getaddrinfo
        _socket.gethostbyname = gethostbyname
        _socket.gethostbyname_ex = gethostbyname_ex

    @classmethod
    def _uninstall(cls) -> None:
        saved = cls._saved
        socket.socket.connect = saved["connect"]  # type: ignore[method-assign]
        socket.socket.connect_ex = saved["connect_ex"]  # type: ignore[method-assign]
        socket.socket.sendto = saved["sendto"]  # type: ignore[method-assign]
        socket.getaddrinfo = saved["getaddrinfo"]
        socket.gethostbyname = saved["gethostbyname"]
        socket.gethostbyname_ex = saved["gethostbyname_ex"]
        _socket.getaddrinfo = saved["_socket.getaddrinfo"]
        _socket.gethostbyname = saved["_socket.gethostbyname"]
        _socket.gethostbyname_ex = saved["_socket.gethostbyname_ex"]
        cls._saved = {}
