"""A sandbox gateway for your own test suite: the ``daji sandbox`` server, run inside this
process (on threads of the extension module, no subprocess, no Rust toolchain), never the real
gateway and never real money.

    from dajisaas.testing import Sandbox

    with Sandbox() as sandbox:
        client = sandbox.client()                 # a Client for this sandbox
        client.prepare_pay("2257455039610311973")
        assert sandbox.stats()["deductions"]["2257455039610311973"] == 1

With pytest, the ``dajisaas_sandbox`` fixture (registered by this package) gives each test a
sandbox with fresh state. Order ids choose the sandbox's behaviour (``9000…`` declined, ``9003…``
outcome unknown, ``9007…`` slow, …): see the README's sandbox table. A sandbox does not survive
``fork()``: start it in the process that uses it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import _dajisaas as _native
from ._clients import AsyncClient, Client
from ._runtime import Closing

APP_KEY = "sandbox-app-key"
APP_SECRET = "sandbox-app-secret"


class Sandbox(Closing):
    """A sandbox gateway on 127.0.0.1 (a free port unless ``port`` is given), started at once.

    ``latency_ms`` is added to every answer; ``slow_ms`` is how long ``9007…`` orders take and
    ``hang_ms`` how long ``9002…`` orders hold their answer back; ``qps`` enforces the gateway's
    call-frequency limit per app key; ``chaos_seed`` turns on seeded random faults for orders
    without a pattern of their own.
    """

    def __init__(
        self,
        *,
        app_key: str = APP_KEY,
        app_secret: str = APP_SECRET,
        port: int = 0,
        latency_ms: int = 0,
        slow_ms: int = 3_000,
        hang_ms: int = 30_000,
        qps: Optional[int] = None,
        chaos_seed: Optional[int] = None,
    ) -> None:
        self.app_key = app_key
        self._secret = app_secret
        self._native = _native.NativeSandbox(
            app_key, app_secret, port, latency_ms, slow_ms, hang_ms, qps, chaos_seed
        )

    @property
    def url(self) -> str:
        """The base URL to give a client (``base_url=``)."""
        url: str = self._native.url
        return url

    def client(self, **options: Any) -> Client:
        """A blocking ``Client`` for this sandbox (``options`` as for ``Client``)."""
        return Client(self.app_key, self._secret, base_url=self.url, **options)

    def async_client(self, **options: Any) -> AsyncClient:
        """An ``AsyncClient`` for this sandbox."""
        return AsyncClient(self.app_key, self._secret, base_url=self.url, **options)

    def stats(self) -> Dict[str, Any]:
        """The counters: ``requests``, ``payCalls`` and ``deductions`` per order,
        ``payCallsAfterPaid``, ``peakInFlight``, ``rateLimited``, ..."""
        stats: Dict[str, Any] = self._native.stats()
        return stats

    def requests(self) -> List[Dict[str, Any]]:
        """The requests received, oldest first (the most recent ones, up to a limit)."""
        requests: List[Dict[str, Any]] = self._native.requests()
        return requests

    def reset(self) -> None:
        """Forgets every payment, link and counter."""
        self._native.reset()

    def close(self) -> None:
        """Stops serving. Closing twice is fine."""
        self._native.close()

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r}, app_key={self.app_key!r})"
