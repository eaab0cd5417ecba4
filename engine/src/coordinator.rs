//! The checkpoint coordinator as a pure state machine: the jobmanager feeds
//! it time, acknowledgements and storage results; it answers with decisions.
//! Options follow Flink's `execution.checkpointing.*` (docs/flink-semantics.md).

use crate::config::CheckpointConfig;
use crate::event::TaskId;
use crate::proto::{CheckpointMeta, StateHandle};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send the trigger for this checkpoint to every source.
    Trigger(u64),
    /// Give the checkpoint up (timed out, declined, storage failed).
    Abort { checkpoint: u64, reason: String },
    /// More consecutive failures than `tolerable_failures`: fail the job over.
    Failover { reason: String },
    /// A trigger was due while some task of the attempt was still restoring
    /// its state: none is sent, the failure counts for no
    /// `tolerable_failures`, and the next try comes one interval later, as
    /// Flink's `CheckpointCoordinator` fails such a trigger with
    /// `NOT_ALL_REQUIRED_TASKS_RUNNING` (its plan calculator requires every
    /// task RUNNING, past INITIALIZING) and its failure manager ignores it.
    NotAllTasksRunning,
}

/// Every task acknowledged a checkpoint.
#[derive(Debug, PartialEq, Eq)]
pub struct AllAcked {
    /// The metadata to write durably: once it is, the checkpoint is complete.
    pub meta: CheckpointMeta,
    /// Every task acknowledged as finished: once complete, this is a final
    /// checkpoint (FLIP-147), after which the job may finish.
    pub finished: bool,
}

#[derive(Debug)]
struct Pending {
    triggered_at: Duration,
    acks: BTreeMap<TaskId, StateHandle>,
    offsets: BTreeMap<u32, u64>,
    /// Every acknowledgement so far came from a finished task.
    finished: bool,
    /// All acks are in and the metadata is being written.
    writing: bool,
    /// A savepoint a client asked for ([`Coordinator::trigger_savepoint`]).
    savepoint: bool,
}

#[derive(Debug)]
pub struct Coordinator {
    config: CheckpointConfig,
    tasks: BTreeSet<TaskId>,
    epoch: u64,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    /// Completed checkpoints still retained, oldest first.
    completed: VecDeque<CheckpointMeta>,
    last_trigger: Option<Duration>,
    last_completion: Option<Duration>,
    consecutive_failures: u32,
    /// Triggering is held off (the jobmanager's call: after the final
    /// checkpoint, see [`Coordinator::hold_triggers`]).
    held: bool,
    /// Some task of the attempt is still restoring its state
    /// ([`Coordinator::tasks_restoring`]).
    restoring: bool,
}

impl Coordinator {
    /// `completed` are the retained checkpoints found in storage, oldest first.
    pub fn new(
        config: CheckpointConfig,
        tasks: Vec<TaskId>,
        completed: Vec<CheckpointMeta>,
    ) -> Self {
        let next_id = completed.last().map_or(1, |m| m.checkpoint + 1);
        Coordinator {
            config,
            tasks: tasks.into_iter().collect(),
            epoch: 0,
            next_id,
            pending: BTreeMap::new(),
            completed: completed.into(),
            last_trigger: None,
            last_completion: None,
            held: false,
            restoring: false,
            consecutive_failures: 0,
        }
    }

    pub fn latest(&self) -> Option<&CheckpointMeta> {
        self.completed.back()
    }

    /// The retained completed checkpoint `checkpoint`, if any.
    pub fn completed(&self, checkpoint: u64) -> Option<&CheckpointMeta> {
        self.completed.iter().find(|m| m.checkpoint == checkpoint)
    }

    /// Drop `checkpoint` from the completed checkpoints a restore may take:
    /// it cannot be read. Its id stays used.
    pub fn forget(&mut self, checkpoint: u64) {
        self.completed.retain(|m| m.checkpoint != checkpoint);
    }

    /// The completed checkpoint before the latest, if still retained.
    pub fn previous(&self) -> Option<&CheckpointMeta> {
        self.completed.iter().rev().nth(1)
    }

    /// The id the next trigger gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Number on from at least `floor` (the register's record of ids
    /// already handed out).
    pub fn resume_ids(&mut self, floor: u64) {
        self.next_id = self.next_id.max(floor);
    }

    /// Take the retained completed checkpoints from the register, which
    /// changed under this coordinator (a swap it did not make landed).
    /// Ids keep increasing past every checkpoint either side knows.
    pub fn adopt(&mut self, completed: Vec<CheckpointMeta>) {
        if let Some(latest) = completed.last() {
            self.next_id = self.next_id.max(latest.checkpoint + 1);
        }
        self.completed = completed.into();
    }

    /// A new job attempt starts running at `now`: pending checkpoints of the
    /// old attempt are dropped (they can never complete), and the first
    /// trigger comes one interval later. Ids keep increasing across attempts.
    pub fn start(&mut self, epoch: u64, now: Duration) {
        self.epoch = epoch;
        self.pending.clear();
        self.held = false;
        self.last_trigger = Some(now);
        self.consecutive_failures = 0;
    }

    /// Hold off triggering new checkpoints while `held` (pending ones still
    /// complete or expire). The jobmanager holds them once the final
    /// checkpoint (the one covering all input) has completed, as Flink stops
    /// triggering once every source has finished: otherwise a checkpoint
    /// that takes as long as `interval` is followed by a new one the moment
    /// it completes, and the job, which finishes only when every
    /// transaction pre-committed has been committed, never finishes.
    pub fn hold_triggers(&mut self, held: bool) {
        self.held = held;
    }

    /// Whether some task of the attempt is still restoring its state (the
    /// jobmanager's knowledge: every taskmanager that deployed tasks with a
    /// checkpoint to restore has not yet reported them running). A periodic
    /// trigger due meanwhile is not sent ([`Decision::NotAllTasksRunning`]):
    /// a checkpoint triggered during a restore longer than `timeout` would
    /// expire, fail the job over into the same restore, and loop.
    pub fn tasks_restoring(&mut self, restoring: bool) {
        self.restoring = restoring;
    }

    /// Whether triggering is held off ([`Coordinator::hold_triggers`]).
    pub fn triggers_held(&self) -> bool {
        self.held
    }

    /// The earliest time (the jobmanager's clock, as `poll` takes it) at
    /// which [`Coordinator::poll`] would decide anything, with triggers
    /// held as `held` says: a pending checkpoint's expiry, or the next
    /// periodic trigger (one `interval` after the last, and `min_pause`
    /// after the last completion). `None` if nothing is due at any time
    /// until something else changes the coordinator (an acknowledgement,
    /// a completion, a new attempt). Before it, `poll` returns nothing and
    /// changes nothing.
    pub fn next_deadline(&self, held: bool) -> Option<Duration> {
        let timeout = self.config.timeout;
        let expiry = (self.pending.values())
            .map(|p| p.triggered_at.saturating_add(timeout))
            .min();
        let trigger = self
            .last_trigger
            .filter(|_| !held && self.pending.len() < self.config.max_concurrent as usize)
            .map(|last| {
                let pause = (self.last_completion).map_or(Duration::ZERO, |done| {
                    done.saturating_add(self.config.min_pause)
                });
                last.saturating_add(self.config.interval).max(pause)
            });
        expiry.into_iter().chain(trigger).min()
    }

    /// Checkpoints triggered and neither completed nor aborted yet.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Stop triggering (the job is failing over or finished).
    pub fn stop(&mut self) {
        self.pending.clear();
        self.last_trigger = None;
    }

    pub fn poll(&mut self, now: Duration) -> Vec<Decision> {
        let mut out = self.expire(now);
        if out.iter().any(|d| matches!(d, Decision::Failover { .. })) {
            return out;
        }
        if self.may_trigger(now) {
            if self.restoring {
                self.last_trigger = Some(now);
                out.push(Decision::NotAllTasksRunning);
            } else {
                out.push(Decision::Trigger(self.trigger(now, false)));
            }
        }
        out
    }

    /// Trigger a savepoint at `now` whatever the interval, the pause and
    /// the concurrent checkpoints say, and return its id (from the same
    /// counter as checkpoints'), as Flink's
    /// `CheckpointCoordinator.triggerSavepoint` takes one on request,
    /// outside the periodic schedule. It is acknowledged and expires as a
    /// checkpoint is; its failure counts for no `tolerable_failures`.
    pub fn trigger_savepoint(&mut self, now: Duration) -> u64 {
        self.trigger(now, true)
    }

    fn trigger(&mut self, now: Duration, savepoint: bool) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.last_trigger = Some(now);
        let pending = Pending {
            triggered_at: now,
            acks: BTreeMap::new(),
            offsets: BTreeMap::new(),
            finished: true,
            writing: false,
            savepoint,
        };
        self.pending.insert(id, pending);
        id
    }

    /// A plain savepoint's metadata is durable: it is done, and nothing
    /// else changes (it is not a completed checkpoint: never restored,
    /// never retained here, subsuming nothing). False if it was no longer
    /// pending (the attempt failed over meanwhile).
    pub fn savepoint_written(&mut self, savepoint: u64) -> bool {
        self.pending.remove(&savepoint).is_some()
    }

    fn may_trigger(&self, now: Duration) -> bool {
        let Some(last) = self.last_trigger else {
            return false;
        };
        let paused = self
            .last_completion
            .is_some_and(|done| now < done + self.config.min_pause);
        now >= last + self.config.interval
            && self.pending.len() < self.config.max_concurrent as usize
            && !paused
            && !self.held
    }

    fn expire(&mut self, now: Duration) -> Vec<Decision> {
        let timeout = self.config.timeout;
        let expired: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.triggered_at + timeout)
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::new();
        if expired.is_empty() {
            // The common case, every poll: no reason to format.
            return out;
        }
        let reason = format!("expired after {timeout:?}");
        for id in expired {
            out.extend(self.fail(id, reason.clone()));
        }
        out
    }

    /// A task acknowledged (`finished`: it had seen end of input on every
    /// input, see `ToJobManager::Ack`): returns the metadata to write
    /// durably when this was the last acknowledgement.
    pub fn on_ack(
        &mut self,
        checkpoint: u64,
        task: TaskId,
        handle: StateHandle,
        source_offset: Option<u64>,
        finished: bool,
    ) -> Option<AllAcked> {
        let pending = self.pending.get_mut(&checkpoint)?;
        if let Some(offset) = source_offset {
            pending.offsets.insert(task.subtask, offset);
        }
        pending.finished &= finished;
        pending.acks.insert(task, handle);
        if pending.writing || pending.acks.len() < self.tasks.len() {
            return None;
        }
        pending.writing = true;
        let meta = CheckpointMeta {
            drained: false,
            checkpoint,
            epoch: self.epoch,
            offsets: pending.offsets.values().copied().collect(),
            handles: pending.acks.clone(),
        };
        Some(AllAcked {
            meta,
            finished: pending.finished,
        })
    }

    /// The checkpoints the next completion will subsume, oldest first: what
    /// [`Coordinator::on_written`] will return, known before it is called
    /// (for `retained` of 1 or more, which a scenario's validation checks).
    pub fn subsumed_by_next(&self) -> Vec<CheckpointMeta> {
        let excess = (self.completed.len() + 1).saturating_sub(self.config.retained as usize);
        self.completed.iter().take(excess).cloned().collect()
    }

    /// The metadata is durable: the checkpoint is complete. Returns the
    /// checkpoints no longer retained, whose data may be deleted.
    pub fn on_written(&mut self, meta: CheckpointMeta, now: Duration) -> Vec<CheckpointMeta> {
        self.pending.remove(&meta.checkpoint);
        // Older pending checkpoints are subsumed by a newer completed one;
        // a savepoint is not (Flink's `dropSubsumedCheckpoints` spares
        // savepoints): it still completes with its acknowledgements, or
        // expires and is aborted, and whoever asked for it hears which.
        self.pending
            .retain(|id, p| *id > meta.checkpoint || p.savepoint);
        self.consecutive_failures = 0;
        self.last_completion = Some(now);
        self.completed.push_back(meta);
        let mut dropped = Vec::new();
        while self.completed.len() > self.config.retained as usize {
            dropped.extend(self.completed.pop_front());
        }
        dropped
    }

    /// The checkpoint failed (declined, or its metadata could not be written).
    pub fn fail(&mut self, checkpoint: u64, reason: String) -> Vec<Decision> {
        let Some(pending) = self.pending.remove(&checkpoint) else {
            return Vec::new();
        };
        let mut out = vec![Decision::Abort {
            checkpoint,
            reason: reason.clone(),
        }];
        if pending.savepoint {
            // Flink's CheckpointFailureManager counts checkpoints only.
            return out;
        }
        self.consecutive_failures += 1;
        if self.consecutive_failures > self.config.tolerable_failures {
            let failures = self.consecutive_failures;
            let tolerable = self.config.tolerable_failures;
            out.push(Decision::Failover {
                reason: format!(
                    "checkpoint {checkpoint} failed ({reason}): {failures} consecutive \
                     checkpoint failures exceed tolerable_failures = {tolerable}"
                ),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn config() -> CheckpointConfig {
        CheckpointConfig {
            interval: MS(100),
            timeout: MS(1000),
            ..CheckpointConfig::default()
        }
    }

    fn task(name: &str) -> TaskId {
        TaskId {
            vertex: crate::event::Vertex::new(name).unwrap(),
            subtask: 0,
        }
    }

    fn tasks() -> Vec<TaskId> {
        vec![task("source"), task("count")]
    }

    fn handle(name: &str) -> StateHandle {
        StateHandle {
            name: name.into(),
            size: 1,
            crc: 0,
            inline: None,
        }
    }

    fn ack_all(c: &mut Coordinator, id: u64) -> Option<CheckpointMeta> {
        assert!(c
            .on_ack(id, task("source"), handle("s"), Some(42), false)
            .is_none());
        c.on_ack(id, task("count"), handle("c"), None, false)
            .map(|all| all.meta)
    }

    #[test]
    fn a_checkpoint_is_final_only_when_every_task_acked_as_finished() {
        let mut c = Coordinator::new(config(), tasks(), vec![]);
        c.start(1, MS(0));
        assert_eq!(c.poll(MS(100)), vec![Decision::Trigger(1)]);
        assert!(c
            .on_ack(1, task("source"), handle("s"), Some(9), true)
            .is_none());
        let all = c.on_ack(1, task("count"), handle("c"), None, false);
        let all = all.expect("all acked");
        assert!(!all.finished, "one task had not finished");
        c.on_written(all.meta, MS(110));
        assert_eq!(c.poll(MS(200)), vec![Decision::Trigger(2)]);
        assert!(c
            .on_ack(2, task("count"), handle("c"), None, true)
            .is_none());
        let all = c.on_ack(2, task("source"), handle("s"), Some(9), true);
        assert_eq!(all.map(|a| a.finished), Some(true));
    }

    #[test]
    fn triggers_every_interval_and_completes_when_every_task_acked() {
        let mut c = Coordinator::new(config(), tasks(), vec![]);
        c.start(1, MS(0));
        assert_eq!(c.poll(MS(50)), vec![]);
        assert_eq!(c.poll(MS(100)), vec![Decision::Trigger(1)]);
        assert_eq!(
            c.poll(MS(250)),
            vec![],
            "max_concurrent = 1 holds the next trigger"
        );
        let meta = ack_all(&mut c, 1).expect("all acked");
        assert_eq!(
            (meta.checkpoint, meta.epoch, meta.offsets.clone()),
            (1, 1, vec![42])
        );
        assert_eq!(c.on_written(meta, MS(260)), vec![]);
        assert_eq!(c.latest().map(|m| m.checkpoint), Some(1));
        assert_eq!(c.poll(MS(260)), vec![Decision::Trigger(2)]);
    }

    /// A newer checkpoint's completion subsumes an older pending checkpoint
    /// but not a pending savepoint, which completes on its own
    /// acknowledgements or expires (a savepoint dropped without a word left
    /// a stop queued behind it waiting for ever).
    #[test]
    fn a_completion_subsumes_older_checkpoints_but_not_a_savepoint() {
        let cfg = CheckpointConfig {
            max_concurrent: 3,
            ..config()
        };
        let mut c = Coordinator::new(cfg, tasks(), vec![]);
        c.start(1, MS(0));
        assert_eq!(c.poll(MS(100)), vec![Decision::Trigger(1)]);
        let savepoint = c.trigger_savepoint(MS(150));
        assert_eq!(c.poll(MS(250)), vec![Decision::Trigger(3)]);
        let third = ack_all(&mut c, 3).expect("all acked");
        c.on_written(third, MS(260));
        assert!(c.has_pending(), "the savepoint is still pending");
        let meta = ack_all(&mut c, savepoint).expect("the savepoint's acks still count");
        assert_eq!(meta.checkpoint, savepoint);
        assert!(c.savepoint_written(savepoint));
        assert!(!c.has_pending(), "checkpoint 1 was subsumed");
        // One never acknowledged expires instead, and says so.
        let late = c.trigger_savepoint(MS(300));
        let fourth = {
            assert_eq!(c.poll(MS(400)), vec![Decision::Trigger(late + 1)]);
            ack_all(&mut c, late + 1).expect("all acked")
        };
        c.on_written(fourth, MS(410));
        let expired = c.poll(MS(1300));
        assert!(
            matches!(&expired[..], [Decision::Abort { checkpoint, .. }, ..] if *checkpoint == late),
            "{expired:?}"
        );
    }

    /// Flink's `NOT_ALL_REQUIRED_TASKS_RUNNING`: no trigger while a task
    /// restores, no failure counted (with `tolerable_failures = 0` a counted
    /// one would fail the job over), the next try one interval later.
    #[test]
    fn no_trigger_while_a_task_restores_and_no_failure_counted() {
        let mut c = Coordinator::new(config(), tasks(), vec![]);
        assert_eq!(c.config.tolerable_failures, 0);
        c.start(1, MS(0));
        c.tasks_restoring(true);
        assert_eq!(c.poll(MS(100)), vec![Decision::NotAllTasksRunning]);
        assert!(!c.has_pending());
        assert_eq!(c.next_deadline(false), Some(MS(200)));
        assert_eq!(c.poll(MS(150)), vec![], "the next try is one interval on");
        assert_eq!(c.poll(MS(200)), vec![Decision::NotAllTasksRunning]);
        c.tasks_restoring(false);
        assert_eq!(c.poll(MS(250)), vec![]);
        assert_eq!(c.poll(MS(300)), vec![Decision::Trigger(1)]);
    }

    #[test]
    fn min_pause_delays_the_next_trigger_after_a_completion() {
        let cfg = CheckpointConfig {
            min_pause: MS(300),
            ..config()
        };
        let mut c = Coordinator::new(cfg, tasks(), vec![]);
        c.start(1, MS(0));
        c.poll(MS(100));
        let meta = ack_all(&mut c, 1).unwrap();
        c.on_written(meta, MS(150));
        assert_eq!(c.poll(MS(400)), vec![]);
        assert_eq!(c.poll(MS(450)), vec![Decision::Trigger(2)]);
    }

    #[test]
    fn a_timeout_aborts_and_beyond_tolerable_failures_fails_over() {
        let cfg = CheckpointConfig {
            tolerable_failures: 1,
            ..config()
        };
        let mut c = Coordinator::new(cfg, tasks(), vec![]);
        c.start(1, MS(0));
        c.poll(MS(100));
        let first = c.poll(MS(1100));
        assert!(
            matches!(first[0], Decision::Abort { checkpoint: 1, .. }),
            "{first:?}"
        );
        assert_eq!(first[1], Decision::Trigger(2));
        let second = c.poll(MS(2100));
        assert!(matches!(second[0], Decision::Abort { checkpoint: 2, .. }));
        assert!(
            matches!(&second[1], Decision::Failover { reason } if reason.contains("tolerable_failures = 1"))
        );
    }

    #[test]
    fn retained_keeps_only_the_newest_and_ids_continue_after_recovery() {
        let cfg = CheckpointConfig {
            retained: 2,
            ..config()
        };
        let mut c = Coordinator::new(cfg.clone(), tasks(), vec![]);
        c.start(1, MS(0));
        let mut dropped = vec![];
        for (i, t) in [(1, 100), (2, 200), (3, 300)] {
            assert_eq!(c.poll(MS(t)), vec![Decision::Trigger(i)]);
            let meta = ack_all(&mut c, i).unwrap();
            dropped = c.on_written(meta, MS(t));
        }
        assert_eq!(
            dropped.iter().map(|m| m.checkpoint).collect::<Vec<_>>(),
            vec![1]
        );
        let kept: Vec<_> = c.completed.iter().cloned().collect();
        let mut recovered = Coordinator::new(cfg, tasks(), kept);
        recovered.start(2, MS(1000));
        assert_eq!(recovered.poll(MS(1100)), vec![Decision::Trigger(4)]);
    }

    #[test]
    fn acks_of_an_unknown_checkpoint_are_ignored() {
        let mut c = Coordinator::new(config(), tasks(), vec![]);
        c.start(1, MS(0));
        assert!(ack_all(&mut c, 7).is_none());
    }

    /// `next_deadline` is exactly the first time `poll` decides anything:
    /// every millisecond before it polls to nothing, and it polls to a
    /// decision, through triggers, a pause after a completion, a held
    /// trigger, and an expiry.
    #[test]
    fn the_next_deadline_is_the_first_poll_that_decides() {
        let config = CheckpointConfig {
            min_pause: MS(150),
            ..config()
        };
        let mut c = Coordinator::new(config, tasks(), vec![]);
        assert_eq!(c.next_deadline(false), None, "not started");
        c.start(1, MS(0));
        let mut seen = Vec::new();
        let mut t = MS(0);
        while t < MS(3000) {
            let held = t >= MS(2000);
            let due = c.next_deadline(held);
            c.hold_triggers(held);
            let decisions = c.poll(t);
            assert_eq!(
                !decisions.is_empty(),
                due.is_some_and(|due| t >= due),
                "at {t:?}: due {due:?}, decided {decisions:?}"
            );
            for d in decisions {
                if let Decision::Trigger(id) = d {
                    seen.push((t, id));
                    // The first two complete 20 ms later; the third never.
                    if id <= 2 {
                        t += MS(20);
                        let meta = ack_all(&mut c, id).expect("every task acked");
                        c.on_written(meta, t);
                    }
                }
            }
            t += MS(1);
        }
        // Triggers at 100 ms; at 270 (150 ms after the completion at
        // 120) and 440; the third expires at 1440 (a failover decision:
        // no trigger in that poll) and the fourth comes at the next poll;
        // it expires at 2441, when triggers are held.
        let times: Vec<u128> = seen.iter().map(|(t, _)| t.as_millis()).collect();
        assert_eq!(times, [100, 270, 440, 1441], "{seen:?}");
    }
}
