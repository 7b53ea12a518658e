"""Every row of the outcome table: the exception class, its code and attempts, and the
sandbox's deduction count, which is never above 1."""

import socket
from typing import Optional, Type

import pytest

import dajisaas
from conftest import APP_KEY, Sandbox, make_client

ROWS = [
    # order id, exception (None: paid), attempts, deductions
    ("2257164624870311973", None, 1, 1),
    ("9001000000000000001", None, 3, 1),  # declined twice, then paid
    ("9006000000000000001", None, 2, 1),  # rate limited once
    ("9000000000000000001", dajisaas.PaymentDeclinedError, 4, 0),
    ("9005000000000000001", dajisaas.RateLimitedError, 4, 0),
    ("9002000000000000001", dajisaas.PaymentOutcomeUnknownError, 1, 1),  # timeout after deducting
    ("9003000000000000001", dajisaas.PaymentOutcomeUnknownError, 1, 1),  # 500 after deducting
    ("9004000000000000001", dajisaas.PaymentOutcomeUnknownError, 1, 1),  # body not JSON
    ("9008000000000000001", dajisaas.PaymentOutcomeUnknownError, 1, 1),  # success, not confirmed
    ("9009000000000000001", dajisaas.PaymentOutcomeUnknownError, 1, 0),  # 503
]


@pytest.mark.parametrize("order_id,error,attempts,deducted", ROWS)
def test_outcome_row(
    client: dajisaas.Client,
    sandbox: Sandbox,
    order_id: str,
    error: Optional[Type[dajisaas.DajisaasError]],
    attempts: int,
    deducted: int,
) -> None:
    if error is None:
        assert client.prepare_pay(order_id).attempts == attempts
    else:
        with pytest.raises(error) as caught:
            client.prepare_pay(order_id)
        e = caught.value
        assert isinstance(e, dajisaas.DajisaasError)
        assert e.code == error.code
        assert e.attempts == attempts
        if error is dajisaas.PaymentOutcomeUnknownError:
            assert "check the order" in e.message
    assert sandbox.deductions(order_id) == deducted
    assert all(n <= 1 for n in sandbox.stats()["deductions"].values())


def test_not_sent_is_retried_and_reported_as_connection() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = dajisaas.Client(APP_KEY, "s", base_url=f"http://127.0.0.1:{port}", backoff_base_ms=1, backoff_cap_ms=2)
    with pytest.raises(dajisaas.ConnectionError) as caught:
        client.prepare_pay("1")
    assert (caught.value.code, caught.value.attempts) == ("connection", 4)


def test_errors_carry_trace_id_and_api_code(sandbox: Sandbox) -> None:
    client = dajisaas.Client(APP_KEY, "wrong-secret", base_url=sandbox.url)
    with pytest.raises(dajisaas.ApiError) as caught:
        client.pay_url(["1"])
    e = caught.value
    assert (e.api_code, e.http_status, e.attempts) == (401, 200, 1)
    assert e.trace_id and "签名错误" in e.message
    with pytest.raises(dajisaas.HttpStatusError) as caught2:
        make_client(sandbox).request("GET", "/nowhere")
    assert caught2.value.http_status == 404


def test_max_retries_is_respected(sandbox: Sandbox) -> None:
    with pytest.raises(dajisaas.PaymentDeclinedError) as caught:
        make_client(sandbox, max_retries=1).prepare_pay("9000000000000000001")
    assert caught.value.attempts == 2
