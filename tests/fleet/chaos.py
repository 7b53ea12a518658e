"""Fleet chaos: worker processes in three languages share one payment journal and pay an
overlapping list of orders through a chaos-mode sandbox while this supervisor SIGKILLs them at
random moments and starts them again (issue 13's headline test).

    .venv/bin/python tests/fleet/chaos.py [--journals postgres,sqlite] [--seed N] [--orders N]
        [--kills N] [--python N] [--cli N] [--node N] [--keep]

For each journal (a fresh PostgreSQL database, then a fresh SQLite file):

1. a `daji sandbox --chaos-seed SEED --latency-ms 300` gateway (the latency, so that kills find
   payments under way); `--orders` order ids without a sandbox pattern; each order goes to 2 or
   3 workers of at least two kinds (a few "hot" ones to every worker), each list shuffled;
2. the fleet: Python workers (worker.py, two threads sharing one `dajisaas.Client`), `daji pay`
   workers (the CLI, `--concurrency 2`) and Node workers (worker.js, two promises), all with
   `journal=URL` and short timeouts;
3. the supervisor SIGKILLs a random running worker every 0.1 to 0.5 s and starts it again (a
   restarted worker walks its whole list again: a re-run of a crashed job), until `--kills`
   kills; a worker that finishes before then is started again too. A worker silent for longer
   than one payment call can take (every attempt's timeout plus backoff) plus a margin is hung:
   it is killed and the run fails;
4. after the last worker finished, the claims that killed workers left `in_flight` expire (the
   lease is the library's: the longest one attempt can take plus a margin; the first run's wait
   overlaps the second run's fleet), then one last Python worker walks every order once (a
   re-run after the crashes), which turns those claims into `unknown`;
5. the checks, from the sandbox's ledger (`/_sandbox/stats`) and the journal (read with
   `Client.payment_records()`): no order deducted twice; `payCallsAfterPaid` 0; every deducted
   order `paid` or `unknown` in the journal; every `paid` deducted exactly once; every order a
   worker was told was paid deducted; nothing left `in_flight`; no hung worker, no unexpected
   exit or error code, no request carrying the secret; at least 30 kills, 6 workers, 2 languages
   and 300 orders;
6. the cron re-run: every worker once more, each with a fresh memory journal (a new process that
   knows nothing of the fleet's payments): no paid order reported declined; each paid order
   reported paid (the gateway's "already paid", never retried) unless the chaos gateway refused
   that call before looking at the order.

One JSON line per run (kills, calls, faults by kind, final journal states, wall time), then PASS
or FAIL; exits 1 with the failed checks listed. PostgreSQL: DAJISAAS_TEST_POSTGRES_URL (and
DAJISAAS_TEST_POSTGRES_CA for TLS) when set, else a throwaway cluster from
`scripts/postgres.sh start --until-exit PID`; a database is created for the run with `psql`.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from harness import (APP_KEY, HERE, SECRET, Sandbox, drop_database, freeze_tools, fresh_postgres_journal,
                     import_dajisaas, postgres_server, redacted, verdict, worker_env)

# What a worker may be told, besides "paid": the outcomes the documentation lists for a payment
# under chaos with a shared journal. Anything else fails the run.
EXPECTED_CODES = {"payment_declined", "rate_limited", "payment_outcome_unknown", "payment_in_progress",
                  "journal"}
# `daji pay` exits with 10 + the number of its most serious failure: 0 or one of these is normal.
CLI_EXIT_OK = {0, 17, 18, 19, 21, 22}


def log(message: str) -> None:
    print(f"fleet: {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Workers


class Slot:
    """One worker of the fleet: its command, its current process, what it said."""

    def __init__(self, name: str, kind: str, argv: List[str], env: Dict[str, str], log_path: Path):
        self.name, self.kind, self.argv, self.env = name, kind, argv, env
        self.log_path = log_path
        self.process: Optional[subprocess.Popen] = None
        self.generation = 0
        self.last_seen = 0.0
        self.restart_at: Optional[float] = None
        self.finished = False
        self.spawns = 0
        self.kills = 0
        self.reruns = 0
        self.hangs = 0
        self.kills_after_first_result = 0
        self.results_this_generation = 0

    def spawn(self, events: "queue.Queue[Tuple[Slot, int, float, str]]") -> None:
        self.generation += 1
        self.spawns += 1
        self.results_this_generation = 0
        stderr = open(self.log_path, "a")
        stderr.write(f"--- {self.name} generation {self.generation}\n")
        stderr.flush()
        self.process = subprocess.Popen(self.argv, env=self.env, stdout=subprocess.PIPE,
                                        stderr=stderr, stdin=subprocess.DEVNULL, text=True)
        stderr.close()
        self.last_seen = time.monotonic()
        self.restart_at = None
        generation, process = self.generation, self.process

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                events.put((self, generation, time.monotonic(), line.rstrip("\n")))

        threading.Thread(target=read, daemon=True).start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Tally:
    """What the workers were told, call by call."""

    def __init__(self) -> None:
        self.calls = 0
        self.by_outcome: Dict[str, int] = {}
        self.by_kind: Dict[str, int] = {}
        self.replayed = 0
        self.slowest_ms = 0.0
        self.told_paid: set = set()
        self.told_declined: set = set()
        self.told_other: set = set()
        self.unexpected: List[str] = []

    def call(self, slot: Slot, order: str, outcome: str, replayed: bool = False,
             ms: Optional[float] = None) -> None:
        self.calls += 1
        self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1
        self.by_kind[slot.kind] = self.by_kind.get(slot.kind, 0) + 1
        self.replayed += bool(replayed)
        if ms is not None:
            self.slowest_ms = max(self.slowest_ms, ms)
        if outcome == "payment_declined":
            self.told_declined.add(order)
        elif outcome in ("rate_limited", "payment_outcome_unknown", "connection", "timeout"):
            self.told_other.add(order)
        if outcome == "paid":
            self.told_paid.add(order)
        elif outcome not in EXPECTED_CODES and len(self.unexpected) < 20:
            self.unexpected.append(f"{slot.name}: order {order}: {outcome}")


def parse_line(slot: Slot, line: str, tally: Tally, failures: List[str], current: bool) -> None:
    """Counts what a worker's line says; `current`: from the slot's running process."""
    if slot.kind == "cli":
        # `daji pay --jsonl`: one JSON object per order on stdout; the summary and notices
        # (stderr) are not JSON.
        try:
            item = json.loads(line)
        except ValueError:
            return
        if not isinstance(item, dict) or "orderId" not in item or item.get("outcome") == "not_started":
            return
        if item["outcome"] == "paid":
            tally.call(slot, item["orderId"], "paid", item["payment"].get("replayed", False))
        else:
            # As in the workers: the core's "claimed by this process" with no payment running
            # here is a bug by its own words.
            error = item["error"]
            code = error["code"] if "claimed by this process" not in error["message"] else \
                "payment_in_progress_here_without_a_payment"
            tally.call(slot, item["orderId"], code)
        slot.results_this_generation += current
        return
    try:
        event = json.loads(line)
    except ValueError:
        failures.append(f"{slot.name} printed a line that is not JSON: {line[:200]!r}")
        return
    if event.get("ev") == "call":
        tally.call(slot, event["order"], event["outcome"], event.get("replayed", False), event.get("ms"))
        slot.results_this_generation += current
    elif event.get("ev") == "error":
        failures.append(f"{slot.name} failed: {event.get('error')}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def drive(slots: List[Slot], kill_target: int, rng: random.Random, hang_s: float,
          deadline_s: float, tally: Tally, failures: List[str], label: str) -> Dict[str, Any]:
    """Runs the slots to the end, SIGKILLing a random running one now and then until
    `kill_target` kills; returns counts."""
    events: "queue.Queue[Tuple[Slot, int, float, str]]" = queue.Queue()
    started = time.monotonic()
    kills = 0
    next_kill = started + rng.uniform(0.3, 1.0)
    for slot in slots:
        slot.spawn(events)
    while True:
        now = time.monotonic()
        while True:
            try:
                slot, generation, seen, line = events.get_nowait()
            except queue.Empty:
                break
            current = generation == slot.generation
            if current:
                slot.last_seen = max(slot.last_seen, seen)
            parse_line(slot, line, tally, failures, current)
        for slot in slots:
            if slot.finished:
                continue
            if slot.process is None:
                if slot.restart_at is not None and now >= slot.restart_at:
                    slot.spawn(events)
                continue
            rc = slot.process.poll()
            if rc is None:
                if now - slot.last_seen > hang_s:
                    slot.hangs += 1
                    failures.append(f"{label}: {slot.name} (pid {slot.process.pid}) was silent for "
                                    f"{now - slot.last_seen:.1f} s, past its {hang_s:.1f} s: hung")
                    slot.kill()
                    slot.restart_at = now
                continue
            slot.process = None
            ok = rc in CLI_EXIT_OK if slot.kind == "cli" else rc == 0
            if not ok:
                failures.append(f"{label}: {slot.name} exited with status {rc}:\n{tail(slot.log_path)}")
            if kills < kill_target:
                slot.reruns += 1
                slot.restart_at = now
            else:
                slot.finished = True
        if kills < kill_target and now >= next_kill:
            running = [s for s in slots if s.running()]
            if running:
                victim = rng.choice(running)
                victim.kills += 1
                victim.kills_after_first_result += victim.results_this_generation > 0
                victim.kill()
                kills += 1
                victim.restart_at = now + rng.uniform(0.0, 0.3)
            next_kill = now + rng.uniform(0.1, 0.5)
        if all(s.finished for s in slots):
            break
        if now - started > deadline_s:
            failures.append(f"{label}: the fleet had not finished after {deadline_s:.0f} s")
            for slot in slots:
                if slot.running():
                    slot.kill()
            break
        time.sleep(0.02)
    # The last lines of workers that just exited.
    time.sleep(0.1)
    while True:
        try:
            slot, _, _, line = events.get_nowait()
        except queue.Empty:
            break
        parse_line(slot, line, tally, failures, False)
    return {"kills": kills, "seconds": round(time.monotonic() - started, 1)}


# ---------------------------------------------------------------------------------------------
# One run: one journal


class Run:
    def __init__(self, name: str, journal: str, args: argparse.Namespace, tools: Tuple[Path, Optional[Path]],
                 tmp: Path) -> None:
        self.name, self.journal, self.args = name, journal, args
        self.daji, self.node_dir = tools
        self.dir = tmp / name
        self.dir.mkdir()
        # The same plan (order lists) for every journal; kill times of their own.
        self.plan_rng = random.Random(args.seed)
        self.rng = random.Random(f"{args.seed}/{name}/kills")
        self.failures: List[str] = []
        self.tally = Tally()
        self.sandbox = Sandbox(self.daji, self.dir / "sandbox.log",
                               ["--chaos-seed", str(args.seed), "--latency-ms", str(args.latency_ms)])
        self.orders = [f"33{n:017d}" for n in range(1, args.orders + 1)]
        self.client_options = {
            "timeout_ms": args.timeout_ms, "connect_timeout_ms": args.timeout_ms,
            "max_retries": args.max_retries, "backoff_base_ms": 20, "backoff_cap_ms": args.backoff_cap_ms,
        }
        self.env = worker_env()
        self.slots = self.plan()
        self.chaos_figures: Dict[str, Any] = {}
        self.sweep_figures: Dict[str, Any] = {}

    def worker_argv(self, kind: str, orders_file: Path, threads: int = 2,
                    journal: Optional[str] = None) -> List[str]:
        journal = journal or self.journal
        o = self.client_options
        common = ["--timeout-ms", str(o["timeout_ms"]), "--connect-timeout-ms", str(o["connect_timeout_ms"]),
                  "--max-retries", str(o["max_retries"]), "--backoff-base-ms", str(o["backoff_base_ms"]),
                  "--backoff-cap-ms", str(o["backoff_cap_ms"])]
        if kind == "python":
            return [sys.executable, str(HERE / "worker.py"), "--base-url", self.sandbox.url,
                    "--journal", journal, "--orders", str(orders_file), "--threads", str(threads),
                    *common]
        if kind == "node":
            return ["node", str(HERE / "worker.js"), "--binding", str(self.node_dir), "--base-url",
                    self.sandbox.url, "--journal", journal, "--orders", str(orders_file),
                    "--concurrency", "2", *common]
        return [str(self.daji), "pay", "--jsonl", "--from-file", str(orders_file), "--journal", journal,
                "--base-url", self.sandbox.url, "--concurrency", "2", *common]

    def plan(self) -> List[Slot]:
        a = self.args
        kinds = ["python"] * a.python + ["cli"] * a.cli + ["node"] * a.node
        names = [f"{kind}-{sum(1 for k in kinds[:i] if k == kind) + 1}" for i, kind in enumerate(kinds)]
        lists: List[List[str]] = [[] for _ in kinds]
        hot = self.orders[: a.hot]
        for order in self.orders:
            if order in hot:
                chosen = list(range(len(kinds)))
            else:
                first = self.plan_rng.randrange(len(kinds))
                others = [i for i in range(len(kinds)) if kinds[i] != kinds[first]] or \
                    [i for i in range(len(kinds)) if i != first]
                second = self.plan_rng.choice(others)
                chosen = [first, second]
                if self.plan_rng.random() < 0.5:
                    chosen.append(self.plan_rng.choice([i for i in range(len(kinds)) if i not in chosen]))
            for i in chosen:
                lists[i].append(order)
        slots = []
        self.order_files: List[Tuple[str, Path, List[str]]] = []
        for i, kind in enumerate(kinds):
            self.plan_rng.shuffle(lists[i])
            path = self.dir / f"{names[i]}.orders"
            path.write_text("\n".join(lists[i]) + "\n")
            self.order_files.append((kind, path, lists[i]))
            slots.append(Slot(names[i], kind, self.worker_argv(kind, path), self.env,
                              self.dir / f"{names[i]}.log"))
        self.list_sizes = {s.name: len(lst) for s, lst in zip(slots, lists)}
        return slots

    def hang_s(self) -> float:
        o = self.client_options
        one_call = (o["timeout_ms"] * (o["max_retries"] + 1) + o["backoff_cap_ms"] * o["max_retries"]) / 1000
        return one_call + self.args.hang_margin_s

    def chaos(self) -> None:
        kinds = {s.kind for s in self.slots}
        log(f"{self.name}: {len(self.slots)} workers ({', '.join(sorted(kinds))}), {len(self.orders)} "
            f"orders, sandbox {self.sandbox.url} chaos seed {self.args.seed}, journal {redacted(self.journal)}")
        self.chaos_figures = drive(self.slots, self.args.kills, self.rng, self.hang_s(),
                                   self.args.deadline_s, self.tally, self.failures, self.name)
        log(f"{self.name}: fleet done in {self.chaos_figures['seconds']} s, "
            f"{self.chaos_figures['kills']} kills, {self.tally.calls} calls so far")

    def journal_client(self):  # type: ignore[no-untyped-def]
        dajisaas = import_dajisaas()
        # Python takes durations in seconds.
        seconds = {k.removesuffix("_ms"): v / 1000 if k.endswith("_ms") else v
                   for k, v in self.client_options.items()}
        return dajisaas.Client(APP_KEY, SECRET, base_url=self.sandbox.url, journal=self.journal,
                               **seconds)

    def sweep(self) -> None:
        """Waits out the leases of the claims killed workers left, then walks every order once."""
        client = self.journal_client()
        in_flight = client.payment_records("in_flight")
        del client
        wait = 0.0
        if in_flight:
            until = max((parse_time(r.lease_until) for r in in_flight if r.lease_until), default=0.0)
            wait = max(0.0, until - time.time() + 0.5)
            log(f"{self.name}: {len(in_flight)} claims left in_flight by killed workers; their leases "
                f"end in {wait:.1f} s")
            time.sleep(wait)
        everything = self.dir / "all.orders"
        everything.write_text("\n".join(self.orders) + "\n")
        sweeper = Slot("python-sweep", "python", self.worker_argv("python", everything, threads=1),
                       self.env, self.dir / "python-sweep.log")
        figures = drive([sweeper], 0, self.rng, self.hang_s(), self.args.deadline_s, self.tally,
                        self.failures, self.name)
        self.sweep_figures = {"left_in_flight": len(in_flight), "lease_wait_s": round(wait, 1),
                              "seconds": figures["seconds"]}

    def cron_rerun(self) -> Dict[str, Any]:
        """Every worker once more, each with a fresh memory journal of its own: a cron job's next
        run in a new process, which has no record of what the fleet paid. The gateway's "already
        paid" answer must end each such payment at once, reported paid: never a decline (which an
        ERP would pay again some other way), never retried into the paid order."""
        before = self.sandbox.stats()["payCallsAfterPaidByOrder"]
        tally = Tally()
        slots = [Slot(f"{kind}-rerun-{i + 1}", kind, self.worker_argv(kind, path, journal="memory"),
                      self.env, self.dir / f"{kind}-rerun-{i + 1}.log")
                 for i, (kind, path, _) in enumerate(self.order_files)]
        figures = drive(slots, 0, self.rng, self.hang_s(), self.args.deadline_s, tally,
                        self.failures, f"{self.name}-rerun")
        stats = self.sandbox.stats()
        deducted = {k for k, v in stats["deductions"].items() if v > 0}
        workers_per_order: Dict[str, int] = {}
        for _, _, orders in self.order_files:
            for order in orders:
                workers_per_order[order] = workers_per_order.get(order, 0) + 1
        check = self.failures.append
        declined_but_paid = sorted(tally.told_declined & deducted)
        if declined_but_paid:
            check(f"{self.name}: the cron re-run was told 'declined' for {len(declined_but_paid)} orders "
                  f"that are paid: {declined_but_paid[:10]}")
        # Every worker that had a paid order in its list was told it was paid (the gateway's
        # "already paid"), or got one of the chaos gateway's refusals that come before the order
        # is looked at (rate limit, 503, a dropped connection: these count in payCallsAfterPaid
        # too, so the ledger's count is reported, not checked per order).
        told_otherwise = sorted((deducted & {k for k in workers_per_order}) - tally.told_paid
                                - tally.told_other)
        if told_otherwise:
            check(f"{self.name}: the cron re-run was told neither paid nor a chaos refusal for paid orders: "
                  f"{told_otherwise[:10]}")
        return {
            "workers": len(slots),
            "calls": tally.calls,
            "calls_by_outcome": dict(sorted(tally.by_outcome.items())),
            "calls_into_paid_orders": sum(stats["payCallsAfterPaidByOrder"].values()) - sum(before.values()),
            "deducted_orders_told_declined": len(declined_but_paid),
            "seconds": figures["seconds"],
        }

    def verify(self) -> Dict[str, Any]:
        a = self.args
        stats = self.sandbox.stats()
        client = self.journal_client()
        records = client.payment_records()
        del client
        state = {r.order_id: r.state for r in records}
        deductions = {k: v for k, v in stats["deductions"].items() if v > 0}
        ours = set(self.orders)
        check = self.failures.append

        twice = {k: v for k, v in deductions.items() if v > 1}
        if twice:
            check(f"{self.name}: orders deducted more than once: {sorted(twice.items())[:10]}")
        if stats["payCallsAfterPaid"] != 0:
            by_order = sorted(stats["payCallsAfterPaidByOrder"].items())[:10]
            check(f"{self.name}: {stats['payCallsAfterPaid']} payment calls for orders already "
                  f"deducted (payCallsAfterPaid), e.g. {by_order}")
        lost = sorted(k for k in deductions if state.get(k) not in ("paid", "unknown"))
        if lost:
            check(f"{self.name}: {len(lost)} deducted orders that the journal does not hold as paid or "
                  f"unknown: {[(k, state.get(k)) for k in lost[:10]]}")
        paid_not_once = sorted(k for k, s in state.items() if s == "paid" and deductions.get(k) != 1)
        if paid_not_once:
            check(f"{self.name}: {len(paid_not_once)} orders paid in the journal but not deducted "
                  f"exactly once: {[(k, deductions.get(k, 0)) for k in paid_not_once[:10]]}")
        told_not_deducted = sorted(k for k in self.tally.told_paid if deductions.get(k) != 1)
        if told_not_deducted:
            check(f"{self.name}: {len(told_not_deducted)} orders a worker was told were paid but that "
                  f"were not deducted: {told_not_deducted[:10]}")
        still = sorted(k for k, s in state.items() if s == "in_flight")
        if still:
            check(f"{self.name}: {len(still)} orders still in_flight after the final pass: {still[:10]}")
        strangers = sorted(set(state) - ours) + sorted(set(stats["payCalls"]) - ours)
        if strangers:
            check(f"{self.name}: records or payments of orders not in the run: {strangers[:10]}")
        if self.tally.slowest_ms > self.hang_s() * 1000:
            check(f"{self.name}: a call took {self.tally.slowest_ms:.0f} ms, past the "
                  f"{self.hang_s():.1f} s a payment may take")
        if self.tally.unexpected:
            check(f"{self.name}: unexpected outcomes: {self.tally.unexpected}")
        if stats["requestsWithSecret"]:
            check(f"{self.name}: {stats['requestsWithSecret']} requests carried the secret")
        kills = self.chaos_figures.get("kills", 0)
        if kills < 30:
            check(f"{self.name}: only {kills} kills (at least 30 required)")
        if len(self.slots) < 6 or len({s.kind for s in self.slots}) < 2 or len(self.orders) < 300:
            check(f"{self.name}: the fleet is smaller than the issue asks (6 workers, 2 languages, 300 orders)")

        final_states: Dict[str, int] = {}
        for s in state.values():
            final_states[s] = final_states.get(s, 0) + 1
        final_states["no_record"] = len(ours - set(state))
        expired = [r.order_id for r in records if r.state == "unknown"
                   and "before it recorded an outcome" in (r.message or "")]
        unknown_deducted = sum(1 for k, s in state.items() if s == "unknown" and deductions.get(k))
        slots = self.slots
        return {
            "journal": self.name,
            "ok": not self.failures,
            "seed": a.seed,
            "orders": len(self.orders),
            "workers": {k: sum(1 for s in slots if s.kind == k) for k in ("python", "cli", "node")},
            "orders_per_worker": self.list_sizes,
            "kills": kills,
            "kills_after_a_result": sum(s.kills_after_first_result for s in slots),
            "kills_by_kind": {k: sum(s.kills for s in slots if s.kind == k) for k in ("python", "cli", "node")},
            "restarts": sum(s.spawns for s in slots) - len(slots),
            "reruns_after_finishing": sum(s.reruns for s in slots),
            "hung_workers": sum(s.hangs for s in slots),
            "calls": self.tally.calls,
            "calls_by_kind": self.tally.by_kind,
            "calls_by_outcome": dict(sorted(self.tally.by_outcome.items())),
            "replayed": self.tally.replayed,
            "slowest_call_ms": self.tally.slowest_ms,
            "hang_limit_s": self.hang_s(),
            "sandbox": {
                "requests": stats["requests"],
                "pay_calls": sum(stats["payCalls"].values()),
                "orders_deducted": len(deductions),
                "deducted_twice": len(twice),
                "pay_calls_after_paid": stats["payCallsAfterPaid"],
                "peak_in_flight": stats["peakInFlight"],
                "faults": stats["faults"],
                "faults_total": sum(stats["faults"].values()),
            },
            "final_states": dict(sorted(final_states.items())),
            "unknown_deducted": unknown_deducted,
            "unknown_not_deducted": final_states.get("unknown", 0) - unknown_deducted,
            "claims_expired_after_kills": len(expired),
            "of_which_deducted": sum(1 for k in expired if deductions.get(k)),
            "lease_wait_s": self.sweep_figures.get("lease_wait_s"),
            "fleet_s": self.chaos_figures.get("seconds"),
            "final_pass_s": self.sweep_figures.get("seconds"),
        }

    def stop(self) -> None:
        for slot in self.slots:
            if slot.running():
                slot.kill()
        self.sandbox.stop()


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journals", default="postgres,sqlite")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--orders", type=int, default=360)
    parser.add_argument("--hot", type=int, default=12, help="orders in every worker's list")
    parser.add_argument("--kills", type=int, default=36)
    parser.add_argument("--python", type=int, default=3)
    parser.add_argument("--cli", type=int, default=3)
    parser.add_argument("--node", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=300,
                        help="added by the sandbox to every answer, so that kills find payments under way")
    parser.add_argument("--timeout-ms", type=int, default=1500)
    parser.add_argument("--max-retries", type=int, default=2)
    parser.add_argument("--backoff-cap-ms", type=int, default=100)
    parser.add_argument("--hang-margin-s", type=float, default=5.0)
    parser.add_argument("--deadline-s", type=float, default=150.0)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    began = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="dajisaas-fleet-"))
    tools = freeze_tools(tmp, args.node > 0)
    runs: List[Run] = []
    databases: List[Tuple[str, str]] = []
    summaries: List[Dict[str, Any]] = []
    try:
        for name in args.journals.split(","):
            if name == "postgres":
                admin_url, ca = postgres_server()
                journal, db = fresh_postgres_journal(admin_url, ca, "fleet")
                databases.append((admin_url, db))
            elif name == "sqlite":
                journal = f"sqlite://{tmp / 'journal.db'}"
            else:
                sys.exit(f"fleet: unknown journal {name!r} (postgres or sqlite)")
            run = Run(name, journal, args, tools, tmp)
            runs.append(run)
            run.chaos()
        # The leases of one run run out while the next one's fleet works.
        for run in runs:
            run.sweep()
            summary = run.verify()
            summary["cron_rerun"] = run.cron_rerun()
            summary["ok"] = not run.failures
            summaries.append(summary)
            print(json.dumps(summary), flush=True)
    finally:
        for run in runs:
            run.stop()
        for admin_url, db in databases:
            drop_database(admin_url, db)
    failures = [f for run in runs for f in run.failures]
    wall = time.monotonic() - began
    print(json.dumps({"total_wall_s": round(wall, 1), "runs": [s["journal"] for s in summaries],
                      "ok": not failures}), flush=True)
    return verdict("fleet chaos", failures, tmp, args.keep, f"{len(runs)} runs, {round(wall, 1)} s")


if __name__ == "__main__":
    sys.exit(main())
