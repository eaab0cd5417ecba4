//! Subtasks as they run on a taskmanager: what they receive (`Inbound`),
//! what they share (`TaskEnv`), and the wrapper that turns a task error
//! into a reported task failure.

pub mod count;
pub mod source;

use crate::event::{Event, TaskId};
use crate::hosts::HostContext;
use crate::io::addr;
use crate::io::mpsc::UnboundedSender;
use crate::proto::{
    CheckpointMeta, Payload, StateHandle, StoreRequest, StoreResponse, ToJobManager,
};
use crate::wire::RpcClient;

/// Everything that reaches a running subtask, in one ordered queue.
#[derive(Debug)]
pub enum Inbound {
    /// All taskmanagers deployed: sources may start reading.
    Start,
    Trigger(u64),
    Notify(u64),
    /// A checked frame from input channel `input` (sequence and epoch verified).
    Data {
        input: usize,
        payload: Payload,
    },
    /// An input channel failed: gap, corrupt frame, closed connection.
    Broken {
        input: usize,
        reason: String,
    },
}

/// What a subtask of one job attempt needs from its taskmanager.
#[derive(Clone, Debug)]
pub struct TaskEnv {
    pub ctx: HostContext,
    pub task: TaskId,
    pub epoch: u64,
    pub restore: Option<CheckpointMeta>,
    pub to_jm: UnboundedSender<ToJobManager>,
}

pub type TaskResult = Result<(), String>;

impl TaskEnv {
    /// Run a task body; an error becomes a `TaskFailed` report.
    pub async fn supervise(self, body: impl std::future::Future<Output = TaskResult>) {
        if let Err(reason) = body.await {
            self.ctx.emit(Event::TaskFailed {
                task: self.task,
                epoch: self.epoch,
                reason: reason.clone(),
            });
            let _ = self.to_jm.send(ToJobManager::TaskFailed {
                epoch: self.epoch,
                task: self.task,
                reason,
            });
        }
    }

    pub fn send(&self, msg: ToJobManager) {
        // The taskmanager's session owns the receiver; if it is gone the
        // jobmanager is lost and the task is being cancelled anyway.
        let _ = self.to_jm.send(msg);
    }

    pub async fn store(&self) -> Result<RpcClient, String> {
        let limit = self.ctx.config.timing.rpc_timeout;
        RpcClient::connect(addr::STORE, addr::STORE_PORT, limit)
            .await
            .map_err(|e| format!("store: {e}"))
    }

    /// Write this task's snapshot for `checkpoint`; returns its handle.
    pub async fn put_state(
        &self,
        store: &mut RpcClient,
        checkpoint: u64,
        bytes: Vec<u8>,
    ) -> Result<StateHandle, String> {
        let name = format!("chk-{checkpoint:06}/{}", self.task);
        let handle = StateHandle {
            name: name.clone(),
            size: bytes.len() as u64,
            crc: crc32fast::hash(&bytes),
        };
        match store.call(&StoreRequest::Put { name, bytes }).await {
            Ok(StoreResponse::Done) => Ok(handle),
            Ok(other) => Err(format!(
                "store refused state of checkpoint {checkpoint}: {other:?}"
            )),
            Err(e) => Err(format!("store: {e}")),
        }
    }

    /// Read this task's restored state, verifying size and checksum.
    pub async fn restored_state(&self) -> Result<Option<(u64, Vec<u8>)>, String> {
        let Some(meta) = &self.restore else {
            return Ok(None);
        };
        let handle = meta.handles.get(&self.task).ok_or_else(|| {
            format!(
                "checkpoint {} has no state for {}",
                meta.checkpoint, self.task
            )
        })?;
        let mut store = self.store().await?;
        let req = StoreRequest::Get {
            name: handle.name.clone(),
        };
        let bytes = match store.call(&req).await.map_err(|e| format!("store: {e}"))? {
            StoreResponse::Blob(Some(bytes)) => bytes,
            other => {
                return Err(format!(
                    "state {} of checkpoint {} unreadable: {other:?}",
                    handle.name, meta.checkpoint
                ))
            }
        };
        let crc = crc32fast::hash(&bytes);
        if crc != handle.crc || bytes.len() as u64 != handle.size {
            return Err(format!(
                "state {} of checkpoint {} is corrupt: crc {crc:08x}, expected {:08x}",
                handle.name, meta.checkpoint, handle.crc
            ));
        }
        self.ctx.emit(Event::StateRestored {
            checkpoint: meta.checkpoint,
            task: self.task,
            epoch: self.epoch,
            digest: crc,
        });
        Ok(Some((meta.checkpoint, bytes)))
    }
}
