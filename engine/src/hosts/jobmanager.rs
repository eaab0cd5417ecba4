//! `jobmanager`: deploys the job, runs the checkpoint coordinator, detects
//! failures (task failures, lost taskmanagers), fails over through the
//! restart strategy, and decides when the job has finished. After its own
//! crash it recovers from `store`: the completed checkpoints, the epoch,
//! and whether the job already ended (a FINISHED or FAILED job stays so).

use super::{HostContext, HostResult};
use crate::config::PlantedBug;
use crate::coordinator::{Coordinator, Decision};
use crate::event::{Event, JobState, TaskId};
use crate::io::{addr, mpsc, now, sleep, spawn, TcpListener, TcpStream};
use crate::job::Plan;
use crate::proto::{CheckpointMeta, StoreRequest, StoreResponse, ToJobManager, ToTaskManager};
use crate::restart::{RestartDecision, RestartStrategy};
use crate::task::RECOVERY_IMPOSSIBLE;
use crate::wire::{self, RpcClient};
use crate::workload;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// How often the jobmanager looks at its timers when nothing arrives.
const TICK: Duration = Duration::from_millis(10);
const EPOCH_BLOB: &str = "job/epoch";
/// The job's end, written before it is announced: a restarted jobmanager
/// must not run a finished or failed job again. `None` is finished,
/// `Some(reason)` failed.
const END_BLOB: &str = "job/end";
/// Reads of the same metadata that may fail their checksum before the
/// jobmanager calls it corrupt on disk rather than on the way.
const MAX_CORRUPT_READS: u32 = 20;

enum Conn {
    Registered {
        tm: u32,
        session: u64,
        tx: mpsc::UnboundedSender<ToTaskManager>,
    },
    /// A message, stamped when it arrived (not when it is handled: a slow
    /// store call must not make a healthy taskmanager look silent).
    Msg {
        tm: u32,
        session: u64,
        msg: ToJobManager,
        at: Duration,
    },
    Closed {
        tm: u32,
        session: u64,
    },
}

struct Tm {
    session: u64,
    tx: mpsc::UnboundedSender<ToTaskManager>,
    last_heard: Duration,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for every taskmanager to register (a slot request).
    Waiting {
        since: Duration,
    },
    Deploying {
        since: Duration,
        deployed: BTreeSet<u32>,
    },
    Running,
    Restarting {
        until: Duration,
    },
    /// The job has ended; `end` is being made durable before it is announced.
    Ending {
        end: JobState,
        since: Duration,
    },
    Ended,
}

struct JobManager {
    ctx: HostContext,
    plan: Plan,
    store: Option<RpcClient>,
    tms: BTreeMap<u32, Tm>,
    coordinator: Coordinator,
    restart: RestartStrategy,
    epoch: u64,
    phase: Phase,
    /// Partition lengths: a checkpoint at these offsets has seen all input.
    ends: Vec<u64>,
    final_checkpoint: Option<u64>,
    committed: BTreeSet<TaskId>,
    next_heartbeat: Duration,
    /// Deploying needs the store; after a failed attempt, wait before the next.
    next_deploy: Duration,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    let (conn_tx, mut conns) = mpsc::unbounded_channel();
    let listener = TcpListener::bind(("0.0.0.0", addr::JOBMANAGER_PORT)).await?;
    spawn(accept(listener, conn_tx));
    let mut jm = JobManager::recover(ctx).await;
    loop {
        tokio::select! {
            biased;
            conn = conns.recv() => match conn {
                Some(conn) => jm.on_conn(conn).await,
                None => return Ok(()),
            },
            _ = sleep(TICK) => {}
        }
        // Handle everything that queued up (e.g. during a slow store call)
        // before timers judge anyone silent.
        while let Ok(conn) = conns.try_recv() {
            jm.on_conn(conn).await;
        }
        jm.tick().await;
    }
}

async fn accept(listener: TcpListener, conns: mpsc::UnboundedSender<Conn>) {
    let mut session = 0;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                session += 1;
                spawn(connection(stream, session, conns.clone()));
            }
            // A failed accept loses that one connection; the taskmanager retries.
            Err(_) => sleep(TICK).await,
        }
    }
}

async fn connection(stream: TcpStream, session: u64, conns: mpsc::UnboundedSender<Conn>) {
    let (mut rd, mut wr) = stream.into_split();
    let Ok(ToJobManager::Register { taskmanager: tm }) = wire::recv(&mut rd).await else {
        return;
    };
    let (tx, mut outgoing) = mpsc::unbounded_channel::<ToTaskManager>();
    let writer = spawn(async move {
        while let Some(msg) = outgoing.recv().await {
            if wire::send(&mut wr, &msg).await.is_err() {
                break;
            }
        }
    });
    let _ = conns.send(Conn::Registered { tm, session, tx });
    while let Ok(msg) = wire::recv(&mut rd).await {
        let _ = conns.send(Conn::Msg {
            tm,
            session,
            msg,
            at: now(),
        });
    }
    let _ = conns.send(Conn::Closed { tm, session });
    writer.abort();
}

impl JobManager {
    /// Start (or restart) from what checkpoint storage holds.
    async fn recover(ctx: HostContext) -> JobManager {
        let config = ctx.config.clone();
        let plan = Plan::new(&config);
        let ends = workload::generate(&config.workload, ctx.seed)
            .iter()
            .map(|p| p.len() as u64)
            .collect();
        let coordinator = Coordinator::new(config.checkpoint.clone(), plan.tasks(), Vec::new());
        let restart = RestartStrategy::new(&config.restart, ctx.seed);
        let started = now();
        let mut jm = JobManager {
            ctx,
            plan,
            store: None,
            tms: BTreeMap::new(),
            coordinator,
            restart,
            epoch: 0,
            phase: Phase::Waiting { since: started },
            ends,
            final_checkpoint: None,
            committed: BTreeSet::new(),
            next_heartbeat: started,
            next_deploy: started,
        };
        // The store may be down or its reads faulty: keep trying for a
        // while, but a checksum that keeps failing is data that is really
        // corrupt, and a store that never answers makes recovery impossible.
        let mut corrupt_reads = 0;
        loop {
            let reason = match jm.load().await {
                Ok(()) => break,
                Err(reason) => reason,
            };
            if reason.starts_with("corrupt") {
                corrupt_reads += 1;
                jm.ctx.emit(Event::CorruptRead {
                    name: reason.clone(),
                });
            }
            let patience = config.timing.slot_request_timeout;
            if corrupt_reads >= MAX_CORRUPT_READS || now().saturating_sub(started) > patience {
                jm.announce(JobState::Failed {
                    reason: format!("{RECOVERY_IMPOSSIBLE}: {reason}"),
                });
                jm.phase = Phase::Ended;
                break;
            }
            sleep(config.timing.heartbeat_interval).await;
        }
        jm
    }

    async fn load(&mut self) -> Result<(), String> {
        if let Some(bytes) = self.get(END_BLOB).await? {
            let failed: Option<String> =
                wire::decode(&bytes).map_err(|e| format!("corrupt {END_BLOB}: {e}"))?;
            self.announce(failed.map_or(JobState::Finished, |reason| JobState::Failed { reason }));
            self.phase = Phase::Ended;
            return Ok(());
        }
        if let Some(bytes) = self.get(EPOCH_BLOB).await? {
            self.epoch = wire::decode(&bytes).map_err(|e| format!("corrupt {EPOCH_BLOB}: {e}"))?;
        }
        let names = match self
            .store_call(StoreRequest::List {
                prefix: "meta".into(),
            })
            .await?
        {
            StoreResponse::Names(names) => names,
            other => return Err(format!("store: {other:?}")),
        };
        let mut completed = Vec::new();
        for name in names {
            let bytes = self
                .get(&format!("meta/{name}"))
                .await?
                .ok_or_else(|| format!("store lost meta/{name}"))?;
            let meta: CheckpointMeta = match wire::decode(&bytes) {
                Ok(meta) => meta,
                // Planted: a checkpoint that does not read back is skipped.
                Err(_) if self.ctx.bug(PlantedBug::SkipCorruptMetadata) => continue,
                Err(e) => return Err(format!("corrupt checkpoint metadata meta/{name}: {e}")),
            };
            completed.push(meta);
        }
        let config = &self.ctx.config;
        self.coordinator =
            Coordinator::new(config.checkpoint.clone(), self.plan.tasks(), completed);
        Ok(())
    }

    async fn store_call(&mut self, req: StoreRequest) -> Result<StoreResponse, String> {
        let limit = self.ctx.config.timing.rpc_timeout;
        if self.store.is_none() {
            let client = RpcClient::connect(addr::STORE, addr::STORE_PORT, limit)
                .await
                .map_err(|e| format!("store: {e}"))?;
            self.store = Some(client);
        }
        let client = self.store.as_mut().expect("connected just above");
        let answer = client.call(&req).await;
        if answer.is_err() {
            self.store = None;
        }
        match answer {
            Ok(StoreResponse::Error(e)) => Err(format!("store: {e}")),
            Ok(answer) => Ok(answer),
            Err(e) => Err(format!("store: {e}")),
        }
    }

    async fn get(&mut self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match self
            .store_call(StoreRequest::Get { name: name.into() })
            .await?
        {
            StoreResponse::Blob(blob) => Ok(blob),
            other => Err(format!("store: {other:?}")),
        }
    }

    async fn put(&mut self, name: String, bytes: Vec<u8>) -> Result<(), String> {
        self.store_call(StoreRequest::Put { name, bytes })
            .await
            .map(|_| ())
    }

    fn broadcast(&self, msg: ToTaskManager) {
        for tm in self.tms.values() {
            let _ = tm.tx.send(msg.clone());
        }
    }

    fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Deploying { .. })
    }

    async fn on_conn(&mut self, conn: Conn) {
        match conn {
            Conn::Registered { tm, session, tx } => {
                if self.tms.remove(&tm).is_some() {
                    self.lost(tm, "it registered again (restarted)".into());
                }
                self.tms.insert(
                    tm,
                    Tm {
                        session,
                        tx,
                        last_heard: now(),
                    },
                );
            }
            Conn::Closed { tm, session } => {
                if self.tms.get(&tm).is_some_and(|t| t.session == session) {
                    self.tms.remove(&tm);
                    self.lost(tm, "connection closed".into());
                }
            }
            Conn::Msg {
                tm,
                session,
                msg,
                at,
            } => {
                let Some(t) = self.tms.get_mut(&tm).filter(|t| t.session == session) else {
                    return;
                };
                t.last_heard = t.last_heard.max(at);
                self.on_message(tm, msg).await;
            }
        }
    }

    fn lost(&mut self, tm: u32, reason: String) {
        let taskmanager = addr::taskmanager(tm);
        self.ctx.emit(Event::TaskManagerLost {
            taskmanager: taskmanager.clone(),
            reason: reason.clone(),
        });
        if self.is_active() {
            self.fail(format!("{taskmanager} lost: {reason}"));
        }
    }

    async fn on_message(&mut self, tm: u32, msg: ToJobManager) {
        let current = self.epoch;
        let running = matches!(self.phase, Phase::Running);
        match msg {
            ToJobManager::Deployed { epoch } if epoch == current => {
                if let Phase::Deploying { deployed, .. } = &mut self.phase {
                    deployed.insert(tm);
                    if deployed.len() == self.plan.taskmanagers as usize {
                        self.start();
                    }
                }
            }
            ToJobManager::Ack {
                epoch,
                checkpoint,
                task,
                handle,
                source_offset,
            } if running && epoch == current => {
                self.ctx
                    .emit(Event::CheckpointAcknowledged { checkpoint, task });
                if let Some(meta) = self
                    .coordinator
                    .on_ack(checkpoint, task, handle, source_offset)
                {
                    self.complete(meta).await;
                }
            }
            ToJobManager::Decline {
                epoch,
                checkpoint,
                task,
                reason,
            } if running && epoch == current => {
                let decisions = self
                    .coordinator
                    .fail(checkpoint, format!("{task} declined: {reason}"));
                self.decide(decisions).await;
            }
            ToJobManager::TaskFailed {
                epoch,
                task,
                reason,
                fatal,
            } if epoch == current && self.is_active() => {
                let cause = format!("{task} failed: {reason}");
                if fatal {
                    self.end(JobState::Failed { reason: cause });
                } else {
                    self.fail(cause);
                }
            }
            ToJobManager::Committed {
                epoch,
                checkpoint,
                task,
            } if running
                && epoch == current
                && self.final_checkpoint.is_some_and(|f| checkpoint >= f) =>
            {
                self.committed.insert(task);
                // Planted: the end of input is never acted on, and the job
                // runs on after every record was committed.
                let finished = !self.ctx.bug(PlantedBug::NeverFinish);
                if finished && self.committed.len() == self.plan.counts as usize {
                    self.end(JobState::Finished);
                }
            }
            _ => {}
        }
    }

    async fn tick(&mut self) {
        let t = now();
        let timing = self.ctx.config.timing.clone();
        if t >= self.next_heartbeat {
            self.broadcast(ToTaskManager::Heartbeat);
            self.next_heartbeat = t + timing.heartbeat_interval;
        }
        let silent: Vec<u32> = self
            .tms
            .iter()
            .filter(|(_, tm)| t.saturating_sub(tm.last_heard) > timing.heartbeat_timeout)
            .map(|(i, _)| *i)
            .collect();
        for tm in silent {
            self.tms.remove(&tm);
            self.lost(
                tm,
                format!("no heartbeat for {:?}", timing.heartbeat_timeout),
            );
        }
        match &self.phase {
            Phase::Restarting { until } if t >= *until => self.phase = Phase::Waiting { since: t },
            Phase::Waiting { since } if t.saturating_sub(*since) > timing.slot_request_timeout => {
                let have = self.tms.len();
                let want = self.plan.taskmanagers;
                self.fail(format!("slot request timed out: {have} of {want} taskmanagers registered, or the epoch could not be stored"));
            }
            Phase::Waiting { .. }
                if self.tms.len() == self.plan.taskmanagers as usize && t >= self.next_deploy =>
            {
                self.deploy().await
            }
            Phase::Deploying { since, .. }
                if t.saturating_sub(*since) > timing.slot_request_timeout =>
            {
                self.fail("deployment timed out".into());
            }
            Phase::Running => {
                let decisions = self.coordinator.poll(t);
                self.decide(decisions).await;
            }
            Phase::Ending { end, since } => {
                let (end, since) = (end.clone(), *since);
                let failed = match &end {
                    JobState::Failed { reason } => Some(reason.clone()),
                    _ => None,
                };
                let durable = self
                    .put(END_BLOB.into(), wire::encode(&failed))
                    .await
                    .is_ok();
                // Without storage the end cannot be made durable; announce it
                // anyway rather than hang (a restart may then run it again).
                if durable || t.saturating_sub(since) > timing.slot_request_timeout {
                    self.announce(end);
                    self.phase = Phase::Ended;
                }
            }
            _ => {}
        }
    }

    async fn deploy(&mut self) {
        let epoch = self.epoch + 1;
        if self
            .put(EPOCH_BLOB.into(), wire::encode(&epoch))
            .await
            .is_err()
        {
            self.next_deploy = now() + self.ctx.config.timing.heartbeat_interval;
            return; // stay waiting; the slot request timeout bounds this
        }
        self.epoch = epoch;
        let restore = if self.ctx.bug(PlantedBug::RestoreOlderCheckpoint) {
            // Planted: the checkpoint before the latest, when there is one.
            self.coordinator
                .previous()
                .or(self.coordinator.latest())
                .cloned()
        } else {
            self.coordinator.latest().cloned()
        };
        for (index, tm) in &self.tms {
            let tasks = self.plan.tasks_on(*index);
            let _ = tm.tx.send(ToTaskManager::Deploy {
                epoch,
                tasks,
                restore: restore.clone(),
            });
        }
        self.final_checkpoint = None;
        self.committed.clear();
        self.phase = Phase::Deploying {
            since: now(),
            deployed: BTreeSet::new(),
        };
    }

    fn start(&mut self) {
        let epoch = self.epoch;
        self.broadcast(ToTaskManager::Start { epoch });
        let restore = self.coordinator.latest().map(|m| m.checkpoint);
        self.ctx.emit(Event::TasksDeployed { epoch, restore });
        self.ctx.emit(Event::JobState(JobState::Running { epoch }));
        self.coordinator.start(epoch, now());
        self.phase = Phase::Running;
    }

    async fn decide(&mut self, decisions: Vec<Decision>) {
        for decision in decisions {
            match decision {
                Decision::Trigger(checkpoint) => {
                    let epoch = self.epoch;
                    self.ctx
                        .emit(Event::CheckpointTriggered { checkpoint, epoch });
                    self.broadcast(ToTaskManager::Trigger { epoch, checkpoint });
                }
                Decision::Abort { checkpoint, reason } => {
                    self.ctx
                        .emit(Event::CheckpointAborted { checkpoint, reason });
                }
                Decision::Failover { reason } => self.fail(reason),
            }
        }
    }

    /// Every task acknowledged: write the metadata durably, then the
    /// checkpoint is complete and the tasks may commit.
    async fn complete(&mut self, meta: CheckpointMeta) {
        let checkpoint = meta.checkpoint;
        if let Err(reason) = self.put(meta_name(checkpoint), wire::encode(&meta)).await {
            // The write may still have landed: take it back, so a later
            // recovery cannot pick a checkpoint whose transactions this
            // attempt is about to abort.
            let _ = self
                .store_call(StoreRequest::Delete {
                    name: meta_name(checkpoint),
                })
                .await;
            let decisions = self
                .coordinator
                .fail(checkpoint, format!("metadata write failed: {reason}"));
            self.decide(decisions).await;
            return;
        }
        self.ctx.emit(Event::CheckpointCompleted {
            checkpoint,
            offsets: meta.offsets.clone(),
        });
        if meta.offsets == self.ends && self.final_checkpoint.is_none() {
            self.final_checkpoint = Some(checkpoint);
        }
        let dropped = self.coordinator.on_written(meta, now());
        self.broadcast(ToTaskManager::Notify {
            epoch: self.epoch,
            checkpoint,
        });
        if !dropped.is_empty() {
            spawn(delete_checkpoints(
                dropped,
                self.ctx.config.timing.rpc_timeout,
            ));
        }
    }

    /// Fail the current attempt over: cancel everything and ask the
    /// restart strategy whether and when to deploy the next attempt.
    fn fail(&mut self, cause: String) {
        if matches!(
            self.phase,
            Phase::Restarting { .. } | Phase::Ending { .. } | Phase::Ended
        ) {
            return; // the attempt is already cancelled; this failure belongs to it
        }
        let next = self.epoch + 1;
        self.ctx.emit(Event::Failover {
            epoch: next,
            cause: cause.clone(),
        });
        self.broadcast(ToTaskManager::Cancel { epoch: self.epoch });
        self.coordinator.stop();
        match self.restart.on_failure(now()) {
            RestartDecision::Restart { delay, attempt } => {
                let delay_ms = delay.as_millis() as u64;
                self.ctx.emit(Event::RestartScheduled { attempt, delay_ms });
                self.ctx
                    .emit(Event::JobState(JobState::Restarting { epoch: next }));
                self.phase = Phase::Restarting {
                    until: now() + delay,
                };
            }
            RestartDecision::GiveUp { reason } => self.end(JobState::Failed {
                reason: format!("{reason}; last failure: {cause}"),
            }),
        }
    }

    /// The job is over: stop everything now, announce it once it is durable.
    fn end(&mut self, end: JobState) {
        self.broadcast(ToTaskManager::Cancel { epoch: self.epoch });
        self.coordinator.stop();
        self.phase = Phase::Ending { end, since: now() };
    }

    fn announce(&mut self, end: JobState) {
        self.ctx.emit(Event::JobState(end));
    }
}

/// Delete checkpoints that are no longer retained, off the main loop (a
/// slow store must not delay heartbeats). Best effort: a leftover blob
/// wastes space but is never read.
async fn delete_checkpoints(dropped: Vec<CheckpointMeta>, limit: Duration) {
    let Ok(mut store) = RpcClient::connect(addr::STORE, addr::STORE_PORT, limit).await else {
        return;
    };
    for old in dropped {
        let names = std::iter::once(meta_name(old.checkpoint))
            .chain(old.handles.into_values().map(|h| h.name));
        for name in names {
            if store
                .call::<_, StoreResponse>(&StoreRequest::Delete { name })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

fn meta_name(checkpoint: u64) -> String {
    format!("meta/{checkpoint:010}")
}
