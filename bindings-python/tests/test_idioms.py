"""The habits Python users expect: close() and context managers, the built-in exception bases,
ids from numpy and pandas, and results that pickle, copy, compare by value and convert to dicts."""

from __future__ import annotations

import asyncio
import copy
import operator
import pickle
import weakref
from typing import Any

import pytest

import dajisaas
from conftest import APP_KEY, Sandbox, make_client

ORDER = "2257164624870319001"


def test_a_closed_client_refuses_calls_and_sends_nothing(sandbox: Sandbox) -> None:
    with make_client(sandbox) as client:
        assert client.pay_url([ORDER]).url
    with pytest.raises(dajisaas.InvalidArgumentError, match="this Client is closed"):
        client.prepare_pay(ORDER)
    with pytest.raises(dajisaas.InvalidArgumentError, match="closed"):
        client.pay_many([ORDER])
    client.close()  # twice is fine
    assert repr(client) == "Client(closed)"
    assert sandbox.stats()["payCalls"] == {}


def test_async_with_and_aclose(sandbox: Sandbox) -> None:
    async def main() -> None:
        async with dajisaas.AsyncClient(APP_KEY, sandbox.secret, base_url=sandbox.url) as client:
            assert (await client.pay_url([ORDER])).url
        with pytest.raises(dajisaas.InvalidArgumentError, match="this AsyncClient is closed"):
            await client.prepare_pay(ORDER)
        other = dajisaas.AsyncClient(APP_KEY, sandbox.secret, base_url=sandbox.url)
        await other.aclose()
        with pytest.raises(dajisaas.InvalidArgumentError, match="closed"):
            await other.pay_url([ORDER])

    asyncio.run(main())
    assert sandbox.stats()["payCalls"] == {}


def test_clients_accept_weak_references(sandbox: Sandbox) -> None:
    client = make_client(sandbox)
    assert weakref.ref(client)() is client


def test_timeout_and_connection_errors_are_the_built_in_ones_too(sandbox: Sandbox) -> None:
    assert issubclass(dajisaas.TimeoutError, TimeoutError)
    assert issubclass(dajisaas.ConnectionError, ConnectionError)
    assert not issubclass(dajisaas.PaymentOutcomeUnknownError, TimeoutError)
    # A port nobody listens on: a connection error, caught by the built-in class.
    client = dajisaas.Client(APP_KEY, "secret-123456", base_url="http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ConnectionError) as caught:
        client.pay_url([ORDER])
    assert isinstance(caught.value, dajisaas.DajisaasError) and caught.value.code == "connection"
    # And a timeout: the sandbox's hanging ids answer after 3 s.
    slow = make_client(sandbox, timeout=0.2, max_retries=0)
    with pytest.raises(TimeoutError) as timed_out:
        slow.pay_url(["9002000000000000001"])
    assert timed_out.value.code == "timeout"
    error = pickle.loads(pickle.dumps(timed_out.value))
    assert type(error) is dajisaas.TimeoutError and str(error) == str(timed_out.value)
    assert error.attempts == timed_out.value.attempts


class Shown(int):
    """An int whose text is not its value: the value is what is sent."""

    def __str__(self) -> str:
        return "not a number"


def test_ids_follow_operator_index(sandbox: Sandbox) -> None:
    client = make_client(sandbox)
    assert client.pay_url([Shown(2257455039610311973)]).order_ids == ["2257455039610311973"]
    with pytest.raises(dajisaas.InvalidArgumentError, match=r"orderIds\[0\] must be a str or int, not bool"):
        client.pay_url([True])
    with pytest.raises(dajisaas.InvalidArgumentError, match=r"orderIds\[0\] must be a str or int, not float"):
        client.pay_url([2.0])


def test_numpy_and_pandas_ids(sandbox: Sandbox) -> None:
    numpy = pytest.importorskip("numpy")
    pandas = pytest.importorskip("pandas")
    client = make_client(sandbox)
    big = 2257455039610311973
    assert client.pay_url([numpy.int64(big)]).order_ids == [str(big)]
    assert client.pay_url([numpy.uint64(big + 9)]).order_ids == [str(big + 9)]
    assert client.pay_url(numpy.array([big, big + 1], dtype=numpy.int64)).order_ids == [str(big), str(big + 1)]
    assert client.pay_url(pandas.Series([big, big + 2])).order_ids == [str(big), str(big + 2)]
    assert client.prepare_pay(numpy.int64(big + 3)).order_id == str(big + 3)
    with pytest.raises(dajisaas.InvalidArgumentError, match=r"orderIds\[0\]"):
        client.pay_url([numpy.float64(1.0)])
    with pytest.raises(dajisaas.InvalidArgumentError, match=r"orderIds\[0\]"):
        client.pay_url([numpy.bool_(True)])
    assert operator.index(numpy.int64(5)) == 5  # what the ids go through


def roundtrips(value: Any) -> None:
    assert pickle.loads(pickle.dumps(value)) == value
    assert copy.copy(value) == value and copy.deepcopy(value) == value
    assert weakref.ref(value)() is value


def test_results_pickle_copy_compare_and_convert(sandbox: Sandbox) -> None:
    client = make_client(sandbox)
    link = client.pay_url([ORDER])
    roundtrips(link)
    assert link.to_dict() == {"url": link.url, "order_ids": [ORDER], "trace_id": link.trace_id,
                              "attempts": 1, "data": link.data}
    assert link != client.pay_url([ORDER])  # another answer: another trace id
    payment = client.prepare_pay(ORDER)
    roundtrips(payment)
    assert payment.to_dict()["order_id"] == ORDER and payment.to_dict()["replayed"] is False
    assert repr(pickle.loads(pickle.dumps(payment))) == repr(payment)
    assert payment != link
    run = client.pay_many([ORDER, "9000000000000000901"])
    roundtrips(run)
    roundtrips(run.results[1])
    declined = run.to_dict()["results"][1]
    assert declined["outcome"] == "declined" and declined["payment"] is None
    assert declined["error"]["code"] == "payment_declined" and declined["error"]["attempts"] == 4
    assert run.to_dict()["results"][0]["payment"]["replayed"] is True


def test_journal_records_are_objects_like_the_other_results(sandbox: Sandbox) -> None:
    client = make_client(sandbox)
    client.prepare_pay(ORDER)
    record = client.payment_record(ORDER)
    assert record is not None and isinstance(record, dajisaas.PaymentRecord)
    roundtrips(record)
    assert record.state == "paid" and record.order_id == ORDER and record.attempts == 1
    assert record.trace_ids and record.pay_channel == "alipay" and record.lease_until is None
    assert record.owner["pid"] > 0 and record.owner["client_id"]
    fields = record.to_dict()
    assert fields["state"] == "paid" and fields["created_at"].endswith("Z")
    assert list(fields) == ["order_id", "state", "attempts", "trace_ids", "pay_channel", "error_code",
                            "message", "data", "owner", "lease_until", "created_at", "updated_at",
                            "gateway", "app_key", "claim_id", "history"]
    assert record.history == [] and fields["history"] == []
    assert repr(record).startswith(f"PaymentRecord(order_id='{ORDER}', state='paid', attempts=1, ")
    assert client.payment_records("paid") == [record]
