//! The SQLite journal's failures are `journal` errors (code 12) naming the file: a directory
//! where the file cannot be created, a corrupt file, a full disk; and one file reached through
//! two paths is one journal.
//!
//! The faults are real. A read-only directory: `chmod 0555` does not stop root, so when the
//! tests run as root (CI) the directory is a read-only tmpfs mount instead; a full disk is a
//! 256 KiB tmpfs. Mounting needs root (CAP_SYS_ADMIN): without it those tests fail, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dajisaas::{ClaimOutcome, ErrorCode, Holder, Outcome, Owner, Scope, State, open_journal};
use serde_json::json;

const LONG: Duration = Duration::from_secs(300);

fn scope() -> Scope {
    Scope::new("https://openapi.dajisaas.com", "app-test")
}

fn holder(name: &str) -> Holder {
    Holder::new(Owner {
        host: format!("host-{name}"),
        pid: 1000,
        client_id: format!("client-{name}"),
    })
}

/// A directory of its own, removed (and unmounted, if a test mounted it) at the end.
struct Dir {
    path: PathBuf,
    mounted: Vec<PathBuf>,
}

impl Dir {
    fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "dajisaas-journal-errors-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Dir {
            path,
            mounted: Vec::new(),
        }
    }

    /// A tmpfs with `options` mounted on the subdirectory `name`.
    fn mount_tmpfs(&mut self, name: &str, options: &str) -> PathBuf {
        let at = self.path.join(name);
        std::fs::create_dir_all(&at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&at)
            .status()
            .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
        assert!(
            status.success(),
            "mount -t tmpfs -o {options} tmpfs {} failed ({status}): this test needs root \
             (CAP_SYS_ADMIN) to mount a small file system",
            at.display()
        );
        self.mounted.push(at.clone());
        at
    }

    /// `from` mounted read-only (a bind mount) on the subdirectory `name`.
    fn bind_read_only(&mut self, from: &Path, name: &str) -> PathBuf {
        let at = self.path.join(name);
        std::fs::create_dir_all(&at).unwrap();
        let run = |args: &[&str]| {
            let status = Command::new("mount")
                .args(args)
                .status()
                .unwrap_or_else(|e| panic!("cannot run mount: {e}"));
            assert!(
                status.success(),
                "mount {args:?} failed ({status}): this test needs root (CAP_SYS_ADMIN)"
            );
        };
        let (from_text, at_text) = (from.display().to_string(), at.display().to_string());
        run(&["--bind", &from_text, &at_text]);
        self.mounted.push(at.clone());
        run(&["-o", "remount,bind,ro", &at_text]);
        at
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        for at in self.mounted.drain(..).rev() {
            let _ = Command::new("umount").arg("-l").arg(&at).status();
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn url_of(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

fn paid(trace: &str, data_bytes: usize) -> Outcome {
    Outcome::Paid {
        attempts: 1,
        trace_ids: vec![trace.to_string()],
        pay_channel: Some("alipay".into()),
        data: Some(json!({"success": true, "padding": "p".repeat(data_bytes)})),
        already_paid: false,
    }
}

fn assert_journal_error(e: &dajisaas::Error, file: &Path) {
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    eprintln!("journal error: {e}");
    let name = file.display().to_string();
    assert!(e.message().contains(&name), "the message names {name}: {e}");
}

/// The first error of opening the journal and using it (a fault shows at the open or at the
/// first step that reads the file, depending on where it is).
async fn first_error(url: &str) -> dajisaas::Error {
    let store = match open_journal(url) {
        Ok(store) => store,
        Err(e) => return e,
    };
    if let Err(e) = store.check().await {
        return e;
    }
    if let Err(e) = store.list(&scope(), None).await {
        return e;
    }
    match store.claim(&scope(), "1", &holder("a"), LONG).await {
        Err(e) => e,
        Ok(outcome) => panic!("the journal {url} worked: {outcome:?}"),
    }
}

/// A directory where the file cannot be created: `journal`, naming the file.
#[tokio::test]
async fn read_only_directory_is_a_journal_error() {
    let mut dir = Dir::new();
    // chmod 0555 where it stops this user (not root); a read-only mount otherwise.
    let plain = dir.path.join("ro");
    std::fs::create_dir_all(&plain).unwrap();
    let mut perms = std::fs::metadata(&plain).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&plain, perms).unwrap();
    let probe = std::fs::File::create(plain.join("probe"));
    let ro = if probe.is_err() {
        plain
    } else {
        // Root ignores the mode bits (CAP_DAC_OVERRIDE).
        dir.mount_tmpfs("ro-mount", "ro,size=64k")
    };
    assert!(
        std::fs::File::create(ro.join("probe")).is_err(),
        "{} is read-only",
        ro.display()
    );
    let file = ro.join("payments.db");
    let e = open_journal(&url_of(&file)).unwrap_err();
    assert_journal_error(&e, &file);
    assert!(!file.exists());
}

/// An existing journal on a read-only file system (a read-only bind mount of its directory):
/// the first write is `journal`, naming the file; nothing is written.
#[tokio::test]
async fn journal_on_a_read_only_mount_is_a_journal_error() {
    let mut dir = Dir::new();
    let rw = dir.path.join("rw");
    std::fs::create_dir_all(&rw).unwrap();
    let a = holder("a");
    let sc = scope();
    let kept = {
        let store = open_journal(&url_of(&rw.join("payments.db"))).unwrap();
        store.claim(&sc, "11", &a, LONG).await.unwrap();
        store
            .record_outcome(&sc, "11", &a, paid("t", 10))
            .await
            .unwrap()
    };
    let ro = dir.bind_read_only(&rw, "ro");
    let file = ro.join("payments.db");
    let e = match open_journal(&url_of(&file)) {
        Err(e) => e,
        Ok(store) => store.claim(&sc, "12", &a, LONG).await.unwrap_err(),
    };
    assert_journal_error(&e, &file);
    // Nothing was written: the journal through its writable path is as it was.
    let store = open_journal(&url_of(&rw.join("payments.db"))).unwrap();
    assert_eq!(store.get(&sc, "11").await.unwrap(), Some(kept));
    assert_eq!(store.get(&sc, "12").await.unwrap(), None);
}

/// A file that is not a SQLite database, and a database whose pages were overwritten.
#[tokio::test]
async fn corrupt_file_is_a_journal_error() {
    let dir = Dir::new();
    // Garbage from the first byte.
    let file = dir.path.join("garbage.db");
    let garbage: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &garbage).unwrap();
    let e = first_error(&url_of(&file)).await;
    assert_journal_error(&e, &file);
    assert!(
        e.message().contains("not a readable SQLite database"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the file is left as it was"
    );

    // A real journal, its pages after the header overwritten.
    let file = dir.path.join("payments.db");
    {
        let store = open_journal(&url_of(&file)).unwrap();
        let a = holder("a");
        for id in ["21", "22", "23"] {
            store.claim(&scope(), id, &a, LONG).await.unwrap();
            store
                .record_outcome(&scope(), id, &a, paid("t", 2000))
                .await
                .unwrap();
        }
    }
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 4096, "the journal has several pages");
    for (i, b) in bytes.iter_mut().enumerate().skip(100) {
        *b = (i % 251) as u8 ^ 0xA5;
    }
    std::fs::write(&file, &bytes).unwrap();
    let e = first_error(&url_of(&file)).await;
    assert_journal_error(&e, &file);
}

/// A full disk (a 256 KiB tmpfs): writing records ends in a `journal` error naming the file;
/// the step that failed left nothing half-written, and reads still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_is_a_journal_error() {
    let mut dir = Dir::new();
    let fs = dir.mount_tmpfs("small", "size=256k");
    let file = fs.join("payments.db");
    let store = open_journal(&url_of(&file)).unwrap();
    let sc = scope();
    let a = holder("a");
    let mut failure = None;
    let mut done = 0;
    for n in 0..2000u32 {
        let id = format!("{}", 100_000 + n);
        let step = match store.claim(&sc, &id, &a, LONG).await {
            Err(e) => Err((e, id.clone(), None)),
            Ok(outcome) => {
                assert!(matches!(outcome, ClaimOutcome::Claimed(_)), "{outcome:?}");
                store
                    .record_outcome(&sc, &id, &a, paid(&format!("t{n}"), 3000))
                    .await
                    .map_err(|e| (e, id.clone(), Some(State::InFlight)))
            }
        };
        match step {
            Ok(_) => done += 1,
            Err(failed) => {
                failure = Some(failed);
                break;
            }
        }
    }
    let (e, id, state_before) = failure.expect("256 KiB fill up");
    assert!(done > 0 && done < 2000, "{done} payments recorded");
    assert_journal_error(&e, &file);
    assert!(e.message().contains("full"), "{e}");
    // The failed step changed nothing: the order is as the step found it.
    let now = store.get(&sc, &id).await.unwrap();
    assert_eq!(now.map(|r| r.state), state_before);
    let paid_count = store.list(&sc, Some(State::Paid)).await.unwrap().len();
    assert_eq!(paid_count, done);
}

/// One file reached through a symbolic link and through its real path, in one process, is one
/// journal: the same URL (the real path), the same records.
#[tokio::test]
async fn a_file_through_a_link_is_one_journal() {
    let dir = Dir::new();
    let real_dir = dir.path.join("real");
    std::fs::create_dir_all(&real_dir).unwrap();
    let real = real_dir.join("payments.db");
    let file_link = dir.path.join("link.db");
    let dir_link = dir.path.join("linked-dir");
    let via_real = open_journal(&url_of(&real)).unwrap();
    std::os::unix::fs::symlink(&real, &file_link).unwrap();
    std::os::unix::fs::symlink(&real_dir, &dir_link).unwrap();
    let via_file_link = open_journal(&url_of(&file_link)).unwrap();
    let via_dir_link = open_journal(&url_of(&dir_link.join("payments.db"))).unwrap();
    let canonical = std::fs::canonicalize(&real).unwrap();
    assert_eq!(via_real.url(), url_of(&canonical));
    assert_eq!(via_file_link.url(), via_real.url());
    assert_eq!(via_dir_link.url(), via_real.url());

    let sc = scope();
    let a = holder("a");
    let claimed = match via_file_link.claim(&sc, "31", &a, LONG).await.unwrap() {
        ClaimOutcome::Claimed(r) => r,
        other => panic!("{other:?}"),
    };
    for store in [&via_real, &via_dir_link] {
        assert_eq!(store.get(&sc, "31").await.unwrap(), Some(claimed.clone()));
        // This process's own claim, seen through the other path: a payment under way here.
        let outcome = store.claim(&sc, "31", &holder("a"), LONG).await.unwrap();
        assert!(
            matches!(outcome, ClaimOutcome::InProgressHere(_)),
            "{outcome:?}"
        );
    }
    via_real
        .record_outcome(&sc, "31", &a, paid("t", 10))
        .await
        .unwrap();
    assert_eq!(
        via_dir_link.get(&sc, "31").await.unwrap().unwrap().state,
        State::Paid
    );
}
