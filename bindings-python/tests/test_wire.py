"""What the gateway sends, read leniently and losslessly: exact bodies from a stub HTTP server on
127.0.0.1 (lone surrogates, 1e400, integers beyond 64 bits, declines answered with HTTP 200)."""

from __future__ import annotations

import http.server
import json
import math
import threading
from typing import Iterator

import pytest

import dajisaas

ORDER = "2257164624870311973"


class Stub:
    """Answers every request with one status and one body, byte for byte."""

    def __init__(self, status: int, body: str) -> None:
        payload = body.encode("utf-8")
        self.requests = 0
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                stub.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = answer
            do_POST = answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self) -> dajisaas.Client:
        return dajisaas.Client("k", "stub-secret-1", base_url=self.url, timeout=5.0,
                               backoff_base=0.001, backoff_cap=0.002)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def stubs() -> Iterator[list[Stub]]:
    started: list[Stub] = []
    yield started
    for stub in started:
        stub.close()


def start(stubs: list[Stub], status: int, body: str) -> Stub:
    stub = Stub(status, body)
    stubs.append(stub)
    return stub


def test_a_paid_answer_with_a_lone_surrogate_is_paid(stubs: list[Stub]) -> None:
    body = ('{"code":200,"message":"ok \\ud83d","data":{"success":true,"message":"\\udc00 x",'
            '"result":{"paySuccess":true,"payChannel":"alipay"}},"traceId":"tr-surrogate"}')
    # Python's own json reads it too (keeping the lone surrogate; the library replaces it).
    assert json.loads(body)["traceId"] == "tr-surrogate"
    payment = start(stubs, 200, body).client().prepare_pay(ORDER)
    assert payment.trace_id == "tr-surrogate"
    assert payment.pay_channel == "alipay"
    assert payment.data["message"] == "\ufffd x"


def test_integers_of_any_size_arrive_as_int(stubs: list[Stub]) -> None:
    body = ('{"code":200,"data":{"payUrl":"https://cashier.example/x","success":true,'
            '"id":12345678901234567890123,"neg":-98765432109876543210987654321,'
            '"u64":18446744073709551615,"huge":1e400,"small":1.5,"zero":-0,'
            '"nested":[2257455039610311973,{"n":100000000000000000000000000000000000001}]},'
            '"traceId":"tr-num"}')
    client = start(stubs, 200, body).client()
    link = client.pay_url(["2257455039610311973"])
    expected = json.loads(body)["data"]
    assert link.data == expected
    assert link.data["id"] == 12345678901234567890123
    assert isinstance(link.data["id"], int)
    assert link.data["neg"] == -98765432109876543210987654321
    assert link.data["nested"][1]["n"] == 10**38 + 1
    assert link.data["huge"] == math.inf  # what json.loads makes of 1e400
    assert link.data["small"] == 1.5
    data = client.request("GET", "/any")
    assert data["id"] == 12345678901234567890123


def test_a_decline_answered_with_http_200_reports_http_200(stubs: list[Stub]) -> None:
    body = ('{"code":200,"data":{"success":false,"code":"NO_MONEY","message":"余额不足"},'
            '"traceId":"tr-declined"}')
    stub = start(stubs, 200, body)
    with pytest.raises(dajisaas.PaymentDeclinedError) as caught:
        stub.client().prepare_pay(ORDER)
    e = caught.value
    assert (e.http_status, e.trace_id, e.attempts) == (200, "tr-declined", 4)
    assert stub.requests == 4


def test_a_broken_body_keeps_its_trace_id(stubs: list[Stub]) -> None:
    body = '{"code":200,"data":{"success":true,"result":oops},"traceId":"tr-broken"}'
    with pytest.raises(dajisaas.PaymentOutcomeUnknownError) as caught:
        start(stubs, 200, body).client().prepare_pay(ORDER)
    assert (caught.value.trace_id, caught.value.http_status) == ("tr-broken", 200)


def test_integers_beyond_64_bits_are_signed_exactly() -> None:
    shown = dajisaas.signing_string_masked({"big": 12345678901234567890123, "neg": -(2**70)})
    assert shown == "big=12345678901234567890123&neg=-1180591620717411303424&secret=***"


def test_signed_mode_never_garbles_the_gateways_message(stubs: list[Stub]) -> None:
    stub = start(stubs, 200, '{"code":401,"message":"gateway refused the call: bad sign","traceId":"t"}')
    client = dajisaas.Client("k", "s", base_url=stub.url, max_retries=0)
    with pytest.raises(dajisaas.ApiError) as caught:
        client.pay_url(["1"])
    assert caught.value.message.endswith("gateway refused the call: bad sign")


def test_debug_mode_masks_whole_occurrences_and_needs_8_characters(stubs: list[Stub]) -> None:
    stub = start(stubs, 200, '{"code":401,"message":"debugpass is wrong, not debugpassword","traceId":"t"}')
    with pytest.raises(dajisaas.InvalidArgumentError, match="at least 8 characters"):
        dajisaas.Client("k", "short", base_url=stub.url, dangerously_send_app_secret_instead_of_sign=True)
    client = dajisaas.Client("k", "debugpass", base_url=stub.url, max_retries=0,
                             dangerously_send_app_secret_instead_of_sign=True)
    with pytest.raises(dajisaas.ApiError) as caught:
        client.pay_url(["1"])
    assert caught.value.message.endswith("*** is wrong, not debugpassword")
    assert stub.requests == 1
