"""Values that validate must not crash the client (issue #19).

* A property: scenario documents are drawn from the scenario JSON Schema (what
  ``chaos-harness schema`` prints) with hypothesis-jsonschema. Whatever the loader accepts
  runs, on virtual time, against a plain aiohttp client of the generic fake exchange, and
  through the message pipeline of its stream; then its invariants are judged. The client
  may meet only what faults are meant to produce: error statuses, aiohttp's connection and
  payload errors, timeouts, bodies that do not parse. Nothing may raise inside the harness,
  and nothing may reach the event loop's exception handler.
* A fuzz corpus: the built-in scenarios, mutated by a seeded generator, either load or
  raise a ``ScenarioError``, as ``chaos-harness validate`` reports it; never another
  exception.

Both are bounded by counts (never by the clock), derandomized and without an example
database: CI runs the same examples every time. The defects the property found stay
pinned by concrete regression tests (``FOUND``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import random
import traceback
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as conjecture_utils
from hypothesis_jsonschema import _from_schema, from_schema
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError

from harness import MockServer, clock, corruptions, faults
from harness.chaos import Chaos, registry
from harness.chaos.faults import (
    MAX_BAN_S,
    MAX_COUNT,
    MAX_MS,
    MAX_SHIFT_S,
    MAX_WAIT_S,
    FaultContext,
    RequestFault,
)
from harness.cli import main as cli_main
from harness.clock import virtual_time
from harness.errors import FaultConfigError, ScenarioError
from harness.exchange import MockExchange
from harness.invariants import INVARIANTS
from harness.library_paths import builtin_dir, find_scenario_files
from harness.mock.journal import JournalEntry
from harness.mock.routes import Request, Response
from harness.mock.signals import Gap, WsClose, WsSilence
from harness.mock.websocket import FeedState
from harness.roles import ROLES
from harness.scenario import (
    Scenario,
    load_file,
    parse_scenario,
    scenario_json_schema,
    scenario_model,
)


# -- hypothesis-jsonschema on this hypothesis ----------------------------------------------
class _LegacyMany:
    """``many(...).more()``, as hypothesis-jsonschema 0.23.1 (its latest release) drives
    it, over the ``with many(...) as elements: for _ in elements`` API that replaced it in
    hypothesis 6.15x-6.170 (``AttributeError: 'many' object has no attribute 'more'``)."""

    def __init__(self, data: Any, **sizes: Any) -> None:
        self._many = conjecture_utils.many(data, **sizes)
        self._many.__enter__()
        self._elements = iter(self._many)

    def more(self) -> bool:
        for _ in self._elements:
            return True
        self._many.__exit__(None, None, None)
        return False

    def reject(self, why: str | None = None) -> None:
        self._many.reject(why)


if not hasattr(conjecture_utils.many, "more") and ".more()" in inspect.getsource(_from_schema):
    _from_schema.cu = types.SimpleNamespace(many=_LegacyMany)  # type: ignore[attr-defined]


# -- scenario documents from the JSON Schema -------------------------------------------------
SCHEMA = scenario_json_schema()
DEFS: dict[str, Any] = SCHEMA["$defs"]
_ANNOTATIONS = frozenset({"title", "description", "default", "discriminator", "$schema"})
_METHODS = ["GET", "POST", "DELETE", "get", "WS", "*"]
_PATHS = ["/v1/ticker", "/v1/orders", "/v1/orders/{order_id}", "/v1/{what}", "/v1/**", "/**"]
_HEADERS = [
    *("Retry-After", "Content-Type", "Content-Length", "Content-Encoding", "Set-Cookie"),
    *("Transfer-Encoding", "Connection", "Location", "X-MBX-USED-WEIGHT-1M"),
]
_HEADER_VALUES = ["", "0", "-1", "1e999", "gzip", "chunked", "a\tb", "a\x01b", "\x7f"]
_CORRUPTIONS = {"enum": list(corruptions.KINDS)}
_SOME_CORRUPTIONS = {"anyOf": [_CORRUPTIONS, {"type": "array", "items": _CORRUPTIONS}]}


def _argument_schemas(name: str) -> dict[str, Any]:
    """JSON Schemas of an invariant's arguments, from the check's annotations."""
    check = INVARIANTS[name].check
    hints = typing.get_type_hints(check, include_extras=True)
    return {a: TypeAdapter(hints[a]).json_schema() for a in INVARIANTS[name].arguments}


def _invariant_specs() -> dict[str, Any]:
    objects = [
        {
            "type": "object",
            "properties": {
                name: {
                    "type": "object",
                    "properties": _argument_schemas(name),
                    "additionalProperties": False,
                }
            },
            "required": [name],
            "additionalProperties": False,
        }
        for name in sorted(INVARIANTS)
    ]
    return {
        "type": "array",
        "maxItems": 3,
        "items": {"anyOf": [{"enum": sorted(INVARIANTS)}, *objects]},
    }


HINTS: dict[tuple[str, str], dict[str, Any]] = {
    # (definition, property): values the validators accept, drawn beside the schema's own,
    # whose free strings and numbers the validators mostly refuse
    ("Match", "method"): {
        "anyOf": [{"enum": _METHODS}, {"type": "array", "items": {"enum": _METHODS}}]
    },
    ("Match", "path"): {"enum": _PATHS},
    ("Corrupt", "corruption"): _SOME_CORRUPTIONS,
    ("WsCorrupt", "corruption"): _SOME_CORRUPTIONS,
    ("RateLimit", "weights"): {
        "type": "object",
        "propertyNames": {"enum": [*ROLES, "/v1/orders", "/v1/{what}"]},
        "additionalProperties": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e6},
        "maxProperties": 3,
    },
    ("Error", "headers"): {
        "type": "object",
        "propertyNames": {"enum": _HEADERS},
        "additionalProperties": {"anyOf": [{"enum": _HEADER_VALUES}, {"type": "string"}]},
        "maxProperties": 3,
    },
    ("ClockSkew", "offset_s"): {"type": "number", "minimum": -MAX_SHIFT_S, "maximum": MAX_SHIFT_S},
    ("Scenario", "invariants"): _invariant_specs(),
}

GROUPS: dict[str, list[tuple[str, ...]]] = {
    # arguments that go together (the validators want exactly one group): drawn as a
    # group, besides one by one
    "Latency": [
        ("fixed_ms",),
        ("min_ms", "max_ms"),
        ("mean_ms", "std_ms"),
        ("p50_ms", "p99_ms"),
        ("base_ms", "spike_ms", "spike_probability"),
    ],
    "Truncate": [("bytes",), ("fraction",)],
    "Stale": [("age",), ("shift_s",)],
    "Error": [("status",), ("preset",)],
    "AckLost": [("mode",), ("status",)],
}

EDGES = (
    *(0, 5e-324, 1e-300, 1e-9, 0.001, 0.5, 1, 2, 3, 7, 100, 999.5, 1e6, 1e9, 2**31 - 1),
    *(MAX_MS, MAX_WAIT_S, MAX_BAN_S, MAX_SHIFT_S, MAX_COUNT, 1e300),
)
"""Numbers where arithmetic breaks (underflow, overflow, rounding): drawn as often as the
schema's own numbers, with their negatives, wherever the schema allows them."""


def _strip(node: Any, in_properties: bool = False) -> Any:
    """The schema without annotations (hypothesis-jsonschema needs only assertions)."""
    if isinstance(node, dict):
        return {
            k: _strip(v, k == "properties" and not in_properties)
            for k, v in node.items()
            if in_properties or k not in _ANNOTATIONS
        }
    if isinstance(node, list):
        return [_strip(x) for x in node]
    return node


def _edges(leaf: dict[str, Any]) -> list[float]:
    text = json.dumps(leaf)
    if '"number"' not in text and '"integer"' not in text:
        return []
    valid = Draft202012Validator(leaf).is_valid
    candidates = [*EDGES, *(-x for x in EDGES if x)]
    for part in [leaf, *leaf.get("anyOf", [])]:
        candidates += [part[k] for k in ("minimum", "maximum") if k in part]
    return sorted({x for x in candidates if valid(x)}, key=lambda x: (abs(x), x))


def _strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The models' objects are built here (hypothesis-jsonschema resolves an object's
    schema on every draw: ~30 ms an example); every value in them comes from
    hypothesis-jsonschema, beside the edge numbers the value's schema allows."""
    if "$ref" in schema:
        return _definition(schema["$ref"].rsplit("/", 1)[1])
    has_ref = "$ref" in json.dumps(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema and has_ref:
            return st.one_of([_strategy(s) for s in schema[key]])
    if schema.get("type") == "array" and has_ref:
        return st.lists(_strategy(schema["items"]), max_size=3)
    leaf = _strip(schema)
    edges = _edges(leaf)
    return st.one_of(st.sampled_from(edges), from_schema(leaf)) if edges else from_schema(leaf)


def _object(
    name: str,
    schema: dict[str, Any],
    override: dict[str, st.SearchStrategy[Any]] | None = None,
    required: frozenset[str] = frozenset(),
) -> st.SearchStrategy[dict[str, Any]]:
    required = frozenset(schema.get("required", ())) | required
    props: dict[str, st.SearchStrategy[Any]] = {}
    for key, sub in schema["properties"].items():
        if override and key in override:
            props[key] = override[key]
        elif (name, key) in HINTS:
            props[key] = _strategy(sub) | from_schema(HINTS[(name, key)])
        else:
            props[key] = _strategy(sub)
    if "kind" in props:
        required |= {"kind"}  # the discriminator: the schema gives it a default, pydantic needs it

    def build(chosen: frozenset[str], left_out: frozenset[str]) -> st.SearchStrategy[Any]:
        return st.fixed_dictionaries(
            {k: props[k] for k in sorted(chosen)},
            optional={k: props[k] for k in sorted(set(props) - chosen - left_out)},
        )

    groups = [frozenset(g) for g in GROUPS.get(name, [])]
    grouped = frozenset().union(*groups)
    return st.one_of(
        build(required, frozenset()),
        *(build(required | group, grouped - group) for group in groups),
    )


@cache
def _definition(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return _object(name, DEFS[name])


def _valid_fault(document: dict[str, Any]) -> bool:
    try:
        scenario_model().model_validate({"name": "x", "description": "x", "faults": [document]})
    except ValidationError:
        return False
    return True


def fault_documents() -> st.SearchStrategy[dict[str, Any]]:
    """A fault of any kind, from its definition, kept when it validates on its own (so
    each kind gets its share of the examples)."""
    items = SCHEMA["properties"]["faults"]["items"]["oneOf"]
    return st.one_of([_strategy(item).filter(_valid_fault) for item in items])


def documents() -> st.SearchStrategy[dict[str, Any]]:
    """Scenario documents as the schema has them (most are not valid scenarios)."""
    return _object("Scenario", SCHEMA)


def runnable_documents() -> st.SearchStrategy[dict[str, Any]]:
    """Scenario documents with one to three faults that validate on their own, invariants
    with arguments as their annotations type them, and no toxics (no Toxiproxy here)."""
    override = {
        "faults": st.lists(fault_documents(), min_size=1, max_size=3),
        "invariants": from_schema(HINTS[("Scenario", "invariants")]),
        "toxics": st.just([]),
    }
    return _object("Scenario", SCHEMA, override, required=frozenset({"faults"}))


# -- the client and the run ---------------------------------------------------------------
INTENDED: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError)
"""What faults may make a request raise: ``ClientError`` (dropped, reset, body cut) and
``TimeoutError`` (a hang, a delay past the timeout). Parsing the body may also raise
``ValueError`` (``ContentTypeError``, ``JSONDecodeError``: a corrupted or cut body)."""

ORDER = {"symbol": "BTCUSDT", "side": "buy", "type": "limit", "qty": 0.01, "price": 100.0}
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/time", {}),
    ("GET", "/v1/ticker", {"params": {"symbol": "BTCUSDT"}}),
    ("GET", "/v1/bars", {"params": {"symbol": "BTCUSDT", "interval": "1m", "limit": "5"}}),
    ("GET", "/v1/book", {"params": {"symbol": "BTCUSDT", "depth": "3"}}),
    ("POST", "/v1/orders", {"json": ORDER}),
    ("GET", "/v1/orders", {"params": {"status": "open"}}),
    ("GET", "/v1/balances", {}),
]


@dataclass
class Client:
    """A plain aiohttp client: a generous timeout, parses every answer, honours
    Retry-After (up to two minutes), and keeps what invariants read (its orders, its
    completed cycles)."""

    url: str
    problems: list[str]
    known_orders: dict[str, str] = field(default_factory=dict)
    cycles: list[float] = field(default_factory=list)

    async def run(self, rounds: int = 2) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for _ in range(rounds):
                if all([await self.call(session, *call) for call in CALLS]):
                    self.cycles.append(clock.monotonic())

    async def call(
        self, session: aiohttp.ClientSession, method: str, path: str, kwargs: dict[str, Any]
    ) -> bool:
        try:
            async with session.request(method, self.url + path, **kwargs) as resp:
                await resp.read()
                try:
                    data = await resp.json()
                except ValueError:
                    return False
                if method == "POST" and resp.status < 300 and isinstance(data, dict):
                    self.known_orders[str(data.get("order_id"))] = str(data.get("status"))
                wait = _seconds(resp.headers.get("Retry-After"))
                if wait is not None:
                    await asyncio.sleep(min(wait, 120))
                return resp.status < 400
        except INTENDED:
            return False
        except Exception as exc:  # what the property is about: nothing else reaches the client
            self.problems.append(f"{method} {path} raised:\n{_trace(exc)}")
            return False


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None  # a header a scenario wrote itself: the client ignores it
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).rstrip()


def _reported(context: dict[str, Any]) -> str:
    exc = context.get("exception")
    text = f"the event loop reported: {context.get('message')}"
    return text + (f"\n{_trace(exc)}" if exc is not None else "")


async def exercise(scenario: Scenario) -> list[str]:
    """Run ``scenario`` against the client and the stream on virtual time, judge its
    invariants, and return every problem seen."""
    problems: list[str] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, c: problems.append(_reported(c)))
    async with virtual_time(idle_timeout=5.0):
        me = MockExchange.create("generic", seed=5)
        chaos = Chaos(me.server, seed=9, test="fuzz")
        chaos.load(scenario)
        client = Client(me.url, problems)
        chaos.watch_client(client)
        async with me.server.intercept():
            await client.run()
            await stream(me, chaos, problems)
        problems += [
            f"the harness raised on {e.method} {e.path}: {e.error}"
            for e in me.server.journal
            if e.error is not None and e.error.kind == "raised"
        ]
        try:
            chaos.violations()  # violations are a verdict (a list), never an exception
        except Exception as exc:
            problems.append(f"judging the invariants raised:\n{_trace(exc)}")
    return problems


def _sendable(code: int) -> bool:
    """A close code a close frame may carry (RFC 6455 7.4; what aiohttp's reader accepts)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


async def stream(me: MockExchange, chaos: Chaos, problems: list[str], count: int = 12) -> None:
    """``count`` messages of the generic feed through the message faults and to a client
    that parses them, as the socket backend's writer carries them out (a WebSocket needs a
    real socket, which virtual time cannot drive)."""
    route = me.server.websocket_route("/v1/stream")
    request = Request.build("WS", me.url + "/v1/stream", rel_path="/v1/stream")
    request.role = route.route.role
    entry = JournalEntry.from_request(request, me.server.now(), route.route.name)
    state = FeedState()
    state.channels += ["book:BTCUSDT", "trades:BTCUSDT"]
    feed = route.feed
    try:
        for number in range(1, count + 1):
            message = feed.message(state.channels[number % 2], state)
            try:
                out = await chaos.messages(
                    request, route.route, entry, message, number, feed.numbered
                )
            except WsSilence as silence:
                await asyncio.sleep(silence.seconds)
                continue
            except WsClose as close:
                if not close.abrupt and not _sendable(close.code):
                    problems.append(f"a close frame with code {close.code}: a protocol error")
                return
            for item in out:
                sent = feed.skip(item.message, item.skip, state) if isinstance(item, Gap) else item
                text = sent if isinstance(sent, str) else json.dumps(sent, separators=(",", ":"))
                with contextlib.suppress(ValueError):  # corrupted: the client's parser refuses it
                    json.loads(text)
    except Exception as exc:
        problems.append(f"the stream raised:\n{_trace(exc)}")


# -- defects the property found, fixed at their source -------------------------------------
async def _dribbled(over_ms: float) -> tuple[Any, list[str]]:
    body = {"rows": list(range(200))}
    problems: list[str] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, c: problems.append(_reported(c)))
    async with virtual_time():
        server = MockServer()
        server.get("/v1/rows").respond(json=body)
        Chaos(server, seed=1).inject(faults.Dribble(chunks=4, over_ms=over_ms))
        async with (
            server.intercept(),
            aiohttp.ClientSession() as session,
            session.get(server.url + "/v1/rows") as resp,
        ):
            return await resp.read(), problems


class _FarTail(random.Random):
    """A generator at a lognormal's far tail (z = 4.6: about once in 470,000 draws)."""

    def normalvariate(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        return mu + 4.6 * sigma


FOUND = [
    pytest.param(
        lambda: asyncio.run(
            exercise(
                parse_scenario(
                    "name: x\ndescription: d\nfaults:\n"
                    "  - {kind: rate_limit, capacity: 1, refill_per_s: 1.0e-320}\n"
                )
            )
        ),
        [],
        id="rate_limit refill_per_s=1e-320: Retry-After was inf (OverflowError), now capped",
    ),
    pytest.param(
        lambda: faults.Latency(p50_ms=5e-324, p99_ms=MAX_MS).sample_ms(_FarTail()) <= MAX_MS,
        True,
        id="lognormal p50_ms=5e-324 p99_ms=86400000: math.exp overflowed, now capped in log space",
    ),
    pytest.param(
        lambda: asyncio.run(_dribbled(0)),
        (json.dumps({"rows": list(range(200))}, separators=(",", ":")).encode(), []),
        id="dribble over_ms=0 on virtual time: pieces came out of order, now chained",
    ),
]


@pytest.mark.parametrize(("run", "expected"), FOUND)
def test_defects_the_property_found_stay_fixed(run: Callable[[], Any], expected: Any) -> None:
    assert run() == expected


# -- the property ---------------------------------------------------------------------------
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


@settings(FUZZ, max_examples=80)
@given(runnable_documents())
def test_what_validates_runs_against_a_client(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    try:
        scenario = parse_scenario(text, "drawn.yaml")
    except ScenarioError:
        reject()
    note(text)
    problems = asyncio.run(exercise(scenario))
    assert not problems, "\n\n".join(problems)


@settings(FUZZ, max_examples=80)
@given(documents())
def test_documents_of_the_schema_load_or_raise_scenario_error(document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    with contextlib.suppress(ScenarioError):
        parse_scenario(text, "drawn.yaml")


class _Broken(RequestFault):
    """A fault with a bug: what the property must catch (no kind: not registered)."""

    kind: str = ""

    async def on_request(self, ctx: FaultContext) -> Response | None:
        return Response(200, json={"n": 1}) if ctx.request.index % 2 else {}["missing"]


def test_the_property_sees_a_fault_that_crashes() -> None:
    scenario = Scenario(name="broken", description="d", faults=[_Broken()])
    problems = asyncio.run(exercise(scenario))
    assert problems and "KeyError: 'missing'" in problems[0]


# -- the fuzz corpus ----------------------------------------------------------------------
LIBRARY = {f.name: f.read_text(encoding="utf-8") for f in find_scenario_files([builtin_dir()])}
ODD_VALUES: list[Any] = [
    *(0, -1, 1, 0.5, 2**63, -(2**31), 1e309, -1e309, math.nan, 5e-324, 1e300),
    *("", "x", "1e9", "GET", "/v1/**", "{", "\x00", "kind", "latency", "é" * 3),
    *(None, True, False, [], {}, [1, "a"], {"a": None}, {"kind": "hang"}, [[[]]]),
]
TEXT_NOISE = [
    "",
    ":",
    "- ",
    "{",
    "]",
    "&a",
    "*a",
    "!!binary",
    "!!python/object:os.system",
    "<<: *a",
    "\t",
    "'",
    '"',
    "#",
    "|",
    ">",
    "? ",
    "%YAML 1.1",
    "---",
    "...",
    "\x00",
    "\ufeff",
    "é",
    ".nan",
    ".inf",
    "-.inf",
    "0x1F",
    "1_000",
    "~",
    "null",
    "yes",
    "on",
    "2024-01-01",
    "9" * 40,
]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*at, i))
    return out


def _mutate_data(data: Any, rng: random.Random) -> Any:
    """One change at a random place of the parsed file: a value of another type or at an
    edge, a key dropped, an unknown key, a fault kind swapped, a value wrapped in a list."""
    paths = [p for p in _paths(data) if p]
    if not paths:
        return rng.choice(ODD_VALUES)
    where = rng.choice(paths)
    parent = data
    for step in where[:-1]:
        parent = parent[step]
    key = where[-1]
    how = rng.randrange(6)
    if how == 0 and isinstance(parent, dict):
        del parent[key]
    elif how == 1 and isinstance(parent, dict):
        parent[rng.choice(["kind", "extra", "schedule", "match", "p50", "code"])] = rng.choice(
            ODD_VALUES
        )
    elif how == 2 and isinstance(parent, dict) and "kind" in parent:
        parent["kind"] = rng.choice(sorted(registry()))
    elif how == 3:
        parent[key] = [parent[key]]
    else:
        parent[key] = rng.choice(ODD_VALUES)
    return data


def _mutate_text(text: str, rng: random.Random) -> str:
    """One change to the text: noise inserted, a line dropped, doubled, moved or
    re-indented, or the file cut short."""
    lines = text.splitlines(keepends=True)
    how = rng.randrange(5) if lines else 0
    if how == 0:
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice(TEXT_NOISE) + text[at:]
    i = rng.randrange(len(lines))
    if how == 1:
        del lines[i]
    elif how == 2:
        lines.insert(i, lines[i])
    elif how == 3:
        lines.insert(rng.randrange(len(lines)), lines.pop(i))
    else:
        return text[: rng.randrange(len(text) + 1)]
    return "".join(lines)


def mutants(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` mutated library scenarios (file name, text), the same for the same seed:
    one to three changes each, to the text or to the parsed document."""
    rng = random.Random(seed)
    out = []
    names = sorted(LIBRARY)
    for i in range(count):
        name = rng.choice(names)
        text = LIBRARY[name]
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                text = _mutate_text(text, rng)
                continue
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            text = yaml.safe_dump(_mutate_data(data, rng), sort_keys=False, allow_unicode=True)
        out.append((f"{i:03d}-{name}", text))
    return out


def test_mutated_library_scenarios_load_or_raise_scenario_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = mutants(300, seed=19)
    crashed: list[str] = []
    loaded: list[Scenario] = []
    for name, text in corpus:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        try:
            loaded.append(load_file(path))
        except ScenarioError:
            pass
        except Exception as exc:
            crashed.append(f"{name}:\n{text}\n{_trace(exc)}")
    assert not crashed, "\n\n".join(crashed)
    assert 0 < len(loaded) < len(corpus)  # the corpus holds both: it tests something
    assert cli_main(["validate", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err


def test_mutated_library_scenarios_that_load_run_against_a_client() -> None:
    """What the corpus accepts runs like a drawn scenario (toxics aside: no Toxiproxy)."""
    ran = 0
    for name, text in mutants(300, seed=19):
        try:
            scenario = parse_scenario(text, name)
        except ScenarioError:
            continue
        if not scenario.faults:
            continue
        problems = asyncio.run(exercise(scenario))
        assert not problems, f"{name}:\n{text}\n" + "\n\n".join(problems)
        ran += 1
    assert ran


# -- regressions: values that validated, then crashed -----------------------------------------
@pytest.mark.parametrize(
    ("invariant", "message"),
    [
        ("{bounded_retries: {max_attempts: x}}", "max_attempts='x' must be a valid integer"),
        ("{bounded_retries: {max_attempts: 0}}", "max_attempts=0 must be greater than or equal"),
        ("{bounded_retries: {reset_after_s: .inf}}", "must be a finite number"),
        ("{recovers_within: {seconds: [1]}}", "seconds=[1] must be a valid number"),
        ("{recovers_within: {seconds: 0}}", "seconds=0 must be greater than 0"),
        ("{no_unhandled_gap: {snapshot_path: 3}}", "snapshot_path=3 must be a valid string"),
        ("{no_unhandled_gap: {grace_s: .nan}}", "grace_s=nan must be a finite number"),
        ("{reconnects_with_backoff: {min_delay_s: -1}}", "min_delay_s=-1 must be greater"),
    ],
)
def test_invariant_arguments_are_checked_when_the_file_loads(invariant: str, message: str) -> None:
    """Accepted before, these raised TypeError (or UsageError) when the invariants were
    judged, after the test had run."""
    text = f"name: x\ndescription: d\nfaults: [{{kind: reset}}]\ninvariants:\n  - {invariant}\n"
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "x.yaml")
    (problem,) = info.value.problems
    assert problem.line == 5 and problem.field == "invariants[0]"
    assert message in problem.message


def test_invariant_arguments_are_typed_as_their_annotations() -> None:
    from harness.invariants import parse_spec

    assert parse_spec({"bounded_retries": {"max_attempts": "3", "reset_after_s": 2}}) == (
        "bounded_retries",
        {"max_attempts": 3, "reset_after_s": 2.0},
    )


class _Opaque:
    """A type pydantic cannot check."""


def _opaque_check(ctx: Any, limit: _Opaque | None = None, n: int = 1) -> list[Any]:
    return []


def _unresolved_check(ctx: Any, hidden: Unresolved = 1) -> list[Any]:  # type: ignore[name-defined]  # noqa: F821
    return []


def test_arguments_pydantic_cannot_check_are_taken_as_given() -> None:
    """A user's invariant may annotate with a class of its own, or a name only a type
    checker sees: those arguments pass as written, the others are still checked."""
    from harness.invariants import Invariant

    opaque = Invariant("opaque", _opaque_check, (), "always")
    assert opaque.check_arguments({"limit": "any", "n": "2"}) == {"limit": "any", "n": 2}
    unresolved = Invariant("unresolved", _unresolved_check, (), "always")
    assert unresolved.check_arguments({"hidden": "x"}) == {"hidden": "x"}


@pytest.mark.parametrize("value", ["a\x01b", "\x7f", "a\x1bb", "\x08"])
def test_a_header_value_with_a_control_character_is_refused(value: str) -> None:
    """Accepted before (only CR, LF and NUL were refused): every request then got a 500,
    as no backend can send it, and the test failed at teardown."""
    with pytest.raises(FaultConfigError, match="no control character but tab"):
        faults.Error(status=503, headers={"X-Reason": value})
    fault = {"kind": "error", "status": 503, "headers": {"X-Reason": value}}
    document = {"name": "x", "description": "d", "faults": [fault]}
    with pytest.raises(ScenarioError, match=r"x.yaml:\d+: faults\[0\].error.headers: header"):
        parse_scenario(yaml.safe_dump(document, sort_keys=False), "x.yaml")
    assert faults.Error(status=503, headers={"X-Reason": "a\tb é"}).headers


@pytest.mark.parametrize("code", [1004, 1005, 1006, 1015, 1016, 2000, 2999])
def test_a_close_code_no_close_frame_may_carry_is_refused(code: int) -> None:
    """Accepted before: the client read a protocol error (1002), not the code."""
    with pytest.raises(FaultConfigError, match="cannot be sent in a close frame"):
        faults.WsDisconnect(code=code)
    text = f"name: x\ndescription: d\nfaults:\n  - {{kind: ws_disconnect, code: {code}}}\n"
    with pytest.raises(ScenarioError, match=r"x.yaml:4: faults\[0\].*code: cannot be sent"):
        parse_scenario(text, "x.yaml")


@pytest.mark.parametrize("code", [1000, 1003, 1007, 1014, 3000, 4999])
def test_close_codes_a_frame_may_carry_are_accepted(code: int) -> None:
    assert faults.WsDisconnect(code=code).code == code


@pytest.mark.parametrize("name", ["Transfer-Encoding", "Content-Encoding"])
def test_a_fault_may_not_claim_a_framing_header(name: str) -> None:
    """On a socket an error with these headers is a 400 or a payload error; in-process it
    was a plain 503: the scenario is refused when it loads, on both backends alike."""
    text = (
        "name: x\ndescription: d\nfaults:\n"
        f"  - {{kind: error, status: 503, headers: {{{name}: gzip}}}}\n"
    )
    with pytest.raises(ScenarioError, match=f"header '{name}' is the server's"):
        parse_scenario(text, "framing.yaml")
