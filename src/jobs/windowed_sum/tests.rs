use super::*;
use crate::jobs::testing::{
    run_with_crash, run_with_cuts, RestoreWatermark, Stage, MAX_PARALLELISM,
};
use flinch_engine::operator::Keyed;

/// Short windows, many late records: every path runs in a small input.
fn params() -> Valid {
    Params {
        window: Duration::from_millis(200),
        out_of_orderness: Duration::from_millis(50),
        record_interval: Duration::from_millis(10),
        late_fraction: 0.1,
    }
    .validate()
    .expect("valid")
}

fn workload(records: u64, partitions: u32) -> WorkloadConfig {
    WorkloadConfig {
        records,
        keys: 6,
        partitions,
        skew: 0.5,
        ..WorkloadConfig::default()
    }
}

fn stages(p: Valid) -> Vec<Stage> {
    vec![Stage {
        name: VERTEX,
        make: Box::new(move || Keyed::boxed(WindowedSum::new(&p), MAX_PARALLELISM)),
        map: None,
    }]
}

fn decoded(out: &[Record]) -> Vec<(u32, WindowOutput)> {
    let d = |r: &Record| {
        (
            record::decode(&r.key).unwrap(),
            record::decode(&r.value).unwrap(),
        )
    };
    out.iter().map(d).collect()
}

fn kinds(findings: &[Finding]) -> Vec<FindingKind> {
    findings.iter().map(|f| f.kind.clone()).collect()
}

#[test]
fn the_model_accepts_every_interleaving_cut_and_restore() {
    let p = params();
    let (mut dropped, mut late_included, mut refired) = (0, 0, 0);
    for partitions in [2, 3] {
        let input = generate(&p, &workload(1_200, partitions), 7);
        let wm = move |part, n| watermark(&p, part, n);
        for seed in 0..8 {
            let (out, cuts) = run_with_cuts(&stages(p), &input, &wm, seed, 3);
            assert_eq!(check_output(&p, &input, &out), vec![], "seed {seed}");
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
            for (key, o) in decoded(&out) {
                let _ = key;
                match o {
                    WindowOutput::Dropped { count } => dropped += count,
                    WindowOutput::Window { sum, .. } => late_included += sum / LATE_VALUE,
                }
            }
            for restore in [RestoreWatermark::Recomputed, RestoreWatermark::FromZero] {
                let at = (4 + 5 * seed as usize, 12);
                let (crashed, after) = run_with_crash(&stages(p), &input, &wm, seed, at, restore);
                assert_eq!(
                    check_output(&p, &input, &crashed),
                    vec![],
                    "seed {seed}, {restore:?}"
                );
                refired += late_only_refires(&p, &input, &crashed);
                for cut in &after {
                    let (state, timers) = cut.state(0);
                    let problems = check_state(&p, &input, &cut.offsets, VERTEX, &state, &timers);
                    assert_eq!(
                        problems,
                        Vec::<String>::new(),
                        "seed {seed}, {restore:?}, at {:?}",
                        cut.offsets
                    );
                }
            }
        }
    }
    assert!(dropped > 0, "some maybe-late records were dropped");
    assert!(late_included > 0, "some maybe-late records were included");
    assert!(
        refired > 0,
        "some window fired again after a restore, with maybe-late records only"
    );
}

/// Windows committed more than once (a full output and late-only ones).
fn late_only_refires(p: &Valid, input: &[Vec<Record>], out: &[Record]) -> usize {
    let _ = (p, input);
    let mut seen = BTreeMap::new();
    for (key, o) in decoded(out) {
        if let WindowOutput::Window { start, .. } = o {
            *seen.entry((key, start)).or_insert(0) += 1;
        }
    }
    seen.values().filter(|n| **n > 1).count()
}

fn one_run() -> (Valid, Vec<Vec<Record>>, Vec<Record>) {
    let p = params();
    let input = generate(&p, &workload(600, 2), 3);
    let (out, _) = run_with_cuts(
        &stages(p),
        &input,
        &move |part, n| watermark(&p, part, n),
        1,
        4,
    );
    assert_eq!(check_output(&p, &input, &out), vec![]);
    (p, input, out)
}

fn first(out: &[Record], dropped: bool) -> usize {
    let is = |o: &(u32, WindowOutput)| matches!(o.1, WindowOutput::Dropped { .. }) == dropped;
    decoded(out).iter().position(is).expect("such an output")
}

#[test]
fn the_model_catches_a_duplicated_window_and_a_duplicated_dropped_count() {
    let (p, input, out) = one_run();
    for dropped in [false, true] {
        let mut bad = out.clone();
        bad.push(out[first(&out, dropped)].clone());
        let findings = check_output(&p, &input, &bad);
        assert!(
            kinds(&findings).contains(&FindingKind::Duplicated {
                expected: 1,
                found: 2
            }),
            "{findings:?}"
        );
    }
}

#[test]
fn the_model_catches_a_lost_window_and_a_lost_dropped_count() {
    let (p, input, out) = one_run();
    for dropped in [false, true] {
        let mut bad = out.clone();
        bad.remove(first(&out, dropped));
        let findings = check_output(&p, &input, &bad);
        assert!(
            kinds(&findings).contains(&FindingKind::Missing {
                expected: 1,
                found: 0
            }),
            "{findings:?}"
        );
    }
}

#[test]
fn the_model_catches_a_wrong_sum_count_or_dropped_count() {
    let (p, input, out) = one_run();
    let i = first(&out, false);
    let WindowOutput::Window { start, sum, count } = decoded(&out)[i].1 else {
        unreachable!()
    };
    for wrong in [
        WindowOutput::Window {
            start,
            sum: sum + 1,
            count,
        },
        WindowOutput::Window {
            start,
            sum,
            count: count + 1,
        },
        WindowOutput::Window {
            start: start + 1,
            sum,
            count,
        },
    ] {
        let mut bad = out.clone();
        bad[i].value = bytes(&wrong);
        assert!(!check_output(&p, &input, &bad).is_empty(), "{wrong:?}");
    }
    let j = first(&out, true);
    let WindowOutput::Dropped { count } = decoded(&out)[j].1 else {
        unreachable!()
    };
    let mut bad = out.clone();
    bad[j].value = bytes(&WindowOutput::Dropped { count: count + 1 });
    assert_eq!(
        kinds(&check_output(&p, &input, &bad)),
        vec![FindingKind::WrongValue]
    );
    let mut bad = out.clone();
    bad.push(Record {
        key: bytes(&99u32),
        ..out[j].clone()
    });
    assert_eq!(
        kinds(&check_output(&p, &input, &bad)),
        vec![FindingKind::Unexpected { found: 1 }]
    );
}

#[test]
fn the_model_catches_a_watermark_restored_instead_of_recomputed() {
    let p = params();
    let input = generate(&p, &workload(1_200, 2), 11);
    let wm = move |part, n| watermark(&p, part, n);
    for seed in 0..6 {
        let (good, _) = run_with_crash(
            &stages(p),
            &input,
            &wm,
            seed,
            (8, 40),
            RestoreWatermark::Recomputed,
        );
        assert_eq!(check_output(&p, &input, &good), vec![], "seed {seed}");
        let (bad, _) = run_with_crash(
            &stages(p),
            &input,
            &wm,
            seed,
            (8, 40),
            RestoreWatermark::PreCrash,
        );
        let findings = check_output(&p, &input, &bad);
        assert!(
            findings.iter().any(|f| matches!(f.kind, FindingKind::Missing { .. })),
            "seed {seed}: on-time records replayed under the pre-crash watermark are dropped: {findings:?}"
        );
    }
}

#[test]
fn check_state_rejects_a_perturbed_cut() {
    let p = params();
    let input = generate(&p, &workload(600, 2), 5);
    let (_, cuts) = run_with_cuts(
        &stages(p),
        &input,
        &move |part, n| watermark(&p, part, n),
        2,
        5,
    );
    let cut = &cuts[cuts.len() / 2];
    let (state, timers) = cut.state(0);
    let check = |s: &BTreeMap<Vec<u8>, Vec<u8>>, t: &BTreeSet<(u64, Vec<u8>)>, offsets: &[u64]| {
        check_state(&p, &input, offsets, VERTEX, s, t)
    };
    assert_eq!(check(&state, &timers, &cut.offsets), Vec::<String>::new());
    let (key, bytes) = state
        .iter()
        .find(|(_, b)| !record::decode::<KeyState>(b).unwrap().windows.is_empty())
        .unwrap();
    let ks: KeyState = record::decode(bytes).unwrap();
    let bumped = |f: &dyn Fn(&mut KeyState)| {
        let mut s = state.clone();
        let mut k = ks.clone();
        f(&mut k);
        s.insert(key.clone(), encode(&k));
        s
    };
    let perturbed = [
        bumped(&|k| k.windows.values_mut().next().unwrap().sum += 1),
        bumped(&|k| k.windows.values_mut().next().unwrap().count += 1),
        bumped(&|k| k.dropped += 1_000),
        bumped(&|k| {
            k.windows.pop_first();
        }),
    ];
    for s in &perturbed {
        assert!(!check(s, &timers, &cut.offsets).is_empty());
    }
    let mut missing_key = state.clone();
    missing_key.remove(key);
    assert!(!check(&missing_key, &timers, &cut.offsets).is_empty());
    let mut fewer_timers = timers.clone();
    fewer_timers.pop_first();
    assert!(!check(&state, &fewer_timers, &cut.offsets).is_empty());
    let mut earlier = cut.offsets.clone();
    earlier[0] -= 1;
    assert!(
        !check(&state, &timers, &earlier).is_empty(),
        "a cut one record off"
    );
    assert!(!check_state(&p, &input, &cut.offsets, "count", &state, &timers).is_empty());
}

#[test]
fn the_watermark_is_nondecreasing_and_bounds_every_later_on_time_record() {
    let p = params();
    let input = generate(&p, &workload(2_000, 2), 9);
    for (part, log) in input.iter().enumerate() {
        for n in 0..log.len() {
            let wm = watermark(&p, part as u32, n as u64);
            assert!(wm <= watermark(&p, part as u32, n as u64 + 1));
            // Records within the bound of their offset, at or after `n`.
            let within = |(o, r): &(usize, &Record)| r.timestamp >= *o as u64 * p.record_interval;
            let later_min = log
                .iter()
                .enumerate()
                .skip(n)
                .filter(within)
                .map(|(_, r)| r.timestamp)
                .min();
            if n > 0 {
                assert!(later_min.is_none_or(|t| t > wm), "offset {n}");
            }
        }
    }
    assert_eq!(watermark(&p, 0, 0), 0);
    assert_eq!(watermark(&p, 0, u64::MAX), u64::MAX - 1, "saturates");
}

#[test]
fn the_generator_is_deterministic_and_lays_timestamps_out_as_stated() {
    let p = params();
    let w = workload(20_000, 4);
    let log = generate(&p, &w, 1);
    assert_eq!(log, generate(&p, &w, 1));
    assert_ne!(log, generate(&p, &w, 2));
    assert_eq!(log.iter().map(Vec::len).sum::<usize>(), 20_000);
    let (mut late, mut maybe, mut counted) = (0u64, 0u64, 0u64);
    for (part, records) in log.iter().enumerate() {
        for (offset, r) in records.iter().enumerate() {
            let o = offset as u64;
            assert_eq!(r.origin, Some((part as u32, o)));
            assert!(record::decode::<u32>(&r.key).unwrap() < w.keys);
            let earliest = o * p.record_interval;
            let ts = r.timestamp;
            assert!(
                ts <= earliest + p.out_of_orderness,
                "never ahead of its base time"
            );
            assert!(
                ts + p.window >= earliest,
                "late by at most one window beyond the bound"
            );
            let value: u64 = record::decode(&r.value).unwrap();
            let is_maybe_late = maybe_late(&p, part as u32, o, ts);
            assert_eq!(value == LATE_VALUE, is_maybe_late);
            assert!(is_maybe_late || (1..=VALUE_MAX).contains(&value));
            assert!(
                !is_maybe_late || ts < earliest,
                "only records beyond the bound may be late"
            );
            if earliest >= p.window {
                counted += 1;
                late += u64::from(ts < earliest);
            }
            maybe += u64::from(is_maybe_late);
        }
    }
    let share = late as f64 / counted as f64;
    assert!((share - p.late_fraction).abs() < 0.01, "late share {share}");
    assert!(
        maybe > late / 4,
        "a good part of the late records may be dropped: {maybe} of {late}"
    );
}

#[test]
fn parameters_parse_from_a_scenario_table_with_defaults() {
    let p: Params = toml::from_str(
        r#"window = "1s"
out_of_orderness = "200ms""#,
    )
    .unwrap();
    assert_eq!(p, Params::default());
    let p: Params = toml::from_str(
        r#"window = "1.5s"
late_fraction = 0.0"#,
    )
    .unwrap();
    assert_eq!(p.validate().unwrap().window, 1_500);
    let error = toml::from_str::<Params>(r#"windw = "1s""#).unwrap_err();
    assert!(error.message().contains("unknown field `windw`"), "{error}");
    let error = toml::from_str::<Params>("window = 1000").unwrap_err();
    assert!(error.message().contains("expected a string"), "{error}");
    let error = toml::from_str::<Params>(r#"window = "1 s""#).unwrap_err();
    assert!(error.message().contains("unknown unit"), "{error}");
}

fn with(f: impl Fn(&mut Params)) -> Params {
    let mut p = Params::default();
    f(&mut p);
    p
}

#[test]
fn every_parameter_is_bounded_and_its_extremes_run() {
    let ms = Duration::from_millis;
    let hour = crate::jobs::MAX_DURATION;
    let smallest = Params {
        window: ms(1),
        out_of_orderness: ms(0),
        record_interval: ms(1),
        late_fraction: 0.0,
    };
    let largest = Params {
        window: hour,
        out_of_orderness: hour,
        record_interval: hour,
        late_fraction: 0.5,
    };
    for extreme in [smallest, largest] {
        let p = extreme.validate().expect("the bounds themselves are valid");
        let input = generate(&p, &workload(300, 2), 4);
        let wm = move |part, n| watermark(&p, part, n);
        let (out, cuts) = run_with_cuts(&stages(p), &input, &wm, 3, 4);
        assert_eq!(check_output(&p, &input, &out), vec![], "{extreme:?}");
        let cut = &cuts[cuts.len() / 2];
        let (state, timers) = cut.state(0);
        assert_eq!(
            check_state(&p, &input, &cut.offsets, VERTEX, &state, &timers),
            Vec::<String>::new()
        );
    }
    let beyond = [
        ("window", with(|p| p.window = ms(0))),
        ("window", with(|p| p.window = hour + ms(1))),
        ("window", with(|p| p.window = Duration::from_micros(1_500))),
        (
            "out_of_orderness",
            with(|p| p.out_of_orderness = hour + ms(1)),
        ),
        ("record_interval", with(|p| p.record_interval = ms(0))),
        (
            "record_interval",
            with(|p| p.record_interval = hour + ms(1)),
        ),
        ("late_fraction", with(|p| p.late_fraction = 0.51)),
        ("late_fraction", with(|p| p.late_fraction = -0.1)),
        ("late_fraction", with(|p| p.late_fraction = f64::NAN)),
    ];
    for (field, p) in beyond {
        let error = p.validate().expect_err(field);
        assert_eq!((error.job, error.field), (NAME, field));
        assert!(!error.why.is_empty());
    }
    let error = with(|p| p.window = ms(0)).validate().unwrap_err();
    assert_eq!(
        error.to_string(),
        "job `windowed-sum`: field `window`: must be a whole number of milliseconds, at least \"1ms\" and at most \"3600000ms\", got \"0ms\": timestamps are whole milliseconds, and no run spans more than an hour of event time"
    );
}
