//! Structure-aware inputs: fuzzer bytes read as a sequence of choices
//! ([`arbitrary::Unstructured`]) that build a scenario file field by field,
//! rendered to TOML. Every field the format knows can appear; values are
//! drawn mostly from what a scenario would hold, sometimes from the edges
//! (0, 1, each limit and one past it, `u32::MAX`, `i64::MAX`, negative,
//! NaN, a duration of 2⁶⁴ seconds) and sometimes of the wrong type, so that
//! both validation's errors and the simulation behind an accepted file are
//! reached. The same bytes always give the same text.

use crate::nemesis::DISK_HOSTS;
use crate::scenario::host_names;
use arbitrary::{Result, Unstructured};
use flinch_engine::config::JobConfig;
use flinch_engine::config::PlantedBug;
use flinch_engine::event::{Event, HostRole};
use flinch_engine::probe::Probe;
use toml::{Table, Value};

/// At most this many `[[fault]]` tables in one sketch: enough to reach
/// interactions between faults, few enough to keep a run short.
const MAX_FAULTS: usize = 6;

/// Every fault kind, and the parameters each takes besides `kind`, `host`
/// and its time (as validation requires them).
const FAULT_KINDS: [(&str, &[&str]); 14] = [
    ("crash", &[]),
    ("restart", &[]),
    ("crash_restart", &["after"]),
    ("disk_loss", &["after"]),
    ("partition", &["peer", "oneway", "for"]),
    ("stall", &["peer", "for"]),
    ("latency", &["peer", "max", "for"]),
    ("message_loss", &["peer", "rate", "for"]),
    ("io_errors", &["probability", "for"]),
    ("read_corruption", &["probability", "for"]),
    ("disk_full", &["capacity", "for"]),
    ("bit_rot", &["path"]),
    ("pause", &["for"]),
    ("clock_drift", &["drift", "for"]),
];

/// The scenario file the choices in `u` describe.
pub fn scenario(u: &mut Unstructured<'_>) -> Result<String> {
    // One sketch in four is wild: values at and past the edges, wrong
    // types, stray fields and names. The rest keep to values a scenario
    // could hold, so that most pass validation and reach the simulation.
    let wild = u.ratio(1, 4)?;
    let mut s = Sketch { u, wild };
    let doc = s.document()?;
    Ok(toml::to_string(&doc).unwrap_or_default())
}

/// The choices being read, and whether this sketch is wild.
struct Sketch<'a, 'b> {
    u: &'a mut Unstructured<'b>,
    wild: bool,
}

impl Sketch<'_, '_> {
    fn document(&mut self) -> Result<Table> {
        let mut doc = Table::new();
        put(&mut doc, "name", self.word(&["fuzz"], &["", "a b"])?);
        put(
            &mut doc,
            "description",
            self.word(&["made by the fuzzer"], &[""])?,
        );
        let job = self.word(&["keyed-count"], &["word-count"])?;
        put(&mut doc, "job", table([("name", job)]));

        let mut taskmanagers = JobConfig::default().topology.taskmanagers;
        if self.u.ratio(2, 3)? {
            let mut t = Table::new();
            if let Some(v) = self.maybe(|s| s.count(&[1, 2, 3, 4], &[0, 70, 256, 257]))? {
                if let Some(n) = v.as_integer().and_then(|n| u32::try_from(n).ok()) {
                    taskmanagers = n;
                }
                put(&mut t, "taskmanagers", v);
            }
            self.opt(&mut t, "parallelism", |s| {
                s.count(&[1, 2, 3, 4], &[83, 256, 257])
            })?;
            self.opt(&mut t, "max_parallelism", |s| {
                s.count(&[128, 256], &[1, 32_768, 32_769])
            })?;
            put(&mut doc, "topology", t);
        }
        if self.u.ratio(2, 3)? {
            let mut t = Table::new();
            let records =
                self.maybe(|s| s.count(&[100, 500, 2_000, 6_000], &[0, 5_000_000, 5_000_001]))?;
            if let Some(records) = records {
                put(&mut t, "records", records);
            }
            // Keys at most records (the default records are 10,000).
            self.opt(&mut t, "keys", |s| {
                s.count(&[1, 2, 16, 100], &[0, 4_294_967_295])
            })?;
            self.opt(&mut t, "partitions", |s| {
                s.count(&[1, 2, 3], &[0, 128, 256, 257])
            })?;
            self.opt(&mut t, "skew", |s| s.float(&[0.0, 0.5, 1.0], &[3.0]))?;
            self.opt(&mut t, "rate", |s| {
                s.count(&[1_000, 5_000, 10_000], &[1, 1_000_000, 1_000_001])
            })?;
            // At least 100 a batch: 125 batches a second carry the rate.
            self.opt(&mut t, "batch", |s| {
                s.count(&[100, 500, 1_000], &[1, 10, 100_001])
            })?;
            put(&mut doc, "workload", t);
        }
        let mut at_least_once = false;
        if self.u.ratio(1, 2)? {
            let mut t = Table::new();
            if let Some(mode) =
                self.maybe(|s| s.word(&["exactly-once", "at-least-once"], &["none"]))?
            {
                at_least_once = mode.as_str() == Some("at-least-once");
                put(&mut t, "mode", mode);
            }
            for field in ["interval", "timeout", "min_pause"] {
                self.opt(&mut t, field, Sketch::duration)?;
            }
            self.opt(&mut t, "max_concurrent", |s| {
                s.count(&[1, 2], &[0, 100, 101])
            })?;
            self.opt(&mut t, "retained", |s| s.count(&[1, 2], &[0, 100, 101]))?;
            self.opt(&mut t, "tolerable_failures", |s| {
                s.count(&[0, 1, 3], &[1_000_001])
            })?;
            put(&mut doc, "checkpoint", t);
        }
        if self.u.ratio(1, 2)? {
            let restart = self.restart()?;
            put(&mut doc, "restart", restart);
        }
        if self.u.ratio(1, 6)? {
            let mut t = Table::new();
            for field in [
                "heartbeat_interval",
                "heartbeat_timeout",
                "channel_keepalive_timeout",
                "rpc_timeout",
                "slot_request_timeout",
            ] {
                self.opt(&mut t, field, Sketch::duration)?;
            }
            put(&mut doc, "timing", t);
        }
        if self.u.ratio(1, 6)? {
            let v = self.word(&["60s", "300s"], &["1ms", "3601s"])?;
            put(&mut doc, "max_sim_time", v);
        }
        if self.u.ratio(1, 6)? {
            let v = self.word(&["5s", "30s"], &["0ms", "1ms"])?;
            put(&mut doc, "liveness_bound", v);
        }
        if self.u.ratio(1, 8)? {
            let names: Vec<&str> = PlantedBug::ALL.iter().map(|b| b.name()).collect();
            put(&mut doc, "bug", self.word(&names, &["no-such-bug"])?);
        }
        let hosts = host_names(taskmanagers.min(8));
        let faults = self.u.int_in_range(0..=MAX_FAULTS)?;
        let mut clock_ms = 0;
        let mut ids = Vec::new();
        let faults: Vec<Value> = (0..faults)
            .map(|_| {
                self.fault(&hosts, &mut clock_ms, &mut ids)
                    .map(Value::Table)
            })
            .collect::<Result<_>>()?;
        if !faults.is_empty() {
            put(&mut doc, "fault", Value::Array(faults));
        }
        if self.u.ratio(1, 4)? {
            let nemesis = self.nemesis(&hosts)?;
            put(&mut doc, "nemesis", nemesis);
        }
        let mut expect = Table::new();
        let outcomes: &[&str] = if at_least_once {
            &["at-least-once", "at-least-once", "job-failed"]
        } else {
            &[
                "exactly-once",
                "exactly-once",
                "at-least-once",
                "job-failed",
            ]
        };
        let outcome = self.word(outcomes, &["maybe"])?;
        let failed = outcome.as_str() == Some("job-failed");
        put(&mut expect, "outcome", outcome);
        if failed && !self.wild {
            let reason = self.word(&["restarts-exhausted", "recovery-impossible"], &[])?;
            put(&mut expect, "reason", reason);
        } else if self.wild {
            self.opt(&mut expect, "reason", |s| {
                s.word(&["restarts-exhausted", "recovery-impossible"], &["x"])
            })?;
        }
        put(&mut doc, "expect", expect);
        if self.u.ratio(1, 8)? {
            let range = self.word(&["0..1", "7..8"], &["5..3", "0..18446744073709551616"])?;
            put(&mut doc, "seeds", table([("range", range)]));
        }
        Ok(doc)
    }

    fn restart(&mut self) -> Result<Table> {
        let mut t = Table::new();
        let strategies = [
            "none",
            "off",
            "disable",
            "fixed-delay",
            "fixeddelay",
            "failure-rate",
            "failurerate",
            "exponential-delay",
            "exponentialdelay",
        ];
        let strategy = self.word(&strategies, &["Fixed-Delay"])?;
        let params: &[&str] = match strategy.as_str().unwrap_or_default() {
            "fixed-delay" | "fixeddelay" => &["attempts", "delay"],
            "failure-rate" | "failurerate" => &["max_failures_per_interval", "interval", "delay"],
            "exponential-delay" | "exponentialdelay" => &[
                "attempts",
                "initial_backoff",
                "max_backoff",
                "multiplier",
                "jitter",
                "reset_backoff_threshold",
            ],
            _ => &[],
        };
        put(&mut t, "strategy", strategy);
        let all = [
            "attempts",
            "max_failures_per_interval",
            "delay",
            "interval",
            "initial_backoff",
            "max_backoff",
            "reset_backoff_threshold",
            "multiplier",
            "jitter",
        ];
        for param in all {
            if !self.wild && !params.contains(&param) {
                continue;
            }
            self.opt(&mut t, param, |s| match param {
                "attempts" | "max_failures_per_interval" => {
                    s.count(&[1, 3, 10], &[0, 2_147_483_648])
                }
                "multiplier" => s.float(&[1.5, 2.0], &[0.5, 1.0, 1.0001]),
                "jitter" => s.float(&[0.0, 0.1, 1.0], &[1.1]),
                "initial_backoff" | "delay" => s.word(&["10ms", "50ms", "100ms"], &["0ms"]),
                "max_backoff" => s.word(&["1s", "2s"], &["0ms"]),
                _ => s.duration(),
            })?;
        }
        Ok(t)
    }

    /// A fault; a tame one at `clock_ms` or later (faults are listed in
    /// time order), which it moves on. Sometimes it has an id (added to
    /// `ids`), and sometimes it waits for an earlier fault's edge.
    fn fault(
        &mut self,
        hosts: &[String],
        clock_ms: &mut u64,
        ids: &mut Vec<String>,
    ) -> Result<Table> {
        let mut t = Table::new();
        let (kind, params) = *self.u.choose(&FAULT_KINDS)?;
        put(&mut t, "kind", self.word(&[kind], &["explode"])?);
        if self.u.ratio(1, 3)? {
            let id = format!("f{}", ids.len());
            put(&mut t, "id", self.word(&[&id], &["Bad Id", "", "f0"])?);
            ids.push(id);
        }
        let disk = matches!(
            kind,
            "io_errors" | "read_corruption" | "disk_full" | "bit_rot"
        );
        let host = if disk && !self.wild {
            Value::String((*self.u.choose(&DISK_HOSTS)?).to_owned())
        } else {
            self.host(hosts)?
        };
        let own = host.as_str().unwrap_or_default().to_owned();
        put(&mut t, "host", host);
        if self.u.ratio(3, 4)? {
            let at = if self.wild {
                self.duration()?
            } else {
                *clock_ms += self.u.choose(&[0, 50, 100, 250, 500, 1_000, 2_000])?;
                Value::String(format!("{clock_ms}ms"))
            };
            put(&mut t, "at", at);
            self.opt(&mut t, "jitter", Sketch::duration)?;
        } else if !ids.is_empty() && self.u.ratio(1, 3)? {
            let mut on = Table::new();
            let earlier: Vec<&str> = ids.iter().map(String::as_str).collect();
            put(&mut on, "fault", self.word(&earlier, &["nope", "f99"])?);
            put(&mut on, "edge", self.word(&["start", "end"], &["middle"])?);
            self.opt(&mut on, "delay", Sketch::duration)?;
            put(&mut t, "on", on);
            self.opt(&mut t, "jitter", Sketch::duration)?;
        } else {
            let mut on = Table::new();
            let event = self.word(&Event::NAMES, &["barrier_seen"])?;
            let name = event.as_str().unwrap_or_default().to_owned();
            put(&mut on, "event", event);
            let carries = |names: &[&str]| self.wild || names.contains(&name.as_str());
            let (task, epoch, checkpoint) = (
                carries(&Event::WITH_TASK),
                carries(&Event::WITH_EPOCH),
                carries(&Event::WITH_CHECKPOINT),
            );
            if checkpoint {
                self.opt(&mut on, "checkpoint", |s| s.count(&[1, 2, 3, 5], &[0]))?;
            }
            self.opt(&mut on, "occurrence", |s| {
                s.count(&[1, 2, 5], &[0, 1_000_001])
            })?;
            let mut probe = None;
            if (self.wild || name == "probe") && self.u.ratio(1, 4)? {
                let probes: Vec<&str> = Probe::names().collect();
                let word = self.word(&probes, &["write_fenced"])?;
                probe = word.as_str().and_then(Probe::from_name);
                put(&mut on, "probe", word);
            }
            if self.u.ratio(1, 4)? {
                // A tame sketch names a host that emits the event.
                let emitters = probe.map_or(Event::emitters(&name), Probe::emitters);
                let emits: Vec<String> = hosts
                    .iter()
                    .filter(|h| HostRole::of(h).is_some_and(|r| emitters.contains(&r)))
                    .cloned()
                    .collect();
                let pool = if self.wild || emits.is_empty() {
                    hosts
                } else {
                    &emits[..]
                };
                put(&mut on, "host", self.host(pool)?);
            }
            if task && self.u.ratio(1, 4)? {
                let keyed = Event::WITH_TXN.contains(&name.as_str());
                let tasks: &[&str] = if keyed && !self.wild {
                    &["count[0]", "count[1]"]
                } else {
                    &["count[0]", "count[1]", "source[0]", "source[1]"]
                };
                put(
                    &mut on,
                    "task",
                    self.word(tasks, &["count[99]", "sink[0]"])?,
                );
            }
            if epoch && self.u.ratio(1, 4)? {
                put(&mut on, "epoch", self.count(&[1, 2, 3], &[0])?);
            }
            if self.u.ratio(1, 4)? {
                put(&mut on, "delay", self.duration()?);
            }
            put(&mut t, "on", on);
        }
        for param in [
            "after",
            "peer",
            "oneway",
            "for",
            "max",
            "rate",
            "probability",
            "capacity",
            "path",
            "drift",
        ] {
            let takes = params.contains(&param);
            // A wild sketch sometimes gives a kind a parameter it does not take.
            let stray = !takes && self.wild && self.u.ratio(1, 8)?;
            if !takes && !stray {
                continue;
            }
            if takes && param == "oneway" && self.u.arbitrary()? {
                continue;
            }
            let v = match param {
                "peer" if self.wild => self.host(hosts)?,
                "peer" => {
                    let others: Vec<String> =
                        hosts.iter().filter(|h| **h != own).cloned().collect();
                    Value::String(self.u.choose(&others)?.clone())
                }
                "oneway" => Value::Boolean(self.u.arbitrary()?),
                "rate" | "probability" => self.float(&[0.1, 0.5, 1.0], &[0.0, 1.5])?,
                "capacity" => self.count(&[0, 4_096, 1_000_000], &[-1])?,
                "drift" => self.float(&[-0.3, 0.1, 0.5], &[0.6, -1.0])?,
                "path" => self.word(
                    &["/store/meta/", "/store/chk-", "/local/", "/"],
                    &["", "store/meta", "/nowhere"],
                )?,
                _ => self.duration()?,
            };
            put(&mut t, param, v);
        }
        Ok(t)
    }

    fn nemesis(&mut self, hosts: &[String]) -> Result<Table> {
        let mut t = Table::new();
        self.opt(&mut t, "intensity", |s| {
            s.float(&[0.5, 2.0, 10.0], &[0.0, 1e6])
        })?;
        if self.u.ratio(1, 2)? {
            let n = self.u.int_in_range(1..=3)?;
            let kinds = (0..n)
                .map(|_| {
                    self.word(
                        &["crash_restart", "partition", "stall", "disk_loss"],
                        &["x"],
                    )
                })
                .collect::<Result<_>>()?;
            put(&mut t, "kinds", Value::Array(kinds));
        }
        if self.u.ratio(1, 2)? {
            let n = self.u.int_in_range(1..=3)?;
            let chosen = (0..n).map(|_| self.host(hosts)).collect::<Result<_>>()?;
            put(&mut t, "hosts", Value::Array(chosen));
        }
        self.opt(&mut t, "from", Sketch::duration)?;
        self.opt(&mut t, "until", Sketch::duration)?;
        Ok(t)
    }

    fn host(&mut self, hosts: &[String]) -> Result<Value> {
        if self.wild && self.u.ratio(1, 6)? {
            let stray = ["*", "taskmanager-0", "taskmanager-999", "jobmanger"];
            return Ok(Value::String((*self.u.choose(&stray)?).to_owned()));
        }
        Ok(Value::String(self.u.choose(hosts)?.clone()))
    }

    /// An integer: one of `tame`, or in a wild sketch sometimes one of
    /// `edges`, any `i64`, or the wrong type.
    fn count(&mut self, tame: &[i64], edges: &[i64]) -> Result<Value> {
        if !self.wild {
            return Ok(Value::Integer(*self.u.choose(tame)?));
        }
        Ok(match self.u.int_in_range(0..=9)? {
            0 => Value::Integer(self.u.arbitrary()?),
            1 => Value::Integer(
                *self
                    .u
                    .choose(&[-1, i64::MAX, i64::MIN, i64::from(u32::MAX)])?,
            ),
            2 => Value::String("3".to_owned()),
            3 => Value::Float(2.5),
            4..=6 if !edges.is_empty() => Value::Integer(*self.u.choose(edges)?),
            _ => Value::Integer(*self.u.choose(tame)?),
        })
    }

    /// A float, as [`Sketch::count`] draws an integer; wild ones include
    /// NaN and the infinities.
    fn float(&mut self, tame: &[f64], edges: &[f64]) -> Result<Value> {
        if !self.wild {
            return Ok(Value::Float(*self.u.choose(tame)?));
        }
        Ok(match self.u.int_in_range(0..=9)? {
            0 => Value::Float(self.u.arbitrary()?),
            1 => {
                Value::Float(
                    *self
                        .u
                        .choose(&[f64::NAN, f64::INFINITY, -1.0, f64::MAX, 1e-300])?,
                )
            }
            2 => Value::Integer(1),
            3..=5 if !edges.is_empty() => Value::Float(*self.u.choose(edges)?),
            _ => Value::Float(*self.u.choose(tame)?),
        })
    }

    /// A duration as scenarios write them; in a wild sketch sometimes at
    /// the edges of the range (2⁶⁴ s, one past an hour, below a
    /// nanosecond) or not a duration at all.
    fn duration(&mut self) -> Result<Value> {
        let units = ["ms", "ms", "s", "s", "m", "h", "us", "ns", "d", ""];
        let pick = if self.wild {
            self.u.int_in_range(0..=5)?
        } else {
            5
        };
        let text = match pick {
            0 => format!("{}{}", self.u.arbitrary::<u64>()?, self.u.choose(&units)?),
            1 => (*self.u.choose(&[
                "18446744073709551615s",
                "18446744073709551616ms",
                "1e300s",
                "nans",
                "-1s",
                "3600s",
                "3600.000000001s",
                "60m",
                "61m",
                "0.0000000001ms",
                "",
                "1.5.5s",
            ])?)
            .to_owned(),
            2 => return Ok(Value::Integer(250)),
            _ => {
                let n = self
                    .u
                    .choose(&[1, 2, 5, 10, 50, 100, 250, 500, 1_000, 1_500, 3_000])?;
                let frac = if self.u.ratio(1, 8)? { ".5" } else { "" };
                format!("{n}{frac}{}", self.u.choose(&units[..3])?)
            }
        };
        Ok(Value::String(text))
    }

    /// One of `tame`, or in a wild sketch sometimes one of `stray` or any
    /// string.
    fn word(&mut self, tame: &[&str], stray: &[&str]) -> Result<Value> {
        if self.wild && self.u.ratio(1, 6)? {
            if self.u.arbitrary()? {
                return Ok(Value::String(self.u.arbitrary::<String>()?));
            }
            return Ok(Value::String((*self.u.choose(stray)?).to_owned()));
        }
        Ok(Value::String((*self.u.choose(tame)?).to_owned()))
    }

    /// With probability ½, the value `f` draws.
    fn maybe(&mut self, f: impl FnOnce(&mut Self) -> Result<Value>) -> Result<Option<Value>> {
        if self.u.arbitrary()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Set `field` of `t` with probability ½.
    fn opt(
        &mut self,
        t: &mut Table,
        field: &str,
        f: impl FnOnce(&mut Self) -> Result<Value>,
    ) -> Result<()> {
        if let Some(v) = self.maybe(f)? {
            put(t, field, v);
        }
        Ok(())
    }
}

fn put(t: &mut Table, field: &str, v: impl Into<Value>) {
    t.insert(field.to_owned(), v.into());
}

fn table<const N: usize>(fields: [(&str, Value); N]) -> Table {
    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
