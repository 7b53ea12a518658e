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
