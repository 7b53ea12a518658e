"""The payment journal under the faults a fleet meets (issue 20): real `daji pay` processes, a
`daji sandbox` gateway, SQLite files and a PostgreSQL server with its durable defaults behind a
TCP proxy of this script's own, real signals and a shifted clock.

    python3 tests/faults/journal_faults.py [--parts pause,freeze,cut,commit,clock] [--keep]

Parts, each with the check that fails when its fix is reverted:

- pause (SQLite and PostgreSQL): worker A claims 8 orders and sends one a second; it is
  SIGSTOPped past its lease; worker B finds the orders `unknown`; an operator checks the
  sandbox's ledger and resolves them; worker C pays those not paid; A is resumed. A must send
  nothing more: the ledger shows no call into a paid order and no order deducted twice (the
  fence before each request).
- freeze (PostgreSQL): the proxy holds every connection open and forwards nothing for 40 s
  while orders are paid one process at a time: each order's answer comes within its bound
  (3 journal deadlines + every attempt's timeout + 2 s), never after the freeze (deadlines on
  every journal step, the connect included); nothing is sent twice.
- cut (PostgreSQL): the proxy cuts every connection every 0.7 s while 40 orders are paid, and
  the server is restarted (immediate shutdown) halfway: once the run is over, every order the
  sandbox deducted is `paid` in the journal, none `unknown` or `in_flight` (outcomes kept and
  written again until they land).
- commit (PostgreSQL): the proxy forwards the claim (the first message that names the order: one
  statement, its own transaction) and drops the server's reply: the claim is committed, its
  reply lost. The order is released (no record), never `unknown`, nothing was sent, and a second
  run pays it once (a lost commit reply is looked up by the claim id). Then the same for a
  declined order paid again, whose claim is a swap over its record (the second message that
  names it): released back to `declined`, nothing sent.
- clock (SQLite): while worker A pays 8 orders, one a second, worker B runs with its clock 10
  minutes ahead (libfaketime) and takes A's live claims for dead (`unknown`); an operator
  resolves them from the ledger and worker C pays them while A is still at work: no order gets a
  second request (the fence refuses a claim that another process took over).

Prints one line per part, PASS or FAIL; exits 1 if any part failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[2]
APP_KEY = "faults-app-key"
SECRET = "faults-SECRET-4b8d20e6"
# Short deadlines, so that the parts are quick: lease = timeout + connect + journal + 5 s = 8 s.
CLIENT = ["--timeout-ms", "1000", "--connect-timeout-ms", "1000", "--journal-timeout-ms", "1000",
          "--max-retries", "1", "--backoff-base-ms", "10", "--backoff-cap-ms", "20"]
LEASE_S = 8.0


def log(message: str) -> None:
    print(f"faults: {message}", flush=True)


class Failed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Failed(what)


# ---------------------------------------------------------------------------------------------
# The gateway and the workers


class Sandbox:
    def __init__(self, daji: Path, log_path: Path, latency_ms: int = 0) -> None:
        self.process = subprocess.Popen(
            [str(daji), "sandbox", "--port", "0", "--app-key", APP_KEY, "--app-secret", SECRET,
             "--latency-ms", str(latency_ms)],
            stdout=subprocess.PIPE, stderr=open(log_path, "w"), stdin=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline().strip()
        self.url = first.removeprefix("dajisaas sandbox listening on ")
        if not self.url.startswith("http://127.0.0.1:"):
            self.process.kill()
            raise Failed(f"unexpected sandbox output: {first!r}")

    def stats(self) -> Dict:
        with urllib.request.urlopen(self.url + "/_sandbox/stats", timeout=10) as response:
            return json.loads(response.read().decode())

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


class Worker:
    """A `daji pay --jsonl` process; its lines are read with the time each arrived."""

    def __init__(self, daji: Path, sandbox: Sandbox, journal: str, ids: List[str], extra: List[str],
                 log_path: Path, prefix: Optional[List[str]] = None, env: Optional[Dict] = None) -> None:
        argv = [*(prefix or []), str(daji), "pay", "--jsonl", "--journal", journal, "--base-url",
                sandbox.url, *CLIENT, *extra, *ids]
        self.started = time.monotonic()
        self.lines: List[Tuple[float, Dict]] = []
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(log_path, "w"),
                                        stdin=subprocess.DEVNULL, text=True, env=env or worker_env())
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            self.lines.append((time.monotonic() - self.started, item))

    def wait(self, bound_s: float) -> int:
        try:
            rc = self.process.wait(timeout=bound_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise Failed(f"a worker was still running after {bound_s:.0f} s (hung)")
        self.reader.join(timeout=5)
        return rc

    def outcomes(self) -> Dict[str, str]:
        return {item["orderId"]: item["outcome"] for _, item in self.lines if "orderId" in item}


def worker_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAJISAAS_")}
    env.update(DAJISAAS_APP_KEY=APP_KEY, DAJISAAS_APP_SECRET=SECRET, **extra)
    return env


def journal_records(daji: Path, sandbox: Sandbox, journal: str) -> Dict[str, Dict]:
    out = subprocess.run([str(daji), "journal", "list", "--json", "--journal", journal,
                          "--base-url", sandbox.url],
                         env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise Failed(f"daji journal list failed ({out.returncode}): {out.stderr.strip()}")
    return {r["orderId"]: r for r in json.loads(out.stdout)}


def resolve(daji: Path, sandbox: Sandbox, journal: str, order: str, paid: bool) -> None:
    flag = "--paid" if paid else "--not-paid"
    out = subprocess.run([str(daji), "journal", "resolve", order, flag, "--note",
                          "checked in the sandbox's ledger", "--journal", journal, "--base-url",
                          sandbox.url], env=worker_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=60)
    if out.returncode != 0:
        raise Failed(f"daji journal resolve {order} {flag} failed: {out.stderr.strip()}")


def no_second_payment(sandbox: Sandbox, ids: List[str]) -> Dict:
    stats = sandbox.stats()
    twice = {k: v for k, v in stats["deductions"].items() if v > 1}
    check(not twice, f"orders deducted twice: {twice}")
    after = {k: v for k, v in stats["payCallsAfterPaidByOrder"].items() if k in ids and v}
    check(not after, f"payment requests into orders already paid: {after}")
    return stats


def wait_until(condition, bound_s: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + bound_s
    while not condition():
        if time.monotonic() > deadline:
            raise Failed(f"{what}: not within {bound_s:.0f} s")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# PostgreSQL, with its durable defaults, behind a proxy


class Postgres:
    def __init__(self) -> None:
        out = subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "start", "--durable",
                              "--until-exit", str(os.getpid())],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, check=False)
        found = dict(re.findall(r"^export (\w+)=(.*)$", out.stdout, re.M))
        if out.returncode != 0 or "DAJISAAS_TEST_POSTGRES_URL" not in found:
            raise Failed(f"scripts/postgres.sh start --durable failed: {out.stdout}")
        self.url = found["DAJISAAS_TEST_POSTGRES_URL"]
        self.dir = found["DAJISAAS_TEST_POSTGRES_DIR"]
        self.port = int(re.search(r":(\d+)/", self.url).group(1))  # type: ignore[union-attr]
        self.databases = 0

    def database(self, proxy: "Proxy") -> str:
        """A fresh database, reached through `proxy`, in plain TCP (the proxy reads the messages)."""
        self.databases += 1
        name = f"faults_{os.getpid()}_{self.databases}"
        subprocess.run(["psql", self.url, "-v", "ON_ERROR_STOP=1", "-q", "-c", f"CREATE DATABASE {name}"],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        return f"postgres://postgres@127.0.0.1:{proxy.port}/{name}?sslmode=disable"

    def restart(self) -> None:
        subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "restart", self.dir], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        subprocess.run(["bash", str(REPO / "scripts" / "postgres.sh"), "stop", self.dir], check=False,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of PostgreSQL that can freeze (hold every connection
    open, forwarding nothing), cut every connection, or drop the reply to the first message that
    carries given bytes."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.lock = threading.Lock()
        self.pairs: List[Tuple[socket.socket, socket.socket]] = []
        self.drop_reply_to: Optional[bytes] = None
        self.drop_at_match = 1  # the how-manyth message carrying the bytes loses its reply
        self.dropped_replies = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        drop_next_reply = False
        try:
            while True:
                readable, _, _ = select.select([client, server], [], [], 0.2)
                if not self.flowing.is_set():
                    self.flowing.wait()
                    continue
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        # The message that carries the bytes: forward it, then lose the answer.
                        if self.drop_reply_to is not None and self.drop_reply_to in data:
                            self.drop_at_match -= 1
                            if self.drop_at_match == 0:
                                self.drop_reply_to = None
                                drop_next_reply = True
                        server.sendall(data)
                        if drop_next_reply:
                            time.sleep(0.3)  # the server commits
                            self.dropped_replies += 1
                            return
                    else:
                        client.sendall(data)
        except OSError:
            return
        finally:
            for sock in (client, server):
                try:
                    sock.close()
                except OSError:
                    pass

    def freeze(self) -> None:
        self.flowing.clear()

    def thaw(self) -> None:
        self.flowing.set()

    def cut(self) -> None:
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed = True
        self.thaw()
        self.listener.close()
        self.cut()


# ---------------------------------------------------------------------------------------------
# The parts


class Parts:
    def __init__(self, daji: Path, tmp: Path, postgres: Optional[Postgres]) -> None:
        self.daji, self.tmp, self.postgres = daji, tmp, postgres
        self.n = 0

    def ids(self, part: int, count: int) -> List[str]:
        return [f"46{part:02d}{n:015d}" for n in range(1, count + 1)]

    def scratch(self, name: str) -> Path:
        self.n += 1
        path = self.tmp / f"{self.n:02d}-{name}"
        path.mkdir()
        return path

    def pause(self, journal_kind: str) -> Dict:
        d = self.scratch(f"pause-{journal_kind}")
        sandbox = Sandbox(self.daji, d / "sandbox.log")
        proxy = None
        try:
            if journal_kind == "sqlite":
                journal = f"sqlite://{d / 'journal.db'}"
            else:
                assert self.postgres
                proxy = Proxy(self.postgres.port)
                journal = self.postgres.database(proxy)
            ids = self.ids(10 if journal_kind == "sqlite" else 11, 8)
            a = Worker(self.daji, sandbox, journal, ids, ["--concurrency", "8", "--max-calls-per-second", "1"],
                       d / "a.log")
            wait_until(lambda: sum(sandbox.stats()["payCalls"].values()) >= 1, 30, "A's first request")
            # Between A's writes (its first outcome is written as the answer arrives, its next
            # fence is at its next slot, a second on): a process paused inside a SQLite write
            # holds the file's lock, and B could then find nothing, only `journal` errors.
            time.sleep(0.3)
            a.process.send_signal(signal.SIGSTOP)
            sent_by_a = dict(sandbox.stats()["payCalls"])
            time.sleep(LEASE_S + 1.5)
            b = Worker(self.daji, sandbox, journal, ids, ["--concurrency", "8"], d / "b.log")
            b.wait(60)
            records = journal_records(self.daji, sandbox, journal)
            deducted = sandbox.stats()["deductions"]
            unknown = [k for k, r in records.items() if r["state"] == "unknown"]
            check(len(unknown) >= 6, f"B should find A's expired claims unknown, found {len(unknown)}: "
                                     f"{ {k: r['state'] for k, r in records.items()} }")
            for order in unknown:
                resolve(self.daji, sandbox, journal, order, paid=bool(deducted.get(order)))
            c = Worker(self.daji, sandbox, journal, ids, ["--concurrency", "8"], d / "c.log")
            c.wait(60)
            check(all(v == "paid" for v in c.outcomes().values()), f"C: {c.outcomes()}")
            paid_by_c = sum(sandbox.stats()["payCalls"].values())
            a.process.send_signal(signal.SIGCONT)
            a.wait(60)
            time.sleep(0.5)
            stats = no_second_payment(sandbox, ids)
            return {"sent_by_a_before_pause": sum(sent_by_a.values()), "unknown_resolved": len(unknown),
                    "calls_after_resume": sum(stats["payCalls"].values()) - paid_by_c,
                    "a_outcomes": sorted(set(a.outcomes().values()))}
        finally:
            sandbox.stop()
            if proxy:
                proxy.close()

    def freeze(self) -> Dict:
        assert self.postgres
        d = self.scratch("freeze")
        sandbox = Sandbox(self.daji, d / "sandbox.log")
        proxy = Proxy(self.postgres.port)
        journal = self.postgres.database(proxy)
        try:
            ids = self.ids(20, 400)
            # Answer bound of one order: claim + lookup/fence + outcome deadlines, 2 attempts.
            bound_s = 3 * 1.0 + 2 * 1.0 + 2.0
            slowest, answered, journal_errors = 0.0, 0, 0
            frozen_at = thawed_at = None
            # A process may stay after its answer, writing what it kept for the journal: the
            # next order does not wait for it.
            workers: List[Worker] = []
            started = time.monotonic()
            for order in ids:
                now = time.monotonic() - started
                if frozen_at is None and now > 2:
                    proxy.freeze()
                    frozen_at = now
                elif frozen_at is not None and thawed_at is None and now > frozen_at + 40:
                    proxy.thaw()
                    thawed_at = now
                elif thawed_at is not None and now > thawed_at + 3:
                    break
                w = Worker(self.daji, sandbox, journal, [order], [], d / "w.log")
                wait_until(lambda: w.lines, 60, f"order {order}'s answer")
                at, item = w.lines[0]
                slowest = max(slowest, at)
                # + a process's start on a loaded machine; a hang is the freeze's 40 s.
                check(at <= bound_s + 3.0,
                      f"order {order} answered after {at:.1f} s, past its bound {bound_s:.0f} s (+3 s)")
                answered += 1
                journal_errors += item["outcome"] == "failed" and item["error"]["code"] == "journal"
                workers.append(w)
            for w in workers:
                w.wait(60)
            check(frozen_at is not None and thawed_at is not None, "the freeze did not happen")
            check(journal_errors >= 5, f"only {journal_errors} orders met the freeze")
            no_second_payment(sandbox, ids)
            return {"orders_answered": answered, "journal_errors": journal_errors,
                    "slowest_answer_s": round(slowest, 2), "bound_s": bound_s, "frozen_s": 40}
        finally:
            proxy.close()
            sandbox.stop()

    def cut(self) -> Dict:
        assert self.postgres
        d = self.scratch("cut")
        sandbox = Sandbox(self.daji, d / "sandbox.log", latency_ms=300)
        proxy = Proxy(self.postgres.port)
        journal = self.postgres.database(proxy)
        stop = threading.Event()

        def cutter() -> None:
            while not stop.wait(0.7):
                proxy.cut()

        try:
            ids = self.ids(30, 40)
            w = Worker(self.daji, sandbox, journal, ids, ["--concurrency", "4"], d / "w.log")
            threading.Thread(target=cutter, daemon=True).start()
            wait_until(lambda: len(w.lines) >= 16, 60, "16 orders answered")
            self.postgres.restart()
            w.wait(120)
            stop.set()
            records = journal_records(self.daji, sandbox, journal)
            deducted = [k for k, v in sandbox.stats()["deductions"].items() if v and k in ids]
            check(len(deducted) >= 10, f"only {len(deducted)} orders paid: the cuts let too few through")
            not_paid = {k: records.get(k, {}).get("state") for k in deducted
                        if records.get(k, {}).get("state") != "paid"}
            check(not not_paid, f"deducted orders not `paid` in the journal: {not_paid}")
            stuck = [k for k, r in records.items() if r["state"] in ("in_flight", "unknown")]
            check(not stuck, f"orders left in_flight or unknown: {stuck}")
            no_second_payment(sandbox, ids)
            outcomes = w.outcomes()
            return {"orders": len(ids), "deducted": len(deducted),
                    "told_paid": sum(1 for v in outcomes.values() if v == "paid"),
                    "failed_nothing_sent": sum(1 for v in outcomes.values() if v == "failed")}
        finally:
            stop.set()
            proxy.close()
            sandbox.stop()

    def commit(self) -> Dict:
        assert self.postgres
        d = self.scratch("commit")
        sandbox = Sandbox(self.daji, d / "sandbox.log")
        proxy = Proxy(self.postgres.port)
        journal = self.postgres.database(proxy)
        try:
            journal_records(self.daji, sandbox, journal)  # creates the schema
            order = self.ids(40, 1)[0]
            proxy.drop_reply_to = order.encode()
            w = Worker(self.daji, sandbox, journal, [order], [], d / "w.log")
            rc = w.wait(60)
            check(proxy.dropped_replies == 1, f"the claim's reply was not dropped ({proxy.dropped_replies})")
            item = w.lines[0][1] if w.lines else {}
            check(item.get("outcome") == "failed" and item.get("error", {}).get("code") == "journal",
                  f"the claim whose reply was lost should fail with `journal`: {item} (exit {rc})")
            check("nothing was sent" in item["error"]["message"], f"{item['error']['message']}")
            check(not sandbox.stats()["payCalls"].get(order), "a request was sent")
            record = journal_records(self.daji, sandbox, journal).get(order)
            check(record is None, f"the claim should be released, found {record and record['state']}")
            again = Worker(self.daji, sandbox, journal, [order], [], d / "again.log")
            again.wait(60)
            check(again.outcomes() == {order: "paid"}, f"the re-run: {again.outcomes()}")
            no_second_payment(sandbox, [order])

            # A declined order paid again: its claim is the second statement that names it (the
            # first reads the declined record), a swap over that record. Its reply is lost too.
            declined = "9000" + self.ids(40, 1)[0][4:]
            first = Worker(self.daji, sandbox, journal, [declined], [], d / "declined.log")
            first.wait(60)
            check(first.outcomes() == {declined: "declined"}, f"the declined order: {first.outcomes()}")
            calls = sandbox.stats()["payCalls"].get(declined)
            proxy.drop_reply_to, proxy.drop_at_match = declined.encode(), 2
            w = Worker(self.daji, sandbox, journal, [declined], [], d / "declined-again.log")
            rc = w.wait(60)
            check(proxy.dropped_replies == 2, f"the swap's reply was not dropped ({proxy.dropped_replies})")
            item = w.lines[0][1] if w.lines else {}
            check(item.get("error", {}).get("code") == "journal",
                  f"the claim whose reply was lost should fail with `journal`: {item} (exit {rc})")
            check(sandbox.stats()["payCalls"].get(declined) == calls, "a request was sent")
            record = journal_records(self.daji, sandbox, journal).get(declined)
            check(record is not None and record["state"] == "declined",
                  f"the claim should be released to the declined record, found {record and record['state']}")
            return {"released": True, "paid_by_rerun": True, "declined_restored": True}
        finally:
            proxy.close()
            sandbox.stop()

    def clock(self) -> Dict:
        d = self.scratch("clock")
        faketime = shutil.which("faketime")
        check(faketime is not None, "faketime is not installed (apt-get install faketime)")
        sandbox = Sandbox(self.daji, d / "sandbox.log")
        try:
            journal = f"sqlite://{d / 'journal.db'}"
            ids = self.ids(50, 8)
            a = Worker(self.daji, sandbox, journal, ids, ["--concurrency", "8", "--max-calls-per-second", "1"],
                       d / "a.log")
            wait_until(lambda: sum(sandbox.stats()["payCalls"].values()) >= 1, 30, "A's first request")
            # Only the wall clock moves: tokio's timers (the monotonic clock) stay as they are.
            b = Worker(self.daji, sandbox, journal, ids, ["--concurrency", "6"], d / "b.log",
                       prefix=[str(faketime), "-f", "+10m"], env=worker_env(DONT_FAKE_MONOTONIC="1"))
            b.wait(60)
            # B took A's live claims for dead: an operator checks the ledger and resolves them,
            # and C pays those not paid, while A is still at work.
            records = journal_records(self.daji, sandbox, journal)
            deducted = sandbox.stats()["deductions"]
            unknown = [k for k, r in records.items() if r["state"] == "unknown"]
            for order in unknown:
                resolve(self.daji, sandbox, journal, order, paid=bool(deducted.get(order)))
            c = Worker(self.daji, sandbox, journal, ids, ["--concurrency", "8"], d / "c.log")
            c.wait(60)
            a.wait(60)
            stats = no_second_payment(sandbox, ids)
            calls = {k: v for k, v in stats["payCalls"].items() if k in ids}
            check(all(v == 1 for v in calls.values()), f"an order got more than one request: {calls}")
            check(a.process.returncode is not None, "A did not finish")
            return {"taken_over_by_b": len(unknown), "b_outcomes": sorted(set(b.outcomes().values())),
                    "a_outcomes": sorted(set(a.outcomes().values())), "orders_sent": len(calls)}
        finally:
            sandbox.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="pause,freeze,cut,commit,clock")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    daji = Path(os.environ.get("DAJI_BIN", REPO / "target" / "debug" / "daji"))
    if not daji.exists():
        sys.exit(f"faults: {daji} is missing: build it with `cargo build -p daji` first")
    tmp = Path(tempfile.mkdtemp(prefix="dajisaas-faults-"))
    frozen = tmp / "daji"
    shutil.copy2(daji, frozen)
    wanted = args.parts.split(",")
    postgres = Postgres() if {"pause", "freeze", "cut", "commit"} & set(wanted) else None
    parts = Parts(frozen, tmp, postgres)
    plan = []
    for name in wanted:
        if name == "pause":
            plan += [("pause (sqlite)", lambda: parts.pause("sqlite")),
                     ("pause (postgres)", lambda: parts.pause("postgres"))]
        elif name in ("freeze", "cut", "commit", "clock"):
            plan.append((f"{name} ({'sqlite' if name == 'clock' else 'postgres'})", getattr(parts, name)))
        else:
            sys.exit(f"faults: unknown part {name!r}")
    failed = 0
    try:
        for name, run in plan:
            started = time.monotonic()
            try:
                figures = run()
                print(f"PASS  {name}: {json.dumps(figures)} ({time.monotonic() - started:.0f} s)", flush=True)
            except Failed as e:
                failed += 1
                print(f"FAIL  {name}: {e} ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        if postgres:
            postgres.stop()
        if args.keep or failed:
            log(f"scratch kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(plan) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
