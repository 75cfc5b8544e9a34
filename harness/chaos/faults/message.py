"""Message faults: they act on each message a WebSocket feed sends.

``match.path`` is the feed's path and schedules count messages; ``on_message`` returns
the messages sent instead of the one given.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import Field, field_validator

from harness.chaos.faults.base import MAX_COUNT, MAX_MS, FaultContext, MessageFault, Trait
from harness.chaos.faults.response import check_corruptions, jsonable, pick_corruption
from harness.errors import messages
from harness.mock.signals import Gap, WsClose
from harness.mock.signals import WsSilence as WsSilenceSignal

__all__ = [
    "WsCorrupt",
    "WsDelay",
    "WsDisconnect",
    "WsDrop",
    "WsDuplicate",
    "WsGap",
    "WsReorder",
    "WsSilence",
]


class WsDisconnect(MessageFault):
    """The exchange closes the stream: a close frame with ``code``, or ``abrupt`` (a reset).

    ``code`` is one a close frame may carry (RFC 6455 7.4): 1000-1003, 1007-1014, or
    3000-4999 for an API's own. 1004-1006 and 1015 are reserved for what no frame says
    (1006: the connection was lost, which ``abrupt`` does), and 1016-2999 are unassigned:
    a client reads any of them as a protocol error (aiohttp: 1002), not as this code.
    """

    traits = frozenset({Trait.CLOSES_STREAM})
    kind: Literal["ws_disconnect"] = "ws_disconnect"
    code: int = Field(1011, ge=1000, le=4999)
    abrupt: bool = False

    @field_validator("code")
    @classmethod
    def _sendable(cls, value: int) -> int:
        if not (1000 <= value <= 1003 or 1007 <= value <= 1014 or 3000 <= value <= 4999):
            raise ValueError(messages.ws_close_code_reserved())
        return value

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire(code=self.code, abrupt=self.abrupt)
        raise WsClose(self.code, self.abrupt)


class WsDrop(MessageFault):
    """The message is lost."""

    traits = frozenset({Trait.BREAKS_SEQUENCE})
    kind: Literal["ws_drop"] = "ws_drop"

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire()
        return []


class WsDuplicate(MessageFault):
    """The message arrives twice."""

    kind: Literal["ws_duplicate"] = "ws_duplicate"

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire()
        return [
            message,
            json.loads(json.dumps(message)) if not isinstance(message, str) else message,
        ]


class WsReorder(MessageFault):
    """The message is held back and delivered after the next ``window`` messages."""

    traits = frozenset({Trait.BREAKS_SEQUENCE})
    kind: Literal["ws_reorder"] = "ws_reorder"
    window: int = Field(1, ge=1, le=100)

    def release(self, ctx: FaultContext) -> list[Any]:
        held: list[list[Any]] = ctx.state.setdefault("held", [])
        out = []
        for item in held:
            item[0] -= 1
        for item in [h for h in held if h[0] <= 0]:
            held.remove(item)
            out.append(item[1])
        return out

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire(window=self.window)
        ctx.state.setdefault("held", []).append([self.window + 1, message])
        return []


class WsDelay(MessageFault):
    """The message is sent ``delay_ms`` late (the messages behind it wait too)."""

    traits = frozenset({Trait.DELAYS})
    kind: Literal["ws_delay"] = "ws_delay"
    delay_ms: float = Field(ge=0, le=MAX_MS)

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire(delay_ms=self.delay_ms)
        await asyncio.sleep(self.delay_ms / 1000)
        return [message]


class WsSilence(MessageFault):
    """No data for ``seconds``: the socket stays open and answers pings."""

    kind: Literal["ws_silence"] = "ws_silence"
    seconds: float = Field(gt=0, le=86_400)

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire(seconds=self.seconds)
        raise WsSilenceSignal(self.seconds)


class WsGap(MessageFault):
    """``skip`` sequence numbers are lost before this message (updates that never arrive)."""

    traits = frozenset({Trait.BREAKS_SEQUENCE})
    kind: Literal["ws_gap"] = "ws_gap"
    skip: int = Field(5, ge=1, le=MAX_COUNT)

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        if ctx.numbered is None or not ctx.numbered(message):
            return [message]  # nothing numbered to skip
        ctx.fire(skip=self.skip)
        return [Gap(message, self.skip)]


class WsCorrupt(MessageFault):
    """The message is corrupted with one of the corruption kinds (the same functions as
    ``corrupt``), applied to its JSON."""

    traits = frozenset({Trait.TAINTS_DATA})
    kind: Literal["ws_corrupt"] = "ws_corrupt"
    corruption: str | list[str]

    @field_validator("corruption")
    @classmethod
    def _known(cls, value: str | list[str]) -> str | list[str]:
        return check_corruptions(value)

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        body = message.encode() if isinstance(message, str) else json.dumps(message).encode()
        picked = pick_corruption(self.corruption, body, ctx)
        if picked is None:
            return [message]
        kind, result = picked
        ctx.fire(corruption=kind, **jsonable(result.detail))
        return [result.body.decode("utf-8", errors="replace")]
