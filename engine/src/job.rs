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
