//! `flinch replay <SCENARIO> --seed S [--json] [--output FILE] [--report DIR]`
//!
//! Exit codes as `flinch run`'s for its one seed: 0 passed, 1 failed a
//! verdict about the job, 3 an engine panic, 4 an internal error.

use super::{exec, exit_code, load_scenario, replay_command, seeds, shrink_command, Output};
use crate::report::{plural, FailureKind};
use anyhow::Context as _;
use clap::Args;
use flinch_engine::record::OutputRecord;
use flinch_harness::outcome::CommittedTxn;
use flinch_harness::plan::{fault_json, fault_line};
use flinch_harness::scenario::Scenario;
use flinch_harness::seed::SeedReport;
use flinch_harness::trace::TraceEvent;
use flinch_harness::violation::{Tally, Violation};
use serde::Serialize;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A built-in scenario (see `flinch list`) or the path of a .toml file.
    pub scenario: String,
    /// The seed to run.
    #[arg(long, value_name = "S", value_parser = seeds::parse_seed)]
    pub seed: u64,
    /// Print one JSON object (with the trace and its hash) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write the committed output records to FILE as JSON lines, in commit
    /// order, each with its transaction as "txn".
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Run this job instead of the scenario's own: a name (`dedup`, with its
    /// default parameters; see `flinch list --jobs`) or a TOML inline table
    /// (`{ name = "windowed-sum", window = "2s" }`).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
    /// Write an HTML report of the seed to DIR/index.html (creating DIR): a
    /// timeline of hosts, faults, checkpoints and failovers, the verdict
    /// and its evidence, the fault plan and a window of the trace.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

pub fn replay(args: &ReplayArgs) -> anyhow::Result<Output> {
    let scenario = load_scenario(&args.scenario, args.job.as_deref())?;
    if let Some(dir) = &args.report {
        crate::html::prepare(dir)?;
    }
    let report = exec::run_one(&scenario, args.seed)?;
    let mut written = None;
    if let Some(path) = &args.output {
        let n = write_output(path, &scenario, &report)
            .with_context(|| format!("cannot write the committed output to {}", path.display()))?;
        written = Some((path.as_path(), n));
    }
    let mut page = None;
    if let Some(dir) = &args.report {
        let replay = replay_command(&args.scenario, args.job.as_deref(), args.seed);
        let html = crate::html::page(&scenario, &report, &replay);
        page = Some(crate::html::write(dir, &html)?);
    }
    let stdout = if args.json {
        let mut s = serde_json::to_string(&json(&scenario.name, &report))?;
        s.push('\n');
        s
    } else {
        human(
            &scenario.name,
            &args.scenario,
            args.job.as_deref(),
            &report,
            written,
            page.as_deref(),
        )
    };
    Ok(Output {
        stdout,
        code: exit_code((!report.passed).then(|| FailureKind::of(&report.violations))),
    })
}

#[derive(Serialize)]
pub struct ReplayJson<'a> {
    scenario: &'a str,
    seed: u64,
    passed: bool,
    /// How it failed (as a `run --json` failure's `kind`); left out when
    /// it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<FailureKind>,
    /// Violations by cause, each counted as what it stands for; left out
    /// when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Tally>,
    violations: &'a [Violation],
    /// 8 hex digits.
    trace_hash: String,
    sim_seconds: f64,
    records: u64,
    /// Output lost on purpose, by transaction: `[{"txn", "records"}]`, the
    /// transactions the sink's timeout aborted that the job gave up under
    /// `sink.ignore_failures_after_transaction_timeout`; left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lost: Vec<LostJson>,
    /// The fault plan the seed ran (a nemesis's drawn for this seed).
    plan: Vec<serde_json::Value>,
    trace: &'a [TraceEvent],
}

/// The `--json` object; fields serialize in this order.
pub fn json<'a>(scenario: &'a str, r: &'a SeedReport) -> ReplayJson<'a> {
    ReplayJson {
        scenario,
        seed: r.seed,
        passed: r.passed,
        kind: (!r.passed).then(|| FailureKind::of(&r.violations)),
        counts: (!r.passed).then(|| Tally::of(&r.violations)),
        violations: &r.violations,
        trace_hash: format!("{:08x}", r.trace_hash()),
        sim_seconds: r.sim_time.as_millis() as f64 / 1000.0,
        records: r.records,
        lost: (r.lost.iter())
            .map(|(txn, records)| LostJson {
                txn: txn.to_string(),
                records: *records,
            })
            .collect(),
        plan: r.plan.iter().map(fault_json).collect(),
        trace: &r.trace,
    }
}

/// One transaction of `lost` in [`ReplayJson`].
#[derive(Serialize)]
struct LostJson {
    txn: String,
    records: u64,
}

pub fn human(
    scenario: &str,
    scenario_arg: &str,
    job_arg: Option<&str>,
    r: &SeedReport,
    written: Option<(&Path, usize)>,
    page: Option<&Path>,
) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    for e in &r.trace {
        let _ = writeln!(s, "{}", e.line());
    }
    if !r.trace.is_empty() {
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "scenario   {scenario}");
    let _ = writeln!(s, "seed       {}", r.seed);
    if r.passed {
        let _ = writeln!(s, "verdict    PASSED");
    } else {
        let _ = writeln!(s, "verdict    FAILED: {}", Tally::of(&r.violations));
        if let Some(meaning) = FailureKind::of(&r.violations).meaning() {
            let _ = writeln!(s, "           {meaning}");
        }
        for v in &r.violations {
            let _ = writeln!(s, "  {v}");
        }
    }
    let _ = writeln!(
        s,
        "trace      {} events, hash {:08x}",
        r.trace.len(),
        r.trace_hash()
    );
    let _ = writeln!(s, "sim time   {:.3} s", r.sim_time.as_secs_f64());
    let _ = writeln!(s, "records    {}", r.records);
    if !r.lost.is_empty() {
        let records: u64 = r.lost.iter().map(|(_, n)| n).sum();
        // Empty transactions lose nothing: counted, not listed.
        let mut txns: Vec<String> = (r.lost.iter())
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| format!("{t} ({n})"))
            .collect();
        let empty = r.lost.iter().filter(|(_, n)| *n == 0).count();
        if empty > 0 {
            txns.push(format!("{empty} empty transaction{}", plural(empty)));
        }
        let _ = writeln!(
            s,
            "lost       {records} output records on purpose, in {} (accepted: \
             sink.ignore_failures_after_transaction_timeout)",
            txns.join(", ")
        );
    }
    if !r.plan.is_empty() {
        let n = r.plan.len();
        let _ = writeln!(s, "plan       {n} fault{}:", if n == 1 { "" } else { "s" });
        for fault in &r.plan {
            let _ = writeln!(s, "  {}", fault_line(fault));
        }
    }
    if let Some((path, n)) = written {
        let _ = writeln!(
            s,
            "output     {n} committed record{} written to {}",
            if n == 1 { "" } else { "s" },
            path.display()
        );
    }
    if let Some(page) = page {
        let _ = writeln!(s, "report     {}", page.display());
    }
    if !r.passed && !r.plan.is_empty() {
        let _ = writeln!(
            s,
            "shrink: {}",
            shrink_command(scenario_arg, job_arg, r.seed)
        );
    }
    if !r.passed {
        let _ = writeln!(
            s,
            "replay: {}",
            replay_command(scenario_arg, job_arg, r.seed)
        );
    }
    s
}

/// One line of `--output`: the record and the transaction that committed it.
#[derive(Serialize)]
struct OutputLine<'a> {
    txn: String,
    #[serde(flatten)]
    record: &'a OutputRecord,
}

/// One line of `--output` of a job other than keyed-count: the record as
/// its job's model types it, and the transaction that committed it.
#[derive(Serialize)]
struct JobOutputLine {
    txn: String,
    #[serde(flatten)]
    record: serde_json::Value,
}

/// Write every committed record as a JSON line; returns how many.
/// keyed-count's lines carry its record-level fields (`key`, `count`,
/// `partition`, `offset`); any other job's are its model's typed form
/// ([`flinch_harness::job::JobModel::output_json`]).
fn write_output(path: &Path, scenario: &Scenario, report: &SeedReport) -> anyhow::Result<usize> {
    let mut out = BufWriter::new(File::create(path)?);
    let n = if scenario.job.is_keyed_count() {
        write_output_lines(&mut out, &report.committed)?
    } else {
        let model = scenario.job.model.as_ref();
        let mut n = 0;
        for (txn, records) in &report.output {
            for r in records {
                let line = JobOutputLine {
                    txn: txn.to_string(),
                    record: model.output_json(r),
                };
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
                n += 1;
            }
        }
        out.flush()?;
        n
    };
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(n)
}

fn write_output_lines(out: &mut impl Write, committed: &[CommittedTxn]) -> anyhow::Result<usize> {
    let mut n = 0;
    for t in committed {
        let txn = t.txn.to_string();
        for record in &t.records {
            serde_json::to_writer(
                &mut *out,
                &OutputLine {
                    txn: txn.clone(),
                    record,
                },
            )?;
            out.write_all(b"\n")?;
            n += 1;
        }
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::exec::tests::fake_report;

    #[test]
    fn json_has_the_contract_shape() {
        let r = fake_report(7, 2, 1);
        let text = serde_json::to_string(&json("tm-crash", &r)).expect("serializes");
        assert!(
            text.starts_with("{\"scenario\":\"tm-crash\",\"seed\":7,\"passed\":false,"),
            "{text}"
        );
        let j: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let mut keys: Vec<&str> = j
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "counts",
                "kind",
                "passed",
                "plan",
                "records",
                "scenario",
                "seed",
                "sim_seconds",
                "trace",
                "trace_hash",
                "violations"
            ]
        );
        assert_eq!(j["scenario"], "tm-crash");
        assert_eq!(j["seed"], 7);
        assert_eq!(j["passed"], false);
        assert_eq!(j["sim_seconds"], 1.5);
        assert_eq!(j["records"], 100);
        let hash = j["trace_hash"].as_str().expect("a string");
        assert_eq!(hash.len(), 8);
        assert_eq!(u32::from_str_radix(hash, 16), Ok(r.trace_hash()));
        assert_eq!(j["trace"].as_array().map(Vec::len), Some(2));
        assert_eq!(j["trace"][1]["at"], 100);
        assert_eq!(j["trace"][1]["host"], "jobmanager");
        assert_eq!(j["violations"][0]["kind"], "missing");
        assert_eq!(j["kind"], "records");
        assert_eq!(
            j["counts"],
            serde_json::json!({"internal": 0, "job": 0, "state": 0, "records": 1})
        );
        println!("{j}");
        let passed =
            serde_json::to_value(json("tm-crash", &fake_report(8, 2, 0))).expect("serializes");
        assert!(
            passed.get("kind").is_none() && passed.get("counts").is_none(),
            "{passed}"
        );
    }

    #[test]
    fn human_output_has_trace_verdict_hash_and_replay() {
        let r = fake_report(7, 2, 1);
        let text = human(
            "tm-crash",
            "tm-crash",
            None,
            &r,
            Some((Path::new("out.jsonl"), 2)),
            None,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r.trace[0].line());
        assert_eq!(lines[1], r.trace[1].line());
        assert!(
            text.contains("verdict    FAILED: 1 record (missing)\n"),
            "{text}"
        );
        assert!(text.contains("  [exactly-once] missing: key-0 has no output\n"));
        assert!(
            text.contains(&format!("hash {:08x}\n", r.trace_hash())),
            "{text}"
        );
        assert!(text.contains("sim time   1.500 s\n"), "{text}");
        assert!(text.contains("output     2 committed records written to out.jsonl\n"));
        assert!(
            text.ends_with("replay: flinch replay tm-crash --seed 7\n"),
            "{text}"
        );
        println!("{text}");

        let ok = fake_report(8, 0, 0);
        let text = human("tm-crash", "tm-crash", None, &ok, None, None);
        assert!(text.contains("verdict    PASSED\n"), "{text}");
        assert!(!text.contains("replay"), "{text}");
    }

    #[test]
    fn output_is_json_lines_with_the_txn() {
        let r = fake_report(7, 0, 0);
        let mut buf = Vec::new();
        let n = write_output_lines(&mut buf, &r.committed).expect("writes to memory");
        assert_eq!(n, 2);
        let text = String::from_utf8(buf).expect("utf-8");
        assert_eq!(
            text,
            "{\"txn\":\"txn-s1-e2-c3\",\"key\":4,\"count\":1,\"partition\":0,\"offset\":0}\n\
             {\"txn\":\"txn-s1-e2-c3\",\"key\":4,\"count\":2,\"partition\":0,\"offset\":1}\n"
        );
    }
}
