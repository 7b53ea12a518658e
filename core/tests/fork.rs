//! A client made before `fork()` works in the children: each builds its own runtime and HTTP
//! client on its first call instead of waiting forever on the parent's threads.

mod common;

use std::time::{Duration, Instant};

use common::{TIMEOUT, client, sandbox};
use dajisaas::Client;

/// Runs in a child: a link and a payment with the inherited client, then a client made and freed
/// in the child. Each call must answer within the client's timeout (plus scheduling slack).
fn child_calls(inherited: &Client, sandbox_url: &str, n: u64) -> bool {
    let within = |started: Instant| started.elapsed() < TIMEOUT + Duration::from_millis(500);
    let started = Instant::now();
    let link = inherited.pay_url(&["2257455039610311973"]).is_ok() && within(started);
    let started = Instant::now();
    let paid = inherited
        .prepare_pay(&(2_257_164_624_870_300_000 + n).to_string())
        .is_ok_and(|p| p.attempts == 1)
        && within(started);
    let own = dajisaas::Client::builder(
        dajisaas_sandbox::DEFAULT_APP_KEY,
        dajisaas_sandbox::DEFAULT_APP_SECRET,
    )
    .base_url(sandbox_url)
    .timeout(TIMEOUT)
    .build()
    .is_ok_and(|c| c.pay_url(&["2257455039610311974"]).is_ok());
    link && paid && own
}

#[test]
fn a_client_made_before_fork_works_in_four_children() {
    let sb = sandbox();
    let c = client(&sb);
    // The parent's runtime threads and a pooled connection exist before the fork.
    c.pay_url(&["2257455039610311973"]).unwrap();
    let mut children = Vec::new();
    for n in 0..4 {
        // SAFETY: the child only calls the library and then _exit()s, running no destructor
        // of the parent's objects (the in-process sandbox's threads exist only in the parent).
        match unsafe { libc::fork() } {
            -1 => panic!("fork failed"),
            0 => {
                let ok = child_calls(&c, &sb.url(), n);
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            pid => children.push(pid),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut statuses = Vec::new();
    for &pid in &children {
        let mut status = 0;
        while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } != pid {
            if Instant::now() > deadline {
                for &child in &children {
                    unsafe { libc::kill(child, libc::SIGKILL) };
                    unsafe { libc::waitpid(child, std::ptr::null_mut(), 0) };
                }
                panic!("child {pid} hung after fork");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        statuses.push(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
    assert_eq!(statuses, [true; 4], "every child's calls succeed in time");
    // The parent's client is untouched by its children.
    assert!(c.pay_url(&["2257455039610311975"]).is_ok());
    let stats = sb.stats();
    assert_eq!(
        (0..4u64)
            .map(|n| (2_257_164_624_870_300_000 + n).to_string())
            .filter(|id| stats.deductions.get(id) == Some(&1))
            .count(),
        4
    );
}

/// Issue 20 (f): fork while four threads are inside journal calls (the journal's locks, the
/// client's I/O, the pace), 20 rounds: each child's own journal call answers within its bound
/// (a record, or at worst a `journal` error at the deadline), never waits on a lock a parent
/// thread held. The memory journal and SQLite.
#[test]
fn fork_while_four_threads_are_inside_journal_calls() {
    let sb = sandbox();
    let dir = std::env::temp_dir().join(format!("dajisaas-fork-busy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = format!("sqlite://{}", dir.join("journal.db").display());
    for journal in ["memory:fork-busy", sqlite.as_str()] {
        let c = common::builder(&sb)
            .journal(journal)
            .journal_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let id = "2257164624870310555";
        c.resolve_payment(id, true, "recorded before the forks")
            .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let busy: Vec<_> = (0..4)
            .map(|_| {
                let (c, stop) = (c.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = c.payment_records(None);
                        let _ = c.payment_record(id);
                    }
                })
            })
            .collect();
        for round in 0..20 {
            std::thread::sleep(Duration::from_millis(5));
            // SAFETY: the child only calls the library and then _exit()s.
            match unsafe { libc::fork() } {
                -1 => panic!("fork failed"),
                0 => {
                    let started = Instant::now();
                    let answered = match c.payment_record(id) {
                        Ok(record) => record.is_some_and(|r| r.state == dajisaas::State::Paid),
                        Err(e) => e.code() == dajisaas::ErrorCode::Journal,
                    };
                    let in_time =
                        started.elapsed() < Duration::from_secs(2) + Duration::from_millis(1500);
                    unsafe { libc::_exit(if answered && in_time { 0 } else { 1 }) }
                }
                pid => {
                    let deadline = Instant::now() + Duration::from_secs(30);
                    let mut status = 0;
                    while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } != pid {
                        if Instant::now() > deadline {
                            unsafe { libc::kill(pid, libc::SIGKILL) };
                            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                            panic!("{journal}: round {round}: the child hung after fork");
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    assert!(
                        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                        "{journal}: round {round}: the child's journal call failed or was late"
                    );
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for thread in busy {
            thread.join().unwrap();
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
