//! The output check of any job but keyed-count, through the job's own
//! reference model ([`crate::job::JobModel`]): its findings about the whole
//! committed output become `exactly-once` violations naming the output and
//! the transactions that hold it. (keyed-count's record-level checkers,
//! `records.rs`, give it evidence by key, partition and offset.)

use super::{cap, kind};
use crate::expect::Expectation;
use crate::job::JobModel;
use crate::model::{Finding, FindingKind};
use crate::model::{KeyedState, Timers};
use crate::outcome::RunOutcome;
use crate::trace::What;
use crate::violation::{Checker, Violation};
use flinch_engine::config::{CheckpointMode, JobConfig};
use flinch_engine::event::{Event, JobState, TaskId};
use flinch_engine::job::Plan;
use flinch_engine::operator::KeyedSnapshot;
use flinch_engine::record::{self, Record};

/// The model's verdict on `outcome`'s committed output under `expect`:
/// exactly-once, at-least-once, or for a job expected to fail, only what it
/// did commit (duplicated, unexpected or wrong output; nothing missing).
pub fn model_output(
    outcome: &RunOutcome,
    model: &dyn JobModel,
    expect: &Expectation,
) -> Vec<Violation> {
    let output: Vec<Record> = (outcome.output.iter())
        .flat_map(|(_, records)| records.iter().cloned())
        .collect();
    let input = &outcome.judged_input();
    let findings = match expect {
        Expectation::AtLeastOnce => model.check_output_at_least_once(input, &output),
        Expectation::ExactlyOnce => model.check_output(input, &output),
        Expectation::JobFailed { .. } => (model.check_output(input, &output).into_iter())
            .filter(|f| !matches!(f.kind, FindingKind::Missing { .. }))
            .collect(),
    };
    let violations = findings
        .into_iter()
        .map(|f| violation(outcome, f))
        .collect();
    cap::limit(violations)
}

/// The consistent-cut check of any job but keyed-count: at every checkpoint
/// the jobmanager completed, each keyed vertex's state (its subtasks'
/// snapshots of the attempt that completed it, in union) must be what the
/// job's model says it is at the checkpoint's source offsets
/// ([`JobModel::check_state`]). Nothing in at-least-once mode, where a
/// snapshot may hold records past its barrier.
///
/// A drained checkpoint is judged as one taken at the end of the input: a
/// drain's savepoint (the checkpoints its attempt completed from it on),
/// and every checkpoint of an attempt that restored a drained one (its
/// sources end their input at once; a restore proves the drain's savepoint
/// completed, traced or not). Its input is the log up to its offsets.
pub fn model_cut(
    outcome: &RunOutcome,
    model: &dyn JobModel,
    plan: &Plan,
    config: &JobConfig,
) -> Vec<Violation> {
    if config.checkpoint.mode == CheckpointMode::AtLeastOnce {
        return Vec::new();
    }
    let mut violations = Vec::new();
    let mut epoch = 0;
    // Keyed vertices run at one parallelism, which a resumed run may change.
    let mut parallelism = plan.sink_vertex().parallelism;
    // Per attempt, the first checkpoint id taken after the input ended (a
    // drain's, or 0 for an attempt that restored a drained checkpoint); the
    // drains' savepoints; and the other drained checkpoints completed.
    let mut drained_from: std::collections::BTreeMap<u64, u64> = Default::default();
    let mut drains = crate::lifecycle::StopSavepoints::new(true);
    let mut drained: std::collections::BTreeSet<u64> = Default::default();
    for e in &outcome.trace {
        if let Some(resumed) = crate::lifecycle::resumed_parallelism(e) {
            parallelism = resumed;
            continue;
        }
        if let What::Engine(event) = &e.what {
            drains.follow(event);
        }
        match &e.what {
            What::Engine(Event::JobState(JobState::Running { epoch: e })) => epoch = *e,
            // An id handed out again is another snapshot.
            What::Engine(Event::CheckpointTriggered { checkpoint, .. }) => {
                drained.remove(checkpoint);
            }
            What::Engine(Event::SavepointTriggered {
                checkpoint,
                epoch,
                drain: true,
                ..
            }) => {
                drained_from.entry(*epoch).or_insert(*checkpoint);
            }
            What::Engine(Event::TasksDeployed {
                epoch,
                restore: Some(restore),
            }) if drains.contains(*restore) || drained.contains(restore) => {
                drained_from.insert(*epoch, 0);
            }
            What::Engine(Event::CheckpointCompleted {
                checkpoint,
                offsets,
            }) => {
                let ended = drained_from
                    .get(&epoch)
                    .is_some_and(|from| checkpoint >= from);
                if ended {
                    drained.insert(*checkpoint);
                }
                let cut = Cut {
                    outcome,
                    model,
                    epoch,
                    checkpoint: *checkpoint,
                    offsets,
                    ended,
                    completed_at: e.at,
                };
                for vertex in plan.vertices.iter().skip(1) {
                    violations.extend(cut.vertex(vertex.name, parallelism));
                }
            }
            _ => {}
        }
    }
    cap::limit(violations)
}

/// One completed checkpoint being checked.
struct Cut<'a> {
    outcome: &'a RunOutcome,
    model: &'a dyn JobModel,
    epoch: u64,
    checkpoint: u64,
    offsets: &'a [u64],
    /// Taken after a drain ended the input at `offsets`.
    ended: bool,
    /// When it completed: the moment its violations refer to.
    completed_at: std::time::Duration,
}

impl Cut<'_> {
    fn vertex(&self, vertex: flinch_engine::event::Vertex, parallelism: u32) -> Vec<Violation> {
        let mut state = KeyedState::new();
        let mut timers = Timers::new();
        let checkpoint = self.checkpoint;
        let at = |task: TaskId| Violation {
            checkpoint: Some(checkpoint),
            task: Some(task),
            at: Some(self.completed_at),
            ..Violation::new(Checker::ConsistentCut, kind::INCONSISTENT_CUT, "")
        };
        for subtask in 0..parallelism {
            let task = TaskId { vertex, subtask };
            let key = (self.epoch, checkpoint, task);
            let Some(bytes) = self.outcome.snapshots.get(&key) else {
                let message = format!(
                    "checkpoint {checkpoint} completed in epoch {} without a snapshot of {task}",
                    self.epoch
                );
                return vec![Violation {
                    kind: kind::MISSING_SNAPSHOT,
                    message,
                    ..at(task)
                }];
            };
            let snapshot: KeyedSnapshot = match record::decode(bytes) {
                Ok(snapshot) => snapshot,
                Err(e) => {
                    let message = format!("checkpoint {checkpoint}: {task}'s snapshot: {e}");
                    return vec![Violation {
                        message,
                        ..at(task)
                    }];
                }
            };
            for group in snapshot.groups {
                state.extend(group.state);
                timers.extend(group.timers);
            }
        }
        let log = &self.outcome.job_input;
        let input = match self.ended {
            true => crate::outcome::judged(log, Some(self.offsets)),
            false => std::borrow::Cow::Borrowed(log.as_slice()),
        };
        let wrong = self
            .model
            .check_state(&input, self.offsets, vertex, &state, &timers);
        let task = TaskId { vertex, subtask: 0 };
        (wrong.into_iter())
            .map(|why| Violation {
                message: format!(
                    "checkpoint {checkpoint} (sources at {:?}), vertex {vertex}: {why}",
                    self.offsets
                ),
                task: None,
                ..at(task)
            })
            .collect()
    }
}

fn violation(outcome: &RunOutcome, f: Finding) -> Violation {
    let kind = match f.kind {
        FindingKind::Missing { .. } => kind::MISSING,
        FindingKind::Duplicated { .. } => kind::DUPLICATED,
        FindingKind::Unexpected { .. } => kind::UNEXPECTED,
        FindingKind::WrongValue => kind::WRONG_VALUE,
    };
    let txns = (outcome.output.iter())
        .filter(|(_, records)| (records.iter()).any(|r| r.key == f.key && r.value == f.value))
        .map(|(txn, _)| *txn)
        .collect();
    // The kind is printed before the message: do not say it twice.
    let prefix = format!("{kind}: ");
    let message = f.message.strip_prefix(&prefix).unwrap_or(&f.message);
    Violation {
        txns,
        ..Violation::new(Checker::ExactlyOnce, kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixture::correct_run;
    use crate::keyed_count::Model;

    #[test]
    fn findings_become_violations_naming_the_transactions() {
        let mut run = correct_run();
        assert_eq!(model_output(&run, &Model, &Expectation::ExactlyOnce), []);
        let copy = run.output[1].1[0].clone();
        let holder = run.output[1].0;
        run.output[2].1.push(copy);
        let found = model_output(&run, &Model, &Expectation::ExactlyOnce);
        let kinds: Vec<_> = found.iter().map(|v| v.kind).collect();
        // The copy, and the key's counts that it makes wrong.
        assert_eq!(kinds, [kind::DUPLICATED, kind::WRONG_VALUE], "{found:?}");
        assert_eq!(found[0].txns, vec![holder, run.output[2].0]);
        assert!(!found[0].message.starts_with("duplicated"), "said once");
        assert_eq!(model_output(&run, &Model, &Expectation::AtLeastOnce), []);
        run.output[0].1.remove(0);
        let failed = Expectation::JobFailed { reason: "x".into() };
        let kinds: Vec<_> = (model_output(&run, &Model, &failed).iter())
            .map(|v| v.kind)
            .collect();
        assert!(kinds.contains(&kind::DUPLICATED), "{kinds:?}");
        assert!(
            !kinds.contains(&kind::MISSING),
            "a failed job may miss output"
        );
        let exactly = model_output(&run, &Model, &Expectation::ExactlyOnce);
        assert!(exactly.iter().any(|v| v.kind == kind::MISSING));
    }
}
