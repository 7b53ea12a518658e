"""The stubs type the options: `mypy --strict` rejects a wrong option type or an unknown option
name (typed_example.py, checked by scripts/test.sh, shows what it accepts)."""

import subprocess
import sys
from pathlib import Path

import pytest

WRONG = """\
import dajisaas

dajisaas.Client("k", "s", timeout="30")
dajisaas.Client("k", "s", timeout_ms=30000)
dajisaas.AsyncClient("k", "s", order_id_format="csv")
dajisaas.AsyncClient("k", "s", max_retries=1.5)
options: dajisaas.ClientOptions = {"backoff_cap": "5s"}
shown: int = dajisaas.Client("k", "s").config["timeout"]
"""


def test_mypy_rejects_wrong_options(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    source = tmp_path / "wrong_options.py"
    source.write_text(WRONG)
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", "/dev/null",
         "--no-error-summary", str(source)],
        capture_output=True, text=True, timeout=300,
    )
    errors = [line for line in checked.stdout.splitlines() if ": error: " in line]
    assert [line.split(":")[1] for line in errors] == ["3", "4", "5", "6", "7", "8"], checked.stdout
    assert 'Argument "timeout" to "Client" has incompatible type "str"; expected "float | timedelta"' in errors[0]
    assert 'Unexpected keyword argument "timeout_ms" for "Client"' in errors[1]
