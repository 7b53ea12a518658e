"""The sandbox's behaviour table, tests/vectors/outcomes.json, which every language runs: each
row's call, through Client and through AsyncClient, against a sandbox and a client with the
file's settings; then the error's class and code, attempts, HTTP status, envelope code, traceId
and message, and the sandbox's counters (calls and deductions per order; never more than one
deduction). Then the failures the table does not cover."""

from __future__ import annotations

import asyncio
import builtins
import json
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest

import dajisaas
from conftest import APP_KEY, REPO, Sandbox, make_client

TABLE = json.loads((REPO / "tests" / "vectors" / "outcomes.json").read_text(encoding="utf-8"))
ROWS: List[Dict[str, Any]] = TABLE["rows"]
MODES = ("Client", "AsyncClient")

Result = Union[dajisaas.Payment, dajisaas.PayUrl, dajisaas.DajisaasError]


@dataclass
class Run:
    """What each row's call gave in one mode, and the sandbox's counters afterwards."""

    results: Dict[str, Result]
    stats: Dict[str, Any]


def blocking_call(client: dajisaas.Client, row: Dict[str, Any]) -> Result:
    try:
        if row["endpoint"] == "prepare_pay":
            return client.prepare_pay(row["order_id"])
        assert row["endpoint"] == "pay_url", row
        return client.pay_url([row["order_id"]])
    except dajisaas.DajisaasError as e:
        return e


async def async_call(client: dajisaas.AsyncClient, row: Dict[str, Any]) -> Result:
    try:
        if row["endpoint"] == "prepare_pay":
            return await client.prepare_pay(row["order_id"])
        assert row["endpoint"] == "pay_url", row
        return await client.pay_url([row["order_id"]])
    except dajisaas.DajisaasError as e:
        return e


def python_options(table: Dict[str, Any]) -> Dict[str, Any]:
    """The table's options (durations in milliseconds, `timeout_ms`) as Python spells them
    (seconds, `timeout`)."""
    return {
        name.removesuffix("_ms"): value / 1000 if name.endswith("_ms") else value
        for name, value in table.items()
    }


@pytest.fixture(scope="module")
def runs() -> Iterator[Dict[str, Run]]:
    """Every row, concurrently (several wait out a timeout on every attempt), once per client
    class, with a reset of the sandbox in between."""
    settings = TABLE["sandbox"]
    sb = Sandbox(
        slow_ms=settings["slow_ms"], hang_ms=settings["hang_ms"], latency_ms=settings["latency_ms"]
    )
    try:
        options: Dict[str, Any] = {"base_url": sb.url, **python_options(TABLE["client"])}
        runs: Dict[str, Run] = {}

        # Each client class pays the same ids: each gets a payment journal of its own.
        client = dajisaas.Client(APP_KEY, sb.secret, journal="memory:outcomes-Client", **options)
        with ThreadPoolExecutor(max_workers=len(ROWS)) as pool:
            results = list(pool.map(lambda row: blocking_call(client, row), ROWS))
        runs["Client"] = Run(dict(zip(ids(), results)), sb.stats())
        assert sb.stats()["requestsWithSecret"] == 0

        sb.reset()

        async def all_rows() -> List[Result]:
            client = dajisaas.AsyncClient(
                APP_KEY, sb.secret, journal="memory:outcomes-AsyncClient", **options
            )
            return list(await asyncio.gather(*(async_call(client, row) for row in ROWS)))

        runs["AsyncClient"] = Run(dict(zip(ids(), asyncio.run(all_rows()))), sb.stats())
        assert sb.stats()["requestsWithSecret"] == 0
        yield runs
    finally:
        sb.stop()


def ids() -> List[str]:
    return [f"{row['order_id']}-{row['endpoint']}" for row in ROWS]


def test_the_table_is_whole() -> None:
    assert len(ROWS) >= 32
    assert len(set(ids())) == len(ROWS)
    assert {row["endpoint"] for row in ROWS} == {"prepare_pay", "pay_url"}
    # The client options are the binding's own keyword options, names and units as they are.
    options = python_options(TABLE["client"])
    assert dajisaas.Client(APP_KEY, "s", **options).config.items() >= options.items()


def outcome(result: Result) -> Tuple[Optional[str], int, Optional[int], Optional[int], bool]:
    if isinstance(result, dajisaas.DajisaasError):
        return (result.code, result.attempts, result.http_status, result.api_code,
                result.trace_id is not None)
    return (None, result.attempts, None, None, result.trace_id is not None)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("row", ROWS, ids=ids())
def test_row(runs: Dict[str, Run], mode: str, row: Dict[str, Any]) -> None:
    run = runs[mode]
    result = run.results[f"{row['order_id']}-{row['endpoint']}"]
    what = f"{mode} {row['endpoint']}({row['order_id']}): {row['sandbox_does']}"

    want = (row["code"], row["attempts"], row["http_status"], row["api_code"], row["trace_id"])
    assert outcome(result) == want, what
    if row["code"] is None:
        expected_type = dajisaas.Payment if row["endpoint"] == "prepare_pay" else dajisaas.PayUrl
        assert isinstance(result, expected_type), what
    else:
        assert isinstance(result, dajisaas.ERRORS_BY_CODE[row["code"]]), what
        assert type(result).code == row["code"], what
    message = result.message if isinstance(result, dajisaas.DajisaasError) else ""
    for part in row["message_contains"]:
        assert part in message, f"{what}: {message!r} lacks {part!r}"

    calls = run.stats["payCalls" if row["endpoint"] == "prepare_pay" else "linkCalls"]
    assert calls.get(row["order_id"], 0) == row["calls"], what
    assert run.stats["deductions"].get(row["order_id"], 0) == row["deductions"], what


@pytest.mark.parametrize("mode", MODES)
def test_no_order_is_deducted_twice(runs: Dict[str, Run], mode: str) -> None:
    deductions = runs[mode].stats["deductions"]
    assert deductions and all(n <= 1 for n in deductions.values()), deductions


def test_not_sent_is_retried_and_reported_as_connection() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = dajisaas.Client(
        APP_KEY, "s", base_url=f"http://127.0.0.1:{port}", backoff_base=0.001, backoff_cap=0.002
    )
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
    assert sandbox.stats()["payCalls"]["9000000000000000001"] == 2


def test_every_error_code_has_its_class() -> None:
    codes = ["invalid_argument", "connection", "timeout", "http_status", "decode", "api",
             "rate_limited", "payment_declined", "payment_outcome_unknown", "internal",
             "payment_in_progress", "journal", "order_not_payable"]
    assert list(dajisaas.ERRORS_BY_CODE) == codes
    # A journal failure is not a network failure: `except ConnectionError:` must not retry it.
    assert not issubclass(dajisaas.JournalError, builtins.ConnectionError)
    assert not issubclass(dajisaas.OrderNotPayableError, ValueError)
    for code, cls in dajisaas.ERRORS_BY_CODE.items():
        assert cls.code == code and issubclass(cls, dajisaas.DajisaasError)
        assert cls.__name__ in dajisaas.__all__
    in_progress = dajisaas._errors._from_native(  # type: ignore[attr-defined]
        "payment_in_progress", "already under way", None, None, None, 0)
    assert type(in_progress) is dajisaas.PaymentInProgressError


def test_an_order_paid_elsewhere_is_reported_already_paid(sandbox: Sandbox) -> None:
    # Two journals, as two unrelated systems: the second payment gets the gateway's "already
    # paid" answer, reported as paid, never retried.
    order = "2257164624870319101"
    first = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url, journal="memory:a")
    second = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url, journal="memory:b")
    assert not first.prepare_pay(order).already_paid
    again = second.prepare_pay(order)
    assert again.already_paid and not again.replayed and again.attempts == 1
    assert again.to_dict()["already_paid"] is True and "already_paid=True" in repr(again)
    assert sandbox.deductions(order) == 1


def test_new_error_codes_raise_their_classes() -> None:
    from conftest import native_hook

    raise_with = native_hook("_error_with_signal_pending_for_tests")
    with pytest.raises(dajisaas.OrderNotPayableError):
        raise_with("order_not_payable", 0)
    with pytest.raises(dajisaas.JournalError) as caught:
        raise_with("journal", 0)
    assert caught.value.code == "journal"
