"""Type stubs of the native module (see __init__.py for the package's documentation)."""

from typing import Any, Callable, Iterable, Literal, Mapping, Optional, SupportsIndex, Union

from typing_extensions import Unpack

from ._errors import DajisaasError
from ._options import ClientConfig, ClientOptions, PayManyOutcome, PaymentState, Seconds

# Any integer with ``__index__`` (numpy.int64, numpy.uint64) is taken like an int.
OrderId = Union[str, int, SupportsIndex]
Method = Literal["GET", "POST", "get", "post"]

__version__: str

def sign(params: Mapping[str, Any], secret: str) -> str:
    """The gateway signature of ``params`` under ``secret``: 32 uppercase hex digits."""

def signing_string_masked(params: Mapping[str, Any]) -> str:
    """The string that ``sign`` hashes, with the secret shown as ``***``."""

class PayUrl:
    """A cashier link: 1688's for one order, Alipay's for several."""

    @property
    def url(self) -> str: ...
    @property
    def order_ids(self) -> list[str]: ...
    @property
    def trace_id(self) -> Optional[str]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def data(self) -> dict[str, Any]:
        """The whole ``data`` object of the answer, unknown fields included."""
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, ``data`` included."""
    def __eq__(self, other: object) -> bool: ...
    def __copy__(self) -> "PayUrl": ...
    def __deepcopy__(self, memo: Any) -> "PayUrl": ...

class Payment:
    """A completed password-free payment."""

    @property
    def order_id(self) -> str: ...
    @property
    def pay_channel(self) -> Optional[str]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def trace_id(self) -> Optional[str]: ...
    @property
    def replayed(self) -> bool:
        """True when no request was sent: the journal had the order paid, or this call waited
        for a payment of it already under way in this process."""
    @property
    def already_paid(self) -> bool:
        """True when the gateway answered that the order was already paid: it counts as paid
        and was not retried (``data`` holds that answer)."""
    @property
    def data(self) -> dict[str, Any]:
        """The whole ``data`` object of the answer, unknown fields included."""
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict, ``data`` included."""
    def __eq__(self, other: object) -> bool: ...
    def __copy__(self) -> "Payment": ...
    def __deepcopy__(self, memo: Any) -> "Payment": ...

class PayManyItem:
    """One order of a ``pay_many`` run: the ``payment`` when ``outcome`` is ``paid``, else the
    ``error`` (the exception ``prepare_pay`` would have raised)."""

    @property
    def order_id(self) -> str: ...
    @property
    def outcome(self) -> PayManyOutcome: ...
    @property
    def payment(self) -> Optional[Payment]: ...
    @property
    def error(self) -> Optional[DajisaasError]: ...
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict: ``payment`` and ``error`` as dicts."""
    def __eq__(self, other: object) -> bool: ...
    def __copy__(self) -> "PayManyItem": ...
    def __deepcopy__(self, memo: Any) -> "PayManyItem": ...

class PayManyResult:
    """What ``pay_many`` returns: one item per order in input order, and each outcome's count."""

    @property
    def results(self) -> list[PayManyItem]: ...
    @property
    def summary(self) -> dict[str, int]:
        """Each outcome (``PayManyOutcome``: ``paid``, ``declined``, ...) and its count, zeros
        included."""
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict: ``results`` as dicts, and ``summary``."""
    def __eq__(self, other: object) -> bool: ...
    def __copy__(self) -> "PayManyResult": ...
    def __deepcopy__(self, memo: Any) -> "PayManyResult": ...

class PaymentResolution:
    """One resolution of an order's payment, recorded by ``resolve_payment``."""

    @property
    def at(self) -> str:
        """When, by the journal store's clock (UTC RFC 3339)."""
    @property
    def by(self) -> dict[str, Any]:
        """Who: ``host``, ``pid``, ``user`` (None when unknown)."""
    @property
    def from_state(self) -> Optional[PaymentState]:
        """The state before, None when the journal had no record of the order."""
    @property
    def to_state(self) -> PaymentState: ...
    @property
    def note(self) -> str: ...
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict."""
    def __eq__(self, other: object) -> bool: ...
    def __copy__(self) -> "PaymentResolution": ...
    def __deepcopy__(self, memo: Any) -> "PaymentResolution": ...

class PaymentRecord:
    """What the payment journal knows about one order's payment. Times are UTC RFC 3339
    strings (``2025-01-31T08:00:00.000Z``)."""

    @property
    def order_id(self) -> str: ...
    @property
    def state(self) -> PaymentState: ...
    @property
    def attempts(self) -> int:
        """Requests sent in the last payment."""
    @property
    def trace_ids(self) -> list[str]:
        """Every gateway traceId seen for this order's payments, oldest first."""
    @property
    def pay_channel(self) -> Optional[str]: ...
    @property
    def error_code(self) -> Optional[str]:
        """The code of the last failure."""
    @property
    def message(self) -> Optional[str]: ...
    @property
    def data(self) -> Any:
        """The gateway's ``data`` of the successful payment."""
    @property
    def owner(self) -> dict[str, Any]:
        """Who made the last payment: ``host``, ``pid``, ``client_id``."""
    @property
    def lease_until(self) -> Optional[str]:
        """Until when the owner's claim holds (only while ``in_flight``)."""
    @property
    def created_at(self) -> str: ...
    @property
    def updated_at(self) -> str: ...
    @property
    def gateway(self) -> str:
        """The gateway's origin (``scheme://host:port``): records are kept per gateway and app
        key."""
    @property
    def app_key(self) -> str: ...
    @property
    def claim_id(self) -> Optional[str]:
        """The id of the current or last claim of the order."""
    @property
    def history(self) -> list[PaymentResolution]:
        """Every resolution of the order, oldest first."""
    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (``history`` as a list of dicts)."""
    def __eq__(self, other: object) -> bool: ...
    def __copy__(self) -> "PaymentRecord": ...
    def __deepcopy__(self, memo: Any) -> "PaymentRecord": ...

class CallHandle:
    def stop(self) -> None: ...

# The native client behind both public clients (see _clients.py): each call waits on this
# thread when ``face`` is None, or starts and returns a ``CallHandle`` when ``face`` is
# ``(bridge, future)``, the future settled by the bridge's host.

Face = Optional[tuple["LoopBridge", Any]]

class Client:
    def __init__(self, app_key: str, app_secret: str, **options: Unpack[ClientOptions]) -> None: ...
    @staticmethod
    def from_env() -> "Client": ...
    @property
    def config(self) -> ClientConfig: ...
    def pay_url(self, order_ids: Iterable[OrderId], *, face: Face = None) -> Any: ...
    def pay_urls(
        self, order_ids: Iterable[OrderId], batch_size: int = 10, *, face: Face = None
    ) -> Any: ...
    def prepare_pay(self, order_id: OrderId, *, face: Face = None) -> Any: ...
    def pay_many(
        self,
        order_ids: Iterable[OrderId],
        concurrency: Optional[int] = None,
        *,
        on_item: Callable[[tuple[int, PayManyItem]], None],
        face: Face = None,
    ) -> Any: ...
    def payment_record(self, order_id: OrderId, *, face: Face = None) -> Any: ...
    def payment_records(self, state: Optional[PaymentState] = None, *, face: Face = None) -> Any: ...
    def resolve_payment(
        self, order_id: OrderId, *, paid: bool, note: str = "", face: Face = None
    ) -> Any: ...
    def request(
        self,
        method: Method,
        path: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        face: Face = None,
    ) -> Any: ...
    def flush_journal(self, timeout: Optional[Seconds] = None, *, face: Face = None) -> Any: ...

class LoopBridge:
    """The socket and queue through which started calls reach their host (see _runtime.py)."""

    def __init__(self) -> None: ...
    def fileno(self) -> int: ...
    def take(self) -> list[tuple[Any, Literal["result", "exception", "item"], Any]]: ...
    def _pending(self) -> int: ...

class NativeSandbox:
    def __init__(
        self,
        app_key: str,
        app_secret: str,
        port: int,
        latency_ms: int,
        slow_ms: int,
        hang_ms: int,
        qps: Optional[int],
        chaos_seed: Optional[int],
    ) -> None: ...
    @property
    def url(self) -> str: ...
    def stats(self) -> Any: ...
    def requests(self) -> Any: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...

def _restore_pay_many_result(results: list[PayManyItem], summary: dict[str, int]) -> PayManyResult: ...
def _set_log_levels(ours: int, others: int) -> None: ...
def _take_log_records() -> Optional[
    tuple[int, list[tuple[str, int, str, int, str, float, list[tuple[str, Union[str, int, bool]]]]]]
]: ...
def _flush_journals() -> Optional[str]: ...
def _stop_delivery() -> None: ...
