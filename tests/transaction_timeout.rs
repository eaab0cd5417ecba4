//! The sink's transaction timeout (`[sink] transaction_timeout`), end to
//! end: a transaction the job still needs, aborted by the timeout while the
//! job recovers, fails the job naming the lost output, or, with
//! `ignore_failures_after_transaction_timeout`, is lost on purpose and
//! reported; a transaction the job no longer needs may time out harmlessly.

use flinch_engine::event::Event;
use flinch_harness::scenario::{load, parse, Scenario};
use flinch_harness::seed::run_seed;
use flinch_harness::trace::What;

const SEEDS: u64 = 8;

/// The built-in scenario's text with `edit` applied to it.
fn variant(edit: impl Fn(String) -> String) -> Scenario {
    let text = include_str!("../scenarios/transaction-timeout-during-recovery.toml");
    parse(&edit(text.to_string()), "variant.toml").expect("the variant loads")
}

/// The transactions the sink timed out in a seed's trace, with their sizes.
fn timed_out(trace: &[flinch_harness::trace::TraceEvent]) -> Vec<(String, u64)> {
    (trace.iter())
        .filter_map(|e| match &e.what {
            What::Engine(Event::TxnTimedOut { txn, records }) => Some((txn.to_string(), *records)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_needed_transaction_lost_to_the_timeout_fails_the_job_naming_it() {
    let scenario = load("transaction-timeout-during-recovery").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        let reason = (report.trace.iter().rev())
            .find_map(|e| match &e.what {
                What::Engine(Event::JobState(flinch_engine::event::JobState::Failed {
                    reason,
                })) => Some(reason.clone()),
                _ => None,
            })
            .expect("the job failed");
        // It names a transaction the sink timed out, and how many records.
        let named = timed_out(&report.trace)
            .into_iter()
            .any(|(txn, n)| reason.contains(&format!("{txn} ({n} records")));
        assert!(named, "seed {seed}: {reason}");
        assert!(report.lost.is_empty());
    }
}

#[test]
fn with_the_opt_in_the_loss_is_accepted_reported_and_only_that_loss() {
    let scenario = load("transaction-timeout-loss-accepted").expect("built in");
    assert!(
        scenario
            .config
            .sink
            .ignore_failures_after_transaction_timeout
    );
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        assert!(!report.lost.is_empty(), "seed {seed} lost nothing");
        // What was lost is what the sink timed out, transaction for transaction.
        let timed_out = timed_out(&report.trace);
        for (txn, n) in &report.lost {
            assert!(
                timed_out.contains(&(txn.to_string(), *n)),
                "seed {seed}: {txn}"
            );
        }
        // And the committed output really lacks it: the checkers forgave
        // exactly these records.
        let committed: usize = report.output.iter().map(|(_, r)| r.len()).sum();
        let lost: u64 = report.lost.iter().map(|(_, n)| n).sum();
        assert_eq!(committed as u64 + lost, report.records, "seed {seed}");
    }
}

#[test]
fn a_transaction_no_longer_needed_may_time_out_harmlessly() {
    // Cut off right after the pre-commit: the acknowledgement never comes,
    // checkpoint 2 never completes, and the restore from checkpoint 1
    // replays what the timed-out transactions held.
    let scenario = variant(|text| {
        text.replace(
            "on = { event = \"checkpoint_completed\", checkpoint = 2 }",
            "on = { event = \"txn_pre_committed\", task = \"sink[1]\", checkpoint = 2 }",
        )
        .replace("outcome = \"job-failed\"", "outcome = \"exactly-once\"")
        .replace("reason = \"transaction timeout\"\n", "")
        .replace(
            "sometimes = [\"txn-timed-out\", \"recovery-impossible\"]",
            "sometimes = [\"txn-timed-out\"]",
        )
    });
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        assert!(!timed_out(&report.trace).is_empty(), "seed {seed}");
        assert!(report.lost.is_empty());
    }
}

#[test]
fn the_sink_table_is_checked_at_load() {
    let bad = |table: &str| {
        let text = include_str!("../scenarios/transaction-timeout-during-recovery.toml")
            .replace("[sink]\ntransaction_timeout = \"400ms\"", table);
        parse(&text, "bad.toml").expect_err("refused").to_string()
    };
    let zero = bad("[sink]\ntransaction_timeout = \"0s\"");
    assert!(
        zero.contains("field `sink.transaction_timeout`: must be longer than 0"),
        "{zero}"
    );
    let unknown = bad("[sink]\ntransaction_timeuot = \"1s\"");
    assert!(unknown.contains("transaction_timeuot"), "{unknown}");
    let long = bad("[sink]\ntransaction_timeout = \"2h\"");
    assert!(long.contains("sink.transaction_timeout"), "{long}");
    // The opt-in without a timeout could never matter: refused, not ignored.
    let idle = bad("[sink]\nignore_failures_after_transaction_timeout = true");
    assert!(
        idle.contains("field `sink.ignore_failures_after_transaction_timeout`: has no effect"),
        "{idle}"
    );
}
