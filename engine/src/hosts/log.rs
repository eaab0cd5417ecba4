//! The `log` host: a partitioned, replayable input log whose content is
//! fixed before the run (like a Kafka topic that was written before the
//! job): the job's input ([`crate::graph::Job::input`]).

use super::{server, HostContext, HostResult};
use crate::event::Event;
use crate::io::addr;
use crate::proto::{FetchRequest, FetchResponse};
use crate::record::Record;
use std::cell::RefCell;
use std::rc::Rc;

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    let log = Log(ctx.job.input.clone());
    server::serve(addr::LOG_PORT, Rc::new(RefCell::new(log)), fetch).await
}

/// The whole log, partition by partition.
struct Log(Rc<Vec<Vec<Record>>>);

fn fetch(log: &mut Log, req: FetchRequest) -> FetchResponse {
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
