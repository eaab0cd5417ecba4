//! The general dataflow runs end to end (docs/dataflow.md, steps 2 and 3):
//! a job with two keyed stages, a chained map between them, event time and
//! timers, through the built-in fault scenarios, stays exactly-once; its
//! last timers fire on the final `MAX` watermark and their output commits
//! before the job finishes (FLIP-147's final checkpoint). The job is a test
//! job; the built-in ones have their own suites.

use flinch_engine::event::{Event, JobState};
use flinch_engine::graph::{Job, JobGraph};
use flinch_engine::operator::{Context, Operator};
use flinch_engine::record::{self, Record};
use flinch_harness::scenario::{load, Scenario};
use flinch_harness::trace::What;
use flinch_harness::world::{simulate_job, RawOutcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Event time of the record at `offset`: 10 ms apart. The watermark after
/// offsets `0..n` is `5 n`, behind every record still to come (none is
/// late), and far enough behind that the last windows fire only on the
/// final `MAX` watermark.
const TICK: u64 = 10;
/// Timers fire per region at the end of each window of this many ms.
const WINDOW: u64 = 500;
const REGIONS: u32 = 3;

/// Stage 1: counts the records of each key, and sends `(key, n)` on,
/// keyed by the key's region.
struct Count;

impl Operator for Count {
    type Key = u32;
    type In = ();
    type OutKey = u32;
    type Out = (u32, u64);
    type State = u64;

    fn process(&mut self, key: &u32, (): (), n: &mut u64, ctx: &mut Context<'_, u32, (u32, u64)>) {
        *n += 1;
        ctx.emit(*key, (*key, *n));
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Out {
    /// A `(key, n)` of stage 1, passed through.
    Count { key: u32, n: u64 },
    /// The window ending at `end` (ms) held records of the region.
    Window { end: u64 },
}

/// Stage 2, keyed by region: passes counts through, and registers a timer
/// at the end of each window it sees a record in, which emits the window.
struct Regions;

impl Operator for Regions {
    type Key = u32;
    type In = (u32, u64);
    type OutKey = u32;
    type Out = Out;
    type State = u64;

    fn process(
        &mut self,
        region: &u32,
        (key, n): (u32, u64),
        seen: &mut u64,
        ctx: &mut Context<'_, u32, Out>,
    ) {
        *seen += 1;
        ctx.emit(*region, Out::Count { key, n });
        ctx.register_timer((ctx.timestamp() / WINDOW + 1) * WINDOW - 1);
    }

    fn on_timer(&mut self, region: &u32, time: u64, _: &mut u64, ctx: &mut Context<'_, u32, Out>) {
        ctx.emit(*region, Out::Window { end: time + 1 });
    }
}

fn job(scenario: &Scenario, seed: u64) -> Job {
    job_with(scenario, seed, false)
}

/// [`job`], with an identity map chained onto the last vertex when `chained`:
/// the same output, sent to the sink through the chain instead of straight
/// from the keyed operator.
fn job_with(scenario: &Scenario, seed: u64, chained: bool) -> Job {
    let graph = JobGraph::source("source")
        .and_then(|s| s.key_by("count", || Count))
        .map(|s| s.map(|key: u32, (k, n): (u32, u64)| (key % REGIONS, (k, n))))
        .and_then(|s| s.key_by("regions", || Regions))
        .map(|s| match chained {
            true => s.map(|region: u32, out: Out| (region, out)),
            false => s,
        })
        .expect("valid names")
        .build();
    let input = flinch_harness::keyed_count::input(&scenario.config.workload, seed);
    let input: Vec<Vec<Record>> = (input.into_iter())
        .map(|partition| {
            (partition.into_iter().enumerate())
                .map(|(offset, r)| Record {
                    timestamp: offset as u64 * TICK,
                    ..r
                })
                .collect()
        })
        .collect();
    Job {
        graph,
        input: Rc::new(input),
        watermarks: Some(Rc::new(|_, next_offset| next_offset * TICK / 2)),
    }
}

/// What the output must be: each `(key, n)` for `n` in `1..=N_key` once,
/// and each window of each region that held a record once.
fn expected(job: &Job) -> BTreeMap<(u32, Out), u64> {
    let mut counts: BTreeMap<u32, u64> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for partition in job.input.iter() {
        for r in partition {
            let key: u32 = record::decode(&r.key).unwrap();
            let n = counts.entry(key).or_default();
            *n += 1;
            let end = (r.timestamp / WINDOW + 1) * WINDOW;
            out.insert((key % REGIONS, Out::Window { end }), 1);
        }
    }
    for (key, total) in counts {
        for n in 1..=total {
            out.insert((key % REGIONS, Out::Count { key, n }), 1);
        }
    }
    out
}

fn committed(run: &RawOutcome) -> BTreeMap<(u32, Out), u64> {
    let mut out = BTreeMap::new();
    for (_, records) in &run.committed {
        for r in records {
            let region: u32 = record::decode(&r.key).unwrap();
            let value: Out = record::decode(&r.value).unwrap();
            *out.entry((region, value)).or_default() += 1;
        }
    }
    out
}

fn run(name: &str, seed: u64) -> (Job, RawOutcome) {
    let scenario = load(name).unwrap();
    let job = job(&scenario, seed);
    let faults = scenario.plan(seed);
    let outcome = simulate_job(&scenario, seed, &faults, job.clone(), &|| false).unwrap();
    (job, outcome)
}

#[test]
fn two_keyed_stages_with_timers_stay_exactly_once_through_faults() {
    // (scenario, whether it fails the job over)
    for (name, fails_over) in [
        ("steady", false),
        ("taskmanager-crash", true),
        ("crash-during-checkpoint", true),
        ("stall-during-alignment", false),
        ("jobmanager-crash", false),
    ] {
        for seed in 0..3 {
            let (job, outcome) = run(name, seed);
            assert_eq!(
                outcome.final_state,
                Some(JobState::Finished),
                "{name} seed {seed}"
            );
            let expected = expected(&job);
            let got = committed(&outcome);
            let wrong: Vec<_> = (expected.keys().chain(got.keys()))
                .filter(|k| expected.get(k) != got.get(k))
                .take(5)
                .map(|k| (k, expected.get(k), got.get(k)))
                .collect();
            assert!(
                wrong.is_empty(),
                "{name} seed {seed}: (output, expected, committed): {wrong:?}"
            );
            assert!(outcome.pending.is_empty(), "{name} seed {seed}");
            let restarted = outcome.trace.iter().any(|e| {
                matches!(
                    e.what,
                    What::Engine(Event::JobState(JobState::Restarting { .. }))
                )
            });
            assert_eq!(restarted, fails_over, "{name} seed {seed}");
        }
    }
}

/// A keyed subtask chained to the sink writes its outputs into the open
/// transaction in the order it emits them, records' outputs first and then
/// what the timers their watermark fired emit, whether they go there
/// straight from the keyed operator or through a chained operator: the two
/// jobs commit the same transactions, each with the same records in the
/// same order (the other tests here compare output as multisets).
#[test]
fn a_chain_onto_the_sink_commits_the_same_records_in_the_same_order() {
    for (name, seed) in [
        ("steady", 0),
        ("taskmanager-crash", 1),
        ("crash-during-checkpoint", 2),
    ] {
        let scenario = load(name).unwrap();
        let faults = scenario.plan(seed);
        let ran = |chained| {
            let job = job_with(&scenario, seed, chained);
            simulate_job(&scenario, seed, &faults, job, &|| false).unwrap()
        };
        let (direct, chained) = (ran(false), ran(true));
        assert!(
            direct
                .committed
                .iter()
                .any(|(_, records)| records.len() > 1),
            "{name} seed {seed}: some transaction holds several records"
        );
        assert_eq!(direct.committed, chained.committed, "{name} seed {seed}");
    }
}

#[test]
fn the_same_seed_runs_the_same_trace() {
    let (_, a) = run("taskmanager-crash", 5);
    let (_, b) = run("taskmanager-crash", 5);
    assert_eq!(a.trace, b.trace);
    assert_eq!(a.committed, b.committed);
}

#[test]
fn the_last_windows_fire_on_the_final_watermark_and_commit() {
    // The last window of each region only fires on the MAX watermark at
    // end of input: its output commits only if the job waited for a
    // checkpoint taken after it (the final checkpoint).
    let (job, outcome) = run("steady", 1);
    let last = |p: &Vec<Record>| p.last().map_or(0, |r| r.timestamp);
    let latest = job.input.iter().map(last).max().unwrap();
    let end = (latest / WINDOW + 1) * WINDOW;
    let got = committed(&outcome);
    assert!(
        got.keys().any(|(_, out)| *out == Out::Window { end }),
        "the window ending at {end} ms committed"
    );
}

/// The in-process floor of `flinch bench`'s simulation-overhead ratio does
/// the job's real work: with every built-in job, over `steady`'s input, the
/// output it hands the sink passes the job's own exactly-once check, and
/// the same output with one record dropped does not.
#[test]
fn the_in_process_floor_runs_every_built_in_job_exactly_once() {
    let registry = flinch_harness::job::registry();
    for spec in registry.specs() {
        let name = spec.name();
        let model = spec
            .configure(&toml::Table::new())
            .expect("default parameters");
        let mut scenario = load("steady").expect("a built-in scenario");
        scenario.config.workload.records = 600;
        let config = &scenario.config;
        let job = model.job(config, 3);
        let ran = flinch_engine::inprocess::run_in_process(
            &job,
            config.topology.parallelism,
            config.topology.max_parallelism,
            config.workload.batch,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!ran.output.is_empty(), "{name}: some output");
        let findings = model.check_output(&job.input, &ran.output);
        assert!(findings.is_empty(), "{name}: {findings:?}");
        let mut short = ran.output.clone();
        short.remove(short.len() / 2);
        assert!(
            !model.check_output(&job.input, &short).is_empty(),
            "{name}: a lost record is caught"
        );
    }
}
