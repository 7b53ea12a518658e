"""Pay 1688 purchase orders through the Dajisaas gateway.

    import dajisaas
    client = dajisaas.Client.from_env()   # DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET, DAJISAAS_BASE_URL
    # or: dajisaas.Client(app_key, app_secret, timeout=10.0, max_retries=2)
    link = client.pay_url(["2257455039610311973"])
    try:
        payment = client.prepare_pay("2257455039610311973")
    except dajisaas.PaymentOutcomeUnknownError:
        ...  # the money may have been taken: check the order before paying it again

A thin skin over the Rust core: signing, validation, retries and parsing happen there, and so
do the client options' checks and defaults (``ClientOptions`` lists the options; an option left
out takes the core's default, and ``client.config`` shows the values in effect).
Durations are seconds (``timeout=30.0``, or a ``datetime.timedelta``).
Requests are logged at DEBUG under the logger "dajisaas", never with the secret; logging levels
are read at every call, so logging configured after a client is made applies to it. A payment's
records carry ``order_id`` (and ``attempt``, ``trace_id``, ``outcome``, ... where they apply) as
attributes of the ``LogRecord``, with plain values.

The core's threads never run Python code: an ``AsyncClient`` call (a coroutine: nothing starts
until it is awaited or scheduled) has its outcome handed to the event loop's own thread (woken
through a socket it watches), a ``Client`` call waits on the caller's thread (waking every 100 ms
for signal handlers, so Ctrl-C arrives at once; under gevent or eventlet it waits through the
hub, so greenlets overlap), and log records are emitted by those Python threads. An atexit hook stops all of it, so the interpreter
exits cleanly whatever calls are still in flight.
"""

from ._clients import AsyncClient, Client
from ._dajisaas import (
    PaymentRecord,
    PaymentResolution,
    PayManyItem,
    PayManyResult,
    PayUrl,
    Payment,
    __version__,
    sign,
    signing_string_masked,
)
from ._errors import (
    ERRORS_BY_CODE,
    ApiError,
    ConnectionError,
    DajisaasError,
    DecodeError,
    HttpStatusError,
    InternalError,
    InvalidArgumentError,
    JournalError,
    OrderNotPayableError,
    PaymentDeclinedError,
    PaymentInProgressError,
    PaymentOutcomeUnknownError,
    RateLimitedError,
    TimeoutError,
)
from ._options import (
    ClientConfig,
    ClientOptions,
    OrderIdFormat,
    PayManyOutcome,
    PaymentState,
    Seconds,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ClientConfig",
    "PaymentRecord",
    "PaymentResolution",
    "PaymentState",
    "ClientOptions",
    "ConnectionError",
    "DajisaasError",
    "DecodeError",
    "ERRORS_BY_CODE",
    "HttpStatusError",
    "InternalError",
    "InvalidArgumentError",
    "JournalError",
    "OrderNotPayableError",
    "OrderIdFormat",
    "PayManyItem",
    "PayManyOutcome",
    "PayManyResult",
    "PayUrl",
    "Payment",
    "PaymentDeclinedError",
    "PaymentInProgressError",
    "PaymentOutcomeUnknownError",
    "RateLimitedError",
    "Seconds",
    "TimeoutError",
    "__version__",
    "sign",
    "signing_string_masked",
]
