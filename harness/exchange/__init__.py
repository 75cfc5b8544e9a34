"""The stateful fake exchange, and API profiles that serve it from a MockServer."""

from __future__ import annotations

from dataclasses import dataclass

from harness.exchange.core import ExchangeOrder, FakeExchange, Fill, Instrument
from harness.exchange.profiles import (
    PROFILES,
    BinanceFeed,
    BinanceSpotProfile,
    GenericFeed,
    GenericProfile,
    Profile,
    mount,
)
from harness.mock.server import DEFAULT_BASE_URL, MockServer

__all__ = [
    "PROFILES",
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
    "mount",
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
        profile: str = "generic",
        *,
        seed: int = 0,
        base_url: str | None = None,
        server: MockServer | None = None,
    ) -> MockExchange:
        kind = PROFILES.get(profile)
        url = base_url or (kind.base_url if kind is not None else DEFAULT_BASE_URL)
        server = server or MockServer(url, seed=seed)
        exchange = FakeExchange(seed)
        return cls(exchange, server, mount(server, exchange, profile))
