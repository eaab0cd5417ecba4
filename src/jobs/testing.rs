//! A small sequential driver for the jobs' unit tests: it runs a job's
//! keyed stages through the engine's [`Keyed`] adapter the way the task
//! runtimes will (routing by key group, parallelism 2 over 128 key groups;
//! sources read batch by batch in a seeded random interleaving; after each
//! batch every keyed subtask's watermark is the minimum over the
//! partitions' watermarks; `u64::MAX` at the end), with batch-aligned
//! checkpoints, crashes and restores.

use super::{KeyedState, Timers};
use flinch_engine::keygroup::route;
use flinch_engine::operator::{KeyedOperator, KeyedSnapshot};
use flinch_engine::record::{self, Record};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub const PARALLELISM: u32 = 2;
pub const MAX_PARALLELISM: u32 = 128;

/// A stateless step chained before a keyed stage.
pub type Map = Box<dyn Fn(Record) -> Record>;

/// One keyed stage: its vertex name, how to build a subtask's operator,
/// and the stateless step chained in front of it (the re-key of a shuffle).
pub struct Stage {
    pub name: &'static str,
    pub make: Box<dyn Fn() -> Box<dyn KeyedOperator>>,
    pub map: Option<Map>,
}

/// A typed `fn(K, V) -> (K2, V2)` as a record map (decode, apply, encode).
pub fn map_record<K, V, K2, V2>(f: impl Fn(K, V) -> (K2, V2) + 'static) -> Map
where
    K: DeserializeOwned,
    V: DeserializeOwned,
    K2: Serialize,
    V2: Serialize,
{
    Box::new(move |r: Record| {
        let key: K = record::decode(&r.key).expect("the stage's input key");
        let value: V = record::decode(&r.value).expect("the stage's input value");
        let (k2, v2) = f(key, value);
        Record {
            key: record::encode(&k2).expect("encodable"),
            value: record::encode(&v2).expect("encodable"),
            ..r
        }
    })
}

/// A batch-aligned checkpoint: source offsets, every subtask's snapshot,
/// and how much output was committed with it.
#[derive(Clone)]
pub struct Cut {
    pub offsets: Vec<u64>,
    pub snapshots: Vec<Vec<Vec<u8>>>,
    pub committed: usize,
}

impl Cut {
    /// The union over its subtasks of stage `stage`'s state and timers.
    pub fn state(&self, stage: usize) -> (KeyedState, Timers) {
        let mut state = KeyedState::new();
        let mut timers = Timers::new();
        for bytes in &self.snapshots[stage] {
            let snapshot: KeyedSnapshot = record::decode(bytes).expect("a snapshot");
            for g in snapshot.groups {
                state.extend(g.state);
                timers.extend(g.timers);
            }
        }
        (state, timers)
    }
}

pub struct Sim<'a> {
    stages: &'a [Stage],
    input: &'a [Vec<Record>],
    watermark_of: &'a dyn Fn(u32, u64) -> u64,
    subtasks: Vec<Vec<Box<dyn KeyedOperator>>>,
    next: Vec<u64>,
    /// Partitions whose source has emitted no watermark since a restore
    /// ([`RestoreWatermark::FromZero`]): the keyed watermark stays 0.
    silent: Vec<bool>,
    watermark: u64,
    /// Everything the last stage emitted (the sink's input).
    pub out: Vec<Record>,
}

impl<'a> Sim<'a> {
    pub fn new(
        stages: &'a [Stage],
        input: &'a [Vec<Record>],
        watermark_of: &'a dyn Fn(u32, u64) -> u64,
    ) -> Self {
        let mut sim = Sim {
            stages,
            input,
            watermark_of,
            subtasks: Vec::new(),
            next: vec![0; input.len()],
            silent: vec![false; input.len()],
            watermark: 0,
            out: Vec::new(),
        };
        sim.subtasks = sim.fresh();
        sim
    }

    fn fresh(&self) -> Vec<Vec<Box<dyn KeyedOperator>>> {
        let stage = |s: &Stage| (0..PARALLELISM).map(|_| (s.make)()).collect();
        self.stages.iter().map(stage).collect()
    }

    pub fn done(&self) -> bool {
        self.next
            .iter()
            .zip(self.input)
            .all(|(n, log)| *n == log.len() as u64)
    }

    /// The watermark every keyed subtask has seen from the sources now. A
    /// source that read its whole partition sent `u64::MAX` with the batch
    /// that reached the end, as the engine's do.
    fn source_watermark(&self) -> u64 {
        if self.silent.iter().any(|s| *s) {
            return 0;
        }
        let wm = |(p, n): (usize, &u64)| match *n >= self.input[p].len() as u64 {
            true => u64::MAX,
            false => (self.watermark_of)(p as u32, *n),
        };
        self.next.iter().enumerate().map(wm).min().unwrap_or(0)
    }

    /// Read one batch of at most `max` records of a random unfinished
    /// partition; then the watermark.
    pub fn step(&mut self, rng: &mut SmallRng, max: u64) {
        let open: Vec<usize> = (0..self.input.len())
            .filter(|p| self.next[*p] < self.input[*p].len() as u64)
            .collect();
        let Some(&p) = open.get(rng.gen_range(0..open.len().max(1))) else {
            return;
        };
        let n = rng.gen_range(1..=max);
        let end = (self.next[p] + n).min(self.input[p].len() as u64);
        for offset in self.next[p]..end {
            self.push(0, self.input[p][offset as usize].clone());
        }
        self.next[p] = end;
        self.silent[p] = false;
        self.advance(self.source_watermark());
    }

    /// Run `steps` batches, or to the end of the input.
    pub fn steps(&mut self, rng: &mut SmallRng, max: u64, steps: usize) {
        for _ in 0..steps {
            self.step(rng, max);
        }
    }

    /// Read the rest of the input, then end of input (`u64::MAX`).
    fn push(&mut self, stage: usize, mut r: Record) {
        if stage == self.stages.len() {
            self.out.push(r);
            return;
        }
        if let Some(map) = &self.stages[stage].map {
            r = map(r);
        }
        let sub = route(&r.key, PARALLELISM, MAX_PARALLELISM) as usize;
        let mut out = Vec::new();
        let name = self.stages[stage].name;
        let result = self.subtasks[stage][sub].process(r, &mut out);
        result.unwrap_or_else(|e| panic!("{name}[{sub}]: {e}"));
        for o in out {
            self.push(stage + 1, o);
        }
    }

    /// Every stage in turn fires its timers up to `watermark`; their
    /// output reaches the next stage before its own watermark rises.
    pub fn advance(&mut self, watermark: u64) {
        self.watermark = self.watermark.max(watermark);
        for stage in 0..self.stages.len() {
            for sub in 0..PARALLELISM as usize {
                let mut out = Vec::new();
                self.subtasks[stage][sub]
                    .advance_watermark(watermark, &mut out)
                    .expect("timers fire");
                for o in out {
                    self.push(stage + 1, o);
                }
            }
        }
    }

    /// A checkpoint. Its barriers follow every source's first watermark
    /// after a restore, so the silent sources speak first.
    pub fn cut(&mut self) -> Cut {
        if self.silent.iter().any(|s| *s) {
            self.silent.fill(false);
            self.advance(self.source_watermark());
        }
        let snap = |s: &dyn KeyedOperator| s.snapshot().expect("a snapshot");
        Cut {
            offsets: self.next.clone(),
            snapshots: self
                .subtasks
                .iter()
                .map(|st| st.iter().map(|s| snap(s.as_ref())).collect())
                .collect(),
            committed: self.out.len(),
        }
    }

    /// A crash and a restore from `cut`: fresh operators with its state,
    /// the sources back at its offsets, the output after it uncommitted,
    /// and the keyed subtasks' watermark as `watermark` says.
    pub fn restore(&mut self, cut: &Cut, watermark: RestoreWatermark) {
        let before = self.watermark;
        self.subtasks = self.fresh();
        for (stage, snaps) in self.subtasks.iter_mut().zip(&cut.snapshots) {
            for (sub, bytes) in stage.iter_mut().zip(snaps) {
                sub.restore(bytes).expect("its own snapshot");
            }
        }
        self.next = cut.offsets.clone();
        self.out.truncate(cut.committed);
        self.watermark = 0;
        match watermark {
            RestoreWatermark::Recomputed => self.advance(self.source_watermark()),
            RestoreWatermark::FromZero => {
                for (p, silent) in self.silent.iter_mut().enumerate() {
                    *silent = self.next[p] < self.input[p].len() as u64;
                }
            }
            RestoreWatermark::PreCrash => self.advance(before),
        }
    }
}

/// The keyed subtasks' watermark right after a restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreWatermark {
    /// Recomputed from the restored offsets before any record (Flink,
    /// once every input channel delivered its first watermark).
    Recomputed,
    /// 0 until every unfinished partition has read a batch after the
    /// restore (or a checkpoint comes): records of one partition arrive
    /// before another partition's first watermark, as the engine's
    /// minimum over input channels allows.
    FromZero,
    /// A planted bug: the watermark the subtasks had before the crash.
    PreCrash,
}

/// A seeded interleaving.
pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}

/// Run the job to its end with `seed`'s interleaving, taking a cut every
/// `every` batches: the output and the cuts.
pub fn run_with_cuts(
    stages: &[Stage],
    input: &[Vec<Record>],
    watermark_of: &dyn Fn(u32, u64) -> u64,
    seed: u64,
    every: usize,
) -> (Vec<Record>, Vec<Cut>) {
    let mut rng = rng(seed);
    let mut sim = Sim::new(stages, input, watermark_of);
    let mut cuts = vec![sim.cut()];
    while !sim.done() {
        sim.steps(&mut rng, 12, every);
        cuts.push(sim.cut());
    }
    sim.advance(u64::MAX);
    (sim.out, cuts)
}

/// Run with `seed`'s interleaving: a cut after `cut_at` batches, a crash
/// `crash_after` batches later, a restore (see [`Sim::restore`]) and a
/// different interleaving to the end, with a cut every 3 batches: the
/// output and the cuts after the restore.
pub fn run_with_crash(
    stages: &[Stage],
    input: &[Vec<Record>],
    watermark_of: &dyn Fn(u32, u64) -> u64,
    seed: u64,
    (cut_at, crash_after): (usize, usize),
    watermark: RestoreWatermark,
) -> (Vec<Record>, Vec<Cut>) {
    let mut rng = rng(seed);
    let mut sim = Sim::new(stages, input, watermark_of);
    sim.steps(&mut rng, 12, cut_at);
    let cut = sim.cut();
    sim.steps(&mut rng, 12, crash_after);
    sim.restore(&cut, watermark);
    let mut cuts = Vec::new();
    while !sim.done() {
        sim.steps(&mut rng, 12, 3);
        cuts.push(sim.cut());
    }
    sim.advance(u64::MAX);
    (sim.out, cuts)
}
