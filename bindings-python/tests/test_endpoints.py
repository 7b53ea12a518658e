"""Both endpoints and the generic call, through the sandbox."""

import pytest

import dajisaas
from conftest import Sandbox, make_client


def test_pay_url_for_one_order(client: dajisaas.Client, sandbox: Sandbox) -> None:
    link = client.pay_url(["2257455039610311973"])
    assert link.url == "https://trade.1688.com/order/cashier.htm?orderId=2257455039610311973"
    assert link.order_ids == ["2257455039610311973"]
    assert link.attempts == 1
    assert link.trace_id is not None and len(link.trace_id) == 12
    assert link.data["success"] is True
    assert "orderIdList=%5B2257455039610311973%5D" in sandbox.requests()[0]["uri"]


def test_ids_may_be_ints_and_any_iterable(client: dajisaas.Client) -> None:
    link = client.pay_url(i for i in (2257455039610311973, "2257455039610311974"))
    assert link.order_ids == ["2257455039610311973", "2257455039610311974"]
    assert link.url.startswith("https://cashier.alipay.com/")


def test_pay_urls_gives_ten_ordered_links_for_95_ids(client: dajisaas.Client) -> None:
    ids = [str(3_000_000_000_000_000_000 - n * 7) for n in range(95)]
    links = client.pay_urls(ids + ids[:5], batch_size=10)
    assert len(links) == 10
    assert [i for link in links for i in link.order_ids] == ids


def test_comma_separated_format(sandbox: Sandbox) -> None:
    make_client(sandbox, order_id_format="comma_separated").pay_url([11, 12])
    assert "orderIdList=11%2C12&" in sandbox.requests()[0]["uri"]


def test_prepare_pay_returns_a_payment(client: dajisaas.Client, sandbox: Sandbox) -> None:
    payment = client.prepare_pay(2257164624870311973)
    assert payment.order_id == "2257164624870311973"
    assert (payment.pay_channel, payment.attempts) == ("alipay", 1)
    assert payment.data["result"]["paySuccess"] is True
    assert sandbox.deductions("2257164624870311973") == 1


def test_request_returns_plain_python_data(client: dajisaas.Client) -> None:
    data = client.request("POST", "/alibaba/order/preview", {
        "cargo": [{"offerId": 2257455039610311973, "qty": 2.5}], "flag": True, "memo": None,
    })
    assert data["params"]["cargo"] == [{"offerId": 2257455039610311973, "qty": 2.5}]
    assert data["params"]["flag"] is True
    got = client.request("get", "/alibaba/product/search", {"keyword": "女装 & 裙", "page": 2})
    assert got["params"] == {"appKey": "py-test-key", "keyword": "女装 & 裙", "page": "2"}


def test_results_are_immutable_with_readable_repr(client: dajisaas.Client) -> None:
    link = client.pay_url(["1"])
    # Python values: the trace id as a str, not Rust's Some("…").
    assert repr(link) == (f"PayUrl(url='https://trade.1688.com/order/cashier.htm?orderId=1', "
                          f"order_ids=['1'], trace_id='{link.trace_id}', attempts=1)")
    try:
        link.url = "x"  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("PayUrl must be immutable")


def test_from_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAJISAAS_APP_KEY", "py-test-key")
    monkeypatch.setenv("DAJISAAS_APP_SECRET", sandbox.secret)
    monkeypatch.setenv("DAJISAAS_BASE_URL", sandbox.url)
    assert dajisaas.Client.from_env().pay_url(["5"]).attempts == 1
    monkeypatch.delenv("DAJISAAS_APP_SECRET")
    try:
        dajisaas.Client.from_env()
    except dajisaas.InvalidArgumentError as e:
        assert "DAJISAAS_APP_SECRET" in e.message
    else:
        raise AssertionError("from_env without a secret must fail")
