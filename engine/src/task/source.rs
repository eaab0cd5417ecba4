//! A source subtask (`source[p]` in keyed-count): reads log partition p in
//! batches at the configured rate, runs its vertex's chained operators,
//! routes each record by key group to the next vertex's subtasks, and on a
//! trigger records its offset, emits the barrier on every output, stores
//! its state and acks.
//!
//! Event time: after a batch the source sends the job's watermark for the
//! offset it reached ([`crate::graph::Job::watermarks`], a pure function of
//! partition and offset, so a restored source recomputes it), when it
//! rose. The batch that reaches the end of the partition goes with the
//! `MAX` watermark and end of input, in the same frame, so no barrier comes
//! between them; a checkpoint whose offset is the partition's end was then
//! taken after end of input, and the source acknowledges it as finished.
//!
//! A stop-with-savepoint with drain ends the input where the source stands:
//! before the savepoint's barrier it sends the `MAX` watermark and end of
//! input (firing every window and timer downstream), then acknowledges the
//! savepoint as finished. A source restored from a drained savepoint
//! ([`crate::proto::CheckpointMeta::drained`]) ends its input at once at
//! the restored offset.

use super::output::Outputs;
use super::{Inbound, TaskEnv, TaskError, TaskResult};
use crate::config::PlantedBug;
use crate::io::{addr, mpsc, now, sleep};
use crate::job::Plan;
use crate::operator::{chain, job_code};
use crate::proto::{FetchRequest, FetchedBatch, Payload};
use crate::record::batch;
use crate::wire::RpcClient;
use crate::workload;
use std::time::Duration;

pub async fn run(env: TaskEnv, mut inbox: mpsc::UnboundedReceiver<Inbound>) -> TaskResult {
    loop {
        match inbox.recv().await {
            Some(Inbound::Start) => break,
            Some(_) => continue,
            None => return Ok(()),
        }
    }
    let config = env.ctx.config.clone();
    let plan = Plan::new(&env.ctx.job.graph, &config);
    let vertex = (env.ctx.job.graph)
        .vertex(env.task.vertex)
        .expect("a deployed task is a vertex of the job's graph");
    let mut chain = vertex.build_chain();
    let mut scratch = Vec::new();
    let limit = config.timing.rpc_timeout;
    let partition = env.task.subtask;
    let mut log = RpcClient::connect(addr::LOG, addr::LOG_PORT, limit)
        .await
        .map_err(|e| format!("log: {e}"))?;
    let mut outputs = Outputs::connect(&env, &plan).await?;
    let mut offset = restored_offset(&env).await?;
    env.running();
    // The end of the input: the partition's (learnt from the log), or
    // where a drain ended it.
    let drained = env.restore.as_ref().is_some_and(|m| m.drained);
    let mut end = if drained { offset } else { u64::MAX };
    let watermarks = env.ctx.job.watermarks.clone();
    // The watermark last sent, and whether end of input was (this attempt).
    let (mut watermark, mut ended) = (0, false);
    // Whether a stop-with-savepoint's barrier went out: no more reading.
    let mut stopped = false;
    // A restored source sends the watermark of its offset before anything
    // else, so a barrier never overtakes it: at a checkpoint, every keyed
    // task's watermark is the cut's (a pure function of its offsets).
    if let Some(first) = watermarks
        .as_ref()
        .map(|w| job_code::run(|| w(partition, offset)))
    {
        if first > 0 {
            outputs
                .emit(&mut Vec::new(), true, Some((first, false)))
                .await?;
            watermark = first;
        }
    }
    let period = workload::batch_period(&config.workload);
    let mut next_batch = now();
    loop {
        let wait = next_batch.saturating_sub(now());
        tokio::select! {
            biased;
            msg = inbox.recv() => match msg {
                Some(Inbound::Trigger { checkpoint, stop, drain }) => {
                    if drain && !ended {
                        // The input ends here, before the barrier: the MAX
                        // watermark fires every window and timer.
                        (ended, end) = (true, offset);
                        let progress = if env.ctx.bug(PlantedBug::DrainWithoutMaxWatermark) {
                            // Planted: end of input with the watermark the
                            // source stood at, not MAX.
                            (watermark, true)
                        } else {
                            (u64::MAX, true)
                        };
                        watermark = progress.0;
                        outputs.emit(&mut Vec::new(), true, Some(progress)).await?;
                    }
                    let recorded = if env.ctx.bug(PlantedBug::OffsetAfterBarrier) {
                        // Planted: the offset after the next batch, read past the barrier.
                        offset.saturating_add(u64::from(config.workload.batch)).min(end)
                    } else {
                        offset
                    };
                    snapshot(&env, &mut outputs, checkpoint, recorded, ended).await?;
                    // A stop-with-savepoint: nothing after its barrier; the
                    // job ends once it completed and the sink committed, or
                    // fails over if it did not complete.
                    stopped |= stop;
                }
                Some(_) => {}
                None => return Ok(()),
            },
            _ = sleep(wait), if !stopped => {
                next_batch = next_slot(next_batch, period, now());
                let fetched = if offset < end {
                    let req = FetchRequest { partition, from: offset, max: config.workload.batch };
                    let resp: FetchedBatch = log.call(&req).await.map_err(|e| format!("log: {e}"))?;
                    end = resp.end;
                    Some(resp.records.0)
                } else {
                    None
                };
                let from = offset;
                // The records as the log sent them, when they go on as they
                // are: no chained operator, and each already carrying the
                // origin the source gives it (its partition and offset), as
                // keyed-count's log does. Else decoded, stamped and chained.
                let raw = fetched.as_deref().filter(|_| chain.is_empty()).and_then(batch::split);
                let raw = raw.filter(|records| {
                    (records.iter().zip(from..)).all(|(r, o)| r.origin == Some((partition, o)))
                });
                let out = match raw {
                    Some(records) => {
                        offset += records.len() as u64;
                        Batch::Raw(records)
                    }
                    None => {
                        let mut batch = match &fetched {
                            Some(bytes) => batch::decode(bytes).map_err(|e| format!("log: {e}"))?,
                            None => Vec::new(),
                        };
                        for record in &mut batch {
                            record.origin = Some((partition, offset));
                            offset += 1;
                        }
                        Batch::Records(chain::run(&mut chain, batch, &mut scratch)?)
                    }
                };
                // End of input goes with the batch that reached it, so no
                // barrier comes between the two.
                let progress = if !ended && offset == end {
                    ended = true;
                    Some((u64::MAX, true))
                } else {
                    let next = watermarks.as_ref().filter(|_| !ended).map(|w| job_code::run(|| w(partition, offset)));
                    next.filter(|w| *w > watermark).map(|w| (w, false))
                };
                if let Some((w, _)) = progress {
                    watermark = w;
                }
                match out {
                    Batch::Raw(records) => outputs.emit_raw(&records, true, progress).await?,
                    Batch::Records(mut records) => outputs.emit(&mut records, true, progress).await?,
                }
            }
        }
    }
}

/// A fetched batch on its way out: its records as the log encoded them, or
/// decoded (and run through the chained operators).
enum Batch<'a> {
    Raw(Vec<batch::RawRecord<'a>>),
    Records(Vec<crate::record::Record>),
}

/// When the batch after the one due at `due` is due, `now` being when that
/// one started: one `period` later, on a fixed grid, so that a batch started
/// late (its timer fired at the simulation's next tick, or the source was
/// busy taking a snapshot) does not push every later batch back and the
/// source reads at `rate` on average, not slower. A source that fell a
/// whole period behind (a fetch slower than the period, a stalled link to
/// the log) starts the next batch at once and drops the rest of its
/// backlog instead of bursting to catch up: it never reads faster than
/// `rate`, and at most one batch per fetch round trip (Tokio's
/// `MissedTickBehavior::Skip`).
fn next_slot(due: Duration, period: Duration, now: Duration) -> Duration {
    due.saturating_add(period).max(now)
}

async fn restored_offset(env: &TaskEnv) -> Result<u64, TaskError> {
    let Some((_, bytes)) = env.restored_state().await? else {
        return Ok(0);
    };
    let restored: u64 =
        postcard::from_bytes(&bytes).map_err(|e| format!("undecodable source state: {e}"))?;
    if env.ctx.config.planted_bug == Some(PlantedBug::SourceNoRewind) && env.epoch > 1 {
        // Planted: keep reading past the checkpoint, as if the reader had
        // remembered its position from before the failure (records between
        // the checkpoint and the crash are never read again: loss).
        return Ok(restored + u64::from(env.ctx.config.workload.batch) * 4);
    }
    Ok(restored)
}

async fn snapshot(
    env: &TaskEnv,
    outputs: &mut Outputs,
    checkpoint: u64,
    offset: u64,
    finished: bool,
) -> TaskResult {
    outputs.broadcast(Payload::Barrier(checkpoint)).await?;
    let bytes = postcard::to_stdvec(&offset).expect("in-memory postcard encoding cannot fail");
    env.store_snapshot(checkpoint, bytes, None, Some(offset), finished)
        .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::next_slot;
    use std::time::Duration;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_batch_started_late_keeps_the_next_on_schedule() {
        // Due at 100 ms, every 50 ms: on time, or a tick or a snapshot late.
        assert_eq!(next_slot(ms(100), ms(50), ms(100)), ms(150));
        assert_eq!(next_slot(ms(100), ms(50), ms(102)), ms(150));
        assert_eq!(next_slot(ms(100), ms(50), ms(149)), ms(150));
    }

    #[test]
    fn a_source_a_period_behind_starts_at_once_and_does_not_burst() {
        assert_eq!(next_slot(ms(100), ms(50), ms(150)), ms(150));
        assert_eq!(next_slot(ms(100), ms(50), ms(900)), ms(900));
        // From there, one period at a time again.
        assert_eq!(next_slot(ms(900), ms(50), ms(900)), ms(950));
    }

    #[test]
    fn a_schedule_at_the_end_of_time_saturates() {
        assert_eq!(
            next_slot(Duration::MAX, ms(50), ms(1)),
            Duration::MAX,
            "no overflow"
        );
    }
}
