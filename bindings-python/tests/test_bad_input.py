"""Bad input raises InvalidArgumentError (also a ValueError) naming the problem, and nothing
reaches the sandbox."""

from typing import Any, Callable

import pytest

import dajisaas
from conftest import HOOKS_EXPECTED, Sandbox, make_client, native_hook

BAD_ID_LISTS = [
    ([1.5], "orderIds[0] must be a str or int, not float"),
    (["1", True], "orderIds[1] must be a str or int, not bool"),
    (["1", "2", None], "orderIds[2] must be a str or int, not NoneType"),
    ([b"1"], "orderIds[0] must be a str or int, not bytes"),
    (["12a"], "orderIds[0] \"12a\" must contain only the digits"),
    ([" 1"], "surrounding whitespace"),
    ([-1], "orderIds[0] \"-1\" must contain only the digits"),
    ([2**63], "larger than"),
    ([10**20], "21 digits"),
    (["1\x002"], "only the digits"),
    ([["1"]], "not list"),
    ([], "empty"),
    ([str(n) for n in range(1, 32)], "31 ids"),
    (["7", 7], "orderIds[1] \"7\" is a duplicate"),
    ("2257455039610311973", "not a single str"),
    (b"1", "not a single bytes"),
    (12, "not int"),
]


@pytest.mark.parametrize("ids,needle", BAD_ID_LISTS)
def test_bad_id_lists(client: dajisaas.Client, sandbox: Sandbox, ids: Any, needle: str) -> None:
    with pytest.raises(dajisaas.InvalidArgumentError) as caught:
        client.pay_url(ids)
    assert needle in caught.value.message
    assert isinstance(caught.value, ValueError)
    assert caught.value.attempts == 0
    assert sandbox.stats()["requests"] == 0


@pytest.mark.parametrize("order_id", [None, 1.0, True, b"1", "", "abc", " 1", -5, [1], "１"])
def test_bad_single_ids(client: dajisaas.Client, sandbox: Sandbox, order_id: Any) -> None:
    with pytest.raises(dajisaas.InvalidArgumentError):
        client.prepare_pay(order_id)
    assert sandbox.stats()["requests"] == 0


CALLS: list[tuple[Callable[[dajisaas.Client], Any], str]] = [
    (lambda c: c.pay_urls(["1"], batch_size=0), "batch_size is 0"),
    (lambda c: c.pay_urls(["1"], batch_size=31), "batch_size is 31"),
    (lambda c: c.request("DELETE", "/alibaba/x"), "GET or POST"),
    (lambda c: c.request("GET", "alibaba/x"), "absolute path"),
    (lambda c: c.request("GET", "/alibaba/x?y=1"), "without query"),
    (lambda c: c.request("POST", "/alibaba/x", {"sign": "x"}), "set by the client"),
    (lambda c: c.request("POST", "/alibaba/x", {"a": object()}), "params[\"a\"] is a object"),
    (lambda c: c.request("POST", "/alibaba/x", {1: "x"}), "key that is not a str"),
    (lambda c: c.request("POST", "/alibaba/x", {"a": float("nan")}), "cannot be signed"),
    (lambda c: c.request("POST", "/alibaba/x", {"a": 1j}), "params[\"a\"] is a complex"),
    (lambda c: c.request("POST", "/alibaba/x", [1, 2]), "params must be a mapping"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("call,needle", CALLS)
def test_bad_calls(client: dajisaas.Client, sandbox: Sandbox, call: Any, needle: str) -> None:
    with pytest.raises(dajisaas.InvalidArgumentError) as caught:
        call(client)
    assert needle in caught.value.message
    assert sandbox.stats()["requests"] == 0


def test_deeply_nested_params_are_refused(client: dajisaas.Client, sandbox: Sandbox) -> None:
    nested: Any = "x"
    for _ in range(100):
        nested = [nested]
    with pytest.raises(dajisaas.InvalidArgumentError, match="nested more than"):
        client.request("POST", "/alibaba/x", {"deep": nested})
    assert sandbox.stats()["requests"] == 0


def test_sign_rejects_non_mappings() -> None:
    with pytest.raises(dajisaas.InvalidArgumentError):
        dajisaas.sign([("a", "b")], "s")  # type: ignore[arg-type]


def test_the_test_hooks_are_only_in_test_builds() -> None:
    hooks = [h for h in ("_panic_for_tests", "_error_with_signal_pending_for_tests")
             if hasattr(dajisaas._dajisaas, h)]
    assert hooks == (["_panic_for_tests", "_error_with_signal_pending_for_tests"] if HOOKS_EXPECTED else [])


def test_a_rust_panic_becomes_internal_error(sandbox: Sandbox) -> None:
    with pytest.raises(dajisaas.InternalError) as caught:
        native_hook("_panic_for_tests")()
    assert "a bug" in caught.value.message
    # The interpreter and the client are still fine.
    assert make_client(sandbox).pay_url(["1"]).attempts == 1
