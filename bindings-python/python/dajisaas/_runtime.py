"""The Python side of the threads design (see the native module's docs, src/lib.rs).

The core's threads never touch Python. What they produce is picked up here, by Python code on
Python threads, with no Rust frame under it:

- ``emit_logs``: the core's queued log records, emitted through ``logging`` by the thread that
  finished a blocking call, by an event loop when it drains, and by the ``atexit`` hook.
- ``bridge``/``drain``: each event loop gets a native ``LoopBridge``, whose socket the loop
  watches; when the core finishes calls it writes a byte there, and ``drain``, on the loop's
  thread, takes the results (built natively, without bytecode) and sets the futures, skipping
  the cancelled ones.
- ``_at_exit``: writes the payment outcomes the journal could not take yet (bounded by the
  journal deadline), stops every delivery to Python before the interpreter finalizes, then emits
  the last records.
"""

from __future__ import annotations

import atexit
import logging
import weakref
from typing import TYPE_CHECKING, Any, Optional, Type, TypeVar

from . import _dajisaas as _native

if TYPE_CHECKING:
    import asyncio
    from types import TracebackType

_Closable = TypeVar("_Closable", bound="Closing")

_bridges: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]" = weakref.WeakKeyDictionary()


def refresh_levels() -> None:
    """Hands the effective levels of the "dajisaas" and root loggers to the core."""
    _native._set_log_levels(
        logging.getLogger("dajisaas").getEffectiveLevel(), logging.getLogger().getEffectiveLevel()
    )


def emit_logs() -> None:
    """Emits the core's queued log records on this thread."""
    taken = _native._take_log_records()
    if taken is None:
        return
    dropped, records = taken
    for name, level, path, line, message, created, fields in records:
        logger = logging.getLogger(name)
        if not logger.isEnabledFor(level):
            continue
        record = logger.makeRecord(name, level, path, line, message, (), None)
        # The core's key-values (order_id, attempt, trace_id, ...) as attributes, as
        # ``extra=`` would set them, minus its KeyError: a name logging uses keeps its value.
        for key, value in fields:
            record.__dict__.setdefault(key, value)
        # When the core logged it, not when a Python thread got to emit it.
        record.created = created
        record.msecs = (created - int(created)) * 1000
        record.relativeCreated = (created - logging._startTime) * 1000  # type: ignore[attr-defined]
        logger.handle(record)
    if dropped:
        logging.getLogger("dajisaas").warning(
            "%d log record(s) of the core were dropped: too many waited for a Python thread",
            dropped,
        )


def bridge(loop: asyncio.AbstractEventLoop) -> Any:
    """The native bridge of ``loop``, made and watched by the loop on its first call."""
    found = _bridges.get(loop)
    if found is None:
        found = _native.LoopBridge()
        loop.add_reader(found.fileno(), drain, found)
        _bridges[loop] = found
    return found


def drain(bridge: Any) -> None:
    """The loop's reader callback (and a greenlet's, once its socket is readable): hands on the items the calls reported and settles the
    futures of the calls that finished, in the order the core handed them over."""
    error: Optional[BaseException] = None
    for target, kind, value in bridge.take():
        try:
            if kind == "item":
                target(value)
            elif target.done():  # cancelled: the caller stopped waiting
                continue
            elif kind == "result":
                target.set_result(value)
            else:
                target.set_exception(value)
        except BaseException as e:  # a signal handler's exception: set the others first
            if error is None:
                error = e
    emit_logs()
    if error is not None:
        raise error


class Closing:
    """``with thing:`` closes it at the end (the clients, the testing sandbox)."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Closable) -> _Closable:
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()


_exited = False


def exited() -> bool:
    """True once the ``atexit`` hook ran: no call can be made any more."""
    return _exited


def _at_exit() -> None:
    global _exited
    # Before delivery stops, so that a warning about what stays unwritten is still emitted.
    _native._flush_journals()
    _exited = True
    _native._stop_delivery()
    emit_logs()


refresh_levels()
atexit.register(_at_exit)
