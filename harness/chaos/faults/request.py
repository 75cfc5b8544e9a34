"""Request-side faults: they act before the responder runs (delay, answer instead, drop)."""

from __future__ import annotations

import asyncio
import math
import random as _random
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from harness.chaos.faults.base import (
    MAX_BAN_S,
    MAX_COUNT,
    MAX_MS,
    MAX_SHIFT_S,
    MAX_WAIT_S,
    FaultContext,
    RequestFault,
    Trait,
    forever,
    json_body,
    legal_headers,
)
from harness.errors import MockConfigError
from harness.mock.dialect import REASONS, Dialect
from harness.mock.patterns import PathPattern
from harness.mock.routes import Response
from harness.mock.signals import ConnectionDrop
from harness.roles import check_role

__all__ = [
    "ClockSkew",
    "Disconnect",
    "Error",
    "Hang",
    "Latency",
    "RateLimit",
    "Reset",
]

_Z99 = 2.3263478740408408  # the standard normal's 99th percentile


class Latency(RequestFault):
    """Delay before the responder runs. One of: ``fixed_ms``; ``uniform`` (min_ms, max_ms);
    ``normal`` (mean_ms, std_ms, clipped at 0); ``lognormal`` (p50_ms, p99_ms);
    ``spike`` (base_ms, spike_ms, spike_probability). The distribution follows from the
    arguments given; ``distribution`` may name it too."""

    traits = frozenset({Trait.DELAYS})
    kind: Literal["latency"] = "latency"
    distribution: Literal["fixed", "uniform", "normal", "lognormal", "spike"] | None = None
    fixed_ms: float | None = Field(None, ge=0, le=MAX_MS)
    min_ms: float | None = Field(None, ge=0, le=MAX_MS)
    max_ms: float | None = Field(None, ge=0, le=MAX_MS)
    mean_ms: float | None = Field(None, ge=0, le=MAX_MS)
    std_ms: float | None = Field(None, ge=0, le=MAX_MS)
    p50_ms: float | None = Field(None, gt=0, le=MAX_MS)
    p99_ms: float | None = Field(None, gt=0, le=MAX_MS)
    base_ms: float | None = Field(None, ge=0, le=MAX_MS)
    spike_ms: float | None = Field(None, ge=0, le=MAX_MS)
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

    def _arg(self, name: str) -> float:
        value = getattr(self, name)
        assert value is not None, name  # the validator requires the distribution's arguments
        return float(value)

    def _lognormal(self) -> tuple[float, float]:
        mu = math.log(self._arg("p50_ms"))
        return mu, (math.log(self._arg("p99_ms")) - mu) / _Z99

    def sample_ms(self, rng: _random.Random) -> float:
        a, d = self._arg, self.distribution
        if d == "fixed":
            return a("fixed_ms")
        if d == "uniform":
            return rng.uniform(a("min_ms"), a("max_ms"))
        if d == "normal":
            return min(max(0.0, rng.gauss(a("mean_ms"), a("std_ms"))), MAX_MS)
        if d == "lognormal":
            # drawn in log space and capped there: exp() of a wide tail overflows
            mu, sigma = self._lognormal()
            return min(math.exp(min(rng.normalvariate(mu, sigma), math.log(MAX_MS))), MAX_MS)
        spike = rng.random() < a("spike_probability")
        return a("spike_ms") if spike else a("base_ms")

    def percentile_ms(self, q: float) -> float:
        """The configured q-quantile (0 < q < 1) of the delay, for accuracy checks."""
        from statistics import NormalDist

        a, d = self._arg, self.distribution
        if d == "fixed":
            return a("fixed_ms")
        if d == "uniform":
            return a("min_ms") + q * (a("max_ms") - a("min_ms"))
        if d == "normal":
            return max(0.0, NormalDist(a("mean_ms"), a("std_ms") or 1e-12).inv_cdf(q))
        if d == "lognormal":
            mu, sigma = self._lognormal()
            return math.exp(mu + sigma * NormalDist().inv_cdf(q))
        return a("spike_ms") if q > 1 - a("spike_probability") else a("base_ms")

    async def on_request(self, ctx: FaultContext) -> Response | None:
        delay = self.sample_ms(ctx.rng)
        ctx.fire(delay_ms=round(delay, 3))
        await asyncio.sleep(delay / 1000.0)
        return None


class Hang(RequestFault):
    """No answer at all: the client's own timeout decides what happens."""

    traits = frozenset({Trait.AMBIGUOUS_FOR_ORDERS, Trait.DELAYS})
    kind: Literal["hang"] = "hang"

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire()
        await forever()
        return None  # pragma: no cover - never reached


class Error(RequestFault):
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
    retry_after_s: float | None = Field(None, ge=0, le=MAX_WAIT_S)

    _json_body = field_validator("body")(json_body)
    _legal_headers = field_validator("headers")(legal_headers)

    def fired_traits(self, applied: Mapping[str, Any]) -> frozenset[Trait]:
        waits = self.retry_after_s is not None or any(
            k.lower() == "retry-after" for k in self.headers
        )
        return frozenset({Trait.LIMITS_RATE}) if waits else frozenset()

    @model_validator(mode="after")
    def _status_or_preset(self) -> Error:
        if self.status is None and self.preset is None:
            raise ValueError("give status (400..599) or preset")
        if self.status is None:
            assert self.preset is not None
            object.__setattr__(self, "status", REASONS[self.preset][0])
        if self.preset == "rate_limited" and self.retry_after_s is None:
            object.__setattr__(self, "retry_after_s", 1.0)
        return self

    def response(self, dialect: Dialect | None = None) -> Response:
        """The answer, in the server's dialect unless ``body`` gives it."""
        assert self.status is not None
        status = int(self.status)
        answer = (dialect or Dialect()).error(status, self.preset, retry_after_s=self.retry_after_s)
        headers = {**answer.headers, **self.headers}
        if self.body is None:
            answer.headers.update(self.headers)
            return answer
        if isinstance(self.body, str):
            headers.pop("Content-Type", None)
            return Response(status, text=self.body, headers=headers)
        headers.pop("Content-Type", None)
        return Response(status, json=self.body, headers=headers)

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire(status=self.status)
        return self.response(ctx.dialect)


class RateLimit(RequestFault):
    """A token bucket shared by every route it matches.

    Each request costs ``weight``, or its entry in ``weights``: keyed by role (``bars: 2``,
    for any API that declares roles) or by a path pattern starting with ``/``; the first
    key that fits the request wins. With no tokens left the answer is 429 with ``Retry-After``. A client that
    keeps sending before Retry-After elapsed commits a violation; after ``ban_after``
    violations every request gets 418 for ``ban_s`` seconds, as large exchanges do; each
    later ban lasts ``ban_factor`` times the one before (Binance's grow from 2 minutes to
    3 days for a client that keeps offending).
    """

    traits = frozenset({Trait.LIMITS_RATE})
    kind: Literal["rate_limit"] = "rate_limit"
    capacity: float = Field(gt=0, le=1e9)
    refill_per_s: float = Field(ge=0, le=1e9)
    weight: float = Field(1, gt=0, le=1e6)
    weights: dict[str, float] = Field(
        default_factory=dict, description="role (or /path pattern) -> request weight"
    )
    retry_after_s: float | None = Field(
        None,
        gt=0,
        le=MAX_WAIT_S,
        description="fixed Retry-After; default: the time to refill the request's weight",
    )
    ban_after: int | None = Field(None, ge=1, le=MAX_COUNT)
    ban_s: float = Field(60, gt=0, le=MAX_BAN_S)
    ban_factor: float = Field(1, ge=1, le=1000)

    @field_validator("weights")
    @classmethod
    def _keys_known(cls, value: dict[str, float]) -> dict[str, float]:
        for key, w in value.items():
            if key.startswith("/"):
                try:
                    PathPattern(key)
                except MockConfigError as exc:
                    raise ValueError(exc.problem) from None
            else:
                try:
                    check_role(key, "weights")
                except MockConfigError as exc:
                    raise ValueError(f"{exc.problem} (a path pattern starts with /)") from None
            if not (0 < w <= 1e6 and math.isfinite(w)):
                raise ValueError(
                    f"weight for {key!r} must be a finite number > 0 and <= 1e6 (got {w})"
                )
        return value

    def weight_of(self, rel_path: str, role: str | None = None) -> float:
        """What one request costs."""
        for key, w in self.weights.items():
            if key.startswith("/"):
                if PathPattern(key).match(rel_path) is not None:
                    return w
            elif key == role:
                return w
        return self.weight

    async def on_request(self, ctx: FaultContext) -> Response | None:
        st = ctx.state
        now = ctx.now
        if "tokens" not in st:
            st.update(
                tokens=self.capacity, at=now, wait_until=0.0, violations=0, banned_until=0.0, bans=0
            )
        st["tokens"] = min(self.capacity, st["tokens"] + (now - st["at"]) * self.refill_per_s)
        st["at"] = now
        if now < st["banned_until"]:
            # The log names the ban (its length and number), not the measured time left, so
            # a run's fault log is the same on any clock; Retry-After says what is left.
            ctx.fire(status=418, banned_for_s=st["ban_s"], ban=st["bans"])
            return ctx.dialect.error(418, "banned", retry_after_s=st["banned_until"] - now)
        cost = self.weight_of(ctx.request.rel_path, ctx.request.role)
        if st["tokens"] >= cost:
            st["tokens"] -= cost
            return None
        if now < st["wait_until"]:
            st["violations"] += 1
            if self.ban_after is not None and st["violations"] >= self.ban_after:
                ban_s = min(self.ban_s * self.ban_factor ** min(st["bans"], 64), MAX_BAN_S)
                st["banned_until"] = now + ban_s
                st["violations"] = 0
                st["bans"] += 1
                st["ban_s"] = ban_s
                ctx.fire(status=418, banned_for_s=ban_s, ban=st["bans"])
                return ctx.dialect.error(418, "banned", retry_after_s=ban_s)
        if self.retry_after_s is not None:
            wait = self.retry_after_s
        elif self.refill_per_s > 0:
            # The time to refill the request's whole weight: never less than the bucket
            # needs (a client that waits it out gets through), and drawn from the fault's
            # parameters, not from when the request came, so the fault log of a run is the
            # same whatever the machine's speed.
            wait = min(cost / self.refill_per_s, MAX_WAIT_S)
        else:
            wait = self.ban_s
        st["wait_until"] = now + wait
        ctx.fire(status=429, retry_after_s=round(wait, 3), violations=st["violations"])
        return ctx.dialect.error(429, "rate_limited", retry_after_s=wait)


class ClockSkew(RequestFault):
    """The exchange's clock runs ``offset_s`` seconds ahead (positive) or behind (negative)
    for the requests it matches: server times shift, and signed requests are checked against
    the skewed clock (Binance answers -1021 outside recvWindow)."""

    kind: Literal["clock_skew"] = "clock_skew"
    offset_s: float

    @field_validator("offset_s")
    @classmethod
    def _not_zero(cls, value: float) -> float:
        if value == 0 or not math.isfinite(value) or abs(value) > MAX_SHIFT_S:
            raise ValueError(
                f"must be a finite, non-zero number of seconds, at most {MAX_SHIFT_S:g} "
                "(ten years) either way"
            )
        return value

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.request.context["clock_offset_s"] = (
            ctx.request.context.get("clock_offset_s", 0.0) + self.offset_s
        )
        ctx.fire()
        return None


class Disconnect(RequestFault):
    """The server closes the connection without answering (``ServerDisconnectedError``)."""

    traits = frozenset({Trait.AMBIGUOUS_FOR_ORDERS})
    kind: Literal["disconnect"] = "disconnect"

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire()
        raise ConnectionDrop("disconnect")


class Reset(RequestFault):
    """Connection reset by peer (``ClientOSError``, errno ECONNRESET)."""

    traits = frozenset({Trait.AMBIGUOUS_FOR_ORDERS})
    kind: Literal["reset"] = "reset"

    async def on_request(self, ctx: FaultContext) -> Response | None:
        ctx.fire()
        raise ConnectionDrop("reset")
