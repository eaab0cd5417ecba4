//! The HTML report (`flinch replay --report DIR`) as a browser sees it:
//! headless Chromium loads the page, and the DOM it built is checked for the
//! timeline a person looks at: one lane per host of the run, one band per
//! fault of the plan (the crash on a taskmanager's lane), a failover, its
//! restart delay and the restored checkpoint. It also takes the screenshot
//! the README shows (docs/report.png is one), and checks it is a PNG.
//!
//! Chromium is Debian's `chromium` (or `chromium-browser`), found on PATH.
//! Without it the test prints a note and passes, except under CI (`CI` set),
//! where it fails: `.ci/run` installs it. Each Chromium run is killed after
//! [`BROWSER_TIMEOUT`].

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one Chromium run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
/// The browser's names, in the order they are looked for on PATH.
const BROWSERS: [&str; 2] = ["chromium", "chromium-browser"];
/// The screenshot's window, as the README's was taken.
const WINDOW: &str = "--window-size=1400,1000";

/// The first of [`BROWSERS`] on PATH.
fn browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    BROWSERS.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Run Chromium headless with `args`, stdout to `stdout`; killed after
/// [`BROWSER_TIMEOUT`]. Panics, with its stderr, unless it exits 0.
fn run_browser(browser: &Path, args: &[&str], dir: &Path, stdout: &Path) {
    let stderr = dir.join("chromium.stderr");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(stdout).expect("create the stdout file"))
        .stderr(File::create(&stderr).expect("create the stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let started = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for chromium") {
            Some(status) => break status,
            None if started.elapsed() > BROWSER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium ran for more than {BROWSER_TIMEOUT:?} and was killed: {}",
                    fs::read_to_string(&stderr).unwrap_or_default()
                );
            }
            None => thread::sleep(Duration::from_millis(50)),
        }
    };
    assert!(
        status.success(),
        "chromium {args:?} failed ({status}): {}",
        fs::read_to_string(&stderr).unwrap_or_default()
    );
}

/// One element's start tag: its name and attributes, as the DOM dump
/// writes them (`<rect class="fault" data-fault="0" ...>`).
#[derive(Debug)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        (self.attributes.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == class))
    }
}

/// Every start tag of `html`, in order: a scan for `<name attr="value"
/// ...>`, enough for Chromium's serialization (attributes always quoted
/// with `"`, and `"` inside a value escaped).
fn elements(html: &str) -> Vec<Element> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        if name_len == 0 {
            continue;
        }
        let name = rest[..name_len].to_ascii_lowercase();
        let end = rest.find('>').unwrap_or(rest.len());
        let mut tag = &rest[name_len..end];
        let mut attributes = Vec::new();
        while let Some(eq) = tag.find("=\"") {
            let attr = tag[..eq].trim().to_owned();
            let value_len = tag[eq + 2..].find('"').unwrap_or(tag.len() - eq - 2);
            attributes.push((attr, tag[eq + 2..eq + 2 + value_len].to_owned()));
            tag = &tag[(eq + 3 + value_len).min(tag.len())..];
        }
        out.push(Element { name, attributes });
        rest = &rest[end..];
    }
    out
}

/// Run `check` on `page` as written, then (where Chromium is) on the DOM
/// the browser built from it; `check` gets the HTML and which it is.
fn check_file_and_dom(dir: &Path, page: &Path, check: impl Fn(&str, &str)) {
    check(&fs::read_to_string(page).expect("the page"), "the file");
    let Some(browser) = browser_or_note() else {
        return;
    };
    let dom_file = dir.join("dom.html");
    let url = format!("file://{}", page.display());
    run_browser(&browser, &["--dump-dom", &url], dir, &dom_file);
    check(
        &fs::read_to_string(&dom_file).expect("the dumped DOM"),
        "the DOM",
    );
}

/// The browser, or `None` (with a note) where there is none and `CI` is
/// not set; panics under CI without one.
fn browser_or_note() -> Option<PathBuf> {
    let browser = browser();
    if browser.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "chromium is missing: the browser test needs `chromium` (or `chromium-browser`) \
                 on PATH under CI; .ci/run installs Debian's (apt-get install -y chromium)"
            );
        }
        eprintln!(
            "note: chromium is not on PATH, so the report was not checked in a browser \
             (apt-get install -y chromium)"
        );
    }
    browser
}

#[test]
fn chromium_shows_the_timeline_of_a_taskmanager_crash() {
    let Some(browser) = browser_or_note() else {
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the test's folder");
    let report = dir.join("report");

    let out = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args(["replay", "taskmanager-crash", "--seed", "7", "--json"])
        .arg("--report")
        .arg(&report)
        .output()
        .expect("flinch runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    let page = report.join("index.html");
    assert!(page.is_file(), "no {}", page.display());

    let dom_file = dir.join("dom.html");
    let url = format!("file://{}", page.display());
    run_browser(&browser, &["--dump-dom", &url], &dir, &dom_file);
    let dom = fs::read_to_string(&dom_file).expect("the dumped DOM");
    let elements = elements(&dom);
    let with =
        |class: &str| -> Vec<&Element> { elements.iter().filter(|e| e.has_class(class)).collect() };

    let svg = with("timeline");
    assert!(
        svg.len() == 1 && svg[0].name == "svg",
        "one timeline SVG: {svg:?}"
    );
    // One lane per host of the run: every host the trace names.
    let hosts: BTreeSet<&str> = (run["trace"].as_array().expect("a trace"))
        .iter()
        .map(|e| e["host"].as_str().expect("a host"))
        .collect();
    let lanes: Vec<&str> = (with("lane").iter())
        .map(|e| e.attr("data-host").expect("a lane names its host"))
        .collect();
    assert_eq!(lanes.len(), hosts.len(), "{lanes:?}");
    assert_eq!(lanes.iter().copied().collect::<BTreeSet<_>>(), hosts);
    assert_eq!(lanes[0], "jobmanager", "jobmanager's lane first: {lanes:?}");
    // One band per fault of the plan; the crash on a taskmanager's lane.
    let plan = run["plan"].as_array().expect("a plan");
    let faults = with("fault");
    assert_eq!(faults.len(), plan.len(), "{faults:?}");
    let crash = faults[0];
    assert_eq!(crash.attr("data-fault"), Some("0"));
    assert_eq!(crash.attr("data-kind"), Some("crash_restart"));
    let host = crash.attr("data-host").expect("a band names its host");
    assert!(host.starts_with("taskmanager-"), "{host}");
    assert_eq!(Some(host), plan[0]["host"].as_str());
    // The recovery: a failover, the restart delay after it, the restore.
    assert!(!with("failover").is_empty(), "no failover");
    assert!(!with("restart-delay").is_empty(), "no restart delay");
    let restored = with("restored");
    assert!(!restored.is_empty(), "no restored checkpoint");
    assert!(
        restored[0]
            .attr("data-checkpoint")
            .is_some_and(|c| c.parse::<u64>().is_ok()),
        "{restored:?}"
    );
    assert!(!with("completed").is_empty(), "no completed checkpoint");

    let png = dir.join("report.png");
    let shot = format!("--screenshot={}", png.display());
    run_browser(
        &browser,
        &[&shot, WINDOW, &url],
        &dir,
        &dir.join("shot.out"),
    );
    let bytes = fs::read(&png).expect("chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "not a PNG of a page: {} bytes",
        bytes.len()
    );
    println!("the screenshot: {}", png.display());
}

/// The counts of each histogram table (`table.histogram`, its
/// `data-histogram` and `data-seeds`, and the `data-count` of each of its
/// cells), in page order.
fn histogram_counts(elements: &[Element]) -> Vec<(String, u64, Vec<u64>)> {
    let mut tables: Vec<(String, u64, Vec<u64>)> = Vec::new();
    for e in elements {
        if e.name == "table" && e.has_class("histogram") {
            let id = e.attr("data-histogram").expect("a histogram's id");
            let seeds = e.attr("data-seeds").expect("a histogram's seeds");
            tables.push((id.to_owned(), seeds.parse().expect("a number"), Vec::new()));
        } else if let (Some(count), Some(table)) = (e.attr("data-count"), tables.last_mut()) {
            table.2.push(count.parse().expect("a count"));
        }
    }
    tables
}

/// `flinch run --report`: the sweep page has a cell per seed, and each of
/// its histograms counts every seed once, in the page as written and as the
/// browser built it; the first failing seed's own page is beside it.
#[test]
fn a_sweeps_histograms_add_up_to_its_seeds() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-sweep");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the test's folder");
    let report = dir.join("report");
    // commit-on-barrier planted in nemesis-mixed: some seeds fail.
    let seeds = 20;
    let out = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args(["run", "tests/readme/planted.toml", "--seeds", "0..20"])
        .args(["--no-shrink", "--json", "--report"])
        .arg(&report)
        .output()
        .expect("flinch runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(run["seeds"], seeds);
    let first = run["failures"][0]["seed"].as_u64().expect("a failing seed");
    let page = report.join("index.html");
    assert_eq!(run["report"].as_str(), Some(page.to_str().expect("utf-8")));
    let seed_page = format!("seed-{first}.html");
    assert!(report.join(&seed_page).is_file(), "no {seed_page}");

    let check = |html: &str, what: &str| {
        let elements = elements(html);
        let cells = (elements.iter())
            .filter(|e| e.has_class("seed-cell"))
            .count();
        assert_eq!(cells, seeds as usize, "{what}: a cell per seed");
        let failed =
            (elements.iter()).filter(|e| e.has_class("seed-cell") && e.has_class("failed"));
        assert_eq!(
            failed.count() as u64,
            run["failed"].as_u64().expect("failed"),
            "{what}"
        );
        let tables = histogram_counts(&elements);
        let ids: Vec<&str> = tables.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(
            ids,
            ["faults", "failovers", "recovery", "checkpoint"],
            "{what}"
        );
        for (id, total, counts) in &tables {
            assert_eq!(*total, seeds, "{what}: {id}");
            assert_eq!(
                counts.iter().sum::<u64>(),
                seeds,
                "{what}: {id}: {counts:?}"
            );
        }
        assert!(
            (elements.iter()).any(|e| e.name == "a" && e.attr("href") == Some(seed_page.as_str())),
            "{what}: no link to {seed_page}"
        );
    };
    check_file_and_dom(&dir, &page, check);
}

/// `flinch campaign merge --report`: a row per scenario, the failing ones
/// marked, and each fastest failure's replay command, in the page as
/// written and as the browser built it.
#[test]
fn a_campaigns_page_has_a_row_per_scenario_and_its_fastest_failures() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-campaign");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the test's folder");
    let results = dir.join("results.jsonl");
    // commit-on-barrier planted in nemesis-mixed fails some seeds; steady
    // fails none.
    let out = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args([
            "campaign",
            "run",
            "--scenarios",
            "steady,tests/readme/planted.toml",
        ])
        .args(["--seeds", "0..10", "--out"])
        .arg(&results)
        .output()
        .expect("flinch runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = dir.join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_flinch"))
        .args(["campaign", "merge", "--json", "--report"])
        .arg(&report)
        .arg(&results)
        .output()
        .expect("flinch runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    let page = report.join("index.html");
    assert_eq!(
        merged["report"].as_str(),
        Some(page.to_str().expect("utf-8"))
    );
    let scenarios = merged["scenarios"].as_array().expect("scenarios");
    let planted = (scenarios.iter())
        .find(|s| s["scenario"] == "tests/readme/planted.toml")
        .expect("the planted scenario");
    assert!(
        planted["failed"].as_u64().is_some_and(|n| n > 0),
        "{planted}"
    );
    let replay = planted["fastest_failure"]["replay"]
        .as_str()
        .expect("a replay command");

    let check = |html: &str, what: &str| {
        let elements = elements(html);
        let rows: Vec<&Element> = (elements.iter())
            .filter(|e| e.name == "tr" && e.attr("data-scenario").is_some())
            .collect();
        let names: Vec<&str> = rows
            .iter()
            .filter_map(|e| e.attr("data-scenario"))
            .collect();
        assert_eq!(names, ["steady", "tests/readme/planted.toml"], "{what}");
        assert!(
            rows[1].has_class("failed") && rows[0].has_class("passed"),
            "{what}"
        );
        assert!(html.contains(replay), "{what}: no {replay}");
    };
    check_file_and_dom(&dir, &page, check);
}
