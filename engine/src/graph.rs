//! The logical job graph (docs/dataflow.md, "Job graph"; Flink's
//! `JobGraph`): which vertices a job has, which operators run in each, and
//! how they are connected. [`crate::job::Plan`] is its physical side (how
//! many subtasks, where they run, which channels).
//!
//! A job is a chain of vertices. Vertex 0 is the source: one subtask per
//! log partition, reading it, with stateless operators chained after the
//! read. Every later vertex is fed by the one before through a `key_by`
//! shuffle and starts with one keyed stateful operator
//! ([`crate::operator::Operator`]), followed by chained stateless ones. The
//! two-phase-commit sink is chained onto the last vertex. Build one with
//! [`JobGraph::source`]:
//!
//! ```
//! use flinch_engine::graph::JobGraph;
//! use flinch_engine::operator::{chain::FlatMap, Context, Operator};
//!
//! /// Counts the records of each key.
//! struct Count;
//! impl Operator for Count {
//!     type Key = u32;
//!     type In = ();
//!     type OutKey = u32;
//!     type Out = u64;
//!     type State = u64;
//!     fn process(&mut self, key: &u32, _: (), n: &mut u64, ctx: &mut Context<'_, u32, u64>) {
//!         *n += 1;
//!         ctx.emit(*key, *n);
//!     }
//! }
//!
//! let graph = JobGraph::source("source")?
//!     .key_by("count", || Count)?
//!     .map(|key: u32, n: u64| (key % 4, n))
//!     .key_by("regions", || Count)?
//!     .build();
//! assert_eq!(graph.vertices().len(), 3);
//! # Ok::<(), flinch_engine::graph::GraphError>(())
//! ```

use crate::event::Vertex;
use crate::operator::chain::{ChainedOperator, FlatMap};
use crate::operator::{job_code, Keyed, KeyedOperator, Operator};
use crate::record::Record;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::rc::Rc;

/// Builds a fresh keyed operator over `max_parallelism` key groups (each
/// subtask of each attempt gets its own).
pub type KeyedFactory = Rc<dyn Fn(u32) -> Box<dyn KeyedOperator>>;
/// Builds a fresh chained operator.
pub type ChainedFactory = Rc<dyn Fn() -> Box<dyn ChainedOperator>>;

/// The most vertices a job may have (the source included): a bound on
/// the chain of shuffles, and so on the channels and alignment per record.
pub const MAX_VERTICES: usize = 8;
/// The most stateless operators chained in one vertex.
pub const MAX_CHAINED: usize = 16;

/// Why a graph cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A vertex name that [`Vertex::new`] refuses.
    #[error("{0}")]
    BadName(String),
    /// Two vertices with the same name.
    #[error("the job already has a vertex named {0:?}: vertex names are unique")]
    DuplicateName(String),
    /// More than [`MAX_VERTICES`] vertices.
    #[error("a job has at most {MAX_VERTICES} vertices (source included)")]
    TooManyVertices,
    /// A vertex named [`SINK_ALIAS`], which scenario task filters use for
    /// the last vertex of any job.
    #[error("\"{SINK_ALIAS}\" is reserved: scenario task filters name the last vertex so")]
    Reserved,
}

/// What a scenario's task filter may call the last vertex of any job (the
/// one the sink is chained to): `sink[1]` is its subtask 1, whatever the
/// vertex's name. No vertex may be named so.
pub const SINK_ALIAS: &str = "sink";

/// One vertex of the logical graph.
#[derive(Clone)]
pub struct VertexDef {
    pub name: Vertex,
    /// The keyed operator the vertex starts with; `None` for the source.
    pub keyed: Option<KeyedFactory>,
    /// The stateless operators after it (after the read, for the source),
    /// in order; at most [`MAX_CHAINED`].
    pub chain: Vec<ChainedFactory>,
}

impl VertexDef {
    /// A fresh instance of the vertex's chained operators.
    pub fn build_chain(&self) -> Vec<Box<dyn ChainedOperator>> {
        self.chain.iter().map(|make| make()).collect()
    }
}

impl fmt::Debug for VertexDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VertexDef")
            .field("name", &self.name)
            .field("keyed", &self.keyed.is_some())
            .field("chained", &self.chain.len())
            .finish()
    }
}

/// A job's logical graph: at least two vertices (the source and one keyed
/// vertex), at most [`MAX_VERTICES`], names unique. The source vertex has
/// one subtask per log partition, every keyed vertex
/// `topology.parallelism` subtasks ([`crate::job::Plan::new`]).
#[derive(Clone, Debug)]
pub struct JobGraph {
    vertices: Vec<VertexDef>,
}

/// A graph being built: [`JobGraph::source`], then `map`/`filter`/
/// `flat_map` chained onto the last vertex, `key_by` for a new keyed
/// vertex, and [`GraphBuilder::build`] once there is at least one.
#[derive(Debug)]
pub struct GraphBuilder {
    vertices: Vec<VertexDef>,
}

/// A builder that has at least one keyed vertex, so it can be built.
#[derive(Debug)]
pub struct KeyedBuilder(GraphBuilder);

impl JobGraph {
    /// Start a graph with the source vertex `name`. Its records are the
    /// log's as they are (key and value bytes, timestamp).
    pub fn source(name: &str) -> Result<GraphBuilder, GraphError> {
        let name = Vertex::new(name).map_err(GraphError::BadName)?;
        if name.as_str() == SINK_ALIAS {
            return Err(GraphError::Reserved);
        }
        Ok(GraphBuilder {
            vertices: vec![VertexDef {
                name,
                keyed: None,
                chain: Vec::new(),
            }],
        })
    }

    /// The vertices in graph order: the source first, the sink's last.
    pub fn vertices(&self) -> &[VertexDef] {
        &self.vertices
    }

    /// The vertex named `name`.
    pub fn vertex(&self, name: Vertex) -> Option<&VertexDef> {
        self.vertices.iter().find(|v| v.name == name)
    }
}

macro_rules! chaining {
    () => {
        /// Chain `map` onto the last vertex: each `(key, value)` becomes
        /// `function(key, value)` (a re-key returns another key).
        pub fn map<K, V, K2, V2>(self, function: impl Fn(K, V) -> (K2, V2) + 'static) -> Self
        where
            K: DeserializeOwned + 'static,
            V: DeserializeOwned + 'static,
            K2: Serialize + 'static,
            V2: Serialize + 'static,
        {
            let function = Rc::new(function);
            self.chain(Rc::new(move || {
                let function = function.clone();
                Box::new(FlatMap::map(move |k, v| function(k, v)))
            }))
        }

        /// Chain `filter` onto the last vertex: keep what `keep` says yes to.
        pub fn filter<K, V>(self, keep: impl Fn(&K, &V) -> bool + 'static) -> Self
        where
            K: Serialize + DeserializeOwned + 'static,
            V: Serialize + DeserializeOwned + 'static,
        {
            let keep = Rc::new(keep);
            self.chain(Rc::new(move || {
                let keep = keep.clone();
                Box::new(FlatMap::filter(move |k: &K, v: &V| keep(k, v)))
            }))
        }

        /// Chain `flat_map` onto the last vertex: `function` pushes any
        /// number of outputs per input.
        pub fn flat_map<K, V, K2, V2>(
            self,
            function: impl Fn(K, V, &mut Vec<(K2, V2)>) + 'static,
        ) -> Self
        where
            K: DeserializeOwned + 'static,
            V: DeserializeOwned + 'static,
            K2: Serialize + 'static,
            V2: Serialize + 'static,
        {
            let function = Rc::new(function);
            self.chain(Rc::new(move || {
                let function = function.clone();
                Box::new(FlatMap::new(move |k, v, out: &mut Vec<(K2, V2)>| {
                    function(k, v, out)
                }))
            }))
        }
    };
}

impl GraphBuilder {
    chaining!();

    /// Chain an operator built by `make` onto the last vertex.
    ///
    /// # Panics
    /// Past [`MAX_CHAINED`] operators in one vertex: a graph is code, so
    /// this is a programming error, not an input error.
    pub fn chain(mut self, make: ChainedFactory) -> Self {
        let last = self
            .vertices
            .last_mut()
            .expect("a builder starts with the source vertex");
        assert!(
            last.chain.len() < MAX_CHAINED,
            "vertex {} chains more than {MAX_CHAINED} operators",
            last.name
        );
        last.chain.push(make);
        self
    }

    /// A `key_by` shuffle into a new keyed vertex `name` running the
    /// operator `make` builds (once per subtask and attempt). Errors: a bad
    /// or duplicate name, too many vertices.
    pub fn key_by<O: Operator>(
        mut self,
        name: &str,
        make: impl Fn() -> O + 'static,
    ) -> Result<KeyedBuilder, GraphError> {
        let name = Vertex::new(name).map_err(GraphError::BadName)?;
        if name.as_str() == SINK_ALIAS {
            return Err(GraphError::Reserved);
        }
        if self.vertices.iter().any(|v| v.name == name) {
            return Err(GraphError::DuplicateName(name.to_string()));
        }
        if self.vertices.len() >= MAX_VERTICES {
            return Err(GraphError::TooManyVertices);
        }
        let keyed: KeyedFactory =
            Rc::new(move |max_parallelism| Keyed::boxed(job_code::run(&make), max_parallelism));
        self.vertices.push(VertexDef {
            name,
            keyed: Some(keyed),
            chain: Vec::new(),
        });
        Ok(KeyedBuilder(self))
    }
}

impl KeyedBuilder {
    chaining!();

    /// See [`GraphBuilder::chain`].
    pub fn chain(self, make: ChainedFactory) -> Self {
        KeyedBuilder(self.0.chain(make))
    }

    /// See [`GraphBuilder::key_by`].
    pub fn key_by<O: Operator>(
        self,
        name: &str,
        make: impl Fn() -> O + 'static,
    ) -> Result<KeyedBuilder, GraphError> {
        self.0.key_by(name, make)
    }

    /// The graph, with the two-phase-commit sink chained onto the last vertex.
    pub fn build(self) -> JobGraph {
        JobGraph {
            vertices: self.0.vertices,
        }
    }
}

/// The watermark (event time, ms) a source of partition `p` sends after
/// it has read offsets `0..n`: `watermarks(p, n)`, nondecreasing in `n`.
/// A pure function of partition and offset (the input generator states
/// it), so that a restored source recomputes it and a model computes it
/// without knowing how partitions interleaved.
pub type Watermarks = Rc<dyn Fn(u32, u64) -> u64>;

/// What a run executes: the job's graph, its input log (one vector of
/// records per partition, offset = index; each record's `origin` is
/// overwritten with its `(partition, offset)` as a source reads it), and
/// its watermarks (`None`: no event time; sources then send only the
/// final `MAX` watermark, at end of input).
#[derive(Clone)]
pub struct Job {
    pub graph: JobGraph,
    pub input: Rc<Vec<Vec<Record>>>,
    pub watermarks: Option<Watermarks>,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let records: usize = self.input.iter().map(Vec::len).sum();
        f.debug_struct("Job")
            .field("graph", &self.graph)
            .field("partitions", &self.input.len())
            .field("records", &records)
            .field("watermarks", &self.watermarks.is_some())
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::operator::Context;

    /// Counts the records of each key (keyed-count's operator, which lives
    /// in the harness).
    pub(crate) struct Count;
    impl Operator for Count {
        type Key = u32;
        type In = ();
        type OutKey = u32;
        type Out = u64;
        type State = u64;
        fn process(&mut self, k: &u32, (): (), n: &mut u64, ctx: &mut Context<'_, u32, u64>) {
            *n += 1;
            ctx.emit(*k, *n);
        }
    }

    /// keyed-count's graph, for the engine's own tests.
    pub(crate) fn keyed_count() -> JobGraph {
        JobGraph::source("source")
            .and_then(|s| s.key_by("count", || Count))
            .expect("valid names")
            .build()
    }

    struct Nop;
    impl Operator for Nop {
        type Key = u32;
        type In = ();
        type OutKey = u32;
        type Out = ();
        type State = ();
        fn process(&mut self, k: &u32, (): (), (): &mut (), ctx: &mut Context<'_, u32, ()>) {
            ctx.emit(*k, ());
        }
    }

    #[test]
    fn names_are_checked_unique_and_vertices_bounded() {
        assert!(matches!(
            JobGraph::source("Source"),
            Err(GraphError::BadName(_))
        ));
        let dup = JobGraph::source("a").unwrap().key_by("a", || Nop);
        assert_eq!(dup.unwrap_err(), GraphError::DuplicateName("a".into()));
        let mut b = JobGraph::source("s").unwrap().key_by("k0", || Nop).unwrap();
        for i in 1..MAX_VERTICES - 1 {
            b = b.key_by(&format!("k{i}"), || Nop).unwrap();
        }
        assert_eq!(
            b.key_by("one-more", || Nop).unwrap_err(),
            GraphError::TooManyVertices
        );
    }

    #[test]
    fn chained_operators_go_to_the_last_vertex() {
        let graph = JobGraph::source("s")
            .unwrap()
            .filter(|_: &u32, _: &()| true)
            .key_by("k", || Nop)
            .unwrap()
            .map(|k: u32, v: ()| (k, v))
            .map(|k: u32, v: ()| (k, v))
            .build();
        let chained: Vec<usize> = graph.vertices().iter().map(|v| v.chain.len()).collect();
        assert_eq!(chained, vec![1, 2]);
        assert!(graph.vertices()[0].keyed.is_none() && graph.vertices()[1].keyed.is_some());
    }
}
