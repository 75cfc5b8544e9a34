"""API profiles: mount a FakeExchange on a MockServer as an exchange's REST API and streams.

``generic``: a small clean JSON API (``/v1/...``). ``binance-spot``: Binance's spot REST
API as clients use it. ``alpaca``: Alpaca's Trading and Market Data APIs. A team's own API:
a profile YAML (:mod:`harness.exchange.profiles.custom`). Every route declares its role.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import MockConfigError
from harness.exchange.core import FakeExchange
from harness.exchange.profiles.alpaca import AlpacaProfile
from harness.exchange.profiles.base import Profile
from harness.exchange.profiles.binance import BinanceFeed, BinanceSpotProfile
from harness.exchange.profiles.generic import GenericFeed, GenericProfile
from harness.mock.server import MockServer

__all__ = [
    "PROFILES",
    "AlpacaProfile",
    "BinanceFeed",
    "BinanceSpotProfile",
    "GenericFeed",
    "GenericProfile",
    "Profile",
    "ProfileRef",
    "mount",
    "resolve_profile",
]

PROFILES: dict[str, type[Profile]] = {
    p.name: p for p in (GenericProfile, BinanceSpotProfile, AlpacaProfile)
}


ProfileRef = str | Path | type[Profile]
"""A profile by name (``binance-spot``), by YAML file (a custom profile), or its class."""


def resolve_profile(profile: ProfileRef, root: str | Path | None = None) -> type[Profile]:
    """The profile class a name, a YAML path (relative to ``root``) or a class stands for."""
    if isinstance(profile, type) and issubclass(profile, Profile):
        return profile
    text = str(profile)
    if text in PROFILES:
        return PROFILES[text]
    path = Path(text)
    if path.suffix in (".yaml", ".yml"):
        from harness.exchange.profiles.custom import load_profile

        if root is not None and not path.is_absolute():
            path = Path(root) / path
        return load_profile(path)
    raise MockConfigError(
        "exchange profile",
        f"{text!r} is not known",
        f"use one of {', '.join(sorted(PROFILES))}, or a profile YAML file",
    )


def mount(server: MockServer, exchange: FakeExchange, profile: ProfileRef = "generic") -> Profile:
    """Mount ``exchange`` on ``server`` with the routes of ``profile``."""
    instance = resolve_profile(profile)(exchange)
    instance.mount(server)
    server.profile = instance
    server.dialect = instance.dialect
    server.add_aliases(instance.base_url, *instance.aliases)
    return instance
