"""The types of the client options: what ``Client(app_key, app_secret, **options)`` takes and
what ``client.config`` shows.

These are type declarations only. The option names, their checks (types, ranges) and their
defaults live in the Rust core, the same for every language: an option left out takes the core's
default, and ``client.config`` shows the value in effect.
"""

from datetime import timedelta
from typing import Literal, Optional, TypedDict, Union

OrderIdFormat = Literal["json_array", "comma_separated"]

# A duration: seconds (an int or a float, as requests, httpx and boto3 take them) or a timedelta.
Seconds = Union[float, timedelta]


class ClientOptions(TypedDict, total=False):
    """The keyword options of ``Client`` and ``AsyncClient``; every one may be left out.

    Durations are seconds, a float (``timeout=30.0``) or a ``datetime.timedelta``, counted to
    the millisecond. ``journal_timeout`` bounds every payment-journal operation. ``root_certificates_pem`` adds CA certificates (PEM) to the
    system's, for networks whose proxy inspects TLS; certificates are always checked.
    ``dangerously_send_app_secret_instead_of_sign`` is the gateway's debug mode, which puts the
    secret on the wire: never in production.
    """

    base_url: str
    timeout: Seconds
    connect_timeout: Seconds
    max_retries: int
    backoff_base: Seconds
    backoff_cap: Seconds
    order_id_format: OrderIdFormat
    max_concurrent_batches: int
    max_connections: int
    root_certificates_pem: str
    dangerously_send_app_secret_instead_of_sign: bool
    journal: str
    journal_timeout: Seconds
    max_calls_per_second: int


class ClientConfig(TypedDict):
    """A client's options in effect (``client.config``): every option, defaults applied, the
    secret left out, durations in seconds. ``root_certificates_pem`` is the number of extra CA
    certificates."""

    app_key: str
    base_url: str
    timeout: float
    connect_timeout: float
    max_retries: int
    backoff_base: float
    backoff_cap: float
    order_id_format: OrderIdFormat
    max_concurrent_batches: int
    max_connections: int
    root_certificates_pem: int
    dangerously_send_app_secret_instead_of_sign: bool
    journal: str
    journal_timeout: float
    max_calls_per_second: Optional[int]
    # Whose pace max_calls_per_second and the adaptive limit are: "journal", shared by every
    # process using the SQLite or PostgreSQL journal; "process", this process's (memory journal).
    pace: Literal["journal", "process"]


PaymentState = Literal["in_flight", "paid", "declined", "unknown", "not_paid"]

# What became of one order of a ``pay_many`` run.
# (In order of seriousness: unknown, in_progress, declined, not_payable, failed, paid.)
PayManyOutcome = Literal["paid", "declined", "not_payable", "unknown", "in_progress", "failed"]
