"""Fixtures the Binance conformance modules share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from harness.exchange import MockExchange
from tests.conformance.binance_clients import BACKENDS, Venue, open_venue, prepare


@pytest_asyncio.fixture(params=BACKENDS)
async def venue(
    request: pytest.FixtureRequest, mock_exchange: MockExchange
) -> AsyncIterator[Venue]:
    prepare(mock_exchange)
    async with open_venue(mock_exchange, request.param) as venue:
        yield venue
