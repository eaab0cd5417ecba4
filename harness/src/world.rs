//! One seeded simulation of a scenario: builds the turmoil world with every
//! host, applies the fault plan between steps, records the trace, and
//! reads the committed output from the `sink` host's disk afterwards.
//! This loop owns `Sim::step`, so it is the one place faults happen.

use crate::fault::{EventTrigger, Fault, FaultKind};
use crate::outcome::{CommittedTxn, RunOutcome};
use crate::scenario::Scenario;
use crate::trace::{FaultEvent, TraceEvent, What};
use flinch_engine::event::{Event, JobState, Observer};
use flinch_engine::hosts::{self, HostContext};
use flinch_engine::io::addr;
use flinch_engine::workload;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};
use turmoil::fs::FsHandle;

/// The simulation's tick: network delivery rounds up to it.
pub const TICK: Duration = Duration::from_millis(2);
/// After the job ends, keep simulating this long: a commit that arrives
/// after a failure must still be seen.
pub const GRACE: Duration = Duration::from_millis(300);
/// The fixed simulated wall-clock start of every run (printed nowhere else).
pub const SIM_EPOCH_SECS: u64 = 1_700_000_000;

type Trace = Rc<RefCell<Vec<TraceEvent>>>;

/// Run one seed. `Err` when the simulation itself broke (a host panicked
/// or returned an error): that is a found bug, reported with its message.
pub fn simulate(scenario: &Scenario, seed: u64) -> Result<RunOutcome, String> {
    let config = Rc::new(scenario.config.clone());
    let trace: Trace = Rc::default();
    let mut sim = turmoil::Builder::new()
        .rng_seed(seed)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(SIM_EPOCH_SECS))
        .tick_duration(TICK)
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(6))
        .simulation_duration(scenario.max_sim_time + GRACE + Duration::from_secs(1))
        .build();
    let observer = observer(trace.clone());
    let ctx = |name: &str| HostContext::new(config.clone(), seed, observer.clone(), name);
    let sink_fs: Rc<RefCell<Option<FsHandle>>> = Rc::default();

    let log = ctx(addr::LOG);
    sim.host(addr::LOG, move || hosts::log::run(log.clone()));
    let store = ctx(addr::STORE);
    sim.host(addr::STORE, move || hosts::store::run(store.clone()));
    let sink = ctx(addr::SINK);
    let fs = sink_fs.clone();
    sim.host(addr::SINK, move || {
        let (fs, sink) = (fs.clone(), sink.clone());
        async move {
            // Inside the future: turmoil sets the current host only while polling.
            *fs.borrow_mut() = Some(FsHandle::current());
            hosts::sink::run(sink).await
        }
    });
    let jm = ctx(addr::JOBMANAGER);
    sim.host(addr::JOBMANAGER, move || hosts::jobmanager::run(jm.clone()));
    for i in 0..config.topology.taskmanagers {
        let tm = ctx(&addr::taskmanager(i));
        sim.host(addr::taskmanager(i), move || {
            hosts::taskmanager::run(tm.clone(), i)
        });
    }

    let mut plan = expand(&scenario.faults, seed);
    let mut seen = 0;
    let mut end = scenario.max_sim_time;
    let mut final_state = None;
    while sim.elapsed() < end {
        apply_due(&mut sim, &mut plan, &trace, &mut seen);
        sim.step()
            .map_err(|e| format!("simulation failed at {:?}: {e}", sim.elapsed()))?;
        if final_state.is_none() {
            final_state = last_final_state(&trace.borrow());
            if final_state.is_some() {
                end = end.min(sim.elapsed() + GRACE);
            }
        }
    }
    let sim_time = sim.elapsed();
    let committed = read_committed(&sink_fs)?;
    drop(sim);
    let trace = Rc::try_unwrap(trace)
        .map(RefCell::into_inner)
        .unwrap_or_else(|rc| rc.borrow().clone());
    Ok(RunOutcome {
        trace,
        committed,
        input: workload::generate(&scenario.config.workload, seed),
        final_state,
        sim_time,
    })
}

fn observer(trace: Trace) -> Observer {
    Observer::new(move |host, event| {
        let at = turmoil::sim_elapsed().unwrap_or_default();
        trace.borrow_mut().push(TraceEvent {
            at,
            host: host.to_string(),
            what: What::Engine(event),
        });
    })
}

/// A fault of the plan that has not fired yet.
#[derive(Debug, Clone)]
struct Pending {
    host: String,
    action: FaultKind,
    /// When it is due: at a time, or on the n-th matching engine event.
    at: Duration,
    on: Option<(EventTrigger, u32)>,
}

/// The plan as pending faults, each fault's jitter resolved by the seed
/// (with an RNG of its own, so the plan never shifts turmoil's choices).
fn expand(faults: &[Fault], seed: u64) -> Vec<Pending> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xfa17_7157);
    let resolve = |f: &Fault, rng: &mut SmallRng| Pending {
        host: f.host.clone(),
        action: f.kind.clone(),
        at: f.at + Duration::from_millis(rng.gen_range(0..f.jitter.as_millis().max(1) as u64)),
        on: f.on.clone().map(|t| (t, 0)),
    };
    faults.iter().map(|f| resolve(f, &mut rng)).collect()
}

/// Apply every fault that is due, in plan order. `seen` is how much of the
/// trace earlier calls already matched against triggers.
fn apply_due(sim: &mut turmoil::Sim<'_>, plan: &mut Vec<Pending>, trace: &Trace, seen: &mut usize) {
    let now = sim.elapsed();
    let fresh: Vec<TraceEvent> = trace.borrow()[*seen..].to_vec();
    *seen += fresh.len();
    let mut due = Vec::new();
    plan.retain_mut(|p| {
        let fired = match &mut p.on {
            None => p.at <= now,
            Some((trigger, count)) => {
                let matching = fresh
                    .iter()
                    .filter(|e| e.at >= p.at && is_match(trigger, e));
                *count += matching.count() as u32;
                *count >= trigger.occurrence
            }
        };
        if fired {
            due.push(p.clone());
        }
        !fired
    });
    for p in due {
        let fault = match p.action {
            FaultKind::Crash => crash(sim, &p.host),
            FaultKind::Restart => restart(sim, &p.host),
            FaultKind::CrashRestart { after } => {
                let at = now + after;
                let host = p.host.clone();
                plan.push(Pending {
                    host,
                    action: FaultKind::Restart,
                    at,
                    on: None,
                });
                crash(sim, &p.host)
            }
        };
        if let Some(what) = fault {
            trace.borrow_mut().push(TraceEvent {
                at: now,
                host: p.host,
                what: What::Fault(what),
            });
        }
    }
    // Faults recorded above are in the trace but are never trigger events.
    *seen = trace.borrow().len();
}

fn is_match(trigger: &EventTrigger, e: &TraceEvent) -> bool {
    matches!(&e.what, What::Engine(event) if trigger.matches(event))
}

/// Crashing a crashed host does nothing (and is not traced).
fn crash(sim: &mut turmoil::Sim<'_>, host: &str) -> Option<FaultEvent> {
    sim.is_host_running(host).then(|| {
        sim.crash(host);
        FaultEvent::Crash
    })
}

/// Restarting a running host does nothing (and is not traced).
fn restart(sim: &mut turmoil::Sim<'_>, host: &str) -> Option<FaultEvent> {
    (!sim.is_host_running(host)).then(|| {
        sim.bounce(host);
        FaultEvent::Restart
    })
}

fn last_final_state(trace: &[TraceEvent]) -> Option<JobState> {
    trace.iter().rev().find_map(|e| match &e.what {
        What::Engine(Event::JobState(s @ (JobState::Finished | JobState::Failed { .. }))) => {
            Some(s.clone())
        }
        _ => None,
    })
}

fn read_committed(sink_fs: &Rc<RefCell<Option<FsHandle>>>) -> Result<Vec<CommittedTxn>, String> {
    let handle = sink_fs.borrow();
    let Some(handle) = handle.as_ref() else {
        return Ok(Vec::new());
    };
    let _guard = handle.enter();
    let txns = hosts::sink::read_committed()
        .map_err(|e| format!("reading the sink's committed output: {e}"))?;
    Ok(txns
        .into_iter()
        .map(|(txn, records)| CommittedTxn { txn, records })
        .collect())
}
