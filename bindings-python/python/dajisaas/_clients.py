"""``Client`` and ``AsyncClient``: two faces of one native client.

Each call is declared once natively (``src/client.rs``); a native method called with no
``face`` waits on the calling thread, and called with ``face=(bridge, future)`` starts the call
and hands its outcome to ``future`` on the bridge's host. Here, each public method is one line
naming its native call; the faces are:

- ``Client`` in an ordinary program: the native wait (GIL released, signal handlers every 100 ms).
- ``Client`` in a program whose ``threading`` gevent or eventlet has monkey-patched (checked at
  each call, since a program may patch after importing dajisaas): the call gets a bridge of its
  own and the greenlet waits on its socket through the hub, so other greenlets run meanwhile;
  ``gevent.Timeout``, ``Greenlet.kill`` and Ctrl-C end the wait at once.
- ``AsyncClient``: coroutine functions; the call starts when the coroutine runs (awaited or
  scheduled), with the running loop's bridge.

When a wait ends early the call's handle is stopped: its core future is dropped, so a payment
whose request has not been written is not sent, and one that may have been runs to its recorded
outcome. Python code that may give up the GIL (log handlers, setting futures) runs here, never
under a Rust frame (see ``_runtime``).
"""

from __future__ import annotations

import sys
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
    TypeVar,
)

from . import _dajisaas as _native
from ._errors import InvalidArgumentError
from ._runtime import Closing
from ._runtime import bridge as _bridge
from ._runtime import drain as _drain
from ._runtime import emit_logs as _emit_logs
from ._runtime import exited as _exited
from ._runtime import refresh_levels as _refresh_levels

if TYPE_CHECKING:
    import asyncio

    from typing_extensions import Self, Unpack

    from ._dajisaas import (
        Method,
        OrderId,
        PayManyItem,
        PayManyResult,
        PaymentRecord,
        PayUrl,
        Payment,
    )
    from ._options import ClientConfig, ClientOptions, PaymentState, Seconds

T = TypeVar("T")


class _Closed:
    """Stands in for the native client of a closed client: every call is refused, nothing sent."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> NoReturn:
        raise InvalidArgumentError(f"this {self._name} is closed: make a new one to call {method}")

    def __repr__(self) -> str:
        return f"{self._name}(closed)"


class _Box:
    """The future of a call waited for by a greenlet: what ``_runtime.drain`` settles."""

    __slots__ = ("value", "error", "finished")

    def __init__(self) -> None:
        self.finished = False
        self.value: Any = None
        self.error: Optional[BaseException] = None

    def done(self) -> bool:
        return self.finished

    def set_result(self, value: Any) -> None:
        self.value, self.finished = value, True

    def set_exception(self, error: BaseException) -> None:
        self.error, self.finished = error, True

    def result(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _green_wait() -> Optional[Callable[[int], object]]:
    """The hub's wait for a readable file descriptor when gevent or eventlet has patched
    ``threading`` (checked now: a program may patch after importing dajisaas), else None."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("threading"):
        from gevent.socket import wait_read

        return wait_read
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("thread"):
        from eventlet.hubs import trampoline

        return lambda fd: trampoline(fd, read=True)
    return None


def _guard(kw: Dict[str, Any], future: Any) -> None:
    """An ``on_item`` of a call run in a face: its exception fails the call (and so stops it)
    instead of escaping into the host's loop."""
    on_item = kw.get("on_item")
    if on_item is None:
        return

    def guarded(item: Any) -> None:
        if future.done():
            return
        try:
            on_item(item)
        except Exception as e:
            future.set_exception(e)

    kw["on_item"] = guarded


def _in_trio() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_trio_token()
        return True
    except RuntimeError:
        return False


def _running_loop() -> asyncio.AbstractEventLoop:
    from asyncio import get_running_loop

    try:
        return get_running_loop()
    except RuntimeError:
        hint = "await AsyncClient calls in a coroutine run by asyncio (asyncio.run, uvloop, anyio)"
        if _in_trio():
            hint = (
                "AsyncClient needs an asyncio event loop, and trio's is not one: under trio, run "
                "the blocking Client in a thread (trio.to_thread.run_sync(client.prepare_pay, "
                "order_id), or anyio.to_thread.run_sync)"
            )
        raise RuntimeError(f"no running asyncio event loop: {hint}") from None


class _PayMany:
    """What a ``pay_many`` run keeps: the items in input order (the core keeps none, so that a
    run of many orders holds each result once), handed to ``on_progress`` as they come."""

    __slots__ = ("items", "on_progress")

    def __init__(self, on_progress: Optional[Callable[[PayManyItem], object]]) -> None:
        if on_progress is not None and not callable(on_progress):
            raise InvalidArgumentError(
                "on_progress must be callable, such as a function of one PayManyItem"
            )
        self.items: List[Any] = []
        self.on_progress = on_progress

    def item(self, pair: Tuple[int, PayManyItem]) -> None:
        index, item = pair
        self.items.extend([None] * (index + 1 - len(self.items)))
        self.items[index] = item
        if self.on_progress is not None:
            self.on_progress(item)

    def result(self, summary: Dict[str, int]) -> PayManyResult:
        return _native._restore_pay_many_result(self.items, summary)


class _Face(Closing):
    """What both clients share: construction, ``config``, closing, ``repr``, and no pickling."""

    __slots__ = ("_native", "__weakref__")
    _native: Any

    def __init__(self, app_key: str, app_secret: str, **options: Unpack[ClientOptions]) -> None:
        _refresh_levels()
        self._native = _native.Client(app_key, app_secret, **options)

    @classmethod
    def from_env(cls) -> Self:
        """A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL."""
        _refresh_levels()
        client = cls.__new__(cls)
        client._native = _native.Client.from_env()
        return client

    @property
    def config(self) -> ClientConfig:
        """The options in effect: every option, defaults applied, the secret left out, durations
        in seconds."""
        config: ClientConfig = self._native.config
        return config

    def close(self) -> None:
        """Writes the payment outcomes this process keeps for the client's journal (see
        ``flush_journal``; at most ``journal_timeout``), then lets the client's connections go;
        later calls are refused. Calls already under way run to their outcome. Closing twice is
        fine."""
        if isinstance(self._native, _Closed):
            return
        try:
            # After the atexit hook (which wrote them all) no call can be made.
            if not _exited():
                self._flush_on_close()
        finally:
            self._closed()

    def _closed(self) -> None:
        self._native = _Closed(type(self).__name__)

    def _flush_on_close(self) -> None:
        raise NotImplementedError

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            f"a dajisaas {type(self).__name__} cannot be pickled: it holds connections and "
            "threads. Pass the order ids (and option values) instead and make the client where "
            "it is used, e.g. once per Celery worker process"
        )

    def __repr__(self) -> str:
        return repr(self._native).replace("Client(", f"{type(self).__name__}(", 1)


class Client(_Face):
    """A blocking client, safe to share between threads; the GIL is released during calls.

    ``options`` are the keyword options of ``ClientOptions`` (durations in seconds, as a float
    or a ``datetime.timedelta``: ``timeout``, ``connect_timeout``, ``backoff_base``,
    ``backoff_cap``). An option left out takes the core's default; ``config`` shows the values in
    effect. A wrong type, an unknown name or a number out of range raises
    ``InvalidArgumentError`` naming the option.

    A waiting call wakes every 100 ms to run signal handlers: their exceptions (Ctrl-C's
    ``KeyboardInterrupt``) propagate at once. Under gevent or eventlet (``threading``
    monkey-patched) a call yields to the hub while it waits, so greenlets overlap;
    ``gevent.Timeout`` and Ctrl-C end the wait at once. A payment whose request may have been
    written runs to its recorded outcome in the core whatever ends the wait; one not yet written
    is not sent.

    ``close()`` (or leaving a ``with Client(...) as client:`` block) lets the client's
    connections go; a closed client refuses calls with ``InvalidArgumentError``.
    """

    __slots__ = ()

    def _call(self, method: str, *args: Any, **kw: Any) -> Any:
        _refresh_levels()
        native = getattr(self._native, method)
        wait = _green_wait()
        if wait is None:
            try:
                return native(*args, **kw)
            finally:
                _emit_logs()
        bridge, box = _native.LoopBridge(), _Box()
        _guard(kw, box)
        handle = native(*args, face=(bridge, box), **kw)
        try:
            while not box.done():
                wait(bridge.fileno())
                _drain(bridge)
        finally:
            handle.stop()
            _emit_logs()
        return box.result()

    def pay_url(self, order_ids: Iterable[OrderId]) -> PayUrl:
        """One cashier link for 1 to 30 distinct orders."""
        return self._call("pay_url", order_ids)

    def pay_urls(self, order_ids: Iterable[OrderId], batch_size: int = 10) -> List[PayUrl]:
        """Links for any number of orders, in batches, in input order; repeats dropped."""
        return self._call("pay_urls", order_ids, batch_size)

    def prepare_pay(self, order_id: OrderId) -> Payment:
        """Pays one order without the buyer's password; never sent twice by retries."""
        return self._call("prepare_pay", order_id)

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
        run = _PayMany(on_progress)
        return run.result(self._call("pay_many", order_ids, concurrency, on_item=run.item))

    def payment_record(self, order_id: OrderId) -> Optional[PaymentRecord]:
        """The payment journal's record of an order, or None."""
        return self._call("payment_record", order_id)

    def payment_records(self, state: Optional[PaymentState] = None) -> List[PaymentRecord]:
        """The payment journal's records: all, or those in ``state``."""
        return self._call("payment_records", state)

    def resolve_payment(self, order_id: OrderId, *, paid: bool, note: str = "") -> PaymentRecord:
        """Records what a person found for an order whose payment's outcome is unknown: ``paid``
        True sets ``paid``, False ``not_paid`` (it can then be paid again)."""
        return self._call("resolve_payment", order_id, paid=paid, note=note)

    def request(
        self, method: Method, path: str, params: Optional[Mapping[str, Any]] = None
    ) -> Any:
        """Any other gateway endpoint, signed; returns the envelope's ``data``."""
        return self._call("request", method, path, params)

    def flush_journal(self, timeout: Optional[Seconds] = None) -> int:
        """Writes the payment outcomes this process keeps because the journal could not take them
        when their payments ended (a restart, a cut connection, a lock held too long), waiting at
        most ``timeout`` (0.1 to 60 seconds; default ``journal_timeout``). Returns how many are
        still kept, and logs a warning naming their orders: they are tried again while the
        process runs, but one that exits loses them, and those orders turn ``unknown`` once their
        claims expire. ``close()`` and the interpreter's exit do this too."""
        count: int = self._call("flush_journal", timeout)
        return count

    def _flush_on_close(self) -> None:
        self._call("flush_journal")


class AsyncClient(_Face):
    """The asyncio twin of ``Client``: the same options and calls, as coroutine functions.

    Nothing is checked, claimed or sent until the coroutine runs (awaited, or scheduled with
    ``asyncio.create_task``, a ``TaskGroup``, ``gather``, ``wait_for`` or anyio's
    ``start_soon``); a coroutine never awaited sends nothing. The outcome is handed over on the
    loop's own thread. Cancelling only stops the waiting: a payment whose request may have been
    written runs to its recorded outcome in the core, one not yet written is not sent.
    ``async with AsyncClient(...) as client:`` closes it at the end (``aclose()``/``close()``).
    Under trio, run the blocking ``Client`` with ``trio.to_thread.run_sync``.
    """

    __slots__ = ()

    async def _call(self, method: str, *args: Any, **kw: Any) -> Any:
        _refresh_levels()
        native = getattr(self._native, method)
        loop = _running_loop()
        future = loop.create_future()
        _guard(kw, future)
        handle = native(*args, face=(_bridge(loop), future), **kw)
        try:
            return await future
        finally:
            handle.stop()

    async def pay_url(self, order_ids: Iterable[OrderId]) -> PayUrl:
        """One cashier link for 1 to 30 distinct orders."""
        return await self._call("pay_url", order_ids)

    async def pay_urls(self, order_ids: Iterable[OrderId], batch_size: int = 10) -> List[PayUrl]:
        """Links for any number of orders, in batches, in input order; repeats dropped."""
        return await self._call("pay_urls", order_ids, batch_size)

    async def prepare_pay(self, order_id: OrderId) -> Payment:
        """Pays one order without the buyer's password; never sent twice by retries."""
        return await self._call("prepare_pay", order_id)

    async def pay_many(
        self,
        order_ids: Iterable[OrderId],
        concurrency: Optional[int] = None,
        *,
        on_progress: Optional[Callable[[PayManyItem], object]] = None,
    ) -> PayManyResult:
        """See ``Client.pay_many``. ``on_progress(item)`` runs on the loop's thread, every call
        before the coroutine returns. Cancelling, or an exception of ``on_progress`` (which the
        coroutine raises), stops the run: no further order starts, and the payments under way
        run to their recorded outcome in the journal."""
        run = _PayMany(on_progress)
        return run.result(await self._call("pay_many", order_ids, concurrency, on_item=run.item))

    async def payment_record(self, order_id: OrderId) -> Optional[PaymentRecord]:
        """See ``Client.payment_record``."""
        return await self._call("payment_record", order_id)

    async def payment_records(self, state: Optional[PaymentState] = None) -> List[PaymentRecord]:
        """See ``Client.payment_records``."""
        return await self._call("payment_records", state)

    async def resolve_payment(
        self, order_id: OrderId, *, paid: bool, note: str = ""
    ) -> PaymentRecord:
        """See ``Client.resolve_payment``."""
        return await self._call("resolve_payment", order_id, paid=paid, note=note)

    async def request(
        self, method: Method, path: str, params: Optional[Mapping[str, Any]] = None
    ) -> Any:
        """Any other gateway endpoint, signed; returns the envelope's ``data``."""
        return await self._call("request", method, path, params)

    async def flush_journal(self, timeout: Optional[Seconds] = None) -> int:
        """See ``Client.flush_journal``; ``aclose()`` does it too."""
        count: int = await self._call("flush_journal", timeout)
        return count

    def _flush_on_close(self) -> None:
        # A plain close() blocks the loop's thread for as long (only when outcomes are kept).
        _refresh_levels()
        try:
            self._native.flush_journal()
        finally:
            _emit_logs()

    async def aclose(self) -> None:
        """``close()``, awaitable (what ``async with`` calls): the loop runs while the outcomes
        kept for the journal are written."""
        if isinstance(self._native, _Closed):
            return
        try:
            if not _exited():
                await self._call("flush_journal")
        finally:
            self._closed()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
