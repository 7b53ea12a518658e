"""A fleet worker in Python: pays a list of orders through a shared payment journal.

Started (and SIGKILLed, and started again) by chaos.py. Usage:

    DAJISAAS_APP_KEY=... DAJISAAS_APP_SECRET=... python worker.py --base-url URL \
        --journal URL --orders FILE [--threads N] [--tries N] [--timeout-ms MS] ...

Each of `--threads` threads walks the whole list (thread 0 in file order, the others in their
own shuffle), sharing one `dajisaas.Client`, so that two calls of one process meet on an order
now and then (the second waits for the first's outcome). An order is paid again only after an
outcome that surely took no money (`payment_declined`, `rate_limited`), at most `--tries` times;
`payment_in_progress` and `payment_outcome_unknown` move on to the next order, as the library's
documentation tells callers to.

One JSON line per call on stdout: {"ev": "call", "order", "outcome" ("paid" or the error code),
"replayed", "attempts", "ms"}; {"ev": "start"} first and {"ev": "done"} last. The supervisor
reads them to see that the worker is alive (a worker silent past its timeout is hung).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time

RETRY_AFTER = ("payment_declined", "rate_limited")


def import_dajisaas():  # type: ignore[no-untyped-def]
    # Someone may be reinstalling the extension while the fleet runs: retry a failed import.
    for attempt in range(10):
        try:
            import dajisaas

            return dajisaas
        except ImportError:
            if attempt == 9:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--orders", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--timeout-ms", type=int, default=1000)
    parser.add_argument("--connect-timeout-ms", type=int, default=1000)
    parser.add_argument("--max-retries", type=int, default=2)
    parser.add_argument("--backoff-base-ms", type=int, default=20)
    parser.add_argument("--backoff-cap-ms", type=int, default=100)
    args = parser.parse_args()

    with open(args.orders, encoding="utf-8") as f:
        orders = [line.strip() for line in f if line.strip()]

    dajisaas = import_dajisaas()
    client = dajisaas.Client(
        os.environ["DAJISAAS_APP_KEY"],
        os.environ["DAJISAAS_APP_SECRET"],
        base_url=args.base_url,
        journal=args.journal,
        timeout=args.timeout_ms / 1000,
        connect_timeout=args.connect_timeout_ms / 1000,
        max_retries=args.max_retries,
        backoff_base=args.backoff_base_ms / 1000,
        backoff_cap=args.backoff_cap_ms / 1000,
    )
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
