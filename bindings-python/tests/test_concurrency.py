"""Threads sharing one client overlap their requests (the GIL is released), and the asyncio
client runs calls concurrently."""

import asyncio
import os
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
            APP_KEY, sandbox.secret, base_url=sandbox.url, timeout=0.7, backoff_base=0.001,
            backoff_cap=0.005,
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


def test_a_second_payment_of_an_order_under_way_waits_for_it(sandbox: Sandbox) -> None:
    client = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url, timeout=5.0)
    results: list[dajisaas.Payment] = []
    first = threading.Thread(target=lambda: results.append(client.prepare_pay("9007000000000000001")))
    first.start()
    while not sandbox.stats()["payCalls"]:
        pass
    # Sends nothing: waits for the payment under way and returns its outcome.
    second = client.prepare_pay("9007000000000000001")
    first.join()
    assert (results[0].replayed, second.replayed) == (False, True)
    assert second.trace_id == results[0].trace_id
    assert sandbox.stats()["payCalls"]["9007000000000000001"] == 1
    assert sandbox.deductions("9007000000000000001") == 1


def test_the_journal_replays_refuses_and_reconciles(sandbox: Sandbox) -> None:
    client = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url, timeout=1.0)
    paid = client.prepare_pay("2257164624870311982")
    again = client.prepare_pay(2257164624870311982)
    assert again.replayed and again.trace_id == paid.trace_id
    with pytest.raises(dajisaas.PaymentOutcomeUnknownError) as first:
        client.prepare_pay("9003000000000000082")
    assert first.value.attempts == 1
    with pytest.raises(dajisaas.PaymentOutcomeUnknownError, match="resolve_payment") as refused:
        client.prepare_pay("9003000000000000082")
    assert refused.value.attempts == 0
    unknown = client.payment_records("unknown")
    assert [r.order_id for r in unknown] == ["9003000000000000082"]
    # A person may correct a paid order (refunded by hand); each resolution is kept.
    corrected = client.resolve_payment("2257164624870311982", paid=False, note="refunded by hand")
    assert corrected.state == "not_paid"
    entry = corrected.history[-1]
    assert isinstance(entry, dajisaas.PaymentResolution)
    assert (entry.from_state, entry.to_state, entry.note) == ("paid", "not_paid", "refunded by hand")
    assert entry.by["pid"] == os.getpid() and entry.at.endswith("Z")
    assert corrected.to_dict()["history"][-1]["to_state"] == "not_paid"
    record = client.resolve_payment("9003000000000000082", paid=True, note="seen in 1688")
    assert record.state == "paid"
    again = client.payment_record("9003000000000000082")
    assert again is not None and again.history[-1].note == "seen in 1688" and again == record
    assert again.gateway == sandbox.url and again.app_key == APP_KEY
    assert again.claim_id is not None
    with pytest.raises(dajisaas.InvalidArgumentError, match="note"):
        client.resolve_payment("9003000000000000082", paid=True, note="x" * 5000)
    assert client.payment_record("2257164624870319999") is None
    stats = sandbox.stats()
    assert stats["payCalls"]["2257164624870311982"] == 1
    assert stats["payCalls"]["9003000000000000082"] == 1
    assert stats["payCallsAfterPaid"] == 0


def test_the_async_journal_calls(sandbox: Sandbox) -> None:
    async def run() -> None:
        client = dajisaas.AsyncClient(APP_KEY, sandbox.secret, base_url=sandbox.url)
        await client.prepare_pay("2257164624870311983")
        assert (await client.prepare_pay("2257164624870311983")).replayed
        record = await client.payment_record("2257164624870311983")
        assert record is not None and record.state == "paid"
        assert [r.order_id for r in await client.payment_records("paid")] == ["2257164624870311983"]
        with pytest.raises(dajisaas.InvalidArgumentError, match="note"):
            await client.resolve_payment("2257164624870311983", paid=True, note="a\0b")

    asyncio.run(run())
