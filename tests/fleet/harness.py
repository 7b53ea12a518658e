"""What the fleet tests (chaos.py, pace.py) share: the tools frozen for a run, the sandbox
gateway, PostgreSQL servers and databases, the workers' environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
APP_KEY = "fleet-app-key"
SECRET = "fleet-SECRET-7c3e91d2"


def import_dajisaas():  # type: ignore[no-untyped-def]
    # Someone may be reinstalling the extension while this runs: retry a failed import.
    for attempt in range(10):
        try:
            import dajisaas

            return dajisaas
        except ImportError:
            if attempt == 9:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def verdict(label: str, failures: List[str], tmp: Path, keep: bool, figures: str) -> int:
    """Prints FAIL and the failed checks, keeping the scratch directory `tmp`, and returns 1;
    or PASS, removing `tmp` unless `keep`, and returns 0."""
    if failures:
        print(f"FAIL: {label}", file=sys.stderr, flush=True)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        print(f"  (workers' logs kept in {tmp})", file=sys.stderr)
        return 1
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"PASS: {label}: {figures}", flush=True)
    return 0


def worker_env() -> Dict[str, str]:
    """The environment of a worker: this one's, with the fleet's credentials and no other
    DAJISAAS_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAJISAAS_")}
    env.update(DAJISAAS_APP_KEY=APP_KEY, DAJISAAS_APP_SECRET=SECRET)
    return env


# ---------------------------------------------------------------------------------------------
# The tools, frozen for the run: other people may rebuild them while it runs.


def freeze_tools(tmp: Path, with_node: bool) -> Tuple[Path, Optional[Path]]:
    daji = Path(os.environ.get("DAJI_BIN", REPO / "target" / "debug" / "daji"))
    if not daji.exists():
        sys.exit(f"fleet: {daji} is missing: build it with `cargo build -p daji` first")
    frozen = tmp / "daji"
    try:
        os.link(daji, frozen)
    except OSError:
        shutil.copy2(daji, frozen)
    node_dir = None
    if with_node:
        if shutil.which("node") is None:
            sys.exit("fleet: node is not installed (or run with --node 0)")
        source = Path(os.environ.get("DAJISAAS_NODE_PACKAGE", REPO / "bindings-node"))
        addons = list(source.glob("*.node"))
        if not addons:
            sys.exit(f"fleet: no Node addon in {source}: build it (npm run build) or run with --node 0")
        node_dir = tmp / "node-binding"
        node_dir.mkdir()
        for f in [source / "index.js", source / "package.json", *addons]:
            shutil.copy2(f, node_dir / f.name)
    return frozen, node_dir


# ---------------------------------------------------------------------------------------------
# PostgreSQL


class OwnPostgres:
    """A throwaway cluster of scripts/postgres.sh, removed once this process has exited: this
    run's own, so that it may restart it."""

    def __init__(self) -> None:
        print("fleet: starting a throwaway PostgreSQL cluster (scripts/postgres.sh)", flush=True)
        out = subprocess.run(
            ["bash", str(REPO / "scripts" / "postgres.sh"), "start", "--until-exit", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, check=False,
        )
        found = dict(re.findall(r"^export (\w+)=(.*)$", out.stdout, re.M))
        if out.returncode != 0 or "DAJISAAS_TEST_POSTGRES_URL" not in found:
            sys.exit(f"fleet: scripts/postgres.sh start failed ({out.returncode}): {out.stdout}")
        self.url: str = found["DAJISAAS_TEST_POSTGRES_URL"]
        self.ca: Optional[str] = found.get("DAJISAAS_TEST_POSTGRES_CA")
        self.dir: str = found["DAJISAAS_TEST_POSTGRES_DIR"]

    def restart(self, down_s: float) -> None:
        """An immediate shutdown (as a crash), `down_s` seconds down, then started again."""
        subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "restart", self.dir,
                        "--down", str(down_s)], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL)


def postgres_server(own: Callable[[], OwnPostgres] = OwnPostgres) -> Tuple[str, Optional[str]]:
    """DAJISAAS_TEST_POSTGRES_URL (and DAJISAAS_TEST_POSTGRES_CA) when set, else a cluster of
    our own (`own()`)."""
    url = os.environ.get("DAJISAAS_TEST_POSTGRES_URL")
    if url:
        return url, os.environ.get("DAJISAAS_TEST_POSTGRES_CA")
    cluster = own()
    return cluster.url, cluster.ca


def with_database(url: str, db: str) -> str:
    base, _, query = url.partition("?")
    scheme_end = base.find("://") + 3
    slash = base.find("/", scheme_end)
    server = base if slash < 0 else base[:slash]
    return f"{server}/{db}" + (f"?{query}" if query else "")


def psql(url: str, sql: str) -> None:
    if shutil.which("psql") is None:
        sys.exit("fleet: psql is missing (it comes with PostgreSQL's client package)")
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def fresh_postgres_journal(admin_url: str, ca: Optional[str], name: str) -> Tuple[str, str]:
    """A new database `dajisaas_NAME_PID_TIME` and the journal URL to it; (url, database)."""
    db = f"dajisaas_{name}_{os.getpid()}_{int(time.time())}"
    psql(admin_url, f"CREATE DATABASE {db}")
    url = with_database(admin_url, db)
    if ca and "sslmode=" not in url:
        url += ("&" if "?" in url else "?") + f"sslmode=verify-full&sslrootcert={ca}"
    return url, db


def drop_database(admin_url: str, db: str) -> None:
    try:
        psql(admin_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    except (subprocess.CalledProcessError, OSError):
        pass


def redacted(url: str) -> str:
    return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", url)


# ---------------------------------------------------------------------------------------------
# The sandbox


class Sandbox:
    """`daji sandbox` on a free port of 127.0.0.1 for the fleet's app, with `options` (its
    command-line flags)."""

    def __init__(self, daji: Path, log_path: Path, options: List[str]) -> None:
        self.process = subprocess.Popen(
            [str(daji), "sandbox", "--port", "0", "--app-key", APP_KEY, "--app-secret", SECRET, *options],
            stdout=subprocess.PIPE, stderr=open(log_path, "w"), stdin=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        self.url = first.removeprefix("dajisaas sandbox listening on ")
        if not self.url.startswith("http://127.0.0.1:"):
            self.process.kill()
            sys.exit(f"fleet: unexpected sandbox output: {first!r}")

    def stats(self) -> Dict[str, Any]:
        with urllib.request.urlopen(self.url + "/_sandbox/stats", timeout=10) as response:
            return json.loads(response.read().decode())

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
