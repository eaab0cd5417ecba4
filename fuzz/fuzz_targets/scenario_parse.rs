//! Fuzz target 1: any bytes, as a structured scenario sketch or as raw
//! TOML, through parsing and validation
//! ([`flinch_harness::fuzz::check_parse`]). A panic, or an error that says
//! neither where nor what, is a finding.
#![no_main]
#![forbid(unsafe_code)]

use flinch_harness::fuzz::{check_parse, Tally};
use libfuzzer_sys::fuzz_target;

static TALLY: Tally = Tally::new();

fuzz_target!(|data: &[u8]| {
    match check_parse(data) {
        Ok(scenario) => TALLY.record(scenario.is_some(), false),
        Err(finding) => panic!("{finding}"),
    }
});
