//! Writes `include/dajisaas.h` from `core/src/ffi` with the pinned cbindgen, or with `--check`
//! fails if the committed header differs from what would be written.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let core = root.join("core");
    let header = root.join("include/dajisaas.h");

    let mut config = match cbindgen::Config::from_file(core.join("cbindgen.toml")) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("core/cbindgen.toml: {e}");
            return ExitCode::FAILURE;
        }
    };
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    config.after_includes = Some(format!(
        "\n#define DAJI_VERSION \"{version}\"\n#define DAJI_VERSION_MAJOR {major}\n\
         #define DAJI_VERSION_MINOR {minor}\n#define DAJI_VERSION_PATCH {patch}\n"
    ));

    let bindings = match cbindgen::Builder::new()
        .with_crate(&core)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => bindings,
        Err(e) => {
            eprintln!("cbindgen failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let current = std::fs::read(&header).unwrap_or_default();
    if check {
        if current == generated {
            println!("include/dajisaas.h is current");
            ExitCode::SUCCESS
        } else {
            eprintln!("include/dajisaas.h is stale: run `cargo run -p dajisaas-header`");
            ExitCode::FAILURE
        }
    } else {
        match std::fs::write(&header, &generated) {
            Ok(()) => {
                println!("wrote include/dajisaas.h");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("include/dajisaas.h: {e}");
                ExitCode::FAILURE
            }
        }
    }
}
