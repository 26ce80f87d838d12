//! Helpers shared by the CLI's proving tests: run the binary with its own
//! SRS cache, expect success, or expect one `error:` line naming the problem.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

pub fn zkinf(cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinf"))
        .env("ZKINF_CACHE", cache)
        .args(args)
        .output()
        .expect("run zkinf")
}

/// Stdout of a successful run.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Exit status 1, the last stderr line an `error:` containing `fragment`,
/// no panic.
pub fn fails_with(o: &Output, fragment: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "stderr: {err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(fragment),
        "'{fragment}' not in: {err}"
    );
    assert!(!err.contains("panicked"));
}

pub mod proven;
