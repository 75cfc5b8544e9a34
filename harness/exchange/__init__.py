"""The stateful fake exchange, and API profiles that serve it from a MockServer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.exchange.core import ExchangeOrder, FakeExchange, Fill, Instrument
from harness.exchange.profiles import (
    PROFILES,
    AlpacaProfile,
    BinanceFeed,
    BinanceSpotProfile,
    GenericFeed,
    GenericProfile,
    Profile,
    ProfileRef,
    mount,
    resolve_profile,
)
from harness.mock.server import DEFAULT_BASE_URL, MockServer

__all__ = [
    "PROFILES",
    "AlpacaProfile",
    "BinanceFeed",
    "BinanceSpotProfile",
    "ExchangeOrder",
    "FakeExchange",
    "Fill",
    "GenericFeed",
    "GenericProfile",
    "Instrument",
    "MockExchange",
    "Profile",
    "ProfileRef",
    "mount",
    "resolve_profile",
]


@dataclass
class MockExchange:
    """A fake exchange mounted on a MockServer: what the ``mock_exchange`` fixture gives."""

    exchange: FakeExchange
    server: MockServer
    profile: Profile

    @property
    def url(self) -> str:
        return self.server.url

    @classmethod
    def create(
        cls,
        profile: ProfileRef = "generic",
        *,
        seed: int = 0,
        base_url: str | None = None,
        server: MockServer | None = None,
        root: str | Path | None = None,
    ) -> MockExchange:
        """A FakeExchange with the routes of ``profile``: a name (``binance-spot``), a
        profile YAML (relative to ``root``), or a Profile class."""
        kind = resolve_profile(profile, root)
        server = server or MockServer(base_url or kind.base_url or DEFAULT_BASE_URL, seed=seed)
        exchange = FakeExchange(seed, instruments=kind.instruments(), balances=kind.balances())
        return cls(exchange, server, mount(server, exchange, kind))
