//! The checkpoint storage hosts: one `store` (like S3, with compare-and-set
//! on versioned blobs for the register of completed checkpoints: the role
//! ZooKeeper or a Kubernetes ConfigMap plays for Flink's high-availability
//! services), or replicas `store-1..=N` (docs/storage.md).
//!
//! A put is durable when it is acknowledged: written as a temp file,
//! synced, renamed and its directory synced leave it, in one call
//! ([`disk::write_atomic`]). A replica also frames every blob with
//! its length and crc32, so that it never serves or copies a blob that does
//! not verify, and keeps its copy of the register beside an incarnation
//! marker: a replica that starts without the marker lost its disk, answers
//! nothing ([`StoreResponse::Repairing`]) and votes in no quorum until it
//! has copied what its peers hold.

use super::{server, HostContext, HostResult};
use crate::config::PlantedBug;
use crate::event::Event;
use crate::io::disk::{self, Disk};
use crate::io::{addr, now, sleep, spawn};
use crate::probe::Probe;
use crate::proto::{ReplicaRegister, StoreRequest, StoreResponse};
use crate::register::Versioned;
use crate::wire::{self, RpcClient};
use std::borrow::Cow;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

const ROOT: &str = "/store";
/// A replica's copy of the register.
const REPLICA_REGISTER: &str = "/replica/register";
/// Written once a replica holds data (formatted at its first start, or
/// repaired): its absence at a later start means the disk was lost.
const INCARNATION: &str = "/replica/incarnation";
/// How long a repairing replica waits before asking its peers again.
const REPAIR_RETRY: Duration = Duration::from_millis(100);

struct Store {
    ctx: HostContext,
    disk: Disk,
    /// Planted bug `ack-before-sync`.
    ack_before_sync: bool,
    /// Replicated storage: frame blobs, answer the replica requests.
    replicated: bool,
    /// This replica lost its disk and has not been repaired yet.
    repairing: bool,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    let replicated = ctx.config.topology.store_replicas > 1;
    let disk = ctx.disk.clone();
    let mut repairing = false;
    if replicated && disk::read(Path::new(INCARNATION))?.is_none() {
        if ctx.starts() == 1 {
            // The replica's first start: the cluster is created with the job.
            disk::write_atomic(Path::new(INCARNATION), b"1")?;
        } else {
            repairing = true;
        }
    }
    let store = Rc::new(RefCell::new(Store {
        disk,
        ack_before_sync: ctx.bug(PlantedBug::AckBeforeSync),
        replicated,
        repairing,
        ctx: ctx.clone(),
    }));
    if repairing {
        spawn(repair(store.clone(), ctx));
    }
    server::serve(addr::STORE_PORT, store, handle).await
}

/// The checkpoints and savepoints whose metadata this host's disk holds,
/// as (checkpoint id, epoch that took it) from their names
/// (`meta/<checkpoint>-<epoch>`, [`crate::register::metadata_name`]),
/// sorted: read by the harness after a run, from the store's own disk, to
/// judge who deleted what (the `snapshot-ownership` checker). The epoch
/// tells apart two snapshots of one id: a plain savepoint's id is not
/// recorded in the register, and a jobmanager that restarts may hand it out
/// again. Errors: the directory could not be listed.
pub fn read_stored_checkpoints() -> std::io::Result<Vec<(u64, u64)>> {
    let names = disk::list(&path("meta"))?;
    let parse = |name: &String| {
        let (checkpoint, epoch) = name.split_once('-')?;
        Some((checkpoint.parse::<u64>().ok()?, epoch.parse::<u64>().ok()?))
    };
    let mut stored: Vec<(u64, u64)> = names.iter().filter_map(parse).collect();
    stored.sort_unstable();
    stored.dedup();
    Ok(stored)
}

/// `ROOT` joined with `name`, as `Path::join` joins them (an absolute
/// `name` stands alone), built in one buffer.
fn path(name: &str) -> PathBuf {
    if name.starts_with('/') {
        return PathBuf::from(name);
    }
    let mut path = String::with_capacity(ROOT.len() + 1 + name.len());
    path.push_str(ROOT);
    path.push('/');
    path.push_str(name);
    PathBuf::from(path)
}

fn handle(store: &mut Store, req: StoreRequest) -> StoreResponse {
    if store.repairing {
        return match req {
            StoreRequest::Status => StoreResponse::Initialized(false),
            _ => StoreResponse::Repairing,
        };
    }
    let (disk, ack_before_sync) = (&store.disk, store.ack_before_sync);
    // Blobs to remove once a compare-and-set has landed.
    let mut then_delete = None;
    let (answer, write) = match req {
        // Planted: acknowledge a put that is not yet durable.
        StoreRequest::Put { name, bytes, .. } if ack_before_sync => {
            let put = disk.write_unsynced(&path(&name), &framed(store.replicated, &bytes));
            (put.map(|()| StoreResponse::Done), None)
        }
        StoreRequest::Put {
            name,
            bytes,
            deadline,
        } => {
            let put = disk.write_atomic(&path(&name), &framed(store.replicated, &bytes));
            (
                put.map(|()| StoreResponse::Done),
                Some(("put", name, deadline)),
            )
        }
        StoreRequest::Get { name } if store.replicated => (Ok(get_framed(disk, &name)), None),
        StoreRequest::Get { name } => (disk.read(&path(&name)).map(StoreResponse::Blob), None),
        StoreRequest::List { prefix } => {
            let names = disk.list(&path(&prefix));
            (names.map(StoreResponse::Names), None)
        }
        StoreRequest::Delete { names, deadline } => return delete(store, &names, deadline),
        StoreRequest::CompareAndSet { .. } if store.replicated => {
            let refused = "a replica keeps the register by (epoch, version), not compare-and-set";
            (Ok(StoreResponse::NotApplied(refused.into())), None)
        }
        StoreRequest::CompareAndSet {
            name,
            expected,
            bytes,
            deadline,
            leader,
            delete,
        } => {
            let swapped = match fence_leader(disk, leader) {
                Ok(()) => compare_and_set(disk, &name, expected, bytes),
                Err(refused) => refused,
            };
            if matches!(swapped, StoreResponse::Swapped { .. }) {
                then_delete = Some((delete, deadline));
            }
            (Ok(swapped), Some(("compare_and_set", name, deadline)))
        }
        StoreRequest::ReadRegister => (Ok(read_register(disk)), None),
        StoreRequest::WriteRegister { entry, deadline } => {
            let name = "register".to_owned();
            (
                Ok(write_register(disk, entry)),
                Some(("write_register", name, deadline)),
            )
        }
        StoreRequest::Status => (Ok(StoreResponse::Initialized(true)), None),
        StoreRequest::Inventory => (inventory(disk).map(StoreResponse::Names), None),
    };
    let answer = answer.unwrap_or_else(|e| StoreResponse::Error(e.to_string()));
    if let Some((op, name, deadline)) = write {
        let applied = matches!(
            answer,
            StoreResponse::Done | StoreResponse::Swapped { .. } | StoreResponse::Register(_)
        );
        store.late(op, &name, deadline, applied);
    }
    if let Some((names, deadline)) = then_delete {
        // Best effort, as the jobmanager's own deletes are: what fails to
        // go is garbage no register names.
        let _ = delete(store, &names, deadline);
    }
    answer
}

/// A blob as this host stores it: framed with its length and crc32 on a
/// replica, as it came on the one store.
fn framed(replicated: bool, bytes: &[u8]) -> Cow<'_, [u8]> {
    match replicated {
        true => Cow::Owned(wire::encode(&bytes)),
        false => Cow::Borrowed(bytes),
    }
}

/// Remove each of `names`, in order, going on past a removal that fails
/// (as `rm` does): `Done` when all are gone, else `Error` naming the first
/// failure. A removal that lands after `deadline` is reported late, each
/// on its own, as when every blob was a request of its own.
fn delete(store: &Store, names: &[String], deadline: Duration) -> StoreResponse {
    let mut failed = None;
    for name in names {
        let removed = store.disk.remove(&path(name));
        store.late("delete", name, deadline, removed.is_ok());
        if let Err(e) = removed {
            failed.get_or_insert(e);
        }
    }
    match failed {
        None => StoreResponse::Done,
        Some(e) => StoreResponse::Error(e.to_string()),
    }
}

/// A replica's blob, unframed; a frame that fails its crc32 is refused
/// (`NotApplied`), so the reader takes another replica's copy.
fn get_framed(disk: &Disk, name: &str) -> StoreResponse {
    match disk.read(&path(name)) {
        Ok(None) => StoreResponse::Blob(None),
        Ok(Some(raw)) => match wire::decode::<Vec<u8>>(&raw) {
            Ok(bytes) => StoreResponse::Blob(Some(bytes)),
            Err(e) => StoreResponse::NotApplied(format!("corrupt {name}: {e}")),
        },
        Err(e) => StoreResponse::NotApplied(e.to_string()),
    }
}

/// This replica's copy of the register (the empty one if it has none).
fn read_register(disk: &Disk) -> StoreResponse {
    match disk.read(Path::new(REPLICA_REGISTER)) {
        Ok(None) => StoreResponse::Register(ReplicaRegister::default()),
        Ok(Some(raw)) => match wire::decode::<ReplicaRegister>(&raw) {
            Ok(copy) => StoreResponse::Register(copy),
            Err(e) => StoreResponse::NotApplied(format!("corrupt register copy: {e}")),
        },
        Err(e) => StoreResponse::NotApplied(e.to_string()),
    }
}

/// Take `entry` if it is newer by (epoch, version) than this replica's copy.
fn write_register(disk: &Disk, entry: ReplicaRegister) -> StoreResponse {
    let current = match read_register(disk) {
        StoreResponse::Register(current) => current,
        refused => return refused,
    };
    if entry.rank() <= current.rank() {
        return StoreResponse::Refused(current);
    }
    let bytes = wire::encode(&entry);
    let at = Path::new(REPLICA_REGISTER);
    if let Err(e) = disk.admit_write(at, bytes.len()) {
        return StoreResponse::NotApplied(e.to_string());
    }
    match disk::write_atomic(at, &bytes) {
        Ok(()) => StoreResponse::Register(entry),
        Err(e) => StoreResponse::Error(e.to_string()),
    }
}

/// Every blob name this replica holds, sorted (`chk-000003/e1-count[0]`).
fn inventory(disk: &Disk) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        for entry in disk.list(&path(&dir))? {
            let name = if dir.is_empty() {
                entry
            } else {
                format!("{dir}/{entry}")
            };
            if disk::is_dir(&path(&name)) {
                dirs.push(name);
            } else {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Swap the versioned blob `name` to `expected + 1` if it is at `expected`.
/// Everything that can fail before the write answers `NotApplied`; only the
/// write itself can leave the outcome unknown (`Error`).
/// Where the single store keeps the newest leader epoch a swap carried.
const LEADER_BLOB: &str = "job/leader-epoch";

/// Take a swap of leader epoch `leader` (0: a jobmanager without `ha`,
/// never fenced): refused (`Fenced`) if a swap of a newer leader came
/// first; a newer one is recorded durably before its swap is applied.
fn fence_leader(disk: &Disk, leader: u64) -> Result<(), StoreResponse> {
    if leader == 0 {
        return Ok(());
    }
    let at = path(LEADER_BLOB);
    let newest = match disk.read(&at) {
        Ok(None) => 0,
        Ok(Some(raw)) => match wire::decode::<u64>(&raw) {
            Ok(newest) => newest,
            Err(e) => {
                let why = format!("corrupt {LEADER_BLOB}: {e}");
                return Err(StoreResponse::NotApplied(why));
            }
        },
        Err(e) => return Err(StoreResponse::NotApplied(e.to_string())),
    };
    if leader < newest {
        return Err(StoreResponse::Fenced { leader: newest });
    }
    if leader == newest {
        return Ok(());
    }
    let bytes = wire::encode(&leader);
    if let Err(e) = disk.admit_write(&at, bytes.len()) {
        return Err(StoreResponse::NotApplied(e.to_string()));
    }
    disk::write_atomic(&at, &bytes).map_err(|e| StoreResponse::NotApplied(e.to_string()))
}

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

/// Repair a replica that came back with an empty disk: once enough peers
/// answer, copy every blob any of them holds and the newest register copy,
/// then write the incarnation marker and start voting.
///
/// A blob durable at a majority that included this replica survives on at
/// least `n / 2` peers; copying from `n - n / 2` peers is sure to meet one
/// of them. With fewer holding data and every peer answering, a majority
/// lost its disks: the replica takes what is left and says so
/// (`complete: false`); the clients then find the lost register or blobs
/// missing and fail the job.
async fn repair(store: Rc<RefCell<Store>>, ctx: HostContext) {
    let replicas = ctx.config.topology.store_replicas;
    let peers: Vec<String> = addr::stores(replicas)
        .into_iter()
        .filter(|h| **h != *ctx.name)
        .collect();
    let needed = replicas as usize - replicas as usize / 2;
    let limit = ctx.config.timing.rpc_timeout;
    loop {
        let mut holding = Vec::new();
        let mut answered = 0;
        for peer in &peers {
            if let Ok(mut client) = RpcClient::connect(peer, addr::STORE_PORT, limit).await {
                match client.call(&StoreRequest::Status).await {
                    Ok(StoreResponse::Initialized(true)) => holding.push((peer.clone(), client)),
                    Ok(StoreResponse::Initialized(false)) => answered += 1,
                    _ => {}
                }
            }
        }
        let all_answered = answered + holding.len() == peers.len();
        if holding.len() >= needed || all_answered {
            if let Some(blobs) = copy_from(&store, &mut holding).await {
                let from = holding.into_iter().map(|(peer, _)| peer).collect();
                let complete = blobs.1;
                let marked = disk::write_atomic(Path::new(INCARNATION), b"1");
                if marked.is_ok() {
                    let mut s = store.borrow_mut();
                    s.repairing = false;
                    s.ctx.probe(Probe::StoreReplicaRepaired);
                    s.ctx.emit(Event::StoreReplicaRepaired {
                        from,
                        blobs: blobs.0,
                        complete,
                    });
                    return;
                }
            }
        }
        sleep(REPAIR_RETRY).await;
    }
}

/// Copy every blob and the newest register copy from `peers` onto this
/// replica's disk: the number of blobs copied and whether `peers` were
/// enough to be sure nothing durable was missed; `None` if a peer failed
/// midway (the caller starts over).
async fn copy_from(
    store: &Rc<RefCell<Store>>,
    peers: &mut [(String, RpcClient)],
) -> Option<(u64, bool)> {
    let replicas = store.borrow().ctx.config.topology.store_replicas as usize;
    let mut complete = peers.len() >= replicas - replicas / 2;
    let mut names = std::collections::BTreeSet::new();
    let mut newest = ReplicaRegister::default();
    for (_, client) in peers.iter_mut() {
        match client.call(&StoreRequest::Inventory).await.ok()? {
            StoreResponse::Names(held) => names.extend(held),
            _ => return None,
        }
        match read_checked(client, &StoreRequest::ReadRegister).await? {
            StoreResponse::Register(copy) if copy.rank() > newest.rank() => newest = copy,
            StoreResponse::Register(_) => {}
            // A peer whose copy keeps failing its check (rotten) has none
            // to give; without it the peers may miss the newest.
            StoreResponse::NotApplied(e) if e.starts_with("corrupt") => complete = false,
            _ => return None,
        }
    }
    let mut copied = 0;
    for name in names {
        for (_, client) in peers.iter_mut() {
            // Anything but a copy or a definite "not here" (deleted since the
            // inventory) abandons the attempt: a skipped blob would leave a
            // durable write on fewer replicas than a majority, and a call
            // that failed leaves its connection out of step (its answer may
            // still come, as the answer to the next request).
            let get = StoreRequest::Get { name: name.clone() };
            match read_checked(client, &get).await? {
                StoreResponse::Blob(Some(bytes)) => {
                    let disk = store.borrow().disk.clone();
                    disk.write_atomic(&path(&name), &wire::encode(&bytes))
                        .ok()?;
                    copied += 1;
                    break;
                }
                StoreResponse::Blob(None) => {}
                // This peer's copy keeps failing its check (rotten):
                // another peer's may not. If none has a good one, the blob
                // is as lost as if the peers lacked it, and readers find it
                // so.
                StoreResponse::NotApplied(e) if e.starts_with("corrupt") => complete = false,
                _ => return None,
            }
        }
    }
    if newest.rank() > (0, 0, 0, 0) {
        let disk = store.borrow().disk.clone();
        disk.write_atomic(Path::new(REPLICA_REGISTER), &wire::encode(&newest))
            .ok()?;
    }
    Some((copied, complete))
}

/// Reads of one blob or register copy from a peer during a repair that may
/// fail their check, one right after another, before the peer's copy is
/// taken for rotten: a read corrupted on the way passes on a later one.
const REPAIR_READS: u32 = 20;

/// `request`'s answer from `client`, read again while the peer's copy
/// fails its check (`NotApplied("corrupt ...")`), at most [`REPAIR_READS`]
/// times; `None` if a call failed (its connection is out of step).
async fn read_checked(client: &mut RpcClient, request: &StoreRequest) -> Option<StoreResponse> {
    let mut answer = client.call(request).await.ok()?;
    for _ in 1..REPAIR_READS {
        match &answer {
            StoreResponse::NotApplied(e) if e.starts_with("corrupt") => {
                answer = client.call(request).await.ok()?;
            }
            _ => break,
        }
    }
    Some(answer)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_path_is_what_path_join_gives() {
        for name in [
            "",
            "meta",
            "meta/5-1",
            "chk-000005/e1-count[0]",
            "a//b",
            "/abs",
            "./x",
            "é",
        ] {
            assert_eq!(path(name), Path::new(ROOT).join(name), "{name:?}");
        }
    }
}
