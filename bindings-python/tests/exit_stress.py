"""Exit stress: scripts that end while dajisaas is busy, each run many times in a fresh
interpreter against a `daji sandbox`. Every run must exit with the status the scenario expects
(0 for all of them) and never print "Fatal Python error".

    python bindings-python/tests/exit_stress.py [--runs 50] [--jobs 6] [--only NAME ...]

Scenarios (each script is below, in SCENARIOS):
  gather_exit         asyncio.run over gather of 5 pay_url, then exit
  three_loops         three asyncio.run() in a row with one AsyncClient, then exit
  in_flight_exit      exit with 20 awaited calls still in flight (loop closed on odd runs, left
                      open on even ones)
  daemon_logging      daemon threads calling a blocking Client with DEBUG logging when the main
                      thread exits
  daemon_loops        daemon threads each running an event loop of calls, DEBUG logging, at exit
  sigint_await        SIGINT during an awaited prepare_pay of a hanging order: KeyboardInterrupt
                      within 0.5 s of the signal, caught, exit 0 (status 4 if later)
  sigint_blocking     SIGINT during a blocking prepare_pay of a hanging order: the same
  gevent_exit         monkey.patch_all(), 20 greenlets mid-call (slow and hanging orders) when
                      the main greenlet exits
  gevent_sigint       monkey.patch_all(), SIGINT during a batch of 20 greenlets: KeyboardInterrupt
                      out of joinall, caught, exit 0
  gevent_timeout_exit monkey.patch_all(), a gevent.Timeout ends one wait, then exit with greenlets
                      and a daemon thread mid-call, DEBUG logging on

Prints runs and crashes per scenario, then `N passed, N failed` (runs). Exits 1 if any run
failed. Uses target/debug/daji unless DAJI_BIN names another.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Tuple

REPO = Path(__file__).resolve().parents[2]
DAJI = Path(os.environ.get("DAJI_BIN", REPO / "target" / "debug" / "daji"))
KEY = "exit-stress-key"
SECRET = "exit-stress-secret-0c5e"
RUN_TIMEOUT_S = 30

PRELUDE = """\
import asyncio, logging, os, signal, sys, threading, time
import dajisaas
URL, KEY, SECRET = os.environ["STRESS_URL"], os.environ["STRESS_KEY"], os.environ["STRESS_SECRET"]
RUN = int(os.environ["STRESS_RUN"])
PID = os.getpid()
# Python leaves SIGINT ignored when it starts with it ignored (a job started in the background by
# a non-interactive shell, as CI may start this suite): Ctrl-C's usual handler, explicitly.
signal.signal(signal.SIGINT, signal.default_int_handler)
def order(prefix, k=0):
    # Distinct 19-digit ids per process: the prefix (9002 hangs, 9007 is slow), then pid and k.
    return f"{prefix}{PID % 10**9:09d}{k:06d}"
"""

SCENARIOS: Dict[str, str] = {
    "gather_exit": """
async def main():
    client = dajisaas.AsyncClient(KEY, SECRET, base_url=URL)
    await asyncio.gather(*(client.pay_url([str(n + 1)]) for n in range(5)))
asyncio.run(main())
""",
    "three_loops": """
client = dajisaas.AsyncClient(KEY, SECRET, base_url=URL)
async def main(n):
    await asyncio.gather(*(client.pay_url([str(n * 10 + k + 1)]) for k in range(5)))
for n in range(3):
    asyncio.run(main(n))
""",
    "in_flight_exit": """
client = dajisaas.AsyncClient(KEY, SECRET, base_url=URL, timeout=10.0)
async def main():
    calls = [client.prepare_pay(order(9007, k)) for k in range(10)]
    calls += [client.pay_url([order(9002, k)]) for k in range(10)]
    calls = [asyncio.ensure_future(c) for c in calls]
    await asyncio.sleep(0.05)
    assert not any(c.done() for c in calls)
if RUN % 2:
    asyncio.run(main())  # the loop cancels the 20 tasks and closes
else:
    loop = asyncio.new_event_loop()  # left open, its reader registered, calls still running
    loop.run_until_complete(main())
""",
    "daemon_logging": """
logging.basicConfig(level=logging.DEBUG, format="%(threadName)s %(name)s %(message)s")
client = dajisaas.Client(KEY, SECRET, base_url=URL, timeout=10.0)
def work(n):
    k = 0
    while True:
        k += 1
        if n < 2:
            client.pay_url([order(9007, n * 1000 + k)])  # slow: still waiting at exit
        else:
            client.pay_url([str(n * 100000 + k)])
for n in range(8):
    threading.Thread(target=work, args=(n,), daemon=True).start()
time.sleep(0.2 + (RUN % 5) * 0.02)
""",
    "daemon_loops": """
logging.basicConfig(level=logging.DEBUG, format="%(threadName)s %(name)s %(message)s")
client = dajisaas.AsyncClient(KEY, SECRET, base_url=URL, timeout=10.0)
def work(n):
    async def main():
        k = 0
        while True:
            k += 1
            await asyncio.gather(client.pay_url([str(n * 100000 + k)]),
                                 client.pay_url([order(9007, n * 1000 + k)]),
                                 client.pay_url([str(n * 100000 + k + 50000)]))
    asyncio.run(main())
for n in range(4):
    threading.Thread(target=work, args=(n,), daemon=True).start()
time.sleep(0.2 + (RUN % 5) * 0.02)
""",
    "sigint_await": """
sent = []
def interrupt():
    sent.append(time.monotonic())
    os.kill(PID, signal.SIGINT)
async def main():
    client = dajisaas.AsyncClient(KEY, SECRET, base_url=URL, timeout=10.0)
    asyncio.get_running_loop().call_later(0.2, interrupt)
    await client.prepare_pay(order(9002))
try:
    asyncio.run(main())
    sys.exit(3)  # the hanging payment cannot have completed
except KeyboardInterrupt:
    # From the signal to the exception out of asyncio.run (its cancelling and closing included).
    late = time.monotonic() - sent[0]
    sys.exit(0 if late < 0.5 else 4)
""",
    "sigint_blocking": """
sent = []
def interrupt():
    sent.append(time.monotonic())
    os.kill(PID, signal.SIGINT)
client = dajisaas.Client(KEY, SECRET, base_url=URL, timeout=10.0)
threading.Timer(0.2, interrupt).start()
try:
    client.prepare_pay(order(9002))
    sys.exit(3)
except KeyboardInterrupt:
    late = time.monotonic() - sent[0]
    sys.exit(0 if late < 0.5 else 4)
""",
    "gevent_exit": """
from gevent import monkey
monkey.patch_all()
import gevent
client = dajisaas.Client(KEY, SECRET, base_url=URL, timeout=10.0)
gs = [gevent.spawn(client.prepare_pay, order(9007, k)) for k in range(10)]
gs += [gevent.spawn(client.pay_url, [order(9002, k)]) for k in range(10)]
gevent.sleep(0.05 + (RUN % 5) * 0.02)
assert not any(g.ready() for g in gs)
""",
    "gevent_sigint": """
from gevent import monkey
monkey.patch_all()
import gevent
client = dajisaas.Client(KEY, SECRET, base_url=URL, timeout=10.0, max_connections=4)
gs = [gevent.spawn(client.prepare_pay, order(9007, k)) for k in range(20)]
gevent.spawn_later(0.1 + (RUN % 5) * 0.02, os.kill, PID, signal.SIGINT)
try:
    gevent.joinall(gs)
    sys.exit(3)
except KeyboardInterrupt:
    sys.exit(0)
""",
    "gevent_timeout_exit": """
from gevent import monkey
monkey.patch_all()
import gevent
logging.basicConfig(level=logging.DEBUG, format="%(threadName)s %(name)s %(message)s")
client = dajisaas.Client(KEY, SECRET, base_url=URL, timeout=10.0)
try:
    with gevent.Timeout(0.1):
        client.prepare_pay(order(9002, 0))
    sys.exit(3)
except gevent.Timeout:
    pass
gs = [gevent.spawn(client.pay_url, [order(9007, k)]) for k in range(1, 8)]
threading.Thread(target=lambda: client.pay_url([order(9007, 99)]), daemon=True).start()
gevent.sleep(0.05)
""",
}

# The exit status each scenario must end with.
EXPECTED_STATUS = {name: 0 for name in SCENARIOS}


def start_sandbox() -> Tuple[subprocess.Popen, str]:
    if not DAJI.exists():
        sys.exit(f"{DAJI} is missing: build it with `cargo build -p daji` first")
    process = subprocess.Popen(
        [str(DAJI), "sandbox", "--port", "0", "--app-key", KEY, "--app-secret", SECRET,
         "--slow-ms", "1500", "--hang-ms", "5000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    url = first.removeprefix("dajisaas sandbox listening on ")
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        sys.exit(f"the sandbox did not start: {first!r}")
    return process, url


def run_once(python: str, script: Path, env: Dict[str, str], run: int) -> Tuple[bool, str]:
    """(passed, what happened) for one run in a fresh interpreter."""
    try:
        done = subprocess.run(
            [python, str(script)], env={**env, "STRESS_RUN": str(run)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return False, "hung"
    stderr = done.stderr.decode("utf-8", "replace")
    if "Fatal Python error" in stderr:
        return False, f"Fatal Python error (status {done.returncode})"
    if done.returncode < 0:
        return False, f"killed by signal {-done.returncode}"
    if done.returncode != EXPECTED_STATUS[script.stem]:
        last = stderr.strip().splitlines()[-1:] or [""]
        return False, f"status {done.returncode}: {last[0][:200]}"
    return True, "ok"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per scenario (default 50)")
    parser.add_argument("--jobs", type=int, default=6, help="interpreters at once (default 6)")
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="these scenarios")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to test")
    args = parser.parse_args()
    names = args.only or list(SCENARIOS)

    sandbox, url = start_sandbox()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="dajisaas-exit-stress-") as tmp:
            scripts = {}
            for name in names:
                scripts[name] = Path(tmp) / f"{name}.py"
                scripts[name].write_text(PRELUDE + textwrap.dedent(SCENARIOS[name]), encoding="utf-8")
            env = {**os.environ, "STRESS_URL": url, "STRESS_KEY": KEY, "STRESS_SECRET": SECRET,
                   "PYTHONFAULTHANDLER": "1"}
            jobs = [(name, run) for run in range(args.runs) for name in names]
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                outcomes = list(pool.map(
                    lambda job: (job[0], run_once(args.python, scripts[job[0]], env, job[1])), jobs))
    finally:
        sandbox.kill()
        sandbox.wait()

    passed = failed = 0
    for name in names:
        results = [result for n, result in outcomes if n == name]
        crashes = [what for ok, what in results if not ok]
        passed += len(results) - len(crashes)
        failed += len(crashes)
        line = f"{name:16} runs {len(results):3}  crashes {len(crashes):3}"
        if crashes:
            line += "  (" + ", ".join(f"{what}: {n}" for what, n in Counter(crashes).most_common()) + ")"
        print(line)
    print(f"({time.monotonic() - started:.1f} s, {args.jobs} at once, expected status 0 everywhere)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
