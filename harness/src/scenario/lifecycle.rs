//! `[[lifecycle]]`: the steps that stop the job and resume it
//! ([`crate::lifecycle`]), validated with file, line and field.

use super::raw::{RawRestoreMode, RawResumeFrom, RawSavepoint, RawStep, RawStopWith};
use super::validate::{topology_at, trigger, Ctx, Shape};
use super::ScenarioError;
use crate::fault::Trigger;
use crate::lifecycle::{
    RestoreMode, Resume, ResumeFrom, Savepoint, Step, Stop, StopWith, MAX_SAVEPOINTS, MAX_STEPS,
};
use flinch_engine::config::TopologyConfig;
use std::time::Duration;
use toml::Spanned;

/// Each step's resumed topology, in order: a step takes what its
/// `resume.topology` leaves out from the run before it. Errors: more than
/// [`MAX_STEPS`] steps, or a topology field out of its bounds or changing
/// what a job keeps for life.
pub(super) fn topologies(
    cx: &Ctx,
    raw: &[Spanned<RawStep>],
    first: &TopologyConfig,
) -> Result<Vec<TopologyConfig>, ScenarioError> {
    if raw.len() > MAX_STEPS {
        let message = format!(
            "at most {MAX_STEPS} lifecycle steps, got {}: each resumes a whole run of the job, \
             and a seed's run must stay within max_sim_time",
            raw.len()
        );
        return Err(cx.error(
            raw[MAX_STEPS].span(),
            format!("lifecycle[{MAX_STEPS}]"),
            message,
        ));
    }
    let mut topologies: Vec<TopologyConfig> = Vec::with_capacity(raw.len());
    for (i, step) in raw.iter().enumerate() {
        let before = topologies.last().unwrap_or(first).clone();
        let prefix = format!("lifecycle[{i}].resume.topology");
        // A step without a resume ends the job: no run takes a topology.
        let topology = match &step.get_ref().resume {
            Some(resume) => topology_at(cx, &resume.get_ref().topology, &prefix, Some(&before))?,
            None => before,
        };
        topologies.push(topology);
    }
    Ok(topologies)
}

/// The steps, with their resumed `topologies` ([`topologies`]). `shape`
/// is the widest run's, which a stop's event filters are checked against.
pub(super) fn steps(
    cx: &Ctx,
    raw: &[Spanned<RawStep>],
    topologies: Vec<TopologyConfig>,
    shape: &Shape,
) -> Result<Vec<Step>, ScenarioError> {
    let mut steps = Vec::with_capacity(raw.len());
    for (i, (step, topology)) in raw.iter().zip(topologies).enumerate() {
        let field = |name: &str| format!("lifecycle[{i}].{name}");
        let step = step.get_ref();
        let stop = step.stop.get_ref();
        let (at, on) = when(
            cx,
            (&stop.at, &stop.on, step.stop.span()),
            shape,
            &field("stop"),
            ("a stop", "a time after its run starts"),
        )?;
        let with = match stop.with.get_ref() {
            RawStopWith::Cancel => StopWith::Cancel,
            RawStopWith::Savepoint => StopWith::Savepoint,
        };
        let drain = stop.drain.as_ref().is_some_and(|d| *d.get_ref());
        let last = i + 1 == raw.len();
        if let Some(d) = stop.drain.as_ref().filter(|_| drain) {
            let refuse = |message: &str| Err(cx.error(d.span(), field("stop.drain"), message));
            if with != StopWith::Savepoint {
                return refuse("only a stop with a savepoint drains: `with = \"savepoint\"`");
            }
            if step.resume.is_some() {
                return refuse(
                    "a drained job does not resume: its windows and timers have all fired, \
                     and a resumed run would judge the later records late; drain on the last \
                     step, without `resume`",
                );
            }
        }
        let stop = Stop {
            at,
            jitter: stop
                .jitter
                .as_ref()
                .map_or(Duration::ZERO, |j| j.get_ref().0),
            on,
            with,
            drain,
        };
        let Some(resume) = &step.resume else {
            if !last || !drain {
                let message = "only the last step may leave out `resume`, and it must then stop \
                               with a drained savepoint (`with = \"savepoint\", drain = true`): \
                               the job ends there, and the oracle expects the output of the \
                               input up to where its sources stopped";
                return Err(cx.error(raw[i].span(), field("resume"), message));
            }
            steps.push(Step { stop, resume: None });
            continue;
        };
        let resume = resume.get_ref();
        let from = match resume.from.get_ref() {
            RawResumeFrom::Retained => ResumeFrom::Retained,
            RawResumeFrom::Savepoint if with != StopWith::Savepoint => {
                let message = "a resume from a savepoint needs a stop that takes one: \
                               `stop.with = \"savepoint\"` (or resume `from = \"retained\"`)";
                return Err(cx.error(resume.from.span(), field("resume.from"), message));
            }
            RawResumeFrom::Savepoint => ResumeFrom::Savepoint,
        };
        let restore_mode = match resume.restore_mode.as_ref().map(|m| *m.get_ref()) {
            Some(RawRestoreMode::Claim) => RestoreMode::Claim,
            Some(RawRestoreMode::NoClaim) | None => RestoreMode::NoClaim,
        };
        steps.push(Step {
            stop,
            resume: Some(Resume {
                from,
                restore_mode,
                after: resume
                    .after
                    .as_ref()
                    .map_or(Duration::ZERO, |a| a.get_ref().0),
                topology,
            }),
        });
    }
    Ok(steps)
}

/// When a stop or a savepoint comes: `at`, or `on` an engine event (then
/// counted from `at`, 0 if not given), validated against `shape`. `raw` is
/// the `at` and `on` fields and the span of the table holding them,
/// `prefix` its field path; `what` names it and what its `at` counts from,
/// for messages. Errors: neither field, or `on` a fault.
fn when(
    cx: &Ctx,
    raw: (
        &Option<Spanned<super::duration::SimDuration>>,
        &Option<Spanned<super::raw::RawTrigger>>,
        std::ops::Range<usize>,
    ),
    shape: &Shape,
    prefix: &str,
    what: (&str, &str),
) -> Result<(Duration, Option<crate::fault::EventTrigger>), ScenarioError> {
    let (at, on, span) = raw;
    let (name, from) = what;
    let on = match on {
        Some(on) => match trigger(cx, on.get_ref(), shape, &format!("{prefix}.on"))? {
            Trigger::Event(event) => Some(event),
            Trigger::Fault(_) => {
                let message = format!(
                    "{name} comes at a time (`at`) or on an engine event (`on = {{ event = ... \
                     }}`), not on a fault"
                );
                return Err(cx.error(on.span(), format!("{prefix}.on"), message));
            }
        },
        None => None,
    };
    let at = match (at, &on) {
        (Some(at), _) => at.get_ref().0,
        (None, Some(_)) => Duration::ZERO,
        (None, None) => {
            let message = format!("{name} needs `at` ({from}) or `on` (an engine event)");
            return Err(cx.error(span, format!("{prefix}.at"), message));
        }
    };
    Ok((at, on))
}

/// The scenario's plain savepoints (`[[savepoint]]`), each at a time or
/// on an engine event (checked against `shape`). Errors: more than
/// [`MAX_SAVEPOINTS`], neither `at` nor `on`, or a fault trigger.
pub(super) fn savepoints(
    cx: &Ctx,
    raw: &[Spanned<RawSavepoint>],
    shape: &Shape,
) -> Result<Vec<Savepoint>, ScenarioError> {
    if raw.len() > MAX_SAVEPOINTS {
        let message = format!(
            "at most {MAX_SAVEPOINTS} savepoints, got {}: each is a snapshot of the whole job",
            raw.len()
        );
        let span = raw[MAX_SAVEPOINTS].span();
        return Err(cx.error(span, format!("savepoint[{MAX_SAVEPOINTS}]"), message));
    }
    let mut savepoints = Vec::with_capacity(raw.len());
    for (i, spanned) in raw.iter().enumerate() {
        let s = spanned.get_ref();
        let (at, on) = when(
            cx,
            (&s.at, &s.on, spanned.span()),
            shape,
            &format!("savepoint[{i}]"),
            ("a savepoint", "a time from the start"),
        )?;
        let jitter = s.jitter.as_ref().map_or(Duration::ZERO, |j| j.get_ref().0);
        savepoints.push(Savepoint { at, jitter, on });
    }
    Ok(savepoints)
}

#[cfg(test)]
mod tests {
    use crate::lifecycle::{run_config, widest_of, ResumeFrom, StopWith};
    use crate::scenario::{parse, Scenario, ScenarioError};
    use std::time::Duration;

    const HEAD: &str = r#"
name = "lifecycle"
description = "A job resumed at another parallelism."
job = { name = "keyed-count" }
topology = { taskmanagers = 2, parallelism = 2 }
"#;

    const EXPECT: &str = "\n[expect]\noutcome = \"exactly-once\"\n";

    fn load(steps: &str) -> Result<Scenario, ScenarioError> {
        parse(&format!("{HEAD}{steps}{EXPECT}"), "lifecycle.toml")
    }

    fn error(steps: &str) -> ScenarioError {
        load(steps).expect_err("the step is refused")
    }

    #[test]
    fn a_resume_from_a_savepoint_needs_a_stop_that_takes_one() {
        let e = error(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "cancel" }
resume = { from = "savepoint" }
"#,
        );
        let text = e.to_string();
        assert!(
            text.contains("lifecycle[0].resume.from")
                && text.contains("a resume from a savepoint needs a stop that takes one"),
            "{text}"
        );
        let s = load(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "savepoint" }
resume = { from = "savepoint" }
"#,
        )
        .expect("a stop-with-savepoint resumed from its savepoint loads");
        let step = &s.lifecycle[0];
        assert_eq!(step.stop.with, StopWith::Savepoint);
        let resume = step.resume.as_ref().expect("it resumes");
        assert_eq!(resume.from, ResumeFrom::Savepoint);
        assert_eq!(
            resume.restore_mode,
            crate::lifecycle::RestoreMode::NoClaim,
            "Flink's default restore mode"
        );
    }

    #[test]
    fn only_the_last_step_may_drain_and_it_then_does_not_resume() {
        let s = load(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "savepoint" }
resume = { from = "savepoint" }

[[lifecycle]]
stop = { at = "300ms", with = "savepoint", drain = true }
"#,
        )
        .expect("a last step that drains, without a resume, loads");
        assert!(s.lifecycle[1].stop.drain && s.lifecycle[1].resume.is_none());
        assert_eq!(crate::lifecycle::run_count(&s.lifecycle), 2);
        let refused = |text: &str, field: &str, says: &str| {
            let e = load(text).expect_err("refused");
            assert_eq!(e.field.as_deref(), Some(field), "{e}");
            assert!(e.to_string().contains(says), "{e}");
        };
        refused(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "savepoint", drain = true }
resume = { from = "savepoint" }
"#,
            "lifecycle[0].stop.drain",
            "a drained job does not resume",
        );
        refused(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "cancel", drain = true }
"#,
            "lifecycle[0].stop.drain",
            "only a stop with a savepoint drains",
        );
        refused(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "savepoint" }
"#,
            "lifecycle[0].resume",
            "only the last step may leave out `resume`",
        );
        refused(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "savepoint", drain = true }

[[lifecycle]]
stop = { at = "500ms", with = "cancel" }
resume = { from = "retained" }
"#,
            "lifecycle[0].resume",
            "only the last step may leave out `resume`",
        );
    }

    #[test]
    fn a_step_resumes_with_its_topology_and_keeps_the_rest() {
        let s = load(
            r#"
[[lifecycle]]
stop = { at = "500ms", jitter = "100ms", with = "cancel" }
resume = { from = "retained", restore_mode = "claim", after = "50ms", topology = { parallelism = 3 } }
"#,
        )
        .expect("loads");
        let step = &s.lifecycle[0];
        assert_eq!(step.stop.at, Duration::from_millis(500));
        assert_eq!(step.stop.with, StopWith::Cancel);
        let resume = step.resume.as_ref().expect("it resumes");
        assert_eq!(resume.from, ResumeFrom::Retained);
        assert_eq!(resume.after, Duration::from_millis(50));
        let resumed = run_config(&s.config, &s.lifecycle, 1);
        assert_eq!(resumed.topology.parallelism, 3);
        assert_eq!(resumed.topology.taskmanagers, 2, "kept from the first run");
        assert_eq!(
            resumed.topology.max_parallelism, s.config.topology.max_parallelism,
            "key groups are the first run's"
        );
        assert_eq!(run_config(&s.config, &s.lifecycle, 0), s.config);
        assert_eq!(widest_of(&s.config.topology, &s.lifecycle).parallelism, 3);
        // The rendered file loads back the same.
        let text = crate::plan::render(&s);
        assert_eq!(parse(&text, "rendered.toml").expect("renders back"), s);
    }

    #[test]
    fn a_resume_may_not_change_what_a_job_keeps_for_life() {
        let e = error(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "cancel" }
resume = { from = "retained", restore_mode = "claim", topology = { max_parallelism = 256 } }
"#,
        );
        assert_eq!(
            e.field.as_deref(),
            Some("lifecycle[0].resume.topology.max_parallelism")
        );
        assert_eq!(e.line, Some(9), "the resume's line");
        assert!(e.message.contains("must stay 128"), "{e}");
        let e = error(
            r#"
[[lifecycle]]
stop = { at = "500ms", with = "cancel" }
resume = { from = "retained", restore_mode = "claim", topology = { parallelism = 200 } }
"#,
        );
        assert!(e.message.contains("exceeds max_parallelism 128"), "{e}");
    }

    #[test]
    fn a_stop_needs_a_time_or_an_event_and_no_fault() {
        let e = error(
            r#"
[[lifecycle]]
stop = { with = "cancel" }
resume = { from = "retained", restore_mode = "claim" }
"#,
        );
        assert_eq!(e.field.as_deref(), Some("lifecycle[0].stop.at"));
        let e = error(
            r#"
[[lifecycle]]
stop = { on = { fault = "x", edge = "end" }, with = "cancel" }
resume = { from = "retained", restore_mode = "claim" }
"#,
        );
        assert_eq!(e.field.as_deref(), Some("lifecycle[0].stop.on"));
        assert!(e.message.contains("not on a fault"), "{e}");
        // A task only the resumed run has is a task the stop may name.
        load(
            r#"
[[lifecycle]]
stop = { on = { event = "state_restored", task = "count[2]" }, with = "cancel" }
resume = { from = "retained", restore_mode = "claim", topology = { parallelism = 3 } }
"#,
        )
        .expect("count[2] exists in the resumed run");
    }

    #[test]
    fn faults_may_name_the_client_only_when_a_stop_takes_a_savepoint() {
        let fault = r#"
[[fault]]
kind = "crash_restart"
host = "client"
at = "450ms"
after = "100ms"
"#;
        let savepoint = r#"
[[lifecycle]]
stop = { at = "400ms", with = "savepoint" }
resume = { from = "savepoint" }
"#;
        load(&format!("{fault}{savepoint}")).expect("the client is a host of this run");
        let cancel = savepoint
            .replace("\"savepoint\" }\nresume", "\"cancel\" }\nresume")
            .replace("from = \"savepoint\"", "from = \"retained\"");
        let e = error(&format!("{fault}{cancel}"));
        assert_eq!(e.field.as_deref(), Some("fault[0].host"), "{e}");
        assert!(e.message.contains("unknown host \"client\""), "{e}");
    }

    #[test]
    fn a_plain_savepoint_needs_a_time_or_an_event_and_brings_the_client() {
        let s = load(
            r#"
[[savepoint]]
at = "300ms"
jitter = "100ms"

[[savepoint]]
on = { event = "checkpoint_completed", checkpoint = 3 }

[[fault]]
kind = "crash_restart"
host = "client"
at = "310ms"
after = "50ms"
"#,
        )
        .expect("two savepoints, and a fault on the client they bring");
        assert_eq!(s.savepoints.len(), 2);
        assert_eq!(s.savepoints[0].at, Duration::from_millis(300));
        assert!(s.savepoints[1].on.is_some());
        let e = error("\n[[savepoint]]\njitter = \"5ms\"\n");
        assert_eq!(e.field.as_deref(), Some("savepoint[0].at"), "{e}");
        let five = "\n[[savepoint]]\nat = \"1s\"\n".repeat(5);
        let e = error(&five);
        assert_eq!(e.field.as_deref(), Some("savepoint[4]"), "{e}");
        assert!(e.message.contains("at most 4 savepoints"), "{e}");
    }

    #[test]
    fn at_most_four_steps() {
        let step = r#"
[[lifecycle]]
stop = { at = "100ms", with = "cancel" }
resume = { from = "retained", restore_mode = "claim" }
"#;
        load(&step.repeat(4)).expect("four steps");
        let e = error(&step.repeat(5));
        assert_eq!(e.field.as_deref(), Some("lifecycle[4]"));
        assert!(e.message.contains("at most 4 lifecycle steps"), "{e}");
        let e = error(
            r#"
[[lifecycle]]
stop = { at = "100ms", with = "kill" }
resume = { from = "retained", restore_mode = "claim" }
"#,
        );
        assert!(
            e.message.contains("cancel") && e.message.contains("savepoint"),
            "{e}"
        );
    }
}
