//! A correct run of keyed-count, built without the engine, for the checker
//! tests to tamper with: the seeded input log, the output a correct operator
//! gives when it reads the partitions round-robin, four transactions (one
//! per checkpoint) and a trace with one failover that restores checkpoint 2,
//! with the scenarios those runs are correct for.

use crate::check::cut::CountModel;
use crate::expect::Expectation;
use crate::outcome::{keyed_count_record, CommittedTxn, PendingTxn, RunOutcome};
use crate::scenario::Scenario;
use crate::trace::{TraceEvent, What};
use crate::violation::Violation;
use flinch_engine::config::{JobConfig, RestartConfig, TopologyConfig, WorkloadConfig};
use flinch_engine::event::{Event, JobState, TaskId, Vertex};
use flinch_engine::record::{InputRecord, Key, OutputRecord, TxnId};
use flinch_engine::workload::generate;
use std::collections::BTreeMap;
use std::time::Duration;

/// Records in the fixture's input log.
pub const RECORDS: u64 = 240;
/// Transactions (= completed checkpoints) of a correct run.
pub const TXNS: u64 = 4;
/// The failover happens after this checkpoint, and restores it.
pub const RESTORED: u64 = 2;
/// Why [`failed_run`] failed: its scenario's strategy never restarts.
pub const REASON: &str = "restart strategy none gave up: it never restarts";
/// The delay of the correct run's one restart.
pub const RESTART_DELAY_MS: u64 = 10;

pub fn workload() -> WorkloadConfig {
    WorkloadConfig {
        records: RECORDS,
        keys: 6,
        partitions: 3,
        skew: 0.5,
        ..WorkloadConfig::default()
    }
}

pub fn input() -> Vec<Vec<InputRecord>> {
    generate(&workload(), 7)
}

/// The scenario [`correct_run`] is correct for, expecting `expect`: one
/// count subtask, and a fixed-delay strategy that allows its one restart.
pub fn scenario(expect: Expectation) -> Scenario {
    let restart = RestartConfig::FixedDelay {
        attempts: 1,
        delay: Duration::from_millis(RESTART_DELAY_MS),
    };
    let config = JobConfig {
        topology: TopologyConfig {
            parallelism: 1,
            ..TopologyConfig::default()
        },
        workload: workload(),
        restart,
        ..JobConfig::default()
    };
    // Built on a loaded scenario, so that fields added later keep a default.
    let mut s = crate::scenario::load("steady").expect("built-in scenarios load");
    s.name = "fixture".into();
    s.description = "A correct run built without the engine.".into();
    s.config = config;
    s.faults = Vec::new();
    s.expect = expect;
    s.seeds = crate::scenario::SeedRange::one(7);
    s.max_sim_time = Duration::from_secs(30);
    s
}

/// The scenario [`failed_run`] is correct for: the strategy never restarts,
/// and the job is expected to fail with [`REASON`].
pub fn failed_scenario() -> Scenario {
    let mut s = scenario(Expectation::JobFailed {
        reason: REASON.into(),
    });
    s.config.restart = RestartConfig::None;
    s
}

/// One record of each partition in turn.
pub fn round_robin(input: &[Vec<InputRecord>]) -> Vec<InputRecord> {
    let longest = input.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .flat_map(|i| input.iter().filter_map(move |log| log.get(i)))
        .copied()
        .collect()
}

/// All of partition 0, then all of partition 1, and so on.
pub fn partition_after_partition(input: &[Vec<InputRecord>]) -> Vec<InputRecord> {
    input.iter().flatten().copied().collect()
}

/// What a correct keyed-count emits when it reads `records` in this order.
pub fn keyed_count(records: &[InputRecord]) -> Vec<OutputRecord> {
    let mut seen: BTreeMap<Key, u64> = BTreeMap::new();
    let count = |r: &InputRecord, seen: &mut BTreeMap<Key, u64>| {
        let n = seen.entry(r.key).or_default();
        *n += 1;
        OutputRecord {
            key: r.key,
            count: *n,
            partition: r.partition,
            offset: r.offset,
        }
    };
    records.iter().map(|r| count(r, &mut seen)).collect()
}

/// A correct, finished run that read the partitions round-robin.
pub fn correct_run() -> RunOutcome {
    run_in_order(round_robin(&input()))
}

/// A correct, finished run that read the input in this order.
pub fn run_in_order(order: Vec<InputRecord>) -> RunOutcome {
    let input = input();
    let output = keyed_count(&order);
    let per_txn = output.len().div_ceil(TXNS as usize);
    let committed: Vec<CommittedTxn> = output
        .chunks(per_txn)
        .zip(1..)
        .map(|(records, checkpoint)| CommittedTxn {
            txn: txn(checkpoint),
            records: records.to_vec(),
        })
        .collect();
    let output = raw(&committed);
    let job_input = (input.iter())
        .map(|p| p.iter().map(InputRecord::to_record).collect())
        .collect();
    RunOutcome {
        trace: trace(&committed, input.len()),
        output,
        output_pending: Vec::new(),
        output_lost: Vec::new(),
        timed_out: Vec::new(),
        job_input,
        committed,
        pending: Vec::new(),
        lost: Vec::new(),
        input,
        final_state: Some(JobState::Finished),
        sim_time: Duration::from_secs(30),
        host_steps: Default::default(),
        refused_connections: 0,
        unfired: Vec::new(),
        fired_at: Vec::new(),
        without_effect: Vec::new(),
        snapshots: Default::default(),
        stored_checkpoints: Default::default(),
        drained_ends: None,
    }
}

/// keyed-count's transactions as the sink stores them.
pub fn raw(committed: &[CommittedTxn]) -> Vec<(TxnId, Vec<flinch_engine::record::Record>)> {
    let encode = |c: &CommittedTxn| (c.txn, c.records.iter().map(keyed_count_record).collect());
    committed.iter().map(encode).collect()
}

/// The correct run up to the failover after checkpoint [`RESTORED`], where
/// the restart strategy gives up instead of restoring: it fails with [`REASON`].
pub fn failed_run() -> RunOutcome {
    let mut run = correct_run();
    run.committed.truncate(RESTORED as usize);
    run.output.truncate(RESTORED as usize);
    let failover = run
        .trace
        .iter()
        .position(|e| matches!(e.what, What::Engine(Event::Failover { .. })))
        .expect("the correct run has a failover");
    run.trace.truncate(failover + 1);
    let failed = JobState::Failed {
        reason: REASON.into(),
    };
    let at = run.trace[failover].at + Duration::from_millis(10);
    run.trace
        .push(event(at, "jobmanager", Event::JobState(failed.clone())));
    run.final_state = Some(failed);
    run
}

/// Commits transaction `index` once more, as the sink of job attempt `epoch`.
pub fn recommit(run: &mut RunOutcome, index: usize, epoch: u64) {
    let mut again = run.committed[index].clone();
    again.txn.epoch = epoch;
    run.committed.push(again);
}

/// Leaves `txn` pre-committed on the sink with `records` records (copies of
/// the first committed ones): a leftover that was neither committed nor
/// aborted, pre-committed just before the run's last event.
pub fn leave_pending(run: &mut RunOutcome, txn: TxnId, records: usize) {
    let held: Vec<OutputRecord> = run.committed[0]
        .records
        .iter()
        .copied()
        .take(records)
        .collect();
    let last = run.trace.len().saturating_sub(1);
    let at = run.trace.get(last).map_or(Duration::ZERO, |e| e.at);
    let count = held.len() as u64;
    run.trace.insert(
        last,
        event(
            at,
            "sink",
            Event::TxnPreCommitted {
                txn,
                records: count,
            },
        ),
    );
    let stored = held.iter().map(keyed_count_record).collect();
    run.output_pending.push((txn, stored));
    run.pending.push(PendingTxn { txn, records: held });
}

/// Where an output record sits: (transaction index, record index).
pub type Pos = (usize, usize);

/// The first output record that has a later one of the same key in the same
/// partition, and that next one: adjacent in the key's partition order.
pub fn next_in_partition(run: &RunOutcome) -> (Pos, Pos) {
    let all: Vec<(Pos, OutputRecord)> = positions(run).collect();
    for (i, (a, ra)) in all.iter().enumerate() {
        let same = |(_, r): &&(Pos, OutputRecord)| r.key == ra.key && r.partition == ra.partition;
        if let Some((b, _)) = all[i + 1..].iter().find(same) {
            return (*a, *b);
        }
    }
    panic!("the fixture has a key with two records in one partition");
}

/// Every committed output record with its position, in commit order.
pub fn positions(run: &RunOutcome) -> impl Iterator<Item = (Pos, OutputRecord)> + '_ {
    run.committed.iter().enumerate().flat_map(|(t, txn)| {
        let records = txn.records.iter().enumerate();
        records.map(move |(i, r)| ((t, i), *r))
    })
}

pub fn output_mut(run: &mut RunOutcome, (t, i): Pos) -> &mut OutputRecord {
    &mut run.committed[t].records[i]
}

/// How many input records `key` has.
pub fn records_of(run: &RunOutcome, key: Key) -> u64 {
    run.input.iter().flatten().filter(|r| r.key == key).count() as u64
}

pub fn kinds(violations: &[Violation]) -> Vec<&'static str> {
    violations.iter().map(|v| v.kind).collect()
}

/// The sink's transaction for `checkpoint`; its epoch changes at the failover.
pub fn txn(checkpoint: u64) -> TxnId {
    TxnId {
        subtask: 0,
        epoch: epoch_of(checkpoint),
        checkpoint,
    }
}

fn epoch_of(checkpoint: u64) -> u64 {
    if checkpoint <= RESTORED {
        1
    } else {
        2
    }
}

/// The tasks that snapshot and restore state.
pub const TASKS: [TaskId; 2] = [
    TaskId {
        vertex: Vertex::named("source"),
        subtask: 0,
    },
    TaskId {
        vertex: Vertex::named("count"),
        subtask: 0,
    },
];

/// The digest `task` snapshots at `checkpoint` in the fixture.
pub fn digest(checkpoint: u64, task: TaskId) -> u32 {
    0xd16e_0000 + (checkpoint as u32) * 16 + u32::from(task.vertex == Vertex::named("count"))
}

pub fn event(at: Duration, host: &str, event: Event) -> TraceEvent {
    TraceEvent {
        at,
        host: host.into(),
        what: What::Engine(event),
    }
}

/// The trace of a correct run, one event every 10 ms, except that the
/// restart is scheduled at the instant of its failover.
fn trace(committed: &[CommittedTxn], partitions: usize) -> Vec<TraceEvent> {
    let mut events = vec![(
        "jobmanager",
        Event::JobState(JobState::Running { epoch: 1 }),
    )];
    let mut offsets = vec![0; partitions];
    let mut counted = CountModel::default();
    for txn in committed {
        for r in &txn.records {
            offsets[r.partition as usize] = r.offset + 1;
            counted.count(r.key);
        }
        let operator_digest = counted.digest(TopologyConfig::default().max_parallelism);
        events.extend(checkpoint(txn, offsets.clone(), operator_digest));
        if txn.txn.checkpoint == RESTORED {
            events.extend(failover());
        }
    }
    events.push(("jobmanager", Event::JobState(JobState::Finished)));
    let mut at = Duration::ZERO;
    let mut stamp = |(host, e): (&str, Event)| {
        if !matches!(e, Event::RestartScheduled { .. }) {
            at += Duration::from_millis(10);
        }
        event(at, host, e)
    };
    events.into_iter().map(&mut stamp).collect()
}

/// The events of one checkpoint; the count subtask's state has the digest
/// `operator_digest`.
fn checkpoint(
    txn: &CommittedTxn,
    offsets: Vec<u64>,
    operator_digest: u32,
) -> Vec<(&'static str, Event)> {
    let TxnId {
        epoch, checkpoint, ..
    } = txn.txn;
    let records = txn.records.len() as u64;
    let mut events = vec![(
        "jobmanager",
        Event::CheckpointTriggered { checkpoint, epoch },
    )];
    for task in TASKS {
        let digest = digest(checkpoint, task);
        let operator_digest = (task.vertex == Vertex::named("count")).then_some(operator_digest);
        let snap = Event::StateSnapshotted {
            checkpoint,
            task,
            epoch,
            digest,
            operator_digest,
        };
        events.push(("taskmanager-1", snap));
    }
    let txn = txn.txn;
    events.extend([
        ("sink", Event::TxnPreCommitted { txn, records }),
        (
            "jobmanager",
            Event::CheckpointCompleted {
                checkpoint,
                offsets,
            },
        ),
        ("sink", Event::TxnCommitted { txn, records }),
    ]);
    events
}

fn failover() -> Vec<(&'static str, Event)> {
    let epoch = epoch_of(RESTORED + 1);
    let cause = "taskmanager-2 lost: heartbeat timeout".to_string();
    let scheduled = Event::RestartScheduled {
        attempt: 1,
        delay_ms: RESTART_DELAY_MS,
    };
    let mut events = vec![
        ("jobmanager", Event::Failover { epoch, cause }),
        ("jobmanager", scheduled),
        (
            "jobmanager",
            Event::JobState(JobState::Restarting { epoch }),
        ),
    ];
    for task in TASKS {
        let restored = Event::StateRestored {
            checkpoint: RESTORED,
            task,
            epoch,
            digest: digest(RESTORED, task),
            from: None,
        };
        events.push(("taskmanager-1", restored));
    }
    let restore = Some(RESTORED);
    events.extend([
        ("jobmanager", Event::TasksDeployed { epoch, restore }),
        ("jobmanager", Event::JobState(JobState::Running { epoch })),
    ]);
    events
}

/// A real run of a built-in scenario, with the scenario.
pub fn real_run(name: &str, seed: u64) -> (Scenario, RunOutcome) {
    let scenario = crate::scenario::load(name).expect("built-in scenarios load");
    let outcome = crate::world::simulate(&scenario, seed)
        .unwrap_or_else(|e| panic!("{name} seed {seed} did not simulate: {e}"));
    (scenario, outcome)
}
