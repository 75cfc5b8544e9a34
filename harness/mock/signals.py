"""Wire signals: what the chaos engine asks a backend to do to a connection.

A fault raises one of these instead of returning a response; they never reach users. The
server journals each one (:meth:`WireSignal.journal`), and each backend carries each one
out exactly once: the in-process backend turns it into the exception or the stream aiohttp
would produce, the socket backend does it to the real connection. Helpers that shape the
bytes (dribble pieces, truncation framing) live here so both backends cut alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from harness.mock.journal import ClientOutcome, JournalEntry, WireError

if TYPE_CHECKING:
    from harness.mock.routes import Response

__all__ = [
    "ConnectionDrop",
    "DribbledBody",
    "Gap",
    "TruncatedBody",
    "WireSignal",
    "WsClose",
    "WsSilence",
    "dribble_pieces",
]


class WireSignal(Exception):
    """Base of every signal from a fault to a backend."""

    def journal(self, entry: JournalEntry) -> Response | None:
        """Record on the journal entry what happened; return the response the route's call
        list keeps (``None`` when the client got no usable response)."""
        return None


class ConnectionDrop(WireSignal):
    """Close the connection without a response: ``disconnect`` (FIN) or ``reset`` (RST).

    ``after_response``: the responder ran first (an order placed, its answer lost)."""

    def __init__(self, mode: Literal["disconnect", "reset"], *, after_response: bool = False):
        self.mode = mode
        self.after_response = after_response
        super().__init__(mode)

    def journal(self, entry: JournalEntry) -> Response | None:
        kind = "reset_by_peer" if self.mode == "reset" else "closed"
        entry.error = WireError(kind, after_response=self.after_response)
        return None

    def client_error(self) -> Exception:
        """The exception aiohttp raises when a server drops the connection this way."""
        import errno

        from aiohttp.client_exceptions import ClientOSError, ServerDisconnectedError

        if self.mode == "reset":
            return ClientOSError(errno.ECONNRESET, "Connection reset by peer")
        return ServerDisconnectedError()

    def client_outcome(self, resent: bool) -> ClientOutcome:
        error = self.client_error()
        return ClientOutcome("resent" if resent else "dropped", type(error).__name__)


class TruncatedBody(WireSignal):
    """Send the status, the headers and only the first ``keep`` bytes of the body, then close.

    ``framing="content_length"`` announces the full length (the client sees a payload error);
    ``"close"`` announces none, so the body simply ends (the client sees broken JSON).
    """

    def __init__(self, response: Response, keep: int, framing: str) -> None:
        self.response = response
        self.keep = keep
        self.framing = framing
        super().__init__(f"truncate at {keep} bytes ({framing})")

    @property
    def body(self) -> bytes:
        return self.response.body[: self.keep]

    def journal(self, entry: JournalEntry) -> Response | None:
        entry.set_response(self.response)
        entry.error = WireError(
            "truncated", after_response=True, detail=f"at {self.keep} bytes ({self.framing})"
        )
        return None


class DribbledBody(WireSignal):
    """Send the body in ``chunks`` pieces spread over ``over_ms`` milliseconds."""

    def __init__(self, response: Response, chunks: int, over_ms: float) -> None:
        self.response = response
        self.chunks = chunks
        self.over_ms = over_ms
        super().__init__(f"dribble {chunks} chunks over {over_ms} ms")

    def journal(self, entry: JournalEntry) -> Response | None:
        entry.set_response(self.response)
        return self.response

    def pieces(self) -> tuple[list[bytes], float]:
        return dribble_pieces(self.response.body, self.chunks, self.over_ms)


def dribble_pieces(body: bytes, chunks: int, over_ms: float) -> tuple[list[bytes], float]:
    """The body cut into ``chunks`` pieces, and the pause in seconds after each one."""
    size = max(1, -(-len(body) // max(1, chunks)))
    pause = over_ms / 1000.0 / max(1, chunks)
    return [body[i : i + size] for i in range(0, len(body), size)], pause


class WsClose(WireSignal):
    """Close the WebSocket: with a close ``code``, or ``abrupt`` (a TCP reset, no close frame)."""

    def __init__(self, code: int, abrupt: bool) -> None:
        self.code = code
        self.abrupt = abrupt
        super().__init__(f"ws close {'abrupt' if abrupt else code}")

    def journal(self, entry: JournalEntry) -> Response | None:
        entry.error = WireError(
            "ws_closed", after_response=True, detail="abrupt" if self.abrupt else str(self.code)
        )
        return None


class WsSilence(WireSignal):
    """Send no data for ``seconds``; the socket stays open and answers pings."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"ws silence {seconds} s")


class Gap:
    """A stream message after which ``skip`` sequence numbers are lost (``ws_gap``): the
    feed renumbers from here on, as if ``skip`` updates had been sent and never arrived."""

    __slots__ = ("message", "skip")

    def __init__(self, message: Any, skip: int) -> None:
        self.message = message
        self.skip = skip

    def __repr__(self) -> str:
        return f"Gap(skip={self.skip})"
