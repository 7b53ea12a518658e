"""50 greenlets under gevent's monkey.patch_all(), each making one pay_url call against a
sandbox answering in 100 ms: dajisaas against requests doing the same signed call, in the same
run (rounds interleaved). Run by bench.py in an interpreter of its own (patching is for the whole
process); prints one JSON line.

Usage: gevent_bench.py KEY SECRET SCALE
"""

from gevent import monkey

monkey.patch_all()

import hashlib  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import requests  # noqa: E402

import dajisaas  # noqa: E402
from dajisaas.testing import Sandbox  # noqa: E402

KEY, SECRET = sys.argv[1:3]
SCALE = float(sys.argv[3])
PATH = "/alibaba/alipay/url/get"
GREENLETS = 50


def signed(order):
    params = {"appKey": KEY, "orderIdList": f"[{order}]"}
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["sign"] = hashlib.md5(f"{canonical}&secret={SECRET}".encode()).hexdigest().upper()
    return params


def main():
    with Sandbox(app_key=KEY, app_secret=SECRET, latency_ms=100) as sandbox:
        client = dajisaas.Client(KEY, SECRET, base_url=sandbox.url)
        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=GREENLETS))

        def ours(order):
            assert order in client.pay_url([order]).url

        def with_requests(order):
            data = session.get(sandbox.url + PATH, params=signed(order), timeout=10).json()["data"]
            assert order in data["payUrl"]

        def wall(fn):
            start = time.perf_counter()
            gevent.joinall([gevent.spawn(fn, str(2257455039610311000 + k)) for k in range(GREENLETS)],
                           raise_error=True)
            return time.perf_counter() - start

        wall(ours), wall(with_requests)  # opens the connections
        samples = {"ours": [], "requests": []}
        for _ in range(max(2, int(7 * SCALE))):
            samples["ours"].append(wall(ours))
            samples["requests"].append(wall(with_requests))
        value, baseline = (statistics.median(samples[k]) for k in ("ours", "requests"))
        print(json.dumps({
            "figure": "python_gevent_50_greenlets_s", "value": value,
            "unit": "s for 50 greenlets x 1 pay_url, 100 ms answers, monkey.patch_all()",
            "baseline": "requests.Session under gevent", "baseline_value": baseline,
            "ratio": value / baseline}), flush=True)


main()
