//! `ha`: the coordination host of a topology with more than one
//! jobmanager, in the role ZooKeeper's leader latch or a Kubernetes `Lease`
//! plays for Flink's high-availability services (docs/high-availability.md).
//!
//! It keeps one lease ([`LeaseTable`]): granted to one jobmanager at a time
//! for `timing.lease_ttl` on `ha`'s own clock, renewed by its holder, and
//! granted anew, with a higher leader epoch, once it runs out. The newest
//! epoch is written durably before a grant is answered, so a restarted
//! `ha` never grants an epoch twice, and grants nothing until a lease from
//! before its restart could have run out ([`LeaseTable::recovered`]).
//!
//! Losing `ha`'s disk loses the epochs: a new grant could repeat one a
//! deposed leader holds, and fencing by epoch would no longer tell them
//! apart. A restarted `ha` without its incarnation marker knows this,
//! grants nothing, and answers [`HaResponse::Lost`]: the jobmanagers fail
//! the job, saying so (a loud failure, never a second leader).

use super::{server, HostContext, HostResult};
use crate::event::Event;
use crate::io::disk::Disk;
use crate::io::{addr, now, sleep};
use crate::lease::{Grant, LeaseTable};
use crate::proto::{HaRequest, HaResponse};
use crate::wire;
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

/// The newest leader epoch granted.
const EPOCH: &str = "/ha/epoch";
/// Written at `ha`'s first start: its absence at a later start means the
/// disk was lost.
const INCARNATION: &str = "/ha/incarnation";

struct Ha {
    ctx: HostContext,
    disk: Disk,
    table: LeaseTable,
    /// Why no lease can be granted safely any more.
    lost: Option<String>,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    // A disk fault at start fails the read; try again rather than guess.
    let ha = loop {
        match Ha::recover(&ctx) {
            Ok(ha) => break ha,
            Err(_) => sleep(ctx.config.timing.heartbeat_interval).await,
        }
    };
    server::serve(addr::HA_PORT, Rc::new(RefCell::new(ha)), Ha::handle).await
}

impl Ha {
    fn recover(ctx: &HostContext) -> std::io::Result<Ha> {
        let disk = ctx.disk.clone();
        let mut ha = Ha {
            ctx: ctx.clone(),
            disk: disk.clone(),
            table: LeaseTable::default(),
            lost: None,
        };
        if disk.read(Path::new(INCARNATION))?.is_none() {
            if ctx.starts() <= 1 {
                disk.write_atomic(Path::new(INCARNATION), b"1")?;
            } else {
                ha.lost = Some(
                    "the ha host restarted without its disk: the leader epochs it granted are \
                     lost, so a new leader could not be fenced from an old one"
                        .into(),
                );
            }
            return Ok(ha);
        }
        let epoch = match disk.read(Path::new(EPOCH))? {
            None => 0,
            Some(raw) => match wire::decode::<u64>(&raw) {
                Ok(epoch) => epoch,
                Err(e) => {
                    ha.lost = Some(format!("the ha host's leader epoch is corrupt: {e}"));
                    return Ok(ha);
                }
            },
        };
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
            HaRequest::Acquire { candidate } => self.acquire(candidate),
        }
    }

    fn acquire(&mut self, candidate: String) -> HaResponse {
        let before = self.table.clone();
        let ttl = self.ctx.config.timing.lease_ttl;
        match self.table.acquire(&candidate, now(), ttl) {
            Grant::Held { holder } => HaResponse::Held {
                candidate: holder.candidate,
                epoch: holder.epoch,
            },
            Grant::Granted { epoch, .. } if epoch == before.epoch => HaResponse::Granted { epoch },
            Grant::Granted { epoch, .. } => {
                // A new epoch is durable before anyone hears of it.
                let written = self
                    .disk
                    .write_atomic(Path::new(EPOCH), &wire::encode(&epoch));
                if written.is_err() {
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
                HaResponse::Granted { epoch }
            }
        }
    }
}
