"""max_connections: a client never has more requests (and so connections) in flight; calls
beyond it wait their turn, and the wait is not part of their timeout."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

import dajisaas
from conftest import APP_KEY, SECRET, Sandbox


def test_max_connections_defaults_to_64_and_is_checked() -> None:
    assert dajisaas.Client(APP_KEY, SECRET).config["max_connections"] == 64
    with pytest.raises(dajisaas.InvalidArgumentError, match="max_connections must be a whole number from 1 to 1024, not 0"):
        dajisaas.Client(APP_KEY, SECRET, max_connections=0)


def test_calls_beyond_the_cap_wait_without_timing_out() -> None:
    # 16 calls of 100 ms through 2 connections take about 800 ms, over the 400 ms timeout.
    sb = Sandbox(latency_ms=100)
    try:
        client = dajisaas.Client(APP_KEY, sb.secret, base_url=sb.url, timeout=0.4,
                                 max_connections=2)
        with ThreadPoolExecutor(16) as pool:
            links = list(pool.map(lambda i: client.pay_url([str(100 + i)]), range(16)))
        assert [link.attempts for link in links] == [1] * 16
        stats = sb.stats()
        assert (stats["requests"], stats["peakInFlight"]) == (16, 2)

        async def many() -> list[dajisaas.PayUrl]:
            a = dajisaas.AsyncClient(APP_KEY, sb.secret, base_url=sb.url, timeout=0.4,
                                     max_connections=3)
            return await asyncio.gather(*(a.pay_url([str(200 + i)]) for i in range(12)))

        sb.reset()
        assert len(asyncio.run(many())) == 12
        assert sb.stats()["peakInFlight"] == 3
    finally:
        sb.stop()
