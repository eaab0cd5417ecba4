//! A subtask's output side (Flink's `RecordWriter` over a
//! `ResultPartition`): one data channel to every subtask of the next
//! vertex, records routed by key group, frames numbered per channel.

use super::{TaskEnv, TaskError, TaskResult};
use crate::event::TaskId;
use crate::io::{addr, timeout, OwnedWriteHalf, TcpStream};
use crate::job::Plan;
use crate::proto::{DataFrame, EncodedFrame, EncodedPayload, Payload};
use crate::record::batch::{Builder, RawRecord};
use crate::record::Record;
use crate::wire;
use std::time::Duration;

/// One output channel: the connection to a subtask of the next vertex and
/// its next sequence number.
struct Channel {
    channel: u32,
    epoch: u64,
    stream: OwnedWriteHalf,
    seq: u64,
    /// Whether a frame went out since the last [`Outputs::keepalive_idle`].
    sent: bool,
}

/// The channels of one subtask to every subtask of the vertex after its own.
pub struct Outputs {
    channels: Vec<Channel>,
    max_parallelism: u32,
    /// How long a send may block before the channel counts as broken.
    limit: Duration,
    /// The next frame's records per channel, encoded as they are routed;
    /// the buffers are reused from frame to frame.
    per_channel: Vec<Builder>,
}

impl Outputs {
    /// Connect to every subtask of the vertex after `env.task`'s at once
    /// (polled together in this task, so a cancelled subtask leaves none
    /// behind). One after another, the first channel would stay silent past
    /// its keepalive timeout while the last ones connect: with parallelism
    /// 256, that took longer than 500 ms.
    ///
    /// # Panics
    /// If `env.task`'s vertex is the last one (it has no outputs).
    pub async fn connect(env: &TaskEnv, plan: &Plan) -> Result<Outputs, TaskError> {
        let limit = env.ctx.config.timing.rpc_timeout;
        let epoch = env.epoch;
        let downstream = plan
            .downstream(env.task.vertex)
            .expect("only a vertex with one after it has outputs");
        let connects = (0..downstream.parallelism).map(|to| {
            let target = TaskId {
                vertex: downstream.name,
                subtask: to,
            };
            let host = addr::taskmanager(plan.placement(target));
            let channel = plan.channel(env.task, to);
            connect(host, target, channel, epoch, limit)
        });
        let channels = futures_util::future::try_join_all(connects).await?;
        Ok(Outputs {
            per_channel: (0..channels.len()).map(|_| Builder::default()).collect(),
            channels,
            max_parallelism: plan.max_parallelism,
            limit,
        })
    }

    /// Route `records` by key group and send one frame per channel: its
    /// records, or (if `keepalive_empty`) a keepalive where it has none, so
    /// the receiver can tell a quiet channel from a dead one. Without
    /// `keepalive_empty` channels without records get nothing (see
    /// [`Outputs::keepalive_idle`]). With `progress = Some((watermark,
    /// end_of_input))` every channel gets a `Payload::Progress` frame with
    /// its records (maybe none) instead. `records` is left empty, its
    /// buffer kept for the caller's next frame.
    pub async fn emit(
        &mut self,
        records: &mut Vec<Record>,
        keepalive_empty: bool,
        progress: Option<(u64, bool)>,
    ) -> TaskResult {
        let parallelism = self.channels.len() as u32;
        for record in records.iter() {
            let to = crate::keygroup::route(&record.key, parallelism, self.max_parallelism);
            self.per_channel[to as usize].push(record);
        }
        records.clear();
        self.send_batches(keepalive_empty, progress).await
    }

    /// [`Outputs::emit`] of records given as their encodings (a fetch's
    /// batch, [`crate::record::batch::split`]): each is routed by its key
    /// and copied into its channel's frame as it is, without being decoded
    /// and encoded again. The frames are byte for byte `emit`'s.
    pub async fn emit_raw(
        &mut self,
        records: &[RawRecord<'_>],
        keepalive_empty: bool,
        progress: Option<(u64, bool)>,
    ) -> TaskResult {
        let parallelism = self.channels.len() as u32;
        for record in records {
            let to = crate::keygroup::route(record.key, parallelism, self.max_parallelism);
            self.per_channel[to as usize].push_raw(record);
        }
        self.send_batches(keepalive_empty, progress).await
    }

    /// Send each channel's routed records: a `Progress` frame on every
    /// channel when `progress` says so, else a `Records` frame where there
    /// are records and (if `keepalive_empty`) a keepalive where there are
    /// none.
    async fn send_batches(
        &mut self,
        keepalive_empty: bool,
        progress: Option<(u64, bool)>,
    ) -> TaskResult {
        for (out, batch) in self.channels.iter_mut().zip(&mut self.per_channel) {
            if progress.is_none() && batch.is_empty() {
                if keepalive_empty {
                    send(out, Payload::Keepalive, self.limit).await?;
                }
                continue;
            }
            let (channel, epoch, seq) = (out.channel, out.epoch, out.seq);
            let frame = batch.take(|records| {
                let payload = match progress {
                    Some((watermark, end_of_input)) => EncodedPayload::Progress {
                        records,
                        watermark,
                        end_of_input,
                    },
                    None => EncodedPayload::Records(records),
                };
                wire::encode(&EncodedFrame {
                    channel,
                    epoch,
                    seq,
                    payload,
                })
            });
            send_frame(out, &frame, self.limit).await?;
        }
        Ok(())
    }

    /// Send `payload` (a barrier) on every channel, in channel order.
    pub async fn broadcast(&mut self, payload: Payload) -> TaskResult {
        for channel in &mut self.channels {
            send(channel, payload.clone(), self.limit).await?;
        }
        Ok(())
    }

    /// Send a keepalive on every channel that sent nothing since the last
    /// call, so that a downstream subtask can tell a quiet upstream from a
    /// dead one.
    pub async fn keepalive_idle(&mut self) -> TaskResult {
        for channel in &mut self.channels {
            if !channel.sent {
                send(channel, Payload::Keepalive, self.limit).await?;
            }
            channel.sent = false;
        }
        Ok(())
    }
}

async fn connect(
    host: String,
    target: TaskId,
    channel: u32,
    epoch: u64,
    limit: Duration,
) -> Result<Channel, TaskError> {
    let connect = TcpStream::connect((host.as_str(), addr::DATA_PORT));
    let stream = timeout(limit, connect)
        .await
        .map_err(|_| format!("connect to {target} on {host} timed out"))?
        .map_err(|e| format!("connect to {target} on {host}: {e}"))?;
    let (_, stream) = stream.into_split();
    let mut out = Channel {
        channel,
        epoch,
        stream,
        seq: 0,
        sent: false,
    };
    send(&mut out, Payload::Hello, limit).await?;
    Ok(out)
}

async fn send(out: &mut Channel, payload: Payload, limit: Duration) -> TaskResult {
    let frame = DataFrame {
        channel: out.channel,
        epoch: out.epoch,
        seq: out.seq,
        payload,
    };
    send_frame(out, &wire::encode(&frame), limit).await
}

/// Write `frame` (a [`DataFrame`] with `out`'s next sequence number,
/// encoded by [`wire::encode`]) on `out`.
async fn send_frame(out: &mut Channel, frame: &[u8], limit: Duration) -> TaskResult {
    out.seq += 1;
    out.sent = true;
    match timeout(limit, wire::send_encoded(&mut out.stream, frame)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(TaskError::Failed(format!("channel {}: {e}", out.channel))),
        Err(_) => Err(TaskError::Failed(format!(
            "channel {}: send blocked for {limit:?}",
            out.channel
        ))),
    }
}
