//! The `store` host: checkpoint storage (like S3). A put is durable when it
//! is acknowledged: written to a temp file, synced, renamed, directory synced.

use super::{server, HostContext, HostResult};
use crate::event::Event;
use crate::io::addr;
use crate::io::disk::Disk;
use crate::proto::{StoreRequest, StoreResponse};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

const ROOT: &str = "/store";

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    server::serve(
        addr::STORE_PORT,
        Rc::new(RefCell::new(ctx.disk.clone())),
        handle,
    )
    .await
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(ROOT).join(name)
}

fn handle(disk: &mut Disk, req: StoreRequest) -> StoreResponse {
    let result = match req {
        StoreRequest::Put { name, bytes } => disk
            .write_atomic(&path(&name), &bytes)
            .map(|()| StoreResponse::Done),
        StoreRequest::Get { name } => disk.read(&path(&name)).map(StoreResponse::Blob),
        StoreRequest::List { prefix } => disk.list(&path(&prefix)).map(StoreResponse::Names),
        StoreRequest::Delete { name } => disk.remove(&path(&name)).map(|()| StoreResponse::Done),
    };
    result.unwrap_or_else(|e| StoreResponse::Error(e.to_string()))
}
