//! The hosts of the simulated world (docs/design.md §2). Each is an async main
//! function the harness registers with turmoil as a host factory; a crash
//! drops it, a restart calls it again.

pub mod client;
pub mod ha;
pub mod jobmanager;
pub mod log;
pub mod server;
pub mod sink;
pub mod store;
pub mod taskmanager;

use crate::config::{JobConfig, PlantedBug};
use crate::event::{Event, Observer};
use crate::graph::Job;
use crate::io::disk::Disk;
use crate::probe::Probe;
use std::rc::Rc;

/// What every host is started with.
#[derive(Clone, Debug)]
pub struct HostContext {
    pub config: Rc<JobConfig>,
    /// The job this run executes: its graph and its input log.
    pub job: Rc<Job>,
    /// The run's seed: the jobmanager's jitter and the disks' faults derive from it.
    pub seed: u64,
    pub observer: Observer,
    /// This host's name, as events report it.
    pub name: Rc<str>,
    /// This host's disk, through the faults the harness switches on.
    pub disk: Disk,
    /// How many times this host's software has started, counted by whoever
    /// runs it (the orchestrator), not by the host: 1 at its first start.
    /// A store replica formats its disk only then.
    started: Rc<std::cell::Cell<u32>>,
    /// Whether the host's disk was formatted for the cluster (`ha` writes
    /// its incarnation marker once, as an operator provisioning it would):
    /// kept by the harness across restarts, like [`HostContext::starts`].
    provisioned: Rc<std::cell::Cell<bool>>,
}

impl HostContext {
    pub fn new(
        config: Rc<JobConfig>,
        job: Rc<Job>,
        seed: u64,
        observer: Observer,
        name: &str,
    ) -> Self {
        let disk = Disk::new(seed ^ u64::from(crc32fast::hash(name.as_bytes())));
        HostContext {
            config,
            job,
            seed,
            observer,
            name: name.into(),
            disk,
            started: Rc::default(),
            provisioned: Rc::default(),
        }
    }

    /// This host's context for another run of the job (a lifecycle's
    /// resume, which replaces the job's cluster): the same host and disk,
    /// run under `config`.
    pub fn for_run(&self, config: Rc<JobConfig>) -> HostContext {
        HostContext {
            config,
            ..self.clone()
        }
    }

    /// Whether this host's disk was provisioned: a host that finds no
    /// incarnation marker after that lost its disk; before, it is still
    /// being set up (its first start may have crashed, or failed to write
    /// the marker, before it served anyone).
    pub fn provisioned(&self) -> bool {
        self.provisioned.get()
    }

    /// Record that this host's disk holds its incarnation marker.
    pub fn set_provisioned(&self) {
        self.provisioned.set(true);
    }

    /// Count a start of this host's software (the harness calls it before
    /// each start).
    pub fn count_start(&self) {
        self.started.set(self.started.get() + 1);
    }

    /// How many times this host's software has started, this start
    /// included (0 if the harness never counted).
    pub fn starts(&self) -> u32 {
        self.started.get()
    }

    /// Whether this run plants `bug` (never true in production paths).
    pub fn bug(&self, bug: PlantedBug) -> bool {
        self.config.planted_bug == Some(bug)
    }

    pub fn emit(&self, event: Event) {
        self.observer.emit(&self.name, event)
    }

    /// Mark that this host took the fault-handling path `probe`.
    pub fn probe(&self, probe: Probe) {
        self.emit(Event::Probe { probe })
    }
}

/// What a host's main function returns to turmoil.
pub type HostResult = Result<(), Box<dyn std::error::Error>>;
