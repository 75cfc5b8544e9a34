"""The fault base: registry, traits, the context a fault acts in, and the three sides.

Faults register themselves by ``kind`` (so YAML ``kind: latency`` finds its class), and
carry a ``match`` and a ``schedule`` that the engine applies uniformly. A fault says what
it does on its side and declares its traits; nothing else. Arguments are validated at
construction and errors name the argument: ``latency: p99_ms=50 must be >= p50_ms=80``.

Three base classes, one per side of the exchange a fault acts on:

* :class:`RequestFault` acts before the responder (delay, answer instead, drop);
* :class:`ResponseFault` acts on the responder's response (cut, corrupt, lose);
* :class:`MessageFault` acts on each message a WebSocket feed sends.
"""

from __future__ import annotations

import asyncio
import json
import random as _random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.chaos.schedule import Match, Schedule
from harness.errors import FaultConfigError, messages
from harness.mock.dialect import Dialect
from harness.mock.headers import ENCODING, header_problem
from harness.mock.routes import Request, Response, Route

__all__ = [
    "MAX_BAN_S",
    "MAX_COUNT",
    "MAX_MS",
    "MAX_SHIFT_S",
    "MAX_WAIT_S",
    "Fault",
    "FaultContext",
    "MessageFault",
    "RequestFault",
    "ResponseFault",
    "Trait",
    "clean_message",
    "problems_of",
    "registry",
]


class Trait(StrEnum):
    """What a fault does, in terms invariants and tools reason about (never kind names)."""

    TAINTS_DATA = "taints_data"
    """The client receives data it must not trust (corrupted, cut, stale)."""
    BREAKS_SEQUENCE = "breaks_sequence"
    """A stream loses, skips or reorders updates."""
    LIMITS_RATE = "limits_rate"
    """The answer asks the client to wait (Retry-After, a ban)."""
    AMBIGUOUS_FOR_ORDERS = "ambiguous_for_orders"
    """The client cannot tell whether its request took effect (a lost or late answer)."""
    DELAYS = "delays"
    """Time passes before the answer arrives."""
    CLOSES_STREAM = "closes_stream"
    """The exchange ends a stream connection."""


MAX_MS = 86_400_000.0
"""The longest delay a fault may add, in milliseconds: a day."""
MAX_WAIT_S = 604_800.0
"""The longest Retry-After a fault may ask for: a week."""
MAX_BAN_S = 2_592_000.0
"""The longest ban: 30 days."""
MAX_SHIFT_S = 315_360_000.0
"""The furthest a clock or a timestamp may be moved: ten years."""
MAX_COUNT = 2**31 - 1
"""The largest count (requests, bytes, messages) a fault or a schedule takes."""


def json_body(value: Any) -> Any:
    """A body a fault answers with: a string, or a value JSON can hold (no bytes, sets,
    dates or NaN, which YAML's !!binary, !!set, !!timestamp and .nan would give)."""
    if value is None or isinstance(value, str):
        return value
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"must be JSON: a mapping, a list, a string, a number, true, false or null ({exc})"
        ) from None
    return value


def legal_headers(value: dict[str, str]) -> dict[str, str]:
    """Header names are HTTP tokens; values hold no control character but tab: the rule
    every response is held to (:mod:`harness.mock.headers`), checked when the scenario
    loads rather than answered with a 500 at request time."""
    for name, text in value.items():
        problem = header_problem(name, text)
        if problem is None and str(name).lower() == ENCODING:  # a fault's body is plain
            problem = messages.header_framing(name)
        if problem is not None:
            raise ValueError(problem)
    return value


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
    dialect: Dialect = field(default_factory=Dialect)
    """How the server's API says "no" (faults that answer use its error bodies)."""
    applied: dict[str, Any] | None = None
    message: int | None = None
    """For message faults: the number of the message on its connection."""
    numbered: Callable[[Any], bool] | None = None
    """For message faults: whether a message carries a sequence number (the feed knows)."""
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


def problems_of(exc: ValidationError, known: Iterable[str] = ()) -> list[tuple[str, object, str]]:
    """(argument, value, message) for each error of a pydantic validation."""
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
                str(kind), problems_of(exc, cls.model_fields)
            ) from None


class Fault(BaseModel, metaclass=_FaultMeta):
    """Base of every fault. Concrete kinds derive from one of the three sides below and
    declare ``kind: Literal["name"] = "name"`` and their ``traits``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    traits: ClassVar[frozenset[Trait]] = frozenset()
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

    def fired_traits(self, applied: Mapping[str, Any]) -> frozenset[Trait]:
        """The traits of one firing (a fault whose effect depends on what it drew overrides
        this: a benign corruption does not taint data)."""
        return self.traits


class RequestFault(Fault):
    """Acts before the responder: delay, answer instead of it, or drop the connection."""

    async def on_request(self, ctx: FaultContext) -> Response | None:  # pragma: no cover
        raise NotImplementedError


class ResponseFault(Fault):
    """Acts on the response the responder produced: change it, cut it, or lose it."""

    def observe(self, ctx: FaultContext, response: Response) -> None:
        """See every matching response, fired or not (for faults that keep history)."""

    async def on_response(
        self, ctx: FaultContext, response: Response
    ) -> Response:  # pragma: no cover
        raise NotImplementedError


class MessageFault(Fault):
    """Acts on each message a WebSocket feed sends; ``match.path`` is the feed's path and
    schedules count messages. ``on_message`` returns what is sent instead."""

    def release(self, ctx: FaultContext) -> list[Any]:
        """Messages held back earlier that are due now (before the current message)."""
        return []

    async def on_message(self, ctx: FaultContext, message: Any) -> list[Any]:  # pragma: no cover
        raise NotImplementedError


async def forever() -> None:
    """Wait until cancelled (a hang)."""
    await asyncio.Event().wait()
