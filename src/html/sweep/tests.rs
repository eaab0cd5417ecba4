use super::*;
use crate::report::{SeedSummary, TimedOut, TraceExcerpt};
use flinch_harness::stats::SeedStats;
use flinch_harness::violation::{Checker, Violation};
use std::collections::BTreeSet;
use std::time::Duration;

fn seed(seed: u64, passed: bool, faults: usize, stats: SeedStats) -> SeedSummary {
    SeedSummary {
        seed,
        passed,
        violations: if passed {
            Vec::new()
        } else {
            vec![Violation::new(
                Checker::ExactlyOnce,
                "duplicated",
                "key-1 <twice>",
            )]
        },
        trace_excerpt: TraceExcerpt::default(),
        sim_time: Duration::from_secs(2),
        records: 100,
        duplicates: 0,
        lost: 0,
        faults,
        timed_out: None,
        probes: BTreeSet::new(),
        stats,
    }
}

fn ms(n: u64) -> Option<Duration> {
    Some(Duration::from_millis(n))
}

fn results() -> Vec<SeedSummary> {
    let recovered = |failovers, recovery, checkpoint| SeedStats {
        failovers,
        jobmanager_failovers: 0,
        recoveries: failovers,
        longest_recovery: recovery,
        checkpoints: 5,
        longest_checkpoint: checkpoint,
        checkpoints_aborted: 0,
    };
    let mut timed_out = seed(4, false, 3, SeedStats::default());
    timed_out.violations.clear();
    timed_out.timed_out = Some(TimedOut {
        limit: Duration::from_secs(1),
        sim_at: Duration::from_millis(700),
    });
    vec![
        seed(0, true, 0, recovered(0, None, ms(30))),
        seed(1, false, 2, recovered(1, ms(140), ms(45))),
        seed(2, true, 2, recovered(3, ms(1260), ms(31))),
        seed(3, true, 1, recovered(1, ms(90), None)),
        timed_out,
    ]
}

#[test]
fn every_histogram_counts_each_seed_once_with_buckets_for_none_and_no_verdict() {
    let results = results();
    let hs = histograms(&results);
    let ids: Vec<&str> = hs.iter().map(|h| h.id).collect();
    assert_eq!(ids, ["faults", "failovers", "recovery", "checkpoint"]);
    for h in &hs {
        assert_eq!(h.total(), results.len() as u64, "{h:?}");
    }
    let labels = |h: &Histogram| -> Vec<(String, u64)> {
        h.buckets
            .iter()
            .map(|b| (b.label.clone(), b.count))
            .collect()
    };
    // A timed-out seed's faults are known.
    assert_eq!(
        labels(&hs[0]),
        [("0", 1), ("1", 1), ("2", 2), ("3", 1)].map(|(l, n)| (l.to_string(), n))
    );
    // 0..=1260 ms takes buckets of 100 ms.
    assert_eq!(
        labels(&hs[2]),
        [
            ("0-99 ms", 1),
            ("100-199 ms", 1),
            ("200-299 ms", 0),
            ("300-399 ms", 0),
            ("400-499 ms", 0),
            ("500-599 ms", 0),
            ("600-699 ms", 0),
            ("700-799 ms", 0),
            ("800-899 ms", 0),
            ("900-999 ms", 0),
            ("1000-1099 ms", 0),
            ("1100-1199 ms", 0),
            ("1200-1299 ms", 1),
            ("none", 1),
            ("no verdict", 1)
        ]
        .map(|(l, n)| (l.to_string(), n))
    );
}

#[test]
fn bucket_widths_are_round_and_there_are_at_most_max_buckets() {
    for max in [0, 1, 15, 16, 99, 100, 1260, 123_456, u64::MAX] {
        let h = Histogram::of("x", "x", "x", ("x", ""), &[Value::Of(0), Value::Of(max)]);
        assert!(h.buckets.len() <= histogram::MAX_BUCKETS, "{max}: {h:?}");
        assert_eq!(h.total(), 2);
    }
    let empty = Histogram::of("x", "x", "x", ("x", ""), &[]);
    assert!(empty.buckets.is_empty());
    assert!(histogram::svg(&empty).is_ok());
}

#[test]
fn the_sweep_page_has_a_cell_per_seed_its_histograms_and_the_first_failure() {
    let results = results();
    let scenario = flinch_harness::scenario::load("taskmanager-crash").expect("built in");
    let sweep = Sweep {
        scenario: &scenario,
        command: "flinch run taskmanager-crash --seeds 0..5",
        seeds: SeedRange::new(0, 4).expect("not empty"),
        results: &results,
        not_run: None,
        probes: vec![ProbeLine {
            probe: "recovered-txn-committed",
            seeds: 2,
            first: vec![1, 2],
            required: None,
        }],
        first_failure: Some(FirstFailure {
            seed: &results[1],
            page: Some(seed_page_name(1)),
            replay: "flinch replay taskmanager-crash --seed 1",
            shrunk: None,
            shrink: "flinch shrink taskmanager-crash --seed 1",
        }),
        duplicates: None,
        lost: Some(Count {
            records: 12,
            seeds: 1,
        }),
    };
    let html = page(&sweep);
    assert!(
        html.contains("<dt>lost</dt><dd>12 output records in 1 seed (accepted:"),
        "{html}"
    );
    assert!(!html.contains("<dt>duplicates</dt>"), "{html}");
    assert!(html.contains("<dt>records</dt>"), "{html}");
    assert!(html == page(&sweep), "the page is not deterministic");
    assert_eq!(html.matches("class=\"seed-cell ").count(), 5);
    assert_eq!(html.matches("class=\"seed-cell failed\"").count(), 2);
    assert_eq!(html.matches("<table class=\"histogram\"").count(), 4);
    assert_eq!(html.matches("data-seeds=\"5\"").count(), 4);
    assert!(html.contains("href=\"seed-1.html\""), "{html}");
    assert!(html.contains("key-1 &lt;twice&gt;"), "escaped: {html}");
    assert!(html.contains("data-probe=\"recovered-txn-committed\""));
    for needle in ["<script", "<link", "src=", "@import", "url(", "https:"] {
        assert!(!html.contains(needle), "{needle}");
    }
    // The only address is SVG's namespace, a name, not a fetch.
    let svg = "http://www.w3.org/2000/svg";
    assert_eq!(html.matches("http:").count(), html.matches(svg).count());
}
