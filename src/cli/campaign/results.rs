//! A campaign's results file: one JSON object per line, one line per
//! finished (scenario, seed), appended as each finishes (JSON Lines). The
//! fields are the contract in README.md ("Campaigns").
//!
//! Reading tolerates what a killed writer leaves: a last line without its
//! newline is *torn* (a shard stopped mid-write), reported with its file
//! and line and never counted; `campaign run` cuts it off and runs its seed
//! again. Any other line that does not parse is *malformed*, reported the
//! same way.

use crate::report::FailureKind;
use anyhow::{anyhow, Context as _};
use flinch_engine::probe::Probe;
use flinch_harness::seed::{SeedReport, Stopped};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest line read: a seed's violations are capped per kind
/// (`MAX_PER_KIND`), so a real line is a few kilobytes; a longer one is
/// reported as malformed, not read into memory.
pub const MAX_LINE: usize = 1 << 20;

/// The build flinch is: the git commit it was built from (`unknown`
/// outside a git checkout), as every line records it.
pub const BUILD: &str = env!("FLINCH_GIT_COMMIT");

/// One finished (scenario, seed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// The scenario as the campaign named it: a built-in name or a path.
    pub scenario: String,
    pub seed: u64,
    pub passed: bool,
    /// How it failed (`run --json`'s failure kinds, `timed-out` when
    /// `--timeout` stopped it); `null` when it passed.
    pub kind: Option<String>,
    /// Violations by cause, root cause first, as `run --json` has them.
    pub violations: Vec<serde_json::Value>,
    /// The simulated time of its first violation (the least `at_ms`), or of
    /// its end when no violation marks a moment; `null` when it passed.
    pub first_violation_ms: Option<u64>,
    /// Probes its trace hit, by name, in catalogue order.
    pub probes: Vec<String>,
    /// Faults in its plan.
    pub faults: usize,
    /// Input records.
    pub records: u64,
    /// Simulated time of the run, in milliseconds.
    pub sim_ms: u64,
    /// Wall-clock time of the run, in milliseconds (the one field two runs
    /// of the same seed differ in).
    pub wall_ms: u64,
    /// CRC-32 of the trace, 8 hex digits: equal for equal runs.
    pub trace_hash: String,
    /// CRC-32 of the scenario file's text, 8 hex digits.
    pub scenario_hash: String,
    /// [`BUILD`] of the flinch that ran it.
    pub build: String,
    /// The shard that ran it, `K/N`.
    pub shard: String,
}

/// Milliseconds, saturating.
fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// 8 lowercase hex digits of a CRC-32.
pub fn hex(crc: u32) -> String {
    format!("{crc:08x}")
}

impl Line {
    /// The line of `report`, a run of `scenario` (as named) whose file's
    /// text hashes to `scenario_hash`.
    pub fn of(
        scenario: &str,
        scenario_hash: &str,
        shard: &str,
        report: &SeedReport,
        wall: Duration,
    ) -> Line {
        let probes = flinch_harness::coverage::probes_hit(&report.trace);
        let first = (!report.passed).then(|| {
            report
                .violations
                .iter()
                .filter_map(|v| v.at)
                .min()
                .unwrap_or(report.sim_time)
        });
        Line {
            scenario: scenario.to_owned(),
            seed: report.seed,
            passed: report.passed,
            kind: (!report.passed).then(|| kind_name(FailureKind::of(&report.violations))),
            violations: (report.violations.iter())
                .map(|v| serde_json::to_value(v).expect("a violation serializes"))
                .collect(),
            first_violation_ms: first.map(ms),
            probes: probes.iter().map(|p| p.name().to_owned()).collect(),
            faults: report.plan.len(),
            records: report.records,
            sim_ms: ms(report.sim_time),
            wall_ms: ms(wall),
            trace_hash: hex(report.trace_hash()),
            scenario_hash: scenario_hash.to_owned(),
            build: BUILD.to_owned(),
            shard: shard.to_owned(),
        }
    }

    /// The line of a seed `--timeout` stopped: failed, kind `timed-out`,
    /// no violations, probes or trace; `sim_ms` is how far it came.
    pub fn timed_out(
        scenario: &str,
        scenario_hash: &str,
        shard: &str,
        stopped: &Stopped,
        faults: usize,
        limit: Duration,
    ) -> Line {
        Line {
            scenario: scenario.to_owned(),
            seed: stopped.seed,
            passed: false,
            kind: Some(kind_name(FailureKind::TimedOut)),
            violations: Vec::new(),
            first_violation_ms: None,
            probes: Vec::new(),
            faults,
            records: 0,
            sim_ms: ms(stopped.at),
            wall_ms: ms(limit),
            trace_hash: String::new(),
            scenario_hash: scenario_hash.to_owned(),
            build: BUILD.to_owned(),
            shard: shard.to_owned(),
        }
    }

    /// Whether `--timeout` stopped it: its verdict is the wall clock's, not
    /// the simulation's.
    pub fn is_timed_out(&self) -> bool {
        self.kind.as_deref() == Some(TIMED_OUT)
    }

    /// The line as written: JSON and a newline.
    pub fn text(&self) -> String {
        let mut s = serde_json::to_string(self).expect("a line serializes");
        s.push('\n');
        s
    }

    /// What must be equal in two runs of the same seed by the same build:
    /// everything but the wall time and the shard that ran it.
    pub fn verdict(&self) -> Line {
        Line {
            wall_ms: 0,
            shard: String::new(),
            ..self.clone()
        }
    }

    /// The probes it hit that this build knows (a line of another build
    /// may name others).
    pub fn known_probes(&self) -> impl Iterator<Item = Probe> + '_ {
        self.probes
            .iter()
            .filter_map(|name| Probe::ALL.into_iter().find(|p| p.name() == name))
    }

    /// `[checker] kind` of each distinct violation, sorted: what tells
    /// failures apart.
    pub fn violation_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = (self.violations.iter())
            .map(|v| {
                let field = |name: &str| v.get(name).and_then(|f| f.as_str()).unwrap_or("?");
                format!("[{}] {}", field("checker"), field("kind"))
            })
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// [`FailureKind::TimedOut`]'s name.
pub const TIMED_OUT: &str = "timed-out";

/// A failure kind's `--json` name (`records`, `engine-panic`, ...).
fn kind_name(kind: FailureKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("a failure kind serializes as a string")
}

/// A line that is not counted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// Bad lines kept at most per scan (a file of garbage has millions);
/// [`Scan::bad_lines`] counts them all.
pub const MAX_BAD_KEPT: usize = 1000;

/// What a scan of a results file found besides its lines.
#[derive(Debug, Default)]
pub struct Scan {
    /// Lines that did not parse, in file order (a torn last line among
    /// them), the first [`MAX_BAD_KEPT`].
    pub bad: Vec<BadLine>,
    /// How many lines did not parse.
    pub bad_lines: usize,
    /// The torn last line (it has no newline), and the byte offset where
    /// it starts.
    pub torn: Option<(BadLine, u64)>,
    /// The torn line begins as a results line does (`{"scenario":`, or a
    /// start of it): a line a writer was stopped in, not text of another
    /// kind.
    pub torn_is_ours: bool,
}

/// How every results line begins (`scenario` is [`Line`]'s first field).
const LINE_START: &[u8] = b"{\"scenario\":";

/// Read the results file at `path`, line by line, handing each line that
/// parses to `each` with its number (1-based); see the module's docs for
/// torn and malformed lines. Errors when the file cannot be read, or when
/// `each` fails.
pub fn scan(
    path: &Path,
    each: impl FnMut(usize, Line) -> anyhow::Result<()>,
) -> anyhow::Result<Scan> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    scan_from(BufReader::new(file), path, each)
}

fn scan_from(
    mut reader: impl BufRead,
    path: &Path,
    mut each: impl FnMut(usize, Line) -> anyhow::Result<()>,
) -> anyhow::Result<Scan> {
    let mut scan = Scan::default();
    let mut offset = 0u64;
    let mut buf = Vec::new();
    let bad = |scan: &mut Scan, line: usize, reason: String| {
        scan.bad_lines += 1;
        if scan.bad.len() < MAX_BAD_KEPT {
            scan.bad.push(BadLine {
                file: path.to_owned(),
                line,
                reason,
            });
        }
    };
    for number in 1.. {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        let start = offset;
        offset += n as u64;
        if buf.last() != Some(&b'\n') {
            if n > MAX_LINE {
                let (skipped, newline) = skip_line(&mut reader, path)?;
                offset += skipped;
                if newline {
                    bad(
                        &mut scan,
                        number,
                        format!("longer than {MAX_LINE} bytes: not a results line"),
                    );
                    continue;
                }
            }
            let torn = BadLine {
                file: path.to_owned(),
                line: number,
                reason:
                    "truncated: the last line has no newline (a shard stopped while writing it?)"
                        .to_owned(),
            };
            bad(&mut scan, number, torn.reason.clone());
            scan.torn = Some((torn, start));
            // Cut anywhere, even inside its first bytes; a tail of zero
            // bytes after a results line is what a machine that crashed
            // mid-write can leave of the next (the file's length written,
            // not its data). A file of zeros alone is no results file.
            scan.torn_is_ours = buf.starts_with(LINE_START)
                || LINE_START.starts_with(&buf)
                || (start > 0 && buf.iter().all(|&b| b == 0));
            break;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            bad(&mut scan, number, "empty line".to_owned());
            continue;
        }
        match serde_json::from_slice::<Line>(&buf) {
            // `campaign run` never writes a control character in a field
            // a summary prints (a scenario key, a build, a hash, a kind, a
            // probe; in a violation's text only a line break or a tab): one
            // would drive the terminal.
            Ok(line) => match (control_in(&line), line_shard(&line.shard)) {
                (Some(field), _) => {
                    let why = format!("field `{field}` holds a control character");
                    bad(&mut scan, number, format!("not a results line: {why}"))
                }
                (None, Ok(())) => each(number, line)?,
                (None, Err(why)) => bad(&mut scan, number, format!("not a results line: {why}")),
            },
            Err(e) => bad(&mut scan, number, format!("not a results line: {e}")),
        }
    }
    Ok(scan)
}

/// The first field of `line` that holds a control character a results
/// line never does, by name.
fn control_in(line: &Line) -> Option<&'static str> {
    let control = |text: &str| text.chars().any(char::is_control);
    let fields = [
        ("scenario", line.scenario.as_str()),
        ("build", &line.build),
        ("trace_hash", &line.trace_hash),
        ("scenario_hash", &line.scenario_hash),
        ("kind", line.kind.as_deref().unwrap_or("")),
    ];
    if let Some((name, _)) = fields.iter().find(|(_, text)| control(text)) {
        return Some(name);
    }
    if line.probes.iter().any(|p| control(p)) {
        return Some("probes");
    }
    // A violation's text may break a line or tab, never more.
    fn drives(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) => {
                s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
            }
            serde_json::Value::Array(a) => a.iter().any(drives),
            serde_json::Value::Object(o) => o.values().any(drives),
            _ => false,
        }
    }
    line.violations.iter().any(drives).then_some("violations")
}

/// Whether `text` is a shard as `campaign run` writes it in a line: `K/N`
/// with K below N (at most [`super::shard::MAX_SHARDS`]), digits only, no
/// leading zero. If not, why.
fn line_shard(text: &str) -> Result<(), String> {
    use super::shard::{parse, ShardSpec};
    match parse(text) {
        Ok(ShardSpec::Fixed(shard)) if shard.to_string() == text => Ok(()),
        Ok(ShardSpec::Fixed(shard)) => Err(format!(
            "shard \"{text}\" is not written as a campaign writes it (\"{shard}\")"
        )),
        Ok(ShardSpec::Auto { .. }) => Err(format!(
            "shard \"{text}\" is not K/N: a line names its own shard, never auto"
        )),
        // Malformed: `parse`'s own message offers `auto/N`, which a line
        // never holds.
        Err(e) if e.starts_with("expected ") => Err(format!(
            "shard \"{text}\" is not K/N (shard K of N, 0-based)"
        )),
        Err(e) => Err(format!("shard {e}")),
    }
}

/// Read to the end of the current line: how many bytes that took, and
/// whether it ended in a newline (else at the end of the file).
fn skip_line(reader: &mut impl BufRead, path: &Path) -> anyhow::Result<(u64, bool)> {
    let mut total = 0;
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let n = reader
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut chunk)
            .with_context(|| format!("cannot read {}", path.display()))?;
        total += n as u64;
        if n == 0 || chunk.last() == Some(&b'\n') {
            return Ok((total, n > 0));
        }
        // A device that never ends (`/dev/zero`) or a file of one endless
        // line is no results file: stop reading it.
        if total > MAX_SKIPPED {
            return Err(anyhow!(
                "{}: a line runs on past {} MiB without a newline: not a results file",
                path.display(),
                MAX_SKIPPED >> 20
            ));
        }
    }
}

/// How far past [`MAX_LINE`] an over-long line is read for its end before
/// the file is refused (64 MiB).
const MAX_SKIPPED: u64 = 64 << 20;

/// A results file open for appending, locked for as long as it is open.
pub struct Writer {
    file: File,
    path: PathBuf,
}

impl Writer {
    /// Open (creating) `path` for appending and lock it; then read what it
    /// holds ([`Writer::cut`] cuts a torn last line off). Fails when
    /// another process holds the lock (a shard running twice) or the file
    /// cannot be written.
    /// `each` gets every line the file holds, as [`scan`] gives them.
    pub fn open(
        path: &Path,
        each: impl FnMut(usize, Line) -> anyhow::Result<()>,
    ) -> anyhow::Result<(Writer, Scan)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .with_context(|| format!("cannot open {} to append results", path.display()))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => {
                return Err(anyhow!(
                    "{} is locked by another flinch campaign run (the same shard started twice, \
                     or a retried one whose first run still lives); wait for it, or write to \
                     another --out",
                    path.display()
                ))
            }
            Err(fs4::TryLockError::Error(e)) => {
                return Err(anyhow!("cannot lock {}: {e}", path.display()))
            }
        }
        file.seek(SeekFrom::Start(0))
            .with_context(|| format!("cannot read {}", path.display()))?;
        let scan = scan_from(BufReader::new(&file), path, each)?;
        let path = path.to_owned();
        Ok((Writer { file, path }, scan))
    }

    /// Cut the file at byte `at` (where a torn last line starts).
    pub fn cut(&self, at: u64) -> anyhow::Result<()> {
        self.file
            .set_len(at)
            .with_context(|| format!("cannot cut the torn last line of {}", self.path.display()))
    }

    /// Append `line`, whole, in one write.
    /// A write that fails part-way (a full disk) is cut off again, so that
    /// no line is left half-written; if even that fails, the next run cuts
    /// the torn line off as it cuts a killed shard's.
    pub fn append(&mut self, line: &Line) -> anyhow::Result<()> {
        let before = self.file.metadata().map(|m| m.len());
        let written = self.file.write_all(line.text().as_bytes());
        if written.is_err() {
            if let Ok(len) = before {
                let _ = self.file.set_len(len);
            }
        }
        written.with_context(|| format!("cannot append to {}", self.path.display()))
    }

    /// Flush what was written to the disk.
    pub fn sync(&self) -> anyhow::Result<()> {
        self.file
            .sync_data()
            .with_context(|| format!("cannot sync {}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    /// A line's shard is `K/N` exactly as `campaign run` writes it.
    #[test]
    fn a_lines_shard_is_k_of_n_as_written() {
        assert_eq!(line_shard("1/3"), Ok(()));
        for (text, why) in [
            (
                "01/3",
                "shard \"01/3\" is not written as a campaign writes it (\"1/3\")",
            ),
            (
                "auto/3",
                "shard \"auto/3\" is not K/N: a line names its own shard, never auto",
            ),
            ("x", "shard \"x\" is not K/N (shard K of N, 0-based)"),
            ("a/3", "shard \"a/3\" is not K/N (shard K of N, 0-based)"),
            (
                "0/0",
                "shard \"0/0\": a campaign splits into at least 1 shard",
            ),
        ] {
            assert_eq!(line_shard(text), Err(why.to_owned()), "{text}");
        }
        assert!(line_shard("5/3").is_err_and(|e| e.contains("shard 5 of 3 does not exist")));
    }

    use super::*;

    pub fn line(scenario: &str, seed: u64, passed: bool) -> Line {
        Line {
            scenario: scenario.to_owned(),
            seed,
            passed,
            kind: (!passed).then(|| "records".to_owned()),
            violations: if passed {
                Vec::new()
            } else {
                vec![
                    serde_json::json!({"checker": "exactly-once", "kind": "missing", "message": "m", "at_ms": 40}),
                ]
            },
            first_violation_ms: (!passed).then_some(40),
            probes: vec!["checkpoint-completed".to_owned()],
            faults: 1,
            records: 100,
            sim_ms: 1000,
            wall_ms: 3,
            trace_hash: hex(7),
            scenario_hash: hex(9),
            build: BUILD.to_owned(),
            shard: "0/1".to_owned(),
        }
    }

    /// Every line of `text` that parses, and the scan.
    fn scan_text(text: &str, path: &str) -> (Vec<(usize, Line)>, Scan) {
        let mut lines = Vec::new();
        let scan = scan_from(text.as_bytes(), Path::new(path), |n, l| {
            lines.push((n, l));
            Ok(())
        })
        .expect("reads");
        (lines, scan)
    }

    #[test]
    fn lines_round_trip_and_bad_ones_are_reported_with_their_line() {
        let a = line("steady", 1, true).text();
        let b = line("steady", 2, false).text();
        let text = format!("{a}not json\n\n{b}{{\"scenario\":\"ste");
        let (lines, scan) = scan_text(&text, "r.jsonl");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0], (1, line("steady", 1, true)));
        assert_eq!(lines[1], (4, line("steady", 2, false)));
        let bad: Vec<String> = scan.bad.iter().map(ToString::to_string).collect();
        assert_eq!((bad.len(), scan.bad_lines), (3, 3), "{bad:?}");
        assert!(
            bad[0].starts_with("r.jsonl:2: not a results line"),
            "{bad:?}"
        );
        assert!(bad[1].starts_with("r.jsonl:3: empty line"), "{bad:?}");
        assert!(bad[2].starts_with("r.jsonl:5: truncated"), "{bad:?}");
        let (torn, at) = scan.torn.expect("a torn line");
        assert_eq!(torn.line, 5);
        assert_eq!(at, (a.len() + 9 + 1 + b.len()) as u64);
    }

    /// A line whose scenario holds a control character (an edited file)
    /// is malformed: the key would drive the terminal in every summary.
    #[test]
    fn a_scenario_key_with_a_control_character_is_not_a_results_line() {
        let evil = line("evil\u{1b}[31m", 1, true).text();
        let ok = line("steady", 3, true).text();
        let (lines, scan) = scan_text(&format!("{evil}{ok}"), "r");
        assert_eq!(lines, vec![(2, line("steady", 3, true))]);
        assert!(
            scan.bad[0]
                .reason
                .contains("field `scenario` holds a control character"),
            "{:?}",
            scan.bad
        );
        let mut build = line("steady", 1, true);
        build.build.push('\u{1b}');
        let mut kind = line("steady", 2, false);
        kind.violations[0]["kind"] = serde_json::json!("k\u{1b}[33m");
        let text = format!("{}{}", build.text(), kind.text());
        let (lines, scan) = scan_text(&text, "r");
        assert!(lines.is_empty());
        let reasons: Vec<&str> = scan.bad.iter().map(|b| b.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "not a results line: field `build` holds a control character",
                "not a results line: field `violations` holds a control character"
            ]
        );
    }

    /// A source of bytes that never ends without a newline (`--out
    /// /dev/zero`) is refused after [`MAX_SKIPPED`], not read forever.
    #[test]
    fn an_endless_line_is_refused_not_read_forever() {
        let zeros = std::io::BufReader::new(std::io::repeat(0));
        let error =
            scan_from(zeros, Path::new("/dev/zero"), |_, _| Ok(())).expect_err("no results file");
        assert_eq!(
            error.to_string(),
            "/dev/zero: a line runs on past 64 MiB without a newline: not a results file"
        );
    }

    #[test]
    fn a_line_too_long_is_malformed_and_reading_goes_on() {
        let long = "x".repeat(MAX_LINE + 10);
        let ok = line("steady", 3, true).text();
        let (lines, scan) = scan_text(&format!("{long}\n{ok}"), "r");
        assert_eq!(lines, vec![(2, line("steady", 3, true))]);
        assert_eq!(scan.bad.len(), 1);
        assert!(scan.bad[0].reason.contains("longer than"), "{:?}", scan.bad);
        assert!(scan.torn.is_none());
        // A long last line without its newline is torn.
        let (_, scan) = scan_text(&format!("{ok}{long}"), "r");
        assert_eq!(
            scan.torn.map(|(b, at)| (b.line, at)),
            Some((2, ok.len() as u64))
        );
    }

    #[test]
    fn garbage_is_counted_but_only_so_much_is_kept() {
        let text = "junk\n".repeat(MAX_BAD_KEPT + 7);
        let (lines, scan) = scan_text(&text, "r");
        assert!(lines.is_empty());
        assert_eq!(
            (scan.bad.len(), scan.bad_lines),
            (MAX_BAD_KEPT, MAX_BAD_KEPT + 7)
        );
    }

    #[test]
    fn the_writer_cuts_a_torn_line_and_holds_a_lock() {
        let dir = std::env::temp_dir().join(format!("flinch-results-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let path = dir.join("r.jsonl");
        let whole = line("steady", 1, true).text();
        std::fs::write(&path, format!("{whole}{{\"scen")).expect("written");
        let count = |path: &Path| {
            let mut n = 0;
            let opened = Writer::open(path, |_, _| {
                n += 1;
                Ok(())
            });
            opened.map(|(w, scan)| (w, scan, n))
        };
        {
            let (mut writer, scan, n) = count(&path).expect("opens");
            assert_eq!(n, 1);
            assert_eq!(scan.torn.map(|(_, at)| at), Some(whole.len() as u64));
            assert!(scan.torn_is_ours);
            writer.cut(whole.len() as u64).expect("cuts");
            let second = count(&path).err().expect("the lock is held");
            assert!(second.to_string().contains("locked"), "{second}");
            writer.append(&line("steady", 2, true)).expect("appends");
        }
        let text = std::fs::read_to_string(&path).expect("reads");
        assert_eq!(text, format!("{whole}{}", line("steady", 2, true).text()));
        let (_writer, scan, n) = count(&path).expect("the lock went with the writer");
        assert_eq!((n, scan.bad_lines), (2, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A tail of zero bytes (a machine that crashed mid-write) is a torn
    /// line of ours, cut off on resume; other bytes are not.
    #[test]
    fn a_tail_of_zero_bytes_is_a_torn_line_of_ours() {
        let whole = line("steady", 1, true).text();
        let (_, scan) = scan_text(&format!("{whole}\0\0\0\0"), "r");
        assert_eq!(scan.torn.map(|(_, at)| at), Some(whole.len() as u64));
        assert!(scan.torn_is_ours);
        let (_, scan) = scan_text(&format!("{whole}\0\0x"), "r");
        assert!(!scan.torn_is_ours);
        let (_, scan) = scan_text("\0\0\0\0", "r");
        assert!(
            !scan.torn_is_ours,
            "a file of zeros alone is not ours to cut"
        );
    }
}
