//! A job's operators run in one process with no network, no hosts and no
//! checkpoints: the floor that `flinch bench`'s simulation-overhead ratio
//! divides by (BENCHMARKS.md).
//!
//! It keeps the engine's work per record and leaves out only what the
//! simulation adds: each source reads its partition in batches of
//! `workload.batch` records, as a `FetchResponse` frame from the log; every
//! subtask routes its output by key group ([`crate::keygroup::route`]) into
//! one [`DataFrame`] per channel, encoded and decoded as a frame
//! ([`crate::wire`]); each keyed subtask runs its operator and chain
//! ([`crate::graph::VertexDef`]); the last vertex's subtasks hand their
//! output to the sink as one `PreCommit` frame each, at the end (the job's
//! only checkpoint). Watermarks flow as in the engine: a source's after
//! each batch, a subtask's the least of its inputs', `MAX` at end of input.

use crate::graph::Job;
use crate::keygroup;
use crate::operator::chain::{self, ChainedOperator};
use crate::operator::{KeyedOperator, OperatorError};
use crate::proto::{DataFrame, FetchResponse, Payload, SinkOp, SinkRequest};
use crate::record::{Record, TxnId};
use crate::wire;

/// What [`run_in_process`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProcess {
    /// The records the sink received, by sink subtask in subtask order,
    /// each subtask's in the order it emitted them.
    pub output: Vec<Record>,
    /// Frames encoded and decoded (fetch responses, data frames, sink
    /// requests).
    pub frames: u64,
    /// Their bytes, headers included.
    pub bytes: u64,
}

/// Why [`run_in_process`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum InProcessError {
    /// An operator failed (an undecodable record, an unencodable output).
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// A frame did not decode: a bug of the framing, since nothing else
    /// touches it.
    #[error("a frame did not decode: {0}")]
    Frame(#[from] wire::WireError),
    /// The graph has a keyed vertex without its operator, or no keyed
    /// vertex: [`crate::graph::JobGraph`]'s builder makes neither.
    #[error("the job graph has no keyed vertex after its source, or one without an operator")]
    Graph,
    /// `batch` or `parallelism` is 0, or `parallelism` exceeds
    /// `max_parallelism`.
    #[error("batch {batch}, parallelism {parallelism} and max parallelism {max_parallelism}: each must be at least 1, and parallelism at most max parallelism")]
    Bounds {
        batch: u32,
        parallelism: u32,
        max_parallelism: u32,
    },
}

/// One keyed subtask: its operator, its chain, and the watermark of each
/// of its input channels (the upstream subtasks, in order).
struct Subtask {
    keyed: Box<dyn KeyedOperator>,
    chain: Vec<Box<dyn ChainedOperator>>,
    inputs: Vec<u64>,
    watermark: u64,
    /// Last vertex only: the output it will pre-commit.
    sunk: Vec<Record>,
}

/// Run `job` in this process: every partition of its input through its
/// graph, with `parallelism` subtasks per keyed vertex and
/// `max_parallelism` key groups, sources reading `batch` records at a
/// time, round-robin over the partitions (one batch of each in turn).
///
/// The output holds every record the job emits, exactly once: what a
/// fault-free run commits, in another order. Errors: an operator's error,
/// or bounds that [`crate::config::JobConfig`]'s checks refuse.
pub fn run_in_process(
    job: &Job,
    parallelism: u32,
    max_parallelism: u32,
    batch: u32,
) -> Result<InProcess, InProcessError> {
    if batch == 0 || parallelism == 0 || parallelism > max_parallelism {
        return Err(InProcessError::Bounds {
            batch,
            parallelism,
            max_parallelism,
        });
    }
    let vertices = job.graph.vertices();
    let Some((source, keyed)) = vertices.split_first().filter(|(_, k)| !k.is_empty()) else {
        return Err(InProcessError::Graph);
    };
    let partitions = job.input.len();
    let mut stages = Vec::with_capacity(keyed.len());
    for (i, vertex) in keyed.iter().enumerate() {
        let make = vertex.keyed.as_ref().ok_or(InProcessError::Graph)?;
        let upstream = if i == 0 {
            partitions
        } else {
            parallelism as usize
        };
        let subtasks: Vec<Subtask> = (0..parallelism)
            .map(|_| Subtask {
                keyed: make(max_parallelism),
                chain: vertex.build_chain(),
                inputs: vec![0; upstream],
                watermark: 0,
                sunk: Vec::new(),
            })
            .collect();
        stages.push(subtasks);
    }
    let mut run = Runner {
        stages,
        parallelism,
        max_parallelism,
        event_time: job.watermarks.is_some(),
        frames: 0,
        bytes: 0,
        scratch: Vec::new(),
    };
    let mut chains: Vec<_> = (0..partitions).map(|_| source.build_chain()).collect();
    let longest = job.input.iter().map(Vec::len).max().unwrap_or(0);
    let batch = batch as usize;
    for start in (0..longest).step_by(batch) {
        for (p, log) in job.input.iter().enumerate() {
            if start >= log.len() {
                continue;
            }
            let end = (start + batch).min(log.len());
            let partition = u32::try_from(p).expect("partitions are bounded at load");
            let read: Vec<Record> = (start..end)
                .map(|offset| Record {
                    origin: Some((partition, offset as u64)),
                    ..log[offset].clone()
                })
                .collect();
            let fetched: FetchResponse = run.round_trip(&FetchResponse {
                records: read,
                end: log.len() as u64,
            })?;
            let out = chain::run(&mut chains[p], fetched.records, &mut run.scratch)?;
            let watermark = match (&job.watermarks, end == log.len()) {
                (_, true) => Some(u64::MAX),
                (Some(w), false) => Some(w(partition, end as u64)),
                (None, false) => None,
            };
            run.forward(0, p, out, watermark)?;
        }
    }
    if longest == 0 {
        for p in 0..partitions {
            run.forward(0, p, Vec::new(), Some(u64::MAX))?;
        }
    }
    // The only checkpoint: each sink subtask pre-commits what it holds.
    let mut output = Vec::new();
    let last = run.stages.len() - 1;
    for subtask in 0..parallelism {
        let records = std::mem::take(&mut run.stages[last][subtask as usize].sunk);
        let txn = TxnId {
            subtask,
            epoch: 0,
            checkpoint: 1,
        };
        let request: SinkRequest = run.round_trip(&SinkRequest {
            epoch: 0,
            op: SinkOp::PreCommit { txn, records },
        })?;
        if let SinkOp::PreCommit { records, .. } = request.op {
            output.extend(records);
        }
    }
    Ok(InProcess {
        output,
        frames: run.frames,
        bytes: run.bytes,
    })
}

struct Runner {
    stages: Vec<Vec<Subtask>>,
    parallelism: u32,
    max_parallelism: u32,
    event_time: bool,
    frames: u64,
    bytes: u64,
    scratch: Vec<Record>,
}

impl Runner {
    /// `message` framed, then read back from its frame.
    fn round_trip<T>(&mut self, message: &T) -> Result<T, wire::WireError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let frame = wire::encode(message);
        self.frames += 1;
        self.bytes += frame.len() as u64;
        wire::decode(&frame)
    }

    /// Route `records` of upstream subtask `from` into stage `stage` (one
    /// frame per channel, a channel without records only when a watermark
    /// goes with it), run each receiving subtask, and pass its output on.
    fn forward(
        &mut self,
        stage: usize,
        from: usize,
        records: Vec<Record>,
        watermark: Option<u64>,
    ) -> Result<(), InProcessError> {
        let parallelism = self.parallelism;
        let mut routed: Vec<Vec<Record>> = vec![Vec::new(); parallelism as usize];
        for record in records {
            let to = keygroup::route(&record.key, parallelism, self.max_parallelism);
            routed[to as usize].push(record);
        }
        for (to, records) in routed.into_iter().enumerate() {
            if records.is_empty() && watermark.is_none() {
                continue;
            }
            let payload = match watermark {
                Some(watermark) => Payload::Progress {
                    records,
                    watermark,
                    end_of_input: watermark == u64::MAX,
                },
                None => Payload::Records(records),
            };
            let channel = u32::try_from(from * parallelism as usize + to).unwrap_or(u32::MAX);
            let frame: DataFrame = self.round_trip(&DataFrame {
                channel,
                epoch: 0,
                seq: 0,
                payload,
            })?;
            let (records, watermark) = match frame.payload {
                Payload::Records(records) => (records, None),
                Payload::Progress {
                    records, watermark, ..
                } => (records, Some(watermark)),
                _ => (Vec::new(), None),
            };
            self.process(stage, to, from, records, watermark)?;
        }
        Ok(())
    }

    /// Subtask `to` of stage `stage` processes `records` from input `from`,
    /// then that input's watermark; its output goes to the next stage or,
    /// from the last, to the sink.
    fn process(
        &mut self,
        stage: usize,
        to: usize,
        from: usize,
        records: Vec<Record>,
        watermark: Option<u64>,
    ) -> Result<(), InProcessError> {
        let task = &mut self.stages[stage][to];
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            task.keyed.process(record, &mut out)?;
        }
        let mut rose = None;
        if let Some(w) = watermark {
            task.inputs[from] = task.inputs[from].max(w);
            let least = task.inputs.iter().copied().min().unwrap_or(w);
            if least > task.watermark {
                task.watermark = least;
                if self.event_time || least == u64::MAX {
                    task.keyed.advance_watermark(least, &mut out)?;
                }
                rose = Some(least);
            }
        }
        let out = chain::run(&mut task.chain, out, &mut self.scratch)?;
        if stage + 1 == self.stages.len() {
            self.stages[stage][to].sunk.extend(out);
            return Ok(());
        }
        if out.is_empty() && rose.is_none() {
            return Ok(());
        }
        self.forward(stage + 1, to, out, rose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::tests::keyed_count;
    use crate::record::encode;
    use std::rc::Rc;

    fn input(partitions: u32, per_partition: u64) -> Rc<Vec<Vec<Record>>> {
        let log = |p: u32| {
            (0..per_partition)
                .map(|i| Record {
                    key: encode(&((i + u64::from(p)) % 7)).unwrap(),
                    value: encode(&()).unwrap(),
                    timestamp: 0,
                    origin: None,
                })
                .collect()
        };
        Rc::new((0..partitions).map(log).collect())
    }

    #[test]
    fn every_record_is_counted_once_with_its_origin() {
        let job = Job {
            graph: keyed_count(),
            input: input(2, 25),
            watermarks: None,
        };
        let ran = run_in_process(&job, 3, 128, 4).expect("runs");
        assert_eq!(ran.output.len(), 50);
        let mut origins: Vec<_> = ran.output.iter().map(|r| r.origin).collect();
        origins.sort();
        origins.dedup();
        assert_eq!(origins.len(), 50, "each input record once");
        // The count of each key reaches the number of its records.
        let mut last = std::collections::BTreeMap::new();
        for r in &ran.output {
            let key: u64 = crate::record::decode(&r.key).unwrap();
            let n: u64 = crate::record::decode(&r.value).unwrap();
            let seen = last.entry(key).or_insert(0);
            assert_eq!(n, *seen + 1, "key {key} counts up by one");
            *seen = n;
        }
        assert_eq!(last.values().sum::<u64>(), 50);
        // 2 partitions x 7 batches of fetches, data frames, 3 pre-commits.
        assert!(ran.frames > 14 + 3 && ran.bytes > 0);
    }

    #[test]
    fn an_empty_input_ends_cleanly_and_bad_bounds_are_refused() {
        let job = Job {
            graph: keyed_count(),
            input: input(2, 0),
            watermarks: None,
        };
        assert!(run_in_process(&job, 2, 128, 50).unwrap().output.is_empty());
        assert!(matches!(
            run_in_process(&job, 0, 128, 50),
            Err(InProcessError::Bounds { .. })
        ));
        assert!(matches!(
            run_in_process(&job, 2, 128, 0),
            Err(InProcessError::Bounds { .. })
        ));
    }
}
