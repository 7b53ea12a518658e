"""Signals during a blocking call arrive promptly and keep their class; a library error never
becomes a RuntimeError, even with a signal pending while it is built.

The blocking call waits with the GIL released and wakes every 100 ms to run Python's signal
handlers; the call itself goes on in the core to its outcome."""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType
from typing import Iterator, List, Optional

import pytest

import dajisaas
from conftest import APP_KEY, Sandbox, native_hook

# 9002: deducted, then the answer is held back for the sandbox's --hang-ms (3000 ms here).
HANGING = "9002000000000000{:03d}"


class Alarm(Exception):
    pass


@pytest.fixture()
def hanging_client(sandbox: Sandbox) -> dajisaas.Client:
    # The call would end as payment_outcome_unknown after 2.5 s; the signals come well before.
    return dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url, timeout=2.5)


@pytest.fixture()
def alarm_raises() -> Iterator[None]:
    def handler(signum: int, frame: Optional[FrameType]) -> None:
        raise Alarm(f"signal {signum}")

    old = signal.signal(signal.SIGALRM, handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def wait_for_deduction(sandbox: Sandbox, order_id: str) -> None:
    deadline = time.monotonic() + 5
    while sandbox.deductions(order_id) == 0:
        assert time.monotonic() < deadline, "the payment never reached the sandbox"
        time.sleep(0.01)


def test_alarm_handler_exception_arrives_within_half_a_second(
    sandbox: Sandbox, hanging_client: dajisaas.Client, alarm_raises: None
) -> None:
    order = HANGING.format(1)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    fired = time.monotonic() + 0.3
    with pytest.raises(Alarm):
        hanging_client.prepare_pay(order)
    late = time.monotonic() - fired
    assert late < 0.5, f"the handler's exception came {late:.3f} s after the signal"
    # The payment was sent and runs to its outcome in the core: deducted exactly once.
    wait_for_deduction(sandbox, order)
    time.sleep(2.5)
    assert sandbox.deductions(order) == 1


def test_alarm_with_signal_alarm_one_second(
    sandbox: Sandbox, hanging_client: dajisaas.Client, alarm_raises: None
) -> None:
    signal.alarm(1)
    start = time.monotonic()
    with pytest.raises(Alarm):
        hanging_client.prepare_pay(HANGING.format(2))
    assert time.monotonic() - start < 1.5


def test_sigint_raises_keyboard_interrupt_within_half_a_second(
    sandbox: Sandbox, hanging_client: dajisaas.Client
) -> None:
    order = HANGING.format(3)
    sent: List[float] = []
    # Ctrl-C's usual handler, even when pytest started with SIGINT ignored (a background job).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt() -> None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.3, interrupt)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            hanging_client.prepare_pay(order)
        late = time.monotonic() - sent[0]
    finally:
        timer.cancel()
    signal.signal(signal.SIGINT, previous)
    assert late < 0.5, f"KeyboardInterrupt came {late:.3f} s after SIGINT"
    # The payment goes on in the core: a second one of the same order waits for it and gets its
    # outcome (the answer is held past the timeout: unknown), sending nothing; nothing is paid
    # twice.
    with pytest.raises(dajisaas.PaymentOutcomeUnknownError):
        hanging_client.prepare_pay(order)
    wait_for_deduction(sandbox, order)
    assert sandbox.stats()["payCalls"][order] == 1
    assert sandbox.deductions(order) == 1


def test_the_call_ends_normally_without_a_signal_while_handlers_are_installed(
    sandbox: Sandbox, alarm_raises: None
) -> None:
    # Waking every 100 ms for signal handlers does not end a call: a 1.5 s payment completes.
    client = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url, timeout=5.0)
    payment = client.prepare_pay("9007000000000000001")
    assert payment.attempts == 1


@pytest.mark.parametrize("code", sorted(dajisaas.ERRORS_BY_CODE))
def test_library_error_built_while_a_signal_is_pending_keeps_its_class(
    code: str, alarm_raises: None
) -> None:
    # The signal is raised in C right before the exception is built: had the conversion run any
    # Python bytecode, the handler's Alarm would have fired inside it (and the old code turned
    # that into a RuntimeError). Now the library error comes out with its class, and the Alarm
    # fires at the next bytecode, with the library error as its context.
    raise_ = native_hook("_error_with_signal_pending_for_tests")
    caught: List[BaseException] = []

    def call() -> None:
        try:
            try:
                raise_(code, signal.SIGALRM)
            except dajisaas.DajisaasError as e:
                caught.append(e)
                raise
        except dajisaas.DajisaasError:
            pass

    try:
        call()
        for _ in range(1000):  # bytecode, where the pending handler runs if it has not yet
            pass
    except Alarm as alarm:
        caught.append(alarm)
    first = caught[0]
    assert type(first) is dajisaas.ERRORS_BY_CODE[code], repr(first)
    assert first.code == code
    assert first.message == "raised for the test suite while a signal is pending"
    assert first.attempts == 0 and first.trace_id is None
    assert not any(type(e) is RuntimeError for e in caught)
    # The handler did run, once, after the library error was raised.
    assert [type(e) for e in caught[1:]] == [Alarm], caught


def test_exception_fields_match_the_classes_constructor() -> None:
    built = native_hook("_error_with_signal_pending_for_tests")
    with pytest.raises(dajisaas.PaymentOutcomeUnknownError) as caught:
        built("payment_outcome_unknown", 0)  # signal 0: nothing is raised
    e = caught.value
    made = dajisaas.PaymentOutcomeUnknownError(
        "raised for the test suite while a signal is pending", attempts=0
    )
    assert e.args == made.args
    assert str(e) == str(made) and repr(e) == repr(made)
    assert vars(e) == vars(made)
