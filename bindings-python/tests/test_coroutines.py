"""AsyncClient calls are coroutine functions: nothing is checked, claimed or sent until the
coroutine runs, every asyncio (and anyio) way of running one works, a coroutine never awaited
sends nothing, and cancelling logs nothing at ERROR."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import pickle
import warnings
from typing import Any, List

import pytest

import dajisaas
from conftest import APP_KEY, KeepRecords, Sandbox

ORDER = "2257455039610319001"


def async_client(sb: Sandbox) -> dajisaas.AsyncClient:
    return dajisaas.AsyncClient(APP_KEY, sb.secret, base_url=sb.url, timeout=5.0)


def test_every_call_is_a_coroutine_function() -> None:
    for name in ("pay_url", "pay_urls", "prepare_pay", "pay_many", "payment_record",
                 "payment_records", "resolve_payment", "request", "aclose"):
        assert inspect.iscoroutinefunction(getattr(dajisaas.AsyncClient, name)), name


def test_create_task_task_group_and_gather_pay_exactly_once(sandbox: Sandbox) -> None:
    client = async_client(sandbox)
    orders = [f"22574550396103190{k:02d}" for k in range(1, 5)]

    async def main() -> List[Any]:
        first = asyncio.create_task(client.prepare_pay(orders[0]))
        async with asyncio.TaskGroup() as group:
            second = group.create_task(client.prepare_pay(orders[1]))
        both = await asyncio.gather(client.prepare_pay(orders[2]), first)
        fourth = await asyncio.wait_for(client.prepare_pay(orders[3]), timeout=5)
        return [both[1], second.result(), both[0], fourth]

    payments = asyncio.run(main())
    assert [p.order_id for p in payments] == [orders[0], orders[1], orders[2], orders[3]]
    assert {o: sandbox.deductions(o) for o in orders} == {o: 1 for o in orders}


def test_anyio_task_group_start_soon_pays_once(sandbox: Sandbox) -> None:
    anyio = pytest.importorskip("anyio")
    client = async_client(sandbox)
    paid: List[str] = []

    async def pay(order: str) -> None:
        paid.append((await client.prepare_pay(order)).order_id)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(client.prepare_pay, ORDER)
            group.start_soon(pay, "2257455039610319002")

    anyio.run(main)
    assert paid == ["2257455039610319002"]
    assert sandbox.deductions(ORDER) == 1 and sandbox.deductions("2257455039610319002") == 1


def test_a_call_never_awaited_sends_nothing(sandbox: Sandbox) -> None:
    client = async_client(sandbox)

    async def main() -> None:
        client.prepare_pay(ORDER)  # type: ignore[unused-coroutine]  # never awaited
        client.pay_many([ORDER, "2257455039610319003"])  # type: ignore[unused-coroutine]
        client.prepare_pay("not an order id")  # type: ignore[unused-coroutine]  # not even checked
        await asyncio.sleep(1)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    assert sandbox.stats()["requests"] == 0
    assert sandbox.deductions(ORDER) == 0
    # Python says so, as for any coroutine never awaited.
    assert any("was never awaited" in str(w.message) for w in caught), [str(w.message) for w in caught]


def test_cancelling_pay_many_logs_nothing_at_error(sandbox: Sandbox) -> None:
    # 9007: slow (1.5 s). The run is cancelled while payments are in flight.
    client = async_client(sandbox)
    orders = [f"90070000000001{k:05d}" for k in range(6)]
    handler = KeepRecords()
    logging.getLogger().addHandler(handler)
    handled: List[Any] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: handled.append(context))
        task = asyncio.create_task(client.pay_many(orders, 2))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Long enough for the payments under way to end and their outcomes to reach the loop.
        await asyncio.sleep(2.5)
        gc.collect()
        await asyncio.sleep(0.1)

    try:
        asyncio.run(main())
        gc.collect()
    finally:
        logging.getLogger().removeHandler(handler)
    serious = [r.getMessage() for r in handler.records if r.levelno >= logging.ERROR]
    assert not serious and not handled, (serious, handled)
    # The two under way ran to their outcome; the others never started.
    assert sum(sandbox.stats()["payCalls"].values()) == 2


def test_clients_refuse_pickling_with_a_hint() -> None:
    for client in (dajisaas.Client(APP_KEY, "s"), dajisaas.AsyncClient(APP_KEY, "s")):
        with pytest.raises(TypeError, match="make the client where it is used, e.g. once per Celery"):
            pickle.dumps(client)


def test_under_trio_the_error_says_what_to_do(sandbox: Sandbox) -> None:
    trio = pytest.importorskip("trio")
    client = async_client(sandbox)
    blocking = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url)

    async def main() -> str:
        with pytest.raises(RuntimeError, match=r"trio\.to_thread\.run_sync"):
            await client.pay_url(["1"])
        # What the hint says works.
        link: dajisaas.PayUrl = await trio.to_thread.run_sync(blocking.pay_url, ["2"])
        return link.order_ids[0]

    assert trio.run(main) == "2"
    assert sandbox.stats()["requests"] == 1
