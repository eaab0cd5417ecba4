//! "Did you mean" hints for names a scenario file got wrong: hosts, engine
//! events, planted bugs, fields and variants (`strsim`'s Levenshtein
//! distance, the measure clap uses for its own suggestions).

/// The candidate closest to `word`, if it is close enough to be a typo of
/// it: at most a third of the word's length in edits (and at least one).
/// Ties go to the earlier candidate, so the hint is deterministic.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = strsim::levenshtein(word, candidate);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `message` with `; did you mean "X"?` appended when a candidate is close.
pub fn hint<'a>(
    message: String,
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    match closest(word, candidates) {
        Some(candidate) => format!("{message}; did you mean \"{candidate}\"?"),
        None => message,
    }
}

/// The same hint for serde's "unknown field `x`, expected one of `a`, `b`"
/// and "unknown variant `x`, expected ..." messages, as the TOML parser
/// passes them on.
pub fn hint_serde(message: String) -> String {
    let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    else {
        return message;
    };
    let Some((word, expected)) = rest.split_once('`') else {
        return message;
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let word = word.to_owned();
    match closest(&word, candidates.iter().copied()) {
        Some(candidate) => format!("{message}; did you mean `{candidate}`?"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_closest_name_and_a_stranger_gets_none() {
        let hosts = [
            "jobmanager",
            "taskmanager-1",
            "taskmanager-2",
            "sink",
            "store",
        ];
        assert_eq!(closest("taskmanger-1", hosts), Some("taskmanager-1"));
        assert_eq!(closest("stor", hosts), Some("store"));
        assert_eq!(closest("mars", hosts), None);
        assert_eq!(closest("x", ["y"]), Some("y"), "one edit is always allowed");
    }

    #[test]
    fn serde_messages_get_the_hint_at_their_end() {
        let field = "unknown field `recrods`, expected one of `records`, `keys`, `partitions`";
        assert_eq!(
            hint_serde(field.into()),
            format!("{field}; did you mean `records`?")
        );
        let variant = "unknown variant `crash-restart`, expected one of `crash`, `crash_restart`";
        assert!(hint_serde(variant.into()).ends_with("did you mean `crash_restart`?"));
        let far = "unknown field `hosts`, expected one of `taskmanagers`, `parallelism`";
        assert_eq!(hint_serde(far.into()), far);
        assert_eq!(hint_serde("invalid type".into()), "invalid type");
    }
}
