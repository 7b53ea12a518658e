"""Client options: the core reads the keyword arguments, applies its defaults and checks them
(one validation for every language); `config` shows the options in effect; `params` takes any
mapping."""

from __future__ import annotations

import collections
import types
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Type, Union

import pytest

import dajisaas
from conftest import APP_KEY, SECRET, Sandbox

CLASSES = [dajisaas.Client, dajisaas.AsyncClient]
ClientClass = Type[Union[dajisaas.Client, dajisaas.AsyncClient]]


@pytest.mark.parametrize("cls", CLASSES)
def test_a_sqlite_journal_shares_its_pace(cls: ClientClass, tmp_path: Path) -> None:
    config = cls(APP_KEY, SECRET, journal=f"sqlite://{tmp_path}/payments.db").config
    assert config["pace"] == "journal"


@pytest.mark.parametrize("cls", CLASSES)
def test_left_out_options_take_the_core_defaults(sandbox: Sandbox, cls: ClientClass) -> None:
    # journal="memory" is what a client gets when it names none (tests give each its own).
    config = cls(APP_KEY, sandbox.secret, base_url=sandbox.url, journal="memory").config
    assert config == {
        "app_key": APP_KEY,
        "base_url": sandbox.url + "/",
        "timeout": 30.0,
        "connect_timeout": 10.0,
        "max_retries": 3,
        "backoff_base": 0.2,
        "backoff_cap": 5.0,
        "order_id_format": "json_array",
        "max_concurrent_batches": 4,
        "max_connections": 64,
        "root_certificates_pem": 0,
        "dangerously_send_app_secret_instead_of_sign": False,
        "journal": "memory",
        "journal_timeout": 5.0,
        "max_calls_per_second": None,
        "pace": "process",
    }
    assert "app_secret" not in config
    # None is "left out" too.
    assert cls(APP_KEY, SECRET, timeout=None).config["timeout"] == 30.0  # type: ignore[arg-type]
    assert dajisaas.Client(APP_KEY, SECRET).config["base_url"] == "https://openapi.dajisaas.com/"


@pytest.mark.parametrize("cls", CLASSES)
def test_given_options_show_in_config(cls: ClientClass) -> None:
    given: Dict[str, Any] = {
        "base_url": "http://127.0.0.1:9",
        "timeout": 1.234,
        "connect_timeout": 0.567,
        "max_retries": 0,
        "backoff_base": 0,
        "backoff_cap": 60,
        "order_id_format": "comma_separated",
        "max_concurrent_batches": 1,
        "dangerously_send_app_secret_instead_of_sign": True,
    }
    client = cls(app_key=APP_KEY, app_secret=SECRET, **given)
    config = client.config
    assert {name: config[name] for name in given} == {**given, "base_url": "http://127.0.0.1:9/"}
    config["timeout"] = 1  # a copy: the client is unchanged
    assert client.config["timeout"] == 1.234


def test_repr_is_built_from_config_without_the_secret() -> None:
    client = dajisaas.Client(APP_KEY, SECRET, max_concurrent_batches=2)
    shown = repr(client)
    assert shown.startswith("Client(app_key='py-test-key', base_url='https://openapi.dajisaas.com/', ")
    assert "timeout=30.0" in shown and "max_concurrent_batches=2" in shown
    assert repr(dajisaas.AsyncClient(APP_KEY, SECRET)).startswith("AsyncClient(app_key=")
    for text in (shown, str(client.config), repr(dajisaas.AsyncClient(APP_KEY, SECRET))):
        assert SECRET not in text


def test_max_concurrent_batches_bounds_the_link_batches(slow_sandbox: Sandbox) -> None:
    ids = [str(n) for n in range(1, 41)]
    for batches, peak in ((1, 1), (None, 4)):
        slow_sandbox.reset()
        options = {} if batches is None else {"max_concurrent_batches": batches}
        client = dajisaas.Client(APP_KEY, slow_sandbox.secret, base_url=slow_sandbox.url, **options)
        links = client.pay_urls(ids, batch_size=10)
        assert [i for link in links for i in link.order_ids] == ids
        stats = slow_sandbox.stats()
        assert stats["requests"] == 4
        # Each answer takes 100 ms: one batch at a time, or all four at once.
        assert stats["peakInFlight"] == peak, (batches, stats["peakInFlight"])


WHOLE_MS = "must be a whole number from 1 to 600000 (milliseconds)"
BACKOFF_MS = "must be a whole number from 0 to 60000 (milliseconds)"
RETRIES = "max_retries must be a whole number from 0 to 3"
SECONDS = "must be a number of seconds (int, float or datetime.timedelta)"

BAD_OPTIONS = [
    # Booleans are not numbers, even though bool is an int in Python.
    ({"timeout": True}, f"timeout {SECONDS}, not bool"),
    ({"max_retries": True}, f"{RETRIES}, not true"),
    ({"max_retries": False}, f"{RETRIES}, not false"),
    # Ints beyond 64 bits: out of range, never an OverflowError.
    ({"max_retries": 2**70}, f"{RETRIES}, not 1.1805916207174113e+21"),
    ({"timeout": 10**400}, f"timeout {SECONDS}, not inf"),
    ({"backoff_base": -(10**400)}, f"backoff_base {SECONDS}, not inf"),
    ({"max_retries": 2**64 - 1}, f"{RETRIES}, not 18446744073709551615"),
    ({"max_retries": 1.9}, f"{RETRIES}, not 1.9"),
    ({"max_retries": 3.0}, f"{RETRIES}, not 3.0"),
    ({"max_retries": 4}, f"{RETRIES}, not 4"),
    ({"max_retries": -1}, f"{RETRIES}, not -1"),
    # Durations in seconds, checked against the core's range in milliseconds.
    ({"timeout": -1}, f"timeout=-1 seconds is out of range (timeout_ms {WHOLE_MS}, not -1000"),
    ({"timeout": 0}, f"timeout=0 seconds is out of range (timeout_ms {WHOLE_MS}, not 0)"),
    ({"timeout": 0.0004}, f"timeout=0.0004 seconds is out of range (timeout_ms {WHOLE_MS}, not 0)"),
    ({"connect_timeout": 600.001}, f"connect_timeout=600.001 seconds is out of range (connect_timeout_ms {WHOLE_MS}, not 600001)"),
    ({"backoff_base": -0.005}, "backoff_base=-0.005 seconds is out of range"),
    ({"backoff_cap": 5000}, f"backoff_cap=5000 seconds is out of range (backoff_cap_ms {BACKOFF_MS}, not 5000000)"),
    ({"backoff_base": 0.6, "backoff_cap": 0.5}, "must not exceed"),
    ({"max_concurrent_batches": 0}, "max_concurrent_batches must be a whole number from 1 to 16, not 0"),
    ({"max_concurrent_batches": 17}, "max_concurrent_batches must be a whole number from 1 to 16, not 17"),
    ({"timeout": float("nan")}, f"timeout {SECONDS}, not NaN"),
    # Wrong types.
    ({"timeout": "30"}, f"timeout {SECONDS}, not str"),
    ({"timeout": object()}, f"timeout {SECONDS}, not object"),
    ({"max_retries": [3]}, f"{RETRIES}, not a list"),
    ({"max_retries": {"n": 3}}, f"{RETRIES}, not a mapping"),
    ({"base_url": 5}, "base_url must be a string, not 5"),
    ({"order_id_format": 1}, "order_id_format must be a string, not 1"),
    ({"order_id_format": "csv"}, "order_id_format"),
    ({"dangerously_send_app_secret_instead_of_sign": 1}, "dangerously_send_app_secret_instead_of_sign must be true or false, not 1"),
    ({"root_certificates_pem": b"x"}, "root_certificates_pem is a bytes"),
    ({"app_key": 5}, "app_key must be a string, not 5"),
    # Unknown names; the millisecond names of the other languages, with the Python name.
    ({"timeot": 30.0}, 'unknown option "timeot"; the options are base_url, timeout, connect_timeout, max_retries, backoff_base, backoff_cap,'),
    ({"backoff": (0.2, 5.0)}, 'unknown option "backoff"'),
    ({"timeout_ms": 30000}, "timeout_ms is not a Python option: Python takes durations in seconds, as timeout= (a float such as 30.0, or a datetime.timedelta)"),
    ({"connect_timeout_ms": object()}, "connect_timeout_ms is not a Python option"),
    ({"backoff_base_ms": 1}, "as backoff_base="),
    ({"backoff_cap_ms": 1}, "as backoff_cap="),
    ({"journal_timeout_ms": 1000}, "as journal_timeout="),
    ({"journal_timeout": 0.05}, "journal_timeout=0.05 seconds is out of range (journal_timeout_ms"),
    # Credentials and the address.
    ({"app_key": ""}, "app_key is empty"),
    ({"app_key": " k"}, "app_key has surrounding whitespace"),
    ({"app_secret": "  "}, "app_secret is empty"),
    ({"base_url": "http://example.com"}, "plain http"),
    ({"base_url": "https://u:p@example.com"}, "credentials"),
    ({"base_url": "https://example.com/#f"}, "fragment"),
]


@pytest.fixture()
def nothing_sent(sandbox: Sandbox) -> Iterator[Sandbox]:
    yield sandbox
    assert sandbox.stats()["requests"] == 0


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("options,needle", BAD_OPTIONS)
def test_bad_options_are_invalid_argument_naming_the_option(
    nothing_sent: Sandbox, cls: ClientClass, options: Dict[str, Any], needle: str
) -> None:
    kwargs = {"app_key": APP_KEY, "app_secret": nothing_sent.secret, "base_url": nothing_sent.url,
              **options}
    with pytest.raises(dajisaas.InvalidArgumentError) as caught:
        cls(**kwargs)
    assert needle in caught.value.message, caught.value.message
    assert isinstance(caught.value, ValueError)
    assert caught.value.attempts == 0
    assert SECRET not in str(caught.value)


class Params(Mapping[str, Any]):
    """A user Mapping class that is not a dict."""

    def __init__(self, **items: Any) -> None:
        self._items = items

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


PLAIN = {"orderIdList": "[1,2]", "n": 2, "nested": {"a": [1, {"b": True}]}}
MAPPINGS = {
    "MappingProxyType": types.MappingProxyType(PLAIN),
    "ChainMap": collections.ChainMap(
        {"n": 2}, {"orderIdList": "[1,2]", "n": 9},
        {"nested": types.MappingProxyType({"a": [1, Params(b=True)]})},
    ),
    "user Mapping": Params(**PLAIN),
}


@pytest.mark.parametrize("name", MAPPINGS)
def test_any_mapping_signs_like_the_dict(name: str) -> None:
    params = MAPPINGS[name]
    assert dajisaas.sign(params, "S") == dajisaas.sign(PLAIN, "S")
    assert dajisaas.signing_string_masked(params) == dajisaas.signing_string_masked(PLAIN)


@pytest.mark.parametrize("name", MAPPINGS)
def test_any_mapping_is_sent_like_the_dict(client: dajisaas.Client, name: str) -> None:
    sent = client.request("POST", "/alibaba/x", MAPPINGS[name])
    assert sent["params"] == {"appKey": APP_KEY, **PLAIN}


def test_a_mapping_key_must_be_a_str() -> None:
    with pytest.raises(dajisaas.InvalidArgumentError, match="key that is not a str"):
        dajisaas.sign(types.MappingProxyType({1: "x"}), "S")  # type: ignore[dict-item]


@pytest.mark.parametrize("cls", CLASSES)
def test_durations_are_seconds_as_floats_ints_or_timedeltas(cls: ClientClass) -> None:
    import datetime

    client = cls(APP_KEY, SECRET, timeout=datetime.timedelta(seconds=12, milliseconds=500),
                 connect_timeout=2, backoff_base=0.05, backoff_cap=datetime.timedelta(minutes=1))
    config = client.config
    assert (config["timeout"], config["connect_timeout"]) == (12.5, 2.0)
    assert (config["backoff_base"], config["backoff_cap"]) == (0.05, 60.0)
    assert not any(name.endswith("_ms") for name in config)
    # Sub-millisecond parts round to the nearest millisecond, as the core counts.
    assert cls(APP_KEY, SECRET, timeout=1.0004).config["timeout"] == 1.0
