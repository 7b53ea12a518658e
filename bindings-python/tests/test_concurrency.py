"""Threads sharing one client overlap their requests (the GIL is released), and the asyncio
client runs calls concurrently."""

import asyncio
import threading

import pytest

import dajisaas
from conftest import APP_KEY, Sandbox


def test_sixteen_threads_sharing_one_client_overlap(slow_sandbox: Sandbox) -> None:
    slow_sandbox.reset()
    client = dajisaas.Client(APP_KEY, slow_sandbox.secret, base_url=slow_sandbox.url)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for k in range(3):
                client.pay_url([str(1000 + n * 10 + k)])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    stats = slow_sandbox.stats()
    assert stats["requests"] == 48
    # Each answer takes 100 ms; with the GIL held they would go one at a time.
    assert stats["peakInFlight"] >= 8, stats["peakInFlight"]


def test_async_client_runs_calls_concurrently(slow_sandbox: Sandbox) -> None:
    slow_sandbox.reset()

    async def main() -> list[dajisaas.PayUrl]:
        client = dajisaas.AsyncClient(APP_KEY, slow_sandbox.secret, base_url=slow_sandbox.url)
        return await asyncio.gather(*(client.pay_url([str(n + 1)]) for n in range(16)))

    links = asyncio.run(main())
    assert [link.order_ids for link in links] == [[str(n + 1)] for n in range(16)]
    assert slow_sandbox.stats()["peakInFlight"] >= 8


def test_async_client_calls_and_errors(sandbox: Sandbox) -> None:
    # The outcome of each sandbox pattern through AsyncClient is in test_outcomes.py.
    async def main() -> None:
        client = dajisaas.AsyncClient(
            APP_KEY, sandbox.secret, base_url=sandbox.url, timeout_ms=700, backoff_base_ms=1,
            backoff_cap_ms=5,
        )
        links = await client.pay_urls([str(n) for n in range(1, 26)], batch_size=10)
        assert len(links) == 3
        data = await client.request("POST", "/alibaba/x", {"n": 1})
        assert data["params"]["n"] == 1
        with pytest.raises(dajisaas.InvalidArgumentError):
            await client.pay_url([1.5])
        with pytest.raises(dajisaas.InvalidArgumentError, match="params must be a mapping"):
            await client.request("POST", "/alibaba/x", [1])  # type: ignore[arg-type]

    asyncio.run(main())
    assert sandbox.stats()["requests"] == 4


def test_concurrent_payment_of_one_order_is_refused(sandbox: Sandbox) -> None:
    client = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url, timeout_ms=5000)
    results: list[object] = []
    first = threading.Thread(target=lambda: results.append(client.prepare_pay("9007000000000000001")))
    first.start()
    while not sandbox.stats()["payCalls"]:
        pass
    # payment_in_progress once the core's per-client guard reports it (a parallel change);
    # invalid_argument until then. Either way nothing is sent.
    with pytest.raises(
        (dajisaas.PaymentInProgressError, dajisaas.InvalidArgumentError), match="already under way"
    ):
        client.prepare_pay("9007000000000000001")
    first.join()
    assert sandbox.deductions("9007000000000000001") == 1
