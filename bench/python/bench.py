"""Python benchmarks: dajisaas against requests and httpx doing the same signed call (wall time,
and this process's CPU time per call: what a busy ERP server pays), an awaited call
(AsyncClient) against the blocking one, 256 concurrent awaits against 32 threads, sign() against
a hashlib signer, threads, memory (of calls, and of pay_many runs), 50 greenlets under gevent
against requests under gevent, import time. Prints one JSON
line per figure.

Usage: bench.py URL SLOW_URL KEY SECRET SCALE   (SLOW_URL: a sandbox with 20 ms latency;
SCALE 1 for the full run, smaller for a smoke run)
"""

import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import httpx
import requests

import dajisaas

URL, SLOW_URL, KEY, SECRET = sys.argv[1:5]
SCALE = float(sys.argv[5])
PATH = "/alibaba/alipay/url/get"
ORDER = "2257455039610311973"


def emit(figure, value, unit, baseline=None, baseline_value=None):
    line = {"figure": figure, "value": value, "unit": unit}
    if baseline is not None:
        line.update(baseline=baseline, baseline_value=baseline_value, ratio=value / baseline_value)
    print(json.dumps(line), flush=True)


def hashlib_sign(params, secret):
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return hashlib.md5(f"{canonical}&secret={secret}".encode()).hexdigest().upper()


def signed_params():
    params = {"appKey": KEY, "orderIdList": f"[{ORDER}]"}
    params["sign"] = hashlib_sign(params, SECRET)
    return params


def per_call_us(fn, calls):
    return per_call(fn, calls)[0]


def per_call(fn, calls):
    """Wall time and CPU time of this process (every thread: the core's I/O threads too, not the
    sandbox's), in µs per call."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        fn()
    return ((time.perf_counter() - start) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6)


def alternate(functions, calls, rounds, measure=per_call_us):
    """Median per-call cost of each function, rounds interleaved so drift hits all alike."""
    for fn in functions.values():
        measure(fn, max(1, calls // 10))
    samples = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            samples[name].append(measure(fn, calls))
    return {name: median(values) for name, values in samples.items()}


def median(values):
    """The median of numbers, or of (wall, cpu) pairs taken separately."""
    if isinstance(values[0], tuple):
        return tuple(statistics.median(v) for v in zip(*values))
    return statistics.median(values)


def sequential():
    client = dajisaas.Client(KEY, SECRET, base_url=URL)
    session = requests.Session()
    httpx_client = httpx.Client()

    def ours():
        assert ORDER in client.pay_url([ORDER]).url

    def with_requests():
        data = session.get(URL + PATH, params=signed_params()).json()["data"]
        assert ORDER in data["payUrl"]

    def with_httpx():
        data = httpx_client.get(URL + PATH, params=signed_params()).json()["data"]
        assert ORDER in data["payUrl"]

    costs = alternate({"ours": ours, "requests": with_requests, "httpx": with_httpx},
                      int(1000 * SCALE) or 20, 5, per_call)
    (ours_wall, ours_cpu), (requests_wall, requests_cpu) = costs["ours"], costs["requests"]
    emit("python_pay_url_us", ours_wall, "µs/call", "requests.Session", requests_wall)
    emit("python_pay_url_vs_httpx_us", ours_wall, "µs/call", "httpx.Client", costs["httpx"][0])
    emit("python_pay_url_cpu_us", ours_cpu, "µs CPU/call (client process)", "requests.Session", requests_cpu)
    emit("python_pay_url_vs_httpx_cpu_us", ours_cpu, "µs CPU/call (client process)", "httpx.Client",
         costs["httpx"][1])


def awaited():
    """One awaited pay_url at a time on one event loop, rounds interleaved with the blocking
    Client; report.py compares it with the Rust core's per-call cost."""
    aclient = dajisaas.AsyncClient(KEY, SECRET, base_url=URL)
    client = dajisaas.Client(KEY, SECRET, base_url=URL)
    loop = asyncio.new_event_loop()

    async def batch(calls):
        start = time.perf_counter()
        for _ in range(calls):
            link = await aclient.pay_url([ORDER])
            assert ORDER in link.url
        return (time.perf_counter() - start) / calls * 1e6

    def blocking(calls):
        return per_call_us(lambda: client.pay_url([ORDER]), calls)

    calls = int(1000 * SCALE) or 20
    loop.run_until_complete(batch(max(1, calls // 10)))
    blocking(max(1, calls // 10))
    samples = {"awaited": [], "blocking": []}
    for _ in range(5):
        samples["awaited"].append(loop.run_until_complete(batch(calls)))
        samples["blocking"].append(blocking(calls))
    loop.close()
    emit("python_await_pay_url_us", statistics.median(samples["awaited"]), "µs/call",
         "the blocking Client", statistics.median(samples["blocking"]))


def awaits_in_flight():
    """256 awaits in flight on one loop against the sandbox with 20 ms latency, against 32
    threads sharing one blocking Client on the same sandbox."""
    aclient = dajisaas.AsyncClient(KEY, SECRET, base_url=SLOW_URL)
    per_task = max(2, int(20 * SCALE))

    async def run(calls_each):
        async def worker():
            for _ in range(calls_each):
                await aclient.pay_url([ORDER])

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(256)))
        return 256 * calls_each / (time.perf_counter() - start)

    asyncio.run(run(1))  # opens the connections
    awaits = asyncio.run(run(per_task))

    client = dajisaas.Client(KEY, SECRET, base_url=SLOW_URL)
    per_thread = max(5, int(50 * SCALE))

    def work():
        for _ in range(per_thread):
            client.pay_url([ORDER])

    def threads_round():
        pool = [threading.Thread(target=work) for _ in range(32)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return 32 * per_thread / (time.perf_counter() - start)

    threads_round()  # opens the connections
    emit("python_256_awaits_calls_per_s", awaits, "calls/s", "32 threads, one blocking Client",
         threads_round())


def signing():
    params = {"appKey": KEY, "orderId": ORDER, "keyword": "女装 连衣裙", "page": "2", "pageSize": "20"}
    assert dajisaas.sign(params, SECRET) == hashlib_sign(params, SECRET)
    costs = alternate({"ours": lambda: dajisaas.sign(params, SECRET),
                       "hashlib": lambda: hashlib_sign(params, SECRET)}, int(100_000 * SCALE) or 100, 5)
    emit("python_sign_us", costs["ours"], "µs/call", "hashlib signer in Python", costs["hashlib"])


def threads():
    client = dajisaas.Client(KEY, SECRET, base_url=SLOW_URL)
    calls = max(5, int(50 * SCALE))
    start = time.perf_counter()
    for _ in range(calls):
        client.pay_url([ORDER])
    one = calls / (time.perf_counter() - start)

    def work():
        for _ in range(calls):
            client.pay_url([ORDER])

    pool = [threading.Thread(target=work) for _ in range(32)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    many = 32 * calls / (time.perf_counter() - start)
    emit("python_32_threads_calls_per_s", many, "calls/s", "the same client on one thread", one)


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory():
    client = dajisaas.Client(KEY, SECRET, base_url=URL)
    total = max(2000, int(100_000 * SCALE))
    for _ in range(1000):
        client.pay_url([ORDER])
    after_first = rss_mb()
    for _ in range(total - 1000):
        client.pay_url([ORDER])
    emit("python_rss_growth_mb", rss_mb() - after_first, f"MB after {total} calls",
         "RSS after 1,000 calls (MB)", after_first)


def pay_many_memory():
    """The peak RSS of pay_many(10,000 orders) over that of pay_many(1,000), each run with fresh
    order ids and a fresh client whose journal is a SQLite file (the default in-memory journal
    keeps a row per paid order by design, which is not the run's own memory)."""
    import tempfile

    small, big = max(100, int(1000 * SCALE)), max(1000, int(10_000 * SCALE))

    def peak(n, first, directory):
        client = dajisaas.Client(KEY, SECRET, base_url=URL,
                                 journal=f"sqlite://{directory}/journal-{first}.db")
        ids = [str(first + i) for i in range(n)]
        top, done = [rss_mb()], threading.Event()

        def watch():
            while not done.wait(0.005):
                top[0] = max(top[0], rss_mb())

        watcher = threading.Thread(target=watch)
        watcher.start()
        start = time.perf_counter()
        run = client.pay_many(ids, 16)
        seconds = time.perf_counter() - start
        done.set()
        watcher.join()
        assert run.summary["paid"] == n, run.summary
        return max(top[0], rss_mb()), n / seconds

    with tempfile.TemporaryDirectory() as directory:
        peak(small, 2_320_000_000_000_000_000, directory)  # warms up
        base, _ = peak(small, 2_321_000_000_000_000_000, directory)
        top, per_s = peak(big, 2_322_000_000_000_000_000, directory)
    emit("python_pay_many_rss_growth_mb", top - base,
         f"MB, peak RSS of pay_many({big} orders, 16 in flight, SQLite journal, {per_s:.0f} orders/s) "
         f"over pay_many({small})", f"peak RSS of pay_many({small} orders) (MB)", base)


def gevent_greenlets():
    """50 greenlets under gevent (gevent_bench.py, in an interpreter of its own): dajisaas
    against requests, same run; the target is a ratio of 1.5 at most."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gevent_bench.py")
    done = subprocess.run([sys.executable, script, KEY, SECRET, str(SCALE)], check=True,
                          capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            print(line, flush=True)


def import_time():
    def median_ms(code):
        runs = []
        for _ in range(15):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs)

    base = median_ms("pass")
    emit("python_import_ms_added", median_ms("import dajisaas") - base, "ms", "python -c pass (ms)", base)


for step in (sequential, awaited, awaits_in_flight, signing, threads, memory, pay_many_memory,
             gevent_greenlets, import_time):
    step()
