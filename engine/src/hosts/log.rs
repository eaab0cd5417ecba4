//! The `log` host: a partitioned, replayable input log whose content is
//! fixed before the run (like a Kafka topic that was written before the
//! job): the job's input ([`crate::graph::Job::input`]).

use super::{server, HostContext, HostResult};
use crate::event::Event;
use crate::io::addr;
use crate::proto::FetchRequest;
use crate::record::{batch, Record};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::cell::RefCell;
use std::rc::Rc;

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    let log = Log(ctx.job.input.clone());
    server::serve(addr::LOG_PORT, Rc::new(RefCell::new(log)), fetch).await
}

/// The whole log, partition by partition.
struct Log(Rc<Vec<Vec<Record>>>);

/// The answer to a fetch: records `from..to` of a partition of the log,
/// served from the log itself instead of a copy. It goes on the wire as
/// the [`crate::proto::FetchResponse`] `{ records, end }` it stands for
/// (the same postcard bytes: a struct is its fields in order, and the
/// records a `record::batch` either way), and the source decodes it as one.
struct Fetched {
    log: Rc<Vec<Vec<Record>>>,
    /// `None` for a partition the log does not have (no records, end 0).
    partition: Option<usize>,
    from: usize,
    to: usize,
    end: u64,
}

impl Fetched {
    fn records(&self) -> &[Record] {
        match self.partition {
            Some(p) => &self.log[p][self.from..self.to],
            None => &[],
        }
    }
}

impl Serialize for Fetched {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut response = s.serialize_struct("FetchResponse", 2)?;
        response.serialize_field("records", &batch::Ser(self.records()))?;
        response.serialize_field("end", &self.end)?;
        response.end()
    }
}

fn fetch(log: &mut Log, req: FetchRequest) -> Fetched {
    let index = req.partition as usize;
    let Some(partition) = log.0.get(index) else {
        return Fetched {
            log: log.0.clone(),
            partition: None,
            from: 0,
            to: 0,
            end: 0,
        };
    };
    let end = partition.len() as u64;
    let from = req.from.min(end) as usize;
    let to = from.saturating_add(req.max as usize).min(partition.len());
    Fetched {
        log: log.0.clone(),
        partition: Some(index),
        from,
        to,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::FetchResponse;
    use crate::record::InputRecord;

    fn log() -> Log {
        let partition = |p: u32| {
            (0..5)
                .map(|offset| {
                    InputRecord {
                        key: 300 + p,
                        partition: p,
                        offset,
                    }
                    .to_record()
                })
                .collect()
        };
        Log(Rc::new(vec![partition(0), partition(1)]))
    }

    /// What the log answered before it served from itself: a copy.
    fn copied(log: &Log, req: &FetchRequest) -> FetchResponse {
        let Some(partition) = log.0.get(req.partition as usize) else {
            return FetchResponse {
                records: Vec::new(),
                end: 0,
            };
        };
        let end = partition.len() as u64;
        let from = req.from.min(end) as usize;
        let to = from.saturating_add(req.max as usize).min(partition.len());
        FetchResponse {
            records: partition[from..to].to_vec(),
            end,
        }
    }

    #[test]
    fn a_fetch_goes_on_the_wire_as_the_fetch_response_it_stands_for() {
        let mut log = log();
        // Inside, at the end, past the end, a batch larger than the
        // partition, the largest values the fields hold, no partition.
        let requests = [(1, 1, 2), (0, 3, 50), (0, 5, 1), (1, 9, 3), (0, 0, 0)]
            .into_iter()
            .chain([(0, u64::MAX, u32::MAX), (1, 0, u32::MAX), (2, 0, 5)])
            .chain([(u32::MAX, 0, 1)]);
        for (partition, from, max) in requests {
            let req = FetchRequest {
                partition,
                from,
                max,
            };
            let expected = copied(&log, &req);
            let bytes = crate::wire::encode(&fetch(&mut log, req));
            assert_eq!(bytes, crate::wire::encode(&expected));
            let decoded: FetchResponse = crate::wire::decode(&bytes).unwrap();
            assert_eq!(
                (decoded.records, decoded.end),
                (expected.records, expected.end)
            );
        }
    }
}
