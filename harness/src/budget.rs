//! How much simulated time a job needs, judged from its input and its
//! configuration rather than a constant: what the liveness checker allows
//! after the last fault healed ([`crate::check::LivenessBound`]), and how
//! long a run may last ([`default_max_sim_time`], [`needed_sim_time`]).
//!
//! A job that has to read `n` more records per source needs
//! [`read_time`](flinch_engine::workload::read_time) for them at the rate
//! its sources sustain, plus a [`Margin`] for what a recovery and the end
//! of a job cost besides reading, each term taken from the configuration.
//! Nothing here is a constant that a long input could outgrow.
//!
//! Every sum saturates at [`Duration::MAX`] instead of overflowing; the
//! scenario loader refuses a run longer than [`MAX_SIM_TIME`], so a
//! saturated sum is an error there, never a panic.

use crate::fault::{Fault, Trigger};
use crate::nemesis::{ranges, Nemesis};
use crate::world::GRACE;
use flinch_engine::config::{JobConfig, RestartConfig};
use flinch_engine::workload::{read_time, records_per_partition};
use std::fmt;
use std::time::Duration;

/// The longest run a scenario may ask for, explicitly or through its input
/// and faults: one simulated hour. A simulated second of `steady` costs 30
/// to 65 ms of wall time on a shared 2-core machine (release build: 100,000
/// records, 50 simulated seconds in 1.7 s; 1,000,000 records, 500 in 32 s),
/// so an hour is two to four minutes per seed; a longer story belongs in
/// several scenarios.
pub const MAX_SIM_TIME: Duration = Duration::from_secs(3_600);

/// Message round trips a recovery and the job's end take besides its
/// timeouts: deploying and restoring every task, the final checkpoint's
/// barriers, acknowledgements and metadata write, the commits and the
/// job's end record, each a few messages of at most 6 ms (the harness's
/// highest latency) plus a 2 ms tick. Counted generously: 250 ms.
const ROUND_TRIPS: Duration = Duration::from_millis(250);

/// What a job may need after the last fault healed, besides reading the
/// input its latest completed checkpoint does not cover: one failover
/// that the fault left behind, then the final checkpoint. Each term comes
/// from the configuration; see the fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Margin {
    /// Until the failure a fault left behind is noticed: a connection cut
    /// by a partition stays silent for good (turmoil does not retransmit),
    /// so one of the timeouts must fire. The longest of the heartbeat
    /// timeout (plus one heartbeat interval: the last heartbeat may have
    /// come that long before the heal), the data channels' keepalive
    /// timeout and the RPC timeout. With `n` jobmanagers (`n` > 1), plus
    /// `n + 1` elections, each `lease_ttl` (a restarted `ha` grants nothing
    /// for that long, and a leader's lease may run that long) and one
    /// campaign interval (`lease_ttl / 8`): each jobmanager may step down
    /// once when checkpoint storage is out of its reach (see `redeploy`).
    pub detect: Duration,
    /// The restart strategy's longest delay: fixed-delay's and
    /// failure-rate's `delay`, exponential-delay's `max_backoff` (or its
    /// `initial_backoff`, if larger: Flink never waits less); none for
    /// `none`, which ends the job instead.
    pub restart: Duration,
    /// Registering the taskmanagers and deploying every task again:
    /// `slot_request_timeout`, how long the jobmanager waits for that before
    /// it counts as another failure. (It takes a few round trips when the
    /// faults have healed: a taskmanager cut off reconnects within one
    /// heartbeat interval of noticing, which `detect` covers.) With `n`
    /// jobmanagers, `n + 1` times that: each may give up recovering once
    /// and step down before one fails the job.
    pub redeploy: Duration,
    /// The final checkpoint, whose offsets are the input's ends: a
    /// checkpoint in flight may first have to time out (`timeout`), the
    /// next is triggered within `interval` plus `min_pause`, and its
    /// barriers have to pass every task.
    pub checkpoint: Duration,
    /// Message round trips besides the timeouts (`ROUND_TRIPS`, 250 ms).
    pub messages: Duration,
}

impl Margin {
    /// The margin of a job run with `config`.
    pub fn of(config: &JobConfig) -> Margin {
        let timing = &config.timing;
        let heartbeat = timing
            .heartbeat_timeout
            .saturating_add(timing.heartbeat_interval);
        let mut detect = heartbeat
            .max(timing.channel_keepalive_timeout)
            .max(timing.rpc_timeout);
        let mut redeploy = timing.slot_request_timeout;
        let jobmanagers = config.topology.jobmanagers;
        if jobmanagers > 1 {
            let election = timing.lease_ttl.saturating_add(timing.lease_ttl / 8);
            detect = detect.saturating_add(election.saturating_mul(jobmanagers + 1));
            redeploy = redeploy.saturating_mul(jobmanagers + 1);
        }
        let checkpoint = &config.checkpoint;
        Margin {
            detect,
            restart: longest_restart_delay(&config.restart),
            redeploy,
            checkpoint: checkpoint
                .timeout
                .saturating_add(checkpoint.interval)
                .saturating_add(checkpoint.min_pause),
            messages: ROUND_TRIPS,
        }
    }

    /// All terms together.
    pub fn total(&self) -> Duration {
        self.detect
            .saturating_add(self.restart)
            .saturating_add(self.redeploy)
            .saturating_add(self.checkpoint)
            .saturating_add(self.messages)
    }
}

impl fmt::Display for Margin {
    /// `6.600s (detect 1.100s + restart 0.050s + redeploy 3.000s +
    /// checkpoint 2.200s + messages 0.250s)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = secs;
        write!(
            f,
            "{} (detect {} + restart {} + redeploy {} + checkpoint {} + messages {})",
            s(self.total()),
            s(self.detect),
            s(self.restart),
            s(self.redeploy),
            s(self.checkpoint),
            s(self.messages)
        )
    }
}

/// A duration in seconds with milliseconds, as reports write it: `6.600s`.
pub fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// The longest delay the strategy waits before a restart.
pub(crate) fn longest_restart_delay(restart: &RestartConfig) -> Duration {
    match restart {
        RestartConfig::None => Duration::ZERO,
        RestartConfig::FixedDelay { delay, .. } | RestartConfig::FailureRate { delay, .. } => {
            *delay
        }
        RestartConfig::ExponentialDelay {
            initial_backoff,
            max_backoff,
            ..
        } => (*initial_backoff).max(*max_backoff),
    }
}

/// How long a job with `config` needs from its start without a fault:
/// its whole input (the longest partition) at the rate its sources
/// sustain, plus its [`Margin`]. This is also its liveness deadline when
/// no fault comes.
pub fn input_time(config: &JobConfig) -> Duration {
    let input = read_time(&config.workload, records_per_partition(&config.workload));
    input.saturating_add(Margin::of(config).total())
}

/// The shortest `max_sim_time` that lets the liveness checker tell a hung
/// job from a slow one: longer than the liveness deadline of a run without
/// faults, which is `liveness_bound` if the scenario sets one, else
/// [`input_time`], and never shorter than [`input_time`] (or a correct
/// job would be cut off). A run must last *more* than this.
pub fn needed_sim_time(config: &JobConfig, liveness_bound: Option<Duration>) -> Duration {
    let input = input_time(config);
    liveness_bound.map_or(input, |bound| bound.max(input))
}

/// `max_sim_time` when a scenario does not set it: when its faults may all
/// have healed, plus [`needed_sim_time`] once more for every fault that
/// waits for an engine event and once for the job after the last heal,
/// plus the grace the run loop keeps after the job ends
/// ([`GRACE`]), which also makes it longer than the liveness deadline.
///
/// A fault at a time heals at `at + jitter` plus its duration; a nemesis's
/// faults start before `until` and last at most the longest drawn duration
/// ([`ranges`]). A fault waiting for an engine event fires while the job
/// runs, so no later than [`needed_sim_time`] after what came before it,
/// then `at` (plus `jitter`) and its `delay` later, then it lasts its
/// duration; a fault waiting for another fault's edge is budgeted the same.
pub fn default_max_sim_time(
    config: &JobConfig,
    liveness_bound: Option<Duration>,
    faults: &[Fault],
    nemesis: Option<&Nemesis>,
) -> Duration {
    let needed = needed_sim_time(config, liveness_bound);
    let lasts = |f: &Fault| f.kind.duration().unwrap_or(Duration::ZERO);
    let timed = faults
        .iter()
        .filter(|f| f.on.is_none())
        .map(|f| f.at.saturating_add(f.jitter).saturating_add(lasts(f)));
    let drawn = nemesis.map(|n| n.until.saturating_add(longest_drawn_fault()));
    let healed = timed.chain(drawn).max().unwrap_or(Duration::ZERO);
    let on_events = faults
        .iter()
        .filter(|f| f.on.is_some())
        .fold(Duration::ZERO, |sum, f| {
            let delay = f.on.as_ref().map_or(Duration::ZERO, Trigger::delay);
            sum.saturating_add(needed)
                .saturating_add(f.at)
                .saturating_add(f.jitter)
                .saturating_add(delay)
                .saturating_add(lasts(f))
        });
    healed
        .saturating_add(on_events)
        .saturating_add(needed)
        .saturating_add(GRACE)
}

/// How much longer than [`default_max_sim_time`] a job with `config` and
/// the lifecycle `steps` may need: per step, when its stop comes after its
/// run started (`at` plus `jitter`; waiting for an engine event, also
/// [`needed_sim_time`] of that run and the trigger's delay), plus how long
/// the job stays stopped. The resumed run's own time is the
/// [`needed_sim_time`] that [`default_max_sim_time`] already counts for
/// the job after the last heal, taken here for the slowest run.
pub fn lifecycle_time(
    config: &JobConfig,
    liveness_bound: Option<Duration>,
    steps: &[crate::lifecycle::Step],
) -> Duration {
    // Each event-triggered stop may wait the slowest run's time for its
    // event, beyond the floor.
    let slowest = slowest_run(config, liveness_bound, steps);
    let waits = steps.iter().filter(|s| s.stop.on.is_some()).count() as u32;
    lifecycle_floor(config, liveness_bound, steps).saturating_add(slowest.saturating_mul(waits))
}

/// The longest [`needed_sim_time`] of the lifecycle's runs.
fn slowest_run(
    config: &JobConfig,
    liveness_bound: Option<Duration>,
    steps: &[crate::lifecycle::Step],
) -> Duration {
    let runs = (0..=steps.len()).map(|run| crate::lifecycle::run_config(config, steps, run));
    runs.map(|c| needed_sim_time(&c, liveness_bound))
        .max()
        .unwrap_or(Duration::ZERO)
}

/// The least time `steps` keep the job from its last run: per step, its
/// stop's `at`, `jitter` and `on.delay` (an event-triggered stop's event
/// counted as coming at once, since when it comes is the run's, not the
/// step's), then its resume's `after`; plus the slowest run's
/// [`needed_sim_time`] beyond the first run's. An explicit `max_sim_time`
/// must exceed this plus the first run's [`needed_sim_time`], or the last
/// run's liveness deadline could fall after the end of the run.
/// [`lifecycle_time`] is this with each event's wait counted too.
pub fn lifecycle_floor(
    config: &JobConfig,
    liveness_bound: Option<Duration>,
    steps: &[crate::lifecycle::Step],
) -> Duration {
    let slowest = slowest_run(config, liveness_bound, steps);
    let needed = needed_sim_time(config, liveness_bound);
    steps
        .iter()
        .fold(slowest.saturating_sub(needed), |sum, step| {
            let delay = (step.stop.on.as_ref()).map_or(Duration::ZERO, |on| on.delay);
            sum.saturating_add(step.stop.at)
                .saturating_add(step.stop.jitter)
                .saturating_add(delay)
                .saturating_add(step.resume.as_ref().map_or(Duration::ZERO, |r| r.after))
        })
}

/// How much longer than [`default_max_sim_time`] a job may need for its
/// plain savepoints (`[[savepoint]]`) to come: the latest one's `at` plus
/// `jitter` (waiting for an engine event, also [`needed_sim_time`] and the
/// trigger's delay). A savepoint holds no source back, so the job's own
/// time is not stretched by it.
pub fn savepoint_time(
    config: &JobConfig,
    liveness_bound: Option<Duration>,
    savepoints: &[crate::lifecycle::Savepoint],
) -> Duration {
    let needed = needed_sim_time(config, liveness_bound);
    (savepoints.iter())
        .map(|s| {
            let waits =
                (s.on.as_ref()).map_or(Duration::ZERO, |on| needed.saturating_add(on.delay));
            s.at.saturating_add(s.jitter).saturating_add(waits)
        })
        .max()
        .unwrap_or(Duration::ZERO)
}

/// The longest a fault a nemesis draws lasts ([`ranges`]): 1 s.
pub fn longest_drawn_fault() -> Duration {
    let lasting = [
        ranges::DOWN_MS,
        ranges::LINK_MS,
        ranges::LATENCY_MS,
        ranges::LOSS_MS,
        ranges::DISK_MS,
    ];
    let longest = lasting.iter().map(|r| *r.end()).max();
    Duration::from_millis(longest.expect("the list is not empty"))
}

#[cfg(test)]
mod tests;
