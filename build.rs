//! Build script of the `flinch` crate: the git commit it is built from, for
//! `flinch bench` (`FLINCH_GIT_COMMIT`, `unknown` outside a git checkout).

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=FLINCH_GIT_COMMIT={commit}");
    // Run again when HEAD moves (a commit, a checkout); only paths that
    // exist, since a missing one would make every build run it again.
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
