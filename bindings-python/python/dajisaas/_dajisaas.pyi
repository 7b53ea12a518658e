"""Type stubs of the native module (see __init__.py for the package's documentation)."""

from typing import Any, Iterable, Literal, Mapping, Optional, Union

from typing_extensions import Unpack

from ._options import ClientConfig, ClientOptions

OrderId = Union[str, int]
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
    def data(self) -> dict[str, Any]:
        """The whole ``data`` object of the answer, unknown fields included."""

class Client:
    """A blocking client, safe to share between threads; the GIL is released during calls.

    A waiting call wakes every 100 ms to run signal handlers: their exceptions (Ctrl-C's
    ``KeyboardInterrupt``) propagate at once while the call runs to its outcome in the core.

    ``options`` are the keyword options of ``ClientOptions`` (durations in whole milliseconds:
    ``timeout_ms``, ``connect_timeout_ms``, ``backoff_base_ms``, ``backoff_cap_ms``). An option
    left out takes the core's default; ``config`` shows the values in effect. A wrong type, an
    unknown name or a number out of range raises ``InvalidArgumentError`` naming the option.
    """

    def __init__(self, app_key: str, app_secret: str, **options: Unpack[ClientOptions]) -> None: ...
    @staticmethod
    def from_env() -> "Client":
        """A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL."""
    @property
    def config(self) -> ClientConfig:
        """The options in effect: every option, defaults applied, the secret left out."""
    def pay_url(self, order_ids: Iterable[OrderId]) -> PayUrl:
        """One cashier link for 1 to 30 distinct orders."""
    def pay_urls(self, order_ids: Iterable[OrderId], batch_size: int = 10) -> list[PayUrl]:
        """Links for any number of orders, in batches, in input order; repeats dropped."""
    def prepare_pay(self, order_id: OrderId) -> Payment:
        """Pays one order without the buyer's password; never sent twice by retries."""
    def request(
        self, method: Method, path: str, params: Optional[Mapping[str, Any]] = None
    ) -> Any:
        """Any other gateway endpoint, signed; returns the envelope's ``data``."""

class AsyncClient:
    """The asyncio twin of ``Client``: the same options and calls, awaitable.

    Each call returns an ``asyncio.Future`` of the running loop, settled on the loop's own
    thread. Cancelling it only stops the waiting: the call runs to its outcome in the core.
    """

    def __init__(self, app_key: str, app_secret: str, **options: Unpack[ClientOptions]) -> None: ...
    @staticmethod
    def from_env() -> "AsyncClient": ...
    @property
    def config(self) -> ClientConfig:
        """The options in effect: every option, defaults applied, the secret left out."""
    async def pay_url(self, order_ids: Iterable[OrderId]) -> PayUrl: ...
    async def pay_urls(self, order_ids: Iterable[OrderId], batch_size: int = 10) -> list[PayUrl]: ...
    async def prepare_pay(self, order_id: OrderId) -> Payment: ...
    async def request(
        self, method: Method, path: str, params: Optional[Mapping[str, Any]] = None
    ) -> Any: ...
