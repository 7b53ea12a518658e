"""The exceptions of dajisaas: one class per error code, all under DajisaasError."""

from __future__ import annotations

import builtins
from typing import ClassVar, Dict, Optional, Type


class DajisaasError(Exception):
    """A failure of a dajisaas call.

    ``code`` is the stable error code shared by every language (``"payment_declined"``, ...);
    ``trace_id`` is the gateway's traceId (what its support asks for), ``api_code`` the
    envelope code, ``http_status`` the HTTP status, ``attempts`` the requests made.
    """

    code: ClassVar[str] = "internal"

    def __init__(
        self,
        message: str,
        *,
        trace_id: Optional[str] = None,
        api_code: Optional[int] = None,
        http_status: Optional[int] = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.trace_id = trace_id
        self.api_code = api_code
        self.http_status = http_status
        self.attempts = attempts

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        return f"{text} (traceId {self.trace_id})" if self.trace_id else text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"trace_id={self.trace_id!r}, api_code={self.api_code!r}, "
            f"http_status={self.http_status!r}, attempts={self.attempts!r})"
        )


class InvalidArgumentError(DajisaasError, ValueError):
    """Input or configuration rejected before anything was sent."""

    code = "invalid_argument"


class ConnectionError(DajisaasError, builtins.ConnectionError):  # noqa: A001 - named after its code
    """DNS, connect, TLS or connection-lost failure; also a built-in ``ConnectionError``, so
    ``except ConnectionError:`` (and ``except OSError:``) catches it."""

    code = "connection"


class TimeoutError(DajisaasError, builtins.TimeoutError):  # noqa: A001
    """No answer within the timeout (never for a payment that may have been sent: that is
    ``PaymentOutcomeUnknownError``); also a built-in ``TimeoutError``."""

    code = "timeout"


class HttpStatusError(DajisaasError):
    """A non-2xx HTTP answer without a usable envelope."""

    code = "http_status"


class DecodeError(DajisaasError):
    """The body is not a valid envelope."""

    code = "decode"


class ApiError(DajisaasError):
    """The gateway refused the call (code != 200), or a link request's data.success is false."""

    code = "api"


class RateLimitedError(DajisaasError):
    """The gateway's call-frequency limit."""

    code = "rate_limited"


class PaymentDeclinedError(DajisaasError):
    """The deduction was not initiated, after every allowed attempt. Nothing was paid."""

    code = "payment_declined"


class PaymentOutcomeUnknownError(DajisaasError):
    """The payment may or may not have happened: check the order before paying it again."""

    code = "payment_outcome_unknown"


class InternalError(DajisaasError):
    """A bug in dajisaas: a caught panic or an impossible state."""

    code = "internal"


class PaymentInProgressError(DajisaasError):
    """A payment of this order is already under way; nothing was sent. Wait for its outcome."""

    code = "payment_in_progress"


class JournalError(DajisaasError):
    """The payment journal could not be opened, read or written in time; the message says
    whether anything was sent. (Not a built-in ``ConnectionError``: retrying blindly is wrong.)"""

    code = "journal"


class OrderNotPayableError(DajisaasError):
    """The gateway refused because the order's state forbids payment (closed, cancelled, not
    found); nothing was deducted, and it is never retried."""

    code = "order_not_payable"


ERRORS_BY_CODE: Dict[str, Type[DajisaasError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        ConnectionError,
        TimeoutError,
        HttpStatusError,
        DecodeError,
        ApiError,
        RateLimitedError,
        PaymentDeclinedError,
        PaymentOutcomeUnknownError,
        InternalError,
        PaymentInProgressError,
        JournalError,
        OrderNotPayableError,
    )
}


def _from_native(
    code: str,
    message: str,
    trace_id: Optional[str],
    api_code: Optional[int],
    http_status: Optional[int],
    attempts: int,
) -> DajisaasError:
    """Called by the native module to build the exception for a core error."""
    cls = ERRORS_BY_CODE.get(code, InternalError)
    return cls(
        message, trace_id=trace_id, api_code=api_code, http_status=http_status, attempts=attempts
    )
