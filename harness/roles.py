"""Endpoint roles: what an endpoint is for, in a fixed vocabulary every API shares.

Scenarios and invariants speak roles, not paths, so one scenario library applies to the
generic profile, to Binance, to Alpaca, and to a team's own API. Every route of every
profile declares its role; a user's route declares one (``server.get("/api/candles",
role="bars")``) or the project maps paths to roles in configuration
(``[tool.chaos-harness.roles]`` in pyproject.toml: ``"GET /api/candles" = "bars"``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from harness.errors import MockConfigError, messages

__all__ = [
    "LOOKUP",
    "MARKET_DATA",
    "ORDER_WRITES",
    "ROLES",
    "RoleMap",
    "check_role",
    "load_role_map",
]

ROLES: dict[str, str] = {
    "time": "the exchange's clock (server time, market clock)",
    "status": "liveness and system status (ping, maintenance status)",
    "exchange_info": "instruments, symbols, assets, trading rules",
    "bars": "candles (OHLCV)",
    "ticker": "last price and 24h statistics",
    "book": "an order-book snapshot (or best bid and ask)",
    "trades": "recent public trades",
    "order_place": "place an order",
    "order_test": "validate an order without placing it",
    "order_query": "look one order up (by id or client order id)",
    "order_cancel": "cancel an order (or all open orders)",
    "order_replace": "change an open order",
    "open_orders": "list open orders",
    "order_history": "list past orders",
    "fills": "the account's own trades",
    "account": "balances, buying power, fees",
    "positions": "open positions",
    "stream": "a WebSocket stream",
}
"""Every role, with what it is for."""

MARKET_DATA = frozenset({"bars", "ticker", "book", "trades"})
"""Roles whose answers are market data a client may trade on."""
ORDER_WRITES = frozenset({"order_place", "order_cancel", "order_replace"})
"""Roles that change orders on the exchange."""
LOOKUP = frozenset({"order_query", "open_orders", "order_history"})
"""Roles that tell a client whether an order exists (what to ask after an ambiguous send)."""


def check_role(role: str | None, where: str = "route") -> str | None:
    """``role`` when it is in the vocabulary (or None); ``MockConfigError`` with a hint."""
    if role is None or role in ROLES:
        return role
    near = get_close_matches(str(role), list(ROLES), n=1)
    raise MockConfigError(where, messages.unknown_role(str(role), near, list(ROLES)))


class RoleMap:
    """Roles for routes that do not declare one: ``"METHOD /path"`` (or ``"/path"`` for any
    method) -> role, from a project's configuration."""

    def __init__(self, mapping: Mapping[str, str] | None = None, source: str = "roles") -> None:
        self.source = source
        self.entries: list[tuple[str | None, str, str]] = []
        for key, role in (mapping or {}).items():
            check_role(role, f"{source}: {key!r}")
            method, _, path = key.strip().rpartition(" ")
            self.entries.append(
                (method.upper() or None, path if path.startswith("/") else "/" + path, role)
            )

    def role_for(self, method: str, path: str) -> str | None:
        from harness.mock.patterns import PathPattern

        for want, pattern, role in self.entries:
            if (want is None or want == method.upper()) and PathPattern(pattern).match(
                path
            ) is not None:
                return role
        return None

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __repr__(self) -> str:
        return f"<RoleMap {len(self.entries)} entries from {self.source}>"


def load_role_map(root: str | Path, files: Iterable[str | Path] = ()) -> RoleMap:
    """The project's role map: ``[tool.chaos-harness.roles]`` in ``pyproject.toml``, plus any
    roles files (TOML or YAML mappings) named by the ini setting ``chaos_roles``."""
    mapping: dict[str, str] = {}
    sources = []
    pyproject = Path(root) / "pyproject.toml"
    if pyproject.is_file():
        data: Any = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        found = data.get("tool", {}).get("chaos-harness", {}).get("roles", {})
        if found:
            mapping.update(_strings(found, str(pyproject)))
            sources.append(str(pyproject))
    for file in files:
        path = Path(root) / file
        mapping.update(_strings(_read_mapping(path), str(path)))
        sources.append(str(path))
    return RoleMap(mapping, source=", ".join(sources) or "roles")


def _read_mapping(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MockConfigError(str(path), messages.cannot_read(exc)) from None
    if path.suffix == ".toml":
        return tomllib.loads(text)
    import yaml

    return yaml.safe_load(text) or {}


def _strings(found: Any, source: str) -> dict[str, str]:
    if not isinstance(found, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        raise MockConfigError(source, messages.bad_role_map())
    return dict(found)
