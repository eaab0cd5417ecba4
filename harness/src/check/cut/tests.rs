use super::*;
use crate::check::fixture::{correct_run, input, kinds, real_run, scenario, RESTORED, TASKS};
use crate::expect::Expectation;
use crate::trace::TraceEvent;

const COUNT: TaskId = TASKS[1];

fn config() -> JobConfig {
    scenario(Expectation::ExactlyOnce).config
}

/// The correct run with `tamper` applied to every event.
fn tampered(tamper: impl Fn(&mut Event)) -> RunOutcome {
    let mut run = correct_run();
    for e in &mut run.trace {
        if let What::Engine(event) = &mut e.what {
            tamper(event);
        }
    }
    run
}

/// The offsets checkpoint `n` completed at in `run`.
fn offsets_of(run: &RunOutcome, n: u64) -> Vec<u64> {
    let completed = run.trace.iter().find_map(|e| match &e.what {
        What::Engine(Event::CheckpointCompleted {
            checkpoint,
            offsets,
        }) if *checkpoint == n => Some(offsets.clone()),
        _ => None,
    });
    completed.expect("the fixture completes checkpoints 1 to 4")
}

#[test]
fn a_correct_run_snapshots_the_oracles_state_at_every_checkpoint() {
    assert_eq!(consistent_cut(&correct_run(), &config()), []);
}

#[test]
fn another_operator_digest_is_an_inconsistent_cut_showing_both_digests() {
    let run = tampered(|e| {
        if let Event::StateSnapshotted {
            checkpoint: RESTORED,
            operator_digest: Some(d),
            ..
        } = e
        {
            *d = 0xbad;
        }
    });
    let found = consistent_cut(&run, &config());
    assert_eq!(kinds(&found), [kind::INCONSISTENT_CUT]);
    let v = &found[0];
    assert_eq!(v.checker, Checker::ConsistentCut);
    assert_eq!((v.checkpoint, v.task), (Some(RESTORED), Some(COUNT)));
    let expected = correct_state(&run, RESTORED).digest(max_parallelism());
    assert_eq!(
        v.message,
        format!(
            "checkpoint 2 completed at 0.120s with sources at offsets [40, 40, 40], but \
             count[0]'s snapshot of it (epoch 1, at 0.100s) has operator digest 0x00000bad, \
             while the oracle's state after the 120 records routed to count[0] below those \
             offsets has digest {expected:#010x}"
        )
    );
}

/// The keyed count of every record below checkpoint `n`'s offsets.
fn correct_state(run: &RunOutcome, n: u64) -> CountModel {
    let offsets = offsets_of(run, n);
    let mut op = CountModel::default();
    for r in input().iter().flatten() {
        if r.offset < offsets[r.partition as usize] {
            op.count(r.key);
        }
    }
    op
}

fn max_parallelism() -> u32 {
    config().topology.max_parallelism
}

#[test]
fn a_snapshot_holding_one_record_beyond_the_offsets_is_caught() {
    let run = correct_run();
    let offsets = offsets_of(&run, 3);
    let mut state = correct_state(&run, 3);
    let beyond = input()[1][offsets[1] as usize];
    state.count(beyond.key);
    let leaked = state.digest(max_parallelism());
    let mut run = run;
    for e in &mut run.trace {
        if let What::Engine(Event::StateSnapshotted {
            checkpoint: 3,
            operator_digest: Some(d),
            ..
        }) = &mut e.what
        {
            *d = leaked;
        }
    }
    let found = consistent_cut(&run, &config());
    assert_eq!(kinds(&found), [kind::INCONSISTENT_CUT]);
    assert_eq!(found[0].checkpoint, Some(3));
    assert!(
        found[0].message.contains("after the 180 records"),
        "{}",
        found[0]
    );
}

#[test]
fn a_checkpoint_completed_at_other_offsets_is_an_inconsistent_cut() {
    let run = tampered(|e| {
        if let Event::CheckpointCompleted {
            checkpoint: 1,
            offsets,
        } = e
        {
            offsets[2] -= 1;
        }
    });
    let found = consistent_cut(&run, &config());
    assert_eq!(kinds(&found), [kind::INCONSISTENT_CUT]);
    assert!(
        found[0].message.contains("offsets [20, 20, 19]"),
        "{}",
        found[0]
    );
    assert!(found[0].message.contains("the 59 records"), "{}", found[0]);
}

#[test]
fn a_completed_checkpoint_without_a_count_snapshot_is_a_missing_snapshot() {
    let mut run = correct_run();
    run.trace.retain(|e| {
        !matches!(
            e.what,
            What::Engine(Event::StateSnapshotted {
                checkpoint: 3,
                task: COUNT,
                ..
            })
        )
    });
    let found = consistent_cut(&run, &config());
    assert_eq!(kinds(&found), [kind::MISSING_SNAPSHOT]);
    assert!(found[0]
        .message
        .ends_with("but no snapshot of it by count[0] was recorded before"));
    let run = tampered(|e| {
        if let Event::StateSnapshotted {
            checkpoint: 4,
            operator_digest,
            ..
        } = e
        {
            *operator_digest = None;
        }
    });
    let found = consistent_cut(&run, &config());
    assert_eq!(kinds(&found), [kind::MISSING_SNAPSHOT]);
    assert!(found[0].message.ends_with("carries no operator digest"));
}

#[test]
fn a_snapshot_taken_after_the_completion_does_not_count() {
    let mut run = correct_run();
    let snapshot = run.trace.iter().position(|e| {
        matches!(
            e.what,
            What::Engine(Event::StateSnapshotted {
                checkpoint: 1,
                task: COUNT,
                ..
            })
        )
    });
    let snapshot = run
        .trace
        .remove(snapshot.expect("the fixture snapshots checkpoint 1"));
    run.trace.push(snapshot);
    assert_eq!(
        kinds(&consistent_cut(&run, &config())),
        [kind::MISSING_SNAPSHOT]
    );
}

#[test]
fn at_least_once_checkpoints_are_not_checked() {
    let mut config = config();
    config.checkpoint.mode = CheckpointMode::AtLeastOnce;
    let run = tampered(|e| {
        if let Event::CheckpointCompleted { offsets, .. } = e {
            offsets[0] = 0;
        }
    });
    assert_eq!(consistent_cut(&run, &config), []);
}

/// Real runs: both count subtasks of every completed checkpoint.
#[test]
fn real_runs_snapshot_consistent_cuts_and_tampering_shows() {
    for (name, seed) in [("steady", 0), ("taskmanager-crash", 3)] {
        let (s, run) = real_run(name, seed);
        assert_eq!(consistent_cut(&run, &s.config), [], "{name} seed {seed}");
        let completed =
            |e: &TraceEvent| matches!(e.what, What::Engine(Event::CheckpointCompleted { .. }));
        assert!(run.trace.iter().filter(|e| completed(e)).count() >= 3);

        let first = run.trace.iter().find_map(|e| match &e.what {
            What::Engine(Event::CheckpointCompleted { checkpoint, .. }) => Some(*checkpoint),
            _ => None,
        });
        let first = first.expect("checkpoints complete");
        let count_1 = crate::keyed_count::plan(&JobConfig::default()).sink(1);
        let mut digest = run.clone();
        for e in &mut digest.trace {
            if let What::Engine(Event::StateSnapshotted {
                checkpoint,
                task,
                operator_digest: Some(d),
                ..
            }) = &mut e.what
            {
                if (*checkpoint, *task) == (first, count_1) {
                    *d ^= 1;
                }
            }
        }
        let found = consistent_cut(&digest, &s.config);
        assert_eq!(kinds(&found), [kind::INCONSISTENT_CUT], "{name}");
        assert_eq!(found[0].task, Some(count_1));

        let mut offset = run.clone();
        let first = offset.trace.iter_mut().find_map(|e| match &mut e.what {
            What::Engine(Event::CheckpointCompleted { offsets, .. }) => Some(offsets),
            _ => None,
        });
        first.expect("checkpoints complete")[0] -= 1;
        let found = consistent_cut(&offset, &s.config);
        assert_eq!(
            kinds(&found),
            [kind::INCONSISTENT_CUT],
            "{name}: one subtask had the record"
        );
    }
}

#[test]
fn sources_that_do_not_rewind_leave_a_gap_in_the_next_cut() {
    use flinch_engine::config::PlantedBug;
    let mut s = crate::scenario::load("taskmanager-crash").expect("built-in");
    s.config.planted_bug = Some(PlantedBug::SourceNoRewind);
    let caught = (0..10).find_map(|seed| {
        let run = crate::world::simulate(&s, seed).expect("simulates");
        let found = consistent_cut(&run, &s.config);
        (!found.is_empty()).then_some(found)
    });
    let found = caught.expect("source-no-rewind caught within 10 seeds");
    assert!(
        found.iter().all(|v| v.kind == kind::INCONSISTENT_CUT),
        "{found:#?}"
    );
}

#[test]
fn the_oracle_follows_offsets_forward_and_back() {
    let input = input();
    let plan = crate::keyed_count::plan(&config());
    let routed = route(&input, &plan);
    let n = routed.len();
    let fresh = |offsets: &[u64]| Oracle::new(1, plan.max_parallelism, n).at(&routed, offsets);
    let mut oracle = Oracle::new(1, plan.max_parallelism, n);
    for offsets in [
        [20, 20, 20],
        [40, 41, 40],
        [40, 41, 40],
        [10, 60, 60],
        [80, 80, 80],
        [99, 0, 3],
    ] {
        let (moved, from_scratch) = (oracle.at(&routed, &offsets), fresh(&offsets));
        assert_eq!(moved[0].digest, from_scratch[0].digest, "{offsets:?}");
        assert_eq!(moved[0].records, from_scratch[0].records, "{offsets:?}");
    }
    assert_eq!(fresh(&[80, 80, 80])[0].records, 240);
    assert_eq!(
        fresh(&[1, 2])[0].records,
        3,
        "a partition without an offset has none"
    );
}

#[test]
fn the_models_digest_is_the_engines_for_the_same_records() {
    use crate::keyed_count::KeyedCount;
    use flinch_engine::operator::{Keyed, KeyedOperator};
    for max_parallelism in [1, 4, 128] {
        let mut engine = Keyed::new(KeyedCount, max_parallelism);
        let mut model = CountModel::default();
        assert_eq!(
            crc32fast::hash(&engine.snapshot().unwrap()),
            model.digest(max_parallelism),
            "empty"
        );
        for r in input().iter().flatten() {
            engine.process(r.to_record(), &mut Vec::new()).unwrap();
            model.count(r.key);
        }
        assert_eq!(
            crc32fast::hash(&engine.snapshot().unwrap()),
            model.digest(max_parallelism),
            "{max_parallelism} key groups"
        );
        model.count(0);
        assert_ne!(
            crc32fast::hash(&engine.snapshot().unwrap()),
            model.digest(max_parallelism),
            "one record more"
        );
    }
}

#[test]
fn the_models_digest_is_the_engines_for_keys_in_its_table_and_beyond() {
    use crate::keyed_count::KeyedCount;
    use flinch_engine::operator::{Keyed, KeyedOperator};
    use flinch_engine::record::InputRecord;
    // Keys below, at and above the table's end, some twice, out of order.
    let keys = [
        3,
        DENSE_KEYS + 5,
        3,
        0,
        DENSE_KEYS - 1,
        DENSE_KEYS,
        u32::MAX,
        7,
    ];
    let mut engine = Keyed::new(KeyedCount, 128);
    let (mut model, mut reversed) = (CountModel::default(), CountModel::default());
    for (offset, &key) in (0..).zip(&keys) {
        let r = InputRecord {
            key,
            partition: 0,
            offset,
        };
        engine.process(r.to_record(), &mut Vec::new()).unwrap();
        model.count(key);
    }
    for &key in keys.iter().rev() {
        reversed.count(key);
    }
    assert_eq!(
        crc32fast::hash(&engine.snapshot().unwrap()),
        model.digest(128)
    );
    let counted: Vec<(Key, u64)> = model.iter().collect();
    let expected = [
        0,
        3,
        7,
        DENSE_KEYS - 1,
        DENSE_KEYS,
        DENSE_KEYS + 5,
        u32::MAX,
    ];
    let counts = [1, 2, 1, 1, 1, 1, 1];
    assert_eq!(
        counted,
        expected.into_iter().zip(counts).collect::<Vec<_>>()
    );
    assert_eq!(model, reversed, "the order records came in does not matter");
    reversed.count(DENSE_KEYS + 5);
    assert_ne!(model, reversed, "one record more");
}
