"""Python benchmarks: dajisaas against requests and httpx doing the same signed call, sign()
against a hashlib signer, threads, memory, import time. Prints one JSON line per figure.

Usage: bench.py URL SLOW_URL KEY SECRET SCALE   (SLOW_URL: a sandbox with 20 ms latency;
SCALE 1 for the full run, smaller for a smoke run)
"""

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
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def alternate(functions, calls, rounds):
    """Median per-call cost of each function, rounds interleaved so drift hits all alike."""
    for fn in functions.values():
        per_call_us(fn, max(1, calls // 10))
    samples = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            samples[name].append(per_call_us(fn, calls))
    return {name: statistics.median(values) for name, values in samples.items()}


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
                      int(1000 * SCALE) or 20, 5)
    emit("python_pay_url_us", costs["ours"], "µs/call", "requests.Session", costs["requests"])
    emit("python_pay_url_vs_httpx_us", costs["ours"], "µs/call", "httpx.Client", costs["httpx"])


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


for step in (sequential, signing, threads, memory, import_time):
    step()
