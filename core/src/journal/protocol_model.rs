//! The claim / fence / send / record / expire / resolve protocol, checked exhaustively with
//! stateright, driving the stores' own state machine ([`Op::apply`]) rather than a copy of it.
//!
//! Three workers (separate processes) try to pay one order; each may be paused anywhere but
//! between its fence and its request's first byte (the documented window, shorter than the
//! fence's margin), its claim's reply may be lost, its lease may run out; the gateway may
//! decline, deduct, or deduct and lose the answer; an operator resolves unknown outcomes
//! truthfully (paid when the ledger shows a deduction, not paid otherwise), at any time.
//!
//! Properties: no request is sent under a claim that is not the order's current one; a
//! recorded outcome never replaces a newer claim's; the order is never deducted twice and no
//! request reaches the gateway after it was deducted. Without the fence, the checker finds the
//! paused-worker counterexample (tested below).

use std::time::Duration;

use stateright::{Checker, Model, Property};

use super::{ClaimOutcome, Holder, Outcome, Owner, Reply, Resolver, Scope, State, Stored};
use crate::journal::{Change, Op};

const ORDER: &str = "2257164624870311973";
const WORKERS: usize = 3;
/// One tick of the model's clock, in ms; the lease is 2.5 ticks, so the fence's margin (a
/// quarter of it) is shorter than a tick, as the window is.
const TICK_MS: i64 = 1000;
const LEASE: Duration = Duration::from_millis(2500);
const LAST_TICK: i64 = 4;
const RESOLUTIONS: u8 = 2;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Worker {
    Idle,
    /// Holds (or believes it holds) a claim; `attempt` requests sent so far.
    Claimed {
        attempt: u8,
    },
    /// Fenced: its request goes out next, with no pause in between.
    Armed {
        attempt: u8,
    },
    /// Its request went out: the outcome to record.
    Sent {
        outcome: Sent,
    },
    /// Its claim's reply was lost: it looks the claim up and releases it.
    Lost,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Sent {
    Paid,
    Declined,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Action {
    Claim(usize),
    ClaimReplyLost(usize),
    Fence(usize),
    Send(usize, Gateway),
    Retry(usize),
    Record(usize),
    LookUpAndRelease(usize),
    Tick,
    Resolve,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Gateway {
    /// Deducts (or, when the order was paid, answers "already paid") and answers.
    Answers,
    /// Declines: nothing deducted.
    Declines,
    /// Deducts, and the answer is lost.
    LosesTheAnswer,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct World {
    /// The order's row, as the memory store keeps it (JSON text: hashable).
    row: Option<(String, bool, Option<String>)>,
    now: i64,
    workers: Vec<Worker>,
    deductions: u8,
    calls_after_paid: u8,
    resolutions: u8,
    /// A request was sent under a claim that was not the order's current one.
    stale_send: bool,
    /// An outcome was recorded over a newer claim.
    stale_record: bool,
}

struct ProtocolModel {
    /// The fence before each send; off, to show that the checker finds what it prevents.
    fence: bool,
}

fn holder(worker: usize) -> Holder {
    Holder {
        owner: Owner {
            host: "model".into(),
            pid: worker as u32 + 1,
            client_id: format!("worker-{worker}"),
        },
        claim_id: format!("claim-{worker}"),
    }
}

fn scope() -> Scope {
    Scope::new("https://gateway.example:443", "app")
}

fn stored(world: &World) -> Option<Stored> {
    world.row.as_ref().map(|(record, claim_open, prev)| {
        let record = Stored::parse_prev(Some(record)).unwrap().unwrap();
        Stored {
            record: *record,
            claim_open: *claim_open,
            prev: Stored::parse_prev(prev.as_deref()).unwrap(),
        }
    })
}

/// Runs `op` through the stores' state machine; `Err` leaves the row as it was.
fn apply(world: &mut World, op: Op) -> crate::Result<Reply> {
    let (reply, change) = op.apply(&scope(), ORDER, world.now * TICK_MS, stored(world))?;
    match change {
        Change::Keep => {}
        Change::Put(s) => {
            world.row = Some((s.record.to_json().to_string(), s.claim_open, s.prev_json()));
        }
        Change::Delete => world.row = None,
    }
    Ok(reply)
}

fn is_current(world: &World, worker: usize) -> bool {
    stored(world).is_some_and(|s| {
        s.record.state == State::InFlight
            && s.record.claim_id.as_deref() == Some(holder(worker).claim_id.as_str())
            && s.record
                .lease_until
                .is_some_and(|until| super::to_millis(until) > world.now * TICK_MS)
    })
}

impl Model for ProtocolModel {
    type State = World;
    type Action = Action;

    fn init_states(&self) -> Vec<World> {
        vec![World {
            row: None,
            now: 0,
            workers: vec![Worker::Idle; WORKERS],
            deductions: 0,
            calls_after_paid: 0,
            resolutions: 0,
            stale_send: false,
            stale_record: false,
        }]
    }

    fn actions(&self, world: &World, actions: &mut Vec<Action>) {
        for (i, worker) in world.workers.iter().enumerate() {
            match worker {
                Worker::Idle => {
                    actions.push(Action::Claim(i));
                    actions.push(Action::ClaimReplyLost(i));
                }
                Worker::Claimed { .. } => actions.push(Action::Fence(i)),
                Worker::Armed { .. } => {
                    for answer in [Gateway::Answers, Gateway::Declines, Gateway::LosesTheAnswer] {
                        actions.push(Action::Send(i, answer));
                    }
                }
                Worker::Sent {
                    outcome: Sent::Declined,
                } => {
                    actions.push(Action::Retry(i));
                    actions.push(Action::Record(i));
                }
                Worker::Sent { .. } => actions.push(Action::Record(i)),
                Worker::Lost => actions.push(Action::LookUpAndRelease(i)),
                Worker::Done => {}
            }
        }
        // Time passes (anyone may be paused), except between a fence and its send.
        let armed = world
            .workers
            .iter()
            .any(|w| matches!(w, Worker::Armed { .. }));
        if world.now < LAST_TICK && !armed {
            actions.push(Action::Tick);
        }
        if world.resolutions < RESOLUTIONS && world.row.is_some() {
            actions.push(Action::Resolve);
        }
    }

    fn next_state(&self, last: &World, action: Action) -> Option<World> {
        let mut world = last.clone();
        match action {
            Action::Claim(i) | Action::ClaimReplyLost(i) => {
                let op = Op::Claim {
                    holder: holder(i),
                    lease: LEASE,
                };
                let claimed = matches!(
                    apply(&mut world, op),
                    Ok(Reply::Claim(ClaimOutcome::Claimed(_)))
                );
                world.workers[i] = match (claimed, action) {
                    (_, Action::ClaimReplyLost(_)) => Worker::Lost,
                    (true, _) => Worker::Claimed { attempt: 0 },
                    (false, _) => Worker::Done,
                };
            }
            Action::Fence(i) => {
                let Worker::Claimed { attempt } = world.workers[i] else {
                    return None;
                };
                let confirmed = !self.fence
                    || apply(
                        &mut world,
                        Op::Fence {
                            holder: holder(i),
                            lease: LEASE,
                        },
                    )
                    .is_ok();
                world.workers[i] = if confirmed {
                    Worker::Armed { attempt }
                } else if attempt == 0 {
                    // Nothing was sent: give the claim back if it is still ours.
                    let _ = apply(&mut world, Op::Release { holder: holder(i) });
                    Worker::Done
                } else {
                    // An earlier attempt was declined: that is the outcome.
                    Worker::Sent {
                        outcome: Sent::Declined,
                    }
                };
            }
            Action::Send(i, answer) => {
                let Worker::Armed { .. } = world.workers[i] else {
                    return None;
                };
                if !is_current(&world, i) {
                    world.stale_send = true;
                }
                if world.deductions > 0 {
                    world.calls_after_paid += 1;
                }
                let outcome = match answer {
                    Gateway::Declines if world.deductions == 0 => Sent::Declined,
                    Gateway::LosesTheAnswer => {
                        world.deductions = world.deductions.max(1);
                        Sent::Unknown
                    }
                    // Deducted, or answered "already paid": paid either way.
                    _ => {
                        world.deductions = world.deductions.max(1);
                        Sent::Paid
                    }
                };
                world.workers[i] = Worker::Sent { outcome };
            }
            Action::Retry(i) => {
                // A declined attempt is tried again under the same claim, fenced again.
                world.workers[i] = match world.workers[i] {
                    Worker::Sent { .. } => Worker::Claimed { attempt: 1 },
                    _ => return None,
                };
            }
            Action::Record(i) => {
                let Worker::Sent { outcome } = world.workers[i].clone() else {
                    return None;
                };
                let before = stored(&world);
                let outcome = match outcome {
                    Sent::Paid => Outcome::Paid {
                        attempts: 1,
                        trace_ids: vec![],
                        pay_channel: None,
                        data: None,
                        already_paid: false,
                    },
                    Sent::Declined => Outcome::Declined {
                        attempts: 1,
                        trace_ids: vec![],
                        error_code: "payment_declined".into(),
                        message: "declined".into(),
                    },
                    Sent::Unknown => Outcome::Unknown {
                        attempts: 1,
                        trace_ids: vec![],
                        error_code: "payment_outcome_unknown".into(),
                        message: "lost".into(),
                    },
                };
                let recorded = apply(
                    &mut world,
                    Op::Record {
                        holder: holder(i),
                        outcome,
                    },
                )
                .is_ok();
                let ours = before.is_some_and(|s| {
                    s.record.claim_id.as_deref() == Some(holder(i).claim_id.as_str())
                });
                if recorded && !ours {
                    world.stale_record = true;
                }
                world.workers[i] = Worker::Done;
            }
            Action::LookUpAndRelease(i) => {
                // The claim id finds the claim if it landed; nothing was sent.
                let _ = apply(&mut world, Op::Release { holder: holder(i) });
                world.workers[i] = Worker::Done;
            }
            Action::Tick => world.now += 1,
            Action::Resolve => {
                // A truthful operator: the ledger says whether the order was deducted.
                let by = Resolver {
                    host: "operator".into(),
                    pid: 99,
                    user: None,
                };
                let op = Op::Resolve {
                    paid: world.deductions > 0,
                    note: String::new(),
                    by,
                };
                apply(&mut world, op).ok()?;
                world.resolutions += 1;
            }
        }
        Some(world)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(
                "no request under a claim that is not current",
                |_, w: &World| !w.stale_send,
            ),
            Property::always("no outcome over a newer claim", |_, w: &World| {
                !w.stale_record
            }),
            Property::always(
                "never deducted twice, nothing sent after",
                |_, w: &World| w.deductions <= 1 && w.calls_after_paid == 0,
            ),
        ]
    }
}

#[test]
fn the_protocol_holds_in_every_interleaving() {
    let checker = ProtocolModel { fence: true }.checker().spawn_bfs().join();
    assert!(checker.unique_state_count() > 1000, "a trivial model");
    checker.assert_properties();
}

#[test]
fn without_the_fence_a_paused_worker_sends_under_a_lost_claim() {
    let checker = ProtocolModel { fence: false }.checker().spawn_bfs().join();
    let found = checker.discovery("no request under a claim that is not current");
    assert!(found.is_some(), "the checker should find the paused worker");
}
