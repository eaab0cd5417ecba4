//! `[nemesis]`: a seeded fault plan's parameters, with defaults, each
//! error on its own element; and the rule that faults no engine survives
//! come only with an expectation that the job fails.

use super::raw::{RawFault, RawFaultKind, RawNemesis};
use super::validate::Ctx;
use super::ScenarioError;
use crate::expect::Expectation;
use crate::fault::Fault;
use crate::nemesis::{
    allows_unsurvivable, unsurvivable, Nemesis, NemesisKind, ALL_HOSTS, DEFAULT_INTENSITY,
};
use flinch_engine::config::WorkloadConfig;
use flinch_engine::workload::nominal_duration;
use std::time::Duration;
use toml::Spanned;

/// What the rest of the scenario says that `[nemesis]` depends on.
pub(super) struct Context<'a> {
    /// Every host of the first run's topology: the hosts the nemesis draws
    /// over ([`Nemesis::plan`]).
    pub hosts: &'a [String],
    /// Hosts only a resumed run of a `[[lifecycle]]` has (a taskmanager
    /// added by a rescale): named in `nemesis.hosts`, an error.
    pub resumed_only: &'a [String],
    pub expect: &'a Expectation,
    pub workload: &'a WorkloadConfig,
    pub max_sim_time: Duration,
}

pub(super) fn nemesis(
    cx: &Ctx,
    raw: &Spanned<RawNemesis>,
    context: &Context,
) -> Result<Nemesis, ScenarioError> {
    let table = raw.span();
    let raw = raw.get_ref();
    let intensity = match &raw.intensity {
        Some(i) if !i.get_ref().is_finite() || *i.get_ref() <= 0.0 => {
            let message = format!("must be more than 0 faults per second, got {}", i.get_ref());
            return Err(cx.error(i.span(), "nemesis.intensity", message));
        }
        Some(i) => *i.get_ref(),
        None => DEFAULT_INTENSITY,
    };
    let kinds = kinds(cx, raw.kinds.as_ref())?;
    let hosts = hosts(cx, raw.hosts.as_ref(), context)?;
    let from = cx.duration(&raw.from, Duration::ZERO);
    let until = cx.duration(&raw.until, nominal_duration(context.workload));
    let until_at = raw.until.as_ref().map_or(table.clone(), Spanned::span);
    let default = if raw.until.is_none() {
        " (the default: how long the input takes to read without faults)"
    } else {
        ""
    };
    if until <= from {
        let message = format!("until {until:?}{default} must come after from {from:?}");
        return Err(cx.error(until_at, "nemesis.until", message));
    }
    if until >= context.max_sim_time {
        let message = format!(
            "until {until:?}{default} must come before max_sim_time {:?}, or faults would never fire",
            context.max_sim_time
        );
        return Err(cx.error(until_at, "nemesis.until", message));
    }
    let nemesis = Nemesis {
        intensity,
        kinds: kinds.iter().map(|(k, _)| *k).collect(),
        hosts: hosts.iter().map(|(h, _)| h.clone()).collect(),
        from,
        until,
    };
    every_kind_has_a_target(cx, &nemesis, &kinds, &hosts, context)?;
    Ok(nemesis)
}

type Named<T> = Vec<(T, std::ops::Range<usize>)>;

fn kinds(
    cx: &Ctx,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Result<Named<NemesisKind>, ScenarioError> {
    let Some(raw) = raw else {
        return Ok(NemesisKind::ALL.iter().map(|&k| (k, 0..0)).collect());
    };
    if raw.get_ref().is_empty() {
        let message = "must name at least one fault kind (leave it out for every kind)";
        return Err(cx.error(raw.span(), "nemesis.kinds", message));
    }
    let known: Vec<_> = NemesisKind::ALL.iter().map(|k| k.name()).collect();
    let mut kinds: Named<NemesisKind> = Vec::new();
    for (index, name) in raw.get_ref().iter().enumerate() {
        let field = format!("nemesis.kinds[{index}]");
        let text = name.get_ref();
        let kind = NemesisKind::from_name(text).ok_or_else(|| {
            let message = if text == "crash" || text == "restart" {
                format!(
                    "a nemesis draws only faults that heal by themselves, and \"{text}\" alone \
                     does not; use \"crash_restart\""
                )
            } else {
                format!(
                    "unknown fault kind \"{text}\"; a nemesis draws {}",
                    known.join(", ")
                )
            };
            cx.error(name.span(), field.clone(), message)
        })?;
        if kinds.iter().any(|(k, _)| *k == kind) {
            let message = format!("\"{text}\" is listed twice");
            return Err(cx.error(name.span(), field, message));
        }
        kinds.push((kind, name.span()));
    }
    Ok(kinds)
}

fn hosts(
    cx: &Ctx,
    raw: Option<&Spanned<Vec<Spanned<String>>>>,
    context: &Context,
) -> Result<Named<String>, ScenarioError> {
    let all = context.hosts;
    let Some(raw) = raw else {
        return Ok(vec![(ALL_HOSTS.to_owned(), 0..0)]);
    };
    if raw.get_ref().is_empty() {
        let message = "must name at least one host, or \"*\" for every host";
        return Err(cx.error(raw.span(), "nemesis.hosts", message));
    }
    let mut hosts: Named<String> = Vec::new();
    for (index, name) in raw.get_ref().iter().enumerate() {
        let field = format!("nemesis.hosts[{index}]");
        let text = name.get_ref();
        if text == flinch_engine::io::addr::CLIENT {
            let message = format!(
                "the nemesis never targets {text} (the REST client that asks for savepoints and \
                 stops); aim a [[fault]] at it instead"
            );
            return Err(cx.error(name.span(), field, message));
        }
        if context.resumed_only.contains(text) {
            let message = format!(
                "{text} is a host only of a resumed run; the nemesis draws its faults over the \
                 first run's hosts ({}), so it would never target {text} (aim a [[fault]] at it \
                 instead)",
                all.join(", ")
            );
            return Err(cx.error(name.span(), field, message));
        }
        if text != ALL_HOSTS && !all.contains(text) {
            let message = format!(
                "unknown host \"{text}\"; hosts: {}, or \"*\" for every host",
                all.join(", ")
            );
            return Err(cx.error(name.span(), field, message));
        }
        if hosts.iter().any(|(h, _)| h == text) {
            let message = format!("\"{text}\" is listed twice");
            return Err(cx.error(name.span(), field, message));
        }
        hosts.push((text.clone(), name.span()));
    }
    Ok(hosts)
}

/// A kind with no host to target would silently never fire: refused. So is
/// disk_loss on a host named outright whose disk no engine can lose.
fn every_kind_has_a_target(
    cx: &Ctx,
    nemesis: &Nemesis,
    kinds: &Named<NemesisKind>,
    hosts: &Named<String>,
    context: &Context,
) -> Result<(), ScenarioError> {
    if nemesis.kinds.contains(&NemesisKind::DiskLoss) && !allows_unsurvivable(context.expect) {
        let loss = crate::fault::FaultKind::DiskLoss {
            after: Duration::ZERO,
        };
        for (index, (host, span)) in hosts.iter().enumerate() {
            if let Some(why) = unsurvivable(&loss, host) {
                return Err(cx.error(
                    span.clone(),
                    format!("nemesis.hosts[{index}]"),
                    unsurvivable_message(host, why),
                ));
            }
        }
    }
    for (kind, span) in kinds {
        if nemesis
            .targets(*kind, context.hosts, context.expect)
            .is_empty()
        {
            let why = match kind {
                NemesisKind::IoErrors | NemesisKind::ReadCorruption | NemesisKind::DiskFull => {
                    "disk faults target the hosts that keep data on disk: sink, store or store-N"
                }
                _ => {
                    "disk_loss of sink or store cannot be survived, and of store replicas the \
                     nemesis takes only store-1's disk (two lost at once may be a majority)"
                }
            };
            // Kinds left out are every kind (span 0..0): then the hosts
            // written are what leaves this one without a target.
            let written = (hosts.first())
                .filter(|_| span.is_empty())
                .map(|(_, hosts)| hosts.clone());
            if let Some(at) = written {
                let message = format!(
                    "no host here can take {}, one of the kinds a nemesis draws when \
                     nemesis.kinds is left out: {why}; name such a host, or write nemesis.kinds",
                    kind.name()
                );
                return Err(cx.error(at, "nemesis.hosts", message));
            }
            let message = format!(
                "{} has no host to target among nemesis.hosts: {why}",
                kind.name()
            );
            return Err(cx.error(span.clone(), "nemesis.kinds", message));
        }
    }
    Ok(())
}

fn unsurvivable_message(host: &str, why: &str) -> String {
    format!(
        "disk_loss of {host} cannot be survived: {why}, and no engine can make its output \
         exactly-once once that is gone; inject it only with [expect] outcome = \"job-failed\" \
         and a reason naming what was lost (e.g. the lost checkpoints)"
    )
}

/// Hand-written faults that no engine survives need `[expect] outcome =
/// "job-failed"`: they may be written, never silently.
pub(super) fn unsurvivable_faults(
    cx: &Ctx,
    raw: &[RawFault],
    faults: &[Fault],
    expect: &Expectation,
) -> Result<(), ScenarioError> {
    if allows_unsurvivable(expect) {
        return Ok(());
    }
    for (index, (raw, fault)) in raw.iter().zip(faults).enumerate() {
        if *raw.kind.get_ref() != RawFaultKind::DiskLoss {
            continue;
        }
        if let Some(why) = unsurvivable(&fault.kind, &fault.host) {
            return Err(cx.error(
                raw.host.span(),
                format!("fault[{index}].host"),
                unsurvivable_message(&fault.host, why),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    const HEADER: &str =
        "name = \"test\"\ndescription = \"Nemesis.\"\njob = { name = \"keyed-count\" }\n";

    /// A scenario with `body` from line 4 on, and `expect` as its outcome.
    fn source(body: &str, expect: &str) -> String {
        format!("{HEADER}{body}\n[expect]\n{expect}\n")
    }

    const EXACTLY_ONCE: &str = "outcome = \"exactly-once\"";
    const JOB_FAILED: &str = "outcome = \"job-failed\"\nreason = \"checkpoint\"";

    fn check(body: &str) -> Nemesis {
        match parse(&source(body, EXACTLY_ONCE), "test.toml") {
            Ok(s) => s.nemesis.expect("a nemesis"),
            Err(e) => panic!("expected {body:?} to parse, got: {e}"),
        }
    }

    fn check_error_with(body: &str, expect: &str, expected: &str) {
        crate::scenario::assert_parse_error(&source(body, expect), expected);
    }

    fn check_error(body: &str, expected: &str) {
        check_error_with(body, EXACTLY_ONCE, expected);
    }

    #[test]
    fn an_empty_nemesis_section_takes_every_kind_and_host_over_the_input() {
        let n = check("[nemesis]");
        assert_eq!(n.intensity, DEFAULT_INTENSITY);
        assert_eq!(n.kinds, NemesisKind::ALL);
        assert_eq!(n.hosts, ["*"]);
        assert_eq!(n.from, Duration::ZERO);
        // 2000 records over 2 partitions at 1000 records/s each.
        assert_eq!(n.until, Duration::from_secs(1));
    }

    #[test]
    fn every_field_parses() {
        let n = check(
            "[nemesis]\nintensity = 3.5\nkinds = [\"partition\", \"io_errors\"]\n\
             hosts = [\"taskmanager-1\", \"store\"]\nfrom = \"200ms\"\nuntil = \"3s\"",
        );
        assert_eq!(
            n,
            Nemesis {
                intensity: 3.5,
                kinds: vec![NemesisKind::Partition, NemesisKind::IoErrors],
                hosts: vec!["taskmanager-1".into(), "store".into()],
                from: Duration::from_millis(200),
                until: Duration::from_secs(3),
            }
        );
    }

    #[test]
    fn unknown_kinds_and_hosts_are_named_on_their_line() {
        check_error(
            "[nemesis]\nkinds = [\"partition\",\n  \"meteor\"]",
            "test.toml:6: field `nemesis.kinds[1]`: unknown fault kind \"meteor\"; a nemesis draws crash_restart, disk_loss,",
        );
        check_error(
            "[nemesis]\nkinds = [\"crash\"]",
            "test.toml:5: field `nemesis.kinds[0]`: a nemesis draws only faults that heal by themselves, and \"crash\" alone does not; use \"crash_restart\"",
        );
        check_error(
            "[nemesis]\nkinds = [\"stall\", \"stall\"]",
            "test.toml:5: field `nemesis.kinds[1]`: \"stall\" is listed twice",
        );
        check_error(
            "[nemesis]\nhosts = [\"taskmanager-3\"]",
            "test.toml:5: field `nemesis.hosts[0]`: unknown host \"taskmanager-3\"; hosts: jobmanager, taskmanager-1, taskmanager-2, log, sink, store, or \"*\" for every host",
        );
        // A taskmanager only a resumed run has: the nemesis draws over the
        // first run's hosts, so it would never be aimed at.
        check_error(
            "[nemesis]\nhosts = [\"taskmanager-2\", \"taskmanager-3\"]\n[[lifecycle]]\n\
             stop = { at = \"300ms\", with = \"cancel\" }\nresume = { from = \"retained\", \
             topology = { taskmanagers = 3, parallelism = 3 } }",
            "test.toml:5: field `nemesis.hosts[1]`: taskmanager-3 is a host only of a resumed \
             run; the nemesis draws its faults over the first run's hosts (jobmanager, \
             taskmanager-1, taskmanager-2, log, sink, store), so it would never target \
             taskmanager-3",
        );
        check_error(
            "[nemesis]\nhosts = [\"client\"]\n[[savepoint]]\nat = \"300ms\"",
            "test.toml:5: field `nemesis.hosts[0]`: the nemesis never targets client (the REST \
             client that asks for savepoints and stops); aim a [[fault]] at it instead",
        );
        check_error(
            "[nemesis]\nkinds = []",
            "test.toml:5: field `nemesis.kinds`: must name at least one fault kind",
        );
        check_error(
            "[nemesis]\nhosts = []",
            "test.toml:5: field `nemesis.hosts`: must name at least one host",
        );
        check_error(
            "[nemesis]\nintensity = 0.0",
            "test.toml:5: field `nemesis.intensity`: must be more than 0 faults per second, got 0",
        );
    }

    #[test]
    fn the_window_must_be_open_and_end_before_max_sim_time() {
        check_error(
            "[nemesis]\nfrom = \"2s\"\nuntil = \"1s\"",
            "test.toml:6: field `nemesis.until`: until 1s must come after from 2s",
        );
        check_error(
            "max_sim_time = \"5s\"\n[nemesis]\nuntil = \"5s\"",
            "test.toml:6: field `nemesis.until`: until 5s must come before max_sim_time 5s",
        );
        check_error(
            "max_sim_time = \"1s\"\n[nemesis]",
            "field `nemesis.until`: until 1s (the default: how long the input takes to read without faults) must come before max_sim_time 1s",
        );
    }

    /// With `kinds` left out, the error points at the hosts written.
    #[test]
    fn default_kinds_without_a_host_to_target_point_at_the_hosts() {
        check_error(
            "[nemesis]\nhosts = [\"taskmanager-1\"]",
            "test.toml:5: field `nemesis.hosts`: no host here can take io_errors, one of the kinds \
             a nemesis draws when nemesis.kinds is left out: disk faults target the hosts that \
             keep data on disk: sink, store or store-N; name such a host, or write nemesis.kinds",
        );
    }

    #[test]
    fn a_kind_without_a_host_to_target_is_refused() {
        check_error(
            "[nemesis]\nkinds = [\"crash_restart\", \"io_errors\"]\nhosts = [\"taskmanager-1\"]",
            "test.toml:5: field `nemesis.kinds`: io_errors has no host to target among nemesis.hosts: disk faults target the hosts that keep data on disk: sink, store or store-N",
        );
    }

    #[test]
    fn disk_loss_of_sink_or_store_needs_an_expected_job_failure() {
        check_error(
            "[nemesis]\nkinds = [\"disk_loss\"]\nhosts = [\"taskmanager-1\", \"store\"]",
            "test.toml:6: field `nemesis.hosts[1]`: disk_loss of store cannot be survived: it holds every checkpoint",
        );
        let body = "[nemesis]\nkinds = [\"disk_loss\"]\nhosts = [\"store\"]";
        let s = parse(&source(body, JOB_FAILED), "test.toml").expect("job-failed allows it");
        let plan = s.plan(1);
        assert!(!plan.is_empty() && plan.iter().all(|f| f.host == "store"));
        // "*" leaves out what cannot be survived, and says nothing.
        let n = check("[nemesis]\nkinds = [\"disk_loss\"]");
        assert_eq!(n.hosts, ["*"]);

        check_error(
            "[[fault]]\nkind = \"disk_loss\"\nhost = \"sink\"\nat = \"1s\"\nafter = \"1s\"",
            "test.toml:6: field `fault[0].host`: disk_loss of sink cannot be survived: it holds the committed output, and no engine can make its output exactly-once once that is gone; inject it only with [expect] outcome = \"job-failed\"",
        );
        let fault =
            "[[fault]]\nkind = \"disk_loss\"\nhost = \"store\"\nat = \"1s\"\nafter = \"1s\"";
        parse(&source(fault, JOB_FAILED), "test.toml").expect("job-failed allows it");
        check_error_with(
            fault,
            "outcome = \"at-least-once\"",
            "field `fault[0].host`: disk_loss of store cannot be survived",
        );
    }

    #[test]
    fn the_plan_merges_hand_written_faults_and_the_nemesis_by_time() {
        let body = "[[fault]]\nkind = \"crash_restart\"\nhost = \"taskmanager-1\"\nat = \"500ms\"\nafter = \"100ms\"\n\
                    [nemesis]\nkinds = [\"stall\"]\nintensity = 10.0";
        let s = parse(&source(body, EXACTLY_ONCE), "test.toml").expect("parses");
        let plan = s.plan(4);
        assert!(plan.windows(2).all(|w| w[0].at <= w[1].at));
        assert_eq!(
            plan.iter()
                .filter(|f| f.kind.name() == "crash_restart")
                .count(),
            1
        );
        assert!(plan.len() > 5, "{plan:?}");
        assert_eq!(plan, s.plan(4));
    }
}
