//! Subtasks as they run on a taskmanager: what they receive (`Inbound`),
//! what they share (`TaskEnv`), and the wrapper that turns a task error
//! into a reported task failure.

pub mod keyed;
pub mod output;
pub mod source;

use crate::config::PlantedBug;
use crate::event::{Event, TaskId};
use crate::format::{self, BlobKind};
use crate::hosts::HostContext;
use crate::io::mpsc::UnboundedSender;
use crate::io::{sleep, spawn, JoinHandle};
use crate::probe::Probe;
use crate::proto::{CheckpointMeta, Payload, StateHandle, StoreResponse, ToJobManager};
use crate::storage::Storage;
use crate::text;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Everything that reaches a running subtask, in one ordered queue.
#[derive(Debug)]
pub enum Inbound {
    /// All taskmanagers deployed: sources may start reading.
    Start,
    /// Take checkpoint `checkpoint`; `stop`: read no more after it;
    /// `drain`: end the input before it
    /// ([`crate::proto::ToTaskManager::Trigger`]).
    Trigger {
        checkpoint: u64,
        stop: bool,
        drain: bool,
    },
    /// Checkpoint `checkpoint` completed; `report`: answer `Committed`.
    Notify { checkpoint: u64, report: bool },
    /// A checked frame from input channel `input` (sequence and epoch verified).
    Data {
        /// When the frame arrived at the taskmanager (not when it is handled).
        at: std::time::Duration,
        input: usize,
        payload: Payload,
    },
    /// An input channel failed: gap, corrupt frame, closed connection.
    Broken { input: usize, reason: String },
}

/// What a subtask of one job attempt needs from its taskmanager.
#[derive(Clone, Debug)]
pub struct TaskEnv {
    pub ctx: HostContext,
    pub task: TaskId,
    pub epoch: u64,
    pub restore: Option<CheckpointMeta>,
    pub to_jm: UnboundedSender<ToJobManager>,
    /// What the taskmanager process remembers of its subtasks across job
    /// attempts: read only by the planted bug
    /// [`crate::config::PlantedBug::RestoredWatermark`]; a correct task
    /// recomputes everything it needs from its checkpoint and its inputs.
    pub memory: TaskManagerMemory,
    /// This attempt's connection to checkpoint storage and its snapshot
    /// uploads in flight ([`Uploads`]).
    pub uploads: Uploads,
    /// The taskmanager's report that its tasks of this attempt restored
    /// their state ([`RunningReport`]); `None` when there was nothing to
    /// restore.
    pub running: Option<RunningReport>,
}

/// What a taskmanager owes the jobmanager once every task it deployed for
/// an attempt with a checkpoint to restore has restored its state:
/// [`ToJobManager::Running`] (Flink's task moving from INITIALIZING to
/// RUNNING, after which its checkpoint coordinator may trigger). Shared by
/// those tasks, holding how many have yet to restore; each reports once,
/// through [`TaskEnv::running`].
#[derive(Clone, Debug)]
pub struct RunningReport(Rc<Cell<usize>>);

impl RunningReport {
    /// A report awaited from `tasks` tasks.
    pub fn new(tasks: usize) -> Self {
        RunningReport(Rc::new(Cell::new(tasks)))
    }
}

/// Most snapshot uploads of one subtask in flight at once; a snapshot
/// taken at the bound waits for the oldest upload to end first (as
/// Flink's pool of asynchronous checkpoint threads queues them). Each of
/// an upload's [`UPLOAD_ATTEMPTS`] attempts ends within a few RPC
/// timeouts (a connect, the request, and once more on a fresh connection
/// when the kept one was closed), so a subtask reaches the bound only
/// with checkpoints triggered far faster than a slow store answers.
pub const MAX_UPLOADS_IN_FLIGHT: usize = 8;

/// A subtask attempt's connection to checkpoint storage and its snapshot
/// uploads in flight: the asynchronous part of its checkpoints, as in
/// Flink's `AsyncCheckpointRunnable` (the subtask takes its snapshot,
/// then goes on with its records while the upload and the
/// acknowledgement run beside it). One connection, opened at the first
/// request and kept for the attempt, as a filesystem client keeps its
/// pool ([`Storage`]). Clones share both. When the last clone goes (the
/// subtask ended, failed or was cancelled), the uploads still in flight
/// are cancelled: a cancelled attempt acknowledges nothing more.
#[derive(Clone)]
pub struct Uploads(Rc<UploadsInner>);

struct UploadsInner {
    store: Storage,
    in_flight: InFlight,
}

/// Tasks running beside a subtask, at most `bound` at once, all cancelled
/// when this is dropped: the pool behind [`Uploads`].
struct InFlight {
    bound: usize,
    tasks: RefCell<Vec<Upload>>,
}

/// An upload in flight, cancelled when dropped: with the last clone of
/// its [`Uploads`], or with the subtask's future while it waits for this
/// upload at the bound.
struct Upload(JoinHandle<()>);

impl Drop for Upload {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl InFlight {
    fn new(bound: usize) -> InFlight {
        InFlight {
            bound,
            tasks: RefCell::default(),
        }
    }

    /// Run `task` beside the caller once fewer than `bound` are running:
    /// at the bound, wait for the oldest to end first.
    async fn start(&self, task: impl std::future::Future<Output = ()> + 'static) {
        let oldest = {
            let mut tasks = self.tasks.borrow_mut();
            tasks.retain(|u| !u.0.is_finished());
            (tasks.len() >= self.bound).then(|| tasks.remove(0))
        };
        if let Some(mut oldest) = oldest {
            // Held while awaited: a caller cancelled meanwhile drops it,
            // which cancels it. An upload's task never panics out: it ends
            // with its answer.
            let _ = (&mut oldest.0).await;
        }
        let task = Upload(spawn(task));
        self.tasks.borrow_mut().push(task);
    }

    /// How many are running.
    fn running(&self) -> usize {
        let tasks = self.tasks.borrow();
        tasks.iter().filter(|u| !u.0.is_finished()).count()
    }
}

impl Uploads {
    /// Storage for one subtask attempt of the host `ctx`, no connection
    /// open yet, no upload in flight.
    pub fn new(ctx: &HostContext) -> Uploads {
        Uploads(Rc::new(UploadsInner {
            store: Storage::new(ctx),
            in_flight: InFlight::new(MAX_UPLOADS_IN_FLIGHT),
        }))
    }

    /// Run `upload` beside the subtask, once fewer than
    /// [`MAX_UPLOADS_IN_FLIGHT`] are in flight.
    async fn start(&self, upload: impl std::future::Future<Output = ()> + 'static) {
        self.0.in_flight.start(upload).await
    }
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads")
            .field("in_flight", &self.0.in_flight.running())
            .finish()
    }
}

/// The watermark each subtask last reached on this taskmanager, kept for
/// the life of the taskmanager process (a crash forgets it), across job
/// attempts. Written and read only with
/// [`crate::config::PlantedBug::RestoredWatermark`] planted.
pub type TaskManagerMemory =
    std::rc::Rc<std::cell::RefCell<std::collections::BTreeMap<TaskId, u64>>>;

/// What a task body returns: `Ok(())` when its inbox closed (it was
/// cancelled), or the error that failed it.
pub type TaskResult = Result<(), TaskError>;

/// How a failure reason starts when no restart can mend it (the checkpoints
/// it would need are gone): the Display of [`TaskError::RecoveryImpossible`],
/// and the jobmanager's own reasons for failing the job at once
/// (`JobState::Failed`), which scenarios match (`reason = "recovery impossible"`).
pub const RECOVERY_IMPOSSIBLE: &str = "recovery impossible";

/// Why a subtask failed, as it reaches the jobmanager
/// (`ToJobManager::TaskFailed`): Flink's task failure, which its
/// `FailoverStrategy` turns into a restart unless the cause is marked
/// unrecoverable (Flink's `SuppressRestartsException`).
///
/// The Display form is the `reason` traced in `task_failed` events and sent
/// to the jobmanager; it is part of the trace, so its wording is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// No restart can mend it: the state of the checkpoint the task
    /// restores is gone, or the sink holds output of an attempt whose
    /// checkpoints are gone. The jobmanager fails the job at once
    /// (`TaskFailed.fatal`). Displayed as `recovery impossible: <why>`
    /// ([`RECOVERY_IMPOSSIBLE`], a test keeps the two the same).
    #[error("recovery impossible: {0}")]
    RecoveryImpossible(String),
    /// Any other failure (a broken or silent channel, a store, sink or log
    /// error, undecodable state): a failover restores the job. Displayed as
    /// the reason alone.
    #[error("{0}")]
    Failed(String),
    /// The keyed operator could not decode its input or state, or encode
    /// its output: a failover restores the job.
    #[error("keyed operator: {0}")]
    Operator(#[from] crate::operator::OperatorError),
    /// The state the task restores fails its check on every read
    /// ([`READ_ATTEMPTS`]): checkpoint `checkpoint` cannot be restored. Not
    /// fatal: the jobmanager may fall back to an older retained checkpoint
    /// if the sink confirms nothing newer was committed
    /// (`ToJobManager::TaskFailed.unreadable`). Displayed as the reason.
    #[error("{reason}")]
    Unreadable { checkpoint: u64, reason: String },
}

impl TaskError {
    /// Whether no restart can mend the failure: the jobmanager then fails
    /// the job instead of failing it over.
    pub fn is_fatal(&self) -> bool {
        matches!(self, TaskError::RecoveryImpossible(_))
    }

    /// The checkpoint whose state could not be read, for
    /// [`TaskError::Unreadable`].
    pub fn unreadable(&self) -> Option<u64> {
        match self {
            TaskError::Unreadable { checkpoint, .. } => Some(*checkpoint),
            _ => None,
        }
    }
}

/// An error reason of a step that a restart can mend (the engine's
/// internal helpers report reasons as text).
impl From<String> for TaskError {
    fn from(reason: String) -> TaskError {
        TaskError::Failed(reason)
    }
}

/// Where task-local recovery keeps each task's latest snapshot on its
/// taskmanager's disk.
const LOCAL_DIR: &str = "/local";

/// A task's local copy of its snapshot (task-local recovery), as a blob of
/// the state format (`format::encode`, kind `LocalCopy`) at
/// [`TaskEnv::local_copy_path`]: which checkpoint it was taken for and its
/// name in `store`, so a restore can tell it from a copy of another
/// checkpoint. `bytes` is the state blob as stored
/// (`format::encode_state`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct LocalCopy {
    checkpoint: u64,
    name: String,
    bytes: Vec<u8>,
}

/// Reads of a state or metadata blob whose checksum fails before it counts
/// as corrupt at rest, not on the way.
pub const READ_ATTEMPTS: u32 = 5;
/// Attempts of one state upload that the store answers with a storage
/// error (nothing was written), as Flink's changelog uploader retries
/// (`dstl.dfs.upload.max-attempts`, default 3). A timeout is not retried:
/// its outcome is unknown and its connection is given up.
pub const UPLOAD_ATTEMPTS: u32 = 3;
/// The wait before the next attempt: Flink's
/// `dstl.dfs.upload.next-attempt-delay` (500 ms), scaled like the other
/// delays for simulation (1/20).
pub const UPLOAD_RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(25);

impl TaskEnv {
    /// Run the task body `body` makes; an error becomes a `TaskFailed`
    /// report. It takes a closure, not the body's future, so that the body
    /// is built where it is awaited: a future passed in is kept twice in
    /// this one's state (the argument, then the awaited value), which
    /// doubled a keyed task's future to 7,960 bytes (4,432 this way).
    pub async fn supervise<F: std::future::Future<Output = TaskResult>>(
        self,
        body: impl FnOnce() -> F,
    ) {
        if let Err(error) = body().await {
            let reason = error.to_string();
            self.ctx.emit(Event::TaskFailed {
                task: self.task,
                epoch: self.epoch,
                reason: reason.clone(),
            });
            let _ = self.to_jm.send(ToJobManager::TaskFailed {
                epoch: self.epoch,
                task: self.task,
                fatal: error.is_fatal(),
                unreadable: error.unreadable(),
                reason,
            });
        }
    }

    /// This task has restored its state (or had none) and runs: the last
    /// of the taskmanager's tasks of an attempt with a restore to say so
    /// sends [`ToJobManager::Running`]. Called once per task, after its
    /// restore (for a sink, after re-committing the restored transactions).
    pub fn running(&self) {
        let Some(report) = &self.running else {
            return;
        };
        let left = report.0.get().saturating_sub(1);
        report.0.set(left);
        if left == 0 {
            self.send(ToJobManager::Running { epoch: self.epoch });
        }
    }

    pub fn send(&self, msg: ToJobManager) {
        // The taskmanager's session owns the receiver; if it is gone the
        // jobmanager is lost and the task is being cancelled anyway.
        let _ = self.to_jm.send(msg);
    }

    /// Checkpoint storage over this attempt's connection ([`Uploads`]).
    pub fn store(&self) -> Storage {
        self.uploads.0.store.clone()
    }

    /// The name of this task's snapshot of `checkpoint` in `store`. The
    /// epoch is in it: a late write of a zombie attempt can never
    /// overwrite the state of the attempt that replaced it.
    fn state_name(&self, checkpoint: u64) -> String {
        // What `format!("chk-{checkpoint:06}/e{}-{}", epoch, task)` writes.
        let mut name = String::with_capacity(48);
        name.push_str("chk-");
        text::push_padded(&mut name, checkpoint, 6);
        name.push_str("/e");
        text::push_uint(&mut name, self.epoch);
        name.push('-');
        name.push_str(self.task.text().as_str());
        name
    }

    /// Where this task's local copy lives on its taskmanager's disk
    /// (task-local recovery): one file per task, its latest snapshot.
    fn local_copy_path(&self) -> std::path::PathBuf {
        let task = self.task;
        std::path::PathBuf::from(format!("{LOCAL_DIR}/{}-{}", task.vertex, task.subtask))
    }

    /// Task-local recovery: keep `bytes`, this task's snapshot of
    /// `checkpoint`, on the taskmanager's disk, in place of the copy
    /// before it, synced. A failed write leaves the older copy, which a
    /// restore then refuses by its checkpoint: the copy only saves a read
    /// from `store`, so its loss is no failure.
    fn keep_local_copy(&self, checkpoint: u64, bytes: &[u8]) {
        let copy = LocalCopy {
            checkpoint,
            name: self.state_name(checkpoint),
            bytes: bytes.to_vec(),
        };
        let blob = format::encode(BlobKind::LocalCopy, &copy);
        let _ = (self.ctx.disk).write_atomic(&self.local_copy_path(), &blob);
    }

    /// Task-local recovery: the operator state in the local copy if it is
    /// the state `handle` of `checkpoint` names (same checkpoint and name,
    /// then [`format::open_state`]'s checks), else `None` (no copy, another
    /// checkpoint's, unreadable or corrupt), for the caller to read
    /// `store`.
    fn local_state(&self, checkpoint: u64, handle: &StateHandle) -> Option<Vec<u8>> {
        let bytes = self.ctx.disk.read(&self.local_copy_path()).ok()??;
        let copy: LocalCopy = format::decode(BlobKind::LocalCopy, &bytes).ok()?;
        // Planted: whatever state the copy the taskmanager kept holds is
        // restored.
        if self.ctx.bug(PlantedBug::LocalCopyUnchecked) {
            return Some(format::state_unchecked(&copy.bytes));
        }
        if copy.checkpoint != checkpoint || copy.name != handle.name {
            return None;
        }
        format::open_state(handle, checkpoint, self.task, &copy.bytes).ok()
    }

    /// A snapshot was taken: trace it, keep its local copy, then upload it
    /// and acknowledge it to the jobmanager (or decline the checkpoint if
    /// the upload failed) beside the subtask ([`Uploads`]): this returns
    /// once the upload has started, unless [`MAX_UPLOADS_IN_FLIGHT`] are in
    /// flight. `finished`: the task had seen end of input on every input
    /// when it took the snapshot (`ToJobManager::Ack`).
    pub async fn store_snapshot(
        &self,
        checkpoint: u64,
        bytes: Vec<u8>,
        operator_digest: Option<u32>,
        source_offset: Option<u64>,
        finished: bool,
    ) {
        let (epoch, task) = (self.epoch, self.task);
        let digest = crc32fast::hash(&bytes);
        let snapshotted = Event::StateSnapshotted {
            checkpoint,
            task,
            epoch,
            digest,
            operator_digest,
        };
        self.ctx.emit(snapshotted);
        let blob = format::encode_state(checkpoint, task, &bytes);
        drop(bytes);
        if self.ctx.config.checkpoint.local_recovery {
            self.keep_local_copy(checkpoint, &blob);
        }
        let (ctx, to_jm) = (self.ctx.clone(), self.to_jm.clone());
        let name = self.state_name(checkpoint);
        let ack = move |handle| ToJobManager::Ack {
            epoch,
            checkpoint,
            task,
            handle,
            source_offset,
            finished,
        };
        if (blob.len() as u64) < self.ctx.config.checkpoint.memory_threshold {
            // Below the memory threshold the blob travels in the
            // acknowledgement and is kept in the checkpoint's metadata
            // (Flink's `ByteStreamStateHandle`): nothing to upload.
            let handle = StateHandle {
                name,
                size: blob.len() as u64,
                crc: crc32fast::hash(&blob),
                inline: Some(blob),
            };
            // As in the upload below: a lost receiver means the task is
            // being cancelled.
            let _ = to_jm.send(ack(handle));
            return;
        }
        let mut store = self.store();
        // Boxed at once: the upload's future holds a whole RPC (about
        // 1.7 KiB), and it travels through `start` into its own task as
        // one pointer instead of being copied at each step.
        let upload = Box::pin(async move {
            let stored = put_state(&ctx, &mut store, checkpoint, name, blob).await;
            // The taskmanager's session owns the receiver; if it is gone the
            // jobmanager is lost and the task is being cancelled anyway.
            let _ = to_jm.send(match stored {
                Ok(handle) => ack(handle),
                Err(reason) => ToJobManager::Decline {
                    epoch,
                    checkpoint,
                    task,
                    reason,
                },
            });
        });
        self.uploads.start(upload).await;
    }

    /// `bytes` are the state this task restores from `checkpoint`, read
    /// from the snapshot of `from`: trace it (`state_restored`, with their
    /// crc32 as the digest, and `from` when it is another task's) and hand
    /// it on.
    fn restored(&self, checkpoint: u64, from: TaskId, bytes: Vec<u8>) -> Vec<u8> {
        let (task, epoch) = (self.task, self.epoch);
        self.ctx.emit(Event::StateRestored {
            checkpoint,
            task,
            epoch,
            digest: crc32fast::hash(&bytes),
            from: (from != task).then_some(from),
        });
        bytes
    }

    /// Read this task's restored state, verifying size and checksum: the
    /// checkpoint id and the bytes, or `None` for a task started from
    /// scratch. Errors: as [`TaskEnv::read_state`].
    pub async fn restored_state(&self) -> Result<Option<(u64, Vec<u8>)>, TaskError> {
        let Some(meta) = &self.restore else {
            return Ok(None);
        };
        let bytes = self.read_state(meta, self.task).await?;
        Ok(Some((meta.checkpoint, bytes)))
    }

    /// How many subtasks this task's vertex had when the restored
    /// checkpoint was taken (the subtasks it has state of), or `None`
    /// for a task started from scratch.
    pub fn restored_parallelism(&self) -> Option<u32> {
        let meta = self.restore.as_ref()?;
        let count = meta
            .handles
            .keys()
            .filter(|t| t.vertex == self.task.vertex)
            .count();
        Some(u32::try_from(count).unwrap_or(u32::MAX))
    }

    /// Read the snapshots of the old subtasks `from` of this task's vertex
    /// in the restored checkpoint, each verified: the checkpoint id and
    /// (old subtask, bytes) in `from`'s order, or `None` for a task started
    /// from scratch. How a restore at another parallelism reads
    /// ([`crate::rescale::Assignment::reads`]). Errors: as
    /// [`TaskEnv::read_state`].
    pub async fn restored_snapshots(
        &self,
        from: &[u32],
    ) -> Result<Option<(u64, Vec<(u32, Vec<u8>)>)>, TaskError> {
        let Some(meta) = &self.restore else {
            return Ok(None);
        };
        let mut read = Vec::with_capacity(from.len());
        for &subtask in from {
            let owner = TaskId {
                vertex: self.task.vertex,
                subtask,
            };
            read.push((subtask, self.read_state(meta, owner).await?));
        }
        Ok(Some((meta.checkpoint, read)))
    }

    /// Read the snapshot of task `owner` in checkpoint `meta`, verifying
    /// size and checksum (from this taskmanager's local copy when it is
    /// this task's own and local recovery is on and the copy matches, else
    /// from the metadata when the handle holds the blob inline, else from
    /// `store`).
    /// Errors: [`TaskError::RecoveryImpossible`] when the store no longer
    /// has the blob, else [`TaskError::Failed`] (no such task in the
    /// checkpoint, store unreachable) or [`TaskError::Unreadable`]
    /// (checksum failing [`READ_ATTEMPTS`] times in a row).
    async fn read_state(&self, meta: &CheckpointMeta, owner: TaskId) -> Result<Vec<u8>, TaskError> {
        let checkpoint = meta.checkpoint;
        let handle = meta
            .handles
            .get(&owner)
            .ok_or_else(|| format!("checkpoint {checkpoint} has no state for {owner}"))?;
        if owner == self.task && self.ctx.config.checkpoint.local_recovery {
            match self.local_state(checkpoint, handle) {
                Some(state) => {
                    self.ctx.probe(Probe::LocalStateRestored);
                    return Ok(self.restored(checkpoint, owner, state));
                }
                None => self.ctx.probe(Probe::LocalStateFallback),
            }
        }
        if let Some(blob) = &handle.inline {
            // Kept in the metadata, which was checked as it was read; the
            // handle's checks still apply, as to a blob read from `store`.
            return match format::open_state(handle, checkpoint, owner, blob) {
                Ok(state) => {
                    self.ctx.probe(Probe::InlineStateRestored);
                    Ok(self.restored(checkpoint, owner, state))
                }
                Err(e) => Err(TaskError::Unreadable {
                    checkpoint,
                    reason: format!(
                        "state {} of checkpoint {checkpoint}, inline in its metadata, is corrupt: {e}",
                        handle.name
                    ),
                }),
            };
        }
        let mut store = self.store();
        // A read may come back corrupt on the way (the checksum says so);
        // read again a few times before calling the stored state corrupt.
        let mut last = String::new();
        for attempt in 0..READ_ATTEMPTS {
            let bytes = match store.get(&handle.name).await? {
                StoreResponse::Blob(Some(bytes)) => bytes,
                StoreResponse::Blob(None) => {
                    return Err(TaskError::RecoveryImpossible(format!(
                        "state {} of checkpoint {checkpoint} is lost: the store no longer has it",
                        handle.name
                    )))
                }
                other => {
                    return Err(TaskError::Failed(format!(
                        "state {} of checkpoint {checkpoint} unreadable: {other:?}",
                        handle.name
                    )))
                }
            };
            // Planted: use what was read without checking it.
            if self.ctx.bug(PlantedBug::UnverifiedRestore) {
                let state = format::state_unchecked(&bytes);
                return Ok(self.restored(checkpoint, owner, state));
            }
            match format::open_state(handle, checkpoint, owner, &bytes) {
                Ok(state) => {
                    if attempt > 0 {
                        self.ctx.probe(Probe::CorruptReadRetried);
                    }
                    return Ok(self.restored(checkpoint, owner, state));
                }
                Err(e) => last = e,
            }
            self.ctx.emit(Event::CorruptRead {
                name: handle.name.clone(),
            });
        }
        Err(TaskError::Unreadable {
            checkpoint,
            reason: format!(
                "state {} of checkpoint {checkpoint} is corrupt ({READ_ATTEMPTS} reads): {last}",
                handle.name
            ),
        })
    }
}

/// Write a task's snapshot `bytes` for `checkpoint` as the blob `name`,
/// retrying a store that answers with a storage error up to
/// [`UPLOAD_ATTEMPTS`] times: its handle, or why it was not stored.
async fn put_state(
    ctx: &HostContext,
    store: &mut Storage,
    checkpoint: u64,
    name: String,
    bytes: Vec<u8>,
) -> Result<StateHandle, String> {
    let handle = StateHandle {
        size: bytes.len() as u64,
        crc: crc32fast::hash(&bytes),
        name,
        inline: None,
    };
    let mut failed = 0;
    loop {
        let answer = store.put(&handle.name, &bytes).await;
        match answer {
            Ok(StoreResponse::Done) => {
                if failed > 0 {
                    ctx.probe(Probe::StateUploadRetried);
                }
                return Ok(handle);
            }
            Ok(StoreResponse::Error(_)) if failed + 1 < UPLOAD_ATTEMPTS => {
                failed += 1;
                sleep(UPLOAD_RETRY_DELAY).await;
                continue;
            }
            // Planted: the last upload failed, the acknowledgement goes
            // out anyway.
            _ if ctx.bug(PlantedBug::SwallowedWriteError) => return Ok(handle),
            Ok(other) => {
                return Err(format!(
                    "store refused state of checkpoint {checkpoint}: {other:?}"
                ))
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_recovery_impossible_is_fatal_and_each_displays_as_the_traced_reason() {
        let lost = TaskError::RecoveryImpossible("state x of checkpoint 3 is lost".to_string());
        assert!(lost.is_fatal());
        assert_eq!(
            lost.to_string(),
            format!("{RECOVERY_IMPOSSIBLE}: state x of checkpoint 3 is lost")
        );
        let broken = TaskError::from("input channel 1 broken: gap".to_string());
        assert!(!broken.is_fatal());
        assert_eq!(broken.to_string(), "input channel 1 broken: gap");
        // A failure whose text merely starts like a fatal one is not fatal:
        // the variant decides, not the wording.
        let worded = TaskError::Failed(format!("{RECOVERY_IMPOSSIBLE}? no: sink: timeout"));
        assert!(!worded.is_fatal());
    }

    /// The pool behind [`Uploads`]: at the bound a new upload starts only
    /// once the oldest has ended, and dropping the pool cancels every
    /// upload still running.
    #[test]
    fn at_the_bound_an_upload_waits_for_the_oldest_and_a_dropped_pool_cancels_the_rest() {
        use tokio::sync::oneshot;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            let pool = Rc::new(InFlight::new(2));
            // Each upload runs until its `go` is sent or dropped, then
            // reports on its `done`; a cancelled one never reports.
            let mut go = Vec::new();
            let mut done = Vec::new();
            let upload = |go_rx: oneshot::Receiver<()>, done_tx: oneshot::Sender<()>| async move {
                let _ = go_rx.await;
                let _ = done_tx.send(());
            };
            for _ in 0..2 {
                let (go_tx, go_rx) = oneshot::channel();
                let (done_tx, done_rx) = oneshot::channel();
                pool.start(upload(go_rx, done_tx)).await;
                go.push(go_tx);
                done.push(done_rx);
            }
            assert_eq!(pool.running(), 2);
            let (third_go, third_go_rx) = oneshot::channel();
            let (third_done_tx, third_done) = oneshot::channel();
            let third = spawn({
                let pool = pool.clone();
                async move { pool.start(upload(third_go_rx, third_done_tx)).await }
            });
            tokio::task::yield_now().await;
            assert!(
                !third.is_finished(),
                "a third upload started past the bound of 2"
            );
            // The oldest ends: the third starts.
            go.remove(0).send(()).expect("the first upload is waiting");
            third.await.expect("the third start ends");
            done.remove(0).await.expect("the first upload ended");
            assert_eq!(pool.running(), 2);
            // The pool goes with its subtask: the uploads still running
            // are cancelled and never report.
            let second_go = go.remove(0);
            drop(pool);
            tokio::task::yield_now().await;
            assert!(second_go.is_closed(), "the second upload still runs");
            assert!(third_go.is_closed(), "the third upload still runs");
            assert!(done.remove(0).await.is_err());
            assert!(third_done.await.is_err());
        });
    }
}
