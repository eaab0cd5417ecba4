//! The built-in `keyed-count` job graph and where its subtasks run:
//! `source[p]` (one per log partition) -> key_by -> `count[k]` (keyed count
//! with the two-phase-commit sink chained). Every source feeds every count
//! subtask, so with two taskmanagers some channels cross the network.

use crate::config::JobConfig;
use crate::event::{TaskId, Vertex};
use crate::record::Key;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub sources: u32,
    pub counts: u32,
    pub taskmanagers: u32,
    pub max_parallelism: u32,
}

impl Plan {
    pub fn new(config: &JobConfig) -> Self {
        Plan {
            sources: config.workload.partitions,
            counts: config.topology.parallelism,
            taskmanagers: config.topology.taskmanagers,
            max_parallelism: config.topology.max_parallelism,
        }
    }

    pub fn source(subtask: u32) -> TaskId {
        TaskId {
            vertex: Vertex::Source,
            subtask,
        }
    }

    pub fn count(subtask: u32) -> TaskId {
        TaskId {
            vertex: Vertex::Count,
            subtask,
        }
    }

    pub fn tasks(&self) -> Vec<TaskId> {
        let sources = (0..self.sources).map(Plan::source);
        sources.chain((0..self.counts).map(Plan::count)).collect()
    }

    /// Index of the taskmanager (0-based) a subtask runs on: round robin.
    pub fn placement(&self, task: TaskId) -> u32 {
        task.subtask % self.taskmanagers
    }

    pub fn tasks_on(&self, taskmanager: u32) -> Vec<TaskId> {
        let tasks = self.tasks().into_iter();
        tasks
            .filter(|t| self.placement(*t) == taskmanager)
            .collect()
    }

    /// The channel from `source[s]` to `count[c]`.
    pub fn channel(&self, source: u32, count: u32) -> u32 {
        source * self.counts + count
    }

    /// Which count subtask a key goes to: hash into a key group, then key
    /// groups to subtasks as Flink does (`kg * parallelism / max_parallelism`).
    pub fn route(&self, key: Key) -> u32 {
        let group = mix(u64::from(key)) % u64::from(self.max_parallelism);
        (group * u64::from(self.counts) / u64::from(self.max_parallelism)) as u32
    }
}

/// A fixed 64-bit finalizer (splitmix64), so routing never depends on the
/// process's hasher seed.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_taskmanagers_split_the_subtasks_and_some_channels_cross() {
        let plan = Plan::new(&JobConfig::default());
        assert_eq!(plan.tasks_on(0), vec![Plan::source(0), Plan::count(0)]);
        assert_eq!(plan.tasks_on(1), vec![Plan::source(1), Plan::count(1)]);
        let crossing = (0..plan.sources)
            .flat_map(|s| (0..plan.counts).map(move |c| (s, c)))
            .filter(|&(s, c)| plan.placement(Plan::source(s)) != plan.placement(Plan::count(c)))
            .count();
        assert_eq!(crossing, 2);
    }

    #[test]
    fn every_count_subtask_gets_some_keys() {
        let plan = Plan::new(&JobConfig::default());
        let mut hit = vec![false; plan.counts as usize];
        for key in 0..16 {
            hit[plan.route(key) as usize] = true;
        }
        assert!(hit.iter().all(|h| *h));
    }
}
