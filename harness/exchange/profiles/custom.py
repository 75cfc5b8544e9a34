"""Custom profiles: a team describes its own REST API in YAML, and the stateful FakeExchange
is served in that API's shape, so every invariant works on it with no Python glue.

A profile names the API's base URL, each role's method and path, the API's own names for
request and response fields, the key a list is wrapped in (``{"candles": [...]}``), how it
writes enums, numbers and times, and its error format::

    name: mybroker
    base_url: https://api.mybroker.test
    symbols: [{symbol: BTC-USD, base: BTC, quote: USD}]
    errors:
      body: {error: "{code}", message: "{message}"}
    routes:
      bars:
        path: /api/candles
        request: {symbol: market, interval: tf}
        response: {wrapper: candles, fields: {ts: t, open: o, high: h, low: l, close: c, volume: v}}
      order_place:
        method: POST
        path: /api/orders
        request: {symbol: market, qty: size, client_order_id: cid}

Every field has the harness's own name (``ts``, ``qty``, ``client_order_id``...) on the left
and the API's on the right; names not given are the harness's. ``chaos-harness schema
profile`` prints the JSON Schema; errors come with ``file:line``, as for scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.errors import ExchangeReject
from harness.exchange.core import ExchangeOrder, FakeExchange, Instrument
from harness.exchange.profiles.base import Profile, as_float, as_int, order_fields
from harness.intents import IntentFields
from harness.mock.dialect import Dialect
from harness.mock.patterns import PathPattern
from harness.mock.routes import Request, Response
from harness.mock.server import MockServer

__all__ = [
    "SUPPORTED_ROLES",
    "CustomProfile",
    "ProfileSpec",
    "load_profile",
    "parse_profile",
    "profile_json_schema",
]

_ORDER = (
    "order_id",
    "client_order_id",
    "symbol",
    "side",
    "type",
    "qty",
    "price",
    "status",
    "filled_qty",
    "avg_price",
    "created_at",
)
# The roles a custom profile can serve, with the fields (harness names) of what each answers.
SUPPORTED_ROLES: dict[str, tuple[str, ...]] = {
    "time": ("time",),
    "exchange_info": ("symbol", "base", "quote", "tick", "step", "min_qty"),
    "bars": ("ts", "open", "high", "low", "close", "volume"),
    "ticker": ("symbol", "price", "time"),
    "book": ("symbol", "bids", "asks", "seq", "time"),
    "order_place": _ORDER,
    "order_query": _ORDER,
    "order_cancel": _ORDER,
    "open_orders": _ORDER,
    "order_history": _ORDER,
    "account": ("asset", "free", "locked"),
}
_REQUEST = {
    "bars": ("symbol", "interval", "limit"),
    "ticker": ("symbol",),
    "book": ("symbol", "depth"),
    "order_place": ("symbol", "side", "type", "qty", "price", "client_order_id"),
    "order_query": ("order_id", "client_order_id", "symbol"),
    "order_cancel": ("order_id", "client_order_id", "symbol"),
    "open_orders": ("symbol", "client_order_id"),
    "order_history": ("symbol",),
}
_LISTS = frozenset({"exchange_info", "bars", "open_orders", "order_history", "account"})
_DEFAULT_METHOD = {"order_place": "POST", "order_cancel": "DELETE"}
_STATUSES = ("new", "partially_filled", "filled", "canceled", "rejected")


class SymbolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(min_length=1)
    base: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    tick: float = Field(0.01, gt=0)
    step: float = Field(0.000001, gt=0)
    min_qty: float = Field(0.000001, gt=0)


class ResponseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wrapper: str | None = Field(None, description="the key the answer (or its list) is under")
    fields: dict[str, str] = Field(
        default_factory=dict, description="harness field name -> the API's name"
    )
    status: int = Field(200, ge=200, le=299, description="the success status")


class RouteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str | None = Field(None, description="GET, POST, PUT, PATCH or DELETE")
    path: str = Field(description="a path pattern; {order_id} captures the order id")
    body: Literal["json", "form", "query"] = Field(
        "json", description="where a POST/PUT/PATCH puts its parameters"
    )
    request: dict[str, str] = Field(
        default_factory=dict, description="harness parameter name -> the API's name"
    )
    response: ResponseSpec = Field(default_factory=ResponseSpec)

    @field_validator("method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise ValueError(f"method {value!r}: expected GET, POST, PUT, PATCH or DELETE")
        return value.upper() if value else None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        from harness.errors import MockConfigError

        try:
            PathPattern(value)
        except MockConfigError as exc:
            raise ValueError(exc.problem) from None
        return value


class ErrorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Any = Field(
        default_factory=lambda: {"error": {"code": "{code}", "message": "{message}"}},
        description="the error body, with {status} {code} {message} {reason} placeholders",
    )
    codes: dict[str, str | int] = Field(
        default_factory=dict,
        description="reason (rate_limited, banned, internal, maintenance, not_found, "
        "rejected...) or an exchange reject code -> the API's code; default: the status",
    )
    headers: dict[str, str] = Field(default_factory=dict, description="headers on every error")


class ProfileSpec(BaseModel):
    """A custom profile as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="kebab-case")
    base_url: str = Field(description="the API's base URL, e.g. https://api.mybroker.test")
    aliases: list[str] = Field(default_factory=list, description="the API's other hosts")
    symbols: list[SymbolSpec] = Field(
        default_factory=lambda: [SymbolSpec(symbol="BTCUSDT", base="BTC", quote="USDT")]
    )
    balances: dict[str, float] = Field(default_factory=lambda: {"USDT": 1e6, "BTC": 10.0})
    numbers: Literal["number", "string"] = Field("number", description="how prices are written")
    time_unit: Literal["ms", "s", "iso"] = Field("ms", description="how times are written")
    values: dict[Literal["side", "type", "status"], dict[str, str]] = Field(
        default_factory=dict, description="how the API writes enums: {side: {buy: BUY}}"
    )
    errors: ErrorSpec = Field(default_factory=ErrorSpec)
    routes: dict[str, RouteSpec] = Field(description="role -> route")

    @field_validator("routes")
    @classmethod
    def _roles(cls, value: dict[str, RouteSpec]) -> dict[str, RouteSpec]:
        from difflib import get_close_matches

        for role, route in value.items():
            if role not in SUPPORTED_ROLES:
                near = get_close_matches(role, list(SUPPORTED_ROLES), n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise ValueError(
                    f"role {role!r}{hint}: a custom profile serves {', '.join(SUPPORTED_ROLES)}"
                )
            unknown = set(route.response.fields) - set(SUPPORTED_ROLES[role])
            if unknown:
                raise ValueError(
                    f"{role}.response.fields: {sorted(unknown)} are not fields of {role} "
                    f"(it has {', '.join(SUPPORTED_ROLES[role])})"
                )
            allowed = _REQUEST.get(role, ())
            unknown = set(route.request) - set(allowed)
            if unknown:
                raise ValueError(
                    f"{role}.request: {sorted(unknown)} are not parameters of {role} "
                    f"(it takes {', '.join(allowed) or 'none'})"
                )
        if not value:
            raise ValueError("a profile needs at least one route")
        return value

    @model_validator(mode="after")
    def _values(self) -> ProfileSpec:
        known = {"side": ("buy", "sell"), "type": ("market", "limit"), "status": _STATUSES}
        for what, mapping in self.values.items():
            unknown = set(mapping) - set(known[what])
            if unknown:
                raise ValueError(
                    f"values.{what}: {sorted(unknown)}; known: {', '.join(known[what])}"
                )
        return self


class CustomDialect(Dialect):
    """Errors in the format a profile's ``errors`` section gives."""

    name = "custom"

    def __init__(self, spec: ErrorSpec) -> None:
        self.spec = spec

    def body(self, status: int, reason: str, message: str) -> Any:
        code = self.spec.codes.get(reason, status)
        return _fill(
            self.spec.body, {"status": status, "code": code, "message": message, "reason": reason}
        )

    def headers(self, status: int, reason: str) -> dict[str, str]:
        return dict(self.spec.headers)


def _fill(template: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        for key, value in values.items():
            if template == "{" + key + "}":
                return value  # the whole value: keep its type (a numeric code stays a number)
        return template.format_map(_Default(values))
    if isinstance(template, Mapping):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class CustomProfile(Profile):
    """A FakeExchange served in the shape a :class:`ProfileSpec` describes."""

    spec: ClassVar[ProfileSpec]

    @classmethod
    def from_spec(cls, spec: ProfileSpec) -> type[CustomProfile]:
        return type(
            f"Profile_{spec.name.replace('-', '_')}",
            (cls,),
            {
                "spec": spec,
                "name": spec.name,
                "base_url": spec.base_url,
                "aliases": tuple(spec.aliases),
            },
        )

    def __init__(self, exchange: FakeExchange) -> None:
        super().__init__(exchange)
        self.dialect = CustomDialect(self.spec.errors)
        fields = self.spec.routes.get("order_place")
        names = fields.request if fields else {}
        self.intent_fields = IntentFields.for_names(
            {part: names.get(key, key) for part, key in _INTENT_PARTS.items()}
        )

    @classmethod
    def instruments(cls) -> list[Instrument]:
        return [
            Instrument(s.symbol, s.base, s.quote, s.tick, s.step, s.min_qty)
            for s in cls.spec.symbols
        ]

    @classmethod
    def balances(cls) -> dict[str, float]:
        return dict(cls.spec.balances)

    # -- mounting --------------------------------------------------------------------------
    def mount(self, server: MockServer) -> None:
        for role, route in self.spec.routes.items():
            method = route.method or _DEFAULT_METHOD.get(role, "GET")
            server.route(method, route.path, role=role).respond(self._handler(role, route))

    def _handler(self, role: str, route: RouteSpec) -> Callable[[Request], Response]:
        serve = getattr(self, f"_{role}")

        def run(request: Request) -> Response:
            params = self._params(request, route)
            try:
                value = serve(request, params)
            except ExchangeReject as exc:
                reason = {404: "not_found", 409: "duplicate"}.get(exc.status, "rejected")
                code_reason = exc.code if exc.code in self.spec.errors.codes else reason
                return self.dialect.error(exc.status, code_reason, exc.message)
            return Response(route.response.status, json=self._shape(role, route, value))

        return run

    def _params(self, request: Request, route: RouteSpec) -> dict[str, Any]:
        found: dict[str, Any] = dict(request.query)
        if request.body.strip():
            if route.body == "form" or "x-www-form-urlencoded" in request.headers.get(
                "Content-Type", ""
            ):
                found.update(request.form)
            else:
                try:
                    body = request.json()
                except ValueError:
                    raise ExchangeReject("bad_json", "the body is not JSON", 400) from None
                if isinstance(body, Mapping):
                    found.update(body)
        found.update(request.path_params)
        names = route.request
        return {harness: found.get(names.get(harness, harness)) for harness in _ALL_PARAMS}

    # -- shaping answers ---------------------------------------------------------------------
    def _shape(self, role: str, route: RouteSpec, value: Any) -> Any:
        fields = route.response.fields
        if role in _LISTS:
            out: Any = [self._record(row, fields) for row in value]
        else:
            out = self._record(value, fields)
        return {route.response.wrapper: out} if route.response.wrapper else out

    def _record(self, row: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
        return {fields.get(k, k): self._write(k, v) for k, v in row.items()}

    def _write(self, key: str, value: Any) -> Any:
        if key in ("side", "type", "status") and isinstance(value, str):
            return self.spec.values.get(key, {}).get(value, value)
        if key in ("ts", "time", "created_at") and isinstance(value, float):
            unit = self.spec.time_unit
            if unit == "iso":
                return datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
            return int(value * 1000) if unit == "ms" else int(value)
        if self.spec.numbers == "string" and isinstance(value, float) and key not in ("ts",):
            return f"{value:.8f}".rstrip("0").rstrip(".")
        if key in ("bids", "asks") and self.spec.numbers == "string":
            return [[f"{p:.8f}", f"{q:.8f}"] for p, q in value]
        return value

    def _read(self, what: str, value: Any) -> Any:
        if value is None:
            return None
        reverse = {v: k for k, v in self.spec.values.get(what, {}).items()}  # type: ignore[call-overload]
        return reverse.get(str(value), str(value).lower())

    def _order(self, order: ExchangeOrder) -> dict[str, Any]:
        return order_fields(order, order.created_at)

    def _symbol(self, params: Mapping[str, Any]) -> str:
        symbol = params.get("symbol") or (
            self.spec.symbols[0].symbol if len(self.spec.symbols) == 1 else None
        )
        if not symbol:
            raise ExchangeReject("missing_parameter", "symbol is required", 400)
        return str(symbol)

    # -- the roles -------------------------------------------------------------------------
    def _time(self, request: Request, params: Mapping[str, Any]) -> Any:
        return {"time": self.exchange.now(self.offset(request))}

    def _exchange_info(self, request: Request, params: Mapping[str, Any]) -> Any:
        return [s.model_dump() for s in self.spec.symbols]

    def _bars(self, request: Request, params: Mapping[str, Any]) -> Any:
        limit = as_int(params.get("limit") or 100, "limit")
        bars = self.exchange.bars(self._symbol(params), str(params.get("interval") or "1m"), limit)
        names = ("ts", "open", "high", "low", "close", "volume")
        return [
            dict(zip(names, [float(b[0]), *(round(x, 8) for x in b[1:])], strict=True))
            for b in bars
        ]

    def _ticker(self, request: Request, params: Mapping[str, Any]) -> Any:
        symbol = self._symbol(params)
        return {
            "symbol": symbol,
            "price": self.exchange.step(symbol),
            "time": self.exchange.now(self.offset(request)),
        }

    def _book(self, request: Request, params: Mapping[str, Any]) -> Any:
        symbol = self._symbol(params)
        book = self.exchange.book(symbol, as_int(params.get("depth") or 10, "depth"))
        return {
            "symbol": symbol,
            "seq": self.exchange.book_update_id,
            "time": self.exchange.now(self.offset(request)),
            **book,
        }

    def _order_place(self, request: Request, params: Mapping[str, Any]) -> Any:
        missing = [p for p in ("side", "qty") if params.get(p) in (None, "")]
        if missing:
            raise ExchangeReject("missing_parameter", f"missing {', '.join(missing)}", 400)
        price = params.get("price")
        kind = self._read("type", params.get("type")) or (
            "limit" if price is not None else "market"
        )
        order = self.exchange.place_order(
            self._symbol(params),
            self._read("side", params.get("side")),
            kind,
            as_float(params["qty"], "qty"),
            as_float(price, "price") if price not in (None, "") else None,
            params.get("client_order_id"),
            request_index=request.index,
        )
        return self._order(order)

    def _find(self, params: Mapping[str, Any]) -> ExchangeOrder:
        if params.get("order_id"):
            return self.exchange.get(str(params["order_id"]))
        if params.get("client_order_id"):
            order = self.exchange.by_client_id(str(params["client_order_id"]))
            if order is not None:
                return order
            raise ExchangeReject("unknown_order", f"no order {params['client_order_id']!r}", 404)
        raise ExchangeReject("missing_parameter", "order_id or client_order_id is required", 400)

    def _order_query(self, request: Request, params: Mapping[str, Any]) -> Any:
        return self._order(self._find(params))

    def _order_cancel(self, request: Request, params: Mapping[str, Any]) -> Any:
        return self._order(self.exchange.cancel(self._find(params).order_id))

    def _open_orders(self, request: Request, params: Mapping[str, Any]) -> Any:
        if params.get("client_order_id"):
            found = self.exchange.by_client_id(str(params["client_order_id"]))
            return [self._order(found)] if found is not None else []
        return [self._order(o) for o in self.exchange.open_orders(params.get("symbol"))]

    def _order_history(self, request: Request, params: Mapping[str, Any]) -> Any:
        symbol = params.get("symbol")
        return [self._order(o) for o in self.exchange.orders.values() if symbol in (None, o.symbol)]

    def _account(self, request: Request, params: Mapping[str, Any]) -> Any:
        return [
            {"asset": a, "free": self.exchange.free(a), "locked": self.exchange.locked.get(a, 0.0)}
            for a in sorted(self.exchange.balances)
        ]

    def edge_options(self, role: str) -> dict[str, Any]:
        """What :func:`harness.schemas.validate_edge` needs to read this API's answer for a
        market-data role: ``{"wrapper": ..., "columns": {api name: harness name}}``."""
        route = self.spec.routes.get(role)
        if route is None:
            return {}
        out: dict[str, Any] = {}
        if route.response.wrapper:
            out["wrapper"] = route.response.wrapper
        if route.response.fields:
            out["columns"] = {api: harness for harness, api in route.response.fields.items()}
        return out


_ALL_PARAMS = sorted({p for params in _REQUEST.values() for p in params})
_INTENT_PARTS = {
    "symbol": "symbol",
    "side": "side",
    "type": "type",
    "quantity": "qty",
    "price": "price",
}


# -- loading ------------------------------------------------------------------------------------


def parse_profile(text: str, source: str = "<string>") -> ProfileSpec:
    """Parse and validate a profile's YAML; every problem at once, with its line."""
    from harness.scenario import validate_yaml_model

    return validate_yaml_model(text, source, ProfileSpec, what="profile")


def load_profile(path: str | Path) -> type[CustomProfile]:
    """A profile class from a YAML file (``ScenarioError`` with ``file:line`` problems)."""
    from harness.scenario import read_bounded

    return CustomProfile.from_spec(parse_profile(read_bounded(path, "profile"), str(path)))


def profile_json_schema() -> dict[str, Any]:
    schema = ProfileSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "trading-chaos-harness API profile"
    return schema


def profile_schema_text() -> str:
    return json.dumps(profile_json_schema(), indent=2, sort_keys=True) + "\n"
