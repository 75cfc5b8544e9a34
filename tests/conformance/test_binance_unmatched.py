"""A route the profile does not serve is never data and never a network error, for either
client on either backend; and it still fails the test at teardown."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest
from binance.exceptions import BinanceAPIException

from harness.errors import UnmatchedRequestError
from harness.exchange import MockExchange
from tests.conformance.binance_clients import KEY, SECRET, open_venue, prepare


@pytest.mark.parametrize("backend", ["inprocess", "socket"])
async def test_an_unserved_endpoint_raises_in_both_clients(backend: str) -> None:
    me = MockExchange.create("binance-spot", seed=5)
    prepare(me)
    with me.server.intercept():
        async with open_venue(me, backend) as venue:
            ex = venue.ccxt()
            await ex.load_markets()
            client = await venue.binance()
            if backend == "socket":
                # Binance's error format, which each client raises as its own error
                with pytest.raises(ccxt.BadRequest) as from_ccxt:
                    await ex.fetch_deposit_address("BTC")  # GET /sapi/v1/capital/deposit/address
                with pytest.raises(BinanceAPIException) as from_binance:
                    await client.get_deposit_address(coin="BTC")
                assert (from_binance.value.status_code, from_binance.value.code) == (404, -1020)
                texts = [str(from_ccxt.value), from_binance.value.message]
            else:  # in-process the request never leaves the client: the harness's own error
                with pytest.raises(UnmatchedRequestError) as from_ccxt_inprocess:
                    await ex.fetch_deposit_address("BTC")
                with pytest.raises(UnmatchedRequestError) as from_binance_inprocess:
                    await client.get_deposit_address(coin="BTC")
                texts = [str(from_ccxt_inprocess.value), str(from_binance_inprocess.value)]
    for text in texts:
        assert "no route matches GET" in text and "/sapi/v1/capital/deposit/address?" in text
        assert "signature=***" in text and KEY not in text and SECRET not in text
    assert len(me.server.unmatched) == 2
    with pytest.raises(UnmatchedRequestError, match="2 requests reached the mock server"):
        me.server.verify()  # what the mock_server fixture does at teardown
    for error in me.server.unmatched:
        assert "signature=***" in str(error)
