//! The system's root certificates are read once per process, when the first HTTPS client is
//! built, and shared: building any other client opens no file. Counted honestly, with inotify on
//! a certificate directory of the test's own (SSL_CERT_DIR): every file the loader opens there is
//! an IN_OPEN event.
//!
//! One test in this file: the process must not have built a client before it starts.

#![cfg(target_os = "linux")]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use dajisaas::Client;
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

/// Opens of files in one directory, as inotify reports them.
struct Opens {
    fd: i32,
}

impl Opens {
    fn watch(dir: &Path) -> Opens {
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        assert!(fd >= 0, "inotify_init1");
        let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let wd = unsafe { libc::inotify_add_watch(fd, path.as_ptr(), libc::IN_OPEN) };
        assert!(wd >= 0, "inotify_add_watch");
        Opens { fd }
    }

    /// Files (not the directory itself) opened since the last call.
    fn files_opened(&self) -> usize {
        let mut count = 0;
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = unsafe { libc::read(self.fd, buffer.as_mut_ptr().cast(), buffer.len()) };
            if n <= 0 {
                return count;
            }
            let mut at = 0;
            while at < n as usize {
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buffer[at..].as_ptr().cast()) };
                if event.mask & libc::IN_ISDIR == 0 {
                    count += 1;
                }
                at += std::mem::size_of::<libc::inotify_event>() + event.len as usize;
            }
        }
    }
}

impl Drop for Opens {
    fn drop(&mut self) {
        unsafe { libc::close(self.fd) };
    }
}

fn builder(url: &str) -> dajisaas::ClientBuilder {
    Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(url)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
}

#[test]
fn system_roots_are_read_once_and_creating_a_client_opens_no_file() {
    let sb = Sandbox::start(SandboxConfig {
        tls: true,
        ..SandboxConfig::default()
    })
    .unwrap();
    let ca = sb.ca_pem().unwrap();
    // The "system" store: the sandbox's CA and up to 40 of the system's certificates.
    let dir = std::env::temp_dir().join(format!("dajisaas-roots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sandbox-ca.pem"), ca).unwrap();
    let mut files = 1;
    if let Ok(entries) = std::fs::read_dir("/etc/ssl/certs") {
        for entry in entries.flatten().take(40) {
            if let Ok(pem) = std::fs::read(entry.path())
                && pem.starts_with(b"-----BEGIN CERTIFICATE-----")
            {
                std::fs::write(dir.join(format!("system-{files}.pem")), pem).unwrap();
                files += 1;
            }
        }
    }
    // Safety: nothing else runs in this test process yet (one test in this file).
    unsafe {
        std::env::set_var("SSL_CERT_DIR", &dir);
        std::env::remove_var("SSL_CERT_FILE");
    }
    let opens = Opens::watch(&dir);

    // A plain-HTTP client reads no certificate at all.
    let plain = builder("http://127.0.0.1:9").build().unwrap();
    assert_eq!(
        opens.files_opened(),
        0,
        "a plain-HTTP client read certificates"
    );

    // The first HTTPS client reads every file of the store, once.
    let started = Instant::now();
    let first = builder(&sb.url()).build().unwrap();
    let first_took = started.elapsed();
    assert_eq!(opens.files_opened(), files, "the first HTTPS client");

    // Every other client, with or without extra roots, HTTPS or not, opens none.
    let started = Instant::now();
    let mut others = Vec::new();
    for _ in 0..20 {
        others.push(builder(&sb.url()).build().unwrap());
        others.push(
            builder(&sb.url())
                .add_root_certificates_pem(ca)
                .build()
                .unwrap(),
        );
    }
    let each = started.elapsed() / 40;
    assert_eq!(
        opens.files_opened(),
        0,
        "clients after the first read files"
    );
    eprintln!("first HTTPS client {first_took:?} (reads {files} files), later ones {each:?} each");

    // The roots read once are the ones every client uses: the sandbox's CA is among them.
    assert_eq!(first.pay_url(&["1"]).unwrap().attempts, 1);
    assert_eq!(others[0].pay_url(&["2"]).unwrap().attempts, 1);
    assert_eq!(others[1].pay_url(&["3"]).unwrap().attempts, 1);
    assert_eq!(opens.files_opened(), 0, "calls read files");
    drop(plain);
    let _ = std::fs::remove_dir_all(&dir);
}
