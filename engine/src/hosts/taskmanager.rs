//! `taskmanager-N`: registers with the jobmanager and heartbeats; deploys,
//! starts, triggers, notifies and cancels its subtasks; accepts data
//! channels on its data port and checks every frame's sequence and epoch.
//! Losing the jobmanager for longer than the heartbeat timeout cancels all
//! of its tasks (no zombie keeps running behind a partition). With `ha`
//! (`topology.jobmanagers` > 1) it asks `ha` which jobmanager leads before
//! each connection (Flink's leader retrieval service), and ignores a
//! deploy from a leader older than one it has deployed for.

use super::{ha, HostContext, HostResult};
use crate::event::{Event, TaskId, Vertex};
use crate::io::{addr, mpsc, now, sleep, spawn, timeout, JoinHandle, TcpListener, TcpStream};
use crate::job::Plan;
use crate::probe::Probe;
use crate::proto::{
    CheckpointMeta, DataFrame, HaRequest, HaResponse, Payload, ToJobManager, ToTaskManager,
};
use crate::task::{keyed, source, Inbound, RunningReport, TaskEnv, TaskManagerMemory, Uploads};
use crate::wire;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Where frames of channel c of attempt e go: (input index, task inbox).
type Routes = Rc<RefCell<BTreeMap<(u64, u32), (usize, mpsc::UnboundedSender<Inbound>)>>>;

struct Deployed {
    epoch: u64,
    plan: Plan,
    tasks: Vec<(TaskId, mpsc::UnboundedSender<Inbound>, JoinHandle<()>)>,
}

impl Deployed {
    fn cancel(self, routes: &Routes) {
        for (_, _, handle) in self.tasks {
            handle.abort();
        }
        routes
            .borrow_mut()
            .retain(|(epoch, _), _| *epoch > self.epoch);
    }

    fn tell(&self, vertex: Vertex, msg: impl Fn() -> Inbound) {
        for (task, inbox, _) in &self.tasks {
            if task.vertex == vertex {
                let _ = inbox.send(msg());
            }
        }
    }
}

pub async fn run(ctx: HostContext, index: u32) -> HostResult {
    ctx.emit(Event::HostStarted);
    let routes: Routes = Rc::default();
    let memory = TaskManagerMemory::default();
    let listener = TcpListener::bind(("0.0.0.0", addr::DATA_PORT)).await?;
    spawn(accept_channels(listener, routes.clone()));
    let timing = ctx.config.timing.clone();
    let newest_leader = Cell::new(0);
    loop {
        if let Some(jobmanager) = leader(&ctx).await {
            let connect = TcpStream::connect((jobmanager.as_str(), addr::JOBMANAGER_PORT));
            if let Ok(Ok(stream)) = timeout(timing.rpc_timeout, connect).await {
                let tm = Tm {
                    ctx: &ctx,
                    index,
                    routes: &routes,
                    memory: &memory,
                    newest_leader: &newest_leader,
                };
                session(&tm, stream).await;
            }
        }
        sleep(timing.heartbeat_interval).await;
    }
}

/// The jobmanager to connect to: `jobmanager`, or with `ha` the leader it
/// names (`None` if it names none or does not answer).
async fn leader(ctx: &HostContext) -> Option<String> {
    if ctx.config.topology.jobmanagers <= 1 {
        return Some(addr::JOBMANAGER.to_owned());
    }
    match ha::ask(HaRequest::Leader, ctx.config.timing.rpc_timeout).await {
        Ok(HaResponse::Leader { candidate, .. }) => candidate,
        _ => None,
    }
}

/// What a taskmanager's sessions share.
struct Tm<'a> {
    ctx: &'a HostContext,
    index: u32,
    routes: &'a Routes,
    memory: &'a TaskManagerMemory,
    /// The newest leader epoch a deploy came from (0 without `ha`).
    newest_leader: &'a Cell<u64>,
}

/// One connection to the jobmanager, until it breaks or goes silent.
async fn session(tm: &Tm<'_>, stream: TcpStream) {
    let (ctx, index, routes) = (tm.ctx, tm.index, tm.routes);
    let timing = ctx.config.timing.clone();
    let (mut rd, mut wr) = stream.into_split();
    let (to_jm, mut outgoing) = mpsc::unbounded_channel::<ToJobManager>();
    let writer = spawn(async move {
        while let Some(msg) = outgoing.recv().await {
            if wire::send(&mut wr, &msg).await.is_err() {
                break;
            }
        }
    });
    let (from_jm_tx, mut from_jm) = mpsc::unbounded_channel::<ToTaskManager>();
    let reader = spawn(async move {
        while let Ok(msg) = wire::recv::<_, ToTaskManager>(&mut rd).await {
            if from_jm_tx.send(msg).is_err() {
                break;
            }
        }
    });
    let _ = to_jm.send(ToJobManager::Register { taskmanager: index });
    let mut deployed: Option<Deployed> = None;
    let mut last_heard = now();
    let mut next_heartbeat = now();
    loop {
        tokio::select! {
            biased;
            msg = from_jm.recv() => match msg {
                Some(msg) => {
                    last_heard = now();
                    on_message(tm, msg, &mut deployed, &to_jm);
                }
                None => break,
            },
            _ = sleep(next_heartbeat.saturating_sub(now())) => {}
        }
        if now() >= next_heartbeat {
            let _ = to_jm.send(ToJobManager::Heartbeat);
            next_heartbeat = now() + timing.heartbeat_interval;
        }
        if now().saturating_sub(last_heard) > timing.heartbeat_timeout {
            if deployed.is_some() {
                ctx.probe(Probe::JobManagerHeartbeatTimeout);
            }
            break;
        }
    }
    if let Some(d) = deployed.take() {
        d.cancel(routes);
    }
    reader.abort();
    writer.abort();
}

fn on_message(
    tm: &Tm<'_>,
    msg: ToTaskManager,
    deployed: &mut Option<Deployed>,
    to_jm: &mpsc::UnboundedSender<ToJobManager>,
) {
    let (ctx, routes, memory) = (tm.ctx, tm.routes, tm.memory);
    let current = deployed.as_ref().map(|d| d.epoch);
    match msg {
        // A deposed leader's deploy, sent before it stepped down.
        ToTaskManager::Deploy { leader, .. } if leader < tm.newest_leader.get() => {}
        ToTaskManager::Deploy {
            epoch,
            leader,
            tasks,
            restore,
        } => {
            tm.newest_leader.set(leader);
            if let Some(d) = deployed.take() {
                d.cancel(routes);
            }
            *deployed = Some(deploy(ctx, epoch, tasks, restore, routes, to_jm, memory));
            let _ = to_jm.send(ToJobManager::Deployed { epoch });
        }
        ToTaskManager::Start { epoch } if current == Some(epoch) => {
            // Every subtask with outputs connects them now; sources then read.
            for d in deployed.iter() {
                for (_, inbox, _) in &d.tasks {
                    let _ = inbox.send(Inbound::Start);
                }
            }
        }
        ToTaskManager::Trigger {
            epoch,
            checkpoint,
            stop,
            drain,
        } if current == Some(epoch) => {
            deployed.iter().for_each(|d| {
                d.tell(d.plan.source_vertex().name, || Inbound::Trigger {
                    checkpoint,
                    stop,
                    drain,
                })
            });
        }
        ToTaskManager::Notify {
            epoch,
            checkpoint,
            report,
        } if current == Some(epoch) => {
            let notify = || Inbound::Notify { checkpoint, report };
            (deployed.iter()).for_each(|d| d.tell(d.plan.sink_vertex().name, notify));
        }
        ToTaskManager::Cancel { epoch } if current.is_some_and(|c| c <= epoch) => {
            if let Some(d) = deployed.take() {
                d.cancel(routes);
            }
        }
        _ => {}
    }
}

fn deploy(
    ctx: &HostContext,
    epoch: u64,
    tasks: Vec<TaskId>,
    restore: Option<CheckpointMeta>,
    routes: &Routes,
    to_jm: &mpsc::UnboundedSender<ToJobManager>,
    memory: &TaskManagerMemory,
) -> Deployed {
    let plan = Plan::new(&ctx.job.graph, &ctx.config);
    let report = (restore.is_some() && !tasks.is_empty()).then(|| RunningReport::new(tasks.len()));
    let mut running = Vec::new();
    for task in tasks {
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let env = TaskEnv {
            ctx: ctx.clone(),
            task,
            epoch,
            restore: restore.clone(),
            to_jm: to_jm.clone(),
            memory: memory.clone(),
            uploads: Uploads::new(ctx),
            running: report.clone(),
        };
        let handle = match plan.upstream(task.vertex) {
            None => spawn(env.clone().supervise(move || source::run(env, inbox))),
            Some(upstream) => {
                for s in 0..upstream.parallelism {
                    let from = TaskId {
                        vertex: upstream.name,
                        subtask: s,
                    };
                    let route = (s as usize, inbox_tx.clone());
                    routes
                        .borrow_mut()
                        .insert((epoch, plan.channel(from, task.subtask)), route);
                }
                let inputs = upstream.parallelism as usize;
                spawn(
                    env.clone()
                        .supervise(move || keyed::run(env, inputs, inbox)),
                )
            }
        };
        running.push((task, inbox_tx, handle));
    }
    Deployed {
        epoch,
        plan,
        tasks: running,
    }
}

async fn accept_channels(listener: TcpListener, routes: Routes) {
    while let Ok((stream, _)) = listener.accept().await {
        spawn(read_channel(stream, routes.clone()));
    }
}

/// Forward one inbound data connection's frames to its task, checking that
/// each frame carries the channel's epoch and the next sequence number.
async fn read_channel(stream: TcpStream, routes: Routes) {
    let (mut rd, _wr) = stream.into_split();
    let Ok(hello) = wire::recv::<_, DataFrame>(&mut rd).await else {
        return;
    };
    if hello.payload != Payload::Hello || hello.seq != 0 {
        return;
    }
    let Some((input, inbox)) = routes.borrow().get(&(hello.epoch, hello.channel)).cloned() else {
        return; // a channel of an attempt that is not (or no longer) deployed here
    };
    let mut expected = 1;
    loop {
        let result = wire::recv::<_, DataFrame>(&mut rd)
            .await
            .map_err(|e| e.to_string());
        let checked = result.and_then(|f| check_frame(&hello, expected, f));
        let msg = match checked {
            Ok(payload) => Inbound::Data {
                input,
                payload,
                at: now(),
            },
            Err(reason) => Inbound::Broken { input, reason },
        };
        let broken = matches!(msg, Inbound::Broken { .. });
        if inbox.send(msg).is_err() || broken {
            return;
        }
        expected += 1;
    }
}

fn check_frame(hello: &DataFrame, expected: u64, frame: DataFrame) -> Result<Payload, String> {
    if frame.channel != hello.channel || frame.epoch != hello.epoch {
        return Err(format!(
            "frame of channel {} epoch {} on the connection of channel {} epoch {}",
            frame.channel, frame.epoch, hello.channel, hello.epoch
        ));
    }
    match frame.seq.cmp(&expected) {
        std::cmp::Ordering::Equal => Ok(frame.payload),
        std::cmp::Ordering::Less => Err(format!(
            "duplicate or reordered frame: seq {} after {}",
            frame.seq,
            expected - 1
        )),
        std::cmp::Ordering::Greater => {
            Err(format!("gap: expected seq {expected}, got {}", frame.seq))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(channel: u32, epoch: u64, seq: u64) -> DataFrame {
        DataFrame {
            channel,
            epoch,
            seq,
            payload: Payload::Keepalive,
        }
    }

    #[test]
    fn gaps_duplicates_and_foreign_frames_are_refused() {
        let hello = DataFrame {
            payload: Payload::Hello,
            ..frame(3, 2, 0)
        };
        assert!(check_frame(&hello, 5, frame(3, 2, 5)).is_ok());
        assert!(check_frame(&hello, 5, frame(3, 2, 6))
            .unwrap_err()
            .contains("gap"));
        assert!(check_frame(&hello, 5, frame(3, 2, 4))
            .unwrap_err()
            .contains("duplicate"));
        assert!(check_frame(&hello, 5, frame(3, 1, 5))
            .unwrap_err()
            .contains("epoch"));
        assert!(check_frame(&hello, 5, frame(4, 2, 5))
            .unwrap_err()
            .contains("channel"));
    }
}
