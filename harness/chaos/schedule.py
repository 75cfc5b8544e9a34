"""Which requests a fault considers (``Match``) and when it fires (``Schedule``).

Both are applied by the engine, uniformly, for every fault kind: a fault only says what
it does, never when (the way Toxiproxy's ToxicWrapper holds toxicity for every toxic).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from harness.errors import MockConfigError
from harness.mock.patterns import (
    All,
    Method,
    Path,
    PathPattern,
    Pattern,
    Query,
    RequestLike,
    Role,
)
from harness.roles import ROLES, check_role

__all__ = ["Match", "Schedule", "ScheduleState", "Window"]

_METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WS", "*"))


class Match(BaseModel):
    """Requests a fault considers: method(s), path pattern, query subset, role(s). Empty: all."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    method: str | list[str] | None = Field(None, description="GET, POST, ... or a list of them")
    path: str | None = Field(
        None, description="a route path pattern: exact, {name} placeholders, * and ** globs"
    )
    query: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="query parameters the request must carry"
    )
    role: str | list[str] | None = Field(
        None,
        description="what the endpoint is for, one or a list: " + ", ".join(ROLES),
        json_schema_extra={
            "anyOf": [
                {"enum": list(ROLES)},
                {"type": "array", "items": {"enum": list(ROLES)}, "minItems": 1},
                {"type": "null"},
            ]
        },
    )
    _pattern: Pattern = PrivateAttr()

    @field_validator("method")
    @classmethod
    def _known_methods(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None:
            return None
        methods = [value] if isinstance(value, str) else value
        for m in methods:
            if m.upper() not in _METHODS:
                raise ValueError(f"unknown HTTP method {m!r} (expected one of {sorted(_METHODS)})")
        return value

    @field_validator("role")
    @classmethod
    def _known_roles(cls, value: str | list[str] | None) -> str | list[str] | None:
        for role in [value] if isinstance(value, str) else value or []:
            try:
                check_role(role, "match.role")
            except MockConfigError as exc:
                raise ValueError(exc.problem) from None
        if isinstance(value, list) and not value:
            raise ValueError("give at least one role")
        return value

    @field_validator("path")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                PathPattern(value)
            except MockConfigError as exc:
                raise ValueError(exc.problem) from None
        return value

    def model_post_init(self, __context: object) -> None:
        parts: list[Pattern] = []
        if self.method is not None:
            parts.append(Method(self.method))
        if self.path is not None:
            parts.append(Path(self.path))
        if self.query:
            parts.append(Query(self.query))
        if self.role is not None:
            parts.append(Role(self.role))
        self._pattern = All(*parts)

    @property
    def pattern(self) -> Pattern:
        """The request pattern this match stands for (the one routes use too)."""
        return self._pattern

    def matches(self, request: RequestLike) -> bool:
        return self._pattern.match(request)


class Window(BaseModel):
    """Bounds, in request indices (the test's n-th request) or seconds since the test started."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    start: float = Field(
        0, ge=0, le=1e9, description="first request index / second the fault may fire"
    )
    end: float | None = Field(
        None, le=1e9, description="index / second from which it no longer fires"
    )
    unit: Literal["requests", "seconds"] = "requests"

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end={self.end} must be > start={self.start}")
        return self


class Schedule(BaseModel):
    """When a fault fires among the requests it matches.

    Counting is over matching requests, after skipping ``after`` of them: ``first: 3``
    fires on the first three, ``every: 3`` on the 3rd, 6th, ...; ``count`` caps the total
    fires; ``probability`` is rolled last, from the fault's own seeded generator.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    probability: float = Field(1.0, ge=0.0, le=1.0)
    first: int | None = Field(
        None, ge=1, le=2**31 - 1, description="fire on the first N matches only"
    )
    after: int = Field(0, ge=0, le=2**31 - 1, description="skip the first N matches")
    every: int | None = Field(None, ge=1, le=2**31 - 1, description="fire on every Nth match")
    count: int | None = Field(None, ge=1, le=2**31 - 1, description="fire at most N times")
    window: Window | None = None


@dataclass
class ScheduleState:
    """How many requests a fault has matched, and how often it fired (one per armed fault)."""

    matches: int = 0
    fired: int = 0

    def consult(self, schedule: Schedule, request_index: int, t: float, rng: random.Random) -> bool:
        """Count one matching request; True when the fault should act on it."""
        self.matches += 1
        k = self.matches - schedule.after
        if k < 1:
            return False
        if schedule.first is not None and k > schedule.first:
            return False
        if schedule.every is not None and k % schedule.every:
            return False
        if schedule.count is not None and self.fired >= schedule.count:
            return False
        window = schedule.window
        if window is not None:
            value = request_index if window.unit == "requests" else t
            if value < window.start or (window.end is not None and value >= window.end):
                return False
        return not (schedule.probability < 1.0 and rng.random() >= schedule.probability)
