//! Fuzz target 2: every input that validation accepts runs its first seed
//! under a step budget ([`flinch_harness::fuzz::check_run`]). A panic or an
//! internal error of the simulation is a finding; any verdict about the job
//! is not.
#![no_main]
#![forbid(unsafe_code)]

use flinch_harness::fuzz::{check_run, RunEnd, Tally};
use libfuzzer_sys::fuzz_target;

static TALLY: Tally = Tally::new();

fuzz_target!(|data: &[u8]| {
    match check_run(data) {
        Ok(end) => TALLY.record(
            end != RunEnd::Refused,
            matches!(end, RunEnd::Verdict { .. }),
        ),
        Err(finding) => panic!("{finding}"),
    }
});
