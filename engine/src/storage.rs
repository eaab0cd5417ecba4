//! Checkpoint storage as the jobmanager and the tasks use it: one `store`
//! host, or replicas `store-1..=N` behind quorum reads and writes
//! (docs/storage.md).
//!
//! With one store every operation is one request, as S3 or HDFS would see
//! it, and the register of completed checkpoints is a compare-and-set on a
//! versioned blob. With replicas:
//! - a blob put goes to every replica at once and is durable when a
//!   majority acknowledged it; a delete likewise, best effort;
//! - a blob get asks every replica at once and takes the first copy to
//!   come back (each replica checks its own copy's crc32 and refuses a bad
//!   one); the blob is lost only when a majority of replicas answer that
//!   they lack it;
//! - the register is read from a majority, taking the newest copy by
//!   (epoch, version, writer) and writing it back where too few hold it,
//!   and a compare-and-set is that read, then a write of
//!   (epoch, version + 1) to every replica, done when a majority took it.
//!   A replica refuses a copy not newer than its own, so a fenced attempt's
//!   late write can never replace the fence (the ZooKeeper or etcd role in
//!   Flink's high-availability services, reduced to what the register
//!   needs: one writer per epoch, fenced by epoch).
//!
//! Every operation but `list` returns once it has enough answers; a replica
//! that does not answer (down, cut off, repairing its disk) only matters
//! when too few answer for a majority: then the operation fails and its
//! caller retries, as it would a single store that is down.

use crate::config::PlantedBug;
use crate::hosts::HostContext;
use crate::io::{addr, now, spawn};
use crate::probe::Probe;
use crate::proto::{ReplicaRegister, StoreRequest, StoreResponse};
use crate::register::{Versioned, REGISTER_BLOB};
use crate::wire::{self, RpcClient, WireError};
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// What a compare-and-set on the register came to.
#[derive(Debug)]
pub enum Swap {
    Swapped(u64),
    /// The register is at another version; nothing was written.
    Conflict(Versioned),
    /// Nothing was written (the request never left, or storage refused it
    /// before writing).
    NotApplied(String),
    /// The swap may or may not have landed, or may land later.
    Unknown(String),
    /// Storage has taken a swap of this newer leader epoch: the writer
    /// has been deposed (`ha`). Nothing was written, or (replicas) what
    /// landed is outranked by the newer leader's copies.
    Fenced(u64),
}

/// A connection to checkpoint storage, opened lazily, kept between
/// requests as a filesystem client keeps its pool, and reopened after a
/// failed request (a request that timed out leaves its answer in flight).
/// A clone shares the connection: the jobmanager deletes subsumed
/// checkpoints through a clone of its own.
#[derive(Clone)]
pub struct Storage {
    ctx: HostContext,
    replicas: Vec<Replica>,
    /// Tells this client's register writes apart from those of an earlier
    /// process of the same host ([`ReplicaRegister::writer`]): when it was
    /// created, in µs of simulated time.
    writer: u64,
    /// The leader epoch register writes carry ([`Storage::set_leader`]).
    leader: u64,
}

#[derive(Clone)]
struct Replica {
    host: Rc<str>,
    /// The open connection, when no request is using it: a request takes
    /// it out and puts it back once answered, so a request still in flight
    /// when its operation is done (a straggler) never shares it.
    client: Rc<RefCell<Option<RpcClient>>>,
}

/// Each replica's answer to one request, in replica order: `None` while
/// none has come (the operation may end first), `Err` naming why none will.
type Answers = Vec<Option<Result<StoreResponse, String>>>;

impl Storage {
    /// Storage for the host `ctx`: no connection is opened until a request.
    pub fn new(ctx: &HostContext) -> Storage {
        let hosts = addr::stores(ctx.config.topology.store_replicas);
        Storage {
            writer: now().as_micros() as u64,
            leader: 0,
            ctx: ctx.clone(),
            replicas: hosts
                .into_iter()
                .map(|host| Replica {
                    host: host.into(),
                    client: Rc::default(),
                })
                .collect(),
        }
    }

    /// Stamp register writes with leader epoch `leader` (granted by `ha`):
    /// storage that has taken a write of a newer leader refuses them
    /// ([`Swap::Fenced`]). 0, the default, is a jobmanager without `ha`.
    pub fn set_leader(&mut self, leader: u64) {
        self.leader = leader;
    }

    fn limit(&self) -> Duration {
        self.ctx.config.timing.rpc_timeout
    }

    fn replicated(&self) -> bool {
        self.replicas.len() > 1
    }

    /// Whether [`Storage::swap`] deletes the blobs it is given (one store)
    /// or leaves them to the caller (replicas).
    pub fn deletes_with_swap(&self) -> bool {
        !self.replicated()
    }

    /// Replicas that must take a write before it counts as durable, and
    /// answer a register read before it counts.
    fn quorum(&self) -> usize {
        if self.ctx.bug(PlantedBug::DurableAtOneReplica) {
            return 1; // Planted: one replica is taken for a majority.
        }
        addr::majority(self.replicas.len())
    }

    /// One request to the single store: `Err` is "store: <what failed>"
    /// (nothing answered), and with `unsent` the request never left.
    async fn single(&mut self, req: &StoreRequest) -> Result<StoreResponse, (bool, String)> {
        let limit = self.limit();
        call(&self.replicas[0], req, limit)
            .await
            .map_err(|(unsent, e)| (unsent, format!("store: {e}")))
    }

    /// `req` to every replica at once, gathering answers until `enough`
    /// says so or every replica answered. Requests still in flight then go
    /// on in the background (their answers keep the connections usable);
    /// for a write (`write`), a replica that fails to take it, before or
    /// after, is [`Probe::StoreQuorumWithoutReplica`] once the write is
    /// durable.
    async fn gather(
        &mut self,
        req: StoreRequest,
        write: bool,
        enough: impl Fn(&Answers) -> bool,
    ) -> Answers {
        let (limit, req) = (self.limit(), Rc::new(req));
        let mut pending: FuturesUnordered<_> = self
            .replicas
            .iter()
            .enumerate()
            .map(|(index, replica)| {
                let (replica, req) = (replica.clone(), req.clone());
                async move {
                    let answer = call(&replica, &req, limit).await;
                    (
                        index,
                        answer.map_err(|(_, e)| format!("{}: {e}", replica.host)),
                    )
                }
            })
            .collect();
        let mut answers: Answers = vec![None; self.replicas.len()];
        while let Some((index, answer)) = pending.next().await {
            answers[index] = Some(answer);
            if enough(&answers) {
                break;
            }
        }
        let durable = write && enough(&answers);
        let failed = |a: &Result<StoreResponse, String>| !a.as_ref().is_ok_and(took);
        let missed = durable && answers.iter().flatten().any(failed);
        if missed {
            self.ctx.probe(Probe::StoreQuorumWithoutReplica);
        }
        if !pending.is_empty() {
            // The probe is owed if a straggler fails and none did before.
            let owed = (durable && !missed).then(|| self.ctx.clone());
            spawn(async move {
                let mut missed = false;
                while let Some((_, answer)) = pending.next().await {
                    missed |= failed(&answer);
                }
                if let Some(ctx) = owed.filter(|_| missed) {
                    ctx.probe(Probe::StoreQuorumWithoutReplica);
                }
            });
        }
        answers
    }

    /// Whether a quorum of `answers` took a write.
    fn durable(&self, answers: &Answers) -> bool {
        let took = answers
            .iter()
            .flatten()
            .filter(|a| a.as_ref().is_ok_and(took));
        took.count() >= self.quorum()
    }

    /// Put a blob. `Ok(Done)` once durable; `Ok(Error(_))` when it may be
    /// retried; `Err` when storage did not answer.
    pub async fn put(&mut self, name: &str, bytes: &[u8]) -> Result<StoreResponse, String> {
        let req = StoreRequest::Put {
            name: name.to_owned(),
            bytes: bytes.to_vec(),
            deadline: now() + self.limit(),
        };
        if !self.replicated() {
            return self.single(&req).await.map_err(|(_, e)| e);
        }
        Ok(self.write(req).await)
    }

    /// Delete blobs `names`, in order, in one request
    /// ([`StoreRequest::Delete`]): as [`Storage::put`]; `Err` when no
    /// replica answered.
    pub async fn delete(&mut self, names: Vec<String>) -> Result<StoreResponse, String> {
        let req = StoreRequest::Delete {
            names,
            deadline: now() + self.limit(),
        };
        if !self.replicated() {
            return self.single(&req).await.map_err(|(_, e)| e);
        }
        let quorum = self.quorum();
        let answers = self.gather(req, true, |a| count(a, took) >= quorum).await;
        if self.durable(&answers) {
            return Ok(StoreResponse::Done);
        }
        let why = self.no_quorum(&answers);
        match answers.iter().flatten().any(Result::is_ok) {
            true => Ok(StoreResponse::Error(why)),
            false => Err(format!("store: {why}")),
        }
    }

    /// A blob write to every replica: `Done` once a quorum took it, else
    /// `Error` naming each replica's failure.
    async fn write(&mut self, req: StoreRequest) -> StoreResponse {
        let quorum = self.quorum();
        let answers = self.gather(req, true, |a| count(a, took) >= quorum).await;
        match self.durable(&answers) {
            true => StoreResponse::Done,
            false => StoreResponse::Error(self.no_quorum(&answers)),
        }
    }

    fn no_quorum(&self, answers: &Answers) -> String {
        let failures: Vec<String> = answers
            .iter()
            .zip(&self.replicas)
            .filter_map(|(a, r)| match a {
                Some(Ok(a)) if took(a) => None,
                Some(Ok(other)) => Some(format!("{}: {other:?}", r.host)),
                Some(Err(e)) => Some(e.clone()),
                None => Some(format!("{}: no answer", r.host)),
            })
            .collect();
        format!(
            "{} of {} store replicas took it, {} needed ({})",
            count(answers, took),
            answers.len(),
            self.quorum(),
            failures.join("; ")
        )
    }

    /// Read a blob: `Blob(None)` when it does not exist (with replicas: a
    /// majority said so).
    pub async fn get(&mut self, name: &str) -> Result<StoreResponse, String> {
        let req = StoreRequest::Get {
            name: name.to_owned(),
        };
        if !self.replicated() {
            return self.single(&req).await.map_err(|(_, e)| e);
        }
        let majority = addr::majority(self.replicas.len());
        let found = |a: &StoreResponse| matches!(a, StoreResponse::Blob(Some(_)));
        let absent = |a: &StoreResponse| matches!(a, StoreResponse::Blob(None));
        let answers = self
            .gather(req, false, |a| {
                count(a, found) > 0 || count(a, absent) >= majority
            })
            .await;
        if count(&answers, absent) >= majority {
            return Ok(StoreResponse::Blob(None));
        }
        // Each replica checked its copy's crc32: the first copy is good.
        for answer in answers.iter().flatten() {
            if let Ok(StoreResponse::Blob(Some(bytes))) = answer {
                return Ok(StoreResponse::Blob(Some(bytes.clone())));
            }
        }
        Err(format!(
            "store: no replica has {name}, and only {} of {} said so ({})",
            count(&answers, absent),
            self.replicas.len(),
            self.no_quorum(&answers)
        ))
    }

    /// The names under `prefix` (with replicas: those any replica holds).
    pub async fn list(&mut self, prefix: &str) -> Result<StoreResponse, String> {
        let req = StoreRequest::List {
            prefix: prefix.to_owned(),
        };
        if !self.replicated() {
            return self.single(&req).await.map_err(|(_, e)| e);
        }
        let mut names = std::collections::BTreeSet::new();
        let mut answered = false;
        for answer in self
            .gather(req, false, |_| false)
            .await
            .into_iter()
            .flatten()
        {
            if let Ok(StoreResponse::Names(held)) = answer {
                names.extend(held);
                answered = true;
            }
        }
        match answered {
            true => Ok(StoreResponse::Names(names.into_iter().collect())),
            false => Err("store: no replica answered".into()),
        }
    }

    /// The register of completed checkpoints as a versioned blob (version 0:
    /// never written). With replicas, the newest copy a majority holds.
    /// `Err` names what failed, starting `corrupt` for bytes that do not
    /// decode.
    pub async fn read_register(&mut self) -> Result<Versioned, String> {
        if !self.replicated() {
            let name = REGISTER_BLOB;
            return match self.get(name).await? {
                StoreResponse::Blob(Some(bytes)) => {
                    wire::decode(&bytes).map_err(|e| format!("corrupt {name}: {e}"))
                }
                StoreResponse::Blob(None) => Ok(Versioned::default()),
                StoreResponse::Error(e) | StoreResponse::NotApplied(e) => {
                    Err(format!("store: {e}"))
                }
                other => Err(format!("store: {other:?}")),
            };
        }
        let newest = self.newest_register().await?;
        Ok(Versioned {
            version: newest.version,
            bytes: newest.bytes,
        })
    }

    /// The newest register copy among a majority of replicas, made durable
    /// at a majority before it is returned (written back where too few hold
    /// it: the second phase of an ABD read), so that no later majority read
    /// can return an older one. Without it, a copy that an unknown-outcome
    /// write left at a minority could be read once and missed by the next
    /// read, and the register would seem to go back.
    async fn newest_register(&mut self) -> Result<ReplicaRegister, String> {
        // Planted `stale-register-read`: the first copy to answer will do.
        let stale = self.ctx.bug(PlantedBug::StaleRegisterRead);
        let needed = if stale { 1 } else { self.quorum() };
        let copy = |a: &StoreResponse| matches!(a, StoreResponse::Register(_));
        let answers = self
            .gather(StoreRequest::ReadRegister, false, |a| {
                count(a, copy) >= needed
            })
            .await;
        let mut copies = Vec::new();
        let mut failures = Vec::new();
        for (answer, replica) in answers.into_iter().zip(&self.replicas) {
            match answer {
                Some(Ok(StoreResponse::Register(copy))) => copies.push(copy),
                Some(Ok(other)) => failures.push(format!("{}: {other:?}", replica.host)),
                Some(Err(e)) => failures.push(e),
                None => {}
            }
        }
        if copies.len() < needed {
            return Err(format!(
                "store: the register needs {needed} of {} replicas, {} answered ({})",
                self.replicas.len(),
                copies.len(),
                failures.join("; ")
            ));
        }
        let newest = (copies.iter())
            .max_by_key(|c| c.rank())
            .cloned()
            .unwrap_or_default();
        let holding = copies.iter().filter(|c| c.rank() == newest.rank()).count();
        if stale || holding >= needed {
            return Ok(newest);
        }
        // One writer per rank: a copy of the same rank is the same copy.
        let rank = newest.rank();
        let holds = move |a: &StoreResponse| match a {
            StoreResponse::Register(c) | StoreResponse::Refused(c) => c.rank() == rank,
            _ => false,
        };
        let req = StoreRequest::WriteRegister {
            entry: newest.clone(),
            deadline: now() + self.limit(),
        };
        let answers = self.gather(req, false, |a| count(a, holds) >= needed).await;
        if count(&answers, holds) >= needed {
            return Ok(newest);
        }
        Err(format!(
            "store: the newest register copy is held by {holding} of {} replicas, and writing it \
             back reached too few ({})",
            self.replicas.len(),
            self.no_quorum(&answers)
        ))
    }

    /// Replace the register with `bytes` at version `expected + 1` if it is
    /// at `expected`; `epoch` is the job attempt writing it (the register's
    /// own epoch), which orders the replicas' copies. With one store, the
    /// blobs `delete` go too once it has swapped, in the same request
    /// (best effort: the checkpoints the new register subsumes), which
    /// saves a round trip per completed checkpoint: the store's
    /// compare-and-set and its leader fence are one step, so a swap that
    /// lands is one the next fence adopts. With replicas `delete` is
    /// ignored ([`Storage::deletes_with_swap`]): a quorum's swap of a
    /// deposed leader can still be outranked by the new leader's fence, so
    /// only the caller, once it knows it still leads, may delete them.
    pub async fn swap(
        &mut self,
        expected: u64,
        epoch: u64,
        bytes: Vec<u8>,
        delete: Vec<String>,
    ) -> Swap {
        if !self.replicated() {
            let req = StoreRequest::CompareAndSet {
                name: REGISTER_BLOB.into(),
                expected,
                bytes,
                deadline: now() + self.limit(),
                leader: self.leader,
                delete,
            };
            return match self.single(&req).await {
                Ok(StoreResponse::Swapped { version }) => Swap::Swapped(version),
                Ok(StoreResponse::Fenced { leader }) => Swap::Fenced(leader),
                Ok(StoreResponse::Conflict(current)) => Swap::Conflict(current),
                Ok(StoreResponse::NotApplied(e)) => Swap::NotApplied(format!("store: {e}")),
                Ok(other) => Swap::Unknown(format!("store: {other:?}")),
                Err((true, e)) => Swap::NotApplied(e),
                Err((false, e)) => Swap::Unknown(e),
            };
        }
        let current = match self.newest_register().await {
            Ok(current) => current,
            Err(e) => return Swap::NotApplied(e),
        };
        if current.leader > self.leader {
            return Swap::Fenced(current.leader);
        }
        if current.version != expected {
            return Swap::Conflict(Versioned {
                version: current.version,
                bytes: current.bytes,
            });
        }
        let entry = ReplicaRegister {
            leader: self.leader,
            epoch,
            version: expected + 1,
            writer: self.writer,
            bytes: Some(bytes),
        };
        let req = StoreRequest::WriteRegister {
            entry,
            deadline: now() + self.limit(),
        };
        let quorum = self.quorum();
        let answers = self.gather(req, true, |a| count(a, took) >= quorum).await;
        if self.durable(&answers) {
            return Swap::Swapped(expected + 1);
        }
        let newer =
            |a: &StoreResponse| matches!(a, StoreResponse::Refused(c) if c.leader > self.leader);
        if let Some(Some(Ok(StoreResponse::Refused(copy)))) = answers
            .iter()
            .find(|a| matches!(a, Some(Ok(r)) if newer(r)))
        {
            return Swap::Fenced(copy.leader);
        }
        let why = self.no_quorum(&answers);
        // Nothing landed only if every replica answered without writing.
        let definite = |a: &Option<Result<StoreResponse, String>>| {
            matches!(
                a,
                Some(Ok(StoreResponse::Refused(_)
                    | StoreResponse::NotApplied(_)
                    | StoreResponse::Repairing))
            )
        };
        match answers.iter().all(definite) {
            true => Swap::NotApplied(format!("store: {why}")),
            false => Swap::Unknown(format!("store: {why}")),
        }
    }
}

/// Whether a replica's answer says it took a write.
fn took(answer: &StoreResponse) -> bool {
    matches!(answer, StoreResponse::Done | StoreResponse::Register(_))
}

/// How many of `answers` came and satisfy `what`.
fn count(answers: &Answers, what: impl Fn(&StoreResponse) -> bool) -> usize {
    let matching = answers
        .iter()
        .flatten()
        .filter(|a| a.as_ref().is_ok_and(&what));
    matching.count()
}

/// One request to one replica, connecting first if needed. `Err((unsent,
/// why))`: no answer, and with `unsent` the request never left (the
/// connection could not be opened). A failed call drops the connection.
async fn call(
    replica: &Replica,
    req: &StoreRequest,
    limit: Duration,
) -> Result<StoreResponse, (bool, String)> {
    let kept = replica.client.borrow_mut().take();
    let connect = || async {
        RpcClient::connect(&replica.host, addr::STORE_PORT, limit)
            .await
            .map_err(|e| (true, e.to_string()))
    };
    let was_kept = kept.is_some();
    let mut client = match kept {
        Some(client) => client,
        None => connect().await?,
    };
    let mut answer = client.call(req).await;
    // A kept connection the store closed or reset (it restarted since)
    // fails at once; an idempotent request goes again on a new one, as a
    // pooled HTTP client retries on a stale connection. A timeout is no
    // sign of a stale connection, and a request that may have landed is
    // not sent twice.
    if was_kept && req.idempotent() && matches!(answer, Err(WireError::Closed | WireError::Io(_))) {
        client = connect().await?;
        answer = client.call(req).await;
    }
    if answer.is_ok() {
        // Keep it unless another request opened one meanwhile.
        replica.client.borrow_mut().get_or_insert(client);
    }
    answer.map_err(|e| (false, e.to_string()))
}
