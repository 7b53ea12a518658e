"""pay_many and its asyncio twin: every id checked before anything is sent, one result per
order in input order, a repeated id paid once, on_progress once per order on a Python thread
(the caller's, or the loop's) before the call returns, the concurrency bound, stopping a run,
and max_calls_per_second against a sandbox with --qps."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Iterator, List, Union

import pytest

import dajisaas
from conftest import APP_KEY, Sandbox, make_client

NORMAL = "2257164624870313001"
NORMAL_2 = "2257164624870313002"
DECLINE = "9000000000000000301"
UNKNOWN = "9003000000000000301"
MIXED: List[Union[str, int]] = [NORMAL, DECLINE, UNKNOWN, NORMAL, int(NORMAL_2)]


def slow_ids(n: int, start: int = 400) -> List[str]:
    """Ids the sandbox answers after its slow delay."""
    return [f"9007{start + i:015d}" for i in range(n)]


@pytest.fixture(scope="module")
def slow() -> Iterator[Sandbox]:
    sb = Sandbox(slow_ms=300)
    yield sb
    sb.stop()


def check_mixed(result: dajisaas.PayManyResult, sandbox: Sandbox) -> None:
    assert [r.order_id for r in result.results] == [NORMAL, DECLINE, UNKNOWN, NORMAL_2]
    assert [r.outcome for r in result.results] == ["paid", "declined", "unknown", "paid"]
    paid, declined, unknown, _ = result.results
    assert isinstance(paid.payment, dajisaas.Payment) and paid.error is None
    assert paid.payment.order_id == NORMAL and paid.payment.pay_channel == "alipay"
    assert isinstance(declined.error, dajisaas.PaymentDeclinedError) and declined.payment is None
    assert declined.error.attempts == 4
    assert isinstance(unknown.error, dajisaas.PaymentOutcomeUnknownError)
    assert result.summary == {"paid": 2, "declined": 1, "unknown": 1, "in_progress": 0, "failed": 0, "not_payable": 0}
    assert repr(declined).startswith(f"PayManyItem(order_id='{DECLINE}', outcome='declined', error=PaymentDeclinedError(")
    stats = sandbox.stats()
    assert stats["payCalls"][NORMAL] == 1
    assert stats["payCallsAfterPaid"] == 0


def test_one_bad_id_and_nothing_is_sent(client: dajisaas.Client, sandbox: Sandbox) -> None:
    with pytest.raises(dajisaas.InvalidArgumentError, match=r'orderIds\[3\] "12a"'):
        client.pay_many([NORMAL, DECLINE, UNKNOWN, "12a", 7])
    for concurrency in (0, 65, 1.5, "4", True):
        with pytest.raises(dajisaas.InvalidArgumentError, match="concurrency must be a whole number from 1 to 64"):
            client.pay_many([NORMAL], concurrency)  # type: ignore[arg-type]
    with pytest.raises(dajisaas.InvalidArgumentError, match="on_progress must be callable"):
        client.pay_many([NORMAL], on_progress="print")  # type: ignore[arg-type]
    assert sandbox.stats()["requests"] == 0


def test_each_order_gets_its_outcome_in_input_order(client: dajisaas.Client, sandbox: Sandbox) -> None:
    seen: List[Any] = []
    result = client.pay_many(MIXED, 3, on_progress=lambda item: seen.append((item.order_id, threading.get_ident())))
    check_mixed(result, sandbox)
    # Once per order, every call on the calling thread, before pay_many returned.
    assert sorted(order for order, _ in seen) == sorted([NORMAL, DECLINE, UNKNOWN, NORMAL_2])
    assert {thread for _, thread in seen} == {threading.get_ident()}
    again = client.pay_many([NORMAL])
    assert again.results[0].payment is not None and again.results[0].payment.replayed


def test_the_asyncio_twin(sandbox: Sandbox) -> None:
    seen: List[Any] = []

    async def main() -> dajisaas.PayManyResult:
        client = dajisaas.AsyncClient(APP_KEY, sandbox.secret, base_url=sandbox.url, timeout=0.7,
                                      backoff_base=0.001, backoff_cap=0.005)
        with pytest.raises(dajisaas.InvalidArgumentError, match=r"orderIds\[1\]"):
            await client.pay_many([NORMAL, "x"])
        with pytest.raises(dajisaas.InvalidArgumentError, match="on_progress must be callable"):
            await client.pay_many([NORMAL], on_progress=3)  # type: ignore[arg-type]
        run = client.pay_many(MIXED, 3, on_progress=lambda item: seen.append((item.outcome, threading.get_ident())))
        result = await run
        assert len(seen) == 4, "every on_progress call comes before the future settles"
        return result

    check_mixed(asyncio.run(main()), sandbox)
    assert {thread for _, thread in seen} == {threading.get_ident()}


def test_at_most_concurrency_payments_are_in_flight(slow: Sandbox) -> None:
    slow.reset()
    client = make_client(slow, timeout=5.0)
    result = client.pay_many(slow_ids(8), 4)
    assert result.summary["paid"] == 8
    assert slow.stats()["peakInFlight"] == 4


def test_an_exception_of_on_progress_stops_the_run(slow: Sandbox) -> None:
    slow.reset()
    client = make_client(slow, timeout=5.0)
    ids = slow_ids(6, start=500)

    def stop(item: dajisaas.PayManyItem) -> None:
        raise RuntimeError(f"stop after {item.order_id}")

    with pytest.raises(RuntimeError, match=f"stop after {ids[0]}"):
        client.pay_many(ids, 1, on_progress=stop)
    time.sleep(1.0)  # three more slow payments, had the run gone on
    calls = slow.stats()["payCalls"]
    assert calls.get(ids[0]) == 1
    assert sum(calls.get(i, 0) for i in ids[2:]) == 0, calls
    # A payment under way when the run stopped reached its recorded outcome.
    record = client.payment_record(ids[1])
    assert record is None or record.state == "paid", record


def test_cancelling_the_asyncio_run_starts_nothing_new(slow: Sandbox) -> None:
    slow.reset()
    ids = slow_ids(6, start=600)

    async def main() -> Any:
        client = dajisaas.AsyncClient(APP_KEY, slow.secret, base_url=slow.url, timeout=5.0)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.pay_many(ids, 1), 0.45)
        await asyncio.sleep(1.2)
        return await client.payment_records()

    records = asyncio.run(main())
    calls = slow.stats()["payCalls"]
    assert 1 <= sum(calls.values()) <= 3, calls
    assert sum(calls.get(i, 0) for i in ids[3:]) == 0, calls
    # Every payment that was sent has its outcome recorded: none is left in flight.
    assert sorted(r.order_id for r in records if r.state == "paid") == sorted(calls), records


def test_max_calls_per_second_paces_every_call_of_the_client() -> None:
    limited = Sandbox("--qps", "20")
    try:
        client = make_client(limited, max_calls_per_second=20, timeout=5.0)
        assert client.config["max_calls_per_second"] == 20
        assert make_client(limited).config["max_calls_per_second"] is None
        ids = [str(2257164624870314000 + i) for i in range(40)]
        started = time.monotonic()
        result = client.pay_many(ids, 8)
        elapsed = time.monotonic() - started
        assert result.summary["paid"] == 40
        # 40 calls spaced evenly at 20 per second (the limiter allows no burst).
        assert elapsed >= 1.9, elapsed
        assert limited.stats()["rateLimited"] == 0
    finally:
        limited.stop()
