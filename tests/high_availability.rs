//! Jobmanager high availability (`topology.jobmanagers`): a standby takes
//! the lease when the leader stops renewing and resumes from the latest
//! completed checkpoint; a leader cut off from `ha`, or paused, acts on
//! nothing once its lease could have run out (a register write it had
//! waiting is refused for its older leader epoch); losing `ha`'s disk fails
//! the job. The planted bug `old-leader-keeps-acting` is caught by
//! `tests/planted_bugs.rs` with the rest, by the single-leader checker.

use flinch_engine::event::{Event, JobState};
use flinch_engine::io::addr;
use flinch_engine::probe::Probe;
use flinch_harness::scenario::{load, parse, topology_hosts};
use flinch_harness::seed::run_seed;
use flinch_harness::trace::{FaultEvent, TraceEvent, What};
use std::time::Duration;

const SEEDS: u64 = 8;

fn events<'a>(
    trace: &'a [TraceEvent],
    host: &'a str,
) -> impl Iterator<Item = (Duration, &'a Event)> {
    trace
        .iter()
        .filter(move |e| e.host == host)
        .filter_map(|e| match &e.what {
            What::Engine(event) => Some((e.at, event)),
            _ => None,
        })
}

#[test]
fn the_standby_restores_the_checkpoint_completed_just_before_the_leader_died() {
    let scenario = load("jobmanager-failover-standby").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        let last_completed = events(&report.trace, "jobmanager-1")
            .filter_map(|(_, e)| match e {
                Event::CheckpointCompleted { checkpoint, .. } => Some(*checkpoint),
                _ => None,
            })
            .max();
        let grants: Vec<(String, u64)> = events(&report.trace, addr::HA)
            .filter_map(|(_, e)| match e {
                Event::LeaseGranted { candidate, leader } => Some((candidate.clone(), *leader)),
                _ => None,
            })
            .collect();
        assert_eq!(
            grants,
            [
                ("jobmanager-1".to_owned(), 1),
                ("jobmanager-2".to_owned(), 2)
            ],
            "seed {seed}"
        );
        let first_restore = events(&report.trace, "jobmanager-2").find_map(|(_, e)| match e {
            Event::TasksDeployed { restore, .. } => Some(*restore),
            _ => None,
        });
        assert_eq!(first_restore, Some(last_completed), "seed {seed}");
    }
}

#[test]
fn a_paused_leader_acts_on_nothing_after_it_resumes() {
    let scenario = load("jobmanager-leader-paused").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        let resumed = (report.trace.iter())
            .find(|e| e.host == "jobmanager-1" && matches!(e.what, What::Fault(FaultEvent::Resume)))
            .map(|e| e.at)
            .expect("jobmanager-1 resumes");
        let after: Vec<&Event> = events(&report.trace, "jobmanager-1")
            .filter(|(at, _)| *at >= resumed)
            .map(|(_, e)| e)
            .collect();
        assert!(
            matches!(
                after.as_slice(),
                [
                    Event::Probe {
                        probe: Probe::LeaderFenced
                    },
                    Event::LeaderRevoked { leader: 1, .. }
                ]
            ),
            "seed {seed}: {after:?}"
        );
    }
}

#[test]
fn losing_the_ha_disk_fails_the_job_saying_why() {
    let scenario = load("ha-disk-loss").expect("built in");
    for seed in 0..SEEDS {
        let report = run_seed(&scenario, seed);
        assert!(report.passed, "seed {seed}: {:?}", report.violations);
        let reason = report.trace.iter().find_map(|e| match &e.what {
            What::Engine(Event::JobState(JobState::Failed { reason })) => Some(reason.clone()),
            _ => None,
        });
        let reason = reason.expect("the job failed");
        assert!(
            reason.contains("restarted without its disk"),
            "seed {seed}: {reason}"
        );
    }
}

#[test]
fn topologies_with_standbys_name_their_jobmanagers_and_ha() {
    assert_eq!(addr::jobmanagers(1), ["jobmanager"]);
    assert_eq!(addr::jobmanagers(2), ["jobmanager-1", "jobmanager-2"]);
    let scenario = load("jobmanager-failover-standby").expect("built in");
    let hosts = topology_hosts(&scenario.config.topology);
    assert!(hosts.contains(&"ha".to_owned()) && !hosts.contains(&"jobmanager".to_owned()));
    let steady = load("steady").expect("built in");
    let hosts = topology_hosts(&steady.config.topology);
    assert!(!hosts.contains(&"ha".to_owned()) && hosts.contains(&"jobmanager".to_owned()));
}

#[test]
fn jobmanagers_are_bounded_and_faults_name_the_hosts_of_the_topology() {
    let scenario = |jobmanagers: u32, fault: &str| {
        format!(
            "name = \"r\"\ndescription = \"r\"\njob = {{ name = \"keyed-count\" }}\n\
             topology = {{ jobmanagers = {jobmanagers} }}\n{fault}\
             [expect]\noutcome = \"exactly-once\"\n"
        )
    };
    assert!(parse(&scenario(3, ""), "r.toml").is_ok());
    let many = parse(&scenario(4, ""), "r.toml").unwrap_err().to_string();
    assert!(
        many.contains("topology.jobmanagers") && many.contains("must be at most 3"),
        "{many}"
    );
    let crash =
        |host: &str| format!("[[fault]]\nkind = \"crash\"\nhost = \"{host}\"\nat = \"1s\"\n");
    let err = parse(&scenario(2, &crash("jobmanager")), "r.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fault[0].host") && err.contains("jobmanager-1"),
        "{err}"
    );
    assert!(parse(&scenario(2, &crash("ha")), "r.toml").is_ok());
    let on_election = "[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-1\"\nafter = \"100ms\"\non = { event = \"leader_elected\" }\n";
    let err = parse(&scenario(1, on_election), "r.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("fault[0].on.event") && err.contains("standby jobmanagers"),
        "{err}"
    );
    assert!(parse(&scenario(2, on_election), "r.toml").is_ok());
    let expecting = |jobmanagers: u32| {
        scenario(jobmanagers, "").replace(
            "outcome = \"exactly-once\"\n",
            "outcome = \"exactly-once\"\nsometimes = [\"leader-fenced\"]\n",
        )
    };
    let err = parse(&expecting(1), "r.toml").unwrap_err().to_string();
    assert!(
        err.contains("expect.sometimes[0]") && err.contains("standby jobmanagers"),
        "{err}"
    );
    assert!(parse(&expecting(2), "r.toml").is_ok());
    let disk = "[[fault]]\nkind = \"disk_loss\"\nhost = \"ha\"\nat = \"1s\"\nafter = \"1s\"\n";
    let err = parse(&scenario(2, disk), "r.toml").unwrap_err().to_string();
    assert!(err.contains("disk_loss of ha cannot be survived"), "{err}");
}
