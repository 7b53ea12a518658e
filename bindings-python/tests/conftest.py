"""Fixtures: `daji sandbox` processes on 127.0.0.1 and clients pointed at them.

The whole run uses one distinctive secret; every log record of the "dajisaas" logger is kept
and checked for it when the session ends.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import dajisaas

REPO = Path(__file__).resolve().parents[2]
DAJI = Path(os.environ.get("DAJI_BIN", REPO / "target" / "debug" / "daji"))
APP_KEY = "py-test-key"
SECRET = "py-SECRET-d41c9a77"


class Sandbox:
    """A `daji sandbox` process; its first stdout line is its address."""

    def __init__(
        self,
        *extra: str,
        secret: str = SECRET,
        slow_ms: int = 1500,
        hang_ms: int = 3000,
        latency_ms: int = 0,
    ) -> None:
        if not DAJI.exists():
            raise RuntimeError(f"{DAJI} is missing: build it with `cargo build -p daji` first")
        self.secret = secret
        self.process = subprocess.Popen(
            [str(DAJI), "sandbox", "--port", "0", "--app-key", APP_KEY, "--app-secret", secret,
             "--slow-ms", str(slow_ms), "--hang-ms", str(hang_ms), "--latency-ms", str(latency_ms),
             *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        self.url = first.removeprefix("dajisaas sandbox listening on ")
        assert self.url.startswith(("http://127.0.0.1:", "https://127.0.0.1:")), first

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read().decode()
        return json.loads(body) if path != "/_sandbox/reset" else None

    def stats(self) -> Any:
        return self._call("GET", "/_sandbox/stats")

    def requests(self) -> Any:
        return self._call("GET", "/_sandbox/requests")

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset")

    def deductions(self, order_id: str) -> int:
        return int(self.stats()["deductions"].get(order_id, 0))

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


# The test hooks (`_panic_for_tests`, ...) exist only in builds with the `test-hooks` feature:
# scripts/test.sh builds with it; the release artifacts, tested by check-artifacts.sh with
# DAJISAAS_TEST_HOOKS=absent, must not have them.
HOOKS_EXPECTED = os.environ.get("DAJISAAS_TEST_HOOKS", "present") == "present"


def native_hook(name: str) -> Any:
    """A test hook of the native module, or a skip in a release artifact, which has none."""
    from dajisaas import _dajisaas

    if not HOOKS_EXPECTED:
        pytest.skip("a release artifact has no test hooks")
    return getattr(_dajisaas, name)


class KeepRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


LOG = KeepRecords()


@pytest.fixture(scope="session", autouse=True)
def secret_never_logged() -> Iterator[None]:
    logger = logging.getLogger("dajisaas")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LOG)
    yield
    logger.removeHandler(LOG)
    assert LOG.records, "the run should have logged requests"
    leaked = [r.getMessage() for r in LOG.records if SECRET in r.getMessage()]
    assert not leaked, leaked


@pytest.fixture(autouse=True)
def journal_per_test(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Every client a test makes without a ``journal`` gets that test's own memory journal: the
    default one is shared by the whole process, and tests pay the same order ids again."""
    from dajisaas import _clients

    name = "memory:" + "".join(c if c.isalnum() else "_" for c in request.node.nodeid)
    real = _clients._native.Client

    def make(*args: Any, **options: Any) -> Any:
        options.setdefault("journal", name)
        return real(*args, **options)

    make.from_env = real.from_env  # type: ignore[attr-defined]
    monkeypatch.setattr(_clients._native, "Client", make)


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[Sandbox]:
    sb = Sandbox()
    yield sb
    stats = sb.stats()
    sb.stop()
    assert stats["requestsWithSecret"] == 0, "a signed request carried the secret"


@pytest.fixture()
def sandbox(sandbox_process: Sandbox) -> Sandbox:
    sandbox_process.reset()
    return sandbox_process


@pytest.fixture(scope="session")
def slow_sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(latency_ms=100)
    yield sb
    sb.stop()


def make_client(sb: Sandbox, **options: Any) -> dajisaas.Client:
    options.setdefault("timeout", 0.7)
    options.setdefault("backoff_base", 0.001)
    options.setdefault("backoff_cap", 0.005)
    return dajisaas.Client(APP_KEY, sb.secret, base_url=sb.url, **options)


@pytest.fixture()
def client(sandbox: Sandbox) -> dajisaas.Client:
    return make_client(sandbox)
