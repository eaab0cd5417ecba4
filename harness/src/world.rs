//! One seeded simulation of a scenario: builds the turmoil world with every
//! host, applies the fault plan between steps, records the trace, and
//! reads the committed output from the `sink` host's disk afterwards.
//! This loop owns `Sim::step`, so it is the one place faults happen.

use crate::fault::{Fault, FaultKind};
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
    let mut end = scenario.max_sim_time;
    let mut final_state = None;
    while sim.elapsed() < end {
        apply_due(&mut sim, &mut plan, &trace);
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

/// A step of the plan: crash or restart one host at a time.
#[derive(Debug, Clone)]
struct Step {
    at: Duration,
    host: String,
    restart: bool,
}

/// The plan as timed steps, each fault's jitter resolved by the seed (with
/// an RNG of its own, so the plan never shifts turmoil's random choices).
fn expand(faults: &[Fault], seed: u64) -> Vec<Step> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0xfa17_7157);
    let mut steps = Vec::new();
    for f in faults {
        let jitter = rng.gen_range(0..f.jitter.as_millis().max(1) as u64);
        let at = f.at + Duration::from_millis(jitter);
        let step = |at, restart| Step {
            at,
            host: f.host.clone(),
            restart,
        };
        match f.kind {
            FaultKind::Crash => steps.push(step(at, false)),
            FaultKind::Restart => steps.push(step(at, true)),
            FaultKind::CrashRestart { after } => {
                steps.push(step(at, false));
                steps.push(step(at + after, true));
            }
        }
    }
    // Stable: steps at the same time keep the plan's order.
    steps.sort_by_key(|s| s.at);
    steps.reverse();
    steps
}

fn apply_due(sim: &mut turmoil::Sim<'_>, plan: &mut Vec<Step>, trace: &Trace) {
    while plan.last().is_some_and(|s| s.at <= sim.elapsed()) {
        let step = plan.pop().expect("checked by is_some_and above");
        let running = sim.is_host_running(step.host.as_str());
        let what = match (step.restart, running) {
            (false, true) => {
                sim.crash(step.host.as_str());
                FaultEvent::Crash
            }
            (true, false) => {
                sim.bounce(step.host.as_str());
                FaultEvent::Restart
            }
            // Crashing a crashed host or restarting a running one does nothing.
            _ => continue,
        };
        let at = sim.elapsed();
        trace.borrow_mut().push(TraceEvent {
            at,
            host: step.host,
            what: What::Fault(what),
        });
    }
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
