"""Pay 1688 purchase orders through the Dajisaas gateway.

    import dajisaas
    client = dajisaas.Client.from_env()   # DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET, DAJISAAS_BASE_URL
    link = client.pay_url(["2257455039610311973"])
    try:
        payment = client.prepare_pay("2257455039610311973")
    except dajisaas.PaymentOutcomeUnknownError:
        ...  # the money may have been taken: check the order before paying it again

A thin skin over the Rust core: signing, validation, retries and parsing happen there.
Requests are logged at DEBUG under the logger "dajisaas", never with the secret. Logging levels
are read when a client is created: configure logging first.
"""

from ._dajisaas import (
    AsyncClient,
    Client,
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
    PaymentDeclinedError,
    PaymentInProgressError,
    PaymentOutcomeUnknownError,
    RateLimitedError,
    TimeoutError,
)

__all__ = [
    "ApiError",
    "AsyncClient",
    "Client",
    "ConnectionError",
    "DajisaasError",
    "DecodeError",
    "ERRORS_BY_CODE",
    "HttpStatusError",
    "InternalError",
    "InvalidArgumentError",
    "PayUrl",
    "Payment",
    "PaymentDeclinedError",
    "PaymentInProgressError",
    "PaymentOutcomeUnknownError",
    "RateLimitedError",
    "TimeoutError",
    "__version__",
    "sign",
    "signing_string_masked",
]
