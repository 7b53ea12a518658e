"""Type stubs of the native module (see __init__.py for the package's documentation)."""

from typing import Any, Iterable, Literal, Mapping, Optional, Tuple, Union

OrderId = Union[str, int]
OrderIdFormat = Literal["json_array", "comma_separated"]
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

    ``timeout`` is the total time of one request in seconds, ``max_retries`` 0 to 3,
    ``backoff`` the (base, cap) of the jittered exponential backoff in seconds.
    ``root_certificates_pem`` adds CA certificates (PEM) to the system's, for networks whose
    proxy inspects TLS; certificates are always checked. The debug option
    ``dangerously_send_app_secret_instead_of_sign`` puts the secret on the wire: never in
    production.
    """

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        base_url: Optional[str] = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        backoff: Tuple[float, float] = (0.2, 5.0),
        order_id_format: OrderIdFormat = "json_array",
        dangerously_send_app_secret_instead_of_sign: bool = False,
        root_certificates_pem: Optional[str] = None,
    ) -> None: ...
    @staticmethod
    def from_env() -> "Client":
        """A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL."""
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
    """The asyncio twin of ``Client``: the same calls, as coroutines."""

    def __init__(
        self,
        app_key: str,
        app_secret: str,
        *,
        base_url: Optional[str] = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        backoff: Tuple[float, float] = (0.2, 5.0),
        order_id_format: OrderIdFormat = "json_array",
        dangerously_send_app_secret_instead_of_sign: bool = False,
        root_certificates_pem: Optional[str] = None,
    ) -> None: ...
    @staticmethod
    def from_env() -> "AsyncClient": ...
    async def pay_url(self, order_ids: Iterable[OrderId]) -> PayUrl: ...
    async def pay_urls(self, order_ids: Iterable[OrderId], batch_size: int = 10) -> list[PayUrl]: ...
    async def prepare_pay(self, order_id: OrderId) -> Payment: ...
    async def request(
        self, method: Method, path: str, params: Optional[Mapping[str, Any]] = None
    ) -> Any: ...
