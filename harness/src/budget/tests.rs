use super::*;
use crate::fault::{EventTrigger, FaultKind, Trigger};
use crate::nemesis::NemesisKind;
use flinch_engine::config::{CheckpointConfig, TimingConfig, WorkloadConfig};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn with_records(records: u64) -> JobConfig {
    JobConfig {
        workload: WorkloadConfig {
            records,
            ..WorkloadConfig::default()
        },
        ..JobConfig::default()
    }
}

fn crash_restart(at: Duration, jitter: Duration, after: Duration) -> Fault {
    Fault {
        id: None,
        kind: FaultKind::CrashRestart { after },
        host: "taskmanager-1".into(),
        at,
        jitter,
        on: None,
    }
}

#[test]
fn the_default_margin_adds_up_every_term_of_the_configuration() {
    let margin = Margin::of(&JobConfig::default());
    assert_eq!(
        margin,
        Margin {
            detect: ms(1_100),
            restart: ms(1_000),
            redeploy: ms(3_000),
            checkpoint: ms(2_200),
            messages: ms(250),
        }
    );
    assert_eq!(margin.total(), ms(7_550));
    assert_eq!(
        margin.to_string(),
        "7.550s (detect 1.100s + restart 1.000s + redeploy 3.000s + checkpoint 2.200s + \
         messages 0.250s)"
    );
}

#[test]
fn the_margin_follows_the_configuration() {
    let mut config = JobConfig {
        timing: TimingConfig {
            channel_keepalive_timeout: ms(4_000),
            slot_request_timeout: ms(100),
            ..TimingConfig::default()
        },
        checkpoint: CheckpointConfig {
            interval: ms(1_000),
            timeout: ms(5_000),
            min_pause: ms(300),
            ..CheckpointConfig::default()
        },
        restart: RestartConfig::ExponentialDelay {
            initial_backoff: ms(10),
            max_backoff: ms(700),
            multiplier: 2.0,
            jitter: 0.1,
            reset_backoff_threshold: ms(1_000),
            attempts: None,
        },
        ..JobConfig::default()
    };
    let margin = Margin::of(&config);
    assert_eq!(margin.detect, ms(4_000), "the keepalive is the longest");
    assert_eq!(margin.restart, ms(700));
    assert_eq!(margin.redeploy, ms(100));
    assert_eq!(margin.checkpoint, ms(6_300));
    config.restart = RestartConfig::None;
    assert_eq!(Margin::of(&config).restart, Duration::ZERO);
}

#[test]
fn a_long_input_needs_its_reading_time_and_the_margin() {
    // 30,000 records over 2 partitions at 1,000 records/s per source.
    assert_eq!(input_time(&with_records(30_000)), ms(15_000 + 7_550));
    assert_eq!(input_time(&with_records(2_000)), ms(1_000 + 7_550));
    assert_eq!(needed_sim_time(&with_records(2_000), None), ms(8_550));
    assert_eq!(
        needed_sim_time(&with_records(2_000), Some(ms(30_000))),
        ms(30_000),
        "a longer liveness_bound is waited for"
    );
    assert_eq!(
        needed_sim_time(&with_records(2_000), Some(ms(1_000))),
        ms(8_550),
        "a shorter one does not cut the input short"
    );
}

#[test]
fn the_default_run_length_covers_every_fault_and_the_job_after_it() {
    let config = with_records(2_000);
    let needed = ms(8_550);
    assert_eq!(
        default_max_sim_time(&config, None, &[], None),
        needed + GRACE
    );
    let timed = [
        crash_restart(ms(300), ms(600), ms(300)),
        crash_restart(ms(100), Duration::ZERO, ms(100)),
    ];
    assert_eq!(
        default_max_sim_time(&config, None, &timed, None),
        ms(1_200) + needed + GRACE,
        "the latest heal, not the sum"
    );
    let mut on_event = crash_restart(ms(200), Duration::ZERO, ms(300));
    on_event.on = Some(Trigger::Event(EventTrigger {
        checkpoint: Some(2),
        ..EventTrigger::on("checkpoint_completed")
    }));
    assert_eq!(
        default_max_sim_time(&config, None, &[on_event.clone(), on_event], None),
        (needed + ms(500)) * 2 + needed + GRACE,
        "each fault on an event may come a whole run after the one before"
    );
    let nemesis = Nemesis {
        intensity: 2.0,
        kinds: NemesisKind::ALL.to_vec(),
        hosts: vec!["*".into()],
        from: Duration::ZERO,
        until: ms(3_000),
    };
    assert_eq!(
        default_max_sim_time(&config, None, &timed, Some(&nemesis)),
        ms(4_000) + needed + GRACE,
        "a drawn fault lasts at most a second"
    );
}

#[test]
fn huge_durations_saturate_instead_of_overflowing() {
    let mut config = with_records(u64::MAX);
    config.workload.rate = 1;
    config.checkpoint.timeout = Duration::MAX;
    config.timing.slot_request_timeout = Duration::MAX;
    assert_eq!(Margin::of(&config).total(), Duration::MAX);
    assert_eq!(input_time(&config), Duration::MAX);
    let late = crash_restart(Duration::MAX, Duration::MAX, Duration::MAX);
    assert_eq!(
        default_max_sim_time(&config, Some(Duration::MAX), &[late], None),
        Duration::MAX
    );
}
