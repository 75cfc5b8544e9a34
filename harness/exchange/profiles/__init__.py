"""API profiles: mount a FakeExchange on a MockServer as an exchange's REST API and streams.

``generic``: a small clean JSON API (``/v1/...``). ``binance-spot``: the subset of
Binance's spot REST API a bot uses. Every route declares its role.
"""

from __future__ import annotations

from harness.errors import MockConfigError
from harness.exchange.core import FakeExchange
from harness.exchange.profiles.base import Profile
from harness.exchange.profiles.binance import BinanceFeed, BinanceSpotProfile
from harness.exchange.profiles.generic import GenericFeed, GenericProfile
from harness.mock.server import MockServer

__all__ = [
    "PROFILES",
    "BinanceFeed",
    "BinanceSpotProfile",
    "GenericFeed",
    "GenericProfile",
    "Profile",
    "mount",
]

PROFILES: dict[str, type[Profile]] = {p.name: p for p in (GenericProfile, BinanceSpotProfile)}


def mount(server: MockServer, exchange: FakeExchange, profile: str = "generic") -> Profile:
    """Mount ``exchange`` on ``server`` with the routes of ``profile``."""
    if profile not in PROFILES:
        raise MockConfigError(
            "exchange profile",
            f"{profile!r} is not known",
            f"use one of {', '.join(sorted(PROFILES))}",
        )
    instance = PROFILES[profile](exchange)
    instance.mount(server)
    server.profile = instance
    server.dialect = instance.dialect
    server.add_aliases(instance.base_url, *instance.aliases)
    return instance
