"""The types of the client options: what ``Client(app_key, app_secret, **options)`` takes and
what ``client.config`` shows.

These are type declarations only. The option names, their checks (types, ranges) and their
defaults live in the Rust core, the same for every language: an option left out takes the core's
default, and ``client.config`` shows the value in effect.
"""

from typing import Literal, Optional, TypedDict

OrderIdFormat = Literal["json_array", "comma_separated"]


class ClientOptions(TypedDict, total=False):
    """The keyword options of ``Client`` and ``AsyncClient``; every one may be left out.

    Durations are whole milliseconds. ``root_certificates_pem`` adds CA certificates (PEM) to the
    system's, for networks whose proxy inspects TLS; certificates are always checked.
    ``dangerously_send_app_secret_instead_of_sign`` is the gateway's debug mode, which puts the
    secret on the wire: never in production.
    """

    base_url: str
    timeout_ms: int
    connect_timeout_ms: int
    max_retries: int
    backoff_base_ms: int
    backoff_cap_ms: int
    order_id_format: OrderIdFormat
    max_concurrent_batches: int
    max_connections: int
    root_certificates_pem: str
    dangerously_send_app_secret_instead_of_sign: bool
    journal: str
    max_calls_per_second: int


class ClientConfig(TypedDict):
    """A client's options in effect (``client.config``): every option, defaults applied, the
    secret left out. ``root_certificates_pem`` is the number of extra CA certificates."""

    app_key: str
    base_url: str
    timeout_ms: int
    connect_timeout_ms: int
    max_retries: int
    backoff_base_ms: int
    backoff_cap_ms: int
    order_id_format: OrderIdFormat
    max_concurrent_batches: int
    max_connections: int
    root_certificates_pem: int
    dangerously_send_app_secret_instead_of_sign: bool
    journal: str
    max_calls_per_second: Optional[int]


PaymentState = Literal["in_flight", "paid", "declined", "unknown", "not_paid"]

# What became of one order of a ``pay_many`` run.
PayManyOutcome = Literal["paid", "declined", "unknown", "in_progress", "failed"]
