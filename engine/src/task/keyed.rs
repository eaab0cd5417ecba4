//! A keyed subtask (`count[k]` in keyed-count): the input gate of a
//! `key_by` shuffle, the vertex's keyed operator and its chained operators,
//! and either the channels to the next vertex or, on the last vertex, the
//! chained two-phase-commit sink.
//!
//! Aligns barriers (exactly-once) or counts them (at-least-once, where a
//! snapshot may include records past a barrier: `snapshot-past-barrier`).
//! On barrier n a subtask with outputs forwards the barrier, then snapshots
//! its operator, stores the snapshot and acks (Flink's aligned checkpoint);
//! a sink subtask instead pre-commits the open transaction, snapshots
//! {operator state, pending transactions}, stores it and acks, and on the
//! completion notice for n commits every pending transaction up to n.

use super::output::Outputs;
use super::{Inbound, TaskEnv, TaskError, TaskResult};
use crate::align::{Aligned, Aligner};
use crate::config::{CheckpointMode, PlantedBug};
use crate::event::{Event, StateTap};
use crate::io::{addr, mpsc, now, sleep};
use crate::job::Plan;
use crate::operator::chain::{self, ChainedOperator};
use crate::operator::{KeyedOperator, KeyedSnapshot};
use crate::probe::Probe;
use crate::proto::{
    Payload, PreCommitOp, PreCommitRequest, SinkOp, SinkRequest, SinkResponse, ToJobManager,
};
use crate::record::{batch, Record, TxnId};
use crate::rescale;
use crate::wire::{RpcClient, WireError};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// What a keyed subtask checkpoints.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    operator: Vec<u8>,
    /// Pre-committed transactions not yet known to be committed, oldest
    /// first (always empty but on the sink's vertex).
    pending: Vec<TxnId>,
}

/// The two-phase-commit sink chained onto a subtask of the last vertex.
struct Sink {
    client: RpcClient,
    /// Output of the open transaction, encoded as the batch it is sent to
    /// the sink as at pre-commit.
    open: batch::Builder,
    pending: Vec<TxnId>,
    /// Whose transactions left open by older attempts the restore aborts
    /// besides its own.
    takeover: Takeover,
}

/// The other subtask ids a restored sink subtask aborts the stale
/// transactions of ([`rescale::Assignment`]): the old subtasks whose
/// pending transactions it took over, and, on subtask 0, every id from
/// `and_from` on.
#[derive(Debug, Default)]
struct Takeover {
    also: Vec<u32>,
    and_from: Option<u32>,
}

/// What a keyed subtask restores from a checkpoint.
struct RestoredState {
    checkpoint: u64,
    /// The keyed operator's snapshot (a postcard `KeyedSnapshot`).
    operator: Vec<u8>,
    pending: Vec<TxnId>,
    takeover: Takeover,
}

/// Read what this subtask restores, if anything: its own snapshot at the
/// parallelism the checkpoint was taken at; at another, its key groups
/// out of every old snapshot that has some and the pending transactions
/// of the old subtasks it takes over ([`rescale::assign`],
/// docs/savepoints.md). Traces `key_groups_restored`. Errors: a snapshot
/// unreadable or undecodable, or a checkpoint taken at a parallelism this
/// job's key groups cannot hold.
async fn restore(env: &TaskEnv, plan: &Plan) -> Result<Option<RestoredState>, TaskError> {
    let Some(old) = env.restored_parallelism() else {
        return Ok(None);
    };
    let max = plan.max_parallelism;
    let parallelism = plan
        .vertex(env.task.vertex)
        .expect("a deployed task is a vertex of the plan")
        .parallelism;
    if old == 0 || old > max {
        return Err(TaskError::RecoveryImpossible(format!(
            "the checkpoint holds state of {old} subtasks of {}, which {max} key groups cannot \
             hold (is it another job's?)",
            env.task.vertex
        )));
    }
    let mut assignment = rescale::assign(env.task.subtask, parallelism, old, max);
    if old != parallelism && env.ctx.bug(PlantedBug::KeyGroupMisassigned) {
        // Planted: the old subtask of the same index (modulo the old
        // parallelism), its key groups and its snapshot whole.
        let index = env.task.subtask % old;
        assignment.key_groups = rescale::key_group_range(index, old, max);
        assignment.keyed_from = vec![index];
        assignment.list_from = vec![index];
    }
    let (checkpoint, snapshots) = env
        .restored_snapshots(&assignment.reads())
        .await?
        .expect("a task with a parallelism to restore from has a checkpoint");
    let decode = |subtask: u32, bytes: &[u8]| -> Result<Snapshot, TaskError> {
        postcard::from_bytes(bytes).map_err(|e| {
            TaskError::Failed(format!(
                "undecodable state of {}[{subtask}] in checkpoint {checkpoint}: {e}",
                env.task.vertex
            ))
        })
    };
    let (operator, pending) = if old == parallelism {
        // Its own snapshot, whole.
        let (subtask, bytes) = &snapshots[0];
        let snap = decode(*subtask, bytes)?;
        (snap.operator, snap.pending)
    } else {
        env.ctx.probe(Probe::KeyedStateRescaled);
        let mut groups = Vec::new();
        let mut pending = Vec::new();
        for (subtask, bytes) in &snapshots {
            let snap = decode(*subtask, bytes)?;
            if assignment.keyed_from.contains(subtask) {
                let keyed: KeyedSnapshot = postcard::from_bytes(&snap.operator).map_err(|e| {
                    TaskError::Failed(format!(
                        "undecodable keyed state of {}[{subtask}] in checkpoint {checkpoint}: {e}",
                        env.task.vertex
                    ))
                })?;
                let range = assignment.key_groups;
                groups.extend(keyed.groups.into_iter().filter(|g| range.contains(g.group)));
            }
            if assignment.list_from.contains(subtask) {
                pending.extend(snap.pending);
            }
        }
        // Old ranges are contiguous and read in ascending order, so the
        // groups are ascending as a snapshot keeps them.
        (KeyedSnapshot { groups }.encode(), pending)
    };
    env.ctx.emit(Event::KeyGroupsRestored {
        checkpoint,
        task: env.task,
        epoch: env.epoch,
        parallelism,
        key_groups: assignment.key_groups,
    });
    let own = env.task.subtask;
    Ok(Some(RestoredState {
        checkpoint,
        operator,
        pending,
        takeover: Takeover {
            also: assignment
                .abort_ids
                .into_iter()
                .filter(|&id| id != own)
                .collect(),
            and_from: assignment.abort_from,
        },
    }))
}

/// Where a keyed subtask's output goes.
enum Downstream {
    /// Through the next `key_by` shuffle, to the next vertex.
    Shuffle(Outputs),
    /// Into the chained sink (the last vertex).
    Sink(Sink),
}

struct KeyedTask {
    env: TaskEnv,
    /// The vertex's keyed operator, through the keyed adapter.
    operator: Box<dyn KeyedOperator>,
    /// The stateless operators chained after it.
    chain: Vec<Box<dyn ChainedOperator>>,
    /// Output buffers, reused from record to record.
    out: Vec<Record>,
    scratch: Vec<Record>,
    downstream: Downstream,
    aligner: Aligner,
    /// Frames of blocked inputs, held (never dropped) until alignment ends.
    held: Vec<VecDeque<Payload>>,
    last_heard: Vec<Duration>,
    /// The watermark each input last sent, and whether it sent end of input.
    input_watermarks: Vec<u64>,
    ended: Vec<bool>,
    /// The task's watermark: the minimum over its inputs (Flink's
    /// `StatusWatermarkValve`), 0 until every input sent one. Never
    /// checkpointed: after a restore the sources send it again.
    watermark: u64,
    /// What went downstream (a vertex with outputs): the watermark, and
    /// whether end of input.
    sent_watermark: u64,
    sent_end: bool,
}

pub async fn run(
    env: TaskEnv,
    inputs: usize,
    mut inbox: mpsc::UnboundedReceiver<Inbound>,
) -> TaskResult {
    let config = env.ctx.config.clone();
    let plan = Plan::new(&env.ctx.job.graph, &config);
    let vertex = (env.ctx.job.graph)
        .vertex(env.task.vertex)
        .expect("a deployed task is a vertex of the job's graph");
    let is_sink = plan.downstream(env.task.vertex).is_none();
    let sink = if is_sink {
        let limit = config.timing.rpc_timeout;
        let client = RpcClient::connect(addr::SINK, addr::SINK_PORT, limit)
            .await
            .map_err(|e| format!("sink: {e}"))?;
        Some(client)
    } else {
        None
    };
    let make = vertex
        .keyed
        .as_ref()
        .expect("every vertex after the source starts with a keyed operator");
    let mut operator = make(config.topology.max_parallelism);
    let chain = vertex.build_chain();
    let mut pending = Vec::new();
    let mut restored = 0;
    // From scratch, subtask 0 still aborts what ids past the parallelism
    // left open (a job resumed at a lower parallelism before any checkpoint
    // completed): no other subtask has them.
    let mut takeover = Takeover {
        also: Vec::new(),
        and_from: (env.task.subtask == 0)
            .then(|| plan.vertex(env.task.vertex).map(|v| v.parallelism))
            .flatten(),
    };
    if let Some(state) = restore(&env, &plan).await? {
        operator.restore(&state.operator)?;
        if operator.pending_timers() > 0 {
            env.ctx.probe(Probe::TimersRestored);
        }
        pending = state.pending;
        restored = state.checkpoint;
        takeover = state.takeover;
    }
    if env.ctx.bug(PlantedBug::DownscaledTxnNotAborted) {
        // Planted: only its own id's open transactions are aborted.
        takeover = Takeover::default();
    }
    // Fed by another keyed vertex, not by the sources: a later shuffle.
    let after_keyed = plan
        .upstream(env.task.vertex)
        .is_some_and(|up| up.name != plan.source_vertex().name);
    let mode = if env.ctx.bug(PlantedBug::SkipAlignment)
        || (after_keyed && env.ctx.bug(PlantedBug::SkipSecondAlignment))
    {
        CheckpointMode::AtLeastOnce // planted: exactly-once without alignment
    } else {
        config.checkpoint.mode
    };
    let aligner = Aligner::new(mode, inputs, restored);
    // Messages that came before `Start` (none are expected: upstream
    // subtasks connect after theirs), handled after it in order.
    let mut early = VecDeque::new();
    let downstream = match sink {
        Some(client) => Downstream::Sink(Sink {
            client,
            open: batch::Builder::default(),
            pending,
            takeover,
        }),
        None => {
            // The next vertex's channels accept connections once every
            // taskmanager has deployed: `Start` says so.
            loop {
                match inbox.recv().await {
                    Some(Inbound::Start) => break,
                    Some(msg) => early.push_back(msg),
                    None => return Ok(()),
                }
            }
            Downstream::Shuffle(Outputs::connect(&env, &plan).await?)
        }
    };
    let mut task = KeyedTask {
        env,
        operator,
        chain,
        out: Vec::new(),
        scratch: Vec::new(),
        downstream,
        aligner,
        held: vec![VecDeque::new(); inputs],
        // Set once the restored transactions are re-committed, below.
        last_heard: vec![Duration::ZERO; inputs],
        input_watermarks: vec![0; inputs],
        ended: vec![false; inputs],
        watermark: 0,
        sent_watermark: 0,
        sent_end: false,
    };
    task.recover_transactions().await?;
    task.env.running();
    // An input is silent from when the task can first hear it: re-committing
    // the restored transactions (a round trip each, and a subtask that
    // takes over for others after a rescale to fewer has many) is this
    // task's own work, not silence upstream.
    let listening = now();
    task.last_heard.fill(listening);
    for msg in early {
        task.on_inbound(msg).await?;
    }
    let keepalive = task.env.ctx.config.timing.channel_keepalive_timeout;
    // A fixed deadline, not a sleep per message: a busy input must not hide a silent one.
    let mut next_check = listening + keepalive / 4;
    loop {
        tokio::select! {
            biased;
            msg = inbox.recv() => match msg {
                Some(msg) => task.on_inbound(msg).await?,
                None => return Ok(()),
            },
            _ = sleep(next_check.saturating_sub(now())) => {}
        }
        if now() >= next_check {
            task.check_keepalive(keepalive)?;
            if let Downstream::Shuffle(outputs) = &mut task.downstream {
                outputs.keepalive_idle().await?;
            }
            next_check = now() + keepalive / 4;
        }
    }
}

impl KeyedTask {
    /// Restore the sink's transactions (see [`Sink::recover`]); nothing to
    /// do on a vertex with outputs.
    async fn recover_transactions(&mut self) -> TaskResult {
        match &mut self.downstream {
            Downstream::Sink(sink) => sink.recover(&self.env).await,
            Downstream::Shuffle(_) => Ok(()),
        }
    }

    async fn on_inbound(&mut self, msg: Inbound) -> TaskResult {
        match msg {
            Inbound::Data { input, payload, at } => {
                self.last_heard[input] = self.last_heard[input].max(at);
                self.on_frame(input, payload).await
            }
            Inbound::Broken { input, reason } => Err(TaskError::Failed(format!(
                "input channel {input} broken: {reason}"
            ))),
            Inbound::Notify { checkpoint, report } => match &mut self.downstream {
                Downstream::Sink(sink) => sink.on_complete(&self.env, checkpoint, report).await,
                Downstream::Shuffle(_) => Ok(()),
            },
            Inbound::Start | Inbound::Trigger { .. } => Ok(()),
        }
    }

    fn check_keepalive(&self, limit: Duration) -> TaskResult {
        let t = now();
        match self
            .last_heard
            .iter()
            .position(|heard| t.saturating_sub(*heard) > limit)
        {
            Some(input) => Err({
                self.env.ctx.probe(Probe::ChannelSilent);
                TaskError::Failed(format!(
                    "input channel {input} silent for more than {limit:?}"
                ))
            }),
            None => Ok(()),
        }
    }

    /// Process one frame, and everything it unblocks, in per-input order.
    async fn on_frame(&mut self, input: usize, payload: Payload) -> TaskResult {
        let mut work = VecDeque::from([(input, payload)]);
        while let Some((input, payload)) = work.pop_front() {
            if self.aligner.is_blocked(input) {
                if self.held.iter().all(VecDeque::is_empty) {
                    // Once per alignment: the held frames go at its end.
                    self.env.ctx.probe(Probe::ChannelHeldForAlignment);
                }
                self.held[input].push_back(payload);
                continue;
            }
            match payload {
                Payload::Records(records) => self.process(input, records, None).await?,
                Payload::Progress {
                    records,
                    watermark,
                    end_of_input,
                } => {
                    let progress = Some((watermark, end_of_input));
                    self.process(input, records, progress).await?;
                }
                Payload::Barrier(checkpoint) => {
                    let aligned = self
                        .aligner
                        .on_barrier(input, checkpoint)
                        .map_err(|e| e.to_string())?;
                    if let Aligned::Snapshot {
                        checkpoint,
                        past_barrier,
                    } = aligned
                    {
                        self.snapshot(checkpoint).await?;
                        if past_barrier {
                            self.env.ctx.probe(Probe::SnapshotPastBarrier);
                        }
                        for (i, held) in self.held.iter_mut().enumerate() {
                            work.extend(held.drain(..).map(|p| (i, p)));
                        }
                    }
                }
                Payload::Keepalive => {}
                Payload::Hello => {
                    return Err(TaskError::Failed(format!(
                        "input channel {input} sent a second hello"
                    )))
                }
            }
        }
        Ok(())
    }

    /// Run `records` of `input` through the keyed operator, then take the
    /// input's `progress` (its new watermark, and whether it reached end of
    /// input): a rise of the task's watermark fires the timers due. The
    /// outputs go through the chain and downstream, with the task's own
    /// progress on a vertex with outputs.
    async fn process(
        &mut self,
        input: usize,
        records: Vec<Record>,
        progress: Option<(u64, bool)>,
    ) -> TaskResult {
        // The state changes (records, or timers firing): if this input
        // already delivered the barrier being aligned, the coming snapshot
        // includes it (at-least-once).
        let mut changed = !records.is_empty();
        let direct = matches!(self.downstream, Downstream::Sink(_)) && self.chain.is_empty();
        match &mut self.downstream {
            // The common case: each output encoded straight into the open
            // transaction's batch, never built as a record.
            Downstream::Sink(sink) if direct => {
                for record in records {
                    self.operator
                        .process_into(record, &mut sink.open, &mut self.out)?;
                }
            }
            _ => {
                // Room for one output a record (keyed-count's), grown once.
                self.out.reserve(records.len());
                for record in records {
                    self.operator.process(record, &mut self.out)?;
                }
            }
        }
        if let Some((watermark, end_of_input)) = progress {
            self.input_watermarks[input] = self.input_watermarks[input].max(watermark);
            self.ended[input] |= end_of_input;
            let mut low = self.input_watermarks.iter().copied().min().unwrap_or(0);
            if self.env.ctx.bug(PlantedBug::RestoredWatermark) {
                low = carried_watermark(&self.env, low);
            }
            if low > self.watermark {
                self.watermark = low;
                changed |= self.operator.advance_watermark(low, &mut self.out)? > 0;
            }
        }
        if changed {
            self.aligner.on_records(input);
        }
        if direct {
            // What timers fired, after the records' outputs.
            if let Downstream::Sink(sink) = &mut self.downstream {
                for record in self.out.drain(..) {
                    sink.open.push(&record);
                }
            }
            return Ok(());
        }
        let out = std::mem::take(&mut self.out);
        let mut out = chain::run(&mut self.chain, out, &mut self.scratch)?;
        match &mut self.downstream {
            Downstream::Sink(sink) => {
                for record in out.drain(..) {
                    sink.open.push(&record);
                }
            }
            Downstream::Shuffle(outputs) => {
                let progress = if self.ended.iter().all(|e| *e) && !self.sent_end {
                    self.sent_end = true;
                    Some((u64::MAX, true))
                } else {
                    (self.watermark > self.sent_watermark).then_some((self.watermark, false))
                };
                if let Some((watermark, _)) = progress {
                    self.sent_watermark = watermark;
                }
                if progress.is_some() || !out.is_empty() {
                    outputs.emit(&mut out, false, progress).await?;
                }
            }
        }
        self.out = out;
        Ok(())
    }

    /// Aligned on barrier `checkpoint`: forward it (a vertex with outputs)
    /// or pre-commit the open transaction (the sink's vertex), then
    /// snapshot, store and acknowledge.
    async fn snapshot(&mut self, checkpoint: u64) -> TaskResult {
        let env = self.env.clone();
        let pending = match &mut self.downstream {
            Downstream::Shuffle(outputs) => {
                outputs.broadcast(Payload::Barrier(checkpoint)).await?;
                Vec::new()
            }
            Downstream::Sink(sink) => {
                sink.pre_commit(&env, checkpoint).await?;
                sink.pending.clone()
            }
        };
        let snap = Snapshot {
            operator: self.operator.snapshot()?,
            pending,
        };
        let operator_digest = Some(crc32fast::hash(&snap.operator));
        if env.ctx.observer.taps_state() {
            env.ctx.observer.tap_state(StateTap {
                checkpoint,
                epoch: env.epoch,
                task: env.task,
                operator: snap.operator.clone(),
            });
        }
        let bytes = postcard::to_stdvec(&snap).expect("in-memory postcard encoding cannot fail");
        let finished = self.ended.iter().all(|e| *e);
        env.store_snapshot(checkpoint, bytes, operator_digest, None, finished)
            .await;
        Ok(())
    }
}

impl Sink {
    /// Restore: commit what the checkpoint pre-committed (commit is
    /// idempotent), then abort whatever older attempts left pending.
    async fn recover(&mut self, env: &TaskEnv) -> TaskResult {
        let pending = std::mem::take(&mut self.pending);
        for txn in pending {
            let probe = match self.commit(env, txn).await? {
                SinkResponse::AlreadyCommitted => Probe::RecoveredTxnAlreadyCommitted,
                SinkResponse::TimedOut { records } => {
                    self.lost_to_timeout(env, txn, records)?;
                    continue;
                }
                _ => Probe::RecoveredTxnCommitted,
            };
            env.ctx.probe(probe);
        }
        if let Some(meta) = env
            .restore
            .as_ref()
            .filter(|_| env.ctx.bug(PlantedBug::CommitNewerTxn))
        {
            // Planted: a guessed id, one checkpoint past the restored one,
            // of the attempt that crashed: a transaction holding records
            // that will be replayed. Unknown ids are ignored.
            let subtask = env.task.subtask;
            let txn = TxnId {
                subtask,
                epoch: env.epoch - 1,
                checkpoint: meta.checkpoint + 1,
            };
            let _ = self.call(env, SinkOp::Commit { txn }).await;
        }
        let subtask = env.task.subtask;
        let from_scratch = env.restore.is_none();
        if !from_scratch && env.ctx.bug(PlantedBug::StalePrecommitKept) {
            // Planted: the recorded transactions are committed, the other
            // open ones of older attempts are never aborted.
            return Ok(());
        }
        match self
            .call(
                env,
                SinkOp::AbortStale {
                    subtask,
                    from_scratch,
                    also: self.takeover.also.clone(),
                    and_from: self.takeover.and_from,
                },
            )
            .await?
        {
            SinkResponse::CommittedBefore { txn } => Err(TaskError::RecoveryImpossible(format!(
                "no checkpoint to restore, but the sink holds {txn} committed by an earlier \
                 attempt; starting from scratch would duplicate it (the checkpoints were lost)"
            ))),
            _ => Ok(()),
        }
    }

    /// Pre-commit the open transaction as the transaction of `checkpoint`,
    /// and remember it as pending until the checkpoint completes.
    async fn pre_commit(&mut self, env: &TaskEnv, checkpoint: u64) -> TaskResult {
        let txn = TxnId {
            subtask: env.task.subtask,
            epoch: env.epoch,
            checkpoint,
        };
        // Sent from the open transaction's buffer, which the next
        // transaction reuses (no buffer per transaction, regrown as it
        // fills).
        let req = PreCommitRequest {
            epoch: env.epoch,
            op: PreCommitOp::PreCommit {
                txn,
                records: self.open.bytes(),
            },
        };
        let answer = answered(env, self.client.call(&req).await);
        self.open.clear();
        if let SinkResponse::TimedOut { .. } = answer? {
            return Err(TaskError::Failed(format!(
                "pre-commit of {txn} refused: the sink already aborted it after its transaction \
                 timeout"
            )));
        }
        if env.ctx.config.planted_bug == Some(PlantedBug::CommitOnBarrier) {
            // Planted: commit as the barrier passes, before the checkpoint
            // is complete; a failover now replays committed output.
            self.commit(env, txn).await?;
        } else {
            self.pending.push(txn);
        }
        Ok(())
    }

    /// The transaction `txn` the restored checkpoint recorded, holding
    /// `records` records, was aborted by the sink's transaction timeout:
    /// with `sink.ignore_failures_after_transaction_timeout` the loss is
    /// recorded and the restore goes on (Flink's
    /// `TwoPhaseCommitSinkFunction#recoverAndCommitInternal`); without it
    /// the job fails at once, since no restart can commit it.
    fn lost_to_timeout(&self, env: &TaskEnv, txn: TxnId, records: u64) -> TaskResult {
        let sink = &env.ctx.config.sink;
        if sink.ignore_failures_after_transaction_timeout {
            env.ctx.probe(Probe::TxnLostAfterTimeout);
            env.ctx.emit(Event::TxnLost { txn, records });
            return Ok(());
        }
        let timeout = sink
            .transaction_timeout
            .map_or_else(|| "its".to_string(), |t| format!("{t:?}"));
        Err(TaskError::RecoveryImpossible(format!(
            "the sink aborted {txn} ({records} records of checkpoint {}) after its transaction \
             timeout of {timeout}: that output is lost (sink.ignore_failures_after_transaction_timeout \
             would accept the loss)",
            txn.checkpoint
        )))
    }

    /// Checkpoint n completed: commit every pending transaction up to n, in
    /// order (an earlier notice may have been skipped). A transaction the
    /// sink aborted after its timeout fails the task, as a failed commit
    /// does in Flink's `notifyCheckpointComplete`; the restore that follows
    /// decides whether the job can go on. `report`: tell the jobmanager
    /// once committed (`ToJobManager::Committed`).
    async fn on_complete(&mut self, env: &TaskEnv, checkpoint: u64, report: bool) -> TaskResult {
        while let Some(txn) = self
            .pending
            .first()
            .copied()
            .filter(|t| t.checkpoint <= checkpoint)
        {
            if let SinkResponse::TimedOut { records } = self.commit(env, txn).await? {
                return Err(TaskError::Failed(format!(
                    "commit of {txn} failed: the sink aborted it ({records} records) after its \
                     transaction timeout"
                )));
            }
            self.pending.remove(0);
        }
        if report {
            env.send(ToJobManager::Committed {
                epoch: env.epoch,
                checkpoint,
                task: env.task,
            });
        }
        Ok(())
    }

    /// Commit `txn`: `Done`, `AlreadyCommitted` (commit is idempotent), or
    /// `TimedOut` (the sink aborted it after its transaction timeout), for
    /// the caller to judge.
    async fn commit(&mut self, env: &TaskEnv, txn: TxnId) -> Result<SinkResponse, String> {
        match self.call(env, SinkOp::Commit { txn }).await? {
            answer @ (SinkResponse::Done
            | SinkResponse::AlreadyCommitted
            | SinkResponse::TimedOut { .. }) => Ok(answer),
            other => Err(format!("commit of {txn} failed: {other:?}")),
        }
    }

    async fn call(&mut self, env: &TaskEnv, op: SinkOp) -> Result<SinkResponse, String> {
        let req = SinkRequest {
            epoch: env.epoch,
            op,
        };
        answered(env, self.client.call(&req).await)
    }
}

/// The sink's answer to a request of `env`'s attempt, its refusals as errors.
fn answered(
    env: &TaskEnv,
    answer: Result<SinkResponse, WireError>,
) -> Result<SinkResponse, String> {
    match answer {
        Ok(SinkResponse::Fenced { current_epoch }) => Err(format!(
            "fenced off by the sink: attempt {} is older than {current_epoch}",
            env.epoch
        )),
        Ok(SinkResponse::Error(e)) => Err(format!("sink: {e}")),
        Ok(SinkResponse::UnknownTxn) => Err("sink: unknown transaction".to_string()),
        Ok(answer) => Ok(answer),
        Err(e) => Err(format!("sink: {e}")),
    }
}

/// Planted ([`PlantedBug::RestoredWatermark`]): the watermark `low` the
/// inputs give, raised to the one an earlier attempt of this subtask
/// reached on this taskmanager, which is remembered in turn.
fn carried_watermark(env: &TaskEnv, low: u64) -> u64 {
    let mut memory = env.memory.borrow_mut();
    let kept = memory.entry(env.task).or_insert(0);
    *kept = (*kept).max(low);
    *kept
}
