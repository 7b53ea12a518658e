"""dajisaas.testing: the sandbox in users' test suites, served from the extension module (no
subprocess), and the pytest fixture that the package registers through its pytest11 entry point."""

from __future__ import annotations

import asyncio
import threading
import urllib.request

import pytest

import dajisaas
from dajisaas.testing import Sandbox


def test_the_fixture_gives_a_fresh_sandbox(dajisaas_sandbox: Sandbox) -> None:
    client = dajisaas_sandbox.client(timeout=2.0)
    payment = client.prepare_pay("2257455039610311973")
    assert payment.pay_channel == "alipay"
    stats = dajisaas_sandbox.stats()
    assert stats["deductions"] == {"2257455039610311973": 1}
    assert stats["requestsWithSecret"] == 0
    assert dajisaas_sandbox.requests()[0]["uri"].startswith("/alibaba/trade/pay/protocolPay/preparePay")


def test_the_fixture_is_reset_before_each_test(dajisaas_sandbox: Sandbox) -> None:
    assert dajisaas_sandbox.stats()["deductions"] == {}


def test_a_sandbox_of_ones_own() -> None:
    threads_before = threading.active_count()
    with Sandbox(app_key="my-key", app_secret="my-secret-123", qps=5) as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        assert "my-secret-123" not in repr(sandbox)
        # A plain HTTP client sees it too: it is a real server on a real port.
        with urllib.request.urlopen(sandbox.url + "/_sandbox/stats", timeout=5) as answer:
            assert b'"requests":0' in answer.read()
        with pytest.raises(dajisaas.DajisaasError):
            dajisaas.Client("other-key", "my-secret-123", base_url=sandbox.url, max_retries=0).pay_url(["1"])

        async def pay() -> dajisaas.Payment:
            return await sandbox.async_client().prepare_pay("9000000000000000001")

        with pytest.raises(dajisaas.PaymentDeclinedError):
            asyncio.run(pay())
        assert sandbox.stats()["payCalls"]["9000000000000000001"] >= 1
        sandbox.reset()
        assert sandbox.stats()["payCalls"] == {}
    with pytest.raises(RuntimeError, match="closed"):
        sandbox.stats()
    sandbox.close()  # twice is fine
    assert threading.active_count() == threads_before  # Python threads: the server's are native
