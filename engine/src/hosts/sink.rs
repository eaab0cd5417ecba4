//! The `sink` host: a transactional output store (like Kafka transactions).
//! Pre-committed transactions are durable but invisible; commit makes them
//! visible, idempotently. Requests from a job attempt older than the newest
//! one seen are fenced off, so a zombie task cannot write or commit.
//!
//! Disk layout: `/sink/epoch` (the fence), `/sink/pending/<txn>`,
//! `/sink/committed/<commit seq>-<txn>`; each file is postcard
//! `(TxnId, Vec<OutputRecord>)`.

use super::{server, HostContext, HostResult};
use crate::event::Event;
use crate::io::{addr, disk};
use crate::proto::{SinkOp, SinkRequest, SinkResponse};
use crate::record::{OutputRecord, TxnId};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

const FENCE: &str = "/sink/epoch";
const PENDING: &str = "/sink/pending";
const COMMITTED: &str = "/sink/committed";

struct Sink {
    ctx: HostContext,
    fence: u64,
    pending: BTreeMap<TxnId, u64>,
    committed: BTreeMap<TxnId, u64>,
    next_seq: u64,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    let sink = Sink::recover(ctx)?;
    server::serve(addr::SINK_PORT, Rc::new(RefCell::new(sink)), Sink::handle).await
}

/// Every committed transaction on this host's disk, in commit order. The
/// harness calls this with the sink's filesystem entered, after the run.
pub fn read_committed() -> io::Result<Vec<(TxnId, Vec<OutputRecord>)>> {
    let dir = Path::new(COMMITTED);
    disk::list(dir)?
        .iter()
        .map(|name| read_txn(&dir.join(name)))
        .collect()
}

fn read_txn(path: &Path) -> io::Result<(TxnId, Vec<OutputRecord>)> {
    let bytes = disk::read(path)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.display().to_string()))?;
    postcard::from_bytes(&bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

fn txn_ids(dir: &str) -> io::Result<BTreeMap<TxnId, u64>> {
    let mut ids = BTreeMap::new();
    for (i, name) in disk::list(Path::new(dir))?.iter().enumerate() {
        let (txn, _) = read_txn(&Path::new(dir).join(name))?;
        ids.insert(txn, i as u64);
    }
    Ok(ids)
}

impl Sink {
    fn recover(ctx: HostContext) -> io::Result<Sink> {
        let fence =
            match disk::read(Path::new(FENCE))? {
                Some(b) => u64::from_le_bytes(b.try_into().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "corrupt fence file")
                })?),
                None => 0,
            };
        let committed = txn_ids(COMMITTED)?;
        let next_seq = committed.len() as u64;
        Ok(Sink {
            ctx,
            fence,
            pending: txn_ids(PENDING)?,
            committed,
            next_seq,
        })
    }

    fn handle(&mut self, req: SinkRequest) -> SinkResponse {
        if req.epoch < self.fence {
            if let Some(txn) = op_txn(&req.op) {
                self.ctx.emit(Event::Fenced {
                    txn,
                    current_epoch: self.fence,
                });
            }
            return SinkResponse::Fenced {
                current_epoch: self.fence,
            };
        }
        let result = self.raise_fence(req.epoch).and_then(|()| match req.op {
            SinkOp::PreCommit { txn, records } => self.pre_commit(txn, records),
            SinkOp::Commit { txn } => self.commit(txn),
            SinkOp::AbortStale { subtask } => self.abort_stale(subtask, req.epoch),
        });
        result.unwrap_or_else(|e| SinkResponse::Error(e.to_string()))
    }

    fn raise_fence(&mut self, epoch: u64) -> io::Result<()> {
        if epoch > self.fence {
            disk::write_atomic(Path::new(FENCE), &epoch.to_le_bytes())?;
            self.fence = epoch;
        }
        Ok(())
    }

    fn pre_commit(&mut self, txn: TxnId, records: Vec<OutputRecord>) -> io::Result<SinkResponse> {
        if self.committed.contains_key(&txn) {
            return Ok(SinkResponse::AlreadyCommitted);
        }
        let count = records.len() as u64;
        let bytes = postcard::to_stdvec(&(txn, records)).map_err(io::Error::other)?;
        disk::write_atomic(&pending_path(txn), &bytes)?;
        self.pending.insert(txn, 0);
        self.ctx.emit(Event::TxnPreCommitted {
            txn,
            records: count,
        });
        Ok(SinkResponse::Done)
    }

    fn commit(&mut self, txn: TxnId) -> io::Result<SinkResponse> {
        if self.committed.contains_key(&txn) {
            return Ok(SinkResponse::AlreadyCommitted);
        }
        if self.pending.remove(&txn).is_none() {
            return Ok(SinkResponse::UnknownTxn);
        }
        let seq = self.next_seq;
        let (_, records) = read_txn(&pending_path(txn))?;
        disk::rename(&pending_path(txn), &committed_path(seq, txn))?;
        self.next_seq += 1;
        self.committed.insert(txn, seq);
        self.ctx.emit(Event::TxnCommitted {
            txn,
            records: records.len() as u64,
        });
        Ok(SinkResponse::Done)
    }

    fn abort_stale(&mut self, subtask: u32, epoch: u64) -> io::Result<SinkResponse> {
        let stale: Vec<TxnId> = self
            .pending
            .keys()
            .filter(|t| t.subtask == subtask && t.epoch < epoch)
            .copied()
            .collect();
        for txn in stale {
            disk::remove(&pending_path(txn))?;
            self.pending.remove(&txn);
            self.ctx.emit(Event::TxnAborted { txn });
        }
        Ok(SinkResponse::Done)
    }
}

fn op_txn(op: &SinkOp) -> Option<TxnId> {
    match op {
        SinkOp::PreCommit { txn, .. } | SinkOp::Commit { txn } => Some(*txn),
        SinkOp::AbortStale { .. } => None,
    }
}

fn pending_path(txn: TxnId) -> PathBuf {
    PathBuf::from(PENDING).join(txn.to_string())
}

fn committed_path(seq: u64, txn: TxnId) -> PathBuf {
    PathBuf::from(COMMITTED).join(format!("{seq:010}-{txn}"))
}
