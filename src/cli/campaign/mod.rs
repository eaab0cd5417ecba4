//! `flinch campaign`: long seed sweeps split into shards that an existing
//! batch system runs (a CI matrix, a Kubernetes Indexed Job, a Slurm array,
//! GNU parallel), and the merge of their results into one verdict
//! (docs/campaigns.md). There is no scheduler here: a shard is one process
//! that runs its part of the (scenario, seed) space and appends a line per
//! finished pair to its results file ([`results`]); `merge` reads any
//! number of those files.

mod merge;
mod results;
mod run;
mod shard;

use super::Output;
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use flinch_harness::scenario::{self, JobChoice, Scenario};

#[derive(Args, Debug)]
pub struct CampaignArgs {
    #[command(subcommand)]
    pub command: CampaignCommand,
}

#[derive(Subcommand, Debug)]
pub enum CampaignCommand {
    /// Run this shard's part of the (scenario, seed) space, appending one
    /// JSON line per finished seed to --out; run again, it resumes.
    Run(run::CampaignRunArgs),
    /// Merge results files into one summary (exit 1 if any seed failed).
    Merge(merge::MergeArgs),
}

pub fn campaign(args: &CampaignArgs) -> anyhow::Result<Output> {
    match &args.command {
        CampaignCommand::Run(args) => run::run(args),
        CampaignCommand::Merge(args) => merge::merge(args),
    }
}

/// The most scenarios one campaign runs: every built-in and then some.
pub const MAX_SCENARIOS: usize = 1000;

/// A scenario of a campaign: as the user named it, loaded, and the CRC-32
/// of its file's text (a built-in's shipped text).
#[derive(Debug, Clone)]
pub struct Entry {
    /// The built-in name or the path, as given: the key of its lines.
    pub arg: String,
    pub scenario: Scenario,
    /// [`results::hex`] of the text's CRC-32.
    pub hash: String,
}

impl Entry {
    /// Load a built-in scenario by name or a scenario file by path.
    pub fn load(arg: &str) -> anyhow::Result<Entry> {
        // The text is read once: the hash is of the text that runs.
        let (scenario, source) = match scenario::builtin().into_iter().find(|b| b.name == arg) {
            Some(builtin) => (
                scenario::load_choosing(arg, JobChoice::File).map_err(|e| anyhow!("{e}"))?,
                builtin.source.to_owned(),
            ),
            None => {
                let Ok(source) = scenario::read_file(arg) else {
                    // Not a readable file (or one too large to be a
                    // scenario): load's error says why (and lists the
                    // built-in names).
                    return Err(anyhow!(
                        "{}",
                        scenario::load(arg).err().map_or_else(
                            || format!("{arg}: cannot read the scenario file"),
                            |e| e.to_string()
                        )
                    ));
                };
                let scenario = scenario::parse_choosing(&source, arg, JobChoice::File)
                    .map_err(|e| anyhow!("{e}"))?;
                (scenario, source)
            }
        };
        Ok(Entry {
            arg: arg.to_owned(),
            scenario,
            hash: results::hex(crc32fast::hash(source.as_bytes())),
        })
    }
}

/// `--scenarios`: `all` (every built-in, by name) or a comma-separated list
/// of built-in names and scenario files, each once.
pub fn scenarios(list: &str) -> anyhow::Result<Vec<Entry>> {
    let names: Vec<String> = if list.trim() == "all" {
        scenario::builtin()
            .iter()
            .map(|b| b.name.to_owned())
            .collect()
    } else {
        list.split(',').map(|s| s.trim().to_owned()).collect()
    };
    if names.len() > 1 && names.iter().any(|n| n == "all") {
        bail!("--scenarios: `all` stands alone (every built-in); list names without it");
    }
    if names.len() > MAX_SCENARIOS {
        bail!(
            "--scenarios: {} scenarios; a campaign runs at most {MAX_SCENARIOS}",
            names.len()
        );
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(names.len());
    // Each file's own path, to find one named two ways (`a.toml`,
    // `./a.toml`): its seeds would run twice, under two keys.
    let mut files: Vec<(FileId, String)> = Vec::new();
    for name in names {
        if name.is_empty() {
            bail!("--scenarios: an empty name in \"{list}\"");
        }
        if name.chars().any(char::is_control) {
            bail!(
                "--scenarios: {name:?} holds a control character: a scenario's name or path is \
                 its key in every results line and summary; rename the file"
            );
        }
        if entries.iter().any(|e| e.arg == name) {
            bail!("--scenarios: {name} is named twice");
        }
        let entry = Entry::load(&name)?;
        let is_builtin = scenario::builtin().iter().any(|b| b.name == name);
        if let Some(file) = (!is_builtin).then(|| same_file(&name)).flatten() {
            if let Some((_, first)) = files.iter().find(|(f, _)| *f == file) {
                bail!("--scenarios: {name} is {first} named another way: each file runs once");
            }
            files.push((file, name.clone()));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// What tells one file from another however it is named: on Unix its
/// device and inode, so that a hard link is the file it links to; else its
/// canonical path (which a symlink, `./` and `..` already resolve to).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FileId {
    Inode(u64, u64),
    Path(std::path::PathBuf),
}

/// `path`'s [`FileId`]; `None` when it cannot be read (the caller's own
/// open or read then says why).
pub(crate) fn same_file(path: impl AsRef<std::path::Path>) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| FileId::Inode(m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::canonicalize(path).ok().map(FileId::Path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One file named two ways would run every seed twice, under two keys;
    /// a name with a control character would drive the terminal in every
    /// summary. Both are refused before anything runs.
    #[test]
    fn a_file_named_two_ways_or_a_name_with_a_control_character_is_refused() {
        let dir = std::env::temp_dir().join(format!("flinch-scenarios-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let file = dir.join("a.toml");
        let text = flinch_harness::plan::render(&scenario::load("steady").expect("built-in"));
        std::fs::write(&file, text).expect("written");
        let plain = file.display().to_string();
        let other = format!("{}/./a.toml", dir.display());
        let error = scenarios(&format!("{plain},{other}")).expect_err("the same file");
        assert_eq!(
            error.to_string(),
            format!("--scenarios: {other} is {plain} named another way: each file runs once")
        );
        assert_eq!(scenarios(&format!("steady,{plain}")).expect("two").len(), 2);
        let linked = dir.join("b.toml");
        let _ = std::fs::remove_file(&linked);
        if std::fs::hard_link(&file, &linked).is_ok() {
            let linked = linked.display().to_string();
            let error = scenarios(&format!("{plain},{linked}")).expect_err("a hard link");
            assert_eq!(
                error.to_string(),
                format!("--scenarios: {linked} is {plain} named another way: each file runs once")
            );
        }
        let big = dir.join("big.toml");
        std::fs::write(&big, "#".repeat(1 << 21)).expect("written");
        let error = scenarios(&big.display().to_string()).expect_err("too large");
        assert!(
            error.to_string().contains("larger than 1048576 bytes"),
            "{error}"
        );
        let error = scenarios("steady,a\u{1b}b").expect_err("a control character");
        assert!(
            error.to_string().contains("holds a control character"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
