"""One pace for the fleet (issue 24): worker processes of two languages that share a payment
journal share the gateway's per-app call limit through it.

    .venv/bin/python tests/fleet/pace.py [--parts memory,sqlite,...] [--orders N]
        [--fleet python,node,python,node] [--keep]

Every part starts a `daji sandbox --qps 10` (a bucket of 10 calls per app, refilled at 10 a
second; a call past it gets the gateway's call-frequency refusal and counts in
`/_sandbox/stats` as `rateLimited`) and 4 workers (worker.py and worker.js: 2 Python, 2 Node),
each paying its own 40 orders with `pay_many`, 8 in flight, the library's defaults otherwise, as
a new user would. The workers make their clients, then wait for a start file: the wall time runs
from its creation to the last worker's exit. The bound is the gateway's: 160 orders at 10 a
second, 16.0 s.

Parts (`--parts`, in this order by default), each order paid once (one `pay_many` run) but in
the restart part:

- memory: `max_calls_per_second=10`, a memory journal per worker, so a pace per process: the
  figures of today's fleet, reported, not asserted (the baseline of the others).
- sqlite, postgres: `max_calls_per_second=10`, one SQLite file (then one PostgreSQL database)
  shared by the 4: every order paid, 160 deductions, wall <= 1.15 x 16.0 s, at most 5 refusals.
- sqlite-adaptive, postgres-adaptive: no configured limit (the adaptive pace only), the same
  shared journals: every order paid, 160 deductions, wall <= 1.5 x 16.0 s; refusals reported.
- restart: as postgres with `journal_timeout` 2 s, on a PostgreSQL cluster of this run's own
  (the one the postgres parts use unless DAJISAAS_TEST_POSTGRES_URL is set),
  which is shut down at once (`pg_ctl -m immediate`, as a crash) 5 s after the release and
  started again 3 s later. Every payment claims its order in the store first, so while it is
  down payments fail with `journal` ("nothing was sent") at once; the workers then pay what
  failed again as a job re-runs its failures (a `pay_many` of the orders whose outcome says that
  nothing was paid, `failed` or `declined`, every 0.5 s, 30 runs at most), so that the run goes on
  through the outage and after the restart. Checks: every order paid in the end, 160
  deductions; every result of every run `paid` or `failed` with `journal` or `rate_limited`
  (refused after every retry: while the store cannot reserve a slot, a process paces itself),
  never `unknown` or `in_progress`: the gateway answered every request at once, so no outcome
  may be in doubt; the outage met the run (the server went down after the release and was back
  before the last exit) and at least one call failed with `journal`; the last worker exits
  within 1.5 x 16.0 s + the outage + 2 journal deadlines of the release, and none is silent
  longer than 3 journal deadlines + 2 s (claim, fence and outcome are each bounded by the
  deadline: a longer silence is a call held past it). Refusals and failures are printed.

Every part also checks what must hold whatever the pace: no order deducted twice and no payment
request into a paid order (`payCallsAfterPaid`); every order a worker was told paid deducted,
and every deducted order told paid; with a shared journal, every deducted order `paid` in it
after the run; no request carrying the secret; every worker exits 0 with a result per order.

One JSON line of figures per part, then one summary line per part (wall / bound, refusals: the
BENCHMARKS.md rows), then PASS or FAIL; exits 1 with the failed checks listed. PostgreSQL:
DAJISAAS_TEST_POSTGRES_URL (and DAJISAAS_TEST_POSTGRES_CA) for the postgres parts when set,
else a throwaway cluster of scripts/postgres.sh, which the restart part always uses.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from harness import (APP_KEY, HERE, SECRET, OwnPostgres, Sandbox, drop_database, freeze_tools,
                     fresh_postgres_journal, import_dajisaas, postgres_server, verdict, worker_env)

PARTS = "memory,sqlite,postgres,sqlite-adaptive,postgres-adaptive,restart"
QPS = 10
CONCURRENCY = 8
# The shared pace's bounds (issue 24): wall time as a multiple of the gateway's bound, refusals.
LIMIT_WALL = 1.15
LIMIT_REFUSALS = 5
ADAPTIVE_WALL = 1.5
# The restart part.
JOURNAL_TIMEOUT_S = 2.0
OUTAGE_AFTER_S = 5.0
OUTAGE_DOWN_S = 3.0
RESTART_TRIES = 30
RESTART_PAUSE_MS = 500
# What a result of the restart part may be besides paid: `failed` with one of these codes.
RESTART_FAILURES = {"journal", "rate_limited"}
# A worker still running this long after the release is hung: it is killed and the part fails.
DEADLINE_S = 120.0


def log(message: str) -> None:
    print(f"pace: {message}", flush=True)


class Part:
    """What one part runs and asserts."""

    def __init__(self, name: str, journal: str, limit: Optional[int], shared: bool = True,
                 wall_factor: Optional[float] = None, refusals: Optional[int] = None, tries: int = 1,
                 options: Optional[List[str]] = None) -> None:
        self.name, self.journal, self.limit, self.shared = name, journal, limit, shared
        self.wall_factor, self.refusals, self.tries = wall_factor, refusals, tries
        self.options = options or []

    def describe(self) -> str:
        pace = f"max_calls_per_second {self.limit}" if self.limit else "adaptive only"
        store = self.journal.split(":", 1)[0]
        return f"{store} journal{'' if self.shared else ' per process'}, {pace}"


class Worker:
    """One worker process; its lines are kept with the time each came."""

    def __init__(self, name: str, argv: List[str], log_path: Path) -> None:
        self.name, self.log_path = name, log_path
        self.lines: List[Tuple[float, Dict[str, Any]]] = []
        self.bad_lines: List[str] = []
        self.exited_at: Optional[float] = None
        self.process = subprocess.Popen(argv, env=worker_env(), stdout=subprocess.PIPE,
                                        stderr=open(log_path, "w"), stdin=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.lines.append((time.monotonic(), json.loads(line)))
            except ValueError:
                self.bad_lines.append(line.rstrip("\n")[:200])

    def said(self, ev: str) -> bool:
        return any(e.get("ev") == ev for _, e in self.lines)

    def results(self) -> List[Dict[str, Any]]:
        return [e for _, e in self.lines if e.get("ev") == "call"]

    def longest_silence(self, since: float) -> float:
        """The longest time without a line, from `since` to the exit."""
        times = [since] + [t for t, _ in self.lines if t > since] + [self.exited_at or time.monotonic()]
        return max(b - a for a, b in zip(times, times[1:]))


class Checks:
    """The failed checks of one part."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.failed: List[str] = []

    def __call__(self, ok: bool, what: str) -> None:
        if not ok:
            self.failed.append(f"{self.part}: {what}")


class Pace:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args, self.tmp = args, tmp
        self.daji, self.node_dir = freeze_tools(tmp, "node" in args.fleet)
        self.failures: List[str] = []
        self.summaries: List[Dict[str, Any]] = []
        self.own: Optional[OwnPostgres] = None
        self.shared_server: Optional[Tuple[str, Optional[str]]] = None
        self.databases: List[Tuple[str, str]] = []

    def total(self) -> int:
        return self.args.orders * len(self.args.fleet)

    # -- journals and parts -----------------------------------------------------------------

    def own_postgres(self) -> OwnPostgres:
        if self.own is None:
            self.own = OwnPostgres()
        return self.own

    def postgres_journal(self, own: bool) -> str:
        if own:
            server: Tuple[str, Optional[str]] = (self.own_postgres().url, self.own_postgres().ca)
        else:
            self.shared_server = self.shared_server or postgres_server(self.own_postgres)
            server = self.shared_server
        url, db = fresh_postgres_journal(server[0], server[1], "pace")
        self.databases.append((server[0], db))
        return url

    def part(self, name: str) -> Part:
        if name == "memory":
            return Part(name, "memory", QPS, shared=False)
        if name == "restart":
            return Part(name, self.postgres_journal(own=True), QPS, tries=RESTART_TRIES,
                        options=["--journal-timeout-ms", str(int(JOURNAL_TIMEOUT_S * 1000)),
                                 "--pause-ms", str(RESTART_PAUSE_MS)])
        store, _, adaptive = name.partition("-")
        if store == "sqlite":
            (self.tmp / name).mkdir()
            journal = f"sqlite://{self.tmp / name / 'journal.db'}"
        elif store == "postgres":
            journal = self.postgres_journal(own=False)
        else:
            sys.exit(f"pace: unknown part {name!r} (of {PARTS})")
        if adaptive == "adaptive":
            return Part(name, journal, None, wall_factor=ADAPTIVE_WALL)
        if adaptive:
            sys.exit(f"pace: unknown part {name!r} (of {PARTS})")
        return Part(name, journal, QPS, wall_factor=LIMIT_WALL, refusals=LIMIT_REFUSALS)

    # -- a run ------------------------------------------------------------------------------

    def argv(self, kind: str, part: Part, sandbox: Sandbox, orders: Path, start: Path) -> List[str]:
        common = ["--base-url", sandbox.url, "--journal", part.journal, "--orders", str(orders),
                  "--pay-many", str(CONCURRENCY), "--tries", str(part.tries), "--start-file", str(start),
                  *part.options]
        if part.limit:
            common += ["--max-calls-per-second", str(part.limit)]
        if kind == "python":
            return [sys.executable, str(HERE / "worker.py"), *common]
        if kind == "node":
            return ["node", str(HERE / "worker.js"), "--binding", str(self.node_dir), *common]
        sys.exit(f"pace: unknown worker kind {kind!r} (python or node)")

    def run(self, number: int, name: str) -> None:
        part = self.part(name)
        d = self.tmp / name
        d.mkdir(exist_ok=True)
        sandbox = Sandbox(self.daji, d / "sandbox.log", ["--qps", str(QPS)])
        workers: List[Worker] = []
        orders: Dict[str, List[str]] = {}
        outage: Dict[str, float] = {}
        try:
            start = d / "go"
            for i, kind in enumerate(self.args.fleet):
                wname = f"{kind}-{i + 1}"
                orders[wname] = [f"66{number:02d}{i:02d}{n:013d}" for n in range(1, self.args.orders + 1)]
                path = d / f"{wname}.orders"
                path.write_text("\n".join(orders[wname]) + "\n")
                workers.append(Worker(wname, self.argv(kind, part, sandbox, path, start), d / f"{wname}.log"))
            log(f"{name}: {len(workers)} workers ({', '.join(self.args.fleet)}), {self.total()} orders, "
                f"{CONCURRENCY} in flight each, {part.describe()}, sandbox --qps {QPS}")
            ready_by = time.monotonic() + 60
            while time.monotonic() < ready_by and \
                    not all(w.said("start") or w.process.poll() is not None for w in workers):
                time.sleep(0.01)
            start.touch()
            released = time.monotonic()
            outage_thread = None
            if name == "restart":
                outage_thread = threading.Thread(target=self.outage, args=(released, outage), daemon=True)
                outage_thread.start()
            self.wait(workers, released, name)
            if outage_thread:
                outage_thread.join(timeout=60)
            summary = self.verify(part, sandbox, workers, orders, released, outage)
        finally:
            for w in workers:
                if w.process.poll() is None:
                    w.process.kill()
                    w.process.wait()
            sandbox.stop()
        self.summaries.append(summary)
        print(json.dumps(summary), flush=True)

    def outage(self, released: float, into: Dict[str, float]) -> None:
        """The restart part's: seconds after the release at which the server went down and
        was back."""
        time.sleep(max(0.0, released + OUTAGE_AFTER_S - time.monotonic()))
        into["down_at_s"] = time.monotonic() - released
        try:
            self.own_postgres().restart(OUTAGE_DOWN_S)
            into["up_at_s"] = time.monotonic() - released
        except subprocess.CalledProcessError:
            pass

    def wait(self, workers: List[Worker], released: float, name: str) -> None:
        while any(w.exited_at is None for w in workers):
            now = time.monotonic()
            for w in workers:
                if w.exited_at is None and w.process.poll() is not None:
                    w.exited_at = now
                elif w.exited_at is None and now - released > DEADLINE_S:
                    self.failures.append(f"{name}: {w.name} was still running {DEADLINE_S:.0f} s after "
                                         f"the release (hung)")
                    w.process.kill()
                    w.process.wait()
                    w.exited_at = now
            time.sleep(0.01)
        for w in workers:
            w.reader.join(timeout=5)

    # -- checks -----------------------------------------------------------------------------

    def verify(self, part: Part, sandbox: Sandbox, workers: List[Worker], orders: Dict[str, List[str]],
               released: float, outage: Dict[str, float]) -> Dict[str, Any]:
        check = Checks(part.name)
        stats = sandbox.stats()
        total = self.total()
        bound_s = total / QPS
        wall_s = max(w.exited_at or 0.0 for w in workers) - released
        results = [e for w in workers for e in w.results()]
        final = {e["order"]: e for e in results}  # each order's last result
        paid = {k for k, e in final.items() if e["outcome"] == "paid"}
        deductions = {k: v for k, v in stats["deductions"].items() if v > 0}
        silences = {w.name: round(w.longest_silence(released), 1) for w in workers}

        for w in workers:
            rc = w.process.returncode
            check(rc == 0 and w.said("done"), f"{w.name} exited with status {rc}:\n{tail(w.log_path)}")
            check(not w.bad_lines, f"{w.name} printed lines that are not JSON: {w.bad_lines[:3]}")
            firsts = [e["order"] for e in w.results() if e["try"] == 1]
            check(sorted(firsts) == sorted(orders[w.name]),
                  f"{w.name}: {len(firsts)} first results for its {len(orders[w.name])} orders")
        twice = sorted((k, v) for k, v in deductions.items() if v > 1)
        check(not twice, f"orders deducted more than once: {twice[:10]}")
        check(stats["payCallsAfterPaid"] == 0,
              f"{stats['payCallsAfterPaid']} payment requests into orders already paid: "
              f"{sorted(stats['payCallsAfterPaidByOrder'].items())[:10]}")
        check(paid <= set(deductions),
              f"orders told paid but not deducted: {sorted(paid - set(deductions))[:10]}")
        check(set(deductions) <= paid,
              f"orders deducted but not told paid: {sorted(set(deductions) - paid)[:10]}")
        check(stats["requestsWithSecret"] == 0, f"{stats['requestsWithSecret']} requests carried the secret")
        if part.shared:
            states = self.journal_states(part.journal, sandbox.url)
            unrecorded = sorted((k, states.get(k)) for k in deductions if states.get(k) != "paid")
            check(not unrecorded, f"deducted orders not `paid` in the journal: {unrecorded[:10]}")
        not_paid = counts(e["outcome"] for e in final.values() if e["outcome"] != "paid")
        if part.wall_factor is not None or part.name == "restart":
            check(len(paid) == total, f"{len(paid)} of {total} orders paid; the others: {not_paid}")
            check(len(deductions) == total, f"{len(deductions)} orders deducted of {total}")
        if part.wall_factor is not None:
            check(wall_s <= part.wall_factor * bound_s, f"wall {wall_s:.1f} s, past {part.wall_factor} x the "
                                                        f"bound {bound_s:.1f} s ({wall_s / bound_s:.2f})")
        if part.refusals is not None:
            check(stats["rateLimited"] <= part.refusals,
                  f"{stats['rateLimited']} refusals for call frequency (at most {part.refusals})")
        if part.name == "restart":
            self.check_restart(check, results, outage, wall_s, bound_s, silences)

        self.failures.extend(check.failed)
        summary: Dict[str, Any] = {
            "part": part.name,
            "ok": not check.failed,
            "pace": part.describe(),
            "orders": total,
            "paid": len(paid),
            "not_paid": not_paid,
            "refusals": stats["rateLimited"],
            "requests": stats["requests"],
            "pay_calls": sum(stats["payCalls"].values()),
            "orders_deducted": len(deductions),
            "pay_calls_after_paid": stats["payCallsAfterPaid"],
            "wall_s": round(wall_s, 2),
            "bound_s": bound_s,
            "wall_over_bound": round(wall_s / bound_s, 3),
            "wall_limit": part.wall_factor,
            "refusals_limit": part.refusals,
            "longest_silence_s": silences,
        }
        if part.tries > 1:
            summary["failed_runs"] = counts(e["outcome"] for e in results if e["outcome"] != "paid")
            summary["most_runs"] = max(e["try"] for e in results)
        if outage:
            summary["outage"] = {k: round(v, 2) for k, v in outage.items()}
        return summary

    def check_restart(self, check: Checks, results: List[Dict[str, Any]], outage: Dict[str, float],
                      wall_s: float, bound_s: float, silences: Dict[str, float]) -> None:
        check("up_at_s" in outage, f"the server did not start again: {outage}")
        down_at, up_at = outage.get("down_at_s", wall_s), outage.get("up_at_s", wall_s)
        check(up_at < wall_s, f"the outage ({down_at:.1f} s to {up_at:.1f} s after the release) was not "
                              f"within the run ({wall_s:.1f} s)")
        odd = sorted({(e["outcome"], e["result"]) for e in results if e["outcome"] != "paid"
                      and not (e["outcome"] in RESTART_FAILURES and e["result"] == "failed")})
        check(not odd, f"results other than paid and failed with {sorted(RESTART_FAILURES)}: {odd}")
        check(any(e["outcome"] == "journal" for e in results),
              "no call failed with `journal`: the outage met none")
        exit_bound = ADAPTIVE_WALL * bound_s + (up_at - down_at) + 2 * JOURNAL_TIMEOUT_S
        check(wall_s <= exit_bound,
              f"the last worker exited {wall_s:.1f} s after the release, past {exit_bound:.1f} s")
        silence_bound = 3 * JOURNAL_TIMEOUT_S + 2.0
        check(max(silences.values()) <= silence_bound,
              f"a worker was silent longer than {silence_bound:.0f} s (a call held past the journal "
              f"deadline): {silences}")

    def journal_states(self, journal: str, base_url: str) -> Dict[str, str]:
        dajisaas = import_dajisaas()
        client = dajisaas.Client(APP_KEY, SECRET, base_url=base_url, journal=journal)
        return {r.order_id: r.state for r in client.payment_records()}

    def close(self) -> None:
        for admin_url, db in self.databases:
            drop_database(admin_url, db)


def counts(items: Any) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return dict(sorted(out.items()))


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def summary_line(s: Dict[str, Any]) -> str:
    wall = f"wall {s['wall_s']:.1f} s / {s['bound_s']:.1f} s = {s['wall_over_bound']:.2f}"
    wall += f" (<= {s['wall_limit']})" if s["wall_limit"] else ""
    refusals = f"refusals {s['refusals']}"
    refusals += f" (<= {s['refusals_limit']})" if s["refusals_limit"] is not None else ""
    others = ", ".join(f"{n} {code}" for code, n in s["not_paid"].items()) or "none failed"
    runs = ""
    if "failed_runs" in s:
        failed = ", ".join(f"{n} {code}" for code, n in s["failed_runs"].items()) or "none"
        runs = f" | failed on the way: {failed}; {s['most_runs']} pay_many runs at most"
    return (f"{s['part']:<17} | {s['pace']} | {s['paid']}/{s['orders']} paid ({others}) | {wall} | "
            f"{refusals} | {s['requests']} requests{runs} | {'PASS' if s['ok'] else 'FAIL'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=PARTS, help=f"a comma-separated choice of {PARTS}")
    parser.add_argument("--orders", type=int, default=40, help="orders per worker (40)")
    parser.add_argument("--fleet", default="python,node,python,node", help="the workers' languages")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    args.fleet = args.fleet.split(",")

    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="dajisaas-pace-"))
    pace = Pace(args, tmp)
    try:
        for number, name in enumerate(args.parts.split(","), start=1):
            pace.run(number, name)
    finally:
        pace.close()
    print(flush=True)
    for s in pace.summaries:
        log(summary_line(s))
    wall = time.monotonic() - began
    return verdict("fleet pace", pace.failures, tmp, args.keep, f"{len(pace.summaries)} parts, {wall:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
