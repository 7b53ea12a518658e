"""The pytest fixtures of dajisaas (registered through the ``pytest11`` entry point).

``dajisaas_sandbox``: a ``dajisaas.testing.Sandbox`` with fresh state for each test (one server
per test session, reset before each test). ``sandbox.client()`` makes a client for it.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from .testing import Sandbox


@pytest.fixture(scope="session")
def _dajisaas_sandbox_server() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture()
def dajisaas_sandbox(_dajisaas_sandbox_server: Sandbox) -> Sandbox:
    """A sandbox gateway in this process, reset before the test."""
    _dajisaas_sandbox_server.reset()
    return _dajisaas_sandbox_server
