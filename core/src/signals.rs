//! The library's threads never take the host's asynchronous signals.
//!
//! A signal sent to the process (`kill`, a terminal's Ctrl-C, `alarm`) is delivered to any one
//! thread that does not block it. A program that blocks SIGTERM in its own threads and waits for
//! it with `sigwait` (the classic daemon) relies on every other thread blocking it too; a thread
//! that a library started with the default mask would take the signal and run its default action
//! (for SIGTERM: end the process), or a handler that was never meant to run there. So every thread
//! this library starts blocks every signal but the synchronous ones, which the kernel sends to the
//! thread that caused them and which cannot be blocked usefully: SIGSEGV, SIGBUS, SIGFPE, SIGILL,
//! SIGTRAP, SIGSYS, and SIGABRT (raised by `abort()` on the calling thread).
//!
//! A thread's mask is inherited by the threads it creates, so blocking at the start of each of the
//! library's threads covers those they start in turn.

/// Blocks every asynchronous signal in the calling thread. Call it first thing in every thread the
/// library starts (tokio's `on_thread_start`, `std::thread::Builder::spawn` closures). A failure
/// (impossible with these arguments) leaves the mask as it was.
#[cfg(unix)]
pub(crate) fn block_async_signals() {
    const SYNCHRONOUS: [libc::c_int; 7] = [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGSYS,
        libc::SIGABRT,
    ];
    // SAFETY: `set` is a local sigset_t initialised by sigfillset before any other use;
    // pthread_sigmask only reads it and changes the calling thread's mask.
    unsafe {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        if libc::sigfillset(set.as_mut_ptr()) != 0 {
            return;
        }
        for signal in SYNCHRONOUS {
            libc::sigdelset(set.as_mut_ptr(), signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut());
    }
}

/// Signals are a Unix notion: nothing to block elsewhere.
#[cfg(not(unix))]
pub(crate) fn block_async_signals() {}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn blocked(signal: libc::c_int) -> bool {
        // SAFETY: reads the calling thread's mask into a local set.
        unsafe {
            let mut set = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), set.as_mut_ptr());
            libc::sigismember(set.as_ptr(), signal) == 1
        }
    }

    #[test]
    fn asynchronous_signals_are_blocked_and_synchronous_ones_not() {
        std::thread::spawn(|| {
            assert!(!blocked(libc::SIGTERM));
            block_async_signals();
            for signal in [
                libc::SIGTERM,
                libc::SIGINT,
                libc::SIGALRM,
                libc::SIGUSR1,
                libc::SIGCHLD,
            ] {
                assert!(blocked(signal), "{signal}");
            }
            for signal in [
                libc::SIGSEGV,
                libc::SIGBUS,
                libc::SIGFPE,
                libc::SIGILL,
                libc::SIGABRT,
            ] {
                assert!(!blocked(signal), "{signal}");
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_runtime_threads_block_them() {
        let shared = crate::runtime::SharedRuntime::acquire().unwrap();
        let on_worker = shared
            .block_on(async { Ok((blocked(libc::SIGTERM), blocked(libc::SIGSEGV))) })
            .unwrap();
        assert_eq!(on_worker, (true, false));
    }
}
