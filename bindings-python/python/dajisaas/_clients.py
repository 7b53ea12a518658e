"""``Client`` and ``AsyncClient``: thin Python halves over the native clients.

They do, in Python and on the calling thread, what must not run under a Rust frame (see
``_runtime``): emitting the core's log records when a blocking call returns, and making an awaited
call's future on the running loop and finding that loop's bridge.
"""

from __future__ import annotations

from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NoReturn,
    Optional,
    Tuple,
    Type,
)

from . import _dajisaas as _native
from ._errors import InvalidArgumentError
from ._runtime import bridge as _bridge
from ._runtime import emit_logs as _emit_logs
from ._runtime import refresh_levels as _refresh_levels

if TYPE_CHECKING:
    import asyncio

    from typing_extensions import Unpack

    from ._dajisaas import (
        Method,
        OrderId,
        PayManyItem,
        PayManyResult,
        PaymentRecord,
        PayUrl,
        Payment,
    )
    from ._options import ClientConfig, ClientOptions, PaymentState

# asyncio.get_running_loop, imported when the first AsyncClient is made: importing asyncio costs
# more than the rest of the package, and a blocking-only program never needs it.
_get_running_loop: Callable[[], asyncio.AbstractEventLoop]


def _import_asyncio() -> None:
    global _get_running_loop
    from asyncio import get_running_loop

    _get_running_loop = get_running_loop


class _Closed:
    """Stands in for the native client of a closed client: every call is refused, nothing sent."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> NoReturn:
        raise InvalidArgumentError(f"this {self._name} is closed: make a new one to call {method}")

    def __repr__(self) -> str:
        return f"{self._name}(closed)"


class Client:
    """A blocking client, safe to share between threads; the GIL is released during calls.

    ``options`` are the keyword options of ``ClientOptions`` (durations in whole milliseconds:
    ``timeout_ms``, ``connect_timeout_ms``, ``backoff_base_ms``, ``backoff_cap_ms``). An option
    left out takes the core's default; ``config`` shows the values in effect. A wrong type, an
    unknown name or a number out of range raises ``InvalidArgumentError`` naming the option.

    A waiting call wakes every 100 ms to run signal handlers: their exceptions (Ctrl-C's
    ``KeyboardInterrupt``) propagate at once while the call runs to its outcome in the core.

    ``close()`` (or leaving a ``with Client(...) as client:`` block) lets the client's
    connections go; a closed client refuses calls with ``InvalidArgumentError``. Calls already
    under way run to their outcome.
    """

    __slots__ = ("_native", "__weakref__")
    _native: Any

    def __init__(self, app_key: str, app_secret: str, **options: Unpack[ClientOptions]) -> None:
        _refresh_levels()
        self._native = _native.Client(app_key, app_secret, **options)

    @staticmethod
    def from_env() -> Client:
        """A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL."""
        _refresh_levels()
        client = Client.__new__(Client)
        client._native = _native.Client.from_env()
        return client

    @property
    def config(self) -> ClientConfig:
        """The options in effect: every option, defaults applied, the secret left out."""
        config: ClientConfig = self._native.config
        return config

    def pay_url(self, order_ids: Iterable[OrderId]) -> PayUrl:
        """One cashier link for 1 to 30 distinct orders."""
        try:
            return self._native.pay_url(order_ids)
        finally:
            _emit_logs()

    def pay_urls(self, order_ids: Iterable[OrderId], batch_size: int = 10) -> List[PayUrl]:
        """Links for any number of orders, in batches, in input order; repeats dropped."""
        try:
            return self._native.pay_urls(order_ids, batch_size)
        finally:
            _emit_logs()

    def prepare_pay(self, order_id: OrderId) -> Payment:
        """Pays one order without the buyer's password; never sent twice by retries."""
        try:
            return self._native.prepare_pay(order_id)
        finally:
            _emit_logs()

    def pay_many(
        self,
        order_ids: Iterable[OrderId],
        concurrency: Optional[int] = None,
        *,
        on_progress: Optional[Callable[[PayManyItem], object]] = None,
    ) -> PayManyResult:
        """Pays many orders through ``prepare_pay``'s path (journal included), at most
        ``concurrency`` (1 to 64, default 4) at a time, and returns one ``PayManyItem`` per order
        in input order (repeats dropped) with a ``summary`` of the outcomes. Every id is checked
        first: one bad id and nothing is sent. One order's failure never stops the others.

        ``on_progress(item)`` is called on this thread once per order as it finishes. Its
        exception, or Ctrl-C, stops the run: no further order starts, and the payments under way
        run to their recorded outcome in the journal."""
        try:
            return self._native.pay_many(order_ids, concurrency, on_progress)
        finally:
            _emit_logs()

    def payment_record(self, order_id: OrderId) -> Optional[PaymentRecord]:
        """The payment journal's record of an order, or None."""
        try:
            record: Optional[PaymentRecord] = self._native.payment_record(order_id)
            return record
        finally:
            _emit_logs()

    def payment_records(self, state: Optional[PaymentState] = None) -> List[PaymentRecord]:
        """The payment journal's records: all, or those in ``state``."""
        try:
            records: List[PaymentRecord] = self._native.payment_records(state)
            return records
        finally:
            _emit_logs()

    def resolve_payment(self, order_id: OrderId, *, paid: bool, note: str = "") -> PaymentRecord:
        """Records what a person found for an order whose payment's outcome is unknown: ``paid``
        True sets ``paid``, False ``not_paid`` (it can then be paid again)."""
        try:
            record: PaymentRecord = self._native.resolve_payment(order_id, paid=paid, note=note)
            return record
        finally:
            _emit_logs()

    def request(
        self, method: Method, path: str, params: Optional[Mapping[str, Any]] = None
    ) -> Any:
        """Any other gateway endpoint, signed; returns the envelope's ``data``."""
        try:
            return self._native.request(method, path, params)
        finally:
            _emit_logs()

    def close(self) -> None:
        """Lets the client's connections go; later calls are refused. Closing twice is fine."""
        self._native = _Closed("Client")

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._native)


class AsyncClient:
    """The asyncio twin of ``Client``: the same options and calls, awaitable.

    Each call returns an ``asyncio.Future`` of the running loop, settled on the loop's own
    thread. Cancelling it only stops the waiting: the call runs to its outcome in the core.
    ``async with AsyncClient(...) as client:`` closes it at the end (``aclose()``/``close()``).
    """

    __slots__ = ("_native", "__weakref__")
    _native: Any

    def __init__(self, app_key: str, app_secret: str, **options: Unpack[ClientOptions]) -> None:
        _import_asyncio()
        _refresh_levels()
        self._native = _native.AsyncClient(app_key, app_secret, **options)

    @staticmethod
    def from_env() -> AsyncClient:
        """A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL."""
        _import_asyncio()
        _refresh_levels()
        client = AsyncClient.__new__(AsyncClient)
        client._native = _native.AsyncClient.from_env()
        return client

    @property
    def config(self) -> ClientConfig:
        """The options in effect: every option, defaults applied, the secret left out."""
        config: ClientConfig = self._native.config
        return config

    def pay_url(self, order_ids: Iterable[OrderId]) -> asyncio.Future[PayUrl]:
        """One cashier link for 1 to 30 distinct orders."""
        loop = _get_running_loop()
        future: asyncio.Future[PayUrl] = loop.create_future()
        self._native.pay_url(_bridge(loop), future, order_ids)
        return future

    def pay_urls(
        self, order_ids: Iterable[OrderId], batch_size: int = 10
    ) -> asyncio.Future[List[PayUrl]]:
        """Links for any number of orders, in batches, in input order; repeats dropped."""
        loop = _get_running_loop()
        future: asyncio.Future[List[PayUrl]] = loop.create_future()
        self._native.pay_urls(_bridge(loop), future, order_ids, batch_size)
        return future

    def prepare_pay(self, order_id: OrderId) -> asyncio.Future[Payment]:
        """Pays one order without the buyer's password; never sent twice by retries."""
        loop = _get_running_loop()
        future: asyncio.Future[Payment] = loop.create_future()
        self._native.prepare_pay(_bridge(loop), future, order_id)
        return future

    def pay_many(
        self,
        order_ids: Iterable[OrderId],
        concurrency: Optional[int] = None,
        *,
        on_progress: Optional[Callable[[PayManyItem], object]] = None,
    ) -> asyncio.Future[PayManyResult]:
        """See ``Client.pay_many``. ``on_progress(item)`` runs on the loop's thread, every call
        before the future settles. Cancelling the future, or an exception of ``on_progress``
        (which becomes the future's), stops the run: no further order starts, and the payments
        under way run to their recorded outcome in the journal."""
        loop = _get_running_loop()
        future: asyncio.Future[PayManyResult] = loop.create_future()
        # The core hands each finished order over and keeps none; they are kept here, so that a
        # run of many orders holds each result once. `summary` settles once they all came.
        summary: asyncio.Future[Dict[str, int]] = loop.create_future()
        results: List[Any] = []

        def on_item(pair: Tuple[int, PayManyItem]) -> None:
            index, item = pair
            if future.done():
                return
            results.extend([None] * (index + 1 - len(results)))
            results[index] = item
            if on_progress is not None:
                try:
                    on_progress(item)
                except Exception as e:
                    future.set_exception(e)

        def settle(done: asyncio.Future[Dict[str, int]]) -> None:
            if future.done():
                return
            if done.cancelled():
                future.cancel()
                return
            error = done.exception()
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(_native._restore_pay_many_result(results, done.result()))

        handle = self._native.pay_many(
            _bridge(loop), summary, order_ids, concurrency, on_progress, on_item
        )
        summary.add_done_callback(settle)
        future.add_done_callback(lambda _: handle.stop())
        return future

    def payment_record(self, order_id: OrderId) -> asyncio.Future[Optional[PaymentRecord]]:
        """See ``Client.payment_record``."""
        loop = _get_running_loop()
        future: asyncio.Future[Optional[PaymentRecord]] = loop.create_future()
        self._native.payment_record(_bridge(loop), future, order_id)
        return future

    def payment_records(
        self, state: Optional[PaymentState] = None
    ) -> asyncio.Future[List[PaymentRecord]]:
        """See ``Client.payment_records``."""
        loop = _get_running_loop()
        future: asyncio.Future[List[PaymentRecord]] = loop.create_future()
        self._native.payment_records(_bridge(loop), future, state)
        return future

    def resolve_payment(
        self, order_id: OrderId, *, paid: bool, note: str = ""
    ) -> asyncio.Future[PaymentRecord]:
        """See ``Client.resolve_payment``."""
        loop = _get_running_loop()
        future: asyncio.Future[PaymentRecord] = loop.create_future()
        self._native.resolve_payment(_bridge(loop), future, order_id, paid=paid, note=note)
        return future

    def request(
        self, method: Method, path: str, params: Optional[Mapping[str, Any]] = None
    ) -> asyncio.Future[Any]:
        """Any other gateway endpoint, signed; returns the envelope's ``data``."""
        loop = _get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._native.request(_bridge(loop), future, method, path, params)
        return future

    def close(self) -> None:
        """Lets the client's connections go; later calls are refused. Calls already under way
        run to their outcome. Closing twice is fine."""
        self._native = _Closed("AsyncClient")

    async def aclose(self) -> None:
        """``close()``, awaitable (what ``async with`` calls)."""
        self.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._native)
