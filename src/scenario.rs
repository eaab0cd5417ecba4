//! Scenarios built in code: [`Scenario`], its [`Fault`]s and the [`Event`]s
//! that trigger them (docs/api.md, step 3).
//!
//! A built scenario stands for a scenario file: [`Scenario::to_toml`] is
//! that file, and a [`crate::Test`] reads it back through the same parser
//! as `flinch run` reads a file, so every field is checked against the same
//! bounds, with the same messages naming the field (`fault[0].host:
//! unknown host "taskmanager-9"`). The builder covers the common fields;
//! for the rest (restart strategies, the nemesis, disk capacities per
//! host, `sometimes`), write a scenario file (README, "Scenarios").

use flinch_harness::budget::{default_max_sim_time, MAX_SIM_TIME};
use flinch_harness::fault::{Edge, EventTrigger, FaultKind, FaultTrigger, Trigger};
use flinch_harness::job::ScenarioJob;
use flinch_harness::plan::{duration, render};
use flinch_harness::scenario::{self as harness, parse_choosing, JobChoice};
use std::fmt;
use std::ops::Range;
use std::time::Duration;

/// A scenario written in code instead of a TOML file: a name, a topology,
/// an input size, a checkpoint interval, faults, what the run must
/// deliver and a default seed range. [`crate::Test::scenario`] takes it
/// as it takes a built-in scenario's name or a file's path; the test's
/// job runs in it (a built scenario names no job).
///
/// Defaults are the scenario format's: 2 taskmanagers, parallelism 2,
/// 2,000 records, a checkpoint every 200 ms, exactly-once, seeds 0..100.
/// Nothing is checked until a test runs it; then a bad field fails the
/// test naming it, as a file's would. Its `Debug` form is the scenario
/// file ([`Scenario::to_toml`]), so proptest prints a failing generated
/// scenario as a file `flinch run` reads.
///
/// ```
/// use flinch::{Event, Fault, Scenario};
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let scenario = Scenario::new("crash-after-precommit")
///     .description("taskmanager-2 dies right after the sink pre-committed checkpoint 2")
///     .topology(2, 2)
///     .records(1_000)
///     .fault(
///         Fault::crash_restart("taskmanager-2", ms(300))
///             .on(Event::new("txn_pre_committed").checkpoint(2).delay(ms(1))),
///     )
///     .seeds(0..5);
/// # #[derive(Debug)] struct Forward;
/// # struct Pass;
/// # impl flinch::Operator for Pass {
/// #     type Key = u32; type In = (); type OutKey = u32; type Out = (); type State = ();
/// #     fn process(&mut self, k: &u32, _: (), _: &mut (), ctx: &mut flinch::Context<'_, u32, ()>) {
/// #         ctx.emit(*k, ());
/// #     }
/// # }
/// # impl flinch::Job for Forward {
/// #     fn name(&self) -> &'static str { "forward" }
/// #     fn graph(&self) -> flinch::JobGraph {
/// #         flinch::JobGraph::source("source").and_then(|s| s.key_by("pass", || Pass)).unwrap().build()
/// #     }
/// #     fn input(&self, w: &flinch::Workload, seed: u64) -> Vec<Vec<flinch::Record>> {
/// #         flinch::workload_records(w, seed)
/// #     }
/// #     fn check_output(&self, input: &[Vec<flinch::Record>], output: &[flinch::Record]) -> Vec<flinch::Finding> {
/// #         flinch::check_multiset(flinch::multiset(input.iter().flatten()), output, |k, v| format!("{k:?} {v:?}"))
/// #     }
/// # }
/// assert!(scenario.to_toml().contains("kind = \"crash_restart\""));
/// flinch::Test::new(Forward).scenario(scenario).run();
/// ```
#[derive(Clone, PartialEq)]
pub struct Scenario {
    name: String,
    description: String,
    taskmanagers: u32,
    parallelism: u32,
    records: Option<u64>,
    keys: Option<u32>,
    checkpoint_interval: Option<Duration>,
    at_least_once: bool,
    faults: Vec<flinch_harness::fault::Fault>,
    seeds: Option<Range<u64>>,
}

impl Scenario {
    /// A scenario called `name` (1 to 128 characters, no control
    /// characters, as a file's `name`), with no faults yet. A bad name is
    /// refused when the test runs, naming the field.
    pub fn new(name: &str) -> Scenario {
        Scenario {
            name: name.to_owned(),
            description: "A scenario built in code.".to_owned(),
            taskmanagers: 2,
            parallelism: 2,
            records: None,
            keys: None,
            checkpoint_interval: None,
            at_least_once: false,
            faults: Vec::new(),
            seeds: None,
        }
    }

    /// What it tests, in a sentence or more (the file's `description`).
    pub fn description(mut self, text: &str) -> Scenario {
        self.description = text.to_owned();
        self
    }

    /// `taskmanagers` taskmanagers (1 to 256; hosts `taskmanager-1` ..)
    /// and `parallelism` subtasks per vertex (1 to 256), as the file's
    /// `topology`.
    pub fn topology(mut self, taskmanagers: u32, parallelism: u32) -> Scenario {
        self.taskmanagers = taskmanagers;
        self.parallelism = parallelism;
        self
    }

    /// The input's size: `[workload] records`, over all partitions; at
    /// least its number of distinct keys ([`keys`](Self::keys), 16 unless
    /// set).
    pub fn records(mut self, records: u64) -> Scenario {
        self.records = Some(records);
        self
    }

    /// How many distinct keys the input spreads its records over:
    /// `[workload] keys`, 1 to `records` (default 16).
    pub fn keys(mut self, keys: u32) -> Scenario {
        self.keys = Some(keys);
        self
    }

    /// A checkpoint this often (simulated time): `[checkpoint] interval`.
    pub fn checkpoint_interval(mut self, interval: Duration) -> Scenario {
        self.checkpoint_interval = Some(interval);
        self
    }

    /// Checkpoints without alignment, and a run that must deliver every
    /// output at least once (duplicates allowed): `[checkpoint] mode =
    /// "at-least-once"` and `[expect] outcome = "at-least-once"`.
    pub fn at_least_once(mut self) -> Scenario {
        self.at_least_once = true;
        self
    }

    /// Add a fault: one `[[fault]]` of the file, in the order given.
    pub fn fault(mut self, fault: Fault) -> Scenario {
        self.faults.push(fault.0);
        self
    }

    /// The seeds a test runs unless it says otherwise (`start..end`, end
    /// exclusive): `[seeds] range`.
    pub fn seeds(mut self, seeds: Range<u64>) -> Scenario {
        self.seeds = Some(seeds);
        self
    }

    /// The scenario as a scenario file, naming no job: what `flinch run`
    /// would read (with `--job`), and what a test that runs it reads.
    /// If a field is out of its bounds, the file is still written and
    /// reading it fails naming that field.
    pub fn to_toml(&self) -> String {
        match self.resolve(None) {
            Ok(scenario) => render_without_job(&scenario),
            Err(error) => format!("# does not load: {error}\n{}", self.unchecked_toml()),
        }
    }

    /// The file as far as it can be written without checking its fields:
    /// every field when the top-level ones read back, else those alone.
    pub(crate) fn unchecked_toml(&self) -> String {
        match self.assemble(&ScenarioJob::keyed_count()) {
            Ok(assembled) => render_without_job(&assembled),
            Err(_) => self.head(),
        }
    }

    /// Add `faults` (generated ones, [`crate::strategy`]).
    pub(crate) fn with_faults(mut self, faults: Vec<flinch_harness::fault::Fault>) -> Scenario {
        self.faults.extend(faults);
        self
    }

    /// The name it will be loaded as in errors.
    pub(crate) fn label(&self) -> String {
        format!("{:?} (built in code)", self.name)
    }

    /// The top-level fields and tables, without faults or job.
    fn head(&self) -> String {
        let text = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let mut s = format!(
            "name = {}\ndescription = {}\ntopology = {{ taskmanagers = {}, parallelism = {} }}\n",
            text(&self.name),
            text(&self.description),
            self.taskmanagers,
            self.parallelism
        );
        if let Some(records) = self.records {
            // TOML integers are i64: a larger count reads back as the
            // largest, which the bound on records then refuses.
            let records = records.min(i64::MAX as u64);
            s += &format!("\n[workload]\nrecords = {records}\n");
        }
        if let Some(keys) = self.keys {
            if self.records.is_none() {
                s += "\n[workload]\n";
            }
            s += &format!("keys = {keys}\n");
        }
        if self.checkpoint_interval.is_some() || self.at_least_once {
            s += "\n[checkpoint]\n";
            if let Some(interval) = self.checkpoint_interval {
                s += &format!("interval = {}\n", duration(interval));
            }
            if self.at_least_once {
                s += "mode = \"at-least-once\"\n";
            }
        }
        let outcome = if self.at_least_once {
            "at-least-once"
        } else {
            "exactly-once"
        };
        s += &format!("\n[expect]\noutcome = \"{outcome}\"\n");
        if let Some(seeds) = &self.seeds {
            s += &format!("\n[seeds]\nrange = \"{}..{}\"\n", seeds.start, seeds.end);
        }
        s
    }

    /// The scenario as the harness runs it, for `job` (or keyed-count
    /// while none is given), read back through the scenario parser: the
    /// same checks and messages as a file's, without a line number (the
    /// user wrote no file).
    pub(crate) fn resolve(&self, job: Option<&ScenarioJob>) -> Result<harness::Scenario, String> {
        let job = job.cloned().unwrap_or_else(ScenarioJob::keyed_count);
        let assembled = self.assemble(&job)?;
        parse_choosing(&render(&assembled), &self.label(), JobChoice::Given(job))
            .map_err(without_line)
    }

    /// The head read back, then the faults and the job put in, unchecked.
    fn assemble(&self, job: &ScenarioJob) -> Result<harness::Scenario, String> {
        let mut scenario =
            parse_choosing(&self.head(), &self.label(), JobChoice::Instead(job.clone()))
                .map_err(without_line)?;
        scenario.faults.clone_from(&self.faults);
        // At most the bound, so a fault too late to fit is refused at its
        // own field, not at a `max_sim_time` the user never wrote.
        scenario.max_sim_time = default_max_sim_time(
            &scenario.config,
            scenario.liveness_bound,
            &scenario.faults,
            None,
        )
        .min(MAX_SIM_TIME);
        scenario.job = job.clone();
        Ok(scenario)
    }
}

/// A scenario error's text, without its line: the line of a text the
/// user never saw.
fn without_line(mut error: harness::ScenarioError) -> String {
    error.line = None;
    error.to_string()
}

/// A rendered scenario without its `job` line: a built scenario names
/// no job.
fn render_without_job(scenario: &harness::Scenario) -> String {
    render(scenario)
        .lines()
        .filter(|l| !l.starts_with("job = "))
        .map(|l| format!("{l}\n"))
        .collect()
}

impl fmt::Debug for Scenario {
    /// The scenario file ([`Scenario::to_toml`]), after a newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", self.to_toml())
    }
}

/// One fault of a [`Scenario`]: a kind on a host (`jobmanager`,
/// `taskmanager-N`, `log`, `sink`, `store`), fired at a time, on an
/// engine [`Event`], or when another fault starts or ends. The kinds and
/// their parameters are the scenario format's `[[fault]]` (README,
/// "Scenarios"); durations are simulated time.
///
/// ```
/// use flinch::{Event, Fault};
/// use std::time::Duration;
/// let ms = Duration::from_millis;
///
/// let cut = Fault::partition("taskmanager-1", "taskmanager-2", ms(500)).at(ms(300)).id("cut");
/// let crash = Fault::crash_restart("taskmanager-2", ms(200)).when_fault_ends("cut", ms(5));
/// let late = Fault::crash_restart("taskmanager-1", ms(100))
///     .on(Event::new("state_restored").epoch(2));
/// # let _ = (cut, crash, late);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fault(flinch_harness::fault::Fault);

impl Fault {
    fn new(host: &str, kind: FaultKind) -> Fault {
        Fault(flinch_harness::fault::Fault {
            id: None,
            kind,
            host: host.to_owned(),
            at: Duration::ZERO,
            jitter: Duration::ZERO,
            on: None,
        })
    }

    /// `host` loses power (unsynced writes are lost) and stays down.
    pub fn crash(host: &str) -> Fault {
        Fault::new(host, FaultKind::Crash)
    }

    /// `host` comes back after a [`Fault::crash`].
    pub fn restart(host: &str) -> Fault {
        Fault::new(host, FaultKind::Restart)
    }

    /// `host` crashes and restarts `after` later.
    pub fn crash_restart(host: &str, after: Duration) -> Fault {
        Fault::new(host, FaultKind::CrashRestart { after })
    }

    /// `host` crashes, its disk is wiped, and it restarts `after` later.
    pub fn disk_loss(host: &str, after: Duration) -> Fault {
        Fault::new(host, FaultKind::DiskLoss { after })
    }

    /// Messages between `host` and `peer` (a host, or `"*"` for every
    /// other) are dropped for `lasting`, both ways.
    pub fn partition(host: &str, peer: &str, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::Partition {
                peer: peer.to_owned(),
                oneway: false,
                duration: lasting,
            },
        )
    }

    /// Messages between `host` and `peer` are held for `lasting`, then
    /// delivered in order.
    pub fn stall(host: &str, peer: &str, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::Stall {
                peer: peer.to_owned(),
                duration: lasting,
            },
        )
    }

    /// Messages between `host` and `peer` take up to `max` for
    /// `lasting`.
    pub fn latency(host: &str, peer: &str, max: Duration, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::Latency {
                peer: peer.to_owned(),
                min: Duration::ZERO,
                max,
                duration: lasting,
            },
        )
    }

    /// Each link between `host` and `peer` loses what is in flight on it
    /// with probability `rate` each tick, for `lasting`.
    pub fn message_loss(host: &str, peer: &str, rate: f64, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::MessageLoss {
                peer: peer.to_owned(),
                rate,
                duration: lasting,
            },
        )
    }

    /// Disk operations on `host` fail with `probability`, for `lasting`.
    pub fn io_errors(host: &str, probability: f64, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::IoErrors {
                probability,
                duration: lasting,
                path: None,
            },
        )
    }

    /// As [`Fault::io_errors`], striking only operations on paths that
    /// start with `path` (e.g. `"/store/chk-"`: checkpoint state, not
    /// metadata); the scenario file's `io_errors` with `path`.
    pub fn io_errors_under(host: &str, path: &str, probability: f64, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::IoErrors {
                probability,
                duration: lasting,
                path: Some(path.to_owned()),
            },
        )
    }

    /// Bytes read from `host`'s disk come back corrupted with
    /// `probability`, for `lasting`.
    pub fn read_corruption(host: &str, probability: f64, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::ReadCorruption {
                probability,
                duration: lasting,
            },
        )
    }

    /// Writes to `host`'s disk beyond `capacity` bytes fail, for
    /// `lasting`.
    pub fn disk_full(host: &str, capacity: u64, lasting: Duration) -> Fault {
        Fault::new(
            host,
            FaultKind::DiskFull {
                capacity,
                duration: lasting,
            },
        )
    }

    /// Fire at `at` of simulated time (default 0). With [`Fault::on`],
    /// only events at or after `at` count.
    pub fn at(mut self, at: Duration) -> Fault {
        self.0.at = at;
        self
    }

    /// Fire at a time the seed draws from `[at, at + jitter)`; with
    /// [`Fault::on`] (an event or another fault), a draw from `[0, jitter)`
    /// later than the trigger's delay after the event or edge.
    pub fn jitter(mut self, jitter: Duration) -> Fault {
        self.0.jitter = jitter;
        self
    }

    /// Name the fault, so others can fire when it starts or ends (1 to 32
    /// characters of `a-z`, `0-9`, `-`, `_`, unique in the scenario).
    pub fn id(mut self, id: &str) -> Fault {
        self.0.id = Some(id.to_owned());
        self
    }

    /// Fire on an engine event instead of at a time.
    pub fn on(mut self, event: Event) -> Fault {
        self.0.on = Some(Trigger::Event(event.0));
        self
    }

    /// Fire `delay` after the fault named `id` fires.
    pub fn when_fault_starts(self, id: &str, delay: Duration) -> Fault {
        self.on_fault(id, Edge::Start, delay)
    }

    /// Fire `delay` after the fault named `id` heals (its restart,
    /// repair, release or end).
    pub fn when_fault_ends(self, id: &str, delay: Duration) -> Fault {
        self.on_fault(id, Edge::End, delay)
    }

    fn on_fault(mut self, id: &str, edge: Edge, delay: Duration) -> Fault {
        self.0.on = Some(Trigger::Fault(FaultTrigger {
            fault: id.to_owned(),
            edge,
            delay,
        }));
        self
    }
}

/// An engine event that triggers a [`Fault`]: its name as the trace
/// writes it (`checkpoint_triggered`, `txn_pre_committed`,
/// `state_restored`, ...) and optional filters that narrow the match (the
/// scenario format's `on = { event = .. }`; README, "Scenarios").
#[derive(Debug, Clone, PartialEq)]
pub struct Event(EventTrigger);

impl Event {
    /// The first event called `name`.
    pub fn new(name: &str) -> Event {
        Event(EventTrigger::on(name))
    }

    /// Only events `host` emitted.
    pub fn host(mut self, host: &str) -> Event {
        self.0.host = Some(host.to_owned());
        self
    }

    /// Only events of job attempt `epoch` (from 1).
    pub fn epoch(mut self, epoch: u64) -> Event {
        self.0.epoch = Some(epoch);
        self
    }

    /// Only events about checkpoint `checkpoint` (from 1).
    pub fn checkpoint(mut self, checkpoint: u64) -> Event {
        self.0.checkpoint = Some(checkpoint);
        self
    }

    /// The `n`-th matching event (from 1; default 1).
    pub fn occurrence(mut self, n: u32) -> Event {
        self.0.occurrence = n;
        self
    }

    /// Fire this long after the matching event (default 0).
    pub fn delay(mut self, delay: Duration) -> Event {
        self.0.delay = delay;
        self
    }
}
