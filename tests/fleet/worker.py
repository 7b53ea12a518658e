"""A fleet worker in Python: pays a list of orders through a shared payment journal.

Started (and SIGKILLed, and started again) by chaos.py, and by pace.py. Usage:

    DAJISAAS_APP_KEY=... DAJISAAS_APP_SECRET=... python worker.py --base-url URL \
        --journal URL --orders FILE [--threads N | --pay-many N] [--tries N] [--pause-ms MS]
        [--start-file PATH] [--timeout-ms MS] [--max-calls-per-second N] ...

A client option left out takes the library's default.

Each of `--threads` threads walks the whole list (thread 0 in file order, the others in their
own shuffle), sharing one `dajisaas.Client`, so that two calls of one process meet on an order
now and then (the second waits for the first's outcome). An order is paid again only after an
outcome that surely took no money (`payment_declined`, `rate_limited`), at most `--tries` times;
`payment_in_progress` and `payment_outcome_unknown` move on to the next order, as the library's
documentation tells callers to.

With `--pay-many N` instead, `pay_many` runs, N payments in flight, as an application pays a
batch: one over the list, then, `--pause-ms` later, one over the orders whose outcome says that
nothing was paid (`failed`, `declined`), and so on, `--tries` runs at most. With `--start-file`,
the worker makes its client, says {"ev": "start"}, then waits for that file to exist before its
first call (a barrier: the supervisor releases a fleet at once).

One JSON line per call on stdout: {"ev": "call", "order", "outcome" ("paid" or the error code),
"replayed", "attempts", "ms"} (with `--pay-many`, one per order and run: no "ms", but the run's
"result", its "try" and the error's "message"); {"ev": "start"} first and {"ev": "done"} last.
The supervisor reads them to see that the worker is alive (a worker silent past its timeout is
hung).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time

from harness import import_dajisaas

RETRY_AFTER = ("payment_declined", "rate_limited")
# The client options a worker takes, by the library's names: durations (given in ms) and counts.
MILLISECONDS = ("timeout", "connect_timeout", "backoff_base", "backoff_cap", "journal_timeout")
COUNTS = ("max_retries", "max_calls_per_second")


def pay_many(client, orders: list, args, emit) -> None:  # type: ignore[no-untyped-def]
    for n in range(1, args.tries + 1):
        again = []

        def item(it) -> None:  # type: ignore[no-untyped-def]
            event = {"ev": "call", "order": it.order_id, "result": it.outcome, "try": n}
            if it.payment is not None:
                emit({**event, "outcome": "paid", "replayed": it.payment.replayed, "attempts": it.payment.attempts})
                return
            emit({**event, "outcome": it.error.code, "replayed": False, "attempts": it.error.attempts,
                  "message": it.error.message})
            if it.outcome in ("failed", "declined"):
                again.append(it.order_id)

        client.pay_many(orders, args.pay_many, on_progress=item)
        if not again:
            return
        orders = again
        time.sleep(args.pause_ms / 1000)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--orders", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pay-many", type=int, metavar="CONCURRENCY")
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--pause-ms", type=int, default=500)
    parser.add_argument("--start-file")
    for option in MILLISECONDS:
        parser.add_argument(f"--{option.replace('_', '-')}-ms", type=int)
    for option in COUNTS:
        parser.add_argument(f"--{option.replace('_', '-')}", type=int)
    args = parser.parse_args()

    with open(args.orders, encoding="utf-8") as f:
        orders = [line.strip() for line in f if line.strip()]

    # Python takes durations in seconds.
    given = {o: getattr(args, f"{o}_ms") for o in MILLISECONDS if getattr(args, f"{o}_ms") is not None}
    options = {o: ms / 1000 for o, ms in given.items()}
    options.update({o: getattr(args, o) for o in COUNTS if getattr(args, o) is not None})
    dajisaas = import_dajisaas()
    client = dajisaas.Client(os.environ["DAJISAAS_APP_KEY"], os.environ["DAJISAAS_APP_SECRET"],
                             base_url=args.base_url, journal=args.journal, **options)
    out = threading.Lock()

    def emit(event: dict) -> None:
        with out:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()

    failures: list = []

    def walk(ids: list) -> None:
        try:
            for order_id in ids:
                for _ in range(args.tries):
                    started = time.monotonic()
                    try:
                        payment = client.prepare_pay(order_id)
                        outcome, replayed, attempts = "paid", payment.replayed, payment.attempts
                        if payment.order_id != order_id:
                            outcome = "wrong_order_id"
                    except dajisaas.DajisaasError as e:
                        outcome, replayed, attempts = e.code, False, e.attempts
                        if "claimed by this process" in e.message:
                            # The core's own "a claim of this process with no payment running
                            # here" (a bug by its words): the supervisor fails the run on it.
                            outcome = "payment_in_progress_here_without_a_payment"
                    emit({"ev": "call", "order": order_id, "outcome": outcome,
                          "replayed": replayed, "attempts": attempts,
                          "ms": round((time.monotonic() - started) * 1000, 1)})
                    if outcome not in RETRY_AFTER:
                        break
        except BaseException as e:  # reported, then the worker exits non-zero
            failures.append(repr(e))

    emit({"ev": "start", "pid": os.getpid()})
    if args.start_file:
        while not os.path.exists(args.start_file):
            time.sleep(0.005)
    if args.pay_many:
        pay_many(client, orders, args, emit)
        emit({"ev": "done"})
        return 0
    rng = random.Random(os.getpid())
    threads = []
    for n in range(args.threads):
        ids = list(orders)
        if n > 0:
            rng.shuffle(ids)
        threads.append(threading.Thread(target=walk, args=(ids,), name=f"walk-{n}"))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        emit({"ev": "error", "error": failures[0]})
        return 1
    emit({"ev": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
