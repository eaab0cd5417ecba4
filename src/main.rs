//! `flinch`: deterministic fault injection for a small Flink-style streaming
//! engine. The command line contract is docs/design.md §5; the commands live in
//! the library's `cli` module (`src/cli/`, behind the `cli` feature), which
//! shares the failure report with `flinch::Test`.
#![forbid(unsafe_code)]

use clap::Parser;
use flinch::cli;
use std::io::{self, Write};
use std::process::ExitCode;

/// mimalloc, for speed (Cargo.toml says why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with status 2.
    let args = cli::Cli::parse();
    // Scenarios and `--job` resolve job names through every built-in job.
    flinch::jobs::install();
    match cli::execute(args) {
        Ok(out) => match write_stdout(&out.stdout) {
            Ok(()) => ExitCode::from(out.code),
            Err(e) => {
                let _ = writeln!(io::stderr(), "error: cannot write to stdout: {e}");
                ExitCode::from(cli::EXIT_USAGE)
            }
        },
        Err(e) => {
            let _ = writeln!(io::stderr(), "error: {e:#}");
            ExitCode::from(cli::EXIT_USAGE)
        }
    }
}

/// Write the command's output; a closed pipe (`flinch list | head -1`) is
/// not an error.
fn write_stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
