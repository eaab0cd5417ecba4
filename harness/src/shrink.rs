//! Shrinking: the smallest fault plan that still fails the same way
//! (docs/design.md §4: the plan, not the RNG, is what shrinking edits).
//!
//! [`shrink`] is pure over a predicate ("does this plan fail?"), so it is
//! tested without simulations. It alternates two moves until neither
//! helps, then the plan is *1-minimal*: removing any one fault, or halving
//! how long any one lasts, makes the run pass.
//! 1. **ddmin** (Zeller and Hildebrandt, "Simplifying and Isolating
//!    Failure-Inducing Input", 2002) over the list of faults: try halves,
//!    then complements, at finer and finer granularity.
//! 2. **shortening**: halve each fault's duration (how long a host stays
//!    down, a link or disk stays faulty) in whole milliseconds, down to
//!    [`MIN_DURATION`], while the plan still fails.
//!
//! Every distinct plan is run at most once (results are cached), and at
//! most `max_runs` plans are run: when the budget runs out the smallest
//! failing plan found so far is returned, marked `exhausted`.
//!
//! Then [`shrink_seed`] tries removing each of the scenario's plain
//! savepoints (`[[savepoint]]`), the last first, keeping each removal after
//! which the shrunk plan still fails the same way (one run each, within the
//! same budget); their times are pinned first, as the faults' are.
//!
//! [`shrink_seed`] wires it to simulations. Two things keep it sound:
//! - **Pinned times.** A fault's jitter is resolved by one draw per fault
//!   in plan order ([`resolve_jitter`]), so removing a fault would move
//!   every later one. Shrinking therefore starts from the plan with each
//!   fault's jitter resolved to the time it fired at in the failing run;
//!   that plan runs exactly as the original.
//! - **The same failure.** A plan counts as failing only if its run has a
//!   violation of a (checker, kind) the original run had, e.g.
//!   `[exactly-once] duplicated`, so shrinking does not wander off to a
//!   different bug, or to a plan that fails only because one of its faults
//!   never fired or did nothing (`vacuous` never counts). A seed that
//!   fails only as `vacuous` is not shrunk at all
//!   ([`ShrinkError::OnlyVacuous`]): its plan is what is wrong, and any
//!   plan with a fault that does nothing would "fail the same way".
//! - **Anchors.** A fault may wait for another's edge (`on = { fault =
//!   "cut" }`). When a candidate plan lacks the anchor, each dependent is
//!   **pinned** to the time it fired in the failing run (`at` = that time,
//!   `on` gone; [`pin_orphans`]), not dropped with it: the pin keeps the
//!   dependent where it struck, which is what most failures hinge on, and
//!   ddmin still tries removing the dependent on its own like any other
//!   fault, so "drop it too" is explored by the next step anyway. A
//!   dependent that never fired has no time to pin to and is dropped (and
//!   so, in turn, are its own dependents that never fired). Faults are
//!   matched by id, never by index, so removing faults keeps every other
//!   reference.

use crate::fault::{Fault, Trigger};
use crate::lifecycle::Savepoint;
use crate::scenario::{Scenario, SeedRange};
use crate::seed::{run_plan_until, SeedReport};
use crate::violation::{Checker, Violation, VACUOUS};
use crate::world::{resolve_jitter, resolve_savepoint_jitter};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Duration;

/// Plans run by `flinch shrink` at most, by default.
pub const MAX_RUNS: usize = 500;
/// Durations are not halved below this.
pub const MIN_DURATION: Duration = Duration::from_millis(1);

/// The outcome of shrinking.
#[derive(Debug, Clone, PartialEq)]
pub struct Shrunk {
    /// The smallest failing plan found.
    pub plan: Vec<Fault>,
    /// How many plans were run (cached repeats not counted).
    pub runs: usize,
    /// The budget ran out before the plan was 1-minimal.
    pub exhausted: bool,
}

/// Where shrinking stands, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub runs: usize,
    pub max_runs: usize,
    /// Faults in the smallest failing plan so far.
    pub faults: usize,
}

/// Shrink `plan`, which must fail, to a 1-minimal failing plan, running at
/// most `max_runs` plans through `fails`. `progress` is called after every
/// run.
pub fn shrink(
    plan: Vec<Fault>,
    max_runs: usize,
    fails: impl FnMut(&[Fault]) -> bool,
    progress: impl FnMut(Progress),
) -> Shrunk {
    let mut tester = Tester {
        fails,
        progress,
        cache: vec![(plan.clone(), true)],
        runs: 0,
        max_runs,
        exhausted: false,
        best: plan.len(),
    };
    let mut current = plan;
    if tester.fails(&[]) {
        current = Vec::new();
    }
    loop {
        current = tester.ddmin(current);
        let (shortened, changed) = tester.shorten_all(current);
        current = shortened;
        if !changed || tester.exhausted {
            break;
        }
    }
    Shrunk {
        plan: current,
        runs: tester.runs,
        exhausted: tester.exhausted,
    }
}

struct Tester<F, P> {
    fails: F,
    progress: P,
    /// Every plan run so far, with whether it failed.
    cache: Vec<(Vec<Fault>, bool)>,
    runs: usize,
    max_runs: usize,
    exhausted: bool,
    best: usize,
}

impl<F: FnMut(&[Fault]) -> bool, P: FnMut(Progress)> Tester<F, P> {
    /// Whether `plan` fails; `false` once the budget is spent.
    fn fails(&mut self, plan: &[Fault]) -> bool {
        if let Some((_, failed)) = self.cache.iter().find(|(p, _)| p == plan) {
            return *failed;
        }
        if self.runs >= self.max_runs {
            self.exhausted = true;
            return false;
        }
        self.runs += 1;
        let failed = (self.fails)(plan);
        self.cache.push((plan.to_vec(), failed));
        if failed {
            self.best = self.best.min(plan.len());
        }
        (self.progress)(Progress {
            runs: self.runs,
            max_runs: self.max_runs,
            faults: self.best,
        });
        failed
    }

    /// Zeller's ddmin: a failing sub-list of `items` from which no single
    /// element can be removed (when the budget allows).
    fn ddmin(&mut self, mut items: Vec<Fault>) -> Vec<Fault> {
        let mut n = 2;
        while items.len() >= 2 && !self.exhausted {
            let chunks = split(&items, n);
            if let Some(chunk) = chunks.iter().find(|c| self.fails(c)) {
                items = chunk.clone();
                n = 2;
                continue;
            }
            // With two chunks, each one's complement is the other.
            let complement = (n > 2)
                .then(|| (0..chunks.len()).map(|i| without(&chunks, i)))
                .into_iter()
                .flatten()
                .find(|c| self.fails(c));
            if let Some(complement) = complement {
                items = complement;
                n = (n - 1).max(2);
                continue;
            }
            if n >= items.len() {
                break;
            }
            n = (n * 2).min(items.len());
        }
        items
    }

    /// Halve each fault's duration while the plan still fails; whether
    /// anything got shorter.
    fn shorten_all(&mut self, mut plan: Vec<Fault>) -> (Vec<Fault>, bool) {
        let mut changed = false;
        for i in 0..plan.len() {
            while let Some(shorter) = halved(&plan[i]) {
                let mut candidate = plan.clone();
                candidate[i] = shorter;
                if !self.fails(&candidate) {
                    break;
                }
                plan = candidate;
                changed = true;
            }
        }
        (plan, changed)
    }
}

/// `items` in `n` contiguous chunks of nearly equal size, in order.
fn split(items: &[Fault], n: usize) -> Vec<Vec<Fault>> {
    let n = n.clamp(1, items.len().max(1));
    let (size, extra) = (items.len() / n, items.len() % n);
    let mut chunks = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let len = size + usize::from(i < extra);
        chunks.push(items[start..start + len].to_vec());
        start += len;
    }
    chunks
}

/// Every chunk but the `skip`-th, concatenated in order.
fn without(chunks: &[Vec<Fault>], skip: usize) -> Vec<Fault> {
    let rest = chunks.iter().enumerate().filter(|(i, _)| *i != skip);
    rest.flat_map(|(_, c)| c.iter().cloned()).collect()
}

/// The fault lasting half as long (whole milliseconds, rounded down), or
/// `None` when that would be shorter than [`MIN_DURATION`] or the fault
/// has no duration.
pub fn halved(fault: &Fault) -> Option<Fault> {
    let lasts = fault.kind.duration()?;
    let half = Duration::from_millis((lasts.as_millis() / 2) as u64);
    if half < MIN_DURATION || half >= lasts {
        return None;
    }
    let mut kind = fault.kind.clone();
    *kind.duration_mut()? = half;
    Some(Fault {
        kind,
        ..fault.clone()
    })
}

/// What a failure is, for "fails the same way": its violations' checkers
/// and kinds, without `vacuous` (empty when that is all there is: such a
/// failure is not shrunk, [`ShrinkError::OnlyVacuous`]).
pub fn signature(violations: &[Violation]) -> Vec<(Checker, &'static str)> {
    let mut real: Vec<_> = (violations.iter())
        .filter(|v| v.kind != VACUOUS)
        .map(|v| (v.checker, v.kind))
        .collect();
    real.sort_unstable();
    real.dedup();
    real
}

/// Whether a run with `violations` failed the way `signature` says.
pub fn same_failure(signature: &[(Checker, &'static str)], violations: &[Violation]) -> bool {
    violations
        .iter()
        .any(|v| signature.contains(&(v.checker, v.kind)))
}

/// A shrunk failing seed.
#[derive(Debug, Clone)]
pub struct ShrinkReport {
    pub seed: u64,
    /// The seed's plan with every fault's time pinned, in time order.
    pub original: Vec<Fault>,
    pub shrunk: Shrunk,
    /// How many plain savepoints (`[[savepoint]]`) the scenario has.
    pub original_savepoints: usize,
    /// Those the shrunk plan still needs to fail, each one's time pinned
    /// ([`resolve_savepoint_jitter`]).
    pub savepoints: Vec<Savepoint>,
    /// The failure being preserved.
    pub signature: Vec<(Checker, &'static str)>,
    /// The run of the shrunk plan.
    pub report: SeedReport,
}

/// Why a seed could not be shrunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShrinkError {
    #[error("seed {seed} passes: there is no failure to shrink")]
    Passes { seed: u64 },
    #[error(
        "seed {seed} fails, but not once its faults' times are pinned and put in time order \
         (two faults due in the same tick swapped); shrink by hand from its plan"
    )]
    NotReproducible { seed: u64 },
    /// The seed fails only as `vacuous`: a fault (or savepoint) of its plan
    /// never fired or did nothing. That is the plan's own fault, not a bug
    /// to shrink: any smaller plan with a fault that does nothing would
    /// fail the same way. `why`: the `vacuous` violations' messages.
    #[error(
        "seed {seed} fails only as vacuous, so it is not shrunk: the plan itself needs fixing \
         (every fault must fire and act): {}",
        why.join("; ")
    )]
    OnlyVacuous { seed: u64, why: Vec<String> },
    /// The caller's stop hook (Ctrl-C in `flinch run`) ended shrinking.
    #[error("shrinking seed {seed} was stopped before it finished")]
    Stopped { seed: u64 },
}

/// Run `seed` of `scenario`; if it fails, shrink its plan (at most
/// `max_runs` runs) to the smallest one that fails the same way.
pub fn shrink_seed(
    scenario: &Scenario,
    seed: u64,
    max_runs: usize,
    progress: impl FnMut(Progress),
) -> Result<ShrinkReport, ShrinkError> {
    shrink_seed_until(scenario, seed, max_runs, progress, &|| false)
}

/// [`shrink_seed`], with every run asking `stop` whether to give up (see
/// [`run_plan_until`]); once it says yes, shrinking ends with
/// [`ShrinkError::Stopped`] (the runs left return at their first step).
pub fn shrink_seed_until(
    scenario: &Scenario,
    seed: u64,
    max_runs: usize,
    progress: impl FnMut(Progress),
    stop: &dyn Fn() -> bool,
) -> Result<ShrinkReport, ShrinkError> {
    let stopped = ShrinkError::Stopped { seed };
    let first =
        run_plan_until(scenario, seed, &scenario.plan(seed), stop).map_err(|_| stopped.clone())?;
    if first.passed {
        return Err(ShrinkError::Passes { seed });
    }
    let signature = signature(&first.violations);
    if signature.is_empty() {
        let why = (first.violations.iter())
            .filter(|v| v.kind == VACUOUS)
            .map(|v| v.message.clone())
            .collect();
        return Err(ShrinkError::OnlyVacuous { seed, why });
    }
    let was_stopped = Cell::new(false);
    let fails_in =
        |scenario: &Scenario, plan: &[Fault]| match run_plan_until(scenario, seed, plan, stop) {
            Ok(r) => !r.passed && same_failure(&signature, &r.violations),
            Err(_) => {
                was_stopped.set(true);
                false
            }
        };
    let fails = |plan: &[Fault]| fails_in(scenario, plan);
    let pinned = file_order(resolve_jitter(&first.plan, seed));
    if pinned != first.plan && !fails(&pinned) {
        if was_stopped.get() {
            return Err(stopped);
        }
        return Err(ShrinkError::NotReproducible { seed });
    }
    let pins = fault_trigger_times(scenario, seed, &pinned);
    let fails = |plan: &[Fault]| fails(&pin_orphans(plan, &pins));
    let mut shrunk = shrink(pinned.clone(), max_runs, fails, progress);
    shrunk.plan = pin_orphans(&shrunk.plan, &pins);
    // The savepoints, the last first: each one the plan fails without is
    // dropped.
    let mut kept = scenario.clone();
    kept.savepoints = resolve_savepoint_jitter(&scenario.savepoints, seed);
    for n in (0..kept.savepoints.len()).rev() {
        if shrunk.runs >= max_runs {
            shrunk.exhausted = true;
            break;
        }
        let mut without = kept.clone();
        without.savepoints.remove(n);
        shrunk.runs += 1;
        if fails_in(&without, &shrunk.plan) {
            kept = without;
        }
    }
    if was_stopped.get() {
        return Err(stopped);
    }
    let report = run_plan_until(&kept, seed, &shrunk.plan, stop).map_err(|_| stopped.clone())?;
    Ok(ShrinkReport {
        seed,
        original: pinned,
        shrunk,
        original_savepoints: scenario.savepoints.len(),
        savepoints: kept.savepoints,
        signature,
        report,
    })
}

/// When each fault with a fault trigger fired in a run of `plan` (one more
/// run of the failing plan; empty if it broke): a resolved fault trigger
/// (its jitter already in its delay) fires at the same time whichever
/// fault has it, since its anchor's edges happen once.
fn fault_trigger_times(scenario: &Scenario, seed: u64, plan: &[Fault]) -> Vec<(Trigger, Duration)> {
    if plan.iter().all(|f| f.anchor().is_none()) {
        return Vec::new();
    }
    let Ok(outcome) = crate::world::simulate_plan(scenario, seed, plan) else {
        return Vec::new();
    };
    plan.iter()
        .zip(outcome.fired_at)
        .filter_map(|(f, at)| match (&f.on, at) {
            (Some(on @ Trigger::Fault(_)), Some(at)) => Some((on.clone(), at)),
            _ => None,
        })
        .collect()
}

/// `plan` in the order a scenario file lists it: by `at`, stably, then
/// every fault with a fault trigger moved after the fault it waits for
/// (a stable topological order: each place takes the first fault, in
/// time order, whose anchor is already placed or not in the plan). A
/// dependent's `at` is zero, so by time alone it would come before its
/// anchor, and the shrunk file would read backwards. Faults without a
/// fault trigger keep their time order, as a file must list them. A cycle
/// (refused at load) is left in time order after the rest.
///
/// The shrinker runs every plan in this order, so the file it prints is
/// exactly the plan it ran (faults due in the same step apply in plan
/// order).
pub fn file_order(mut plan: Vec<Fault>) -> Vec<Fault> {
    plan.sort_by_key(|f| f.at);
    let index_of: BTreeMap<&str, usize> = plan
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((f.id.as_deref()?, i)))
        .collect();
    let anchors: Vec<Option<usize>> = plan
        .iter()
        .map(|f| f.anchor().and_then(|id| index_of.get(id).copied()))
        .collect();
    let mut placed = vec![false; plan.len()];
    let mut order: Vec<usize> = Vec::with_capacity(plan.len());
    // Each pass places one fault, or (only for a cycle) stops: at most as
    // many passes as faults, each a scan of the plan.
    while let Some(next) =
        (0..plan.len()).find(|&i| !placed[i] && anchors[i].is_none_or(|a| placed[a]))
    {
        placed[next] = true;
        order.push(next);
    }
    order.extend((0..plan.len()).filter(|&i| !placed[i]));
    let mut slots: Vec<Option<Fault>> = plan.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// `plan` with every fault whose anchor it lacks pinned to the time its
/// trigger fired in the failing run (`pins`: trigger and time), or dropped
/// when it never fired there; repeated until every anchor is present, as a
/// dropped fault may have been an anchor itself. A pinned plan is put back
/// in [`file_order`], as a scenario file lists it. A plan whose anchors are
/// all present comes back unchanged.
pub fn pin_orphans(plan: &[Fault], pins: &[(Trigger, Duration)]) -> Vec<Fault> {
    let mut plan = plan.to_vec();
    let mut pinned = false;
    // Each pass pins or drops at least one fault, or ends.
    loop {
        let has = |id: &str| plan.iter().any(|f| f.id.as_deref() == Some(id));
        let orphan = plan
            .iter()
            .position(|f| f.anchor().is_some_and(|id| !has(id)));
        let Some(index) = orphan else {
            return if pinned { file_order(plan) } else { plan };
        };
        let pin = pins
            .iter()
            .find(|(on, _)| plan[index].on.as_ref() == Some(on))
            .map(|(_, at)| *at);
        match pin {
            Some(at) => {
                pinned = true;
                plan[index].on = None;
                plan[index].at = at;
                plan[index].jitter = Duration::ZERO;
            }
            None => {
                plan.remove(index);
            }
        }
    }
}

/// The scenario that replays a shrunk seed: the original with the shrunk
/// plan as its hand-written faults, no nemesis, the one seed as its range,
/// and a name and description that say where it came from.
pub fn shrunk_scenario(scenario: &Scenario, shrink: &ShrinkReport) -> Scenario {
    let seed = shrink.seed;
    let name = |(checker, kind): &(Checker, &str)| format!("[{}] {kind}", checker.name());
    // A plan is kept when it fails with any of the original failure's
    // kinds ([`same_failure`]): say which it keeps, and which it lost.
    let (kept, lost): (Vec<_>, Vec<_>) = shrink
        .signature
        .iter()
        .partition(|sig| (shrink.report.violations.iter()).any(|v| (v.checker, v.kind) == **sig));
    let kept: Vec<String> = kept.into_iter().map(name).collect();
    let lost: Vec<String> = lost.into_iter().map(name).collect();
    let mut origin = format!(
        "Shrunk from scenario {} seed {seed}: {} of its {} faults, the smallest plan found that \
         still fails with {}.",
        scenario.name,
        shrink.shrunk.plan.len(),
        shrink.original.len(),
        kept.join(", "),
    );
    if !lost.is_empty() {
        origin += &format!(
            " The original plan also failed with {}, which this one does not.",
            lost.join(", ")
        );
    }
    // Both stay within the bounds a scenario file is loaded with, so that
    // the shrunk file loads however long the original's texts were: the
    // original's are cut short where the additions would not fit.
    let suffix = format!("-seed-{seed}-shrunk");
    let origin = wrap(&origin, 98);
    let name_room = crate::scenario::limits::NAME_CHARS.max as usize - suffix.chars().count();
    let text_room = (crate::scenario::limits::TEXT_CHARS.max as usize)
        .saturating_sub(origin.chars().count() + 2);
    let description = format!("{origin}\n\n{}", cut(&scenario.description, text_room));
    Scenario {
        name: format!("{}{suffix}", cut(&scenario.name, name_room)),
        description,
        faults: shrink.shrunk.plan.clone(),
        savepoints: shrink.savepoints.clone(),
        nemesis: None,
        // One seed judges no share of seeds: the file is a regression case.
        sometimes: Vec::new(),
        seeds: SeedRange::one(seed),
        ..scenario.clone()
    }
}

/// `text` in lines of at most `width` characters (longer words alone).
fn wrap(text: &str, width: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines.join("\n")
}

/// `text`, or its first `chars` characters when it is longer.
fn cut(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::FaultKind;

    /// Fault `i`: a crash_restart of `taskmanager-1` at `i` ms, down for `down` ms.
    fn fault(i: u64, down: u64) -> Fault {
        Fault {
            id: None,
            kind: FaultKind::CrashRestart {
                after: Duration::from_millis(down),
            },
            host: "taskmanager-1".into(),
            at: Duration::from_millis(i),
            jitter: Duration::ZERO,
            on: None,
        }
    }

    fn ids(plan: &[Fault]) -> Vec<u64> {
        plan.iter().map(|f| f.at.as_millis() as u64).collect()
    }

    fn down(f: &Fault) -> u64 {
        f.kind.duration().expect("crash_restart lasts").as_millis() as u64
    }

    fn check(n: u64, fails: impl Fn(&[Fault]) -> bool) -> Shrunk {
        let plan: Vec<Fault> = (0..n).map(|i| fault(i, 400)).collect();
        shrink(plan, MAX_RUNS, fails, |_| {})
    }

    #[test]
    fn ddmin_finds_the_two_faults_that_fail_together() {
        let both = |p: &[Fault]| ids(p).contains(&3) && ids(p).contains(&7);
        let shrunk = check(10, both);
        assert_eq!(ids(&shrunk.plan), [3, 7]);
        assert!(!shrunk.exhausted);
        // ... and then shortens each to the minimum that still fails.
        assert_eq!(shrunk.plan.iter().map(down).collect::<Vec<_>>(), [1, 1]);
    }

    #[test]
    fn ddmin_finds_one_fault_among_many_in_few_runs() {
        let shrunk = check(64, |p| ids(p).contains(&41));
        assert_eq!(ids(&shrunk.plan), [41]);
        assert!(shrunk.runs < 40, "{} runs", shrunk.runs);
    }

    #[test]
    fn durations_halve_to_the_shortest_that_still_fails() {
        // Fails while fault 5 keeps its host down at least 60 ms.
        let long = |p: &[Fault]| p.iter().any(|f| f.at.as_millis() == 5 && down(f) >= 60);
        let shrunk = check(8, long);
        assert_eq!(ids(&shrunk.plan), [5]);
        // 400 -> 200 -> 100; 50 would pass.
        assert_eq!(down(&shrunk.plan[0]), 100);
    }

    #[test]
    fn removing_becomes_possible_after_shortening() {
        // Faults 1 and 2 fail together while 2 is long; once 2 is short,
        // fault 1 alone fails too (a failure that needs less, shrunk more).
        let fails = |p: &[Fault]| {
            let f2 = p.iter().find(|f| f.at.as_millis() == 2);
            let has1 = ids(p).contains(&1);
            match f2 {
                Some(f) if down(f) >= 100 => has1,
                Some(_) => false,
                None => has1 && p.len() == 1 && down(&p[0]) <= 100,
            }
        };
        let plan = vec![fault(1, 400), fault(2, 400)];
        let shrunk = shrink(plan, MAX_RUNS, fails, |_| {});
        assert_eq!(ids(&shrunk.plan), [1]);
        assert!(down(&shrunk.plan[0]) <= 100);
    }

    #[test]
    fn a_failure_without_faults_shrinks_to_the_empty_plan() {
        let shrunk = check(5, |_| true);
        assert!(shrunk.plan.is_empty());
        assert_eq!(shrunk.runs, 1);
    }

    #[test]
    fn the_budget_bounds_the_runs_and_keeps_the_best_plan_so_far() {
        let plan: Vec<Fault> = (0..32).map(|i| fault(i, 400)).collect();
        let mut seen = Vec::new();
        let shrunk = shrink(
            plan,
            5,
            |p| ids(p).contains(&3) && ids(p).contains(&29),
            |p| seen.push(p),
        );
        assert!(shrunk.exhausted);
        assert_eq!(shrunk.runs, 5);
        assert!(ids(&shrunk.plan).contains(&3) && ids(&shrunk.plan).contains(&29));
        assert_eq!(seen.len(), 5);
        assert!(seen.iter().all(|p| p.max_runs == 5));
    }

    #[test]
    fn no_plan_is_run_twice() {
        let mut runs: Vec<Vec<u64>> = Vec::new();
        let plan: Vec<Fault> = (0..12).map(|i| fault(i, 1)).collect();
        shrink(
            plan,
            MAX_RUNS,
            |p| {
                runs.push(ids(p));
                ids(p).contains(&2) && ids(p).contains(&9)
            },
            |_| {},
        );
        let mut unique = runs.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), runs.len());
    }

    /// Fault `i` with an id, or waiting for `anchor`'s end.
    fn anchored(i: u64, id: Option<&str>, anchor: Option<&str>) -> Fault {
        Fault {
            id: id.map(str::to_owned),
            on: anchor.map(|a| {
                Trigger::Fault(crate::fault::FaultTrigger {
                    fault: a.to_owned(),
                    edge: crate::fault::Edge::End,
                    delay: Duration::from_millis(i),
                })
            }),
            at: if anchor.is_some() {
                Duration::ZERO
            } else {
                Duration::from_millis(i)
            },
            ..fault(i, 400)
        }
    }

    #[test]
    fn a_dependent_whose_anchor_is_removed_is_pinned_to_when_it_fired() {
        // a <- b <- c, and d waits for a too but never fired.
        let a = anchored(10, Some("a"), None);
        let b = anchored(20, Some("b"), Some("a"));
        let c = anchored(30, None, Some("b"));
        let d = anchored(40, Some("d"), Some("a"));
        let e = anchored(50, None, Some("d"));
        let pins = vec![
            (b.on.clone().expect("b waits"), Duration::from_millis(700)),
            (c.on.clone().expect("c waits"), Duration::from_millis(900)),
        ];
        let whole = vec![a.clone(), b.clone(), c.clone(), d.clone(), e.clone()];
        assert_eq!(pin_orphans(&whole, &pins), whole, "nothing to pin");
        let without_a = pin_orphans(&whole[1..], &pins);
        // b is pinned (and keeps its id, so c still waits for it); d never
        // fired, so it is dropped, and e with it. c (at 0) still follows b.
        assert_eq!(without_a.len(), 2, "{without_a:?}");
        let pinned_b = &without_a[0];
        assert_eq!(without_a[1], c);
        assert_eq!((pinned_b.id.as_deref(), &pinned_b.on), (Some("b"), &None));
        assert_eq!(pinned_b.at, Duration::from_millis(700));
        // Without a and b, c is pinned to its own time.
        let only_c = pin_orphans(std::slice::from_ref(&c), &pins);
        assert_eq!(
            (only_c[0].at, &only_c[0].on),
            (Duration::from_millis(900), &None)
        );
    }

    #[test]
    fn halving_keeps_whole_milliseconds_and_a_floor() {
        let f = fault(0, 5);
        let f = halved(&f).expect("5 ms halves");
        assert_eq!(down(&f), 2);
        let f = halved(&f).expect("2 ms halves");
        assert_eq!(down(&f), 1);
        assert_eq!(halved(&f), None);
        let crash = Fault {
            id: None,
            kind: FaultKind::Crash,
            ..fault(0, 1)
        };
        assert_eq!(halved(&crash), None);
    }

    #[test]
    fn the_signature_leaves_out_vacuity() {
        let v = |checker, kind| Violation::new(checker, kind, "x");
        let dup = v(Checker::ExactlyOnce, "duplicated");
        let vacuous = v(Checker::ExpectedOutcome, "vacuous");
        assert_eq!(
            signature(&[vacuous.clone(), dup.clone(), dup.clone()]),
            [(Checker::ExactlyOnce, "duplicated")]
        );
        // Vacuous alone is no failure to keep (such a seed is not shrunk).
        assert_eq!(signature(std::slice::from_ref(&vacuous)), []);
        let sig = signature(std::slice::from_ref(&dup));
        assert!(same_failure(&sig, &[vacuous.clone(), dup]));
        assert!(!same_failure(&sig, &[vacuous]));
    }

    /// Dependents follow their anchors, chains in chain order; everything
    /// else keeps its time order, and a dependent moves no further than
    /// just past its anchor.
    #[test]
    fn file_order_puts_anchors_before_dependents_and_keeps_time_order() {
        let early = anchored(100, None, None);
        let cut = anchored(300, Some("cut"), None);
        let after_cut = anchored(1, Some("x"), Some("cut"));
        let after_x = anchored(2, None, Some("x"));
        let late = anchored(500, None, None);
        let orphan = anchored(3, None, Some("gone"));
        let plan = vec![
            late.clone(),
            after_x.clone(),
            cut.clone(),
            orphan.clone(),
            after_cut.clone(),
            early.clone(),
        ];
        assert_eq!(
            file_order(plan),
            [orphan, early, cut, after_cut, after_x, late],
            "by time, then each dependent right after what it waits for"
        );
        // A cycle (refused at load) is kept, after the rest.
        let a = anchored(1, Some("a"), Some("b"));
        let b = anchored(2, Some("b"), Some("a"));
        let first = anchored(10, None, None);
        assert_eq!(
            file_order(vec![a.clone(), b.clone(), first.clone()]),
            [first, a, b]
        );
    }

    /// A shrunk plan that keeps only some of the original failure's kinds
    /// says which it keeps and which it lost.
    #[test]
    fn a_shrunk_files_description_says_which_failure_kinds_the_plan_keeps() {
        use crate::violation::{Checker, Violation};
        let s = crate::scenario::load("taskmanager-crash").expect("built-in");
        let seed = 0;
        let plan = file_order(resolve_jitter(&s.plan(seed), seed));
        let mut report = crate::seed::run_plan(&s, seed, &plan);
        // The shrunk plan's run kept one of the original's two kinds.
        report.violations = vec![Violation::new(Checker::ExactlyOnce, "duplicated", "x")];
        let shrink = ShrinkReport {
            seed,
            original: plan.clone(),
            shrunk: Shrunk {
                plan,
                runs: 3,
                exhausted: false,
            },
            original_savepoints: 0,
            savepoints: Vec::new(),
            signature: vec![
                (Checker::ExactlyOnce, "duplicated"),
                (Checker::ConsistentCut, "inconsistent-cut"),
            ],
            report,
        };
        let description = shrunk_scenario(&s, &shrink).description.replace('\n', " ");
        assert!(
            description.contains("still fails with [exactly-once] duplicated.")
                && description.contains(
                    "The original plan also failed with [consistent-cut] inconsistent-cut, which \
                     this one does not."
                ),
            "{description}"
        );
    }

    /// The shrunk scenario file of a plan with dependents (at 0) lists
    /// each anchor first, and parses back to the same plan.
    /// A scenario whose name and description are as long as a file may
    /// hold shrinks to a file that still loads: the additions (the seed in
    /// the name, the shrink's origin in the description) cut the original's
    /// texts short rather than push them over their bounds.
    #[test]
    fn a_shrunk_file_of_the_longest_texts_still_loads() {
        use crate::scenario::limits::{NAME_CHARS, TEXT_CHARS};
        let mut s = crate::scenario::load("steady").expect("built-in");
        s.name = "é".repeat(NAME_CHARS.max as usize);
        s.description = "word ".repeat(TEXT_CHARS.max as usize / 5);
        let seed = u64::MAX;
        let report = ShrinkReport {
            seed,
            original: Vec::new(),
            shrunk: Shrunk {
                plan: Vec::new(),
                runs: 0,
                exhausted: false,
            },
            original_savepoints: 0,
            savepoints: Vec::new(),
            signature: Vec::new(),
            report: crate::seed::run_plan(&s, 0, &[]),
        };
        let shrunk = shrunk_scenario(&s, &report);
        assert_eq!(shrunk.name.chars().count(), NAME_CHARS.max as usize);
        assert!(shrunk.name.ends_with(&format!("-seed-{seed}-shrunk")));
        assert!(shrunk.description.chars().count() <= TEXT_CHARS.max as usize);
        let text = crate::plan::render(&shrunk);
        crate::scenario::parse(&text, "shrunk.toml").unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn a_shrunk_file_lists_each_anchor_before_its_dependents_and_parses_back() {
        let s = crate::scenario::load("crash-after-partition-heals").expect("built-in");
        let seed = 0;
        // What shrinking starts from, and here ends with unchanged.
        let plan = file_order(resolve_jitter(&s.plan(seed), seed));
        let report = ShrinkReport {
            seed,
            original: plan.clone(),
            shrunk: Shrunk {
                plan: plan.clone(),
                runs: 0,
                exhausted: false,
            },
            original_savepoints: 0,
            savepoints: Vec::new(),
            signature: Vec::new(),
            report: crate::seed::run_plan(&s, seed, &plan),
        };
        let text = crate::plan::render(&shrunk_scenario(&s, &report));
        let line = |needle: &str| {
            text.lines()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no line with {needle} in\n{text}"))
        };
        let anchor = line("id = \"cut\"");
        assert!(
            anchor < line("on = { fault = \"cut\", edge = \"start\""),
            "{text}"
        );
        assert!(
            anchor < line("on = { fault = \"cut\", edge = \"end\""),
            "{text}"
        );
        let parsed =
            crate::scenario::parse(&text, "shrunk.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed.faults, plan, "{text}");
    }
}
