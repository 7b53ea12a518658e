"""The secret stays out of reprs, exception messages, log lines and signed requests; each
request is one DEBUG line on the "dajisaas" logger."""

import logging
import pathlib

import pytest

import dajisaas
from conftest import APP_KEY, SECRET, KeepRecords, Sandbox, make_client


def test_one_debug_line_per_request(client: dajisaas.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="dajisaas"):
        client.pay_url(["1"])
        client.prepare_pay("9001000000000000001")  # three requests
    lines = [r for r in caplog.records if r.name == "dajisaas" and "traceId=" in r.getMessage()]
    assert len(lines) == 4, [r.getMessage() for r in lines]
    first = lines[0].getMessage()
    assert first.startswith("GET /alibaba/alipay/url/get status=200 traceId=")
    assert "elapsed_ms=" in first and first.endswith("attempt=1")
    assert lines[3].getMessage().endswith("attempt=3")
    assert all(lines[i].levelno == logging.DEBUG for i in range(4))


def test_no_debug_lines_when_the_logger_is_quiet(client: dajisaas.Client, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("dajisaas")
    old = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with caplog.at_level(logging.DEBUG):
            logger.setLevel(logging.WARNING)
            client.pay_url(["1"])
        assert not [r for r in caplog.records if r.name == "dajisaas"]
    finally:
        logger.setLevel(old)


def test_secret_is_absent_from_reprs_and_errors(sandbox: Sandbox) -> None:
    client = make_client(sandbox)
    async_client = dajisaas.AsyncClient(APP_KEY, SECRET, base_url=sandbox.url)
    shown = [repr(client), str(client), str(client.config), repr(async_client), str(async_client.config)]
    shown += [repr(client.pay_url(["1"])), repr(client.prepare_pay("2"))]
    for order_id in ["9000000000000000001", "9004000000000000001", "9003000000000000001", "x"]:
        with pytest.raises(dajisaas.DajisaasError) as caught:
            client.prepare_pay(order_id)
        shown += [str(caught.value), repr(caught.value), caught.value.message]
    for text in shown:
        assert SECRET not in text, text
    assert sandbox.stats()["requestsWithSecret"] == 0


def test_debug_mode_really_sends_the_secret() -> None:
    # A sandbox of its own: this one is meant to see the secret.
    sb = Sandbox(secret="debug-only-secret")
    try:
        client = dajisaas.Client(
            APP_KEY, "debug-only-secret", base_url=sb.url,
            dangerously_send_app_secret_instead_of_sign=True,
        )
        client.pay_url(["1"])
        assert sb.stats()["requestsWithSecret"] == 1
    finally:
        sb.stop()


def test_tls_certificates_are_checked_and_extra_roots_trusted(tmp_path: pathlib.Path) -> None:
    ca = tmp_path / "ca.pem"
    sb = Sandbox("--tls", "--ca-out", str(ca))
    try:
        assert sb.url.startswith("https://")
        with pytest.raises(dajisaas.ConnectionError, match="certificate"):
            dajisaas.Client(APP_KEY, SECRET, base_url=sb.url, max_retries=0).pay_url(["1"])
        trusting = dajisaas.Client(APP_KEY, SECRET, base_url=sb.url, root_certificates_pem=ca.read_text())
        assert trusting.pay_url(["1"]).attempts == 1
        with pytest.raises(dajisaas.InvalidArgumentError, match="root certificates"):
            dajisaas.Client(APP_KEY, SECRET, root_certificates_pem="junk")
    finally:
        sb.stop()


def test_logging_configured_after_the_client_applies(sandbox: Sandbox) -> None:
    # A client made while "dajisaas" logs nothing below WARNING; DEBUG turned on afterwards
    # (as a late logging.basicConfig or dictConfig does) reaches its next call.
    logger = logging.getLogger("dajisaas")
    kept = KeepRecords()
    before = logger.level
    logger.setLevel(logging.WARNING)
    try:
        client = dajisaas.Client(APP_KEY, sandbox.secret, base_url=sandbox.url)
        logger.addHandler(kept)
        client.pay_url(["1"])
        assert not [r for r in kept.records if "traceId=" in r.getMessage()]
        logger.setLevel(logging.DEBUG)
        client.pay_url(["2"])
        assert [r for r in kept.records if "traceId=" in r.getMessage()]
    finally:
        logger.removeHandler(kept)
        logger.setLevel(before)


# The record attributes a payment's records may carry (core/src/payment_log.rs), and their types.
PLAIN = {
    "order_id": str, "attempt": int, "attempts": int, "trace_id": str, "method": str, "path": str,
    "http_status": int, "error_code": str, "elapsed_ms": int, "delay_ms": int, "lease_s": int,
    "outcome": str, "replayed": bool,
}


def test_a_payments_records_carry_its_order_id_as_plain_values(sandbox: Sandbox) -> None:
    # The root at DEBUG too: other crates' records (reqwest's "starting new connection
    # 'Some(\"127.0.0.1\")'") would come through it.
    root, kept = logging.getLogger(), KeepRecords()
    before = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(kept)
    try:
        client = make_client(sandbox)
        client.pay_url(["1"])
        client.prepare_pay("9001000000000000077")  # declined twice, paid at the third attempt
        with pytest.raises(dajisaas.PaymentOutcomeUnknownError):
            client.prepare_pay("9003000000000000077")  # deducted, then HTTP 500
    finally:
        root.removeHandler(kept)
        root.setLevel(before)
    records = kept.records
    for record in records:
        shown = [record.getMessage()] + [str(getattr(record, key, "")) for key in PLAIN]
        assert not [text for text in shown if "Some(" in text or SECRET in text], shown
        for key, kind in PLAIN.items():
            if hasattr(record, key):
                assert type(getattr(record, key)) is kind, (key, record.__dict__)
        assert record.name.startswith("dajisaas") or record.levelno >= logging.WARNING, record

    def of(order_id: str) -> list[logging.LogRecord]:
        return [r for r in records if getattr(r, "order_id", None) == order_id]

    paid = of("9001000000000000077")
    sent = [r for r in paid if getattr(r, "path", None) == "/alibaba/trade/pay/protocolPay/preparePay"]
    assert [(r.attempt, r.http_status, r.method) for r in sent] == [(1, 200, "POST"), (2, 200, "POST"), (3, 200, "POST")]
    assert all(r.trace_id and r.trace_id in r.getMessage() for r in sent)
    retries = [r for r in paid if r.getMessage().startswith("retrying in ")]
    assert [(r.attempt, r.error_code) for r in retries] == [(1, "payment_declined"), (2, "payment_declined")]
    assert any("claimed in the journal" in r.getMessage() for r in paid)
    (outcome,) = [r for r in paid if hasattr(r, "outcome")]
    assert (outcome.outcome, outcome.attempts, outcome.trace_id) == ("paid", 3, sent[-1].trace_id)

    unknown = of("9003000000000000077")
    assert [r.http_status for r in unknown if hasattr(r, "path")] == [500]
    (outcome,) = [r for r in unknown if hasattr(r, "outcome")]
    assert (outcome.outcome, outcome.error_code, outcome.attempts) == ("unknown", "payment_outcome_unknown", 1)

    # The link's request belongs to no payment: no order_id on it.
    (link,) = [r for r in records if getattr(r, "path", None) == "/alibaba/alipay/url/get"]
    assert not hasattr(link, "order_id") and link.attempt == 1
