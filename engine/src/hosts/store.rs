//! The `store` host: checkpoint storage (like S3), plus compare-and-set on
//! versioned blobs for the register of completed checkpoints (the role
//! ZooKeeper or a Kubernetes ConfigMap plays for Flink's high-availability
//! services). A put is durable when it is acknowledged: written to a temp
//! file, synced, renamed, directory synced.

use super::{server, HostContext, HostResult};
use crate::config::PlantedBug;
use crate::event::Event;
use crate::io::disk::{self, Disk};
use crate::io::{addr, now};
use crate::probe::Probe;
use crate::proto::{StoreRequest, StoreResponse};
use crate::register::Versioned;
use crate::wire;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

const ROOT: &str = "/store";

struct Store {
    ctx: HostContext,
    disk: Disk,
    /// Planted bug `ack-before-sync`.
    ack_before_sync: bool,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    let store = Store {
        disk: ctx.disk.clone(),
        ack_before_sync: ctx.bug(PlantedBug::AckBeforeSync),
        ctx,
    };
    server::serve(addr::STORE_PORT, Rc::new(RefCell::new(store)), handle).await
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(ROOT).join(name)
}

fn handle(store: &mut Store, req: StoreRequest) -> StoreResponse {
    let (disk, ack_before_sync) = (&store.disk, store.ack_before_sync);
    let (answer, write) = match req {
        // Planted: acknowledge a put that is not yet durable.
        StoreRequest::Put { name, bytes, .. } if ack_before_sync => {
            let put = disk.write_unsynced(&path(&name), &bytes);
            (put.map(|()| StoreResponse::Done), None)
        }
        StoreRequest::Put {
            name,
            bytes,
            deadline,
        } => {
            let put = disk.write_atomic(&path(&name), &bytes);
            (
                put.map(|()| StoreResponse::Done),
                Some(("put", name, deadline)),
            )
        }
        StoreRequest::Get { name } => (disk.read(&path(&name)).map(StoreResponse::Blob), None),
        StoreRequest::List { prefix } => {
            let names = disk.list(&path(&prefix));
            (names.map(StoreResponse::Names), None)
        }
        StoreRequest::Delete { name, deadline } => {
            let removed = disk.remove(&path(&name)).map(|()| StoreResponse::Done);
            (removed, Some(("delete", name, deadline)))
        }
        StoreRequest::CompareAndSet {
            name,
            expected,
            bytes,
            deadline,
        } => {
            let swapped = compare_and_set(disk, &name, expected, bytes);
            (Ok(swapped), Some(("compare_and_set", name, deadline)))
        }
    };
    let answer = answer.unwrap_or_else(|e| StoreResponse::Error(e.to_string()));
    if let Some((op, name, deadline)) = write {
        let applied = matches!(answer, StoreResponse::Done | StoreResponse::Swapped { .. });
        store.late(op, &name, deadline, applied);
    }
    answer
}

/// Swap the versioned blob `name` to `expected + 1` if it is at `expected`.
/// Everything that can fail before the write answers `NotApplied`; only the
/// write itself can leave the outcome unknown (`Error`).
fn compare_and_set(disk: &Disk, name: &str, expected: u64, bytes: Vec<u8>) -> StoreResponse {
    let at = path(name);
    let current = match disk.read(&at) {
        Ok(None) => Versioned::default(),
        Ok(Some(stored)) => match wire::decode::<Versioned>(&stored) {
            Ok(current) => current,
            Err(e) => return StoreResponse::NotApplied(format!("corrupt {name}: {e}")),
        },
        Err(e) => return StoreResponse::NotApplied(e.to_string()),
    };
    if current.version != expected {
        return StoreResponse::Conflict(current);
    }
    let next = wire::encode(&Versioned {
        version: expected + 1,
        bytes: Some(bytes),
    });
    if let Err(e) = disk.admit_write(&at, next.len()) {
        return StoreResponse::NotApplied(e.to_string());
    }
    match disk::write_atomic(&at, &next) {
        Ok(()) => StoreResponse::Swapped {
            version: expected + 1,
        },
        Err(e) => StoreResponse::Error(e.to_string()),
    }
}

impl Store {
    /// Report a write that arrived after its sender stopped waiting for it.
    fn late(&self, op: &'static str, name: &str, deadline: Duration, applied: bool) {
        let t = now();
        if t > deadline {
            self.ctx.probe(Probe::StoreWriteLate);
            self.ctx.emit(Event::StoreWriteLate {
                op: op.into(),
                name: name.into(),
                late_ms: (t - deadline).as_millis() as u64,
                applied,
            });
        }
    }
}
