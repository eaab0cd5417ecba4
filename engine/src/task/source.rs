//! `source[p]`: reads log partition p in batches at the configured rate,
//! routes each record to its count subtask, and on a trigger records its
//! offset, emits the barrier on every output, stores its state and acks.

use super::{Inbound, TaskEnv, TaskError, TaskResult};
use crate::config::PlantedBug;
use crate::event::TaskId;
use crate::io::{addr, mpsc, now, sleep, timeout, OwnedWriteHalf, TcpStream};
use crate::job::Plan;
use crate::proto::{DataFrame, FetchRequest, FetchResponse, Payload};
use crate::record::{InputRecord, Record};
use crate::wire::{self, RpcClient};
use crate::workload;
use std::time::Duration;

/// One output channel: the connection to a count subtask and its next sequence number.
struct Output {
    channel: u32,
    epoch: u64,
    stream: OwnedWriteHalf,
    seq: u64,
}

pub async fn run(env: TaskEnv, mut inbox: mpsc::UnboundedReceiver<Inbound>) -> TaskResult {
    loop {
        match inbox.recv().await {
            Some(Inbound::Start) => break,
            Some(_) => continue,
            None => return Ok(()),
        }
    }
    let config = env.ctx.config.clone();
    let plan = Plan::new(&config);
    let limit = config.timing.rpc_timeout;
    let partition = env.task.subtask;
    let mut log = RpcClient::connect(addr::LOG, addr::LOG_PORT, limit)
        .await
        .map_err(|e| format!("log: {e}"))?;
    let mut outputs = connect_outputs(&env, &plan).await?;
    let mut offset = restored_offset(&env).await?;
    let mut end = u64::MAX;
    let period = workload::batch_period(&config.workload);
    let mut next_batch = now();
    loop {
        let wait = next_batch.saturating_sub(now());
        tokio::select! {
            biased;
            msg = inbox.recv() => match msg {
                Some(Inbound::Trigger(checkpoint)) => {
                    let recorded = if env.ctx.bug(PlantedBug::OffsetAfterBarrier) {
                        // Planted: the offset after the next batch, read past the barrier.
                        offset.saturating_add(u64::from(config.workload.batch)).min(end)
                    } else {
                        offset
                    };
                    snapshot(&env, &mut outputs, checkpoint, recorded).await?;
                }
                Some(_) => {}
                None => return Ok(()),
            },
            _ = sleep(wait) => {
                next_batch = next_slot(next_batch, period, now());
                let batch = if offset < end {
                    let req = FetchRequest { partition, from: offset, max: config.workload.batch };
                    let resp: FetchResponse = log.call(&req).await.map_err(|e| format!("log: {e}"))?;
                    end = resp.end;
                    offset += resp.records.len() as u64;
                    resp.records
                } else {
                    Vec::new()
                };
                emit(&plan, &mut outputs, batch, limit).await?;
            }
        }
    }
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

/// Connect to every count subtask at once (polled together in this task,
/// so a cancelled source leaves none behind). One after another, the first
/// channel would stay silent past its keepalive timeout while the last
/// ones connect: with parallelism 256, that took longer than 500 ms.
async fn connect_outputs(env: &TaskEnv, plan: &Plan) -> Result<Vec<Output>, TaskError> {
    let limit = env.ctx.config.timing.rpc_timeout;
    let epoch = env.epoch;
    let downstream = plan
        .downstream(env.task.vertex)
        .expect("a source feeds the next vertex");
    let connects = (0..downstream.parallelism).map(|to| {
        let target = TaskId {
            vertex: downstream.name,
            subtask: to,
        };
        let host = addr::taskmanager(plan.placement(target));
        let channel = plan.channel(env.task, to);
        connect_output(host, target, channel, epoch, limit)
    });
    futures_util::future::try_join_all(connects).await
}

async fn connect_output(
    host: String,
    target: TaskId,
    channel: u32,
    epoch: u64,
    limit: Duration,
) -> Result<Output, TaskError> {
    let connect = TcpStream::connect((host.as_str(), addr::DATA_PORT));
    let stream = timeout(limit, connect)
        .await
        .map_err(|_| format!("connect to {target} on {host} timed out"))?
        .map_err(|e| format!("connect to {target} on {host}: {e}"))?;
    let (_, stream) = stream.into_split();
    let mut out = Output {
        channel,
        epoch,
        stream,
        seq: 0,
    };
    send(&mut out, Payload::Hello, limit).await?;
    Ok(out)
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
    outputs: &mut [Output],
    checkpoint: u64,
    offset: u64,
) -> TaskResult {
    let limit = env.ctx.config.timing.rpc_timeout;
    for out in outputs.iter_mut() {
        send(out, Payload::Barrier(checkpoint), limit).await?;
    }
    let bytes = postcard::to_stdvec(&offset).expect("in-memory postcard encoding cannot fail");
    env.store_snapshot(checkpoint, bytes, None, Some(offset))
        .await;
    Ok(())
}

/// Turn a batch of log records into engine records (key the encoded key,
/// origin their partition and offset), route them by key group and send
/// one frame per channel: records, or a keepalive so the receiver can tell
/// a quiet channel from a dead one.
async fn emit(
    plan: &Plan,
    outputs: &mut [Output],
    batch: Vec<InputRecord>,
    limit: Duration,
) -> TaskResult {
    let mut per_channel: Vec<Vec<Record>> = vec![Vec::new(); outputs.len()];
    let parallelism = outputs.len() as u32;
    for input in batch {
        let record = input.to_record();
        per_channel[plan.route(&record.key, parallelism) as usize].push(record);
    }
    for (out, records) in outputs.iter_mut().zip(per_channel) {
        let payload = if records.is_empty() {
            Payload::Keepalive
        } else {
            Payload::Records(records)
        };
        send(out, payload, limit).await?;
    }
    Ok(())
}

async fn send(out: &mut Output, payload: Payload, limit: Duration) -> TaskResult {
    let frame = DataFrame {
        channel: out.channel,
        epoch: out.epoch,
        seq: out.seq,
        payload,
    };
    out.seq += 1;
    match timeout(limit, wire::send(&mut out.stream, &frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(TaskError::Failed(format!("channel {}: {e}", out.channel))),
        Err(_) => Err(TaskError::Failed(format!(
            "channel {}: send blocked for {limit:?}",
            out.channel
        ))),
    }
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
