"""Issue 20: a confirmed payment whose outcome the journal could not take is kept by the process
and written on ``close()``, when an ``async with`` block ends, and at interpreter exit.

The fault is real: another process holds the SQLite journal's write lock (``BEGIN IMMEDIATE``)
from the moment the payment's request is out until after the payment returned, so the outcome
write waits out its deadline and fails. The lock is then released while the client closes (or
the interpreter exits): the record must end ``paid``, not ``in_flight``. Without the flush the
close (or exit) would be over before the lock is gone, and the record would stay ``in_flight``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

import pytest

import dajisaas
from conftest import APP_KEY, Sandbox, make_client

# The journal deadline: the outcome write waits this long for the lock, then is kept.
JOURNAL_TIMEOUT_S = 2.0
# When the lock goes, counted from the start of the close (or from the payment's return).
RELEASE_AFTER_S = 0.5
# Scheduling slack on a shared machine: far below "waits for the background retry".
SLACK_S = 3.0

# Another process that holds the journal's write lock on cue.
LOCKER = Path(__file__).resolve().parents[2] / "tests" / "faults" / "sqlite_lock.py"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """Slow (9007) orders answer after 3 s: time enough to take the lock once the request is
    out, however loaded the machine."""
    sb = Sandbox(slow_ms=3000)
    yield sb
    sb.stop()


class WriteLock:
    """Another process's ``BEGIN IMMEDIATE`` on the SQLite file at ``path``, taken by
    ``take()``."""

    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(LOCKER), str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def take(self) -> WriteLock:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("lock\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "locked"
        return self

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(10)

    def release_later(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self.release)
        timer.start()
        return timer


def wait_until(condition: Callable[[], bool], what: str, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {within_s} s"
        time.sleep(0.01)


def sent(sb: Sandbox, order_id: str) -> bool:
    """The payment's request reached the gateway: its fence is passed."""
    return any(order_id in r["body"] for r in sb.requests())


def state(sb: Sandbox, journal: str, order_id: str) -> Optional[str]:
    """The order's state in the journal, read by a fresh client (no outcome kept by it)."""
    record = make_client(sb, journal=journal).payment_record(order_id)
    return None if record is None else record.state


def journal_of(tmp_path: Path) -> str:
    return f"sqlite://{tmp_path / 'journal.db'}"


def options(journal: str) -> Dict[str, Any]:
    return {"journal": journal, "journal_timeout": JOURNAL_TIMEOUT_S, "timeout": 5.0}


def pay_while_locked(sb: Sandbox, tmp_path: Path, order_id: str,
                     pay: Callable[[], dajisaas.Payment]) -> WriteLock:
    """Pays `order_id` (a slow 9007 order) with `pay` on a thread, takes the journal's write
    lock once the request is out, and returns with the payment over and the lock held; checks
    that the outcome was not written (the record still ``in_flight``)."""
    result: Dict[str, Any] = {}
    lock = WriteLock(tmp_path / "journal.db")
    try:
        payer = threading.Thread(target=lambda: result.update(payment=pay()))
        payer.start()
        wait_until(lambda: sent(sb, order_id), "the payment's request")
        lock.take()
        payer.join(30)
        assert not payer.is_alive()
        payment = result["payment"]
        assert (payment.order_id, payment.attempts) == (order_id, 1)
        assert state(sb, journal_of(tmp_path), order_id) == "in_flight"
    except BaseException:
        lock.release()
        raise
    return lock


def test_close_writes_the_outcome_the_journal_could_not_take(
        sandbox: Sandbox, tmp_path: Path) -> None:
    order_id = "9007000000000031001"
    journal = journal_of(tmp_path)
    client = make_client(sandbox, **options(journal))
    lock = pay_while_locked(sandbox, tmp_path, order_id, lambda: client.prepare_pay(order_id))
    try:
        timer = lock.release_later(RELEASE_AFTER_S)
        started = time.monotonic()
        client.close()
        took = time.monotonic() - started
        timer.join()
    finally:
        lock.release()
    assert state(sandbox, journal, order_id) == "paid"
    assert took < JOURNAL_TIMEOUT_S + SLACK_S, f"close() took {took:.1f} s"
    assert sandbox.deductions(order_id) == 1
    with pytest.raises(dajisaas.InvalidArgumentError, match="closed"):
        client.payment_record(order_id)


def test_async_with_writes_the_outcome_the_journal_could_not_take(
        sandbox: Sandbox, tmp_path: Path) -> None:
    order_id = "9007000000000031002"
    journal = journal_of(tmp_path)

    async def main() -> None:
        async with dajisaas.AsyncClient(APP_KEY, sandbox.secret, base_url=sandbox.url,
                                        **options(journal)) as client:
            loop = asyncio.get_running_loop()
            # The blocking part (waiting for the request, locking) runs off the loop.
            lock = await loop.run_in_executor(None, lambda: pay_while_locked(
                sandbox, tmp_path, order_id,
                lambda: asyncio.run_coroutine_threadsafe(client.prepare_pay(order_id),
                                                         loop).result(30)))
            lock.release_later(RELEASE_AFTER_S)
        # The block's end waited for the write, with the loop running meanwhile.
        lock.release()

    asyncio.run(main())
    assert state(sandbox, journal, order_id) == "paid"


def test_flush_journal_counts_what_is_still_kept(sandbox: Sandbox, tmp_path: Path) -> None:
    order_id = "9007000000000031003"
    journal = journal_of(tmp_path)
    client = make_client(sandbox, **options(journal))
    assert client.flush_journal() == 0
    lock = pay_while_locked(sandbox, tmp_path, order_id, lambda: client.prepare_pay(order_id))
    try:
        # The lock is still held: the outcome stays kept past the flush's timeout.
        assert client.flush_journal(0.3) == 1
        lock.release()
        assert client.flush_journal(5.0) == 0
    finally:
        lock.release()
    assert state(sandbox, journal, order_id) == "paid"
    with pytest.raises(dajisaas.InvalidArgumentError, match="timeout"):
        client.flush_journal(0.01)
    client.close()


# A process that pays one order and exits without closing its client: the atexit hook writes
# the outcome it keeps.
PAYER = textwrap.dedent(
    """
    import sys
    import dajisaas
    url, secret, journal, order_id = sys.argv[1:5]
    client = dajisaas.Client({app_key!r}, secret, base_url=url, journal=journal,
                             journal_timeout={journal_timeout}, timeout=5.0)
    payment = client.prepare_pay(order_id)
    print("paid", payment.attempts, flush=True)
    """
).format(app_key=APP_KEY, journal_timeout=JOURNAL_TIMEOUT_S)


def exit_after_paying(sb: Sandbox, tmp_path: Path, order_id: str,
                      release_after_s: Optional[float]) -> tuple[float, str]:
    """Runs PAYER; takes the lock once its request is out, and releases it `release_after_s`
    after the payment returned (None: only once the process is gone). Returns how long the
    process took to exit after its payment returned, and its stderr."""
    journal = journal_of(tmp_path)
    payer = subprocess.Popen(
        [sys.executable, "-c", PAYER, sb.url, sb.secret, journal, order_id],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lock = WriteLock(tmp_path / "journal.db")
    try:
        wait_until(lambda: sent(sb, order_id), "the payer's request")
        lock.take()
        try:
            assert payer.stdout is not None
            assert payer.stdout.readline().split() == ["paid", "1"]
            paid_at = time.monotonic()
            if release_after_s is not None:
                lock.release_later(release_after_s)
            payer.wait(30)
            exit_s = time.monotonic() - paid_at
        finally:
            lock.release()
        assert payer.stderr is not None
        return exit_s, payer.stderr.read()
    finally:
        if payer.poll() is None:
            payer.kill()
            payer.wait()


def test_exit_writes_the_outcome_the_journal_could_not_take(
        sandbox: Sandbox, tmp_path: Path) -> None:
    order_id = "9007000000000031004"
    exit_s, stderr = exit_after_paying(sandbox, tmp_path, order_id, RELEASE_AFTER_S)
    assert state(sandbox, journal_of(tmp_path), order_id) == "paid", stderr
    assert exit_s < JOURNAL_TIMEOUT_S + SLACK_S, f"the exit took {exit_s:.1f} s"
    assert "could not be written to the journal" not in stderr, stderr


def test_exit_warns_of_what_stays_unwritten_and_does_not_wait_longer(
        sandbox: Sandbox, tmp_path: Path) -> None:
    order_id = "9007000000000031005"
    exit_s, stderr = exit_after_paying(sandbox, tmp_path, order_id, None)
    # The lock outlived the process: the outcome is lost, the claim left to expire.
    assert state(sandbox, journal_of(tmp_path), order_id) == "in_flight"
    assert exit_s < JOURNAL_TIMEOUT_S + SLACK_S, f"the exit took {exit_s:.1f} s"
    assert "1 payment outcome(s) could not be written to the journal" in stderr, stderr
    assert order_id in stderr and sandbox.secret not in stderr
