//! `ha`: the coordination host of a topology with more than one
//! jobmanager, in the role ZooKeeper's leader latch or a Kubernetes `Lease`
//! plays for Flink's high-availability services (docs/high-availability.md).
//!
//! It keeps one lease ([`LeaseTable`]): granted to one jobmanager at a time
//! for `timing.lease_ttl` on `ha`'s own clock, renewed by its holder (a
//! renewal names the epoch it holds), and granted anew, with a higher
//! leader epoch, once it runs out. The newest epoch, with its holder, is
//! written durably before a grant is answered, so a restarted `ha` never
//! grants an epoch twice, and grants nothing until a lease from before its
//! restart could have run out ([`LeaseTable::recovered`]).
//!
//! Losing `ha`'s disk loses the epochs: a new grant could repeat one a
//! deposed leader holds, and fencing by epoch would no longer tell them
//! apart. A restarted `ha` without its incarnation marker (written when it was
//! first set up, before it served anyone: [`HostContext::provisioned`]) knows this,
//! grants nothing, and answers [`HaResponse::Lost`]: the jobmanagers fail
//! the job, saying so (a loud failure, never a second leader).

use super::{server, HostContext, HostResult};
use crate::event::Event;
use crate::io::disk::Disk;
use crate::io::{addr, now, sleep};
use crate::lease::{Grant, LeaseTable};
use crate::probe::Probe;
use crate::proto::{HaRequest, HaResponse};
use crate::wire::{self, RpcClient};
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

/// The newest leader epoch granted, and to whom.
const EPOCH: &str = "/ha/epoch";
/// Reads of [`EPOCH`] that may fail their check at a start, a heartbeat
/// interval apart, before `ha` calls the epoch lost rather than the read
/// corrupted on the way.
const MAX_CORRUPT_READS: u32 = 20;
/// Written at `ha`'s first start: its absence at a later start means the
/// disk was lost.
const INCARNATION: &str = "/ha/incarnation";

struct Ha {
    ctx: HostContext,
    disk: Disk,
    table: LeaseTable,
    /// Who was granted the newest epoch.
    holder: Option<String>,
    /// Why no lease can be granted safely any more.
    lost: Option<String>,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    // A disk fault at start fails the read; try again rather than guess,
    // but an epoch that keeps failing its check is corrupt at rest.
    // Each read that fails its check is traced, and a later one that
    // verifies is the `corrupt-read-retried` probe, as for the jobmanager's
    // reads of checkpoint storage.
    let mut corrupt = 0;
    let ha = loop {
        match Ha::recover(&ctx, corrupt >= MAX_CORRUPT_READS) {
            Ok(ha) => {
                if corrupt > 0 && ha.lost.is_none() {
                    ctx.probe(Probe::CorruptReadRetried);
                }
                break ha;
            }
            Err(e) => {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    corrupt += 1;
                    ctx.emit(Event::CorruptRead { name: EPOCH.into() });
                }
                sleep(ctx.config.timing.heartbeat_interval).await
            }
        }
    };
    server::serve(addr::HA_PORT, Rc::new(RefCell::new(ha)), Ha::handle).await
}

/// One request to `ha`, on a fresh connection, given up after `limit` to
/// connect and `limit` to answer: how jobmanagers campaign and renew, and
/// how taskmanagers find the leader.
pub async fn ask(req: HaRequest, limit: Duration) -> Result<HaResponse, String> {
    let mut ha = RpcClient::connect(addr::HA, addr::HA_PORT, limit)
        .await
        .map_err(|e| format!("ha: {e}"))?;
    ha.call(&req).await.map_err(|e| format!("ha: {e}"))
}

impl Ha {
    /// `ha` as its disk says; an `InvalidData` error if the epoch fails its
    /// check, unless `give_up`: then the epochs are lost.
    fn recover(ctx: &HostContext, give_up: bool) -> std::io::Result<Ha> {
        let disk = ctx.disk.clone();
        let mut ha = Ha {
            ctx: ctx.clone(),
            disk: disk.clone(),
            table: LeaseTable::default(),
            holder: None,
            lost: None,
        };
        if disk.read(Path::new(INCARNATION))?.is_none() {
            if !ctx.provisioned() {
                // Set up with the cluster; it serves only once this holds.
                disk.write_atomic(Path::new(INCARNATION), b"1")?;
                ctx.set_provisioned();
            } else {
                ha.lost = Some(
                    "the ha host restarted without its disk: the leader epochs it granted are \
                     lost, so a new leader could not be fenced from an old one"
                        .into(),
                );
            }
            return Ok(ha);
        }
        let (epoch, holder) = match disk.read(Path::new(EPOCH))? {
            None => (0, None),
            Some(raw) => match wire::decode::<(u64, String)>(&raw) {
                Ok((epoch, holder)) => (epoch, Some(holder)),
                Err(e) if give_up => {
                    ctx.emit(Event::CorruptRead { name: EPOCH.into() });
                    ha.lost = Some(format!(
                        "the ha host's leader epoch failed its check on {} reads in a row: {e}",
                        MAX_CORRUPT_READS + 1
                    ));
                    return Ok(ha);
                }
                Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            },
        };
        ha.holder = holder;
        ha.table = LeaseTable::recovered(epoch, now(), ctx.config.timing.lease_ttl);
        Ok(ha)
    }

    fn handle(&mut self, req: HaRequest) -> HaResponse {
        if let Some(lost) = &self.lost {
            return HaResponse::Lost(lost.clone());
        }
        match req {
            HaRequest::Leader => HaResponse::Leader {
                candidate: self.table.leader(now()).map(|h| h.candidate.clone()),
                epoch: self.table.epoch,
            },
            HaRequest::Acquire { candidate } => self.acquire(candidate, None),
            HaRequest::Renew { candidate, epoch } => self.acquire(candidate, Some(epoch)),
        }
    }

    /// A campaign (`renewing` is `None`) is granted only a free lease; a
    /// renewal only the lease its caller holds with that epoch.
    fn acquire(&mut self, candidate: String, renewing: Option<u64>) -> HaResponse {
        let t = now();
        let held = self.table.holder.clone().filter(|h| h.expires > t);
        let refused = match (&held, renewing) {
            (Some(_), None) | (None, Some(_)) => true,
            (Some(h), Some(epoch)) => h.candidate != candidate || h.epoch != epoch,
            (None, None) => false,
        };
        if refused {
            return HaResponse::Held {
                candidate: held.as_ref().map_or(String::new(), |h| h.candidate.clone()),
                epoch: self.table.epoch,
            };
        }
        let before = self.table.clone();
        let ttl = self.ctx.config.timing.lease_ttl;
        match self.table.acquire(&candidate, t, ttl) {
            Grant::Held { holder } => HaResponse::Held {
                candidate: holder.candidate,
                epoch: holder.epoch,
            },
            Grant::Granted { epoch, .. } if epoch == before.epoch => HaResponse::Granted {
                epoch,
                previous: None,
            },
            Grant::Granted { epoch, .. } => {
                // A new epoch is durable before anyone hears of it.
                let record = wire::encode(&(epoch, candidate.clone()));
                if self.disk.write_atomic(Path::new(EPOCH), &record).is_err() {
                    self.table = before;
                    return HaResponse::Held {
                        candidate: String::new(),
                        epoch: self.table.epoch,
                    };
                }
                self.ctx.emit(Event::LeaseGranted {
                    candidate: candidate.clone(),
                    leader: epoch,
                });
                let previous = self.holder.replace(candidate);
                HaResponse::Granted { epoch, previous }
            }
        }
    }
}
