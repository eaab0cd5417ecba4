//! flinch's engine: a small Flink-style streaming engine whose hosts run on
//! turmoil's simulated network and filesystem.
#![forbid(unsafe_code)]

// turmoil seeds tokio's scheduler, and reports host panics, only under this
// cfg; `.cargo/config.toml` sets it, but a RUSTFLAGS variable replaces it.
#[cfg(not(tokio_unstable))]
compile_error!(
    "flinch needs `--cfg tokio_unstable` for deterministic runs: add `[build] rustflags = [\"--cfg\", \"tokio_unstable\"]` (and the same `rustdocflags`, for doc tests) to .cargo/config.toml; a RUSTFLAGS variable replaces that setting, so add it there too or unset it"
);

pub mod align;
pub mod config;
pub mod coordinator;
pub mod event;
pub mod format;
pub mod graph;
pub mod hosts;
pub mod inprocess;
pub mod io;
pub mod job;
pub mod keygroup;
pub mod lease;
pub mod operator;
pub mod probe;
pub mod proto;
pub mod record;
pub mod register;
pub mod rescale;
pub mod restart;
pub mod storage;
pub mod task;
mod text;
pub mod wire;
pub mod workload;

/// The directory of this crate's sources as the compiler names them, in
/// panic locations as in `file!()` (`engine/src/` in the workspace): how
/// the harness tells a panic in the engine from one in turmoil, tokio or
/// itself.
pub fn source_dir() -> &'static str {
    let lib = file!();
    lib.strip_suffix("lib.rs").unwrap_or(lib)
}
