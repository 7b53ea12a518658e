"""The asyncio bridge: an awaited call is settled on its event loop's own thread, cancelling only
stops the waiting, and one AsyncClient works across loops and threads. Log records reach
Python's logging on Python threads only."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Dict, List

import pytest

import dajisaas
from conftest import APP_KEY, Sandbox


def async_client(sb: Sandbox, **options: Any) -> dajisaas.AsyncClient:
    options.setdefault("timeout", 5.0)
    return dajisaas.AsyncClient(APP_KEY, sb.secret, base_url=sb.url, **options)


def test_futures_are_settled_on_the_loop_thread(sandbox: Sandbox) -> None:
    client = async_client(sandbox)
    seen: List[str] = []

    async def main() -> None:
        future = asyncio.ensure_future(client.pay_url(["1"]))
        future.add_done_callback(lambda f: seen.append(threading.current_thread().name))
        link = await future
        assert link.order_ids == ["1"]

    asyncio.run(main())
    assert seen == [threading.current_thread().name]


def test_cancelling_stops_waiting_and_the_core_finishes_the_payment(sandbox: Sandbox) -> None:
    # 9007: paid after the sandbox's --slow-ms (1500 ms).
    client = async_client(sandbox)
    order = "9007000000000000002"

    async def main() -> int:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(client.prepare_pay(order), 0.2)
        # The request was written: the payment goes on in the core to its outcome, which nobody
        # receives (the loop settles nothing for a cancelled call).
        deadline = time.monotonic() + 5
        while not sandbox.deductions(order):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        assert dajisaas._runtime._bridges[asyncio.get_running_loop()]._pending() == 0
        return int(sandbox.deductions(order))

    assert asyncio.run(main()) == 1


def test_one_client_across_several_loops_in_a_row(sandbox: Sandbox) -> None:
    client = async_client(sandbox)

    async def main(n: int) -> List[str]:
        links = await asyncio.gather(*(client.pay_url([str(n * 10 + k)]) for k in range(5)))
        return [link.order_ids[0] for link in links]

    for n in range(1, 4):
        assert asyncio.run(main(n)) == [str(n * 10 + k) for k in range(5)]


def test_one_client_in_several_threads_each_with_its_loop(sandbox: Sandbox) -> None:
    client = async_client(sandbox)
    results: Dict[int, Any] = {}

    def work(n: int) -> None:
        async def main() -> List[List[str]]:
            links = await asyncio.gather(*(client.pay_url([str(n * 100 + k)]) for k in range(10)))
            return [link.order_ids for link in links]

        try:
            results[n] = asyncio.run(main())
        except BaseException as e:  # noqa: BLE001 - reported below
            results[n] = e

    threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(1, 5):
        assert results[n] == [[str(n * 100 + k)] for k in range(10)], results[n]


def test_awaited_errors_keep_their_class(sandbox: Sandbox) -> None:
    client = async_client(sandbox, timeout=0.7, backoff_base=0.001, backoff_cap=0.005)

    async def main() -> None:
        with pytest.raises(dajisaas.PaymentDeclinedError) as caught:
            await client.prepare_pay("9000000000000000003")
        assert caught.value.attempts >= 1
        with pytest.raises(dajisaas.PaymentOutcomeUnknownError):
            await client.prepare_pay("9002000000000000009")

    asyncio.run(main())


def test_a_call_needs_a_running_loop(sandbox: Sandbox) -> None:
    client = async_client(sandbox)
    call = client.pay_url(["1"])
    with pytest.raises(RuntimeError, match="no running asyncio event loop: await AsyncClient"):
        call.send(None)
    assert sandbox.stats()["requests"] == 0


def test_log_records_are_emitted_on_python_threads(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    # Made while DEBUG is on, so the core's levels include DEBUG.
    with caplog.at_level(logging.DEBUG, logger="dajisaas"):
        client = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url)
        aclient = async_client(sandbox)
        client.pay_url(["1"])
        blocking = [r for r in caplog.records if "traceId=" in r.getMessage()]
        assert len(blocking) == 1
        assert blocking[0].threadName == threading.current_thread().name
        assert blocking[0].name == "dajisaas"
        # The time is when the core logged it, not when Python emitted it.
        assert abs(blocking[0].created - time.time()) < 5
        caplog.clear()

        loop_thread: List[str] = []

        async def main() -> None:
            loop_thread.append(threading.current_thread().name)
            await aclient.pay_url(["2"])

        runner = threading.Thread(target=lambda: asyncio.run(main()), name="loop-thread")
        runner.start()
        runner.join()
        awaited = [r for r in caplog.records if "traceId=" in r.getMessage()]
        assert len(awaited) == 1
        assert awaited[0].threadName == "loop-thread" == loop_thread[0]
        core_threads = {r.threadName for r in caplog.records} - {
            "loop-thread", threading.current_thread().name
        }
        assert not core_threads
