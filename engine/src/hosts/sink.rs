//! The `sink` host: a transactional output store (like Kafka transactions).
//! Pre-committed transactions are durable but invisible; commit makes them
//! visible, idempotently. Requests from a job attempt older than the newest
//! one seen are fenced off, so a zombie task cannot write or commit.
//!
//! Disk layout: `/sink/epoch` (the fence), `/sink/pending/<txn>`,
//! `/sink/committed/<commit seq>-<txn>`, and `/sink/timed-out/<txn>` for
//! transactions aborted after `sink.transaction_timeout` (kept, invisible,
//! so a later commit of one is answered `TimedOut` and the harness can
//! account for output a job chose to lose). Every file is a checksummed
//! frame (`wire::encode`), so a corrupt read is an error, never wrong data.

use super::{server, HostContext, HostResult};
use crate::config::PlantedBug;
use crate::event::Event;
use crate::io::disk::{self, Disk};
use crate::io::{addr, now, sleep, spawn};
use crate::probe::Probe;
use crate::proto::SinkResponse;
use crate::record::{batch, Record, TxnId};
use crate::text;
use crate::wire;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

const FENCE: &str = "/sink/epoch";
const PENDING: &str = "/sink/pending";
const COMMITTED: &str = "/sink/committed";
const TIMED_OUT: &str = "/sink/timed-out";

/// A [`crate::proto::SinkRequest`] as the sink decodes it: the same
/// fields and variants in the same order (so the same postcard bytes), but
/// a pre-commit's records stay in their encoded form ([`batch::Encoded`]):
/// the sink only stores them, and decoding each into a [`Record`] to encode
/// it again cost two allocations a record.
#[derive(Debug, serde::Deserialize)]
struct Request {
    epoch: u64,
    op: Op,
}

/// [`crate::proto::SinkOp`], variant for variant.
#[derive(Debug, serde::Deserialize)]
enum Op {
    PreCommit {
        txn: TxnId,
        records: batch::Encoded,
    },
    Commit {
        txn: TxnId,
    },
    AbortStale {
        subtask: u32,
        from_scratch: bool,
        also: Vec<u32>,
        and_from: Option<u32>,
    },
    NewestCommitted,
}

/// A transaction file: `wire::encode(&(txn, records))` with the records
/// a `Vec<Record>`, put together from the pre-commit's batch, which is
/// already the postcard encoding of that `Vec` (`record::batch`).
fn txn_file(txn: TxnId, records: &batch::Encoded) -> Vec<u8> {
    let encode = "in-memory postcard encoding of a transaction id cannot fail";
    let mut frame = postcard::to_extend(&txn, vec![0u8; wire::HEADER]).expect(encode);
    frame.extend_from_slice(&records.bytes);
    wire::seal(frame)
}

struct Sink {
    ctx: HostContext,
    disk: Disk,
    fence: u64,
    pending: BTreeSet<TxnId>,
    committed: BTreeSet<TxnId>,
    next_seq: u64,
    /// When each pending transaction was pre-committed (or found on the
    /// disk at this host's start), in simulated time since the run began:
    /// what `sink.transaction_timeout` counts from.
    opened: BTreeMap<TxnId, std::time::Duration>,
    /// Transactions aborted after their timeout, with their record counts.
    timed_out: BTreeMap<TxnId, u64>,
    /// Timed-out transactions whose pending copy could not be removed (a
    /// disk error): removed at the next expiry, or by the sink's recovery.
    leftovers: BTreeSet<TxnId>,
}

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    // Recovery reads every file; a disk fault makes it fail, and it tries
    // again rather than serving from a partial view.
    let sink = loop {
        match Sink::recover(ctx.clone()) {
            Ok(sink) => break sink,
            Err(_) => sleep(ctx.config.timing.heartbeat_interval).await,
        }
    };
    let timeout = sink.ctx.config.sink.transaction_timeout;
    let sink = Rc::new(RefCell::new(sink));
    if let Some(timeout) = timeout {
        spawn(expire_transactions(sink.clone(), timeout));
    }
    server::serve(addr::SINK_PORT, sink, Sink::handle).await
}

/// Abort each pending transaction when it has been open for `timeout`:
/// sleep until the earliest deadline (or for `timeout` when nothing is
/// open, since nothing pre-committed later can be due sooner), then
/// expire. A deadline that passed without its abort (the disk failed)
/// is tried again a heartbeat interval later.
async fn expire_transactions(sink: Rc<RefCell<Sink>>, timeout: std::time::Duration) {
    let retry = sink.borrow().ctx.config.timing.heartbeat_interval;
    loop {
        let wait = match sink.borrow().next_deadline(timeout) {
            Some(deadline) if deadline > now() => deadline - now(),
            Some(_) => retry,
            None => timeout,
        };
        sleep(wait).await;
        sink.borrow_mut().expire(timeout);
    }
}

/// Every committed transaction on this host's disk, in commit order. The
/// harness calls this with the sink's filesystem entered, after the run.
pub fn read_committed() -> io::Result<Vec<(TxnId, Vec<Record>)>> {
    read_all(Path::new(COMMITTED))
}

/// Every transaction still pre-committed on this host's disk
/// (`/sink/pending/<txn>`), in file-name order: durable but invisible
/// output that was neither committed nor aborted (yet). A transaction whose
/// pending copy outlived its commit (the removal failed or a crash came
/// between the two) is listed here and in [`read_committed`]; the sink's
/// recovery counts it as committed. Like [`read_committed`], the harness
/// calls this with the sink's filesystem entered, after the run. Errors: a
/// file that cannot be read or fails its checksum.
pub fn read_pending() -> io::Result<Vec<(TxnId, Vec<Record>)>> {
    read_all(Path::new(PENDING))
}

/// Every transaction the sink aborted after `sink.transaction_timeout`
/// (`/sink/timed-out/<txn>`), in file-name order, with the records it held.
/// Like [`read_committed`], for the harness after the run. Errors: a file
/// that cannot be read or fails its checksum.
pub fn read_timed_out() -> io::Result<Vec<(TxnId, Vec<Record>)>> {
    read_all(Path::new(TIMED_OUT))
}

/// Every transaction file in `dir`, in file-name order.
fn read_all(dir: &Path) -> io::Result<Vec<(TxnId, Vec<Record>)>> {
    let names = disk::list(dir)?;
    let read = |name: &String| decode(&dir.join(name), disk::read(&dir.join(name))?);
    names.iter().map(read).collect()
}

/// A transaction file's id and records: its frame checked, the id read by
/// postcard and the records by `record::batch` (the same bytes as a
/// postcard `Vec<Record>`, read without serde).
fn decode(path: &Path, bytes: Option<Vec<u8>>) -> io::Result<(TxnId, Vec<Record>)> {
    let bytes =
        bytes.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.display().to_string()))?;
    let invalid = |e: &dyn std::fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    };
    let body = wire::body(&bytes).map_err(|e| invalid(&e))?;
    let (txn, records) = postcard::take_from_bytes::<TxnId>(body).map_err(|e| invalid(&e))?;
    Ok((txn, batch::decode(records).map_err(|e| invalid(&e))?))
}

/// A transaction file's id and record count, its checksum verified, without
/// decoding its records: a file is `wire::encode(&(txn, records))`, and
/// postcard writes a `Vec`'s length as the varint a `u64` is written as,
/// then the elements (which this leaves unread).
fn decode_header(path: &Path, bytes: Option<&[u8]>) -> io::Result<(TxnId, u64)> {
    let bytes =
        bytes.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, path.display().to_string()))?;
    wire::decode(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

impl Sink {
    fn recover(ctx: HostContext) -> io::Result<Sink> {
        let disk = ctx.disk.clone();
        let fence = match disk.read(Path::new(FENCE))? {
            Some(bytes) => wire::decode(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{FENCE}: {e}")))?,
            None => 0,
        };
        let committed = Sink::txns(&disk, COMMITTED)?;
        // One file per commit (a planted non-idempotent commit writes two).
        let next_seq = disk.list(Path::new(COMMITTED))?.len() as u64;
        let mut pending = Sink::txns(&disk, PENDING)?;
        let mut timed_out = BTreeMap::new();
        for name in disk.list(Path::new(TIMED_OUT))? {
            let path = Path::new(TIMED_OUT).join(name);
            let (txn, records) = decode_header(&path, disk.read(&path)?.as_deref())?;
            timed_out.insert(txn, records);
        }
        // A crash (or a failed removal) between writing the committed or
        // timed-out copy and removing the pending one leaves both: the
        // transaction is committed, or timed out.
        let resolved = |t: &&TxnId| committed.contains(t) || timed_out.contains_key(t);
        for txn in pending.iter().filter(resolved).copied().collect::<Vec<_>>() {
            disk.remove(&pending_path(txn))?;
            pending.remove(&txn);
        }
        let started = now();
        let opened = pending.iter().map(|txn| (*txn, started)).collect();
        Ok(Sink {
            ctx,
            disk,
            fence,
            pending,
            committed,
            next_seq,
            opened,
            timed_out,
            leftovers: BTreeSet::new(),
        })
    }

    /// When the first pending transaction's `timeout` runs out.
    fn next_deadline(&self, timeout: std::time::Duration) -> Option<std::time::Duration> {
        self.opened.values().min().map(|opened| *opened + timeout)
    }

    /// Abort every pending transaction open for `timeout` or longer: its
    /// file moves to `/sink/timed-out/`, written there before it leaves
    /// `pending/`. A transaction whose move fails (a disk error) stays
    /// pending and is tried again at the next expiry; one whose pending
    /// copy alone could not be removed has timed out, and the copy is
    /// removed later ([`Sink::leftovers`], or the sink's recovery).
    fn expire(&mut self, timeout: std::time::Duration) {
        for txn in std::mem::take(&mut self.leftovers) {
            if self.disk.remove(&pending_path(txn)).is_err() {
                self.leftovers.insert(txn);
            }
        }
        let due: Vec<TxnId> = self
            .opened
            .iter()
            .filter(|(_, opened)| **opened + timeout <= now())
            .map(|(txn, _)| *txn)
            .collect();
        for txn in due {
            // A failure leaves this one pending; the others still expire.
            let _ = self.expire_one(txn);
        }
    }

    fn expire_one(&mut self, txn: TxnId) -> io::Result<()> {
        let path = pending_path(txn);
        let bytes = self.disk.read(&path)?;
        let (_, records) = decode_header(&path, bytes.as_deref())?;
        let bytes = bytes.expect("decode_header refuses a missing file");
        self.disk.write_atomic(&timed_out_path(txn), &bytes)?;
        self.pending.remove(&txn);
        self.opened.remove(&txn);
        self.timed_out.insert(txn, records);
        // Left behind, the pending copy is removed at the next expiry, or
        // by the sink's recovery (found both pending and timed out, a
        // transaction timed out).
        if self.disk.remove(&path).is_err() {
            self.leftovers.insert(txn);
        }
        self.ctx.probe(Probe::TxnTimedOut);
        self.ctx.emit(Event::TxnTimedOut { txn, records });
        Ok(())
    }

    fn txns(disk: &Disk, dir: &str) -> io::Result<BTreeSet<TxnId>> {
        let mut ids = BTreeSet::new();
        for name in disk.list(Path::new(dir))? {
            let path = Path::new(dir).join(name);
            ids.insert(decode(&path, disk.read(&path)?)?.0);
        }
        Ok(ids)
    }

    fn handle(&mut self, req: Request) -> SinkResponse {
        // A request after a deadline sees the transaction expired, whether
        // or not the expiry task has run yet in this step.
        if let Some(timeout) = self.ctx.config.sink.transaction_timeout {
            self.expire(timeout);
        }
        // Planted: no fence, an older attempt's request goes through.
        if req.epoch < self.fence && !self.ctx.bug(PlantedBug::NoEpochFence) {
            self.ctx.probe(Probe::WriteFenced);
            if carries_data(&req.op) {
                self.ctx.probe(Probe::ZombieDataFenced);
            }
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
            Op::PreCommit { txn, records } => self.pre_commit(txn, records),
            Op::Commit { txn } => self.commit(txn),
            Op::AbortStale {
                subtask,
                from_scratch,
                also,
                and_from,
            } => {
                let committed = self.committed.iter().find(|t| t.subtask == subtask);
                match committed {
                    Some(txn) if from_scratch => Ok(SinkResponse::CommittedBefore { txn: *txn }),
                    _ => {
                        let others = |s: u32| also.contains(&s) || and_from.is_some_and(|f| s >= f);
                        let stale = self.pending.iter().filter(|t| t.epoch < req.epoch);
                        if stale
                            .clone()
                            .any(|t| t.subtask != subtask && others(t.subtask))
                        {
                            self.ctx.probe(Probe::RemovedSubtaskTxnsAborted);
                        }
                        self.abort_stale(|s| s == subtask || others(s), req.epoch)
                    }
                }
            }
            Op::NewestCommitted => Ok(SinkResponse::NewestCommitted(self.newest_committed())),
        });
        result.unwrap_or_else(|e| SinkResponse::Error(e.to_string()))
    }

    /// Per subtask, its committed transaction of the highest checkpoint.
    fn newest_committed(&self) -> Vec<TxnId> {
        let mut newest: BTreeMap<u32, TxnId> = BTreeMap::new();
        for txn in &self.committed {
            let entry = newest.entry(txn.subtask).or_insert(*txn);
            if txn.checkpoint > entry.checkpoint {
                *entry = *txn;
            }
        }
        newest.into_values().collect()
    }

    fn raise_fence(&mut self, epoch: u64) -> io::Result<()> {
        if epoch > self.fence {
            self.disk
                .write_atomic(Path::new(FENCE), &wire::encode(&epoch))?;
            self.fence = epoch;
        }
        Ok(())
    }

    fn pre_commit(&mut self, txn: TxnId, records: batch::Encoded) -> io::Result<SinkResponse> {
        if self.committed.contains(&txn) {
            return Ok(SinkResponse::AlreadyCommitted);
        }
        if let Some(&records) = self.timed_out.get(&txn) {
            return Ok(SinkResponse::TimedOut { records });
        }
        let count = records.count;
        self.disk
            .write_atomic(&pending_path(txn), &txn_file(txn, &records))?;
        self.pending.insert(txn);
        self.opened.entry(txn).or_insert_with(now);
        self.ctx.emit(Event::TxnPreCommitted {
            txn,
            records: count,
        });
        Ok(SinkResponse::Done)
    }

    fn commit(&mut self, txn: TxnId) -> io::Result<SinkResponse> {
        if self.committed.contains(&txn) && self.ctx.bug(PlantedBug::CommitNotIdempotent) {
            return self.commit_again(txn);
        }
        if self.committed.contains(&txn) {
            return Ok(SinkResponse::AlreadyCommitted);
        }
        if let Some(&records) = self.timed_out.get(&txn) {
            return Ok(SinkResponse::TimedOut { records });
        }
        if !self.pending.contains(&txn) {
            return Ok(SinkResponse::UnknownTxn);
        }
        // Read it back before it becomes visible: a corrupt pre-commit must
        // fail the commit, not publish garbage. The committed copy is
        // written atomically before the pending one goes: a rename across
        // directories is durable on one side only (turmoil syncs one entry
        // per directory sync), so it could lose committed output on a crash.
        // The committed copy is the pending file as it is: the checksum is
        // verified and only the header decoded, not every record.
        let path = pending_path(txn);
        let bytes = self.disk.read(&path)?;
        let (_, records) = decode_header(&path, bytes.as_deref())?;
        let bytes = bytes.expect("decode_header refuses a missing file");
        let seq = self.next_seq;
        self.disk.write_atomic(&committed_path(seq, txn), &bytes)?;
        // The durable committed copy is the commit point: record it before
        // anything else can fail, or a retry would commit a second copy.
        self.pending.remove(&txn);
        self.opened.remove(&txn);
        self.next_seq += 1;
        self.committed.insert(txn);
        // A pending copy that cannot be removed now is removed on recovery
        // (a transaction found both pending and committed is committed).
        let _ = self.disk.remove(&pending_path(txn));
        self.ctx.emit(Event::TxnCommitted { txn, records });
        Ok(SinkResponse::Done)
    }

    /// Planted: a re-commit publishes the committed records once more.
    fn commit_again(&mut self, txn: TxnId) -> io::Result<SinkResponse> {
        let suffix = format!("-{txn}");
        let names = self.disk.list(Path::new(COMMITTED))?;
        let Some(name) = names.iter().find(|n| n.ends_with(&suffix)) else {
            return Ok(SinkResponse::UnknownTxn);
        };
        let path = Path::new(COMMITTED).join(name);
        let (_, records) = decode(&path, self.disk.read(&path)?)?;
        let seq = self.next_seq;
        self.disk
            .write_atomic(&committed_path(seq, txn), &wire::encode(&(txn, &records)))?;
        self.next_seq += 1;
        self.ctx.emit(Event::TxnCommitted {
            txn,
            records: records.len() as u64,
        });
        Ok(SinkResponse::Done)
    }

    /// Abort every pending transaction of an attempt older than `epoch`
    /// whose subtask id `subtask` accepts.
    fn abort_stale(
        &mut self,
        subtask: impl Fn(u32) -> bool,
        epoch: u64,
    ) -> io::Result<SinkResponse> {
        let stale: Vec<TxnId> = self
            .pending
            .iter()
            .filter(|t| subtask(t.subtask) && t.epoch < epoch)
            .copied()
            .collect();
        if !stale.is_empty() {
            self.ctx.probe(Probe::StaleTxnsAborted);
        }
        for txn in stale {
            self.disk.remove(&pending_path(txn))?;
            self.pending.remove(&txn);
            self.opened.remove(&txn);
            self.ctx.emit(Event::TxnAborted { txn });
        }
        Ok(SinkResponse::Done)
    }
}

fn op_txn(op: &Op) -> Option<TxnId> {
    match op {
        Op::PreCommit { txn, .. } | Op::Commit { txn } => Some(*txn),
        Op::AbortStale { .. } | Op::NewestCommitted => None,
    }
}

/// Whether a request writes output: a pre-commit holding records, or a
/// commit (what a zombie must never get through).
fn carries_data(op: &Op) -> bool {
    match op {
        Op::PreCommit { records, .. } => records.count > 0,
        Op::Commit { .. } => true,
        Op::AbortStale { .. } | Op::NewestCommitted => false,
    }
}

fn pending_path(txn: TxnId) -> PathBuf {
    in_dir(PENDING, |name| name.push_str(txn.text().as_str()))
}

fn timed_out_path(txn: TxnId) -> PathBuf {
    in_dir(TIMED_OUT, |name| name.push_str(txn.text().as_str()))
}

fn committed_path(seq: u64, txn: TxnId) -> PathBuf {
    // The file name `format!("{seq:010}-{txn}")` writes.
    in_dir(COMMITTED, |name| {
        text::push_padded(name, seq, 10);
        name.push('-');
        name.push_str(txn.text().as_str());
    })
}

/// `dir/` followed by the name `file` appends: what `Path::join` makes
/// of a relative one-component name, built in one buffer.
fn in_dir(dir: &str, file: impl FnOnce(&mut String)) -> PathBuf {
    let mut path = String::with_capacity(dir.len() + 64);
    path.push_str(dir);
    path.push('/');
    file(&mut path);
    PathBuf::from(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_files_header_is_its_id_and_record_count() {
        let txn = TxnId {
            subtask: 1,
            epoch: 2,
            checkpoint: 3,
        };
        let path = Path::new("/sink/pending/x");
        for n in [0usize, 1, 127, 128, 300] {
            let input = crate::record::InputRecord {
                key: 7,
                partition: 1,
                offset: 9,
            };
            let records = vec![input.to_record(); n];
            let file = wire::encode(&(txn, &records));
            assert_eq!(decode_header(path, Some(&file)).unwrap(), (txn, n as u64));
            assert_eq!(decode(path, Some(file.clone())).unwrap(), (txn, records));
            let mut corrupt = file;
            *corrupt.last_mut().unwrap() ^= 1;
            assert!(decode_header(path, Some(&corrupt)).is_err(), "checksum");
        }
        assert!(decode_header(path, None).is_err());
    }

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                key: crate::record::encode(&(i as u32 * 1000)).unwrap(),
                value: vec![i as u8; i % 3].into(),
                timestamp: i as u64,
                origin: (i % 2 == 0).then_some((1, i as u64)),
            })
            .collect()
    }

    #[test]
    fn every_request_decodes_as_the_sink_request_it_was_sent_as() {
        use crate::proto::{SinkOp, SinkRequest};
        let txn = TxnId {
            subtask: 3,
            epoch: 4,
            checkpoint: 5,
        };
        for n in [0, 1, 127, 128, 300] {
            let records = records(n);
            let sent = SinkRequest {
                epoch: u64::MAX,
                op: SinkOp::PreCommit {
                    txn,
                    records: records.clone(),
                },
            };
            let req: Request = wire::decode(&wire::encode(&sent)).unwrap();
            assert_eq!(req.epoch, u64::MAX);
            let Op::PreCommit {
                txn: got,
                records: encoded,
            } = req.op
            else {
                panic!("a pre-commit decodes as one: {:?}", req.op);
            };
            assert_eq!((got, encoded.count), (txn, n as u64));
            // The file is what encoding the decoded records would write.
            let file = txn_file(txn, &encoded);
            assert_eq!(file, wire::encode(&(txn, &records)));
            let path = Path::new("/sink/pending/x");
            assert_eq!(decode(path, Some(file)).unwrap(), (txn, records));
        }
        let commit = SinkRequest {
            epoch: 0,
            op: SinkOp::Commit { txn },
        };
        let req: Request = wire::decode(&wire::encode(&commit)).unwrap();
        assert!(matches!(req.op, Op::Commit { txn: t } if t == txn));
        let abort = SinkRequest {
            epoch: 7,
            op: SinkOp::AbortStale {
                subtask: u32::MAX,
                from_scratch: true,
                also: vec![3, 5],
                and_from: Some(9),
            },
        };
        let req: Request = wire::decode(&wire::encode(&abort)).unwrap();
        assert!(matches!(
            req.op,
            Op::AbortStale {
                subtask: u32::MAX,
                from_scratch: true,
                ref also,
                and_from: Some(9),
            } if also == &[3, 5]
        ));
    }

    #[test]
    fn a_pre_commit_with_a_malformed_record_is_refused() {
        use crate::proto::{SinkOp, SinkRequest};
        let txn = TxnId {
            subtask: 0,
            epoch: 1,
            checkpoint: 2,
        };
        let sent = SinkRequest {
            epoch: 1,
            op: SinkOp::PreCommit {
                txn,
                records: records(3),
            },
        };
        let body = postcard::to_stdvec(&sent).unwrap();
        // Cut inside the last record; or claim one record more than there are.
        let cut = &body[..body.len() - 1];
        assert!(postcard::from_bytes::<Request>(cut).is_err());
        let mut more = body.clone();
        let count_at = body.len() - wire::encode(&records(3)).len() + wire::HEADER;
        assert_eq!(more[count_at], 3, "the sequence's length");
        more[count_at] = 4;
        assert!(postcard::from_bytes::<Request>(&more).is_err());
    }
}
