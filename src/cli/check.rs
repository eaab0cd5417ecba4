//! `flinch check <SCENARIO>`: load and validate a scenario without running
//! it. A good file prints one line saying what it describes and exits 0; a
//! bad one exits 2 with the error every command gives (file, line, field,
//! and a "did you mean" hint for a misspelt host, event, bug, field or
//! kind).

use super::Output;
use flinch_harness::expect::Expectation;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// A built-in scenario name, or a path to a `.toml` file.
    pub scenario: String,
    /// Run this job instead of the scenario's own: a name (`dedup`, with its
    /// default parameters; see `flinch list --jobs`) or a TOML inline table
    /// (`{ name = "windowed-sum", window = "2s" }`).
    #[arg(long, value_name = "JOB")]
    pub job: Option<String>,
}

pub fn check(args: &CheckArgs) -> anyhow::Result<Output> {
    let s = super::load_scenario(&args.scenario, args.job.as_deref())?;
    let expects = match &s.expect {
        Expectation::ExactlyOnce => "exactly-once".to_owned(),
        Expectation::AtLeastOnce => "at-least-once".to_owned(),
        Expectation::JobFailed { reason } => format!("job-failed ({reason:?})"),
    };
    let nemesis = if s.nemesis.is_some() {
        " and a nemesis"
    } else {
        ""
    };
    // A planted bug makes the engine wrong on purpose: say so first.
    let bug = s
        .config
        .planted_bug
        .map(|b| format!(" with planted bug {}", b.name()))
        .unwrap_or_default();
    let (topology, workload) = (&s.config.topology, &s.config.workload);
    let faults = match s.faults.len() {
        1 => "1 fault".to_owned(),
        n => format!("{n} faults"),
    };
    let stdout = format!(
        "ok: {}: scenario {}{bug}: {} taskmanagers, parallelism {}, {} records; {faults}{nemesis}; \
         expects {expects}; seeds {}; max_sim_time {:?}\n",
        args.scenario,
        s.name,
        topology.taskmanagers,
        topology.parallelism,
        workload.records,
        s.seeds,
        s.max_sim_time,
    );
    Ok(Output {
        stdout,
        code: super::EXIT_PASSED,
    })
}
