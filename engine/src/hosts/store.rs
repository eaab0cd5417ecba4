//! The `store` host: checkpoint storage (like S3). A put is durable when it
//! is acknowledged: written to a temp file, synced, renamed, directory synced.

use super::{server, HostContext, HostResult};
use crate::config::PlantedBug;
use crate::event::Event;
use crate::io::addr;
use crate::io::disk::Disk;
use crate::proto::{StoreRequest, StoreResponse};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

const ROOT: &str = "/store";

struct Store {
    disk: Disk,
    /// Planted bug `ack-before-sync`.
    ack_before_sync: bool,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    let store = Store {
        disk: ctx.disk.clone(),
        ack_before_sync: ctx.bug(PlantedBug::AckBeforeSync),
    };
    server::serve(addr::STORE_PORT, Rc::new(RefCell::new(store)), handle).await
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(ROOT).join(name)
}

fn handle(store: &mut Store, req: StoreRequest) -> StoreResponse {
    let (disk, ack_before_sync) = (&store.disk, store.ack_before_sync);
    let result = match req {
        // Planted: acknowledge a put that is not yet durable.
        StoreRequest::Put { name, bytes } if ack_before_sync => disk
            .write_unsynced(&path(&name), &bytes)
            .map(|()| StoreResponse::Done),
        StoreRequest::Put { name, bytes } => disk
            .write_atomic(&path(&name), &bytes)
            .map(|()| StoreResponse::Done),
        StoreRequest::Get { name } => disk.read(&path(&name)).map(StoreResponse::Blob),
        StoreRequest::List { prefix } => disk.list(&path(&prefix)).map(StoreResponse::Names),
        StoreRequest::Delete { name } => disk.remove(&path(&name)).map(|()| StoreResponse::Done),
    };
    result.unwrap_or_else(|e| StoreResponse::Error(e.to_string()))
}
