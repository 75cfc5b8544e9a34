"""One small class per fault kind. Each says what it does to an exchange; nothing else.

Faults register themselves by ``kind`` (so YAML ``kind: latency`` finds its class), and
carry a ``match`` and a ``schedule`` that the engine applies uniformly. Arguments are
validated at construction and errors name the argument:
``latency: p99_ms=50 must be >= p50_ms=80``.
"""

from __future__ import annotations

import asyncio
import json
import math
import random as _random
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness import corruptions
from harness.chaos.schedule import Match, Schedule
from harness.errors import ConnectionDrop, DribbledBody, FaultConfigError, TruncatedBody, WsClose
from harness.errors import WsSilence as WsSilenceSignal
from harness.mock.routes import PathPattern, Request, Response, Route

__all__ = [
    "AckLost",
    "ClockSkew",
    "Corrupt",
    "Disconnect",
    "Dribble",
    "Error",
    "Fault",
    "FaultContext",
    "Hang",
    "Latency",
    "RateLimit",
    "Reset",
    "Stale",
    "Truncate",
    "WsCorrupt",
    "WsDelay",
    "WsDisconnect",
    "WsDrop",
    "WsDuplicate",
    "WsGap",
    "WsReorder",
    "WsSilence",
    "registry",
]

_REGISTRY: dict[str, type[Fault]] = {}


def registry() -> MappingProxyType[str, type[Fault]]:
    """Every fault kind, read-only: ``registry()["latency"] is Latency``."""
    return MappingProxyType(_REGISTRY)


@dataclass
class FaultContext:
    """What a fault may use while acting on one request."""

    request: Request
    route: Route
    rng: _random.Random
    state: dict[str, Any]
    now: float
    """Seconds since the test started (the server's clock)."""
    applied: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    on_fire: Callable[[FaultContext], None] | None = None

    def fire(self, **applied: Any) -> None:
        """Mark the fault as fired, with what it actually did; logged at once (a hang never
        returns, and its log line must not wait for the test to end)."""
        self.applied = applied
        if self.on_fire is not None:
            self.on_fire(self)


def clean_message(err: Mapping[str, Any], known: Iterable[str] = ()) -> str:
    """A pydantic error message, as a sentence that follows ``name=value``."""
    message = str(err["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if err["type"] == "extra_forbidden":
        name = str(err["loc"][-1]) if err["loc"] else ""
        near = get_close_matches(name, list(known), n=1, cutoff=0.6)
        message = "is not a known field" + (f" (did you mean {near[0]!r}?)" if near else "")
    elif message[:1].isupper() and not message[:2].isupper():
        message = message[0].lower() + message[1:]
    return message


def _problems(exc: ValidationError, known: Iterable[str] = ()) -> list[tuple[str, object, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        value = err.get("input") if loc else None
        out.append((loc, value, clean_message(err, known)))
    return out


class _FaultMeta(type(BaseModel)):  # type: ignore[misc]
    """Turns pydantic's ValidationError into FaultConfigError when Python code builds a fault.

    Only direct calls (``faults.Latency(...)``) go through here; scenario validation builds
    faults inside pydantic, which keeps each error's field location for file:line reports.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            kind = cls.model_fields["kind"].default or cls.__name__.lower()
            raise FaultConfigError.from_problems(
                str(kind), _problems(exc, cls.model_fields)
            ) from None


class Fault(BaseModel, metaclass=_FaultMeta):
    """Base of every fault. Subclasses declare ``kind: Literal["name"] = "name"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: ClassVar[Literal["request", "response", "message"]] = "request"
    kind: str
    match: Match = Field(default_factory=Match, description="requests this fault considers")
    schedule: Schedule = Field(default_factory=Schedule, description="when it fires")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        kind = cls.model_fields["kind"].default
        if not isinstance(kind, str) or not kind:
            return  # an abstract intermediate class
        if kind in _REGISTRY and _REGISTRY[kind].__qualname__ != cls.__qualname__:
            raise TypeError(f"fault kind {kind!r} is already registered by {_REGISTRY[kind]!r}")
        _REGISTRY[kind] = cls

    def parameters(self) -> dict[str, Any]:
        """The fault's own arguments (no kind, match or schedule), as logged."""
        return self.model_dump(
            mode="json", exclude={"kind", "match", "schedule"}, exclude_none=True
        )

    async def on_request(self, ctx: FaultContext) -> Response | None:
        """Request side: delay, answer instead of the responder, or drop the connection."""
        raise NotImplementedError

    def observe(self, ctx: FaultContext, response: Response) -> None:
        """Response side: see every matching response, fired or not (for history)."""

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        """Response side: change or lose the response the responder produced."""
        raise NotImplementedError


async def _forever() -> None:
    await asyncio.Event().wait()


# -- request side ---------------------------------------------------------------------------

_Z99 = 2.3263478740408408  # the standard normal's 99th percentile


class Latency(Fault):
    """Delay before the responder runs. One of: ``fixed_ms``; ``uniform`` (min_ms, max_ms);
    ``normal`` (mean_ms, std_ms, clipped at 0); ``lognormal`` (p50_ms, p99_ms);
    ``spike`` (base_ms, spike_ms, spike_probability). The distribution follows from the
    arguments given; ``distribution`` may name it too."""

    kind: Literal["latency"] = "latency"
    distribution: Literal["fixed", "uniform", "normal", "lognormal", "spike"] | None = None
    fixed_ms: float | None = Field(None, ge=0)
    min_ms: float | None = Field(None, ge=0)
    max_ms: float | None = Field(None, ge=0)
    mean_ms: float | None = Field(None, ge=0)
    std_ms: float | None = Field(None, ge=0)
    p50_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    base_ms: float | None = Field(None, ge=0)
    spike_ms: float | None = Field(None, ge=0)
    spike_probability: float | None = Field(None, ge=0, le=1)

    _ARGS: ClassVar[dict[str, tuple[str, ...]]] = {
        "fixed": ("fixed_ms",),
        "uniform": ("min_ms", "max_ms"),
        "normal": ("mean_ms", "std_ms"),
        "lognormal": ("p50_ms", "p99_ms"),
        "spike": ("base_ms", "spike_ms", "spike_probability"),
    }

    _LOWER: ClassVar[dict[str, str]] = {"max_ms": "min_ms", "p99_ms": "p50_ms"}

    @field_validator("max_ms", "p99_ms")
    @classmethod
    def _not_below_its_lower_bound(cls, v: float | None, info: ValidationInfo) -> float | None:
        lower_name = cls._LOWER[str(info.field_name)]
        lower = info.data.get(lower_name)
        if v is not None and lower is not None and v < lower:
            raise ValueError(f"must be >= {lower_name}={lower:g}")
        return v

    @model_validator(mode="after")
    def _one_distribution(self) -> Latency:
        given = {name for name in self._all_args() if getattr(self, name) is not None}
        families = [d for d, args in self._ARGS.items() if given & set(args)]
        if self.distribution is not None:
            if families and families != [self.distribution]:
                raise ValueError(
                    f"distribution={self.distribution!r} takes "
                    f"{', '.join(self._ARGS[self.distribution])}"
                    f"; got {', '.join(sorted(given))}"
                )
            families = [self.distribution]
        if len(families) != 1:
            raise ValueError(
                "give exactly one distribution: fixed_ms; min_ms+max_ms; mean_ms+std_ms; "
                "p50_ms+p99_ms; or base_ms+spike_ms+spike_probability"
                + (f" (got {', '.join(sorted(given))})" if given else "")
            )
        missing = [a for a in self._ARGS[families[0]] if getattr(self, a) is None]
        if missing:
            raise ValueError(f"{families[0]} latency needs {', '.join(missing)}")
        object.__setattr__(self, "distribution", families[0])
        return self

    @classmethod
    def _all_args(cls) -> tuple[str, ...]:
        return tuple(a for args in cls._ARGS.values() for a in args)

    def sample_ms(self, rng: _random.Random) -> float:
        d = self.distribution
        if d == "fixed":
            return float(self.fixed_ms)  # type: ignore[arg-type]
        if d == "uniform":
            return rng.uniform(self.min_ms, self.max_ms)  # type: ignore[arg-type]
        if d == "normal":
            return max(0.0, rng.gauss(self.mean_ms, self.std_ms))  # type: ignore[arg-type]
        if d == "lognormal":
            mu = math.log(self.p50_ms)  # type: ignore[arg-type]
            sigma = (math.log(self.p99_ms) - mu) / _Z99  # type: ignore[arg-type]
            return rng.lognormvariate(mu, sigma)
        spike = rng.random() < self.spike_probability  # type: ignore[operator]
        return float(self.spike_ms if spike else self.base_ms)  # type: ignore[arg-type]

    def percentile_ms(self, q: float) -> float:
        """The configured q-quantile (0 < q < 1) of the delay, for accuracy checks."""
        from statistics import NormalDist

        d = self.distribution
        if d == "fixed":
            return float(self.fixed_ms)  # type: ignore[arg-type]
        if d == "uniform":
            return self.min_ms + q * (self.max_ms - self.min_ms)  # type: ignore[operator]
        if d == "normal":
            return max(0.0, NormalDist(self.mean_ms, self.std_ms or 1e-12).inv_cdf(q))  # type: ignore[arg-type]
        if d == "lognormal":
            mu = math.log(self.p50_ms)  # type: ignore[arg-type]
            sigma = (math.log(self.p99_ms) - mu) / _Z99  # type: ignore[arg-type]
            return math.exp(mu + sigma * NormalDist().inv_cdf(q))
        return float(self.spike_ms if q > 1 - self.spike_probability else self.base_ms)  # type: ignore[operator,arg-type]

    async def on_request(self, ctx: FaultContext) -> Response | None:
        delay = self.sample_ms(ctx.rng)
        ctx.fire(delay_ms=round(delay, 3))
        await asyncio.sleep(delay / 1000.0)
        return None


class Hang(Fault):
    """No answer at all: the client's own timeout decides what happens."""

    kind: Literal["hang"] = "hang"

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire()
        await _forever()
        return None  # pragma: no cover - never reached


_PRESETS: dict[str, tuple[int, str]] = {
    "rate_limited": (429, "Too many requests; current limit is exceeded"),
    "banned": (418, "IP banned until further notice for repeated rate-limit violations"),
    "internal": (500, "Internal server error"),
    "bad_gateway": (502, "Bad gateway"),
    "maintenance": (503, "Service unavailable: the exchange is under maintenance"),
    "gateway_timeout": (504, "Gateway timeout"),
}


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message}}


class Error(Fault):
    """Answer with an error status instead of the responder. ``preset`` picks a common one:
    rate_limited (429 with Retry-After), banned (418), internal (500), bad_gateway (502),
    maintenance (503), gateway_timeout (504)."""

    kind: Literal["error"] = "error"
    preset: (
        Literal[
            "rate_limited", "banned", "internal", "bad_gateway", "maintenance", "gateway_timeout"
        ]
        | None
    ) = None
    status: int | None = Field(None, ge=400, le=599)
    body: Any = Field(None, description="JSON value (or a string) to answer with")
    headers: dict[str, str] = Field(default_factory=dict)
    retry_after_s: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _status_or_preset(self) -> Error:
        if self.status is None and self.preset is None:
            raise ValueError("give status (400..599) or preset")
        if self.status is None:
            object.__setattr__(self, "status", _PRESETS[self.preset][0])  # type: ignore[index]
        if self.preset == "rate_limited" and self.retry_after_s is None:
            object.__setattr__(self, "retry_after_s", 1.0)
        return self

    def response(self) -> Response:
        status = int(self.status)  # type: ignore[arg-type]
        message = _PRESETS[self.preset][1] if self.preset else f"HTTP {status}"
        headers = dict(self.headers)
        if self.retry_after_s is not None:
            headers.setdefault("Retry-After", _retry_after(self.retry_after_s))
        if isinstance(self.body, str):
            return Response(status, text=self.body, headers=headers)
        body = self.body if self.body is not None else _error_body(status, message)
        return Response(status, json=body, headers=headers)

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire(status=self.status)
        return self.response()


def _retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds))) if seconds >= 1 or seconds == 0 else f"{seconds:g}"


class RateLimit(Fault):
    """A token bucket shared by every route it matches.

    Each request costs ``weight`` (or the weight of the first ``weights`` pattern its path
    matches); with no tokens left the answer is 429 with ``Retry-After``. A client that
    keeps sending before Retry-After elapsed commits a violation; after ``ban_after``
    violations every request gets 418 for ``ban_s`` seconds, as large exchanges do.
    """

    kind: Literal["rate_limit"] = "rate_limit"
    capacity: float = Field(gt=0)
    refill_per_s: float = Field(ge=0)
    weight: float = Field(1, gt=0)
    weights: dict[str, float] = Field(
        default_factory=dict, description="path pattern -> request weight"
    )
    retry_after_s: float | None = Field(
        None, gt=0, description="fixed Retry-After; default: until the bucket holds the weight"
    )
    ban_after: int | None = Field(None, ge=1)
    ban_s: float = Field(60, gt=0)

    @field_validator("weights")
    @classmethod
    def _patterns_compile(cls, value: dict[str, float]) -> dict[str, float]:
        for pattern, w in value.items():
            PathPattern(pattern)
            if w <= 0:
                raise ValueError(f"weight for {pattern!r} must be > 0 (got {w})")
        return value

    def weight_of(self, rel_path: str) -> float:
        for pattern, w in self.weights.items():
            if PathPattern(pattern).match(rel_path) is not None:
                return w
        return self.weight

    async def on_request(self, ctx: FaultContext) -> Response | None:
        st = ctx.state
        now = ctx.now
        if "tokens" not in st:
            st.update(tokens=self.capacity, at=now, wait_until=0.0, violations=0, banned_until=0.0)
        st["tokens"] = min(self.capacity, st["tokens"] + (now - st["at"]) * self.refill_per_s)
        st["at"] = now
        if now < st["banned_until"]:
            remaining = st["banned_until"] - now
            ctx.fire(status=418, banned_for_s=round(remaining, 3))
            return Response(
                418,
                json=_error_body(418, _PRESETS["banned"][1]),
                headers={"Retry-After": _retry_after(remaining)},
            )
        cost = self.weight_of(ctx.extra.get("rel_path", ctx.request.path))
        if st["tokens"] >= cost:
            st["tokens"] -= cost
            return None
        if now < st["wait_until"]:
            st["violations"] += 1
            if self.ban_after is not None and st["violations"] >= self.ban_after:
                st["banned_until"] = now + self.ban_s
                st["violations"] = 0
                ctx.fire(status=418, banned_for_s=self.ban_s)
                return Response(
                    418,
                    json=_error_body(418, _PRESETS["banned"][1]),
                    headers={"Retry-After": _retry_after(self.ban_s)},
                )
        if self.retry_after_s is not None:
            wait = self.retry_after_s
        elif self.refill_per_s > 0:
            wait = (cost - st["tokens"]) / self.refill_per_s
        else:
            wait = self.ban_s
        st["wait_until"] = now + wait
        ctx.fire(status=429, retry_after_s=round(wait, 3), violations=st["violations"])
        return Response(
            429,
            json=_error_body(429, _PRESETS["rate_limited"][1]),
            headers={"Retry-After": _retry_after(wait)},
        )


class ClockSkew(Fault):
    """The exchange's clock runs ``offset_s`` seconds ahead (positive) or behind (negative)
    for the requests it matches: server times shift, and signed requests are checked against
    the skewed clock (Binance answers -1021 outside recvWindow)."""

    kind: Literal["clock_skew"] = "clock_skew"
    offset_s: float

    @field_validator("offset_s")
    @classmethod
    def _not_zero(cls, value: float) -> float:
        if value == 0 or not math.isfinite(value):
            raise ValueError("must be a finite, non-zero number of seconds")
        return value

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.request.context["clock_offset_s"] = (
            ctx.request.context.get("clock_offset_s", 0.0) + self.offset_s
        )
        ctx.fire()
        return None


class Disconnect(Fault):
    """The server closes the connection without answering (``ServerDisconnectedError``)."""

    kind: Literal["disconnect"] = "disconnect"

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire()
        raise ConnectionDrop("disconnect")


class Reset(Fault):
    """Connection reset by peer (``ClientOSError``, errno ECONNRESET)."""

    kind: Literal["reset"] = "reset"

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire()
        raise ConnectionDrop("reset")


# -- response side -------------------------------------------------------------------------


class Truncate(Fault):
    """Cut the body after ``bytes`` or a ``fraction`` of it, then close the connection.

    ``framing: content_length`` (default) announces the full length, so the client sees
    ``ClientPayloadError``; ``framing: close`` announces none, so the body just ends and
    the client sees broken JSON.
    """

    side: ClassVar[Literal["request", "response"]] = "response"
    kind: Literal["truncate"] = "truncate"
    bytes: int | None = Field(None, ge=0)
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


class Dribble(Fault):
    """The body arrives slowly: ``chunks`` pieces spread over ``over_ms`` milliseconds (a
    client's ``sock_read`` timeout can fire between two pieces)."""

    side: ClassVar[Literal["request", "response"]] = "response"
    kind: Literal["dribble"] = "dribble"
    chunks: int = Field(4, ge=1)
    over_ms: float = Field(ge=0)

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        if len(response.body) < 2:
            return response
        ctx.fire(chunks=min(self.chunks, len(response.body)))
        raise DribbledBody(response, min(self.chunks, len(response.body)), self.over_ms)


class Corrupt(Fault):
    """Corrupt the body: one corruption, or one picked per firing from a list."""

    side: ClassVar[Literal["request", "response"]] = "response"
    kind: Literal["corrupt"] = "corrupt"
    corruption: str | list[str] = Field(
        description=f"one or more of {', '.join(corruptions.KINDS)}"
    )

    @field_validator("corruption")
    @classmethod
    def _known(cls, value: str | list[str]) -> str | list[str]:
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

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        kinds = [self.corruption] if isinstance(self.corruption, str) else list(self.corruption)
        order = list(kinds)
        ctx.rng.shuffle(order)
        for kind in order:  # the first (in a seeded order) that applies to this body
            try:
                result = corruptions.corrupt_body(kind, response.body, ctx.rng)
            except corruptions.NotApplicable:
                continue
            new = response.copy()
            new.body = result.body
            if result.content_type:
                new.headers["Content-Type"] = result.content_type
            ctx.fire(corruption=kind, **_jsonable(result.detail))
            return new
        return response


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(detail, default=str, allow_nan=True).replace("NaN", '"NaN"'))


_TS_KEY = re.compile(
    r"^(t|T|E|ts|time|timestamp|serverTime|openTime|closeTime|updateTime|"
    r"transactTime|eventTime|tradeTime|created_at|updated_at)$"
)


def _shift_timestamps(value: Any, shift_s: float) -> tuple[Any, int]:
    shifted = 0

    def shift(v: Any) -> Any:
        nonlocal shifted
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


def _is_ts(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    try:
        return float(v) > 1e8
    except (TypeError, ValueError):
        return False


class Stale(Fault):
    """Serve old data: the body this route returned ``age`` responses ago, or the current
    body with every timestamp field moved back by ``shift_s`` seconds."""

    side: ClassVar[Literal["request", "response"]] = "response"
    kind: Literal["stale"] = "stale"
    age: int | None = Field(None, ge=1)
    shift_s: float | None = Field(None, gt=0)

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


class AckLost(Fault):
    """The responder runs (the order is placed), then the answer is lost: the connection
    drops (``mode: disconnect``) or nothing ever arrives (``mode: hang``)."""

    side: ClassVar[Literal["request", "response"]] = "response"
    kind: Literal["ack_lost"] = "ack_lost"
    mode: Literal["disconnect", "hang"] = "disconnect"

    async def on_response(self, ctx: FaultContext, response: Response) -> Response:
        ctx.fire(mode=self.mode, lost_status=response.status)
        if self.mode == "disconnect":
            raise ConnectionDrop("disconnect", after_response=True)
        await _forever()
        return response  # pragma: no cover - never reached


# -- WebSocket messages ----------------------------------------------------------------------
# Side "message": they act on each message a WebSocket feed sends; ``match.path`` is the
# feed's path and schedules count messages. ``on_message`` returns what is sent instead.


class _MessageFault(Fault):
    side: ClassVar[Literal["request", "response", "message"]] = "message"  # type: ignore[assignment]

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        raise NotImplementedError


class WsDisconnect(_MessageFault):
    """The exchange closes the stream: a close frame with ``code``, or ``abrupt`` (a reset)."""

    kind: Literal["ws_disconnect"] = "ws_disconnect"
    code: int = Field(1011, ge=1000, le=4999)
    abrupt: bool = False

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire(code=self.code, abrupt=self.abrupt)
        raise WsClose(self.code, self.abrupt)


class WsDrop(_MessageFault):
    """The message is lost."""

    kind: Literal["ws_drop"] = "ws_drop"

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire()
        return []


class WsDuplicate(_MessageFault):
    """The message arrives twice."""

    kind: Literal["ws_duplicate"] = "ws_duplicate"

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire()
        return [
            message,
            json.loads(json.dumps(message)) if not isinstance(message, str) else message,
        ]


class WsReorder(_MessageFault):
    """The message is held back and delivered after the next ``window`` messages."""

    kind: Literal["ws_reorder"] = "ws_reorder"
    window: int = Field(1, ge=1, le=100)

    def observe_message(self, ctx: FaultContext, message: Any) -> list[Any]:
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


class WsDelay(_MessageFault):
    """The message is sent ``delay_ms`` late (the messages behind it wait too)."""

    kind: Literal["ws_delay"] = "ws_delay"
    delay_ms: float = Field(ge=0)

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire(delay_ms=self.delay_ms)
        await asyncio.sleep(self.delay_ms / 1000)
        return [message]


class WsSilence(_MessageFault):
    """No data for ``seconds``: the socket stays open and answers pings."""

    kind: Literal["ws_silence"] = "ws_silence"
    seconds: float = Field(gt=0)

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        ctx.fire(seconds=self.seconds)
        raise WsSilenceSignal(self.seconds)


class WsGap(_MessageFault):
    """``skip`` sequence numbers are lost before this message (updates that never arrive)."""

    kind: Literal["ws_gap"] = "ws_gap"
    skip: int = Field(5, ge=1)

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        if not isinstance(message, dict) or not ({"seq", "U"} & set(message)):
            return [message]  # nothing numbered to skip
        ctx.fire(skip=self.skip)
        return [{**message, "__gap__": self.skip}]


class WsCorrupt(_MessageFault):
    """The message is corrupted with one of the corruption kinds (the same functions as
    ``corrupt``), applied to its JSON."""

    kind: Literal["ws_corrupt"] = "ws_corrupt"
    corruption: str | list[str]

    _check = field_validator("corruption")(Corrupt._known.__func__)  # type: ignore[attr-defined]

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:
        kinds = [self.corruption] if isinstance(self.corruption, str) else list(self.corruption)
        ctx.rng.shuffle(kinds)
        body = message.encode() if isinstance(message, str) else json.dumps(message).encode()
        for kind in kinds:
            try:
                result = corruptions.corrupt_body(kind, body, ctx.rng)
            except corruptions.NotApplicable:
                continue
            ctx.fire(corruption=kind, **_jsonable(result.detail))
            return [result.body.decode("utf-8", errors="replace")]
        return [message]
