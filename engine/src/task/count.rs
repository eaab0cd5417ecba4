//! `count[k]`: the keyed count with its two-phase-commit sink chained.
//! Aligns barriers (exactly-once) or counts them (at-least-once, where a
//! snapshot may include records past a barrier: `snapshot-past-barrier`); on
//! barrier n pre-commits the open transaction at the sink, snapshots
//! {operator state, pending transactions}, stores it and acks; on the
//! completion notice for n commits every pending transaction up to n.

use super::{Inbound, TaskEnv, TaskError, TaskResult};
use crate::align::{Aligned, Aligner};
use crate::config::{CheckpointMode, PlantedBug};
use crate::io::{addr, mpsc, now, sleep};
use crate::operator::{Keyed, KeyedCount, KeyedOperator};
use crate::probe::Probe;
use crate::proto::{Payload, SinkOp, SinkRequest, SinkResponse, ToJobManager};
use crate::record::{Record, TxnId};
use crate::wire::RpcClient;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::time::Duration;

/// What a count subtask checkpoints.
#[derive(Debug, Serialize, Deserialize)]
struct Snapshot {
    operator: Vec<u8>,
    /// Pre-committed transactions not yet known to be committed, oldest first.
    pending: Vec<TxnId>,
}

struct Count {
    env: TaskEnv,
    /// keyed-count's operator through the keyed adapter.
    operator: Box<dyn KeyedOperator>,
    /// Output of the open transaction, sent to the sink at pre-commit.
    open: Vec<Record>,
    pending: Vec<TxnId>,
    aligner: Aligner,
    /// Frames of blocked inputs, held (never dropped) until alignment ends.
    held: Vec<VecDeque<Payload>>,
    last_heard: Vec<Duration>,
    sink: RpcClient,
}

pub async fn run(
    env: TaskEnv,
    inputs: usize,
    mut inbox: mpsc::UnboundedReceiver<Inbound>,
) -> TaskResult {
    let limit = env.ctx.config.timing.rpc_timeout;
    let sink = RpcClient::connect(addr::SINK, addr::SINK_PORT, limit)
        .await
        .map_err(|e| format!("sink: {e}"))?;
    let mut operator = Keyed::boxed(KeyedCount, env.ctx.config.topology.max_parallelism);
    let mut pending = Vec::new();
    let mut restored = 0;
    if let Some((checkpoint, bytes)) = env.restored_state().await? {
        let snap: Snapshot =
            postcard::from_bytes(&bytes).map_err(|e| format!("undecodable count state: {e}"))?;
        operator.restore(&snap.operator)?;
        pending = snap.pending;
        restored = checkpoint;
    }
    let mode = if env.ctx.bug(PlantedBug::SkipAlignment) {
        CheckpointMode::AtLeastOnce // planted: exactly-once without alignment
    } else {
        env.ctx.config.checkpoint.mode
    };
    let aligner = Aligner::new(mode, inputs, restored);
    let started = now();
    let mut task = Count {
        env,
        operator,
        open: Vec::new(),
        pending,
        aligner,
        held: vec![VecDeque::new(); inputs],
        last_heard: vec![started; inputs],
        sink,
    };
    task.recover_transactions().await?;
    let keepalive = task.env.ctx.config.timing.channel_keepalive_timeout;
    // A fixed deadline, not a sleep per message: a busy input must not hide a silent one.
    let mut next_check = started + keepalive / 4;
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
            next_check = now() + keepalive / 4;
        }
    }
}

impl Count {
    /// Restore: commit what the checkpoint pre-committed (commit is
    /// idempotent), then abort whatever older attempts left pending.
    async fn recover_transactions(&mut self) -> TaskResult {
        let pending = std::mem::take(&mut self.pending);
        for txn in pending {
            let probe = match self.commit(txn).await? {
                SinkResponse::AlreadyCommitted => Probe::RecoveredTxnAlreadyCommitted,
                _ => Probe::RecoveredTxnCommitted,
            };
            self.env.ctx.probe(probe);
        }
        if let Some(meta) = self
            .env
            .restore
            .as_ref()
            .filter(|_| self.env.ctx.bug(PlantedBug::CommitNewerTxn))
        {
            // Planted: a guessed id, one checkpoint past the restored one,
            // of the attempt that crashed: a transaction holding records
            // that will be replayed. Unknown ids are ignored.
            let subtask = self.env.task.subtask;
            let txn = TxnId {
                subtask,
                epoch: self.env.epoch - 1,
                checkpoint: meta.checkpoint + 1,
            };
            let _ = self.sink_call(SinkOp::Commit { txn }).await;
        }
        let subtask = self.env.task.subtask;
        let from_scratch = self.env.restore.is_none();
        if !from_scratch && self.env.ctx.bug(PlantedBug::StalePrecommitKept) {
            // Planted: the recorded transactions are committed, the other
            // open ones of older attempts are never aborted.
            return Ok(());
        }
        match self
            .sink_call(SinkOp::AbortStale {
                subtask,
                from_scratch,
            })
            .await?
        {
            SinkResponse::CommittedBefore { txn } => Err(TaskError::RecoveryImpossible(format!(
                "no checkpoint to restore, but the sink holds {txn} committed by an earlier \
                 attempt; starting from scratch would duplicate it (the checkpoints were lost)"
            ))),
            _ => Ok(()),
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
            Inbound::Notify(checkpoint) => self.on_complete(checkpoint).await,
            Inbound::Start | Inbound::Trigger(_) => Ok(()),
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
                Payload::Records(records) => {
                    self.aligner.on_records(input);
                    for record in records {
                        self.operator.process(record, &mut self.open)?;
                    }
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

    async fn snapshot(&mut self, checkpoint: u64) -> TaskResult {
        let env = self.env.clone();
        let txn = TxnId {
            subtask: env.task.subtask,
            epoch: env.epoch,
            checkpoint,
        };
        let records = std::mem::take(&mut self.open);
        self.sink_call(SinkOp::PreCommit { txn, records }).await?;
        if env.ctx.config.planted_bug == Some(PlantedBug::CommitOnBarrier) {
            // Planted: commit as the barrier passes, before the checkpoint
            // is complete; a failover now replays committed output.
            self.commit(txn).await?;
        } else {
            self.pending.push(txn);
        }
        let snap = Snapshot {
            operator: self.operator.snapshot()?,
            pending: self.pending.clone(),
        };
        let operator_digest = Some(crc32fast::hash(&snap.operator));
        let bytes = postcard::to_stdvec(&snap).expect("in-memory postcard encoding cannot fail");
        env.store_snapshot(checkpoint, bytes, operator_digest, None)
            .await;
        Ok(())
    }

    /// Checkpoint n completed: commit every pending transaction up to n, in
    /// order (an earlier notice may have been skipped).
    async fn on_complete(&mut self, checkpoint: u64) -> TaskResult {
        while let Some(txn) = self
            .pending
            .first()
            .copied()
            .filter(|t| t.checkpoint <= checkpoint)
        {
            self.commit(txn).await?;
            self.pending.remove(0);
        }
        self.env.send(ToJobManager::Committed {
            epoch: self.env.epoch,
            checkpoint,
            task: self.env.task,
        });
        Ok(())
    }

    /// Commit `txn`: `Done`, or `AlreadyCommitted` (commit is idempotent).
    async fn commit(&mut self, txn: TxnId) -> Result<SinkResponse, String> {
        match self.sink_call(SinkOp::Commit { txn }).await? {
            answer @ (SinkResponse::Done | SinkResponse::AlreadyCommitted) => Ok(answer),
            other => Err(format!("commit of {txn} failed: {other:?}")),
        }
    }

    async fn sink_call(&mut self, op: SinkOp) -> Result<SinkResponse, String> {
        let req = SinkRequest {
            epoch: self.env.epoch,
            op,
        };
        match self.sink.call(&req).await {
            Ok(SinkResponse::Fenced { current_epoch }) => Err(format!(
                "fenced off by the sink: attempt {} is older than {current_epoch}",
                self.env.epoch
            )),
            Ok(SinkResponse::Error(e)) => Err(format!("sink: {e}")),
            Ok(SinkResponse::UnknownTxn) => Err("sink: unknown transaction".to_string()),
            Ok(answer) => Ok(answer),
            Err(e) => Err(format!("sink: {e}")),
        }
    }
}
