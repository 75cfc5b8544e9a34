"""The ``binance-spot`` profile: Binance's spot REST API as ccxt and python-binance call it,
unmodified, with Binance's paths, parameters, response fields, ``{"code", "msg"}`` errors,
request weights (``X-MBX-USED-WEIGHT-1M``), signed-endpoint rules (``timestamp``,
``signature``, ``recvWindow`` checked against the exchange clock, so ``clock_skew`` gives
-1021), symbol filters, order types and response types; and Binance's stream format.

**Hosts.** Binance serves spot on ``api.binance.com`` (and the ``api1``-``api4`` mirrors),
margin and wallet calls (``/sapi``) on the same host, USD-M futures on ``fapi.binance.com``
and COIN-M futures on ``dapi.binance.com``. Their paths never collide, so one MockServer
answers all of them: in-process at the production hostnames (:attr:`BinanceSpotProfile.
aliases`), and over one socket for every API family. A client that takes one base URL per
family is pointed at a served socket with :func:`ccxt_urls` or :func:`python_binance_urls`::

    exchange = ccxt.async_support.binance({"apiKey": key, "secret": secret})
    exchange.urls["api"] = ccxt_urls(url)               # every family -> the socket

    class MockBinance(binance.AsyncClient):               # python-binance reads class attributes
        API_URL = python_binance_urls(url)["API_URL"]          # in __init__, and create()
        MARGIN_API_URL = python_binance_urls(url)["MARGIN_API_URL"]  # pings at once
    client = await MockBinance.create(key, secret)

**Routes** (method, path, role, Binance's request weight) are listed in :data:`ENDPOINTS`.
Futures hosts serve only what ccxt's default ``load_markets`` reads (``exchangeInfo`` with no
symbols, so no futures market shadows a spot one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from multidict import MultiDict

from harness.errors import ExchangeReject
from harness.exchange.core import INTERVALS, ExchangeOrder, FakeExchange, Fill, Instrument
from harness.exchange.profiles.base import Profile, ms
from harness.mock.dialect import Dialect
from harness.mock.routes import Request, Response
from harness.mock.server import MockServer
from harness.mock.websocket import FeedState

__all__ = [
    "ENDPOINTS",
    "BinanceDialect",
    "BinanceFeed",
    "BinanceSpotProfile",
    "Endpoint",
    "ccxt_urls",
    "python_binance_urls",
]

ALIASES: tuple[str, ...] = (
    "https://api1.binance.com",
    "https://api2.binance.com",
    "https://api3.binance.com",
    "https://api4.binance.com",
    "https://fapi.binance.com",
    "https://dapi.binance.com",
)
"""Binance's other hosts that spot clients call: the api mirrors and the futures hosts."""

_CCXT_API_PATHS: dict[str, str] = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}


def ccxt_urls(url: str) -> dict[str, str]:
    """ccxt's ``exchange.urls["api"]`` for a binance-spot MockServer served at ``url``
    (``server.serve()``): every API family (``public``, ``private``, ``sapi``, ``fapiPublic``,
    ``dapiPublic``...) on that one socket, at Binance's paths.

    With a rewritten URL ccxt applies only its common error map, not its spot-only one
    (``binance.get_exceptions_by_url`` checks for ``https://api.binance.com/``): -1008 then
    raises ``ExchangeError`` instead of ``OperationFailed``. The codes the harness answers
    otherwise map the same. In-process, clients keep the production URLs and nothing changes.
    """
    base = url.rstrip("/")
    return {key: base + path for key, path in _CCXT_API_PATHS.items()}


def python_binance_urls(url: str) -> dict[str, str]:
    """The class attributes of a python-binance ``AsyncClient`` (or ``Client``) subclass that
    sends its spot (``API_URL``) and ``/sapi`` (``MARGIN_API_URL``) calls to a binance-spot
    MockServer served at ``url``: ``type("MockBinance", (AsyncClient,), python_binance_urls(url))``.

    A subclass, because ``__init__`` formats the class attributes (``tld``,
    ``base_endpoint`` can only choose another Binance host) and ``create()`` pings at once.
    """
    base = url.rstrip("/")
    return {"API_URL": base + "/api", "MARGIN_API_URL": base + "/sapi"}


class BinanceError(Exception):
    """An answer in Binance's error format: ``{"code": ..., "msg": ...}`` with a status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        self.code, self.msg, self.status = code, msg, status
        super().__init__(msg)


def _mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def _illegal(name: str, legal: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def _invalid(name: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


def _filter(name: str) -> BinanceError:
    return BinanceError(-1013, f"Filter failure: {name}")


def _rejected(msg: str) -> BinanceError:
    return BinanceError(-2010, msg)


_DECIMAL = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_DECIMAL_RE = re.compile(_DECIMAL)
_INTEGER = r"^-?[0-9]{1,20}$"
_INTEGER_RE = re.compile(_INTEGER)

_STATUS = {
    "new": "NEW",
    "accepted": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "canceled": "CANCELED",
    "replaced": "CANCELED",
    "rejected": "REJECTED",
    "expired": "EXPIRED",
}
# Binance order type -> (FakeExchange type, post_only, trigger)
_ORDER_TYPES: dict[str, tuple[str, bool, str | None]] = {
    "LIMIT": ("limit", False, None),
    "MARKET": ("market", False, None),
    "LIMIT_MAKER": ("limit", True, None),
    "STOP_LOSS": ("market", False, "stop_loss"),
    "STOP_LOSS_LIMIT": ("limit", False, "stop_loss"),
    "TAKE_PROFIT": ("market", False, "take_profit"),
    "TAKE_PROFIT_LIMIT": ("limit", False, "take_profit"),
}
_TIME_IN_FORCE = ("GTC", "IOC", "FOK")
_RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_MAX_PRICE = Decimal("1000000")
_MAX_QTY = Decimal("9000")
_MARKET_MAX_QTY = Decimal("100")
_MAX_NOTIONAL = Decimal("9000000")
_MAX_NUM_ORDERS = 200
_MAX_NUM_ALGO_ORDERS = 5
_AVG_PRICE_MINS = 5
_ASSET_NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "BNB": "BNB",
    "USDT": "TetherUS",
    "USDC": "USDC",
    "SOL": "Solana",
}
_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]

# Binance's error codes and texts for the answers faults give in its dialect
_DIALECT = {
    "rate_limited": (
        -1003,
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    ),
    "banned": (
        -1003,
        "Way too much request weight used; IP banned until further notice. "
        "Please use WebSocket Streams for live updates to avoid bans.",
    ),
    "internal": (-1001, "Internal error; unable to process your request. Please try again."),
    "maintenance": (
        -1008,
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
    ),
    "gateway_timeout": (
        -1007,
        "Timeout waiting for response from backend server. "
        "Send status unknown; execution status unknown.",
    ),
    # a route the mock does not serve: UNSUPPORTED_OPERATION, which clients raise as a bad
    # request (ccxt: BadRequest), never as a network error or as data
    "unmatched": (-1020, "This operation is not supported."),
}


class BinanceDialect(Dialect):
    """``{"code": -1003, "msg": ...}`` with Binance's codes, and ``X-MBX-USED-WEIGHT-1M``."""

    name = "binance"

    def __init__(self, profile: BinanceSpotProfile) -> None:
        self.profile = profile

    def body(self, status: int, reason: str, message: str) -> Any:
        code, msg = _DIALECT.get(reason, (-1000, message))
        if reason == "unmatched":
            msg = f"{msg} ({message})"
        return {"code": code, "msg": msg}

    def headers(self, status: int, reason: str) -> dict[str, str]:
        return {"X-MBX-USED-WEIGHT-1M": str(self.profile.used_weight())}


# -- the endpoint table -----------------------------------------------------------------


def _by_symbols(one: int, none: int, many: Callable[[int], int] | None = None) -> Any:
    """A weight that depends on ``symbol`` / ``symbols`` (one, none, a list of n)."""

    def weight(params: MultiDict[str]) -> int:
        if params.get("symbol"):
            return one
        raw = params.get("symbols")
        if not raw:
            return none
        if many is None:
            return none
        try:
            count = len(json.loads(raw))
        except (ValueError, TypeError):
            count = 1
        return many(count)

    return weight


def _depth_weight(params: MultiDict[str]) -> int:
    try:
        limit = int(params.get("limit", "100"))
    except ValueError:
        return 5
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def _ticker_24hr_weight(count: int) -> int:
    return 2 if count <= 20 else 40 if count <= 100 else 80


def _window_weight(params: MultiDict[str]) -> int:
    raw = params.get("symbols")
    try:
        count = len(json.loads(raw)) if raw else 1
    except (ValueError, TypeError):
        count = 1
    return min(200, 4 * count)


@dataclass(frozen=True)
class Endpoint:
    """One route of the profile: Binance's method and path, its role, its request weight
    (a number, or a function of the parameters), whether it is signed (``USER_DATA`` and
    ``TRADE``: ``timestamp``, ``signature``, ``X-MBX-APIKEY``), and the weight family
    (``api``, ``sapi``, ``fapi``, ``dapi``: each has its own ``X-MBX-USED-WEIGHT-1M``)."""

    method: str
    path: str
    role: str
    weight: int | Callable[[MultiDict[str]], int]
    signed: bool
    handler: str
    family: str = "api"

    def weight_of(self, params: MultiDict[str]) -> int:
        return self.weight if isinstance(self.weight, int) else self.weight(params)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v3/ping", "status", 1, False, "_ping"),
    Endpoint("GET", "/api/v3/time", "time", 1, False, "_time"),
    Endpoint("GET", "/api/v3/exchangeInfo", "exchange_info", 20, False, "_info"),
    Endpoint("GET", "/api/v3/klines", "bars", 2, False, "_klines"),
    Endpoint("GET", "/api/v3/uiKlines", "bars", 2, False, "_klines"),
    Endpoint("GET", "/api/v3/depth", "book", _depth_weight, False, "_depth"),
    Endpoint("GET", "/api/v3/trades", "trades", 25, False, "_trades"),
    Endpoint("GET", "/api/v3/historicalTrades", "trades", 25, False, "_historical_trades"),
    Endpoint("GET", "/api/v3/aggTrades", "trades", 4, False, "_agg_trades"),
    Endpoint("GET", "/api/v3/avgPrice", "ticker", 2, False, "_avg_price"),
    Endpoint(
        "GET",
        "/api/v3/ticker/24hr",
        "ticker",
        _by_symbols(2, 80, _ticker_24hr_weight),
        False,
        "_24hr",
    ),
    Endpoint("GET", "/api/v3/ticker", "ticker", _window_weight, False, "_window"),
    Endpoint(
        "GET", "/api/v3/ticker/price", "ticker", _by_symbols(2, 4, lambda n: 4), False, "_price"
    ),
    Endpoint(
        "GET",
        "/api/v3/ticker/bookTicker",
        "ticker",
        _by_symbols(2, 4, lambda n: 4),
        False,
        "_book_ticker",
    ),
    Endpoint("POST", "/api/v3/order", "order_place", 1, True, "_new_order"),
    Endpoint(
        "POST",
        "/api/v3/order/test",
        "order_test",
        lambda p: 20 if p.get("computeCommissionRates") == "true" else 1,
        True,
        "_test_order",
    ),
    Endpoint("GET", "/api/v3/order", "order_query", 4, True, "_query_order"),
    Endpoint("DELETE", "/api/v3/order", "order_cancel", 1, True, "_cancel"),
    Endpoint("GET", "/api/v3/openOrders", "open_orders", _by_symbols(6, 80), True, "_open_orders"),
    Endpoint("DELETE", "/api/v3/openOrders", "order_cancel", 1, True, "_cancel_all"),
    Endpoint("GET", "/api/v3/allOrders", "order_history", 20, True, "_all_orders"),
    Endpoint("GET", "/api/v3/account", "account", 20, True, "_account"),
    Endpoint(
        "GET",
        "/api/v3/myTrades",
        "fills",
        lambda p: 5 if p.get("orderId") else 20,
        True,
        "_my_trades",
    ),
    Endpoint("GET", "/api/v3/rateLimit/order", "account", 40, True, "_order_count"),
    Endpoint("GET", "/sapi/v1/system/status", "status", 1, False, "_system_status", "sapi"),
    Endpoint("GET", "/sapi/v1/asset/tradeFee", "account", 1, True, "_trade_fee", "sapi"),
    Endpoint("GET", "/sapi/v1/capital/config/getall", "account", 10, True, "_capital", "sapi"),
    Endpoint("GET", "/sapi/v1/margin/allPairs", "exchange_info", 1, False, "_margin_pairs", "sapi"),
    Endpoint(
        "GET",
        "/sapi/v1/margin/isolated/allPairs",
        "exchange_info",
        10,
        True,
        "_isolated_pairs",
        "sapi",
    ),
    Endpoint("GET", "/fapi/v1/exchangeInfo", "exchange_info", 1, False, "_futures_info", "fapi"),
    Endpoint("GET", "/dapi/v1/exchangeInfo", "exchange_info", 1, False, "_futures_info", "dapi"),
)
"""Every route of the binance-spot profile (method, path, role, Binance's weight)."""


def _f8(value: float | Decimal) -> str:
    return f"{float(value):.8f}"


@dataclass(frozen=True)
class _Trade:
    """One public trade of the tape behind trades, aggTrades and 24h statistics."""

    id: int
    price: float
    qty: float
    time_ms: int
    buyer_maker: bool


class BinanceSpotProfile(Profile):
    """Binance spot over a :class:`~harness.exchange.FakeExchange`.

    ``api_keys`` (``{api_key: secret}``, empty by default): when given, signed requests must
    carry one of these keys (else 401 -2015) and a valid HMAC-SHA256 ``signature`` of the
    query string followed by the body (else -1022), as Binance checks them. When empty, any
    key and any 64-hex signature pass.

    Orders: ``LIMIT``, ``MARKET`` (``quantity`` or ``quoteOrderQty``), ``LIMIT_MAKER``
    (-2010 when it would take), ``STOP_LOSS``/``TAKE_PROFIT`` and their ``_LIMIT`` forms
    (waiting, funds reserved, until the market crosses ``stopPrice``), ``timeInForce``
    GTC/IOC/FOK (IOC and FOK leftovers end ``EXPIRED``), ``newOrderRespType`` ACK/RESULT/FULL
    (FULL for MARKET and LIMIT, ACK otherwise, as Binance defaults). The filters of
    ``exchangeInfo`` are enforced with -1013 (``PRICE_FILTER``, ``LOT_SIZE``,
    ``MARKET_LOT_SIZE``, ``NOTIONAL`` from ``Instrument.min_notional``, ``MAX_NUM_ORDERS``,
    ``MAX_NUM_ALGO_ORDERS``). Fees: unless the FakeExchange was given ``fee_asset``, the
    asset a trade credits pays (a buy of BTCUSDT pays in BTC, a sell in USDT), as on Binance.
    """

    name = "binance-spot"
    base_url = "https://api.binance.com"
    aliases = ALIASES
    snapshot_path = "/api/v3/depth"

    def __init__(self, exchange: FakeExchange) -> None:
        super().__init__(exchange)
        if exchange.fee_asset is None:
            exchange.fee_asset = "received"  # Binance: the asset a trade credits pays the fee
        self.api_keys: dict[str, str] = {}
        self._weights: dict[str, deque[tuple[int, int]]] = {}  # family -> (minute, weight)
        self._orders_placed: deque[float] = deque()  # placement times, for the order counts
        self._tapes: dict[str, list[_Trade]] = {}
        self._rng = random.Random(exchange.seed * 7919 + 17)
        self.dialect = BinanceDialect(self)

    # -- the request wrapper -------------------------------------------------------------
    def mount(self, server: MockServer) -> None:
        for endpoint in ENDPOINTS:
            route = server.route(endpoint.method, endpoint.path, role=endpoint.role)
            route.respond(self._serve(endpoint))
        server.websocket("/ws", feed=BinanceFeed(self.exchange))

    def _serve(self, endpoint: Endpoint) -> Callable[[Request], Response]:
        handler: Callable[[Request, MultiDict[str]], Any] = getattr(self, endpoint.handler)

        def run(request: Request) -> Response:
            params = self._params(request)
            used = self._use_weight(endpoint.family, endpoint.weight_of(params))
            try:
                if endpoint.signed:
                    self._check_signed(request, params)
                body = handler(request, params)
                response = body if isinstance(body, Response) else Response(json=body)
            except BinanceError as exc:
                response = Response(exc.status, json={"code": exc.code, "msg": exc.msg})
            except ExchangeReject as exc:
                response = self._translate(exc)
            response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
            return response

        return run

    def _use_weight(self, family: str, weight: int) -> int:
        self._weights.setdefault(family, deque()).append((int(self.exchange.now() // 60), weight))
        return self.used_weight(family)

    def used_weight(self, family: str = "api") -> int:
        """Request weight used in the current minute (``X-MBX-USED-WEIGHT-1M``) by one API
        family: ``api`` (spot), ``sapi``, ``fapi`` or ``dapi``."""
        minute = int(self.exchange.now() // 60)
        weights = self._weights.setdefault(family, deque())
        while weights and weights[0][0] != minute:
            weights.popleft()
        return sum(w for _, w in weights)

    @staticmethod
    def _params(request: Request) -> MultiDict[str]:
        """Parameters from the query string and a form body (python-binance sends POST and
        DELETE parameters as a form body, ccxt sends DELETE parameters in the query)."""
        params: MultiDict[str] = MultiDict(request.query)
        if request.body and "json" not in request.headers.get("Content-Type", ""):
            params.extend(request.form)
        return params

    def _check_signed(self, request: Request, params: MultiDict[str]) -> None:
        key = request.headers.get("X-MBX-APIKEY")
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", 401)
        if self.api_keys and key not in self.api_keys:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        for name in ("timestamp", "signature"):
            if not params.get(name):
                raise _mandatory(name)
        if not re.fullmatch(r"[0-9a-fA-F]{64}", params["signature"]):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        if self.api_keys and not _signature_ok(request, self.api_keys[key]):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        try:
            timestamp = int(params["timestamp"])
            recv_window = float(params.get("recvWindow", "5000"))
        except ValueError:
            raise _illegal("timestamp", _INTEGER) from None
        if not 0 < recv_window <= 60000:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        server_time = ms(self.exchange.now(self.offset(request)))
        if timestamp >= server_time + 1000:
            raise BinanceError(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if server_time - timestamp > recv_window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")

    @staticmethod
    def _translate(exc: ExchangeReject) -> Response:
        codes = {
            "duplicate_client_order_id": (-2010, "Duplicate order sent."),
            "unknown_order": (-2013, "Order does not exist."),
            "not_open": (-2011, "Unknown order sent."),
            "insufficient_balance": (
                -2010,
                "Account has insufficient balance for requested action.",
            ),
            "unknown_symbol": (-1121, "Invalid symbol."),
            "would_take": (-2010, "Order would immediately match and take."),
            "would_trigger": (-2010, "Order would trigger immediately."),
            "bad_qty": (-1013, "Filter failure: LOT_SIZE"),
            "bad_interval": (-1120, "Invalid interval."),
            "bad_limit": (-1130, "Data sent for parameter 'limit' is not valid."),
        }
        code, msg = codes.get(exc.code, (-1102, exc.message))
        return Response(400, json={"code": code, "msg": msg})

    # -- parameters ------------------------------------------------------------------------
    @staticmethod
    def _need(params: MultiDict[str], name: str) -> str:
        value = params.get(name)
        if not value:
            raise _mandatory(name)
        return value

    @staticmethod
    def _decimal(params: MultiDict[str], name: str) -> Decimal | None:
        value = params.get(name)
        if value is None or value == "":
            return None
        if not _DECIMAL_RE.match(value):
            raise _illegal(name, _DECIMAL)
        return Decimal(value)

    @staticmethod
    def _int(
        params: MultiDict[str], name: str, default: int | None = None, lo: int = 0, hi: int = 0
    ) -> int | None:
        value = params.get(name)
        if value is None or value == "":
            return default
        if not _INTEGER_RE.match(value):
            raise _illegal(name, _INTEGER)
        number = int(value)
        if hi and not lo <= number <= hi:
            raise _invalid(name)
        return number

    def _instrument(self, symbol: str) -> Instrument:
        if symbol not in self.exchange.instruments:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.exchange.instruments[symbol]

    def _symbols(self, params: MultiDict[str]) -> tuple[list[str], bool]:
        """The symbols a market-data request asks for, and whether it asked for one only
        (``symbol=``: answer an object) rather than a list (``symbols=[...]`` or none)."""
        symbol, raw = params.get("symbol"), params.get("symbols")
        if symbol and raw:
            raise BinanceError(-1101, "Parameter 'symbol' and 'symbols' cannot be sent together.")
        if symbol:
            self._instrument(symbol)
            return [symbol], True
        if not raw:
            return sorted(self.exchange.instruments), False
        try:
            names = json.loads(raw)
        except ValueError:
            raise _illegal("symbols", '["SYMBOL",...]') from None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise _illegal("symbols", '["SYMBOL",...]')
        for name in names:
            self._instrument(name)
        return list(dict.fromkeys(names)), False

    # -- general and market data ------------------------------------------------------------
    def _ping(self, request: Request, params: MultiDict[str]) -> Any:
        return {}

    def _time(self, request: Request, params: MultiDict[str]) -> Any:
        return {"serverTime": ms(self.exchange.now(self.offset(request)))}

    def _system_status(self, request: Request, params: MultiDict[str]) -> Any:
        return {"status": 0, "msg": "normal"}

    def _info(self, request: Request, params: MultiDict[str]) -> Any:
        symbols, _ = self._symbols(params)
        return {
            "timezone": "UTC",
            "serverTime": ms(self.exchange.now(self.offset(request))),
            "rateLimits": _RATE_LIMITS,
            "exchangeFilters": [],
            "symbols": [self._symbol_info(self.exchange.instruments[s]) for s in symbols],
        }

    def _symbol_info(self, i: Instrument) -> dict[str, Any]:
        return {
            "symbol": i.symbol,
            "status": "TRADING",
            "baseAsset": i.base,
            "baseAssetPrecision": 8,
            "quoteAsset": i.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(_ORDER_TYPES),
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "opoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "amendAllowed": False,
            "pegInstructionsAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _f8(i.tick),
                    "maxPrice": _f8(_MAX_PRICE),
                    "tickSize": _f8(i.tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _f8(i.min_qty),
                    "maxQty": _f8(_MAX_QTY),
                    "stepSize": _f8(i.step),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": _f8(0),
                    "maxQty": _f8(_MARKET_MAX_QTY),
                    "stepSize": _f8(0),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": _f8(i.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": _f8(_MAX_NOTIONAL),
                    "applyMaxToMarket": False,
                    "avgPriceMins": _AVG_PRICE_MINS,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": _MAX_NUM_ORDERS},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": _MAX_NUM_ALGO_ORDERS},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }

    def _futures_info(self, request: Request, params: MultiDict[str]) -> Any:
        # Only what ccxt's default load_markets reads; no symbols, so no futures market
        # shares an id with a spot one.
        return {
            "timezone": "UTC",
            "serverTime": ms(self.exchange.now(self.offset(request))),
            "rateLimits": [],
            "exchangeFilters": [],
            "assets": [],
            "symbols": [],
        }

    def _candles(self, symbol: str, interval: str) -> list[list[float]]:
        if interval not in INTERVALS:
            raise BinanceError(-1120, "Invalid interval.")
        self._instrument(symbol)
        return self.exchange.candles(symbol, INTERVALS[interval])

    def _klines(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        interval = self._need(params, "interval")
        limit = self._int(params, "limit", 500, 1, 1000) or 500
        start = self._int(params, "startTime")
        end = self._int(params, "endTime")
        bars = self._candles(symbol, interval)
        step = INTERVALS[interval]
        if start is not None:
            bars = [b for b in bars if ms(b[0]) >= start]
        if end is not None:
            bars = [b for b in bars if ms(b[0]) <= end]
        bars = bars[:limit] if start is not None else bars[-limit:]
        return [
            [
                ms(b[0]),
                _f8(b[1]),
                _f8(b[2]),
                _f8(b[3]),
                _f8(b[4]),
                _f8(b[5]),
                ms(b[0] + step) - 1,
                _f8(b[4] * b[5]),
                int(b[5] * 100) + 1,
                _f8(b[5] / 2),
                _f8(b[4] * b[5] / 2),
                "0",
            ]
            for b in bars
        ]

    def _depth(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        self._instrument(symbol)
        limit = self._int(params, "limit", 100, 1, 5000) or 100
        book = self.exchange.book(symbol, limit)
        return {
            "lastUpdateId": self.exchange.book_update_id,
            "bids": [[_f8(p), _f8(q)] for p, q in book["bids"]],
            "asks": [[_f8(p), _f8(q)] for p, q in book["asks"]],
        }

    def _tape(self, symbol: str, step: bool = True) -> list[_Trade]:
        """The public trades of ``symbol``, oldest first: a seeded history the first time,
        then a new trade at the market price on every request (the market steps first
        unless ``step`` is False: the caller already moved it)."""
        self._instrument(symbol)
        tape = self._tapes.get(symbol)
        now = ms(self.exchange.now())
        rng = self._rng
        if tape is None:
            price = self.exchange.price(symbol)
            tape = []
            for n in range(500):
                price *= 1 + rng.gauss(0, 0.0002)
                tape.append(
                    _Trade(
                        1_000_000 + n,
                        round(price, 2),
                        round(rng.lognormvariate(-4, 1), 6),
                        now - (500 - n) * 1200,
                        rng.random() < 0.5,
                    )
                )
            self._tapes[symbol] = tape
        price = self.exchange.step(symbol) if step else self.exchange.price(symbol)
        tape.append(
            _Trade(
                tape[-1].id + 1,
                round(price, 2),
                round(rng.lognormvariate(-4, 1), 6),
                max(now, tape[-1].time_ms),
                rng.random() < 0.5,
            )
        )
        if len(tape) > 5000:
            del tape[:-2500]
        return tape

    @staticmethod
    def _trade_json(t: _Trade) -> dict[str, Any]:
        return {
            "id": t.id,
            "price": _f8(t.price),
            "qty": _f8(t.qty),
            "quoteQty": _f8(t.price * t.qty),
            "time": t.time_ms,
            "isBuyerMaker": t.buyer_maker,
            "isBestMatch": True,
        }

    def _trades(self, request: Request, params: MultiDict[str]) -> Any:
        tape = self._tape(self._need(params, "symbol"))
        limit = self._int(params, "limit", 500, 1, 1000) or 500
        return [self._trade_json(t) for t in tape[-limit:]]

    def _historical_trades(self, request: Request, params: MultiDict[str]) -> Any:
        tape = self._tape(self._need(params, "symbol"))
        limit = self._int(params, "limit", 500, 1, 1000) or 500
        from_id = self._int(params, "fromId")
        if from_id is None:
            return [self._trade_json(t) for t in tape[-limit:]]
        return [self._trade_json(t) for t in tape if t.id >= from_id][:limit]

    def _agg_trades(self, request: Request, params: MultiDict[str]) -> Any:
        tape = self._tape(self._need(params, "symbol"))
        limit = self._int(params, "limit", 500, 1, 1000) or 500
        from_id = self._int(params, "fromId")
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        if from_id is not None:
            picked = [t for t in tape if t.id >= from_id][:limit]
        elif start is not None or end is not None:
            picked = [
                t
                for t in tape
                if (start is None or t.time_ms >= start) and (end is None or t.time_ms <= end)
            ][:limit]
        else:
            picked = tape[-limit:]
        return [
            {
                "a": t.id,
                "p": _f8(t.price),
                "q": _f8(t.qty),
                "f": t.id,
                "l": t.id,
                "T": t.time_ms,
                "m": t.buyer_maker,
                "M": True,
            }
            for t in picked
        ]

    def _avg_price(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        return {
            "mins": _AVG_PRICE_MINS,
            "price": _f8(self._average_price(symbol)),
            "closeTime": self._tape(symbol, step=False)[-1].time_ms,
        }

    def _average_price(self, symbol: str) -> float:
        closes = [b[4] for b in self._candles(symbol, "1m")[-_AVG_PRICE_MINS:]]
        return sum(closes) / len(closes)

    def _stats(self, symbol: str, bars: list[list[float]], now: int, mini: bool) -> Any:
        tape = self._tape(symbol, step=False)
        window = [t for t in tape if t.time_ms >= ms(bars[0][0])] or tape[-1:]
        first, last = bars[0][1], bars[-1][4]
        volume = sum(b[5] for b in bars)
        quote_volume = sum(b[4] * b[5] for b in bars)
        out: dict[str, Any] = {"symbol": symbol}
        if not mini:
            out.update(
                priceChange=_f8(last - first),
                priceChangePercent=f"{(last - first) / first * 100:.3f}",
                weightedAvgPrice=_f8(quote_volume / volume if volume else last),
            )
        out.update(
            openPrice=_f8(first),
            highPrice=_f8(max(b[2] for b in bars)),
            lowPrice=_f8(min(b[3] for b in bars)),
            lastPrice=_f8(last),
            volume=_f8(volume),
            quoteVolume=_f8(quote_volume),
            openTime=ms(bars[0][0]),
            closeTime=now,
            firstId=window[0].id,
            lastId=window[-1].id,
            count=len(window),
        )
        return out

    def _24hr(self, request: Request, params: MultiDict[str]) -> Any:
        symbols, one = self._symbols(params)
        kind = params.get("type", "FULL")
        if kind not in ("FULL", "MINI"):
            raise _illegal("type", "FULL, MINI")
        now = ms(self.exchange.now(self.offset(request)))
        out = []
        for symbol in symbols:
            bars = self.exchange.bars(symbol, "1h", 24)
            stats = self._stats(symbol, bars, now, kind == "MINI")
            if kind == "FULL":
                book = self.exchange.markets[symbol].book(1)
                (bid, bid_qty), (ask, ask_qty) = book["bids"][0], book["asks"][0]
                stats.update(
                    prevClosePrice=_f8(bars[0][1]),
                    lastQty=_f8(self._tapes[symbol][-1].qty),
                    bidPrice=_f8(bid),
                    bidQty=_f8(bid_qty),
                    askPrice=_f8(ask),
                    askQty=_f8(ask_qty),
                )
            out.append(stats)
        return out[0] if one else out

    def _window(self, request: Request, params: MultiDict[str]) -> Any:
        symbols, one = self._symbols(params)
        if not params.get("symbol") and not params.get("symbols"):
            raise _mandatory("symbol")
        size = params.get("windowSize", "1d")
        match = re.fullmatch(r"([0-9]{1,2})([mhd])", size)
        limits = {"m": 59, "h": 23, "d": 7}
        if not match or not 1 <= int(match[1]) <= limits[match[2]]:
            raise _invalid("windowSize")
        count, unit = int(match[1]), match[2]
        interval, bars_n = (
            ("1m", count) if unit == "m" else ("1h", count * (24 if unit == "d" else 1))
        )
        kind = params.get("type", "FULL")
        now = ms(self.exchange.now(self.offset(request)))
        out = [
            self._stats(s, self.exchange.bars(s, interval, bars_n), now, kind == "MINI")
            for s in symbols
        ]
        return out[0] if one else out

    def _price(self, request: Request, params: MultiDict[str]) -> Any:
        symbols, one = self._symbols(params)
        out = [{"symbol": s, "price": _f8(self.exchange.step(s))} for s in symbols]
        return out[0] if one else out

    def _book_ticker(self, request: Request, params: MultiDict[str]) -> Any:
        symbols, one = self._symbols(params)
        out = []
        for symbol in symbols:
            book = self.exchange.book(symbol, 1)
            (bid, bid_qty), (ask, ask_qty) = book["bids"][0], book["asks"][0]
            out.append(
                {
                    "symbol": symbol,
                    "bidPrice": _f8(bid),
                    "bidQty": _f8(bid_qty),
                    "askPrice": _f8(ask),
                    "askQty": _f8(ask_qty),
                }
            )
        return out[0] if one else out

    # -- orders ------------------------------------------------------------------------------
    def _order_request(self, params: MultiDict[str]) -> dict[str, Any]:
        """Validate a new order as Binance does (parameters, then the symbol's filters) and
        return the FakeExchange arguments; raises BinanceError."""
        symbol = self._need(params, "symbol")
        inst = self._instrument(symbol)
        side = self._need(params, "side")
        if side not in ("BUY", "SELL"):
            raise BinanceError(-1117, "Invalid side.")
        kind = self._need(params, "type")
        if kind not in _ORDER_TYPES:
            raise BinanceError(-1116, "Invalid orderType.")
        fake_type, post_only, trigger = _ORDER_TYPES[kind]
        limit_like = fake_type == "limit"
        tif = params.get("timeInForce")
        if limit_like and not post_only:
            if not tif:
                raise _mandatory("timeInForce")
            if tif not in _TIME_IN_FORCE:
                raise BinanceError(-1115, "Invalid timeInForce.")
        elif tif:
            raise _not_required("timeInForce")
        quantity = self._decimal(params, "quantity")
        quote_qty = self._decimal(params, "quoteOrderQty")
        price = self._decimal(params, "price")
        stop = self._decimal(params, "stopPrice")
        if kind == "MARKET":
            if quantity is None and quote_qty is None:
                raise BinanceError(
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                )
            if quantity is not None and quote_qty is not None:
                raise _not_required("quoteOrderQty")
        else:
            if quantity is None:
                raise _mandatory("quantity")
            if quote_qty is not None:
                raise _not_required("quoteOrderQty")
        if limit_like and price is None:
            raise _mandatory("price")
        if not limit_like and price is not None:
            raise _not_required("price")
        if trigger is not None and stop is None:
            raise _mandatory("stopPrice")
        if trigger is None and stop is not None:
            raise _not_required("stopPrice")
        if params.get("trailingDelta"):
            raise _rejected("Trailing stop orders are not supported for this symbol.")
        if params.get("icebergQty"):
            raise _rejected("Iceberg orders are not supported for this symbol.")
        response_type = params.get("newOrderRespType") or (
            "FULL" if kind in ("MARKET", "LIMIT") else "ACK"
        )
        if response_type not in _RESPONSE_TYPES:
            raise _illegal("newOrderRespType", ", ".join(_RESPONSE_TYPES))
        client_id = params.get("newClientOrderId")
        if client_id is not None and not re.fullmatch(r"[.A-Za-z0-9_:/-]{1,36}", client_id):
            raise _illegal("newClientOrderId", "^[\\.A-Z\\:/a-z0-9_-]{1,36}$")
        self._check_filters(inst, kind, side, price, stop, quantity, quote_qty)
        return {
            "symbol": symbol,
            "side": side.lower(),
            "type": fake_type,
            "qty": float(quantity) if quantity is not None else None,
            "price": float(price) if price is not None else None,
            "client_order_id": client_id,
            "time_in_force": (tif or "GTC").lower(),
            "post_only": post_only,
            "trigger": trigger,
            "stop_price": float(stop) if stop is not None else None,
            "quote_qty": float(quote_qty) if quote_qty is not None else None,
            "_response_type": response_type,
        }

    def _check_filters(
        self,
        inst: Instrument,
        kind: str,
        side: str,
        price: Decimal | None,
        stop: Decimal | None,
        quantity: Decimal | None,
        quote_qty: Decimal | None,
    ) -> None:
        tick, step = Decimal(str(inst.tick)), Decimal(str(inst.step))
        min_qty = Decimal(str(inst.min_qty))
        for value in (price, stop):
            if value is not None and (
                value < tick or value > _MAX_PRICE or (value - tick) % tick != 0
            ):
                raise _filter("PRICE_FILTER")
        if quantity is not None:
            if quantity < min_qty or quantity > _MAX_QTY or (quantity - min_qty) % step != 0:
                raise _filter("LOT_SIZE")
            if kind == "MARKET" and quantity > _MARKET_MAX_QTY:
                raise _filter("MARKET_LOT_SIZE")
        if price is not None and quantity is not None:
            notional = price * quantity
        elif quote_qty is not None:
            notional = quote_qty
        else:  # market-priced orders are checked at the average price (applyMinToMarket)
            average = Decimal(str(round(self._average_price(inst.symbol), 8)))
            notional = average * (quantity or Decimal(0))
        if notional < Decimal(str(inst.min_notional)) or (
            price is not None and notional > _MAX_NOTIONAL
        ):
            raise _filter("NOTIONAL")
        open_orders = self.exchange.open_orders(inst.symbol)
        if len(open_orders) >= _MAX_NUM_ORDERS:
            raise _filter("MAX_NUM_ORDERS")
        if kind in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT") and (
            sum(1 for o in open_orders if o.trigger and o.triggered_at is None)
            >= _MAX_NUM_ALGO_ORDERS
        ):
            raise _filter("MAX_NUM_ALGO_ORDERS")

    def _new_order(self, request: Request, params: MultiDict[str]) -> Any:
        args = self._order_request(params)
        response_type = args.pop("_response_type")
        order = self.exchange.submit_order(
            args.pop("symbol"),
            args.pop("side"),
            args.pop("type"),
            args.pop("qty"),
            args.pop("price"),
            args.pop("client_order_id"),
            request_index=request.index,
            **args,
        )
        now = self.exchange.now()
        self._orders_placed.append(now)
        response = Response(json=self._placed_json(order, response_type))
        ten_s, day = self._order_counts(now)
        response.headers["X-MBX-ORDER-COUNT-10S"] = str(ten_s)
        response.headers["X-MBX-ORDER-COUNT-1D"] = str(day)
        return response

    def _test_order(self, request: Request, params: MultiDict[str]) -> Any:
        self._order_request(params)  # validated, never placed
        if params.get("computeCommissionRates") != "true":
            return {}
        rate = _f8(self.exchange.fee_rate)
        zero = {"maker": _f8(0), "taker": _f8(0)}
        return {
            "standardCommissionForOrder": {"maker": rate, "taker": rate},
            "specialCommissionForOrder": zero,
            "taxCommissionForOrder": zero,
            "discount": {
                "enabledForAccount": False,
                "enabledForSymbol": False,
                "discountAsset": "BNB",
                "discount": _f8(0),
            },
        }

    def _order_counts(self, now: float) -> tuple[int, int]:
        while self._orders_placed and self._orders_placed[0] < now - 86_400:
            self._orders_placed.popleft()
        ten_s = sum(1 for t in self._orders_placed if t >= now - 10)
        return ten_s, len(self._orders_placed)

    def _order_count(self, request: Request, params: MultiDict[str]) -> Any:
        ten_s, day = self._order_counts(self.exchange.now())
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": 100,
                "count": ten_s,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "DAY",
                "intervalNum": 1,
                "limit": 200000,
                "count": day,
            },
        ]

    @staticmethod
    def binance_type(order: ExchangeOrder) -> str:
        """The Binance order type of a FakeExchange order (``LIMIT_MAKER``, ``STOP_LOSS``...)."""
        if order.post_only:
            return "LIMIT_MAKER"
        if order.trigger is not None:
            base = "STOP_LOSS" if order.trigger == "stop_loss" else "TAKE_PROFIT"
            return base + ("_LIMIT" if order.type == "limit" else "")
        return order.type.upper()

    @staticmethod
    def binance_status(order: ExchangeOrder) -> str:
        """The Binance status of a FakeExchange order (``EXPIRED`` for the unfilled rest of
        an IOC or FOK order)."""
        if order.expired and order.status == "canceled":
            return "EXPIRED"
        return _STATUS.get(order.status, order.status.upper())

    def _fills(self, order: ExchangeOrder) -> list[Fill]:
        return [f for f in self.exchange.fills if f.order_id == order.order_id]

    def _common(self, order: ExchangeOrder) -> dict[str, Any]:
        fills = self._fills(order)
        out: dict[str, Any] = {
            "price": _f8(order.price or 0),
            "origQty": _f8(order.qty),
            "executedQty": _f8(order.filled_qty),
            "origQuoteOrderQty": _f8(order.quote_qty or 0),
            "cummulativeQuoteQty": _f8(sum(f.price * f.qty for f in fills)),
            "status": self.binance_status(order),
            "timeInForce": order.time_in_force.upper(),
            "type": self.binance_type(order),
            "side": order.side.upper(),
        }
        if order.stop_price is not None:
            out["stopPrice"] = _f8(order.stop_price)
        return out

    @staticmethod
    def _working_time(order: ExchangeOrder) -> int:
        if order.trigger is None:
            return ms(order.created_at)
        return ms(order.triggered_at) if order.triggered_at is not None else -1

    def _head(self, order: ExchangeOrder) -> dict[str, Any]:
        return {
            "symbol": order.symbol,
            "orderId": int(order.order_id),
            "orderListId": -1,
            "clientOrderId": order.client_order_id or f"mock-{order.order_id}",
        }

    def _placed_json(self, order: ExchangeOrder, response_type: str) -> dict[str, Any]:
        out = {**self._head(order), "transactTime": ms(order.created_at)}
        if response_type == "ACK":
            return out
        out.update(self._common(order))
        out["workingTime"] = self._working_time(order)
        out["selfTradePreventionMode"] = "NONE"
        if response_type == "FULL":
            out["fills"] = [
                {
                    "price": _f8(f.price),
                    "qty": _f8(f.qty),
                    "commission": _f8(f.fee),
                    "commissionAsset": f.fee_asset or self.exchange.instruments[f.symbol].quote,
                    "tradeId": f.trade_id,
                }
                for f in self._fills(order)
            ]
        return out

    def _order_json(self, order: ExchangeOrder) -> dict[str, Any]:
        """An order as GET order, openOrders and allOrders show it."""
        return {
            **self._head(order),
            **self._common(order),
            "icebergQty": _f8(0),
            "time": ms(order.created_at),
            "updateTime": ms(order.updated_at),
            "isWorking": order.trigger is None or order.triggered_at is not None,
            "workingTime": self._working_time(order),
            "selfTradePreventionMode": "NONE",
        }

    def _cancel_json(self, order: ExchangeOrder, cancel_id: str | None) -> dict[str, Any]:
        head = self._head(order)
        return {
            "symbol": order.symbol,
            "origClientOrderId": head["clientOrderId"],
            "orderId": head["orderId"],
            "orderListId": -1,
            "clientOrderId": cancel_id or f"mock-cancel-{order.order_id}",
            "transactTime": ms(order.updated_at),
            **self._common(order),
            "selfTradePreventionMode": "NONE",
        }

    def _lookup(self, params: MultiDict[str], unknown: BinanceError) -> ExchangeOrder:
        symbol = self._need(params, "symbol")
        self._instrument(symbol)
        order_id = self._int(params, "orderId")
        client = params.get("origClientOrderId")
        if order_id is None and not client:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        order = (
            self.exchange.orders.get(str(order_id))
            if order_id is not None
            else self.exchange.by_client_id(client or "")
        )
        if order is None or order.symbol != symbol:
            raise unknown
        if client and order.client_order_id != client:
            raise unknown
        return order

    def _query_order(self, request: Request, params: MultiDict[str]) -> Any:
        return self._order_json(self._lookup(params, BinanceError(-2013, "Order does not exist.")))

    def _cancel(self, request: Request, params: MultiDict[str]) -> Any:
        order = self._lookup(params, BinanceError(-2011, "Unknown order sent."))
        if not order.open:
            raise BinanceError(-2011, "Unknown order sent.")
        self.exchange.cancel(order.order_id)
        return self._cancel_json(order, params.get("newClientOrderId"))

    def _cancel_all(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        self._instrument(symbol)
        canceled = self.exchange.cancel_all(symbol)
        if not canceled:
            raise BinanceError(-2011, "Unknown order sent.")
        return [self._cancel_json(order, None) for order in canceled]

    def _open_orders(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = params.get("symbol")
        if symbol:
            self._instrument(symbol)
        return [self._order_json(o) for o in self.exchange.open_orders(symbol or None)]

    def _window_filter(
        self, params: MultiDict[str], items: Iterable[Any], key: Callable[[Any], int]
    ) -> list[Any]:
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        return [
            item
            for item in items
            if (start is None or key(item) >= start) and (end is None or key(item) <= end)
        ]

    def _all_orders(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        self._instrument(symbol)
        limit = self._int(params, "limit", 500, 1, 1000) or 500
        from_id = self._int(params, "orderId")
        orders = sorted(
            (o for o in self.exchange.orders.values() if o.symbol == symbol),
            key=lambda o: int(o.order_id),
        )
        if from_id is not None:
            picked = [o for o in orders if int(o.order_id) >= from_id][:limit]
        else:
            picked = self._window_filter(params, orders, lambda o: ms(o.created_at))
            picked = picked[:limit] if params.get("startTime") else picked[-limit:]
        return [self._order_json(o) for o in picked]

    def _my_trades(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        self._instrument(symbol)
        limit = self._int(params, "limit", 500, 1, 1000) or 500
        order_id, from_id = self._int(params, "orderId"), self._int(params, "fromId")
        fills = [f for f in self.exchange.fills if f.symbol == symbol]
        if order_id is not None:
            fills = [f for f in fills if f.order_id == str(order_id)]
        if from_id is not None:
            fills = [f for f in fills if f.trade_id >= from_id][:limit]
        else:
            fills = self._window_filter(params, fills, lambda f: ms(f.ts))
            fills = fills[:limit] if params.get("startTime") else fills[-limit:]
        quote = self.exchange.instruments[symbol].quote
        return [
            {
                "symbol": f.symbol,
                "id": f.trade_id,
                "orderId": int(f.order_id),
                "orderListId": -1,
                "price": _f8(f.price),
                "qty": _f8(f.qty),
                "quoteQty": _f8(f.price * f.qty),
                "commission": _f8(f.fee),
                "commissionAsset": f.fee_asset or quote,
                "time": ms(f.ts),
                "isBuyer": f.side == "buy",
                "isMaker": f.maker,
                "isBestMatch": True,
            }
            for f in fills
        ]

    # -- account and wallet ----------------------------------------------------------------
    def _account(self, request: Request, params: MultiDict[str]) -> Any:
        rate = self.exchange.fee_rate
        omit_zero = params.get("omitZeroBalances") == "true"
        balances = [
            {
                "asset": a,
                "free": _f8(self.exchange.free(a)),
                "locked": _f8(self.exchange.locked.get(a, 0.0)),
            }
            for a in sorted(self.exchange.balances)
            if not omit_zero or self.exchange.balances[a]
        ]
        return {
            "makerCommission": round(rate * 10_000),
            "takerCommission": round(rate * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": _f8(rate),
                "taker": _f8(rate),
                "buyer": _f8(0),
                "seller": _f8(0),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": ms(self.exchange.now()),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 354937868,
        }

    def _trade_fee(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = params.get("symbol")
        symbols = [symbol] if symbol else sorted(self.exchange.instruments)
        for name in symbols:
            self._instrument(name)
        rate = f"{self.exchange.fee_rate:g}"
        return [{"symbol": s, "makerCommission": rate, "takerCommission": rate} for s in symbols]

    def _assets(self) -> list[str]:
        assets = set(self.exchange.balances)
        for inst in self.exchange.instruments.values():
            assets.update((inst.base, inst.quote))
        return sorted(assets)

    def _capital(self, request: Request, params: MultiDict[str]) -> Any:
        out = []
        for coin in self._assets():
            name = _ASSET_NAMES.get(coin, coin)
            out.append(
                {
                    "coin": coin,
                    "depositAllEnable": True,
                    "withdrawAllEnable": True,
                    "name": name,
                    "free": _f8(self.exchange.free(coin)),
                    "locked": _f8(self.exchange.locked.get(coin, 0.0)),
                    "freeze": _f8(0),
                    "withdrawing": _f8(0),
                    "ipoing": _f8(0),
                    "ipoable": _f8(0),
                    "storage": _f8(0),
                    "isLegalMoney": False,
                    "trading": True,
                    "networkList": [
                        {
                            "network": coin,
                            "coin": coin,
                            "withdrawIntegerMultiple": _f8(1e-8),
                            "isDefault": True,
                            "depositEnable": True,
                            "withdrawEnable": True,
                            "depositDesc": "",
                            "withdrawDesc": "",
                            "specialTips": "",
                            "name": name,
                            "resetAddressStatus": False,
                            "addressRegex": "",
                            "memoRegex": "",
                            "withdrawFee": _f8(0),
                            "withdrawMin": _f8(0),
                            "withdrawMax": _f8(9_000_000),
                            "withdrawInternalMin": _f8(1e-8),
                            "depositDust": _f8(1e-8),
                            "minConfirm": 1,
                            "unLockConfirm": 0,
                            "sameAddress": False,
                            "estimatedArrivalTime": 5,
                            "busy": False,
                            "contractAddressUrl": "",
                            "contractAddress": "",
                        }
                    ],
                }
            )
        return out

    def _margin_pairs(self, request: Request, params: MultiDict[str]) -> Any:
        return [
            {
                "id": 351637150141315860 + n,
                "symbol": i.symbol,
                "base": i.base,
                "quote": i.quote,
                "isMarginTrade": True,
                "isBuyAllowed": True,
                "isSellAllowed": True,
            }
            for n, i in enumerate(sorted(self.exchange.instruments.values(), key=_symbol))
        ]

    def _isolated_pairs(self, request: Request, params: MultiDict[str]) -> Any:
        return [
            {
                "symbol": i.symbol,
                "base": i.base,
                "quote": i.quote,
                "isMarginTrade": True,
                "isBuyAllowed": True,
                "isSellAllowed": True,
            }
            for i in sorted(self.exchange.instruments.values(), key=_symbol)
        ]


def _symbol(instrument: Instrument) -> str:
    return instrument.symbol


def _signature_ok(request: Request, secret: str) -> bool:
    """Binance's check: HMAC-SHA256(secret, query string + body, each without ``signature``)."""
    signature = ""
    parts = []
    for raw in (request.url.raw_query_string, request.text):
        kept = []
        for pair in raw.split("&") if raw else []:
            if pair.startswith("signature="):
                signature = pair[len("signature=") :]
            else:
                kept.append(pair)
        parts.append("&".join(kept))
    expected = hmac.new(secret.encode(), "".join(parts).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature.lower())


STREAMS = ("trade", "kline_1m", "depth")


class BinanceFeed:
    """Binance's streams: by path (``/ws/btcusdt@depth``) or
    ``{"method": "SUBSCRIBE", "params": [...], "id": 1}`` -> ``{"result": null, "id": 1}``;
    payloads as Binance sends them (``trade``, ``kline``, ``depthUpdate`` with ``U``/``u``
    update ids continuing ``lastUpdateId`` of ``/api/v3/depth``)."""

    def __init__(self, market: FakeExchange) -> None:
        self.market = market

    @staticmethod
    def _valid(channel: str) -> bool:
        symbol, _, stream = channel.partition("@")
        return bool(symbol) and stream in STREAMS

    def channels_from_path(self, rest: str) -> list[str]:
        channel = rest.lower()
        return [channel] if self._valid(channel) else []

    def control(self, body: Any, state: FeedState) -> Any:
        if not isinstance(body, dict) or body.get("method") not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return {"code": 2, "msg": "Invalid request"}
        params = [str(p).lower() for p in body.get("params", [])]
        if body["method"] == "SUBSCRIBE":
            state.channels.extend(c for c in params if self._valid(c) and c not in state.channels)
        else:
            state.channels[:] = [c for c in state.channels if c not in params]
        return {"result": None, "id": body.get("id")}

    def heartbeat(self) -> Any:
        return None  # Binance keeps streams alive with pings only

    def numbered(self, message: Any) -> bool:
        return isinstance(message, dict) and "U" in message

    def skip(self, message: Any, skip: int, state: FeedState) -> Any:
        message["U"] += skip
        message["u"] += skip
        self.market.book_update_id += skip
        return message

    def message(self, channel: str, state: FeedState) -> Any:
        symbol_lower, _, stream = channel.partition("@")
        symbol = symbol_lower.upper()
        market = self.market
        now_ms = ms(market.now())
        price = market.step(symbol)
        if stream == "trade":
            seq = state.next_seq(f"{symbol}@trade")
            return {
                "e": "trade",
                "E": now_ms,
                "s": symbol,
                "t": seq,
                "p": f"{price:.2f}",
                "q": "0.01000000",
                "T": now_ms,
                "m": False,
                "M": True,
            }
        if stream == "kline_1m":
            bar = market.bars(symbol, "1m", 1)[-1]
            return {
                "e": "kline",
                "E": now_ms,
                "s": symbol,
                "k": {
                    "t": int(bar[0] * 1000),
                    "T": int(bar[0] * 1000) + 59_999,
                    "s": symbol,
                    "i": "1m",
                    "o": f"{bar[1]:.2f}",
                    "c": f"{bar[4]:.2f}",
                    "h": f"{bar[2]:.2f}",
                    "l": f"{bar[3]:.2f}",
                    "v": f"{bar[5]:.8f}",
                    "x": False,
                },
            }
        book = market.book(symbol, 3)
        first = market.book_update_id + 1
        market.book_update_id += 2
        return {
            "e": "depthUpdate",
            "E": now_ms,
            "s": symbol,
            "U": first,
            "u": market.book_update_id,
            "b": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["bids"][:1]],
            "a": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["asks"][:1]],
        }
