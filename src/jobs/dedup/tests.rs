use super::*;
use crate::jobs::testing::{
    run_with_crash, run_with_cuts, RestoreWatermark, Stage, MAX_PARALLELISM,
};
use crate::jobs::FindingKind;
use flinch_engine::operator::Keyed;

fn workload(records: u64, partitions: u32) -> WorkloadConfig {
    WorkloadConfig {
        records,
        keys: 8,
        partitions,
        skew: 1.0,
        ..WorkloadConfig::default()
    }
}

fn stages() -> Vec<Stage> {
    vec![Stage {
        name: VERTEX,
        make: Box::new(|| Keyed::boxed(Dedup, MAX_PARALLELISM)),
        map: None,
    }]
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind.clone()).collect()
}

fn wm(partition: u32, next: u64) -> u64 {
    watermark(&Params::default(), partition, next)
}

#[test]
fn the_model_accepts_every_interleaving_cut_and_restore() {
    let p = Params::default();
    for partitions in [2, 3] {
        let input = generate(&p, &workload(900, partitions), 7);
        for seed in 0..8 {
            let (out, cuts) = run_with_cuts(&stages(), &input, &wm, seed, 3);
            assert_eq!(check_output(&p, &input, &out), vec![], "seed {seed}");
            assert!(out.len() < 900, "duplicates were dropped");
            for cut in &cuts {
                let (state, timers) = cut.state(0);
                let problems = check_state(&p, &input, &cut.offsets, VERTEX, &state, &timers);
                assert_eq!(
                    problems,
                    Vec::<String>::new(),
                    "seed {seed} at {:?}",
                    cut.offsets
                );
            }
            let at = (4 + seed as usize, 12);
            let (crashed, after) = run_with_crash(
                &stages(),
                &input,
                &wm,
                seed,
                at,
                RestoreWatermark::Recomputed,
            );
            assert_eq!(
                check_output(&p, &input, &crashed),
                vec![],
                "seed {seed} with a crash"
            );
            for cut in &after {
                let (state, timers) = cut.state(0);
                assert_eq!(
                    check_state(&p, &input, &cut.offsets, VERTEX, &state, &timers),
                    Vec::<String>::new()
                );
            }
            assert_eq!(check_output_at_least_once(&p, &input, &crashed), vec![]);
        }
    }
}

#[test]
fn the_model_catches_a_duplicated_a_lost_a_wrong_and_a_foreign_output() {
    let p = Params::default();
    let input = generate(&p, &workload(600, 2), 3);
    let (out, _) = run_with_cuts(&stages(), &input, &wm, 1, 4);
    let mut dup = out.clone();
    dup.push(out[5].clone());
    assert_eq!(
        kinds(&check_output(&p, &input, &dup)),
        vec![FindingKind::Duplicated {
            expected: 1,
            found: 2
        }]
    );
    assert_eq!(
        check_output_at_least_once(&p, &input, &dup),
        vec![],
        "copies are at-least-once"
    );
    let mut lost = out.clone();
    let gone = lost.remove(5);
    let findings = check_output(&p, &input, &lost);
    assert_eq!(
        kinds(&findings),
        vec![FindingKind::Missing {
            expected: 1,
            found: 0
        }]
    );
    assert_eq!(
        (&findings[0].key[..], &findings[0].value[..]),
        (&gone.key[..], &gone.value[..])
    );
    assert_eq!(
        kinds(&check_output_at_least_once(&p, &input, &lost)),
        kinds(&findings)
    );
    let mut wrong = out.clone();
    wrong[5].value = bytes(&(payload(0) ^ 1));
    let found = kinds(&check_output(&p, &input, &wrong));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&FindingKind::Missing {
        expected: 1,
        found: 0
    }));
    assert!(found.contains(&FindingKind::Unexpected { found: 1 }));
    let mut foreign = out.clone();
    foreign.push(Record {
        key: bytes(&u64::MAX),
        value: bytes(&payload(u64::MAX)),
        timestamp: 0,
        origin: None,
    });
    assert_eq!(
        kinds(&check_output(&p, &input, &foreign)),
        vec![FindingKind::Unexpected { found: 1 }]
    );
}

#[test]
fn check_state_rejects_a_perturbed_cut() {
    let p = Params::default();
    let input = generate(&p, &workload(600, 2), 5);
    let (_, cuts) = run_with_cuts(&stages(), &input, &wm, 2, 5);
    let cut = &cuts[cuts.len() / 2];
    let (state, timers) = cut.state(0);
    let check = |s: &BTreeMap<Vec<u8>, Vec<u8>>, t: &BTreeSet<(u64, Vec<u8>)>, o: &[u64]| {
        check_state(&p, &input, o, VERTEX, s, t)
    };
    assert_eq!(check(&state, &timers, &cut.offsets), Vec::<String>::new());
    let mut fewer = state.clone();
    fewer.pop_first();
    assert!(!check(&fewer, &timers, &cut.offsets).is_empty());
    let mut unseen = state.clone();
    unseen.insert(encode(&u64::MAX), encode(&true));
    assert!(!check(&unseen, &timers, &cut.offsets).is_empty());
    let mut falsified = state.clone();
    *falsified.values_mut().next().unwrap() = encode(&false);
    assert!(!check(&falsified, &timers, &cut.offsets).is_empty());
    let timer = BTreeSet::from([(5, encode(&1u64))]);
    assert!(!check(&state, &timer, &cut.offsets).is_empty());
    let later: Vec<u64> = cut.offsets.iter().map(|o| o + 40).collect();
    assert!(
        !check(&state, &timers, &later).is_empty(),
        "a cut past new ids"
    );
    assert!(!check_state(&p, &input, &cut.offsets, "count", &state, &timers).is_empty());
}

#[test]
fn the_generator_is_deterministic_and_repeats_the_stated_share_of_ids_across_partitions() {
    let p = Params::default();
    let w = workload(20_000, 4);
    let log = generate(&p, &w, 1);
    assert_eq!(log, generate(&p, &w, 1));
    assert_ne!(log, generate(&p, &w, 2));
    let mut partitions_of: BTreeMap<Id, BTreeSet<u32>> = BTreeMap::new();
    let mut records = 0u64;
    for (part, rs) in log.iter().enumerate() {
        for (offset, r) in rs.iter().enumerate() {
            let id: Id = record::decode(&r.key).unwrap();
            assert_eq!(record::decode::<u64>(&r.value).unwrap(), payload(id));
            assert_eq!(r.origin, Some((part as u32, offset as u64)));
            assert!((id >> 32) < u64::from(w.keys));
            partitions_of.entry(id).or_default().insert(part as u32);
            records += 1;
        }
    }
    let repeats = records - partitions_of.len() as u64;
    let share = repeats as f64 / records as f64;
    assert!(
        (share - p.repeat_fraction).abs() < 0.01,
        "repeated share {share}"
    );
    let across = partitions_of.values().filter(|ps| ps.len() > 1).count();
    assert!(
        across * 10 > partitions_of.len(),
        "{across} ids in several partitions"
    );
}

#[test]
fn every_parameter_is_bounded_and_its_extremes_run() {
    for fraction in [0.0, REPEAT_FRACTION_MAX] {
        let p = Params {
            repeat_fraction: fraction,
        }
        .validate()
        .expect("a bound is valid");
        let input = generate(&p, &workload(400, 2), 4);
        let ids: BTreeSet<&[u8]> = input.iter().flatten().map(|r| &r.key[..]).collect();
        if fraction == 0.0 {
            assert_eq!(ids.len(), 400, "no repeats");
        } else {
            assert!(ids.len() < 60, "{} distinct ids", ids.len());
        }
        let (out, _) = run_with_cuts(&stages(), &input, &wm, 3, 4);
        assert_eq!(check_output(&p, &input, &out), vec![]);
        assert_eq!(out.len(), ids.len());
    }
    for bad in [-0.01, 0.951, f64::NAN] {
        let error = Params {
            repeat_fraction: bad,
        }
        .validate()
        .unwrap_err();
        assert_eq!((error.job, error.field), (NAME, "repeat_fraction"));
    }
    let p: Params = toml::from_str("repeat_fraction = 0.5").unwrap();
    assert_eq!(p.repeat_fraction, 0.5);
    assert_eq!(toml::from_str::<Params>("").unwrap(), Params::default());
    assert!(toml::from_str::<Params>("repeat = 0.5").is_err());
    assert_eq!(watermark(&p, 1, 100), 0);
}
