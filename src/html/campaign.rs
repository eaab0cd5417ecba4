//! The HTML page of a campaign (`flinch campaign merge ... --report DIR`):
//! `DIR/index.html`, self-contained like a sweep's page
//! ([`super::sweep`]): the verdict over every shard, a row per scenario
//! (seeds, failures, violation kinds, the fastest failure with its replay
//! command), the probe requirements judged over the whole campaign, and
//! what could not be counted or disagreed between runs.
//!
//! Bounded: at most [`MAX_ROWS`] scenarios get a row and [`MAX_LISTED`]
//! lines of each list are shown; the page says how many more there are.

use maud::{html, Markup};

/// Scenarios given a row at most.
pub const MAX_ROWS: usize = 1000;
/// Entries of each list (lines not counted, nondeterminism) shown at most.
pub const MAX_LISTED: usize = 200;

/// What the page shows, as `flinch campaign merge` gathered it.
pub struct Campaign {
    /// The results files merged.
    pub files: Vec<String>,
    /// Lines that parsed.
    pub lines: usize,
    /// The builds they came from.
    pub builds: Vec<String>,
    /// Seeds run and failed, over every scenario.
    pub seeds: usize,
    pub failed: usize,
    /// Required probes that missed their share.
    pub sometimes_missed: usize,
    /// Lines not counted: `file:line: why` (the first of them).
    pub not_counted: Vec<String>,
    /// How many lines were not counted.
    pub not_counted_lines: usize,
    /// Runs of the same input that disagree, in words (the first of them).
    pub nondeterminism: Vec<String>,
    /// How many seeds ran two ways.
    pub nondeterministic_seeds: usize,
    /// Shards `K/N` with no line in the files merged (the first 1,000 of
    /// each count) ...
    pub shards_missing: Vec<String>,
    /// ... and how many there are.
    pub shards_missing_count: usize,
    pub scenarios: Vec<ScenarioRow>,
}

/// One scenario over the campaign.
pub struct ScenarioRow {
    /// As the campaign named it.
    pub name: String,
    pub seeds: usize,
    pub failed: usize,
    /// `[checker] kind`, with the seeds that show it.
    pub kinds: Vec<(String, usize)>,
    /// The fastest failure: seed, simulated ms to its first violation, and
    /// its replay command.
    pub fastest: Option<(u64, u64, String)>,
    /// Each `[expect] sometimes` requirement: probe, seeds that hit it, and
    /// its verdict in words (`>= 20 %: met`).
    pub required: Vec<(String, usize, String)>,
    /// Why its requirements were not judged, if they were not.
    pub not_judged: Option<String>,
}

/// The page: a complete HTML document, deterministic for its input.
pub fn page(c: &Campaign) -> String {
    let title = format!("flinch campaign: {} seeds", c.seeds);
    let body = html! {
        (header(c))
        (scenarios_section(c))
        (requirements_section(c))
        (list("nondeterminism", "Nondeterminism",
            "The same (scenario, seed), build and scenario content ran two different ways: a bug of flinch or turmoil.",
            &c.nondeterminism, c.nondeterministic_seeds))
        (list("shards-missing", "Shards with no line",
            "No file merged holds a line of these shards: a shard that did not run, a file not given, or a shard with no seed to run.",
            &c.shards_missing, c.shards_missing_count))
        (list("not-counted", "Lines not counted",
            "Lines of the results files that could not be read (a shard killed mid-write leaves a truncated last line).",
            &c.not_counted, c.not_counted_lines))
    };
    super::document(&title, CAMPAIGN_CSS, body)
}

fn header(c: &Campaign) -> Markup {
    html! {
        header {
            h1 { "Campaign " span.seed { (c.seeds) " seeds over " (c.scenarios.len()) " scenarios" } }
            @if c.nondeterministic_seeds > 0 {
                p.badge.failed { "NONDETERMINISM: " (c.nondeterministic_seeds) " seeds ran two ways" }
            } @else if c.failed == 0 && c.sometimes_missed == 0 {
                p.badge.passed { "PASSED: all " (c.seeds) " seeds"
                    @if c.not_counted_lines > 0 { " (" (c.not_counted_lines) " lines not counted)" } }
            } @else {
                p.badge.failed { "FAILED: " (c.failed) " of " (c.seeds) " seeds"
                    @if c.sometimes_missed > 0 { ", " (c.sometimes_missed) " required probes missed" } }
            }
            dl.facts {
                dt { "files" } dd { (c.files.len()) }
                dt { "lines" } dd { (c.lines) }
                dt { "build" } dd { (c.builds.join(" + ")) }
                dt { "not counted" } dd { (c.not_counted_lines) " lines" }
            }
        }
    }
}

fn scenarios_section(c: &Campaign) -> Markup {
    let shown = c.scenarios.iter().take(MAX_ROWS);
    html! {
        section #scenarios {
            h2 { "Scenarios" }
            table.campaign {
                tr { th { "scenario" } th { "seeds" } th { "failed" } th { "violations" } th { "fastest failure" } }
                @for s in shown {
                    tr data-scenario=(s.name) class=(if s.failed > 0 { "failed" } else { "passed" }) {
                        td { code { (s.name) } }
                        td.count { (s.seeds) }
                        td.count { (s.failed) }
                        td {
                            @for (kind, seeds) in &s.kinds {
                                div { (kind) ": " (seeds) " seed" @if *seeds != 1 { "s" } }
                            }
                        }
                        td {
                            @if let Some((seed, ms, replay)) = &s.fastest {
                                div { "seed " (seed) ", first violation at " (format!("{:.3}", *ms as f64 / 1000.0)) " s" }
                                code.command { (replay) }
                            }
                        }
                    }
                }
            }
            (more(c.scenarios.len(), MAX_ROWS, "scenarios"))
        }
    }
}

fn requirements_section(c: &Campaign) -> Markup {
    let rows: Vec<&ScenarioRow> = (c.scenarios.iter().take(MAX_ROWS))
        .filter(|s| !s.required.is_empty() || s.not_judged.is_some())
        .collect();
    html! {
        section #sometimes {
            h2 { "Probe requirements, judged over the whole campaign" }
            @if rows.is_empty() {
                p { "No scenario of the campaign requires a probe." }
            } @else {
                table.campaign {
                    tr { th { "scenario" } th { "probe" } th { "seeds" } th { "verdict" } }
                    @for s in rows {
                        @if let Some(why) = &s.not_judged {
                            tr { td { code { (s.name) } } td colspan="3" { (why) } }
                        }
                        @for (probe, hit, verdict) in &s.required {
                            tr class=(if verdict.ends_with("missed") { "failed" } else { "" }) {
                                td { code { (s.name) } } td { code { (probe) } }
                                td.count { (hit) " of " (s.seeds) } td { (verdict) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn list(id: &str, title: &str, what: &str, items: &[String], total: usize) -> Markup {
    if total == 0 {
        return html! {};
    }
    html! {
        section id=(id) {
            h2 { (title) }
            p { (what) }
            ul { @for item in items.iter().take(MAX_LISTED) { li { code { (item) } } } }
            (more(total, items.len().min(MAX_LISTED), "more"))
        }
    }
}

fn more(total: usize, shown: usize, what: &str) -> Markup {
    html! {
        @if total > shown { p { "... and " (total - shown) " " (what) " not shown." } }
    }
}

const CAMPAIGN_CSS: &str = r#"
table.campaign { border-collapse: collapse; font-size: 12.5px; margin-top: .4em; }
table.campaign td, table.campaign th { border-bottom: 1px solid #eee; padding: .2em .8em .2em 0; text-align: left; vertical-align: top; }
table.campaign tr.failed td:first-child { border-left: 3px solid #d62728; padding-left: .4em; }
td.count { text-align: right; font-variant-numeric: tabular-nums; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign(failed: usize, rows: usize) -> Campaign {
        Campaign {
            files: vec!["r-0.jsonl".into(), "r-1.jsonl".into()],
            lines: 40,
            builds: vec!["abc".into()],
            seeds: 40,
            failed,
            sometimes_missed: 0,
            not_counted: vec!["r-1.jsonl:9: truncated".into()],
            not_counted_lines: 3,
            nondeterminism: Vec::new(),
            nondeterministic_seeds: 0,
            shards_missing: vec!["2/4".into()],
            shards_missing_count: 1,
            scenarios: (0..rows)
                .map(|i| ScenarioRow {
                    name: format!("s<{i}>"),
                    seeds: 20,
                    failed: if i == 0 { failed } else { 0 },
                    kinds: vec![("[exactly-once] missing".into(), failed)],
                    fastest: (failed > 0).then(|| (3, 1234, "flinch replay s --seed 3".into())),
                    required: vec![("restart".into(), 5, ">= 20 %: met".into())],
                    not_judged: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_page_says_the_verdict_escapes_names_and_bounds_its_rows() {
        let page = page(&campaign(2, 2));
        assert!(page.contains("FAILED: 2 of 40 seeds"), "{page}");
        assert!(page.contains("s&lt;0&gt;") && !page.contains("s<0>"));
        assert!(page.contains("flinch replay s --seed 3"));
        assert!(page.contains("first violation at 1.234 s"));
        assert!(page.contains("r-1.jsonl:9: truncated"));
        assert!(page.contains("... and 2 more not shown."), "{page}");
        assert!(page.contains("Shards with no line") && page.contains("2/4"));
        assert!(page.contains(">= 20 %: met") || page.contains("&gt;= 20 %: met"));
        let passed = super::page(&campaign(0, 1));
        assert!(
            passed.contains("PASSED: all 40 seeds (3 lines not counted)"),
            "{passed}"
        );
        let big = super::page(&campaign(0, MAX_ROWS + 5));
        assert!(big.contains("... and 5 scenarios not shown."));
        assert_eq!(big.matches("data-scenario=").count(), MAX_ROWS);
        assert_eq!(super::page(&campaign(1, 3)), super::page(&campaign(1, 3)));
    }
}
