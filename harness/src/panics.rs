//! Whose bug a panic is: the engine's, or flinch's and turmoil's.
//!
//! A panic in a host task does not reach the step loop as itself: turmoil
//! builds each host's runtime with tokio's `unhandled_panic =
//! ShutdownRuntime` (under `--cfg tokio_unstable`), so `Sim::step`
//! re-raises it with tokio's generic message ("a spawned task panicked and
//! the LocalSet is configured to shutdown on unhandled panic") from tokio's
//! own source. Only a panic hook sees the first panic's message and
//! location. So [`catch`] runs a closure under a *capture* on the current
//! thread: a process-wide hook (installed once, chained to the one before
//! it) records the capture's first panic with the [`Phase`] the thread was
//! in, and prints nothing; outside a capture it calls the previous hook
//! unchanged, so tests and the CLI print panics as they always did.
//!
//! [`blame`] then decides from (phase, location, and whether the job's own
//! code was running: [`flinch_engine::operator::job_code`]) alone, a pure
//! function:
//! - **job panic** ([`JOB_PANIC`]): the panic came while the world was
//!   built, the hosts ran, the output was read or the run was checked, at a
//!   line of the job's own code: a file
//!   that is not the engine's, the harness's, the standard library's, or a
//!   dependency's (cargo's registry or git checkouts, `vendor/`). A user's
//!   operator or model, or a built-in job's (`src/jobs/`). Or at a line of
//!   Rust's standard library while the job's own code ran (std reports a
//!   few panics at its own line, e.g. `capacity overflow` or `step_by`'s
//!   `step != 0`).
//! - **engine panic** ([`ENGINE_PANIC`]): the panic came while turmoil ran
//!   host software ([`Phase::Hosts`]: a step, or a crash or restart, which
//!   drop or start a host), at a line of the engine's sources, or of Rust's
//!   standard library outside the job's code (an arithmetic overflow or an
//!   index out of bounds already names the engine's line).
//! - **internal error** ([`INTERNAL_ERROR`]): every other panic: one in
//!   turmoil, tokio, the harness or another crate (turmoil's `server socket
//!   buffer full`), and any panic outside the hosts (building the world,
//!   applying faults, reading the output, checking the run).
//!
//! A panic tokio swallows (one in a host's drop code when a crash drops
//! its runtime) is recorded too, and [`catch`] reports it: a run ends at
//! its first panic, whether or not it unwound.

use crate::violation::{Checker, Violation, ENGINE_PANIC, INTERNAL_ERROR, JOB_PANIC};
use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::{Once, OnceLock};
use std::time::Duration;

/// What the thread was doing when it panicked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Building the turmoil world (no host has run yet).
    Build,
    /// turmoil running host software: a step, or a host's crash or restart.
    Hosts,
    /// The step loop applying faults between steps.
    Faults,
    /// Reading the sink's committed output after the run.
    Output,
    /// The checkers judging the run.
    Check,
    /// Anywhere else in flinch, outside a simulation.
    Harness,
}

impl Phase {
    fn doing(self) -> &'static str {
        match self {
            Phase::Build => "while building the world",
            Phase::Hosts => "while the hosts ran",
            Phase::Faults => "while applying faults",
            Phase::Output => "while reading the committed output",
            Phase::Check => "while checking the run",
            Phase::Harness => "in flinch, outside the simulation",
        }
    }
}

/// Where a panic happened, as the compiler names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

/// The file, without the part of the path that names this machine: a
/// dependency from cargo's registry from its crate directory on
/// (`turmoil-0.7.2/src/host.rs`), the standard library from `library/`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            short_file(&self.file),
            self.line,
            self.column
        )
    }
}

/// A panic: the first one of a [`catch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub message: String,
    /// `None` only when flinch's hook did not see it (another hook replaced
    /// it): then it cannot be placed, and is blamed on flinch.
    pub location: Option<Location>,
    pub phase: Phase,
    /// Simulated time of the step or fault that panicked (zero outside a
    /// simulation).
    pub at: Duration,
    /// Whether the job's own code was running when it panicked
    /// ([`flinch_engine::operator::job_code::running`]).
    pub job_code: bool,
}

/// Whose bug a panic is (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// A found bug of the engine: [`ENGINE_PANIC`].
    Engine,
    /// A found bug of the job under test (its operators or its model):
    /// [`JOB_PANIC`].
    Job,
    /// A limit or bug of turmoil or flinch: [`INTERNAL_ERROR`].
    Internal,
}

/// Whose bug a panic in `phase` at `file` is, `job_code` telling whether
/// the job's own code was running: the job's when the file is the job's own
/// ([`in_job`]), or the standard library's while the job's code ran, and
/// the panic came from building the world (the job's graph and input), the
/// hosts, reading the output or checking the run (its model); else the
/// engine's when a host was running and the file is the engine's or the
/// standard library's.
pub fn blame(phase: Phase, file: Option<&str>, job_code: bool) -> Blame {
    match (phase, file) {
        (Phase::Build | Phase::Hosts | Phase::Output | Phase::Check, Some(file))
            if in_job(file) || (job_code && in_std(file)) =>
        {
            Blame::Job
        }
        (Phase::Hosts, Some(file)) if in_engine(file) || in_std(file) => Blame::Engine,
        _ => Blame::Internal,
    }
}

/// The job's own code: not the engine's, the harness's, the standard
/// library's, a dependency's, nor the rest of flinch's ([`claim_sources`]).
fn in_job(file: &str) -> bool {
    !in_engine(file)
        && !in_harness(file)
        && !in_std(file)
        && !in_dependency(file)
        && !in_claimed(file)
}

/// flinch's own sources beyond the engine and the harness, and the parts
/// of them that are job code; see [`claim_sources`].
static CLAIMED: OnceLock<(&'static str, Vec<&'static str>)> = OnceLock::new();

/// Tell [`blame`] that files under `dir` (named as the compiler names
/// them, like [`flinch_engine::source_dir`]) are flinch's, not the job's,
/// except those starting with one of `job_code`: the `flinch` crate claims
/// its `src/`, and gives the built-in jobs (`src/jobs/`) and the checks of
/// what a user's job returns (`src/job.rs`) to the job, when it installs
/// its jobs. The first claim stays.
pub fn claim_sources(dir: &'static str, job_code: Vec<&'static str>) {
    let _ = CLAIMED.set((dir, job_code));
}

fn in_claimed(file: &str) -> bool {
    CLAIMED.get().is_some_and(|(dir, job_code)| {
        file.starts_with(dir) && !job_code.iter().any(|code| file.starts_with(code))
    })
}

/// This crate's sources, named as the compiler names them (as
/// [`flinch_engine::source_dir`]).
fn in_harness(file: &str) -> bool {
    let lib = file!();
    file.starts_with(lib.strip_suffix("panics.rs").unwrap_or(lib))
}

/// A crate from cargo's registry or a git checkout, or a vendored one
/// (flinch's patched turmoil).
fn in_dependency(file: &str) -> bool {
    let file = file.replace('\\', "/");
    ["/registry/src/", "/git/checkouts/", "vendor/"]
        .iter()
        .any(|dir| file.contains(dir))
}

fn in_engine(file: &str) -> bool {
    file.starts_with(flinch_engine::source_dir())
}

/// `/rustc/<commit>/library/core/src/...` from rustup's toolchains; a
/// toolchain built elsewhere keeps `library/<crate>/src/` in the path.
fn in_std(file: &str) -> bool {
    let file = file.replace('\\', "/");
    file.starts_with("/rustc/")
        || [
            "library/core/src/",
            "library/alloc/src/",
            "library/std/src/",
        ]
        .iter()
        .any(|dir| file.contains(dir))
}

fn short_file(file: &str) -> &str {
    if let Some(rest) = file.strip_prefix("/rustc/") {
        return rest.split_once('/').map_or(file, |(_, path)| path);
    }
    // `~/.cargo/registry/src/<index>/<crate>-<version>/...`
    const REGISTRY: &str = "/registry/src/";
    match file.find(REGISTRY) {
        Some(i) => {
            let rest = &file[i + REGISTRY.len()..];
            rest.split_once('/').map_or(rest, |(_, path)| path)
        }
        None => file,
    }
}

impl Panic {
    /// A panic flinch's hook did not see, from its payload alone.
    pub fn unplaced(payload: &(dyn Any + Send), phase: Phase, at: Duration) -> Panic {
        Panic {
            message: payload_message(payload),
            location: None,
            phase,
            at,
            job_code: false,
        }
    }

    pub fn blame(&self) -> Blame {
        let file = self.location.as_ref().map(|l| l.file.as_str());
        blame(self.phase, file, self.job_code)
    }

    /// The violation a run that panicked fails with: `engine-panic`,
    /// `job-panic` or `internal-error`, with the panic's place, time and
    /// message.
    pub fn violation(&self) -> Violation {
        let kind = match self.blame() {
            Blame::Engine => ENGINE_PANIC,
            Blame::Job => JOB_PANIC,
            Blame::Internal => INTERNAL_ERROR,
        };
        Violation {
            at: Some(self.at),
            ..Violation::new(Checker::ExpectedOutcome, kind, self.to_string())
        }
    }
}

/// An engine panic: `engine/src/job.rs:67:21 at 0.514 s of simulated time:
/// <message>`. Any other: `panic in <file:line:col> at 1.234 s of simulated
/// time, while the hosts ran: <message>` (no time outside a simulation).
impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match &self.location {
            Some(location) => location.to_string(),
            None => "an unknown place".to_string(),
        };
        let at = format!("at {:.3} s of simulated time", self.at.as_secs_f64());
        match (self.blame(), self.phase) {
            (Blame::Engine, _) => write!(f, "{place} {at}: {}", self.message),
            (Blame::Internal, Phase::Harness) => {
                write!(
                    f,
                    "panic in {place} {}: {}",
                    self.phase.doing(),
                    self.message
                )
            }
            (Blame::Job, phase) => write!(
                f,
                "the job's own code panicked at {place} {at}, {}: {}",
                phase.doing(),
                self.message
            ),
            (Blame::Internal, phase) => write!(
                f,
                "panic in {place} {at}, {}: {}",
                phase.doing(),
                self.message
            ),
        }
    }
}

/// A capture: what the hook records into.
#[derive(Debug)]
struct Capture {
    phase: Phase,
    at: Duration,
    first: Option<Panic>,
}

thread_local! {
    static CAPTURE: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

/// Run `f` in `phase` at simulated time `at`, under a capture: `Err` with
/// the first panic, located, whether it unwound out of `f` or something
/// inside caught it (tokio does, in drop code); then what `f` returned is
/// dropped. Captures nest: an inner one records its own panics.
pub fn catch<R>(phase: Phase, at: Duration, f: impl FnOnce() -> R) -> Result<R, Panic> {
    install_hook();
    let outer = CAPTURE.with(|c| {
        c.replace(Some(Capture {
            phase,
            at,
            first: None,
        }))
    });
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    let first = CAPTURE
        .with(|c| c.replace(outer))
        .and_then(|capture| capture.first);
    match (result, first) {
        (Ok(r), None) => Ok(r),
        (_, Some(first)) => Err(first),
        (Err(payload), None) => Err(Panic::unplaced(payload.as_ref(), phase, at)),
    }
}

/// Run `f` in `phase` inside the current capture (outside one, just run
/// it): the step loop's crash and restart run host software.
pub fn within<R>(phase: Phase, f: impl FnOnce() -> R) -> R {
    /// Puts the phase back, also when `f` unwinds.
    struct Restore(Option<Phase>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(phase) = self.0 {
                set_phase(phase);
            }
        }
    }
    let _restore = Restore(set_phase(phase));
    f()
}

/// Set the current capture's phase; returns the one it replaced.
fn set_phase(phase: Phase) -> Option<Phase> {
    CAPTURE.with(|c| {
        c.borrow_mut()
            .as_mut()
            .map(|capture| std::mem::replace(&mut capture.phase, phase))
    })
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !record(info) {
                previous(info);
            }
        }));
    });
}

/// Record `info` as the current capture's first panic; false outside a
/// capture. Never panics itself: a panic in a panic hook aborts.
fn record(info: &PanicHookInfo<'_>) -> bool {
    CAPTURE
        .try_with(|c| {
            let Ok(mut c) = c.try_borrow_mut() else {
                return false;
            };
            let Some(capture) = c.as_mut() else {
                return false;
            };
            if capture.first.is_none() {
                capture.first = Some(Panic {
                    message: payload_message(info.payload()),
                    location: info.location().map(|l| Location {
                        file: l.file().to_string(),
                        line: l.line(),
                        column: l.column(),
                    }),
                    phase: capture.phase,
                    at: capture.at,
                    job_code: flinch_engine::operator::job_code::running(),
                });
            }
            true
        })
        .unwrap_or(false)
}

/// A panic's message: its `&str` or `String` payload.
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Locations as panics in this workspace report them.
    const ENGINE: &str = "engine/src/job.rs";
    const STD: &str =
        "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/raw_vec/mod.rs";
    const TURMOIL: &str =
        "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/turmoil-0.7.2/src/host.rs";
    const TOKIO: &str =
        "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/task/local.rs";
    const HARNESS: &str = "harness/src/world.rs";
    const POSTCARD: &str =
        "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/postcard-1.2.0/src/de/mod.rs";

    #[test]
    fn the_engines_sources_are_where_its_lib_rs_is() {
        assert_eq!(flinch_engine::source_dir(), "engine/src/");
    }

    #[test]
    fn a_panic_in_a_host_is_the_engines_when_its_line_is_the_engines_or_stds() {
        use Blame::*;
        let cases = [
            (Phase::Hosts, Some(ENGINE), Engine),
            (Phase::Hosts, Some(STD), Engine),
            (Phase::Hosts, Some("library/core/src/option.rs"), Engine),
            (Phase::Hosts, Some(TURMOIL), Internal),
            (Phase::Hosts, Some(TOKIO), Internal),
            (Phase::Hosts, Some(HARNESS), Internal),
            (Phase::Hosts, Some(POSTCARD), Internal),
            (Phase::Hosts, Some("vendor/turmoil/src/host.rs"), Internal),
            (Phase::Hosts, Some("src/lib.rs"), Job),
            (Phase::Hosts, Some("/home/me/my-job/src/operators.rs"), Job),
            (Phase::Check, Some("tests/model.rs"), Job),
            (Phase::Hosts, None, Internal),
        ];
        for (phase, file, expected) in cases {
            assert_eq!(blame(phase, file, false), expected, "{phase:?} {file:?}");
        }
    }

    /// The standard library reports a few panics at its own line (`capacity
    /// overflow`, `step_by`'s `step != 0`): the job's when its own code ran,
    /// in the hosts or in its model; the engine's in a host otherwise.
    #[test]
    fn a_panic_at_a_line_of_std_is_the_jobs_while_the_jobs_code_runs() {
        use Blame::*;
        for phase in [Phase::Build, Phase::Hosts, Phase::Output, Phase::Check] {
            assert_eq!(blame(phase, Some(STD), true), Job, "{phase:?}");
        }
        assert_eq!(blame(Phase::Hosts, Some(STD), false), Engine);
        assert_eq!(blame(Phase::Hosts, Some(ENGINE), true), Engine);
        assert_eq!(blame(Phase::Hosts, Some(TURMOIL), true), Internal);
        for phase in [Phase::Faults, Phase::Harness] {
            assert_eq!(blame(phase, Some(STD), true), Internal, "{phase:?}");
        }
        let mut step = panic_at(STD, Phase::Hosts, "assertion failed: step != 0");
        step.job_code = true;
        let violation = step.violation();
        assert_eq!(
            (violation.kind, violation.message.as_str()),
            (
                JOB_PANIC,
                "the job's own code panicked at library/alloc/src/raw_vec/mod.rs:509:25 at \
                 50.502 s of simulated time, while the hosts ran: assertion failed: step != 0"
            )
        );
    }

    /// The hook reads the mark: a panic of the standard library inside
    /// [`flinch_engine::operator::job_code::run`] is recorded as the job's.
    #[test]
    fn the_hook_records_whether_the_jobs_code_ran() {
        use flinch_engine::operator::job_code;
        let inside = catch(Phase::Hosts, Duration::ZERO, || {
            job_code::run(|| {
                let step = std::hint::black_box(0);
                (0..3u32).step_by(step).count()
            })
        })
        .expect_err("step_by(0) panics");
        assert!(inside.job_code, "{inside:?}");
        assert_eq!(inside.blame(), Blame::Job, "{inside}");
        let outside = catch(Phase::Hosts, Duration::ZERO, || {
            let step = std::hint::black_box(0);
            (0..3u32).step_by(step).count()
        })
        .expect_err("step_by(0) panics");
        assert!(!outside.job_code);
        assert_eq!(outside.blame(), Blame::Engine, "{outside}");
    }

    #[test]
    fn a_panic_outside_the_hosts_is_internal_unless_the_jobs_model_panicked() {
        for phase in [
            Phase::Build,
            Phase::Faults,
            Phase::Output,
            Phase::Check,
            Phase::Harness,
        ] {
            for file in [ENGINE, STD, TURMOIL, HARNESS] {
                assert_eq!(
                    blame(phase, Some(file), false),
                    Blame::Internal,
                    "{phase:?} {file}"
                );
            }
        }
        for phase in [Phase::Faults, Phase::Harness] {
            assert_eq!(blame(phase, Some("src/lib.rs"), false), Blame::Internal);
        }
    }

    fn panic_at(file: &str, phase: Phase, message: &str) -> Panic {
        Panic {
            message: message.into(),
            location: Some(Location {
                file: file.into(),
                line: 509,
                column: 25,
            }),
            phase,
            at: Duration::from_millis(50_502),
            job_code: false,
        }
    }

    #[test]
    fn the_message_names_the_place_without_this_machines_paths() {
        let engine = panic_at(ENGINE, Phase::Hosts, "attempt to divide by zero").violation();
        assert_eq!(
            engine.to_string(),
            "[expected-outcome] engine-panic: engine/src/job.rs:509:25 at 50.502 s of simulated \
             time: attempt to divide by zero"
        );
        let capacity = panic_at(STD, Phase::Hosts, "capacity overflow").violation();
        assert_eq!(
            capacity.message,
            "library/alloc/src/raw_vec/mod.rs:509:25 at 50.502 s of simulated time: capacity overflow"
        );
        let turmoil = panic_at(TURMOIL, Phase::Hosts, "server socket buffer full").violation();
        assert_eq!(
            (turmoil.kind, turmoil.message.as_str()),
            (
                INTERNAL_ERROR,
                "panic in turmoil-0.7.2/src/host.rs:509:25 at 50.502 s of simulated time, while \
                 the hosts ran: server socket buffer full"
            )
        );
        let job = panic_at("src/lib.rs", Phase::Hosts, "boom").violation();
        assert_eq!(
            (job.kind, job.message.as_str()),
            (
                JOB_PANIC,
                "the job's own code panicked at src/lib.rs:509:25 at 50.502 s of simulated time, \
                 while the hosts ran: boom"
            )
        );
        let checker = panic_at(HARNESS, Phase::Check, "no such key").violation();
        assert!(
            checker
                .message
                .ends_with("while checking the run: no such key"),
            "{checker}"
        );
        let guard = panic_at("src/cli/exec.rs", Phase::Harness, "boom").to_string();
        assert_eq!(
            guard,
            "panic in src/cli/exec.rs:509:25 in flinch, outside the simulation: boom"
        );
        let unplaced = Panic::unplaced(&"lost", Phase::Hosts, Duration::ZERO);
        assert_eq!(
            (unplaced.blame(), unplaced.to_string().as_str()),
            (
                Blame::Internal,
                "panic in an unknown place at 0.000 s of simulated time, while the hosts ran: lost"
            )
        );
    }

    #[test]
    fn catch_records_the_first_panic_where_it_happened_not_where_it_was_re_raised() {
        let at = Duration::from_millis(40);
        let first_line = line!() + 3;
        let caught = catch(Phase::Hosts, at, || {
            let inner = std::panic::catch_unwind(|| {
                panic!("the first");
            });
            // Re-raised elsewhere with another message, as tokio does.
            panic!("re-raised: {}", inner.is_err());
        });
        let panic = caught.expect_err("it panicked");
        assert_eq!(panic.message, "the first");
        let location = panic.location.expect("the hook saw it");
        assert_eq!(
            (location.file.as_str(), location.line),
            ("harness/src/panics.rs", first_line)
        );
        assert_eq!((panic.phase, panic.at), (Phase::Hosts, at));
    }

    #[test]
    fn a_panic_caught_inside_still_counts_and_phases_and_captures_nest() {
        let swallowed = catch(Phase::Faults, Duration::ZERO, || {
            within(Phase::Hosts, || {
                let _ = std::panic::catch_unwind(|| panic!("in drop code"));
            });
            7
        });
        let panic = swallowed.expect_err("a swallowed panic counts");
        assert_eq!(
            (panic.message.as_str(), panic.phase),
            ("in drop code", Phase::Hosts)
        );

        let outer = catch(Phase::Check, Duration::ZERO, || {
            let inner = catch(Phase::Hosts, Duration::ZERO, || panic!("inner"));
            assert_eq!(inner.expect_err("inner panicked").phase, Phase::Hosts);
            // The inner capture took its panic; the phase is the outer's again.
            within(Phase::Build, || ());
            "outer ran on"
        });
        assert_eq!(outer, Ok("outer ran on"));
        assert_eq!(catch(Phase::Check, Duration::ZERO, || 1), Ok(1));
        // Outside a capture `within` just runs.
        assert_eq!(within(Phase::Hosts, || 2), 2);
    }

    #[test]
    fn a_payload_without_text_says_so() {
        let caught = catch(Phase::Harness, Duration::ZERO, || {
            std::panic::panic_any(17_u32)
        });
        assert_eq!(
            caught.expect_err("panicked").message,
            "(a panic without a message)"
        );
    }
}
