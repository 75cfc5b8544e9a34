"""Response-side faults: they act on the response the responder produced."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Mapping
from datetime import datetime, timedelta
from difflib import get_close_matches
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from harness import corruptions
from harness.chaos.faults.base import (
    MAX_COUNT,
    MAX_MS,
    MAX_SHIFT_S,
    FaultContext,
    ResponseFault,
    Trait,
    forever,
    json_body,
)
from harness.mock.routes import Response
from harness.mock.signals import ConnectionDrop, DribbledBody, TruncatedBody

__all__ = ["AckLost", "Corrupt", "Dribble", "Stale", "Truncate"]


class Truncate(ResponseFault):
    """Cut the body after ``bytes`` or a ``fraction`` of it, then close the connection.

    ``framing: content_length`` (default) announces the full length, so the client sees
    ``ClientPayloadError``; ``framing: close`` announces none, so the body just ends and
    the client sees broken JSON.
    """

    traits = frozenset({Trait.TAINTS_DATA})
    kind: Literal["truncate"] = "truncate"
    bytes: int | None = Field(None, ge=0, le=MAX_COUNT)
    fraction: float | None = Field(None, ge=0, lt=1)
    framing: Literal["content_length", "close"] = "content_length"

    @model_validator(mode="after")
    def _one_of(self) -> Truncate:
        if (self.bytes is None) == (self.fraction is None):
            raise ValueError("give exactly one of bytes or fraction")
        return self

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        size = len(response.body)
        keep = self.bytes if self.bytes is not None else int(size * (self.fraction or 0))
        if keep >= size:
            return response  # nothing to cut: the fault does not fire
        ctx.fire(kept_bytes=keep, of_bytes=size)
        raise TruncatedBody(response, keep, self.framing)


class Dribble(ResponseFault):
    """The body arrives slowly: ``chunks`` pieces spread over ``over_ms`` milliseconds (a
    client's ``sock_read`` timeout can fire between two pieces)."""

    traits = frozenset({Trait.DELAYS})
    kind: Literal["dribble"] = "dribble"
    chunks: int = Field(4, ge=1, le=10_000)
    over_ms: float = Field(ge=0, le=MAX_MS)

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        if len(response.body) < 2:
            return response
        ctx.fire(chunks=min(self.chunks, len(response.body)))
        raise DribbledBody(response, min(self.chunks, len(response.body)), self.over_ms)


class Corrupt(ResponseFault):
    """Corrupt the body: one corruption, or one picked per firing from a list."""

    traits = frozenset({Trait.TAINTS_DATA})
    kind: Literal["corrupt"] = "corrupt"
    corruption: str | list[str] = Field(
        description=f"one or more of {', '.join(corruptions.KINDS)}"
    )

    @field_validator("corruption")
    @classmethod
    def _known(cls, value: str | list[str]) -> str | list[str]:
        return check_corruptions(value)

    def fired_traits(self, applied: Mapping[str, Any]) -> frozenset[Trait]:
        return frozenset() if applied.get("corruption") in corruptions.BENIGN else self.traits

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        picked = pick_corruption(self.corruption, response.body, ctx)
        if picked is None:
            return response
        kind, result = picked
        new = response.copy()
        new.body = result.body
        if result.content_type:
            new.headers["Content-Type"] = result.content_type
        ctx.fire(corruption=kind, **jsonable(result.detail))
        return new


def check_corruptions(value: str | list[str]) -> str | list[str]:
    """A validator: every name is a corruption kind (with a did-you-mean hint)."""
    kinds = [value] if isinstance(value, str) else value
    if not kinds:
        raise ValueError("give at least one corruption")
    for k in kinds:
        if k not in corruptions.KINDS:
            near = get_close_matches(k, corruptions.KINDS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ValueError(
                f"unknown corruption {k!r}{hint}; known: {', '.join(corruptions.KINDS)}"
            )
    return value


def pick_corruption(
    kinds: str | list[str], body: bytes, ctx: FaultContext
) -> tuple[str, corruptions.Corruption] | None:
    """The first corruption (in a seeded order) that applies to this body."""
    order = [kinds] if isinstance(kinds, str) else list(kinds)
    ctx.rng.shuffle(order)
    for kind in order:
        try:
            return kind, corruptions.corrupt_body(kind, body, ctx.rng)
        except corruptions.NotApplicable:
            continue
    return None


def jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(detail, default=str, allow_nan=True).replace("NaN", '"NaN"'))


_TS_KEY = re.compile(
    r"^(t|T|E|ts|time|timestamp|serverTime|openTime|closeTime|updateTime|"
    r"transactTime|eventTime|tradeTime|created_at|updated_at)$"
)


def _shift_timestamps(value: Any, shift_s: float) -> tuple[Any, int]:
    shifted = 0

    def shift(v: Any) -> Any:
        nonlocal shifted
        when = _iso(v)
        if when is not None:  # an RFC 3339 time, as Alpaca and many REST APIs write it
            shifted += 1
            moved = when - timedelta(seconds=shift_s)
            text = moved.isoformat()
            return text.replace("+00:00", "Z") if str(v).endswith("Z") else text
        number = float(v)
        if number > 1e11:  # milliseconds
            new = number - shift_s * 1000
        elif number > 1e8:  # seconds
            new = number - shift_s
        else:
            return v
        shifted += 1
        out: Any = int(new) if isinstance(v, int) or (isinstance(v, str) and "." not in v) else new
        return str(out) if isinstance(v, str) else out

    def walk(v: Any, key: Any = None) -> Any:
        if isinstance(v, dict):
            return {
                k: (shift(x) if _TS_KEY.match(str(k)) and _is_ts(x) else walk(x, k))
                for k, x in v.items()
            }
        if isinstance(v, list):
            if len(v) >= 6 and _is_ts(v[0]) and not isinstance(v[0], (list, dict)):
                row = list(v)  # a kline row: open time at 0, close time at 6
                row[0] = shift(row[0])
                if len(row) > 6 and _is_ts(row[6]):
                    row[6] = shift(row[6])
                return row
            return [walk(x) for x in v]
        return v

    return walk(value), shifted


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def _iso(v: Any) -> datetime | None:
    """An RFC 3339 timestamp with a zone (nanoseconds are cut to microseconds), else None."""
    if not isinstance(v, str) or not _ISO.match(v):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", v).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_ts(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if _iso(v) is not None:
        return True
    try:
        return float(v) > 1e8
    except (TypeError, ValueError):
        return False


class Stale(ResponseFault):
    """Serve old data: the body this route returned ``age`` responses ago, or the current
    body with every timestamp field moved back by ``shift_s`` seconds."""

    traits = frozenset({Trait.TAINTS_DATA})
    kind: Literal["stale"] = "stale"
    age: int | None = Field(None, ge=1, le=10_000)
    shift_s: float | None = Field(None, gt=0, le=MAX_SHIFT_S)

    @model_validator(mode="after")
    def _one_of(self) -> Stale:
        if (self.age is None) == (self.shift_s is None):
            raise ValueError("give exactly one of age or shift_s")
        return self

    def observe(self, ctx: FaultContext, response: Response) -> None:
        if self.age is not None:
            history = ctx.state.setdefault("history", deque(maxlen=self.age + 1))
            history.append(response)

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        if self.age is not None:
            history: deque[Response] = ctx.state.get("history", deque())
            if len(history) <= self.age:
                return response  # not enough history yet: the fault does not fire
            old = history[0]
            ctx.fire(age=self.age)
            return old.copy()
        try:
            value = json.loads(response.body)
        except ValueError:
            return response
        new_value, count = _shift_timestamps(value, self.shift_s or 0)
        if not count:
            return response
        new = response.copy()
        new.body = json.dumps(new_value, separators=(",", ":")).encode()
        ctx.fire(shift_s=self.shift_s, timestamps=count)
        return new


class AckLost(ResponseFault):
    """The responder runs (the order is placed), then the answer is lost: the connection
    drops (``mode: disconnect``), nothing ever arrives (``mode: hang``), or a gateway
    answers an error ``status`` instead (``mode: status``: 502, 503, 504, or a 500 in the
    exchange's error format; ``body`` overrides it). Giving ``status`` implies the mode."""

    traits = frozenset({Trait.AMBIGUOUS_FOR_ORDERS})
    kind: Literal["ack_lost"] = "ack_lost"
    mode: Literal["disconnect", "hang", "status"] | None = None
    status: int | None = Field(None, ge=500, le=599, description="the status the client gets")
    body: Any = Field(None, description="JSON value (or a string) to answer with")

    _json_body = field_validator("body")(json_body)

    @model_validator(mode="after")
    def _mode_and_status(self) -> AckLost:
        mode = self.mode or ("status" if self.status is not None else "disconnect")
        if mode == "status" and self.status is None:
            raise ValueError("mode 'status' needs a status (500..599)")
        if mode != "status" and (self.status is not None or self.body is not None):
            raise ValueError(f"status and body go with mode 'status', not {mode!r}")
        object.__setattr__(self, "mode", mode)
        return self

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        if self.mode == "status":
            assert self.status is not None
            ctx.fire(mode="status", lost_status=response.status, status=self.status)
            if self.body is None:
                return ctx.dialect.error(self.status)
            if isinstance(self.body, str):
                return Response(self.status, text=self.body)
            return Response(self.status, json=self.body)
        ctx.fire(mode=self.mode, lost_status=response.status)
        if self.mode == "disconnect":
            raise ConnectionDrop("disconnect", after_response=True)
        await forever()
        return response  # pragma: no cover - never reached
