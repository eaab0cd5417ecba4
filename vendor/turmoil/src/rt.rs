use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;

use rand::rngs::SmallRng;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio::task::LocalSet;
use tokio::time::{sleep, Duration, Instant, Sleep};

use super::Result;

// To support re-creation, we need to store a factory of the future that
// represents the software. This is somewhat annoying in that it requires
// boxxing to avoid generics.
type Software<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result>>> + 'a>;

/// Runtime kinds.
pub enum Kind<'a> {
    /// A runtime for executing test code.
    Client,

    /// A runtime that is running simulated host software.
    Host { software: Software<'a> },

    /// A runtime without any software. The network topology uses this for
    /// time tracking and message delivery.
    NoSoftware,
}

/// Runtime configuration.
#[derive(Clone, Default)]
pub struct Config {
    /// Whether io is enabled on the runtime.
    pub enable_io: bool,

    /// Rng used to seed the tokio runtime.
    ///
    /// Only used if the `tokio_unstable` cfg flag is set.
    #[cfg_attr(not(tokio_unstable), expect(dead_code))]
    pub rng: Option<SmallRng>,
}

/// Per host simulated runtime.
///
/// The tokio runtime is paused (see [`Builder::start_paused`]), which gives us
/// control over when and how to advance time. In particular, see [`Rt::tick`],
/// which lets the runtime do a bit more work.
pub struct Rt<'a> {
    pub kind: Kind<'a>,

    /// flinch patch (PATCHES.md, 23): the sleep that ends each step, made
    /// on the first step and reset to the next step's end after that
    /// (dropped with the runtime it belongs to, and before it).
    step_end: Option<Pin<Box<Sleep>>>,

    /// Handle to the Tokio runtime driving this simulated host. Each runtime
    /// may have a different sense of "now" which simulates clock skew.
    tokio: Runtime,

    /// Local task set used for running !Send tasks.
    local: LocalSet,

    /// A user readable name to identify the node.
    pub nodename: Arc<str>,

    /// Optional handle to a host's software. When software finishes, the handle is
    /// consumed to check for error, which is propagated up to fail the simulation.
    handle: Option<JoinHandle<Result>>,

    /// Runtime configuration.
    config: Config,

    /// flinch patch (PATCHES.md, 5): simulated time this runtime's clock is
    /// behind, for the idle steps it skipped; added to the clock before its
    /// next step that runs.
    owed: Duration,
}

/// The longest delay tokio's `sleep` takes (its private `safe_delay`:
/// about 30 years); a longer one sleeps that long (flinch patch 23).
const SLEEP_CAP: Duration = Duration::from_secs(86400 * 365 * 30);

impl<'a> Rt<'a> {
    pub(crate) fn client<F>(nodename: Arc<str>, client: F, mut config: Config) -> Self
    where
        F: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let handle = with(&tokio, &local, || tokio::task::spawn_local(client));

        Self {
            kind: Kind::Client,
            tokio,
            local,
            nodename,
            handle: Some(handle),
            config,
            owed: Duration::ZERO,
            step_end: None,
        }
    }

    pub(crate) fn host<F, Fut>(nodename: Arc<str>, software: F, mut config: Config) -> Self
    where
        F: Fn() -> Fut + 'a,
        Fut: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let software: Software = Box::new(move || Box::pin(software()));
        let handle = with(&tokio, &local, || tokio::task::spawn_local(software()));

        Self {
            kind: Kind::Host { software },
            tokio,
            local,
            nodename,
            handle: Some(handle),
            config,
            owed: Duration::ZERO,
            step_end: None,
        }
    }

    pub(crate) fn no_software() -> Self {
        let mut config = Config::default();
        let (tokio, local) = init(&mut config);

        Self {
            kind: Kind::NoSoftware,
            tokio,
            local,
            nodename: String::new().into(),
            handle: None,
            config,
            owed: Duration::ZERO,
            step_end: None,
        }
    }

    pub(crate) fn is_client(&self) -> bool {
        matches!(self.kind, Kind::Client)
    }

    fn is_host(&self) -> bool {
        matches!(self.kind, Kind::Host { .. })
    }

    pub(crate) fn is_software_running(&self) -> bool {
        self.handle.is_some()
    }

    pub(crate) fn now(&self) -> Instant {
        // flinch patch (PATCHES.md, 16): the runtime's clock, read without
        // entering the runtime (tokio patch 8).
        self.tokio.handle().clock_now() + self.owed
    }

    /// Whether a step of `tick` would poll no task on this runtime (flinch
    /// patch, PATCHES.md, 5): `None` if it would; else `Some(due_at_end)`.
    /// Idle: its software is running, no task is woken (in the local set or
    /// on the runtime), and no timer is due before the step would end. A
    /// timer due at its very end (`due_at_end`) fires as the step ends, so
    /// its task would only run at the next step: skipped, the step fires it
    /// at once (PATCHES.md, 17). The caller knows whether a message arrives
    /// for the host.
    pub(crate) fn idle_for(&self, tick: Duration) -> Option<bool> {
        if self.handle.is_none() || self.local.has_ready_tasks() {
            return None;
        }
        let handle = self.tokio.handle();
        // flinch patch: counted without cloning the handle (tokio's
        // PATCHES.md, 11).
        if handle.num_alive_tasks() > 0 {
            return None;
        }
        let Some(next) = handle.next_timer_in() else {
            return Some(false);
        };
        let end = self.owed + step_length(tick);
        (next >= end).then_some(next == end)
    }

    /// flinch patch (PATCHES.md, 6): how many of the next steps of `tick`,
    /// at most `max`, this runtime would skip as idle ([`Rt::idle_for`]
    /// of each in turn), given that no message arrives meanwhile. A runtime
    /// without running software skips every step.
    pub(crate) fn idle_steps(&self, tick: Duration, max: u64) -> u64 {
        if self.handle.is_none() {
            return max;
        }
        if self.local.has_ready_tasks() || self.tokio.handle().num_alive_tasks() > 0 {
            return 0;
        }
        match self.tokio.handle().next_timer_in() {
            None => max,
            Some(next) => {
                // Idle for k steps while next >= owed + k * step (a timer
                // due at the end of the k-th fires as it ends, patch 17).
                let ahead = next.saturating_sub(self.owed).as_nanos();
                let steps = ahead / step_length(tick).as_nanos();
                max.min(u64::try_from(steps).unwrap_or(u64::MAX))
            }
        }
    }

    /// Account for one step of `tick` in which this runtime is idle (see
    /// [`Rt::idle_for`]) without running it: the clock falls behind by
    /// the step, and the local set counts the poll the step would have made.
    ///
    /// `due_at_end` (flinch patch, PATCHES.md, 17): a timer falls due at the
    /// step's very end ([`Rt::idle_for`]). The step would have fired it as
    /// it ended and returned before polling the task it woke: the clock
    /// catches up now, which fires it, and the task runs at the next step,
    /// in the order it would have.
    ///
    /// The runtime's random seeds move as the step's `block_on` would have
    /// moved them (tokio's `skip_block_on`, PATCHES.md, 19).
    pub(crate) fn skip_idle(&mut self, tick: Duration, due_at_end: bool) {
        self.skip_step(tick);
        self.tokio.handle().skip_block_on();
        if due_at_end {
            self.catch_up();
        }
    }

    /// A step of a paused host (patch 7), which runs nothing whether idle
    /// hosts are skipped or not: the clock falls behind, and the local set
    /// counts the poll of the step, as for an idle step.
    pub(crate) fn skip_paused(&mut self, tick: Duration) {
        self.skip_step(tick);
    }

    fn skip_step(&mut self, tick: Duration) {
        self.owed += step_length(tick);
        self.local.skip_idle_tick();
    }

    /// flinch patch (PATCHES.md, 17): after [`Rt::skip_idle`] of steps at
    /// once ([`Rt::idle_steps`]), fire the timers due at the end of the last
    /// of them (the only ones that can be due), as `skip_idle` of that step
    /// alone would have.
    pub(crate) fn fire_timers_due(&mut self) {
        if self.owed > Duration::ZERO && self.handle.is_some() {
            let next = self.tokio.handle().next_timer_in();
            if next.is_some_and(|next| next <= self.owed) {
                self.catch_up();
            }
        }
    }

    /// Move the clock forward by the skipped steps, before a step runs.
    fn catch_up(&mut self) {
        if self.owed > Duration::ZERO {
            self.tokio
                .handle()
                .advance_paused_clock(self.owed)
                .expect("a host's clock is paused");
            self.owed = Duration::ZERO;
        }
    }

    // This method is called by [`Sim::run`], which iterates through all the
    // runtimes and ticks each one. The magic of this method is described in the
    // documentation for [`LocalSet::run_until`], but it may not be entirely
    // obvious how things fit together.
    //
    // A [`LocalSet`] tracks the tasks to run, which may in turn spawn more
    // tasks. `run_until` drives a top level task to completion, but not its
    // children. If you look below, you may be confused. The task we run here
    // just sleeps and has no children! However, it's the _same `LocalSet`_ that
    // is used to run software on the host.
    //
    // In this way, every time `tick` is called, the following unfolds:
    //
    // 1. Time advances on the runtime
    // 2. We schedule a new task that simply sleeps
    // 3. Other tasks on the `LocalSet` get a chance to run
    // 4. The sleep finishes
    // 5. The runtime pauses
    //
    // Returns whether the software has finished successfully or the error
    // that caused failure. Subsequent calls do not return the error as it is
    // expected to fail the simulation.
    pub(crate) fn tick(&mut self, duration: Duration) -> Result<bool> {
        self.catch_up();
        let (tokio, local, step_end) = (&self.tokio, &self.local, &mut self.step_end);
        tokio.block_on(async {
            local
                .run_until(async {
                    // flinch patch (PATCHES.md, 23): one sleep for every
                    // step, reset to the same deadline a new `sleep` would
                    // take (its delay capped as `sleep` caps it), instead of
                    // a timer made and dropped each step.
                    match step_end {
                        Some(step_end) => {
                            let delay = duration.min(SLEEP_CAP);
                            step_end.as_mut().reset(Instant::now() + delay);
                            step_end.await;
                        }
                        None => step_end.insert(Box::pin(sleep(duration))).await,
                    }
                })
                .await
        });

        // pull for software completion
        match &self.handle {
            Some(handle) if handle.is_finished() => {
                // Consume handle to extract task result
                if let Some(h) = self.handle.take() {
                    match self.tokio.block_on(h) {
                        // If the host was crashed the JoinError is cancelled, which
                        // needs to be handled to not fail the simulation.
                        Err(je) if je.is_cancelled() => {}
                        res => res??,
                    }
                };
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Ok(true),
        }
    }

    pub(crate) fn crash(&mut self) {
        if !self.is_host() {
            panic!("can only crash host's software");
        }

        if self.handle.take().is_some() {
            self.cancel_tasks();
        };
    }

    pub(crate) fn bounce(&mut self) {
        if !self.is_host() {
            panic!("can only bounce host's software");
        }

        self.cancel_tasks();

        if let Kind::Host { software } = &self.kind {
            let handle = with(&self.tokio, &self.local, || {
                tokio::task::spawn_local(software())
            });
            self.handle.replace(handle);
        };
    }

    /// Cancel all tasks within the [`Rt`] by dropping the current tokio
    /// [`Runtime`].
    ///
    /// Dropping the runtime blocks the calling thread until all futures have
    /// completed, which is desired here to ensure host software completes and
    /// all resources are dropped.
    ///
    /// Both the [`Runtime`] and [`LocalSet`] are replaced with new instances.
    fn cancel_tasks(&mut self) {
        let (tokio, local) = init(&mut self.config);
        // A new runtime's clock starts afresh: nothing is owed to it. The
        // step's sleep belongs to the old runtime's timers.
        self.owed = Duration::ZERO;
        self.step_end = None;

        _ = mem::replace(&mut self.tokio, tokio);
        drop(mem::replace(&mut self.local, local));
    }
}

/// How far a step of `tick` moves a paused runtime's clock: a step sleeps
/// `tick`, and tokio's timer rounds a deadline up to the millisecond.
pub(crate) fn step_length(tick: Duration) -> Duration {
    let millis = tick.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
}

fn init(config: &mut Config) -> (Runtime, LocalSet) {
    let mut tokio_builder = tokio::runtime::Builder::new_current_thread();

    #[cfg(tokio_unstable)]
    tokio_builder.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    if config.enable_io {
        tokio_builder.enable_io();
    }

    #[cfg(tokio_unstable)]
    if let Some(rng) = &mut config.rng {
        let bytes: [u8; 32] = rand::Rng::random(rng);
        let seed = tokio::runtime::RngSeed::from_bytes(&bytes);
        tokio_builder.rng_seed(seed);
    }

    let tokio = tokio_builder
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();

    tokio.block_on(async {
        // Sleep to "round" `Instant::now()` to the closest `ms`
        tokio::time::sleep(Duration::from_millis(1)).await;
    });

    (tokio, new_local())
}

fn new_local() -> LocalSet {
    #[cfg(not(tokio_unstable))]
    let local = LocalSet::new();

    #[cfg(tokio_unstable)]
    let mut local = LocalSet::new();

    #[cfg(tokio_unstable)]
    local.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    local
}

fn with<R>(tokio: &Runtime, local: &LocalSet, f: impl FnOnce() -> R) -> R {
    tokio.block_on(async { local.run_until(async { f() }).await })
}
