//! Ctrl-C for `flinch run`: the first one asks the sweep to stop (no new
//! seed starts, running seeds are stopped at their next poll, and the
//! summary of the finished seeds is printed, exit code 130); a second one
//! ends the process at once, still with 130. SIGTERM and SIGHUP (ctrlc's
//! `termination` feature) count as Ctrl-C: what a batch scheduler sends to
//! stop a `flinch campaign run` shard, which then stops the same clean way.
//!
//! The handler comes from the `ctrlc` crate rather than our own: installing
//! a signal handler takes `unsafe` (which flinch forbids), and ctrlc is the
//! well-kept, widely used crate that does it portably (SIGINT on Unix,
//! the console handler on Windows). It runs our handler on a thread of its
//! own, not in signal context, so the handler may do anything; ours only
//! sets a flag, which the sweep polls.

use super::EXIT_INTERRUPTED;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::OnceLock;

/// Set by the first Ctrl-C.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Ctrl-Cs seen.
static PRESSES: AtomicU32 = AtomicU32::new(0);
/// Whether the handler was installed (once per process: ctrlc allows one).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// Install the handler (the first call does; later calls return what it
/// did) and return the flag it sets. `Err` says why Ctrl-C will end the
/// process at once instead, without a summary.
pub fn install() -> Result<&'static AtomicBool, String> {
    let installed = INSTALLED.get_or_init(|| {
        ctrlc::set_handler(on_ctrl_c).map_err(|e| format!("cannot handle Ctrl-C: {e}"))
    });
    installed.clone().map(|()| &INTERRUPTED)
}

fn on_ctrl_c() {
    INTERRUPTED.store(true, Ordering::SeqCst);
    if PRESSES.fetch_add(1, Ordering::SeqCst) >= 1 {
        let _ = writeln!(std::io::stderr(), "flinch: interrupted again: quitting now");
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    }
}
