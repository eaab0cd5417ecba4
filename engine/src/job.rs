//! The physical side of a job graph (docs/dataflow.md; Flink's
//! `ExecutionGraph`): how many subtasks each vertex of a
//! [`JobGraph`] has, where they run, and the channels between them. Vertex 0
//! reads the log (one subtask per partition), each later vertex is fed by the
//! one before through a `key_by` shuffle (every upstream subtask has a
//! channel to every downstream subtask), and the two-phase-commit sink is
//! chained onto the last vertex. keyed-count is `source[p]` -> key_by ->
//! `count[k]`; with two taskmanagers some channels cross the network.

use crate::config::JobConfig;
use crate::event::{TaskId, Vertex};
use crate::graph::JobGraph;
use crate::keygroup;

/// Connections a subtask may hold besides its data channels and its
/// connections to the checkpoint store's replicas: a source's to the log, a
/// sink subtask's to the sink (counted for every subtask, which is more
/// than enough).
pub const RPC_CONNECTIONS_PER_SUBTASK: u64 = 2;

/// Connections a taskmanager holds of its own: to the jobmanager and, with
/// standby jobmanagers, to `ha` to ask which leads; counted with room to
/// spare.
pub const TASKMANAGER_CONNECTIONS: u64 = 8;

/// One vertex of the job graph: its name and how many subtasks it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VertexPlan {
    pub name: Vertex,
    pub parallelism: u32,
}

/// The job graph of a run and its placement on the taskmanagers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// In graph order: the source vertex first, the sink's vertex last;
    /// at least two.
    pub vertices: Vec<VertexPlan>,
    pub taskmanagers: u32,
    /// Key groups (Flink's `maxParallelism`), the same for every keyed vertex.
    pub max_parallelism: u32,
}

impl Plan {
    /// The plan of `graph` under `config`: the source vertex has one
    /// subtask per partition (`workload.partitions`), every keyed vertex
    /// `topology.parallelism`.
    pub fn new(graph: &JobGraph, config: &JobConfig) -> Self {
        let parallelism = |i: usize| match i {
            0 => config.workload.partitions,
            _ => config.topology.parallelism,
        };
        Plan {
            vertices: (graph.vertices().iter().enumerate())
                .map(|(i, v)| VertexPlan {
                    name: v.name,
                    parallelism: parallelism(i),
                })
                .collect(),
            taskmanagers: config.topology.taskmanagers,
            max_parallelism: config.topology.max_parallelism,
        }
    }

    /// The vertex that reads the log.
    pub fn source_vertex(&self) -> VertexPlan {
        self.vertices[0]
    }

    /// The last vertex, with the two-phase-commit sink chained: its
    /// subtasks own the sink's transactions (`TxnId::subtask`).
    pub fn sink_vertex(&self) -> VertexPlan {
        *self
            .vertices
            .last()
            .expect("a job graph has a source and a sink vertex")
    }

    /// Subtask `subtask` of the source vertex, which reads partition `subtask`.
    pub fn source(&self, subtask: u32) -> TaskId {
        TaskId {
            vertex: self.source_vertex().name,
            subtask,
        }
    }

    /// Subtask `subtask` of the sink's vertex.
    pub fn sink(&self, subtask: u32) -> TaskId {
        TaskId {
            vertex: self.sink_vertex().name,
            subtask,
        }
    }

    /// Where `vertex` is in the graph, if the job has it.
    pub fn index(&self, vertex: Vertex) -> Option<usize> {
        self.vertices.iter().position(|v| v.name == vertex)
    }

    /// The vertex named `vertex`, if the job has it.
    pub fn vertex(&self, vertex: Vertex) -> Option<VertexPlan> {
        self.index(vertex).map(|i| self.vertices[i])
    }

    /// Whether the job has `task`.
    pub fn has(&self, task: TaskId) -> bool {
        self.vertex(task.vertex)
            .is_some_and(|v| task.subtask < v.parallelism)
    }

    /// Every subtask, vertex by vertex in graph order.
    pub fn tasks(&self) -> Vec<TaskId> {
        self.vertices
            .iter()
            .flat_map(|v| {
                (0..v.parallelism).map(|subtask| TaskId {
                    vertex: v.name,
                    subtask,
                })
            })
            .collect()
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

    /// The vertex that feeds `vertex` through a shuffle (none for the source).
    pub fn upstream(&self, vertex: Vertex) -> Option<VertexPlan> {
        let index = self.index(vertex)?;
        index.checked_sub(1).map(|i| self.vertices[i])
    }

    /// The vertex `vertex` feeds through a shuffle (none for the last).
    pub fn downstream(&self, vertex: Vertex) -> Option<VertexPlan> {
        let index = self.index(vertex)?;
        self.vertices.get(index + 1).copied()
    }

    /// The number of the channel from subtask `from` of a vertex to
    /// subtask `to` of the vertex after it: the channels of each shuffle
    /// are numbered after those of the shuffles before it, `from × its
    /// downstream parallelism + to` within a shuffle (keyed-count's
    /// `source[s]` -> `count[c]` is `s × parallelism + c`).
    ///
    /// # Panics
    /// If `from` is not a subtask of a vertex with one after it.
    pub fn channel(&self, from: TaskId, to: u32) -> u32 {
        let index = self
            .index(from.vertex)
            .filter(|i| i + 1 < self.vertices.len())
            .expect("a channel starts at a vertex that feeds another");
        let before: u32 = self
            .vertices
            .windows(2)
            .take(index)
            .map(|pair| pair[0].parallelism * pair[1].parallelism)
            .sum();
        before + from.subtask * self.vertices[index + 1].parallelism + to
    }

    /// How many subtasks of a vertex with `parallelism` subtasks run on
    /// taskmanager `taskmanager` under [`Plan::placement`]'s round robin.
    fn subtasks_on(&self, parallelism: u32, taskmanager: u32) -> u32 {
        parallelism / self.taskmanagers + u32::from(taskmanager < parallelism % self.taskmanagers)
    }

    /// The most TCP connections any one taskmanager opens for a deployment
    /// of this plan, each on one of its host's ephemeral ports: from each of
    /// its subtasks, a data channel to every subtask of the vertex after
    /// (the shuffle is all to all, one connection a channel, even between
    /// subtasks on the same taskmanager) and [`RPC_CONNECTIONS_PER_SUBTASK`]
    /// at most to the log, the sink and the checkpoint store's
    /// `store_replicas` replicas; and the taskmanager's own to the
    /// jobmanager and `ha`. Flink multiplexes a taskmanager pair's channels
    /// over one connection (its Netty shuffle); flinch gives each its own,
    /// so a connection failure is a channel failure, and this count grows
    /// with the product of neighbouring vertices' parallelisms.
    pub fn connections_per_taskmanager(&self, store_replicas: u32) -> u64 {
        let rpc_per_subtask = RPC_CONNECTIONS_PER_SUBTASK + u64::from(store_replicas);
        (0..self.taskmanagers)
            .map(|tm| {
                let shuffles: u64 = (self.vertices.windows(2))
                    .map(|pair| {
                        u64::from(self.subtasks_on(pair[0].parallelism, tm))
                            * u64::from(pair[1].parallelism)
                    })
                    .sum();
                let subtasks: u64 = (self.vertices.iter())
                    .map(|v| u64::from(self.subtasks_on(v.parallelism, tm)))
                    .sum();
                shuffles + subtasks * rpc_per_subtask + TASKMANAGER_CONNECTIONS
            })
            .max()
            .unwrap_or(0)
    }

    /// The most data channels that end on any one taskmanager: one from
    /// every subtask of a vertex to each of the next vertex's subtasks that
    /// run there. Every upstream subtask connects all its channels at once
    /// when it is deployed, so after a failover this many connection
    /// requests reach the taskmanager's data port together.
    pub fn channels_into_taskmanager(&self) -> u64 {
        (0..self.taskmanagers)
            .map(|tm| {
                (self.vertices.windows(2))
                    .map(|pair| {
                        u64::from(pair[0].parallelism)
                            * u64::from(self.subtasks_on(pair[1].parallelism, tm))
                    })
                    .sum::<u64>()
            })
            .max()
            .unwrap_or(0)
    }

    /// Which subtask of a vertex with `parallelism` subtasks the key
    /// serialized as `key` goes to: its key group (FNV-1a 64 of the bytes
    /// mod `max_parallelism`), then key groups to subtasks as Flink does
    /// (`KeyGroupRangeAssignment`: `kg * parallelism / max_parallelism`);
    /// see [`keygroup`].
    pub fn route(&self, key: &[u8], parallelism: u32) -> u32 {
        keygroup::route(key, parallelism, self.max_parallelism)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_taskmanagers_split_the_subtasks_and_some_channels_cross() {
        let plan = Plan::new(&crate::graph::tests::keyed_count(), &JobConfig::default());
        assert_eq!(plan.tasks_on(0), vec![plan.source(0), plan.sink(0)]);
        assert_eq!(plan.tasks_on(1), vec![plan.source(1), plan.sink(1)]);
        let (sources, counts) = (plan.source_vertex(), plan.sink_vertex());
        assert_eq!(
            (sources.name.as_str(), counts.name.as_str()),
            ("source", "count")
        );
        let crossing = (0..sources.parallelism)
            .flat_map(|s| (0..counts.parallelism).map(move |c| (s, c)))
            .filter(|&(s, c)| plan.placement(plan.source(s)) != plan.placement(plan.sink(c)))
            .count();
        assert_eq!(crossing, 2);
    }

    #[test]
    fn connections_count_every_channel_and_call_of_the_busiest_taskmanager() {
        let mut config = JobConfig::default();
        let plan = Plan::new(&crate::graph::tests::keyed_count(), &config);
        // Each taskmanager: one source with a channel to both counts, and
        // two subtasks with the log or sink and one store replica each.
        assert_eq!(
            plan.connections_per_taskmanager(1),
            2 + 2 * (RPC_CONNECTIONS_PER_SUBTASK + 1) + TASKMANAGER_CONNECTIONS
        );
        assert_eq!(plan.channels_into_taskmanager(), 2);
        // Three taskmanagers for five subtasks a vertex: the first runs two
        // of each (subtasks 0 and 3), the last one of each.
        config.topology.taskmanagers = 3;
        config.topology.parallelism = 5;
        config.workload.partitions = 5;
        let plan = Plan::new(&crate::graph::tests::keyed_count(), &config);
        assert_eq!(
            plan.connections_per_taskmanager(3),
            2 * 5 + 4 * (RPC_CONNECTIONS_PER_SUBTASK + 3) + TASKMANAGER_CONNECTIONS
        );
        assert_eq!(plan.channels_into_taskmanager(), 5 * 2);
        let on = |tm| plan.tasks_on(tm).len();
        assert_eq!((on(0), on(1), on(2)), (4, 4, 2));
    }

    #[test]
    fn every_count_subtask_gets_some_keys() {
        let plan = Plan::new(&crate::graph::tests::keyed_count(), &JobConfig::default());
        let counts = plan.sink_vertex().parallelism;
        let mut hit = vec![false; counts as usize];
        for key in 0..16u32 {
            let key = crate::record::encode(&key).unwrap();
            hit[plan.route(&key, counts) as usize] = true;
        }
        assert!(hit.iter().all(|h| *h));
    }

    #[test]
    fn channels_of_later_shuffles_are_numbered_after_earlier_ones() {
        let v = |name: &str, parallelism| VertexPlan {
            name: Vertex::new(name).unwrap(),
            parallelism,
        };
        let plan = Plan {
            vertices: vec![v("source", 2), v("a", 3), v("b", 4)],
            taskmanagers: 2,
            max_parallelism: 128,
        };
        let task = |name: &str, subtask| TaskId {
            vertex: Vertex::new(name).unwrap(),
            subtask,
        };
        assert_eq!(plan.channel(task("source", 0), 0), 0);
        assert_eq!(plan.channel(task("source", 1), 2), 5);
        assert_eq!(plan.channel(task("a", 0), 0), 6);
        assert_eq!(plan.channel(task("a", 2), 3), 6 + 11);
        let all: std::collections::BTreeSet<u32> = plan
            .tasks()
            .into_iter()
            .filter(|t| plan.downstream(t.vertex).is_some())
            .flat_map(|t| {
                let next = plan.downstream(t.vertex).unwrap().parallelism;
                (0..next).map(move |to| (t, to))
            })
            .map(|(t, to)| plan.channel(t, to))
            .collect();
        assert_eq!(all.len(), 2 * 3 + 3 * 4, "every channel has its own number");
        assert_eq!(
            plan.upstream(Vertex::new("b").unwrap())
                .map(|v| v.parallelism),
            Some(3)
        );
        assert!(plan.upstream(Vertex::new("source").unwrap()).is_none());
        assert!(plan.has(task("b", 3)) && !plan.has(task("b", 4)) && !plan.has(task("c", 0)));
    }
}
