//! A scenario back to the TOML it could have been read from: what `flinch
//! shrink` prints, so a shrunk fault plan is a scenario file that `flinch
//! run` accepts. Every field is written out, defaults included, so the file
//! means the same even if a default changes later.
//!
//! [`render`] is the inverse of [`crate::scenario::parse`]: parsing the text
//! gives back an equal [`Scenario`] (tested over every built-in scenario,
//! with and without its nemesis expanded into explicit faults).

use crate::expect::Expectation;
use crate::fault::{format_duration, Fault, FaultKind, Trigger};
use crate::lifecycle::Step;
use crate::nemesis::Nemesis;
use crate::scenario::Scenario;
use flinch_engine::config::{CheckpointMode, JobConfig, RestartConfig, SinkConfig};
use std::fmt::Write as _;
use std::time::Duration;

/// The scenario as a complete scenario file.
pub fn render(scenario: &Scenario) -> String {
    let mut s = String::new();
    let c = &scenario.config;
    line(&mut s, "name", &string(&scenario.name));
    line(&mut s, "description", &multiline(&scenario.description));
    let mut job = toml::Table::new();
    job.insert(
        "name".into(),
        toml::Value::String(scenario.job.name.clone()),
    );
    job.extend(scenario.job.params.clone());
    line(&mut s, "job", &toml::Value::Table(job).to_string());
    let t = &c.topology;
    let mut replicas = match t.store_replicas {
        1 => String::new(),
        n => format!(", store_replicas = {n}"),
    };
    if t.jobmanagers > 1 {
        replicas.push_str(&format!(", jobmanagers = {}", t.jobmanagers));
    }
    let topology = format!(
        "{{ taskmanagers = {}, parallelism = {}, max_parallelism = {}{replicas} }}",
        t.taskmanagers, t.parallelism, t.max_parallelism
    );
    line(&mut s, "topology", &topology);
    line(&mut s, "max_sim_time", &duration(scenario.max_sim_time));
    if let Some(bound) = scenario.liveness_bound {
        line(&mut s, "liveness_bound", &duration(bound));
    }
    if let Some(bug) = c.planted_bug {
        line(&mut s, "bug", &string(bug.name()));
    }
    config_tables(&mut s, c);
    for fault in &scenario.faults {
        s.push_str("\n[[fault]]\n");
        for (key, value) in fault_fields(fault) {
            line(&mut s, key, &value);
        }
    }
    if let Some(nemesis) = &scenario.nemesis {
        nemesis_table(&mut s, nemesis);
    }
    for savepoint in &scenario.savepoints {
        s.push_str("\n[[savepoint]]\n");
        if !savepoint.at.is_zero() || savepoint.on.is_none() {
            line(&mut s, "at", &duration(savepoint.at));
        }
        if !savepoint.jitter.is_zero() {
            line(&mut s, "jitter", &duration(savepoint.jitter));
        }
        if let Some(on) = &savepoint.on {
            line(&mut s, "on", &trigger(&Trigger::Event(on.clone())));
        }
    }
    for step in &scenario.lifecycle {
        lifecycle_step(&mut s, step);
    }
    s.push_str("\n[expect]\n");
    match &scenario.expect {
        Expectation::ExactlyOnce => line(&mut s, "outcome", &string("exactly-once")),
        Expectation::AtLeastOnce => line(&mut s, "outcome", &string("at-least-once")),
        Expectation::JobFailed { reason } => {
            line(&mut s, "outcome", &string("job-failed"));
            line(&mut s, "reason", &string(reason));
        }
    }
    if !scenario.sometimes.is_empty() {
        let entries: Vec<String> = scenario
            .sometimes
            .iter()
            .map(|r| {
                format!(
                    "{{ probe = {}, min_share = {} }}",
                    string(r.probe.name()),
                    float(r.min_share)
                )
            })
            .collect();
        line(&mut s, "sometimes", &format!("[{}]", entries.join(", ")));
    }
    s.push_str("\n[seeds]\n");
    line(&mut s, "range", &string(&scenario.seeds.to_string()));
    s
}

/// One fault on one line, its fields as a scenario file writes them:
/// `crash_restart host=taskmanager-2 at=512ms after=300ms`.
pub fn fault_line(fault: &Fault) -> String {
    let mut fields = fault_fields(fault).into_iter();
    let kind = fields.next().map(|(_, v)| v).unwrap_or_default();
    let mut s = kind.trim_matches('"').to_owned();
    for (key, value) in fields {
        // Plain words need no quotes on one line.
        let inner = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        let value = match inner {
            Some(inner) if !inner.contains([' ', '"', '\\']) => inner.to_owned(),
            _ => value,
        };
        let _ = write!(s, " {key}={value}");
    }
    s
}

/// One fault as a flat JSON object with the fields a scenario file gives
/// it (`jitter` and `on` only when set):
/// `{"after":"300ms","at":"512ms","host":"taskmanager-2","kind":"crash_restart"}`.
pub fn fault_json(fault: &Fault) -> serde_json::Value {
    let kind = serde_json::to_value(&fault.kind).expect("fault kinds serialize");
    let mut object = kind.as_object().cloned().unwrap_or_default();
    if let Some(id) = &fault.id {
        object.insert("id".into(), id.clone().into());
    }
    object.insert("host".into(), fault.host.clone().into());
    if !matches!(fault.on, Some(Trigger::Fault(_))) {
        object.insert("at".into(), format_duration(fault.at).into());
    }
    if !fault.jitter.is_zero() {
        object.insert("jitter".into(), format_duration(fault.jitter).into());
    }
    if let Some(on) = &fault.on {
        let on = serde_json::to_value(on).expect("triggers serialize");
        object.insert("on".into(), on);
    }
    serde_json::Value::Object(object)
}

/// A `[[lifecycle]]` step; its resumed topology gives only what may
/// change (the rest is the first run's).
fn lifecycle_step(s: &mut String, step: &Step) {
    s.push_str("\n[[lifecycle]]\n");
    let stop = &step.stop;
    let mut fields = Vec::new();
    if !stop.at.is_zero() || stop.on.is_none() {
        fields.push(format!("at = {}", duration(stop.at)));
    }
    if !stop.jitter.is_zero() {
        fields.push(format!("jitter = {}", duration(stop.jitter)));
    }
    if let Some(on) = &stop.on {
        fields.push(format!("on = {}", trigger(&Trigger::Event(on.clone()))));
    }
    fields.push(format!("with = {}", string(stop.with.name())));
    if stop.drain {
        fields.push("drain = true".to_string());
    }
    line(s, "stop", &format!("{{ {} }}", fields.join(", ")));
    let Some(resume) = &step.resume else {
        return;
    };
    let t = &resume.topology;
    let resume = format!(
        "{{ from = {}, restore_mode = {}, after = {}, topology = {{ taskmanagers = {}, \
         parallelism = {} }} }}",
        string(resume.from.name()),
        string(resume.restore_mode.name()),
        duration(resume.after),
        t.taskmanagers,
        t.parallelism
    );
    line(s, "resume", &resume);
}

fn config_tables(s: &mut String, c: &JobConfig) {
    let w = &c.workload;
    s.push_str("\n[workload]\n");
    line(s, "records", &w.records.to_string());
    line(s, "keys", &w.keys.to_string());
    line(s, "partitions", &w.partitions.to_string());
    line(s, "skew", &float(w.skew));
    line(s, "rate", &w.rate.to_string());
    line(s, "batch", &w.batch.to_string());

    let k = &c.checkpoint;
    s.push_str("\n[checkpoint]\n");
    let mode = match k.mode {
        CheckpointMode::ExactlyOnce => "exactly-once",
        CheckpointMode::AtLeastOnce => "at-least-once",
    };
    line(s, "mode", &string(mode));
    line(s, "interval", &duration(k.interval));
    line(s, "timeout", &duration(k.timeout));
    line(s, "min_pause", &duration(k.min_pause));
    line(s, "max_concurrent", &k.max_concurrent.to_string());
    line(s, "retained", &k.retained.to_string());
    line(s, "tolerable_failures", &k.tolerable_failures.to_string());
    // Only when on, so files written before it existed render as they did.
    if k.local_recovery {
        line(s, "local_recovery", "true");
    }
    if k.memory_threshold > 0 {
        line(s, "memory_threshold", &k.memory_threshold.to_string());
    }

    s.push_str("\n[restart]\n");
    line(s, "strategy", &string(c.restart.name()));
    restart_parameters(s, &c.restart);

    let t = &c.timing;
    s.push_str("\n[timing]\n");
    line(s, "heartbeat_interval", &duration(t.heartbeat_interval));
    line(s, "heartbeat_timeout", &duration(t.heartbeat_timeout));
    line(
        s,
        "channel_keepalive_timeout",
        &duration(t.channel_keepalive_timeout),
    );
    line(s, "rpc_timeout", &duration(t.rpc_timeout));
    line(s, "slot_request_timeout", &duration(t.slot_request_timeout));
    // Only with `ha`, so files without it render as they did.
    if c.topology.jobmanagers > 1 {
        line(s, "lease_ttl", &duration(t.lease_ttl));
    }

    // Only when set, so files written before `[sink]` existed render as
    // they did.
    let k = &c.sink;
    if *k != SinkConfig::default() {
        s.push_str("\n[sink]\n");
        if let Some(timeout) = k.transaction_timeout {
            line(s, "transaction_timeout", &duration(timeout));
        }
        line(
            s,
            "ignore_failures_after_transaction_timeout",
            &k.ignore_failures_after_transaction_timeout.to_string(),
        );
    }
}

fn restart_parameters(s: &mut String, restart: &RestartConfig) {
    match restart {
        RestartConfig::None => {}
        RestartConfig::FixedDelay { attempts, delay } => {
            line(s, "attempts", &attempts.to_string());
            line(s, "delay", &duration(*delay));
        }
        RestartConfig::FailureRate {
            max_failures_per_interval,
            interval,
            delay,
        } => {
            line(
                s,
                "max_failures_per_interval",
                &max_failures_per_interval.to_string(),
            );
            line(s, "interval", &duration(*interval));
            line(s, "delay", &duration(*delay));
        }
        RestartConfig::ExponentialDelay {
            initial_backoff,
            max_backoff,
            multiplier,
            jitter,
            reset_backoff_threshold,
            attempts,
        } => {
            line(s, "initial_backoff", &duration(*initial_backoff));
            line(s, "max_backoff", &duration(*max_backoff));
            line(s, "multiplier", &float(*multiplier));
            line(s, "jitter", &float(*jitter));
            line(
                s,
                "reset_backoff_threshold",
                &duration(*reset_backoff_threshold),
            );
            if let Some(attempts) = attempts {
                line(s, "attempts", &attempts.to_string());
            }
        }
    }
}

fn nemesis_table(s: &mut String, n: &Nemesis) {
    s.push_str("\n[nemesis]\n");
    line(s, "intensity", &float(n.intensity));
    let kinds: Vec<String> = n.kinds.iter().map(|k| string(k.name())).collect();
    line(s, "kinds", &format!("[{}]", kinds.join(", ")));
    let hosts: Vec<String> = n.hosts.iter().map(|h| string(h)).collect();
    line(s, "hosts", &format!("[{}]", hosts.join(", ")));
    line(s, "from", &duration(n.from));
    line(s, "until", &duration(n.until));
}

/// A fault's fields, as TOML values, in the order a file lists them.
fn fault_fields(f: &Fault) -> Vec<(&'static str, String)> {
    let mut fields = vec![("kind", string(f.kind.name()))];
    if let Some(id) = &f.id {
        fields.push(("id", string(id)));
    }
    fields.push(("host", string(&f.host)));
    // A fault trigger has no `at` (a file may not give one).
    if !matches!(f.on, Some(Trigger::Fault(_))) {
        fields.push(("at", duration(f.at)));
    }
    if !f.jitter.is_zero() {
        fields.push(("jitter", duration(f.jitter)));
    }
    if let Some(on) = &f.on {
        fields.push(("on", trigger(on)));
    }
    let d = |d: &Duration| duration(*d);
    match &f.kind {
        FaultKind::Crash | FaultKind::Restart => {}
        FaultKind::CrashRestart { after } | FaultKind::DiskLoss { after } => {
            fields.push(("after", d(after)));
        }
        FaultKind::Partition {
            peer,
            oneway,
            duration,
        } => {
            fields.push(("peer", string(peer)));
            fields.push(("oneway", oneway.to_string()));
            fields.push(("for", d(duration)));
        }
        FaultKind::Stall { peer, duration } => {
            fields.push(("peer", string(peer)));
            fields.push(("for", d(duration)));
        }
        FaultKind::Latency {
            peer,
            min,
            max,
            duration,
        } => {
            fields.push(("peer", string(peer)));
            if !min.is_zero() {
                fields.push(("min", d(min)));
            }
            fields.push(("max", d(max)));
            fields.push(("for", d(duration)));
        }
        FaultKind::MessageLoss {
            peer,
            rate,
            duration,
        } => {
            fields.push(("peer", string(peer)));
            fields.push(("rate", float(*rate)));
            fields.push(("for", d(duration)));
        }
        FaultKind::IoErrors {
            probability,
            duration,
            path,
        } => {
            fields.push(("probability", float(*probability)));
            fields.push(("for", d(duration)));
            if let Some(path) = path {
                fields.push(("path", string(path)));
            }
        }
        FaultKind::ReadCorruption {
            probability,
            duration,
        } => {
            fields.push(("probability", float(*probability)));
            fields.push(("for", d(duration)));
        }
        FaultKind::DiskFull { capacity, duration } => {
            fields.push(("capacity", capacity.to_string()));
            fields.push(("for", d(duration)));
        }
        FaultKind::BitRot { path } => fields.push(("path", string(path))),
        FaultKind::Pause { duration } => fields.push(("for", d(duration))),
        FaultKind::ClockDrift { drift, duration } => {
            fields.push(("drift", float(*drift)));
            fields.push(("for", d(duration)));
        }
    }
    fields
}

/// A trigger as an inline table, every field it has written out (its
/// `Display`, which scenario files parse back).
fn trigger(on: &Trigger) -> String {
    on.to_string()
}

fn line(s: &mut String, key: &str, value: &str) {
    let _ = writeln!(s, "{key} = {value}");
}

/// A duration as scenario files write it, exactly: `"250ms"`, `"2s"`, and
/// anything finer than a millisecond in decimal seconds (`"0.00025s"`).
pub fn duration(d: Duration) -> String {
    let text = if !d.subsec_nanos().is_multiple_of(1_000_000) {
        let fraction = format!("{:09}", d.subsec_nanos());
        format!("{}.{}s", d.as_secs(), fraction.trim_end_matches('0'))
    } else if d.as_millis().is_multiple_of(1_000) {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    };
    string(&text)
}

/// A float that parses back to the same bits: Rust's shortest round-trip
/// form, which always has a `.` or an exponent, so TOML reads a float.
/// A TOML float. A scenario read from a file holds finite numbers only,
/// but one built in code (`flinch::Scenario`) is rendered before it is
/// checked: NaN and the infinities are written as TOML's `nan`, `inf` and
/// `-inf`, so reading it back fails naming the field.
fn float(x: f64) -> String {
    match x {
        x if x.is_nan() => "nan".to_owned(),
        x if x.is_infinite() && x > 0.0 => "inf".to_owned(),
        x if x.is_infinite() => "-inf".to_owned(),
        x => format!("{x:?}"),
    }
}

/// A TOML basic string.
fn string(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('"');
    for c in text.chars() {
        escape(&mut s, c);
    }
    s.push('"');
    s
}

/// A TOML multi-line basic string, its lines kept as lines.
fn multiline(text: &str) -> String {
    let mut s = String::from("\"\"\"\n");
    for c in text.chars() {
        if c == '\n' {
            s.push('\n');
        } else {
            escape(&mut s, c);
        }
    }
    s.push_str("\"\"\"");
    s
}

fn escape(s: &mut String, c: char) {
    match c {
        '"' => s.push_str("\\\""),
        '\\' => s.push_str("\\\\"),
        '\n' => s.push_str("\\n"),
        '\r' => s.push_str("\\r"),
        '\t' => s.push_str("\\t"),
        c if c.is_control() => {
            let _ = write!(s, "\\u{:04X}", u32::from(c));
        }
        c => s.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{load, parse};

    fn round_trip(scenario: &Scenario) {
        let text = render(scenario);
        match parse(&text, "rendered.toml") {
            Ok(back) => assert_eq!(&back, scenario, "{text}"),
            Err(error) => panic!("{error}\n{text}"),
        }
    }

    #[test]
    fn odd_text_numbers_and_durations_survive() {
        let mut s = load("nemesis-mixed").expect("built-in");
        // Control characters other than line breaks and tabs in the
        // description are refused at load (limits::NAME_CHARS and
        // TEXT_CHARS), so they cannot round-trip; the renderer still writes
        // them escaped (below).
        s.name = "odd \"name\" \\ with é".into();
        s.description = "\n  \"\"\"quoted\"\"\" \\ back\\slash\twith a tab\nend\n".into();
        let mut escaped = String::new();
        escape(&mut escaped, '\u{1}');
        assert_eq!(escaped, "\\u0001");
        s.config.workload.skew = 0.1 + 0.2;
        s.max_sim_time = Duration::new(400, 250_000);
        s.liveness_bound = Some(Duration::new(12, 500_000));
        s.config.restart = RestartConfig::ExponentialDelay {
            initial_backoff: Duration::from_micros(1_500),
            max_backoff: Duration::from_secs(90),
            multiplier: 1e20,
            jitter: 1e-7,
            // 1 ms and 1 ns: Flink (and so the loader) needs a whole millisecond.
            reset_backoff_threshold: Duration::from_nanos(1_000_001),
            attempts: None,
        };
        s.expect = Expectation::JobFailed {
            reason: "lost checkpoint 3".into(),
        };
        round_trip(&s);
        s.config.restart = RestartConfig::None;
        s.nemesis = None;
        round_trip(&s);
    }

    #[test]
    fn every_trigger_form_renders_back_equal() {
        let mut s = load("crash-after-partition-heals").expect("built-in");
        let restoring = load("crash-while-restoring").expect("built-in");
        let precommit = load("crash-after-precommit").expect("built-in");
        s.faults.extend(restoring.faults);
        s.faults.extend(precommit.faults);
        // A fault trigger with jitter, and an event trigger with every filter.
        s.faults[2].jitter = Duration::from_millis(7);
        if let Some(Trigger::Event(t)) = &mut s.faults[4].on {
            t.checkpoint = Some(3);
            t.occurrence = 2;
            t.delay = Duration::from_micros(1_500);
        }
        round_trip(&s);
        let lines: Vec<String> = s.faults.iter().map(fault_line).collect();
        assert_eq!(
            lines[2],
            "crash_restart host=taskmanager-2 jitter=7ms \
             on={ fault = \"cut\", edge = \"end\", delay = \"5ms\" } after=300ms"
        );
        assert_eq!(
            lines[0],
            "partition id=cut host=taskmanager-1 at=300ms jitter=300ms peer=taskmanager-2 \
             oneway=false for=300ms"
        );
        assert_eq!(
            fault_json(&s.faults[2]).to_string(),
            r#"{"after":"300ms","host":"taskmanager-2","jitter":"7ms","kind":"crash_restart","on":{"delay":"5ms","edge":"end","fault":"cut"}}"#
        );
        assert_eq!(
            fault_json(&s.faults[4]).to_string(),
            r#"{"after":"300ms","at":"0s","host":"taskmanager-1","kind":"crash_restart","on":{"checkpoint":3,"delay":"1500000ns","epoch":2,"event":"state_restored","host":"taskmanager-1","occurrence":2,"task":"count[0]"}}"#
        );
    }

    #[test]
    fn a_fault_is_one_flat_json_object() {
        let s = load("taskmanager-crash").expect("built-in");
        assert_eq!(
            fault_json(&s.faults[0]).to_string(),
            r#"{"after":"300ms","at":"300ms","host":"taskmanager-2","jitter":"600ms","kind":"crash_restart"}"#
        );
    }

    #[test]
    fn durations_are_written_in_the_shortest_exact_form() {
        assert_eq!(duration(Duration::from_millis(250)), "\"250ms\"");
        assert_eq!(duration(Duration::from_secs(2)), "\"2s\"");
        assert_eq!(duration(Duration::ZERO), "\"0s\"");
        assert_eq!(duration(Duration::from_millis(1_500)), "\"1500ms\"");
        assert_eq!(duration(Duration::from_micros(250)), "\"0.00025s\"");
    }

    #[test]
    fn a_fault_fits_on_one_line() {
        let s = load("crash-during-checkpoint").expect("built-in");
        assert_eq!(
            fault_line(&s.faults[0]),
            "crash_restart host=taskmanager-1 at=0s \
             on={ event = \"checkpoint_acknowledged\", checkpoint = 2, occurrence = 2 } after=200ms"
        );
        let partition = Fault {
            id: None,
            kind: FaultKind::Partition {
                peer: "*".into(),
                oneway: true,
                duration: Duration::from_millis(300),
            },
            host: "taskmanager-1".into(),
            at: Duration::from_millis(820),
            jitter: Duration::ZERO,
            on: None,
        };
        assert_eq!(
            fault_line(&partition),
            "partition host=taskmanager-1 at=820ms peer=* oneway=true for=300ms"
        );
    }
}
