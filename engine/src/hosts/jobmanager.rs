//! `jobmanager`: deploys the job, runs the checkpoint coordinator, detects
//! failures (task failures, lost taskmanagers), fails over through the
//! restart strategy, and decides when the job has finished. After its own
//! crash it recovers from `store`: the register of completed checkpoints
//! (`register.rs`: the checkpoints and the last job attempt), and whether
//! the job already ended (a FINISHED or FAILED job stays so).
//!
//! The register is only ever replaced by compare-and-set. A completion
//! swaps in a register naming the checkpoint after its metadata is durable;
//! every deploy first fences the register (a swap recording the new
//! attempt) before any task of that attempt can abort a transaction. A
//! completion whose swap has an unknown outcome fails the attempt over and
//! is decided by the fence: completed if the fenced register names it,
//! aborted otherwise.

use super::{ha, HostContext, HostResult};
use crate::config::PlantedBug;
use crate::coordinator::{Coordinator, Decision};
use crate::event::{Event, JobState, TaskId};
use crate::format::{self, BlobKind};
use crate::io::{addr, clock, mpsc, now, sleep, spawn, TcpListener, TcpStream};
use crate::job::Plan;
use crate::lease::act_until;
use crate::probe::Probe;
use crate::proto::{
    CheckpointMeta, ClientRequest, ClientResponse, HaRequest, HaResponse, SinkOp, SinkRequest,
    SinkResponse, StoreResponse, ToJobManager, ToTaskManager,
};
use crate::record::TxnId;
use crate::register::{metadata_name, Register, RegisteredCheckpoint, Versioned, REGISTER_BLOB};
use crate::restart::{RestartDecision, RestartStrategy};
use crate::storage::{Storage, Swap};
use crate::task::RECOVERY_IMPOSSIBLE;
use crate::wire::{self, RpcClient};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

/// How often the jobmanager looks at its timers when nothing arrives.
const TICK: Duration = Duration::from_millis(10);
/// The most ticks the loop waits for a message when no tick would act
/// ([`JobManager::idle_wait`]): one second.
const MAX_IDLE_TICKS: u32 = 100;

thread_local! {
    static SKIP_IDLE_TICKS: Cell<bool> = const { Cell::new(true) };
}

/// Whether jobmanagers of simulations on this thread wait through the
/// ticks at which they would do nothing ([`JobManager::idle_wait`]), or
/// look at their timers every [`TICK`] as the reference does: returns the
/// setting before. A run must be the same, trace hash for trace hash,
/// either way (the harness's `world::tick_idle_hosts` turns both this and
/// turmoil's skipping of idle hosts off, and `tests/scenarios.rs` compares).
pub fn set_skip_idle_ticks(skip: bool) -> bool {
    SKIP_IDLE_TICKS.with(|s| s.replace(skip))
}
/// The job's end, written before it is announced: a restarted jobmanager
/// must not run a finished or failed job again. `None` is finished,
/// `Some(reason)` failed.
const END_BLOB: &str = "job/end";

/// Where run `run` of the job records its end: [`END_BLOB`] for the first,
/// `job/end-<run>` for a resumed one, which must not find the end of the
/// run it resumes ([`crate::config::JobConfig::run`]).
fn end_blob(run: u32) -> String {
    match run {
        0 => END_BLOB.to_string(),
        n => format!("{END_BLOB}-{n}"),
    }
}
/// Reads of the register or the job's end that may fail their checksum
/// before the jobmanager calls them corrupt on disk rather than on the way:
/// recovery is then impossible.
const MAX_CORRUPT_READS: u32 = 20;
/// Reads of one checkpoint's metadata, a heartbeat interval apart, that
/// must all fail their check before the jobmanager gives the checkpoint up
/// as unreadable (corrupt at rest, not on the way): 1 s by default, twice
/// what the transient `read_corruption` faults of the built-in scenarios
/// last at half their probability.
const METADATA_READS: u32 = 10;
/// How long restores must keep finding one checkpoint's state unreadable
/// (each report after `task::READ_ATTEMPTS` reads failed their check), with
/// no checkpoint completing meanwhile, before the jobmanager gives the
/// checkpoint up: the same 1 s as [`METADATA_READS`], so corruption on
/// the way, which a later read gets past, is not taken for corruption at
/// rest. At least two reports, whatever the time between them.
const STATE_PATIENCE: Duration = Duration::from_secs(1);
/// Fences in a row, a heartbeat interval apart, that may fail because the
/// register fails its check before a running jobmanager calls it corrupt at
/// rest and fails the job: 5 s by default.
const CORRUPT_FENCES: u32 = 50;
/// Reads, one right after another, the jobmanager makes of a blob before
/// it gives the blob's checkpoint up, when patience has run out: a read
/// corrupted on the way, even nine times in ten, lets one of them through
/// (0.9^100 is 0.003 %); rot lets none.
const VERIFY_READS: u32 = 100;
/// Fences tried in a row while the register keeps changing under them
/// (each conflict is a swap this jobmanager did not make landing late).
const MAX_FENCE_CONFLICTS: u32 = 4;

/// What a fence came to.
enum Fence {
    /// The register records attempt `epoch`; no older swap can land now.
    Fenced(u64),
    /// Try again later.
    Retry(String),
    /// The register lost checkpoints it had named: recovery is impossible.
    Lost(String),
}

enum Conn {
    Registered {
        tm: u32,
        session: u64,
        tx: mpsc::UnboundedSender<ToTaskManager>,
    },
    /// A message, stamped when it arrived (not when it is handled: a slow
    /// store call must not make a healthy taskmanager look silent).
    Msg {
        tm: u32,
        session: u64,
        msg: ToJobManager,
        at: Duration,
    },
    Closed {
        tm: u32,
        session: u64,
    },
    /// A request of the `client` host on the REST port, and where its
    /// answer goes.
    Client {
        request: ClientRequest,
        reply: mpsc::UnboundedSender<ClientResponse>,
    },
}

/// A savepoint a client asked for: `stop` for a stop-with-savepoint.
#[derive(Debug, Clone)]
struct SavepointRequest {
    stop: bool,
    /// A stop with drain: the sources end their input before its barrier.
    drain: bool,
    status: StopStatus,
}

/// How a savepoint a client asked for stands.
#[derive(Debug, Clone)]
enum StopStatus {
    /// Asked for; `savepoint` once triggered.
    Pending { savepoint: Option<u64> },
    /// Savepoint `0` completed; a stop is done once the sink committed it
    /// and the job finished.
    Completed(u64),
    /// The savepoint failed, or, for a stop, the job failed over before it
    /// finished.
    Failed(String),
}

struct Tm {
    session: u64,
    tx: mpsc::UnboundedSender<ToTaskManager>,
    last_heard: Duration,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for every taskmanager to register (a slot request).
    Waiting {
        since: Duration,
    },
    Deploying {
        since: Duration,
        deployed: BTreeSet<u32>,
    },
    Running,
    Restarting {
        until: Duration,
    },
    /// The job has ended; `end` is being made durable before it is announced.
    Ending {
        end: JobState,
        since: Duration,
    },
    Ended,
}

/// A checkpoint whose state restores found unreadable.
#[derive(Debug, Clone, Copy)]
struct Suspect {
    since: Duration,
    failures: u32,
}

struct JobManager {
    ctx: HostContext,
    /// The leader lease it acts on (`None`: no `ha`, it always leads).
    lease: Option<Rc<Lease>>,
    plan: Plan,
    store: Storage,
    tms: BTreeMap<u32, Tm>,
    coordinator: Coordinator,
    restart: RestartStrategy,
    epoch: u64,
    /// The register as this jobmanager last read or wrote it, and its version.
    register: Register,
    version: u64,
    /// A completion whose swap timed out, until a fence decides it.
    unknown: Option<(RegisteredCheckpoint, CheckpointMeta)>,
    /// Why the last deploy did not go ahead (the fence, or the sink's
    /// confirmation of a fallback), as a clause for the slot request
    /// timeout's message.
    deploy_blocked: Option<String>,
    phase: Phase,
    /// The first checkpoint of this attempt that completed with every task
    /// acknowledging it as finished (FLIP-147's final checkpoint): it was
    /// taken after every vertex saw end of input, so it holds all output.
    final_checkpoint: Option<u64>,
    /// The attempt's input was ended by a drain from this checkpoint id
    /// on: 0 when it restored a drained checkpoint (its sources end their
    /// input at once), else the drain's savepoint once triggered. Every
    /// checkpoint it completes from there is drained
    /// ([`CheckpointMeta::drained`]), so a later restore of any of them
    /// reads no more either.
    drained_from: Option<u64>,
    /// The newest checkpoint each count task of this attempt has committed
    /// (it commits every pending transaction up to it).
    committed: BTreeMap<TaskId, u64>,
    /// The taskmanagers whose tasks of this attempt are still restoring a
    /// checkpoint: deployed with one, and no `Running` heard from them yet.
    /// While any is, the coordinator triggers no periodic checkpoint.
    restoring: BTreeSet<u32>,
    next_heartbeat: Duration,
    /// Deploying needs the store; after a failed attempt, wait before the next.
    next_deploy: Duration,
    /// Retained checkpoints given up as unreadable, with why: never
    /// restored, and a restore of an older one needs the sink's word that
    /// nothing newer was committed ([`JobManager::confirm_fallback`]).
    unreadable: BTreeMap<u64, String>,
    /// Fences in a row that failed because the register failed its check.
    corrupt_fences: u32,
    /// Failed reads so far of each retained checkpoint's metadata, in a
    /// row, for checkpoints not (yet) given up.
    bad_metadata: BTreeMap<u64, u32>,
    /// Restores so far that reported a checkpoint's state unreadable, with
    /// the time of the first, for checkpoints not (yet) given up.
    suspect: BTreeMap<u64, Suspect>,
    /// What this process's first deploy restored (`None` before it):
    /// read only by the planted bugs
    /// [`PlantedBug::FailoverRestoresResumePoint`] and
    /// [`PlantedBug::ClaimedCheckpointDeletedEarly`].
    first_restore: Option<Option<CheckpointMeta>>,
    /// The savepoints (and stops-with-savepoint) clients asked this process
    /// for, by request id, at most [`MAX_STOP_REQUESTS`] (the oldest are
    /// forgotten).
    stops: BTreeMap<u64, SavepointRequest>,
    /// The request under way: a savepoint pending, or a stop not finished
    /// yet (its savepoint pending or completed). One at a time.
    stopping: Option<u64>,
    /// A stop asked for while a plain savepoint was under way: accepted, it
    /// holds periodic triggers at once (so that the job's final checkpoint
    /// cannot end it first) and is under way once that savepoint settles,
    /// as Flink's coordinator queues a savepoint request behind another
    /// rather than refusing it. At most one.
    queued_stop: Option<u64>,
    /// How the job ended, once announced.
    ended: Option<JobState>,
}

/// Stop-with-savepoint requests a jobmanager remembers; a client whose
/// request was forgotten hears `Unknown` and asks again.
const MAX_STOP_REQUESTS: usize = 16;

pub async fn run(ctx: HostContext) -> HostResult {
    ctx.emit(Event::HostStarted);
    if ctx.config.topology.jobmanagers <= 1 {
        return lead(ctx, None).await;
    }
    // With `ha`: campaign for the lease, lead while it holds, and campaign
    // again after stepping down. The first start of `jobmanager-2..` waits
    // a little, so that `jobmanager-1` is the first leader.
    let standby: u32 = (ctx.name.rsplit('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    if ctx.starts() <= 1 && standby > 1 {
        sleep(ctx.config.timing.heartbeat_interval * 2 * (standby - 1)).await;
    }
    // Whether this jobmanager's last leadership ended because checkpoint
    // storage was out of its reach: then it may not step down for that
    // again, and the next time fails the job as without `ha`.
    let mut yielded = false;
    loop {
        match campaign(&ctx, !yielded).await {
            Ok(lease) => {
                lead(ctx.clone(), Some(lease.clone())).await?;
                yielded = lease.yielded.get();
            }
            Err(lost) => return fail_without_ha(ctx, lost).await,
        }
    }
}

/// Until when, past a check, an action can still take effect on this
/// host: the check and the action it guards run in the same step.
const LEASE_MARGIN: Duration = TICK;

/// The leader lease a jobmanager with `ha` acts on.
struct Lease {
    /// The leader epoch `ha` granted: the fencing token of every register
    /// write.
    epoch: u64,
    /// Until when, on this host's clock, this jobmanager may act
    /// ([`crate::lease::act_until`]); pushed on by each renewal.
    until: Cell<Duration>,
    /// Whether an earlier leader held the lease before (another jobmanager).
    takeover: bool,
    /// Whether it may step down when checkpoint storage is out of its
    /// reach while it recovers (not twice in a row: see `run`), and
    /// whether it did.
    may_yield: bool,
    yielded: Cell<bool>,
    /// Why it stopped leading before `until`, with the probe to mark.
    revoked: RefCell<Option<(Option<Probe>, String)>>,
}

impl Lease {
    fn holds(&self) -> bool {
        self.revoked.borrow().is_none() && now() < self.until.get()
    }

    fn revoke(&self, probe: Option<Probe>, reason: String) {
        self.revoked.borrow_mut().get_or_insert((probe, reason));
    }
}

/// Ask `ha` for the lease until it is granted (a lease that `may_yield`:
/// see [`Lease`]): `Err` if `ha` lost the epochs it granted.
async fn campaign(ctx: &HostContext, may_yield: bool) -> Result<Rc<Lease>, String> {
    let ttl = ctx.config.timing.lease_ttl;
    loop {
        let sent = now();
        let req = HaRequest::Acquire {
            candidate: ctx.name.to_string(),
        };
        match ha::ask(req, ctx.config.timing.rpc_timeout).await {
            Ok(HaResponse::Granted { epoch, previous }) => {
                let until = act_until(sent, ttl, clock::MAX_DRIFT, LEASE_MARGIN);
                return Ok(Rc::new(Lease {
                    epoch,
                    takeover: previous.is_some_and(|p| *p != *ctx.name),
                    may_yield,
                    yielded: Cell::new(false),
                    until: Cell::new(until),
                    revoked: RefCell::default(),
                }));
            }
            Ok(HaResponse::Lost(why)) => return Err(why),
            Ok(_) | Err(_) => sleep(ttl / RENEWALS).await,
        }
    }
}

/// A leader renews its lease this many times per `lease_ttl`.
const RENEWALS: u32 = 8;

/// Renew `lease` every `lease_ttl / RENEWALS`; a refusal, or a grant of
/// another epoch (the lease ran out at `ha` meanwhile), ends it. A renewal
/// that gets no answer changes nothing: the lease runs out on its own.
/// Each waits for its answer as long as the lease may still act (at least
/// a renewal interval, at most the RPC timeout): an answer after that is
/// of no use, and a slow one before it still is.
async fn renew(ctx: HostContext, lease: Rc<Lease>) {
    let ttl = ctx.config.timing.lease_ttl;
    loop {
        sleep(ttl / RENEWALS).await;
        let sent = now();
        let left = lease.until.get().saturating_sub(sent);
        let limit = left.max(ttl / RENEWALS).min(ctx.config.timing.rpc_timeout);
        let req = HaRequest::Renew {
            candidate: ctx.name.to_string(),
            epoch: lease.epoch,
        };
        match ha::ask(req, limit).await {
            Ok(HaResponse::Granted { epoch, .. }) if epoch == lease.epoch => {
                let until = act_until(sent, ttl, clock::MAX_DRIFT, LEASE_MARGIN);
                lease.until.set(lease.until.get().max(until));
            }
            Ok(other) => {
                let why = format!("ha no longer grants it the lease: {other:?}");
                return lease.revoke(Some(Probe::LeaderLeaseExpired), why);
            }
            Err(_) => {}
        }
    }
}

/// `ha` lost its disk: fail the job, durably, naming why (a loud failure:
/// no leader can be fenced from another any more). Stays up, idle.
///
/// First it waits out any leader's lease: the last renewal any leader got
/// came before `ha` lost its disk, so a leader may act for at most
/// `lease_ttl` (real time) after it; this host's clock may run fast by
/// [`clock::MAX_DRIFT`], so it waits that much longer on its own clock.
/// No output is committed after the job is announced failed.
async fn fail_without_ha(ctx: HostContext, lost: String) -> HostResult {
    let ttl = ctx.config.timing.lease_ttl;
    sleep(ttl.mul_f64(1.0 + clock::MAX_DRIFT) + LEASE_MARGIN).await;
    let reason = format!("{RECOVERY_IMPOSSIBLE}: {lost}");
    let failed = Some(reason.clone());
    let mut store = Storage::new(&ctx);
    let bytes = format::encode(BlobKind::End, &failed);
    let started = now();
    while now().saturating_sub(started) < ctx.config.timing.slot_request_timeout {
        if store_call(store.put(&end_blob(ctx.config.run), &bytes).await).is_ok() {
            break;
        }
        sleep(ctx.config.timing.heartbeat_interval).await;
    }
    ctx.probe(Probe::RecoveryImpossible);
    ctx.emit(Event::JobState(JobState::Failed { reason }));
    std::future::pending::<()>().await;
    Ok(())
}

/// Run the job as its jobmanager: for ever without `ha` (`lease` is
/// `None`), or while `lease` holds, then step down: stop listening, drop
/// every taskmanager's connection, and return.
async fn lead(ctx: HostContext, lease: Option<Rc<Lease>>) -> HostResult {
    let (conn_tx, mut conns) = mpsc::unbounded_channel();
    let Some(listener) = bind(addr::JOBMANAGER_PORT, &lease).await? else {
        return Ok(());
    };
    // The REST port, for the `client` host, is served by the leader only
    // (a client tries each jobmanager until one answers).
    let Some(rest) = bind(addr::REST_PORT, &lease).await? else {
        return Ok(());
    };
    let rest = spawn(accept_clients(rest, conn_tx.clone()));
    let acceptor = spawn(accept(listener, conn_tx));
    let renewer = lease.clone().map(|l| spawn(renew(ctx.clone(), l)));
    if let Some(lease) = &lease {
        ctx.emit(Event::LeaderElected {
            leader: lease.epoch,
        });
        if lease.takeover {
            ctx.probe(Probe::JobManagerTakeover);
        }
    }
    let mut jm = JobManager::recover(ctx.clone(), lease.clone()).await;
    while jm.leading() {
        tokio::select! {
            biased;
            conn = conns.recv() => match conn {
                Some(conn) => jm.on_conn(conn).await,
                None => break,
            },
            _ = sleep(jm.idle_wait()) => {}
        }
        // Handle everything that queued up (e.g. during a slow store call)
        // before timers judge anyone silent.
        while jm.leading() {
            let Ok(conn) = conns.try_recv() else { break };
            jm.on_conn(conn).await;
        }
        if jm.leading() {
            jm.tick().await;
        }
    }
    acceptor.abort();
    rest.abort();
    if let Some(renewer) = renewer {
        renewer.abort();
    }
    drop(jm);
    if let Some(lease) = lease {
        let (probe, reason) = lease.revoked.borrow().clone().unwrap_or_else(|| {
            let why = "its lease could have run out: no renewal came in time";
            (Some(Probe::LeaderLeaseExpired), why.to_owned())
        });
        if let Some(probe) = probe {
            ctx.probe(probe);
        }
        ctx.emit(Event::LeaderRevoked {
            leader: lease.epoch,
            reason,
        });
    }
    Ok(())
}

/// Listen on `port`; `None` once `lease` no longer holds. The listener of
/// a leadership that just ended may not be dropped yet: with a lease, a
/// failed bind is tried again while it holds; without one it is an error.
async fn bind(
    port: u16,
    lease: &Option<Rc<Lease>>,
) -> Result<Option<TcpListener>, Box<dyn std::error::Error>> {
    loop {
        match TcpListener::bind(("0.0.0.0", port)).await {
            Ok(listener) => return Ok(Some(listener)),
            Err(e) => match lease {
                None => return Err(e.into()),
                Some(lease) if lease.holds() => sleep(TICK).await,
                Some(_) => return Ok(None),
            },
        }
    }
}

async fn accept(listener: TcpListener, conns: mpsc::UnboundedSender<Conn>) {
    let mut session = 0;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                session += 1;
                spawn(connection(stream, session, conns.clone()));
            }
            // A failed accept loses that one connection; the taskmanager retries.
            Err(_) => sleep(TICK).await,
        }
    }
}

/// Serve the REST port: one task per client connection, each request
/// answered in turn by the jobmanager's loop.
async fn accept_clients(listener: TcpListener, conns: mpsc::UnboundedSender<Conn>) {
    loop {
        match listener.accept().await {
            Ok((mut stream, _)) => {
                let conns = conns.clone();
                spawn(async move {
                    while let Ok(request) = wire::recv::<_, ClientRequest>(&mut stream).await {
                        let (reply, mut answer) = mpsc::unbounded_channel();
                        if conns.send(Conn::Client { request, reply }).is_err() {
                            break;
                        }
                        let Some(answer) = answer.recv().await else {
                            break;
                        };
                        if wire::send(&mut stream, &answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
            Err(_) => sleep(TICK).await,
        }
    }
}

async fn connection(stream: TcpStream, session: u64, conns: mpsc::UnboundedSender<Conn>) {
    let (mut rd, mut wr) = stream.into_split();
    let Ok(ToJobManager::Register { taskmanager: tm }) = wire::recv(&mut rd).await else {
        return;
    };
    let (tx, mut outgoing) = mpsc::unbounded_channel::<ToTaskManager>();
    let writer = spawn(async move {
        while let Some(msg) = outgoing.recv().await {
            if wire::send(&mut wr, &msg).await.is_err() {
                break;
            }
        }
    });
    let _ = conns.send(Conn::Registered { tm, session, tx });
    while let Ok(msg) = wire::recv(&mut rd).await {
        let msg = Conn::Msg {
            tm,
            session,
            msg,
            at: now(),
        };
        // The jobmanager stepped down: drop the connection.
        if conns.send(msg).is_err() {
            break;
        }
    }
    let _ = conns.send(Conn::Closed { tm, session });
    writer.abort();
}

impl JobManager {
    /// Start (or restart) from what checkpoint storage holds.
    async fn recover(ctx: HostContext, lease: Option<Rc<Lease>>) -> JobManager {
        let config = ctx.config.clone();
        let plan = Plan::new(&ctx.job.graph, &config);
        let coordinator = Coordinator::new(config.checkpoint.clone(), plan.tasks(), Vec::new());
        let restart = RestartStrategy::new(&config.restart, ctx.seed);
        let started = now();
        let mut store = Storage::new(&ctx);
        store.set_leader(lease.as_ref().map_or(0, |l| l.epoch));
        let mut jm = JobManager {
            store,
            ctx,
            lease,
            plan,
            tms: BTreeMap::new(),
            coordinator,
            restart,
            epoch: 0,
            register: Register::default(),
            version: 0,
            unknown: None,
            deploy_blocked: None,
            phase: Phase::Waiting { since: started },
            final_checkpoint: None,
            drained_from: None,
            committed: BTreeMap::new(),
            restoring: BTreeSet::new(),
            next_heartbeat: started,
            next_deploy: started,
            unreadable: BTreeMap::new(),
            corrupt_fences: 0,
            bad_metadata: BTreeMap::new(),
            first_restore: None,
            suspect: BTreeMap::new(),
            stops: BTreeMap::new(),
            stopping: None,
            queued_stop: None,
            ended: None,
        };
        // The store may be down or its reads faulty: keep trying for a
        // while, but a checksum that keeps failing is data that is really
        // corrupt, and a store that never answers makes recovery impossible.
        let mut corrupt_reads = 0;
        while jm.leading() {
            let reason = match jm.load().await {
                Ok(()) => {
                    if corrupt_reads > 0 {
                        jm.probe(Probe::CorruptReadRetried);
                    }
                    break;
                }
                Err(reason) => reason,
            };
            // Corrupt metadata is counted by checkpoint (`suspect`), and
            // given up on its own; this counts the register and the end.
            if let Some(blob) = reason.strip_prefix("corrupt ") {
                corrupt_reads += 1;
                // "corrupt <blob>: <why>": the event names the blob.
                let name = blob.split(':').next().unwrap_or(blob).to_owned();
                jm.emit(Event::CorruptRead { name });
            }
            // While some metadata is being counted towards giving its
            // checkpoint up, the count gets that many heartbeats more than
            // the usual patience, so that a store slow to answer at first
            // does not cut it short.
            let counting = config.timing.heartbeat_interval * (METADATA_READS + 1);
            let patience = match jm.bad_metadata.is_empty() {
                true => config.timing.slot_request_timeout,
                false => config.timing.slot_request_timeout + counting,
            };
            let waited = now().saturating_sub(started);
            // With `ha`, checkpoint storage out of reach of this jobmanager
            // (its requests fail: "store: ...") may be in reach of another:
            // step down. What storage answers (data lost or corrupt) is the
            // same for every jobmanager.
            let unreachable = reason.starts_with("store:") && corrupt_reads < MAX_CORRUPT_READS;
            let yielding = |l: &&Rc<Lease>| unreachable && l.may_yield;
            if let Some(lease) = jm.lease.as_ref().filter(yielding) {
                if waited > patience {
                    let why = format!(
                        "it could not recover the job from checkpoint storage in {}ms: {reason}",
                        patience.as_millis()
                    );
                    lease.revoke(None, why);
                    lease.yielded.set(true);
                    break;
                }
            } else if corrupt_reads >= MAX_CORRUPT_READS || waited > patience {
                jm.probe(Probe::RecoveryImpossible);
                jm.announce(JobState::Failed {
                    reason: format!("{RECOVERY_IMPOSSIBLE}: {reason}"),
                });
                jm.phase = Phase::Ended;
                break;
            }
            sleep(config.timing.heartbeat_interval).await;
        }
        jm
    }

    async fn load(&mut self) -> Result<(), String> {
        let end = end_blob(self.ctx.config.run);
        if let Some(bytes) = self.get(&end).await? {
            let failed: Option<String> =
                format::decode(BlobKind::End, &bytes).map_err(|e| format!("corrupt {end}: {e}"))?;
            self.announce(failed.map_or(JobState::Finished, |reason| JobState::Failed { reason }));
            self.phase = Phase::Ended;
            return Ok(());
        }
        let stored = self.store.read_register().await?;
        let (version, register) = decode_register(stored)?;
        let completed = self.read_checkpoints(&register).await?;
        if version > 0 {
            if !completed.is_empty() {
                self.probe(Probe::JobManagerRecoveredCheckpoints);
            }
            self.emit(Event::CheckpointsRecovered {
                version,
                epoch: register.epoch,
                checkpoints: completed.iter().map(|m| m.checkpoint).collect(),
            });
        }
        self.epoch = register.epoch;
        (self.register, self.version) = (register, version);
        let config = &self.ctx.config;
        self.coordinator =
            Coordinator::new(config.checkpoint.clone(), self.plan.tasks(), completed);
        self.coordinator.resume_ids(self.register.next_checkpoint);
        Ok(())
    }

    /// The metadata of every checkpoint `register` names, oldest first, each
    /// checked against the crc the register holds for it. A checkpoint whose
    /// metadata failed its check on [`METADATA_READS`] loads in a row is
    /// given up as unreadable and left out; one that failed fewer times is
    /// an `Err`, so the caller reads again a heartbeat later.
    async fn read_checkpoints(
        &mut self,
        register: &Register,
    ) -> Result<Vec<CheckpointMeta>, String> {
        if self.ctx.bug(PlantedBug::TrustMetadataListing) {
            return self.list_checkpoints().await;
        }
        let mut completed = Vec::new();
        let mut retry = None;
        for entry in &register.checkpoints {
            let checkpoint = entry.checkpoint;
            if self.unreadable.contains_key(&checkpoint) {
                continue;
            }
            let name = &entry.metadata;
            let e = match self.read_metadata(entry).await? {
                Ok(meta) => {
                    if self.bad_metadata.remove(&checkpoint).is_some() {
                        self.probe(Probe::CorruptReadRetried);
                    }
                    completed.push(meta);
                    continue;
                }
                Err(e) => e,
            };
            self.emit(Event::CorruptRead { name: name.clone() });
            // Planted: a checkpoint that does not read back is skipped at
            // once, and nobody asks the sink whether that is safe.
            if self.ctx.bug(PlantedBug::SkipCorruptMetadata) {
                continue;
            }
            let reads = self.bad_metadata.entry(checkpoint).or_default();
            *reads += 1;
            let reads = *reads;
            if reads >= METADATA_READS {
                // A last burst of reads: corruption on the way lets one
                // through, rot none.
                if let Some(meta) = self.verify_metadata(entry).await? {
                    self.bad_metadata.remove(&checkpoint);
                    self.probe(Probe::CorruptReadRetried);
                    completed.push(meta);
                    continue;
                }
                let reason = format!(
                    "its metadata {name} failed its check on {} reads: {e}",
                    METADATA_READS + VERIFY_READS
                );
                self.give_up(checkpoint, reason);
            } else {
                retry.get_or_insert(format!(
                    "checkpoint metadata {name} failed its check ({reads} of {METADATA_READS} \
                     reads): {e}"
                ));
            }
        }
        match retry {
            Some(reason) => Err(reason),
            None => Ok(completed),
        }
    }

    /// One read of a retained checkpoint's metadata: `Err` if the store
    /// failed or lost it, `Ok(Err(why))` if it failed its check.
    async fn read_metadata(
        &mut self,
        entry: &RegisteredCheckpoint,
    ) -> Result<Result<CheckpointMeta, String>, String> {
        let (name, checkpoint) = (&entry.metadata, entry.checkpoint);
        let bytes = self.get(name).await?.ok_or_else(|| {
            format!("store lost {name}, the metadata of completed checkpoint {checkpoint}")
        })?;
        Ok(if crc32fast::hash(&bytes) == entry.crc {
            format::decode_metadata(&bytes).map_err(|e| e.to_string())
        } else {
            Err("its crc differs from the one the register holds".into())
        })
    }

    /// Up to [`VERIFY_READS`] reads of a checkpoint's metadata, one right
    /// after another: the first that verifies, or `None`.
    async fn verify_metadata(
        &mut self,
        entry: &RegisteredCheckpoint,
    ) -> Result<Option<CheckpointMeta>, String> {
        for _ in 0..VERIFY_READS {
            match self.read_metadata(entry).await? {
                Ok(meta) => return Ok(Some(meta)),
                Err(_) => self.emit(Event::CorruptRead {
                    name: entry.metadata.clone(),
                }),
            }
        }
        Ok(None)
    }

    /// Give retained checkpoint `checkpoint` up as unreadable: it is never
    /// restored again by this jobmanager.
    fn give_up(&mut self, checkpoint: u64, reason: String) {
        self.bad_metadata.remove(&checkpoint);
        self.suspect.remove(&checkpoint);
        if self.unreadable.contains_key(&checkpoint) {
            return;
        }
        self.emit(Event::CheckpointUnreadable {
            checkpoint,
            reason: reason.clone(),
        });
        self.unreadable.insert(checkpoint, reason);
        self.coordinator.forget(checkpoint);
    }

    /// Task `task` could not read its state of `checkpoint`. Once tasks
    /// have said so for [`STATE_PATIENCE`] (at least twice), the jobmanager
    /// reads that state itself: if one of its reads verifies, what failed
    /// was on the way and the count starts over; if every one fails its
    /// check, the checkpoint is given up.
    async fn state_unreadable(&mut self, checkpoint: u64, task: TaskId, reason: &str) {
        let t = now();
        let suspect = self.suspect.entry(checkpoint).or_insert(Suspect {
            since: t,
            failures: 0,
        });
        suspect.failures += 1;
        let Suspect { since, failures } = *suspect;
        let patience = t.saturating_sub(since);
        if failures < 2 || patience < STATE_PATIENCE {
            return;
        }
        match self.verify_state(checkpoint, task).await {
            Some(true) => {
                self.suspect.remove(&checkpoint);
            }
            Some(false) => {
                let reason = format!(
                    "{failures} task reports over {} ms, and {VERIFY_READS} reads by the \
                     jobmanager, failed: {reason}",
                    patience.as_millis()
                );
                self.give_up(checkpoint, reason);
            }
            // The store did not answer: decide at the next report.
            None => {}
        }
    }

    /// Whether task `task`'s state of retained checkpoint `checkpoint`
    /// verifies on one of [`VERIFY_READS`] reads (its handle's size and
    /// crc32, then the state format); `None` when the store does not
    /// answer or the checkpoint is not retained.
    async fn verify_state(&mut self, checkpoint: u64, task: TaskId) -> Option<bool> {
        let handle = self
            .coordinator
            .completed(checkpoint)?
            .handles
            .get(&task)?
            .clone();
        if let Some(blob) = &handle.inline {
            // Kept in the metadata: nothing to read.
            return Some(format::open_state(&handle, checkpoint, task, blob).is_ok());
        }
        for attempt in 0..VERIFY_READS {
            let Some(bytes) = self.get(&handle.name).await.ok()? else {
                return Some(false);
            };
            if format::open_state(&handle, checkpoint, task, &bytes).is_ok() {
                if attempt > 0 {
                    self.probe(Probe::CorruptReadRetried);
                }
                return Some(true);
            }
            self.emit(Event::CorruptRead {
                name: handle.name.clone(),
            });
        }
        Some(false)
    }

    /// Before restoring `restore` (`None`: from the start) when a newer
    /// retained checkpoint is unreadable: ask the sink for the newest
    /// checkpoint any subtask committed, as job attempt `epoch` (which
    /// fences older attempts off the sink first). The fallback is sound
    /// only if nothing newer than `restore` was committed, or its output
    /// would be committed twice. `Ok(true)`: go on; `Ok(false)`: the job
    /// has failed naming what was lost; `Err`: ask again later.
    async fn confirm_fallback(&mut self, epoch: u64, restore: Option<u64>) -> Result<bool, String> {
        let newer: Vec<u64> = (self.unreadable.keys())
            .filter(|c| restore.is_none_or(|r| **c > r))
            .copied()
            .collect();
        if newer.is_empty() {
            return Ok(true);
        }
        let newest = self.newest_committed(epoch).await?;
        let newest_committed = newest.iter().map(|t| t.checkpoint).max();
        let restored = restore.map_or("no checkpoint (the start of the input)".into(), |r| {
            format!("checkpoint {r}")
        });
        if newest_committed > restore {
            let txn = (newest.iter())
                .max_by_key(|t| t.checkpoint)
                .expect("a newest committed checkpoint has its transaction");
            let why: Vec<String> = (newer.iter())
                .map(|c| format!("checkpoint {c}: {}", self.unreadable[c]))
                .collect();
            self.probe(Probe::CheckpointFallbackRefused);
            self.probe(Probe::RecoveryImpossible);
            self.end(JobState::Failed {
                reason: format!(
                    "{RECOVERY_IMPOSSIBLE}: checkpoints {newer:?} cannot be read ({}); the sink \
                     committed {txn} of checkpoint {}, so restoring {restored} would commit \
                     that output twice: the state of checkpoints {newer:?} is lost",
                    why.join("; "),
                    txn.checkpoint,
                ),
            });
            return Ok(false);
        }
        self.probe(Probe::CheckpointFallback);
        self.emit(Event::CheckpointFallback {
            restore,
            unreadable: newer,
            newest_committed,
        });
        Ok(true)
    }

    /// Per sink subtask that committed any, its newest committed
    /// transaction, asked as job attempt `epoch`.
    async fn newest_committed(&mut self, epoch: u64) -> Result<Vec<TxnId>, String> {
        let limit = self.ctx.config.timing.rpc_timeout;
        let mut sink = RpcClient::connect(addr::SINK, addr::SINK_PORT, limit)
            .await
            .map_err(|e| format!("sink: {e}"))?;
        let req = SinkRequest {
            epoch,
            op: SinkOp::NewestCommitted,
        };
        match sink.call(&req).await.map_err(|e| format!("sink: {e}"))? {
            SinkResponse::NewestCommitted(newest) => Ok(newest),
            other => Err(format!("sink: {other:?}")),
        }
    }

    /// Planted `trust-metadata-listing`: every metadata file in the store
    /// counts as a completed checkpoint, whatever the register says.
    async fn list_checkpoints(&mut self) -> Result<Vec<CheckpointMeta>, String> {
        let names = match store_call(self.store.list("meta").await)? {
            StoreResponse::Names(names) => names,
            other => return Err(format!("store: {other:?}")),
        };
        let mut completed = Vec::new();
        for name in names.iter().filter(|n| !n.ends_with(".tmp")) {
            let Some(bytes) = self.get(&format!("meta/{name}")).await? else {
                continue;
            };
            let meta: CheckpointMeta = format::decode_metadata(&bytes)
                .map_err(|e| format!("corrupt checkpoint metadata meta/{name}: {e}"))?;
            completed.push(meta);
        }
        completed.sort_by_key(|m| (m.checkpoint, m.epoch));
        Ok(completed)
    }

    /// Swap the register for `next`, expecting the version last seen;
    /// once it has swapped, the blobs `delete` go too.
    async fn swap(&mut self, next: &Register, delete: Vec<String>) -> Swap {
        (self.store)
            .swap(
                self.version,
                next.epoch,
                format::encode(BlobKind::Register, next),
                delete,
            )
            .await
    }

    /// Fence the register for the next job attempt, so that no swap of an
    /// older attempt can land after it, then decide a completion of
    /// unknown outcome by what the fenced register names.
    async fn fence(&mut self) -> Fence {
        for _ in 0..MAX_FENCE_CONFLICTS {
            let epoch = self.epoch.max(self.register.epoch) + 1;
            let config = &self.ctx.config;
            let (run, mode) = (config.run, config.restore_mode);
            let fenced = (self.register).fenced(epoch, self.coordinator.next_id(), run, mode);
            match self.swap(&fenced, Vec::new()).await {
                Swap::Swapped(version) => {
                    (self.register, self.version) = (fenced, version);
                    if !self.leading() {
                        return Fence::Retry("its leader lease ran out".into());
                    }
                    self.decide_unknown();
                    return Fence::Fenced(epoch);
                }
                Swap::Fenced(newer) => {
                    self.fenced(newer);
                    return Fence::Retry(format!("deposed by leader epoch {newer}"));
                }
                Swap::Conflict(current) => {
                    if let Err(fence) = self.adopt(current).await {
                        return fence;
                    }
                }
                Swap::NotApplied(e) | Swap::Unknown(e) => return Fence::Retry(e),
            }
        }
        Fence::Retry(format!(
            "the register changed {MAX_FENCE_CONFLICTS} times in a row"
        ))
    }

    /// The register changed under this jobmanager: take what it names now.
    /// A register older than the one this jobmanager saw means the store
    /// lost it, and the checkpoints with it.
    async fn adopt(&mut self, current: Versioned) -> Result<(), Fence> {
        let (version, register) = decode_register(current).map_err(Fence::Retry)?;
        if version < self.version {
            let had = self.register.ids();
            return Err(Fence::Lost(format!(
                "{RECOVERY_IMPOSSIBLE}: checkpoint storage lost the register of completed \
                 checkpoints (found version {version}, this jobmanager wrote version {}); \
                 checkpoints {had:?} are lost",
                self.version
            )));
        }
        let completed = self
            .read_checkpoints(&register)
            .await
            .map_err(Fence::Retry)?;
        self.probe(Probe::RegisterConflictAdopted);
        self.emit(Event::CheckpointsRecovered {
            version,
            epoch: register.epoch,
            checkpoints: completed.iter().map(|m| m.checkpoint).collect(),
        });
        self.coordinator.adopt(completed);
        self.coordinator.resume_ids(register.next_checkpoint);
        (self.register, self.version) = (register, version);
        Ok(())
    }

    /// After a fence: the completion whose swap had an unknown outcome is
    /// completed if the fenced register names it, else it never will be.
    fn decide_unknown(&mut self) {
        let Some((entry, meta)) = self.unknown.take() else {
            return;
        };
        let checkpoint = meta.checkpoint;
        if self.register.names(&entry) {
            self.probe(Probe::UnknownOutcomeCompleted);
            self.emit(Event::CheckpointCompleted {
                checkpoint,
                offsets: meta.offsets,
            });
        } else {
            let reason = "its register write had an unknown outcome, and the register fenced \
                          for the next attempt does not name it"
                .into();
            self.probe(Probe::UnknownOutcomeAborted);
            self.emit(Event::CheckpointAborted { checkpoint, reason });
        }
    }

    async fn get(&mut self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match store_call(self.store.get(name).await)? {
            StoreResponse::Blob(blob) => Ok(blob),
            other => Err(format!("store: {other:?}")),
        }
    }

    async fn put(&mut self, name: String, bytes: Vec<u8>) -> Result<(), String> {
        store_call(self.store.put(&name, &bytes).await).map(|_| ())
    }

    /// Best effort: metadata that no register will name is garbage.
    async fn delete(&mut self, name: String) {
        let _ = self.store.delete(vec![name]).await;
    }

    /// Whether this jobmanager may act as the job's leader now: always
    /// without `ha`; with it, while its lease holds. Checked in the same
    /// step as each action it guards (a trigger, a completion, a deploy,
    /// a failover, an announcement, a message to the taskmanagers).
    fn leading(&self) -> bool {
        // Planted: a deposed leader never notices.
        if self.ctx.bug(PlantedBug::OldLeaderKeepsActing) {
            return true;
        }
        self.lease.as_ref().is_none_or(|l| l.holds())
    }

    /// Trace `event`, as the job's leader: nothing once this jobmanager
    /// has stepped down (what it still does until its loop sees that is
    /// fenced, and no event of it may read as the leader's).
    fn emit(&self, event: Event) {
        if self.leading() {
            self.ctx.emit(event);
        }
    }

    fn probe(&self, probe: Probe) {
        self.emit(Event::Probe { probe });
    }

    /// Storage refused a write for leader epoch `newer`: step down.
    fn fenced(&mut self, newer: u64) {
        if let Some(lease) = &self.lease {
            let reason = format!(
                "checkpoint storage refused its register write (leader epoch {}) for leader \
                 epoch {newer}",
                lease.epoch
            );
            lease.revoke(Some(Probe::LeaderFenced), reason);
        }
    }

    fn broadcast(&self, msg: ToTaskManager) {
        if !self.leading() {
            return;
        }
        for tm in self.tms.values() {
            let _ = tm.tx.send(msg.clone());
        }
    }

    fn is_active(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Deploying { .. })
    }

    async fn on_conn(&mut self, conn: Conn) {
        match conn {
            Conn::Registered { tm, session, tx } => {
                if self.tms.remove(&tm).is_some() {
                    self.lost(tm, "it registered again (restarted)".into());
                }
                self.tms.insert(
                    tm,
                    Tm {
                        session,
                        tx,
                        last_heard: now(),
                    },
                );
            }
            Conn::Closed { tm, session } => {
                if self.tms.get(&tm).is_some_and(|t| t.session == session) {
                    self.tms.remove(&tm);
                    self.lost(tm, "connection closed".into());
                }
            }
            Conn::Msg {
                tm,
                session,
                msg,
                at,
            } => {
                let Some(t) = self.tms.get_mut(&tm).filter(|t| t.session == session) else {
                    return;
                };
                t.last_heard = t.last_heard.max(at);
                self.on_message(tm, msg).await;
            }
            Conn::Client { request, reply } => {
                let _ = reply.send(self.on_client(request));
            }
        }
    }

    /// Answer a client (Flink's REST handlers for savepoints and
    /// stop-with-savepoint).
    fn on_client(&mut self, request: ClientRequest) -> ClientResponse {
        let ended = match &self.phase {
            Phase::Ending { end, .. } => Some(end.clone()),
            _ => self.ended.clone(),
        };
        let ours = self.ctx.config.run;
        let (run, request, stop, drain) = match request {
            ClientRequest::StopWithSavepoint {
                run,
                request,
                drain,
            } => (run, request, true, drain),
            ClientRequest::TriggerSavepoint { run, request } => (run, request, false, false),
            ClientRequest::Status { run, request } if run == ours => {
                return match self.stops.get(&request).map(|r| (r.stop, &r.status)) {
                    None => ClientResponse::Unknown,
                    Some((_, StopStatus::Failed(reason))) => ClientResponse::Failed(reason.clone()),
                    // A stop is done once the job finished; a savepoint
                    // once it completed.
                    Some((stop, StopStatus::Completed(savepoint)))
                        if !stop || ended == Some(JobState::Finished) =>
                    {
                        ClientResponse::Completed {
                            savepoint: *savepoint,
                        }
                    }
                    // Under way, unless the job ended meanwhile.
                    Some(_) => match &ended {
                        Some(end) => ClientResponse::Ended(format!("{end:?}")),
                        None => ClientResponse::Pending,
                    },
                };
            }
            ClientRequest::Status { run, .. } => (run, 0, false, false),
        };
        if run != ours {
            // Another job (run) of the lifecycle, as another job id would
            // be in Flink: not this one's to stop.
            return ClientResponse::Ended(format!(
                "run {run} of the job is over; this is run {ours}"
            ));
        }
        match self.stops.get(&request).map(|r| &r.status) {
            Some(StopStatus::Pending { .. } | StopStatus::Completed(_)) => {
                return ClientResponse::Accepted
            }
            Some(StopStatus::Failed(_)) | None => {}
        }
        if let Some(end) = ended {
            return ClientResponse::Ended(format!("{end:?}"));
        }
        // A request while the job's tasks are being scheduled or deployed
        // (its start, or a restart's) is accepted as one during a restore
        // is, and triggered once every task runs: refused, a stop asked
        // as a run starts could lose to the job's end before the client's
        // next ask. Between a failover and the restart's redeploy it is
        // refused, and the client asks again.
        if !matches!(
            self.phase,
            Phase::Running | Phase::Deploying { .. } | Phase::Waiting { .. }
        ) {
            return ClientResponse::Refused(format!("the job is not running: {:?}", self.phase));
        }
        let queue = match self.in_flight() {
            None => false,
            // A stop waits behind a plain savepoint.
            Some((_, r)) if stop && !r.stop && self.queued_stop.is_none() => true,
            Some((other, _)) => {
                return ClientResponse::Refused(format!("savepoint request {other} is under way"))
            }
        };
        if self.stops.len() >= MAX_STOP_REQUESTS {
            self.stops.pop_first();
        }
        let status = StopStatus::Pending { savepoint: None };
        let r = SavepointRequest {
            stop,
            drain,
            status,
        };
        self.stops.insert(request, r);
        if queue {
            self.queued_stop = Some(request);
        } else {
            self.stopping = Some(request);
        }
        if stop {
            self.coordinator.hold_triggers(true);
        }
        ClientResponse::Accepted
    }

    /// The savepoint request under way, and whether it stops the job.
    fn in_flight(&self) -> Option<(u64, &SavepointRequest)> {
        let request = self.stopping?;
        self.stops.get(&request).map(|r| (request, r))
    }

    /// Whether a stop-with-savepoint is under way.
    fn stopping_job(&self) -> bool {
        self.in_flight().is_some_and(|(_, r)| r.stop)
    }

    /// Trigger the savepoint of the request under way, if it has none yet
    /// (the job is running).
    fn trigger_savepoint(&mut self) {
        let Some((request, r)) = self.in_flight() else {
            return;
        };
        let StopStatus::Pending { savepoint: None } = r.status else {
            return;
        };
        if !self.restoring.is_empty() {
            // Not while a task restores: a savepoint taken during a restore
            // longer than its timeout would expire, and a stop's failure
            // fail the job over into the same restore. Flink fails such a
            // trigger (`NOT_ALL_REQUIRED_TASKS_RUNNING`) and its client asks
            // again; here the accepted request waits, and is triggered once
            // every task runs (`ToJobManager::Running`), before the
            // periodic trigger a stop holds back could end the job first.
            return;
        }
        let (stop, drain) = (r.stop, r.drain);
        if !self.leading() {
            return;
        }
        let checkpoint = self.coordinator.trigger_savepoint(now());
        let epoch = self.epoch;
        if drain {
            self.drained_from.get_or_insert(checkpoint);
        }
        let status = StopStatus::Pending {
            savepoint: Some(checkpoint),
        };
        self.set_status(request, status);
        self.emit(Event::CheckpointTriggered { checkpoint, epoch });
        self.emit(Event::SavepointTriggered {
            checkpoint,
            epoch,
            stop,
            drain,
        });
        self.broadcast(ToTaskManager::Trigger {
            epoch,
            checkpoint,
            stop,
            drain,
        });
    }

    fn set_status(&mut self, request: u64, status: StopStatus) {
        if let Some(r) = self.stops.get_mut(&request) {
            r.status = status;
        }
    }

    /// The savepoint of the request under way, once triggered, and whether
    /// it stops the job.
    fn pending_savepoint(&self) -> Option<(u64, bool)> {
        let (_, r) = self.in_flight()?;
        match r.status {
            StopStatus::Pending {
                savepoint: Some(savepoint),
            } => Some((savepoint, r.stop)),
            _ => None,
        }
    }

    /// The savepoint of the stop under way, once triggered.
    fn stop_savepoint(&self) -> Option<u64> {
        self.pending_savepoint()
            .filter(|(_, stop)| *stop)
            .map(|(savepoint, _)| savepoint)
    }

    /// Record the outcome of the request under way; a plain savepoint's
    /// ends its request.
    fn settle_request(&mut self, status: StopStatus) {
        let Some((request, r)) = self.in_flight() else {
            return;
        };
        let stop = r.stop;
        self.set_status(request, status);
        if !stop {
            // A stop queued behind it is under way now.
            self.stopping = self.queued_stop.take();
        }
    }

    fn lost(&mut self, tm: u32, reason: String) {
        let taskmanager = addr::taskmanager(tm);
        self.emit(Event::TaskManagerLost {
            taskmanager: taskmanager.clone(),
            reason: reason.clone(),
        });
        if !self.is_active() {
            return;
        }
        let cause = format!("{taskmanager} lost: {reason}");
        if self.ctx.bug(PlantedBug::FailoverNotCounted) {
            self.fail_uncounted(cause);
        } else {
            self.fail(cause);
        }
    }

    /// Planted ([`PlantedBug::FailoverNotCounted`]): a failover that never
    /// asks the restart strategy; the next attempt deploys at once and the
    /// failure is not counted.
    fn fail_uncounted(&mut self, cause: String) {
        if matches!(
            self.phase,
            Phase::Restarting { .. } | Phase::Ending { .. } | Phase::Ended
        ) {
            return;
        }
        let next = self.epoch + 1;
        self.emit(Event::Failover { epoch: next, cause });
        self.broadcast(ToTaskManager::Cancel { epoch: self.epoch });
        self.coordinator.stop();
        self.emit(Event::JobState(JobState::Restarting { epoch: next }));
        self.phase = Phase::Restarting { until: now() };
    }

    async fn on_message(&mut self, tm: u32, msg: ToJobManager) {
        let current = self.epoch;
        let running = matches!(self.phase, Phase::Running);
        match msg {
            ToJobManager::Deployed { epoch } if epoch == current => {
                if let Phase::Deploying { deployed, .. } = &mut self.phase {
                    deployed.insert(tm);
                    if deployed.len() == self.plan.taskmanagers as usize {
                        self.start();
                    }
                }
            }
            ToJobManager::Running { epoch } if epoch == current => {
                self.restoring.remove(&tm);
                (self.coordinator).tasks_restoring(!self.restoring.is_empty());
                if running {
                    // A savepoint request that waited for the restore.
                    self.trigger_savepoint();
                }
            }
            ToJobManager::Ack {
                epoch,
                checkpoint,
                task,
                handle,
                source_offset,
                finished,
            } if running && epoch == current => {
                self.emit(Event::CheckpointAcknowledged { checkpoint, task });
                if let Some(all) =
                    self.coordinator
                        .on_ack(checkpoint, task, handle, source_offset, finished)
                {
                    self.complete(all.meta, all.finished).await;
                }
            }
            ToJobManager::Decline {
                epoch,
                checkpoint,
                task,
                reason,
            } if running && epoch == current => {
                let decisions = self
                    .coordinator
                    .fail(checkpoint, format!("{task} declined: {reason}"));
                self.decide(decisions, Some(Probe::CheckpointAbortedDeclined))
                    .await;
            }
            ToJobManager::TaskFailed {
                epoch,
                task,
                reason,
                fatal,
                unreadable,
            } if epoch == current => {
                // Counted even when another task's failure already failed
                // the attempt over: each restore that found the state
                // unreadable is evidence.
                if let Some(checkpoint) = unreadable {
                    self.state_unreadable(checkpoint, task, &reason).await;
                }
                if !self.is_active() {
                    return;
                }
                let cause = format!("{task} failed: {reason}");
                if fatal {
                    self.probe(Probe::RecoveryImpossible);
                    self.end(JobState::Failed { reason: cause });
                } else {
                    self.fail(cause);
                }
            }
            ToJobManager::Committed {
                epoch,
                checkpoint,
                task,
            } if running
                && epoch == current
                && self.final_checkpoint.is_some_and(|f| checkpoint >= f) =>
            {
                let newest = self.committed.entry(task).or_default();
                *newest = (*newest).max(checkpoint);
                // Finished once every count task has committed the newest
                // checkpoint triggered, not just the final one: a checkpoint
                // triggered after the final one has pre-committed a
                // transaction, and ending before it is committed would leave
                // it open for ever (lingering-transaction). Committing it
                // needs a completed checkpoint at or after it, as in Flink's
                // TwoPhaseCommitSinkFunction.
                let triggered = self.coordinator.next_id().saturating_sub(1);
                let all_committed = self.committed.len()
                    == self.plan.sink_vertex().parallelism as usize
                    && self.committed.values().all(|c| *c >= triggered);
                // Planted: the end of input is never acted on, and the job
                // runs on after every record was committed.
                let finished = !self.ctx.bug(PlantedBug::NeverFinish);
                if finished && all_committed {
                    self.end(JobState::Finished);
                }
            }
            _ => {}
        }
    }

    async fn tick(&mut self) {
        let t = now();
        let timing = self.ctx.config.timing.clone();
        if t >= self.next_heartbeat {
            self.broadcast(ToTaskManager::Heartbeat);
            self.next_heartbeat = t + timing.heartbeat_interval;
        }
        let silent: Vec<u32> = self
            .tms
            .iter()
            .filter(|(_, tm)| t.saturating_sub(tm.last_heard) > timing.heartbeat_timeout)
            .map(|(i, _)| *i)
            .collect();
        for tm in silent {
            self.probe(Probe::TaskManagerHeartbeatTimeout);
            self.tms.remove(&tm);
            self.lost(
                tm,
                format!("no heartbeat for {:?}", timing.heartbeat_timeout),
            );
        }
        match &self.phase {
            Phase::Restarting { until } if t >= *until => self.phase = Phase::Waiting { since: t },
            Phase::Waiting { since } if t.saturating_sub(*since) > timing.slot_request_timeout => {
                let have = self.tms.len();
                let want = self.plan.taskmanagers;
                let fence = match &self.deploy_blocked {
                    Some(e) => format!("; {e}"),
                    None => String::new(),
                };
                self.fail(format!(
                    "slot request timed out: {have} of {want} taskmanagers registered{fence}"
                ));
            }
            Phase::Waiting { .. }
                if self.tms.len() == self.plan.taskmanagers as usize && t >= self.next_deploy =>
            {
                self.deploy().await
            }
            Phase::Deploying { since, .. }
                if t.saturating_sub(*since) > timing.slot_request_timeout =>
            {
                self.fail("deployment timed out".into());
            }
            Phase::Running => {
                self.trigger_savepoint();
                self.hold_after_final();
                // The only aborts a poll decides are expiries.
                let decisions = self.coordinator.poll(t);
                self.decide(decisions, Some(Probe::CheckpointAbortedTimeout))
                    .await;
            }
            Phase::Ending { .. } if !self.leading() => {}
            Phase::Ending { end, since } => {
                let (end, since) = (end.clone(), *since);
                let failed = match &end {
                    JobState::Failed { reason } => Some(reason.clone()),
                    _ => None,
                };
                let durable = self
                    .put(
                        end_blob(self.ctx.config.run),
                        format::encode(BlobKind::End, &failed),
                    )
                    .await
                    .is_ok();
                // Without storage the end cannot be made durable; announce it
                // anyway rather than hang (a restart may then run it again).
                if durable || t.saturating_sub(since) > timing.slot_request_timeout {
                    self.announce(end);
                    self.phase = Phase::Ended;
                }
            }
            _ => {}
        }
    }

    async fn deploy(&mut self) {
        let epoch = match self.fence().await {
            Fence::Fenced(epoch) => {
                self.corrupt_fences = 0;
                epoch
            }
            Fence::Retry(e) => {
                // A register that keeps failing its check is corrupt at
                // rest: nothing says which checkpoints completed.
                self.corrupt_fences = match e.contains("corrupt") {
                    true => self.corrupt_fences + 1,
                    false => 0,
                };
                if self.corrupt_fences >= CORRUPT_FENCES {
                    self.probe(Probe::RecoveryImpossible);
                    return self.end(JobState::Failed {
                        reason: format!(
                            "{RECOVERY_IMPOSSIBLE}: {CORRUPT_FENCES} fences in a row of the \
                             register of completed checkpoints failed a check ({e}): the \
                             register, or the leader epoch that fences it, is corrupt at rest"
                        ),
                    });
                }
                self.deploy_blocked = Some(format!(
                    "the register of completed checkpoints could not be fenced: {e}"
                ));
                self.next_deploy = now() + self.ctx.config.timing.heartbeat_interval;
                return; // stay waiting; the slot request timeout bounds this
            }
            Fence::Lost(reason) => {
                self.probe(Probe::RecoveryImpossible);
                return self.end(JobState::Failed { reason });
            }
        };
        self.epoch = epoch;
        self.deploy_blocked = None;
        let restore = if self.ctx.bug(PlantedBug::RestoreOlderCheckpoint) {
            // Planted: the checkpoint before the latest, when there is one.
            self.coordinator
                .previous()
                .or(self.coordinator.latest())
                .cloned()
        } else {
            self.coordinator.latest().cloned()
        };
        let restore = match &self.first_restore {
            // Planted: every deploy restores what the first one did.
            Some(Some(first)) if self.ctx.bug(PlantedBug::FailoverRestoresResumePoint) => {
                Some(first.clone())
            }
            _ => restore,
        };
        match self
            .confirm_fallback(epoch, restore.as_ref().map(|m| m.checkpoint))
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                self.deploy_blocked = Some(format!(
                    "the sink could not confirm that nothing newer than the checkpoint to \
                     restore was committed: {e}"
                ));
                self.next_deploy = now() + self.ctx.config.timing.heartbeat_interval;
                return;
            }
        }
        if !self.leading() {
            return;
        }
        self.restoring.clear();
        for (index, tm) in &self.tms {
            let tasks = self.plan.tasks_on(*index);
            if restore.is_some() && !tasks.is_empty() {
                self.restoring.insert(*index);
            }
            let _ = tm.tx.send(ToTaskManager::Deploy {
                epoch,
                leader: self.leader_epoch(),
                tasks,
                restore: restore.clone(),
            });
        }
        self.drained_from = restore.as_ref().filter(|m| m.drained).map(|_| 0);
        if self.first_restore.is_none() {
            self.first_restore = Some(restore);
        }
        self.final_checkpoint = None;
        self.committed.clear();
        self.phase = Phase::Deploying {
            since: now(),
            deployed: BTreeSet::new(),
        };
    }

    /// The leader epoch this jobmanager acts under (0 without `ha`).
    fn leader_epoch(&self) -> u64 {
        self.lease.as_ref().map_or(0, |l| l.epoch)
    }

    fn start(&mut self) {
        if !self.leading() {
            return;
        }
        let epoch = self.epoch;
        self.broadcast(ToTaskManager::Start { epoch });
        if self.ctx.bug(PlantedBug::ClaimedCheckpointDeletedEarly) {
            // Planted: the checkpoint this process started from is deleted
            // as soon as its first attempt runs, not once a newer one
            // subsumes it.
            if let Some(Some(first)) = self.first_restore.as_mut().map(Option::take) {
                spawn(delete_checkpoints(vec![first], self.store.clone()));
            }
        }
        let restore = self.coordinator.latest().map(|m| m.checkpoint);
        self.emit(Event::TasksDeployed { epoch, restore });
        self.emit(Event::JobState(JobState::Running { epoch }));
        self.coordinator.start(epoch, now());
        (self.coordinator).tasks_restoring(!self.restoring.is_empty());
        self.phase = Phase::Running;
    }

    /// Once the final checkpoint has completed, trigger no more
    /// checkpoints, except one when every checkpoint triggered since has
    /// ended and the newest of them was aborted: its barrier pre-committed
    /// transactions that only a later completed checkpoint commits (as in
    /// Flink's `TwoPhaseCommitSinkFunction`), and the job finishes only when
    /// every count task has committed the newest checkpoint triggered.
    fn hold_after_final(&mut self) {
        let held = self.triggers_held_after_final();
        self.coordinator.hold_triggers(held);
    }

    /// Whether periodic triggers are to be held ([`Self::hold_after_final`]).
    fn triggers_held_after_final(&self) -> bool {
        if (self.stopping_job() || self.queued_stop.is_some()) && self.final_checkpoint.is_none() {
            // A stop-with-savepoint: no checkpoint after its savepoint.
            return true;
        }
        let Some(_) = self.final_checkpoint else {
            return false;
        };
        let triggered = self.coordinator.next_id().saturating_sub(1);
        let completed = self.coordinator.latest().map_or(0, |m| m.checkpoint);
        let needs_one_more = !self.coordinator.has_pending() && completed < triggered;
        !needs_one_more
    }

    /// The earliest time `t` (this jobmanager's clock) at which
    /// [`Self::tick`] would do anything if nothing else happened first
    /// (no message, no client): a heartbeat to send, a taskmanager falling
    /// silent, the restart delay or a slot request timing out, a deploy
    /// to retry, a checkpoint to trigger or expire, a savepoint to
    /// trigger, a job end to make durable. At any earlier time, `tick`
    /// changes nothing and sends nothing. `None`: nothing is due until a
    /// message changes the state.
    fn next_due(&self) -> Option<Duration> {
        let timing = &self.ctx.config.timing;
        // `tick` acts on a timeout once more than it has passed.
        let past = |since: Duration, timeout: Duration| {
            since
                .saturating_add(timeout)
                .saturating_add(Duration::from_nanos(1))
        };
        let silent = (self.tms.values()).map(|tm| past(tm.last_heard, timing.heartbeat_timeout));
        let phase = match &self.phase {
            Phase::Restarting { until } => Some(*until),
            Phase::Waiting { since } => {
                let full = self.tms.len() == self.plan.taskmanagers as usize;
                let deploy = full.then_some(self.next_deploy);
                Some(past(*since, timing.slot_request_timeout))
                    .into_iter()
                    .chain(deploy)
                    .min()
            }
            Phase::Deploying { since, .. } => Some(past(*since, timing.slot_request_timeout)),
            Phase::Running => {
                // A request waiting for the restore is triggered when the
                // last `Running` comes, a message that wakes the loop.
                let savepoint = self.restoring.is_empty()
                    && matches!(
                        self.in_flight(),
                        Some((_, r)) if matches!(r.status, StopStatus::Pending { savepoint: None })
                    );
                let held = self.triggers_held_after_final();
                if savepoint || held != self.coordinator.triggers_held() {
                    Some(Duration::ZERO)
                } else {
                    self.coordinator.next_deadline(held)
                }
            }
            Phase::Ending { .. } if !self.leading() => None,
            Phase::Ending { .. } => Some(Duration::ZERO),
            Phase::Ended => None,
        };
        (std::iter::once(self.next_heartbeat)
            .chain(silent)
            .chain(phase))
        .min()
    }

    /// How long the loop waits for a message before its next
    /// [`Self::tick`]: [`TICK`], or as many ticks as pass before the first
    /// at which `tick` could act ([`Self::next_due`]). It wakes at the tick
    /// at which a loop waking every [`TICK`] would have acted, so that
    /// skipping the ticks that do nothing changes no run. Three things
    /// bound it:
    /// - the host's timers must keep simulated time ([`clock::steady`]: a
    ///   sleep of `k` ticks on a drifting clock is not `k` sleeps of one,
    ///   and a paused host's timers all fire when it resumes, where the
    ///   loop waking every tick takes up its rhythm again);
    /// - no `ha` (a lease can run out or be revoked between two ticks,
    ///   which the loop must see at the next);
    /// - the wait stays shorter than `rpc_timeout`, the shortest timer the
    ///   host's other tasks set (RPC and connect timeouts of its storage
    ///   calls; the accept loops' retry after a failed accept is shorter,
    ///   but turmoil's accept does not fail): a timer of theirs due in the
    ///   same millisecond as the loop's wake was then set before this
    ///   sleep began, as it was before the ticking loop's last sleep.
    ///   tokio fires one millisecond's timers in the order they reach its
    ///   slot of the wheel, which a long sleep reaches by another path
    ///   than a short one, so that order is checked rather than proved:
    ///   `tests/scenarios.rs` compares every built-in scenario with a
    ///   jobmanager that looks every tick.
    ///
    /// At most [`MAX_IDLE_TICKS`].
    fn idle_wait(&self) -> Duration {
        if self.lease.is_some() || !SKIP_IDLE_TICKS.with(Cell::get) || !clock::steady() {
            return TICK;
        }
        let t = now();
        let ticks = match self.next_due() {
            Some(due) if due <= t => 1,
            Some(due) => (due - t).as_nanos().div_ceil(TICK.as_nanos()),
            None => u128::from(MAX_IDLE_TICKS),
        };
        // The most whole ticks strictly shorter than `rpc_timeout`.
        let rpc = self.ctx.config.timing.rpc_timeout.as_nanos();
        let shorter = rpc.saturating_sub(1) / TICK.as_nanos();
        let ticks = u32::try_from(ticks.min(shorter)).unwrap_or(MAX_IDLE_TICKS);
        TICK * ticks.clamp(1, MAX_IDLE_TICKS)
    }

    /// Act on the coordinator's decisions; an abort among them marks
    /// `abort_probe`, the path that aborted it.
    async fn decide(&mut self, decisions: Vec<Decision>, abort_probe: Option<Probe>) {
        for decision in decisions {
            match decision {
                Decision::Trigger(checkpoint) => {
                    if !self.leading() {
                        continue;
                    }
                    let epoch = self.epoch;
                    self.emit(Event::CheckpointTriggered { checkpoint, epoch });
                    self.broadcast(ToTaskManager::Trigger {
                        epoch,
                        checkpoint,
                        stop: false,
                        drain: false,
                    });
                }
                Decision::Abort { checkpoint, reason } => {
                    if let Some(probe) = abort_probe {
                        self.probe(probe);
                    }
                    let savepoint = (self.pending_savepoint())
                        .filter(|(savepoint, _)| *savepoint == checkpoint)
                        .map(|(_, stop)| stop);
                    self.emit(Event::CheckpointAborted {
                        checkpoint,
                        reason: reason.clone(),
                    });
                    match savepoint {
                        // Its sources read no more: the job fails over, as
                        // Flink restarts a job whose synchronous savepoint
                        // failed, and the client may ask again.
                        Some(true) => self.fail(format!(
                            "stop-with-savepoint: savepoint {checkpoint} failed: {reason}"
                        )),
                        // The job runs on; the client hears why.
                        Some(false) => self.settle_request(StopStatus::Failed(format!(
                            "savepoint {checkpoint} failed: {reason}"
                        ))),
                        None => {}
                    }
                }
                Decision::Failover { reason } => {
                    self.probe(Probe::TolerableFailuresExceeded);
                    self.fail(reason)
                }
                Decision::NotAllTasksRunning => self.probe(Probe::TriggerNotAllTasksRunning),
            }
        }
    }

    /// Every task acknowledged: write the metadata durably, then swap in a
    /// register naming it. Only then is the checkpoint complete and may the
    /// tasks commit.
    /// Write `meta` and complete its checkpoint; `finished`: every task
    /// acknowledged it as finished, so once complete it is the final one.
    async fn complete(&mut self, mut meta: CheckpointMeta, finished: bool) {
        let checkpoint = meta.checkpoint;
        if self.pending_savepoint() == Some((checkpoint, false)) {
            return self.complete_savepoint(meta).await;
        }
        meta.drained = self.drained_from.is_some_and(|d| checkpoint >= d);
        let name = metadata_name(checkpoint, meta.epoch);
        let bytes = format::encode_metadata(&meta);
        let entry = RegisteredCheckpoint {
            checkpoint,
            metadata: name.clone(),
            crc: crc32fast::hash(&bytes),
            // A savepoint is the user's, never deleted by the job.
            owned: self.stop_savepoint() != Some(checkpoint),
        };
        if let Err(reason) = self.put(name.clone(), bytes).await {
            self.delete(name).await;
            let reason = format!("metadata write failed: {reason}");
            return self
                .checkpoint_failed(checkpoint, reason, Some(Probe::CheckpointAbortedStorage))
                .await;
        }
        let retained = self.ctx.config.checkpoint.retained;
        let (next, subsumed) = self.register.with_completed(entry.clone(), retained);
        // What the job does not own stays in storage once subsumed.
        let unowned: BTreeSet<u64> = (subsumed.iter())
            .filter(|c| !c.owned)
            .map(|c| c.checkpoint)
            .collect();
        // The files of the checkpoints this completion subsumes go once the
        // register no longer names them (Flink discards them once the
        // completed checkpoint store has taken the new one): with one
        // store, in the swap's own request; with replicas, below, once this
        // jobmanager knows it still leads.
        let subsumed = self.coordinator.subsumed_by_next();
        let owned = |m: &&CheckpointMeta| !unowned.contains(&m.checkpoint);
        // Planted: what the job does not own is deleted too.
        let everything = self.ctx.bug(PlantedBug::NoClaimSnapshotDeleted);
        let dropped: Vec<&CheckpointMeta> = (subsumed.iter())
            .filter(|m| everything || owned(m))
            .collect();
        let with_swap = match self.store.deletes_with_swap() {
            true => dropped.iter().copied().flat_map(checkpoint_files).collect(),
            false => Vec::new(),
        };
        match self.swap(&next, with_swap).await {
            // The answer came after the lease could have run out: a new
            // leader may already have read the register without it, so
            // this one must not act on it (the new leader decides).
            Swap::Swapped(_) if !self.leading() => {
                self.unknown = Some((entry, meta));
                return;
            }
            Swap::Swapped(version) => {
                (self.register, self.version) = (next, version);
                if !self.store.deletes_with_swap() && !dropped.is_empty() {
                    let dropped = dropped.into_iter().cloned().collect();
                    spawn(delete_checkpoints(dropped, self.store.clone()));
                }
                // Restores found the state they read: what failed was on
                // the way (a newer checkpoint is restored from now on).
                self.suspect.clear();
            }
            Swap::Fenced(newer) => {
                // Planted `old-leader-keeps-acting`: it fails over instead.
                self.fenced(newer);
                return self.fail(format!("deposed by leader epoch {newer}"));
            }
            Swap::NotApplied(reason) => {
                self.delete(name).await;
                let reason = format!("register write failed: {reason}");
                let probe = Some(Probe::CheckpointAbortedStorage);
                return self.checkpoint_failed(checkpoint, reason, probe).await;
            }
            Swap::Conflict(current) => {
                self.delete(name).await;
                let found = current.version;
                let reason = format!(
                    "the register of completed checkpoints is at version {found}, not {}",
                    self.version
                );
                self.checkpoint_failed(checkpoint, reason.clone(), None)
                    .await;
                // The fence of the next attempt adopts (or refuses) it.
                return self.fail(reason);
            }
            Swap::Unknown(reason) => {
                self.unknown = Some((entry, meta));
                return self.fail(format!(
                    "checkpoint {checkpoint}: the outcome of its register write is unknown \
                     ({reason}); the next attempt's fence decides it"
                ));
            }
        }
        self.emit(Event::CheckpointCompleted {
            checkpoint,
            offsets: meta.offsets.clone(),
        });
        if finished && self.final_checkpoint.is_none() {
            self.final_checkpoint = Some(checkpoint);
        }
        let stop = (self.stop_savepoint() == Some(checkpoint)).then_some(checkpoint);
        if stop.is_some() {
            // The stop's savepoint: the job finishes once the sink has
            // committed it (it is the newest checkpoint triggered).
            self.emit(Event::SavepointCompleted { checkpoint });
            self.settle_request(StopStatus::Completed(checkpoint));
            self.final_checkpoint = Some(checkpoint);
        }
        let written = self.coordinator.on_written(meta, now());
        debug_assert_eq!(written, subsumed, "what the swap deleted was subsumed");
        if stop.is_some() && self.ctx.bug(PlantedBug::SavepointTxnNotCommitted) {
            // Planted: the job ends FINISHED as soon as its savepoint
            // completes, its sink never told to commit the savepoint's
            // transactions.
            return self.end(JobState::Finished);
        }
        // Only commits from the final checkpoint on are waited for (see
        // `ToJobManager::Committed` in `on_message`).
        let report = self.final_checkpoint.is_some_and(|f| checkpoint >= f);
        self.broadcast(ToTaskManager::Notify {
            epoch: self.epoch,
            checkpoint,
            report,
        });
    }

    /// All acknowledged a plain savepoint (a client's `TriggerSavepoint`):
    /// its metadata is written, and that is all. As in Flink since
    /// FLIP-193, it does not enter the register (a failover never restores
    /// it: it is the user's, never deleted by the job) and commits no side
    /// effects: the sink is not notified, and the transactions its barrier
    /// pre-committed are committed with the next checkpoint's completion.
    async fn complete_savepoint(&mut self, meta: CheckpointMeta) {
        let checkpoint = meta.checkpoint;
        let name = metadata_name(checkpoint, meta.epoch);
        let bytes = format::encode_metadata(&meta);
        if let Err(reason) = self.put(name.clone(), bytes).await {
            self.delete(name).await;
            let reason = format!("metadata write failed: {reason}");
            let probe = Some(Probe::CheckpointAbortedStorage);
            return self.checkpoint_failed(checkpoint, reason, probe).await;
        }
        if !self.coordinator.savepoint_written(checkpoint) {
            return; // the attempt failed over meanwhile
        }
        self.emit(Event::SavepointCompleted { checkpoint });
        self.settle_request(StopStatus::Completed(checkpoint));
    }

    async fn checkpoint_failed(&mut self, checkpoint: u64, reason: String, probe: Option<Probe>) {
        let decisions = self.coordinator.fail(checkpoint, reason);
        self.decide(decisions, probe).await;
    }

    /// Fail the current attempt over: cancel everything and ask the
    /// restart strategy whether and when to deploy the next attempt.
    fn fail(&mut self, cause: String) {
        if !self.leading() {
            return; // stepping down: the next leader recovers the job
        }
        if matches!(
            self.phase,
            Phase::Restarting { .. } | Phase::Ending { .. } | Phase::Ended
        ) {
            return; // the attempt is already cancelled; this failure belongs to it
        }
        let next = self.epoch + 1;
        if let Some(queued) = self.queued_stop.take() {
            // A stop queued behind a plain savepoint fails with it.
            self.probe(Probe::StopWithSavepointFailed);
            self.coordinator.hold_triggers(false);
            let why = format!("the job failed over: {cause}");
            self.set_status(queued, StopStatus::Failed(why));
        }
        if let Some((_, r)) = self.in_flight() {
            // The request fails: the job runs on from its latest checkpoint
            // (a stop's savepoint, if it completed) and the client may ask
            // again.
            if r.stop {
                self.probe(Probe::StopWithSavepointFailed);
                self.coordinator.hold_triggers(false);
            }
            let why = format!("the job failed over: {cause}");
            self.settle_request(StopStatus::Failed(why));
            self.stopping = None;
        }
        self.emit(Event::Failover {
            epoch: next,
            cause: cause.clone(),
        });
        self.broadcast(ToTaskManager::Cancel { epoch: self.epoch });
        self.coordinator.stop();
        match self.restart.on_failure(now()) {
            RestartDecision::Restart { delay, attempt } => {
                let delay_ms = delay.as_millis() as u64;
                self.emit(Event::RestartScheduled { attempt, delay_ms });
                self.emit(Event::JobState(JobState::Restarting { epoch: next }));
                self.phase = Phase::Restarting {
                    until: now() + delay,
                };
            }
            RestartDecision::GiveUp { reason } => {
                self.probe(Probe::RestartsExhausted);
                self.end(JobState::Failed {
                    reason: format!("{reason}; last failure: {cause}"),
                })
            }
        }
    }

    /// The job is over: stop everything now, announce it once it is durable.
    fn end(&mut self, end: JobState) {
        self.broadcast(ToTaskManager::Cancel { epoch: self.epoch });
        self.coordinator.stop();
        self.phase = Phase::Ending { end, since: now() };
    }

    fn announce(&mut self, end: JobState) {
        self.ended = Some(end.clone());
        if !self.leading() {
            return;
        }
        self.emit(Event::JobState(end));
    }
}

/// Delete checkpoints, off the main loop (a slow store must not delay
/// heartbeats), each in one request, its metadata first, over the
/// jobmanager's own storage connection (`store` is a clone of it). Best
/// effort: a leftover blob wastes space but is never read. With one store a
/// completion's subsumed checkpoints go in its swap's own request instead
/// ([`Storage::swap`]).
async fn delete_checkpoints(dropped: Vec<CheckpointMeta>, mut store: Storage) {
    for old in dropped {
        if store
            .delete(checkpoint_files(&old).collect())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// The blobs of checkpoint `meta` in storage: its metadata first, then
/// each state handle that was uploaded (one held inline was never written
/// on its own).
fn checkpoint_files(meta: &CheckpointMeta) -> impl Iterator<Item = String> + '_ {
    let uploaded = meta.handles.values().filter(|h| h.inline.is_none());
    std::iter::once(metadata_name(meta.checkpoint, meta.epoch))
        .chain(uploaded.map(|h| h.name.clone()))
}

/// A storage answer as the jobmanager takes it: a failure of any kind is
/// an `Err` naming it.
fn store_call(answer: Result<StoreResponse, String>) -> Result<StoreResponse, String> {
    match answer? {
        StoreResponse::Error(e) | StoreResponse::NotApplied(e) => Err(format!("store: {e}")),
        answer => Ok(answer),
    }
}

/// The register in a versioned blob (none yet: the empty register).
fn decode_register(stored: Versioned) -> Result<(u64, Register), String> {
    let register = match &stored.bytes {
        Some(bytes) => format::decode(BlobKind::Register, bytes)
            .map_err(|e| format!("corrupt {REGISTER_BLOB}: {e}"))?,
        None => Register::default(),
    };
    Ok((stored.version, register))
}
