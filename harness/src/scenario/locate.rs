//! Where in a scenario file something is: the line of a byte offset, and the
//! field (`checkpoint.interval`, `fault[1].at`) an error span points into.
//!
//! The TOML parser reports errors by byte span only; the field is recovered
//! by reading the file once more into a tree of spans and finding the entry
//! that the span hits. Array elements are indexed from 0.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// 1-based line number of byte `offset` in `source`.
pub(super) fn line_of(source: &str, offset: usize) -> usize {
    let end = offset.min(source.len());
    source.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The field an error span points into: the key it hits, else the innermost
/// value around it. `None` when the file does not parse as TOML. The root
/// table is the empty path.
pub(super) fn field_at(source: &str, span: &Range<usize>) -> Option<String> {
    let Some(entries) = entries(source) else {
        return field_on_line(source, span.start);
    };
    if let Some(entry) = entries.iter().find(|e| contains(&e.key, span.start)) {
        return Some(entry.path.clone());
    }
    let innermost = entries
        .iter()
        .filter(|e| contains(&e.value, span.start))
        .min_by_key(|e| e.value.len());
    Some(innermost.map_or_else(String::new, |e| e.path.clone()))
}

/// When the file does not parse as TOML at all (an integer above
/// `i64::MAX`, say), the field is read off the text: the key of the
/// `key = value` line at `offset`, inside the last table header above it
/// (`[[fault]]` headers counted, so the third is `fault[2]`).
fn field_on_line(source: &str, offset: usize) -> Option<String> {
    let line = line_of(source, offset);
    let lines: Vec<&str> = source.lines().collect();
    let text = lines.get(line - 1)?;
    let key = text.split_once('=')?.0.trim().trim_matches('"');
    // Only a key as scenario files spell them: a comment, a header or a
    // garbled line names no field.
    let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if key.is_empty() || !key.chars().all(bare) {
        return None;
    }
    let mut table = String::new();
    let mut arrays: Vec<(String, usize)> = Vec::new();
    for header in lines[..line - 1].iter().map(|l| l.trim()) {
        if let Some(name) = header.strip_prefix("[[").and_then(|h| h.split_once("]]")) {
            let name = name.0.trim().to_owned();
            let index = match arrays.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => {
                    *count += 1;
                    *count - 1
                }
                None => {
                    arrays.push((name.clone(), 1));
                    0
                }
            };
            table = format!("{name}[{index}]");
        } else if let Some(name) = header.strip_prefix('[').and_then(|h| h.split_once(']')) {
            table = name.0.trim().to_owned();
        }
    }
    Some(join(&table, key))
}

/// The table whose span is exactly `span` (serde reports a missing field with
/// the span of the table that lacks it); the root table when none is.
pub(super) fn table_at(source: &str, span: &Range<usize>) -> Option<String> {
    let entries = entries(source)?;
    let table = entries.iter().rev().find(|e| e.value == *span);
    Some(table.map_or_else(String::new, |e| e.path.clone()))
}

/// `parent.child`, or `child` at the root.
pub(super) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end
}

/// One key-value pair or array element, flattened out of the tree.
#[derive(Debug)]
struct Entry {
    path: String,
    /// Empty for array elements, which have no key.
    key: Range<usize>,
    value: Range<usize>,
}

fn entries(source: &str) -> Option<Vec<Entry>> {
    let root: Node = toml::from_str(source).ok()?;
    let mut entries = Vec::new();
    flatten(&root, "", &mut entries);
    Some(entries)
}

fn flatten(node: &Node, path: &str, entries: &mut Vec<Entry>) {
    match node {
        Node::Table(pairs) => {
            for (key, value) in pairs {
                let path = join(path, key.get_ref());
                entries.push(Entry {
                    path: path.clone(),
                    key: key.span(),
                    value: value.span(),
                });
                flatten(value.get_ref(), &path, entries);
            }
        }
        Node::Array(elements) => {
            for (index, element) in elements.iter().enumerate() {
                let path = format!("{path}[{index}]");
                entries.push(Entry {
                    path: path.clone(),
                    key: 0..0,
                    value: element.span(),
                });
                flatten(element.get_ref(), &path, entries);
            }
        }
        Node::Leaf => {}
    }
}

/// Any TOML value, keeping the spans of keys and values.
enum Node {
    Table(Vec<(Spanned<String>, Spanned<Node>)>),
    Array(Vec<Spanned<Node>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut elements = Vec::new();
        while let Some(element) = seq.next_element()? {
            elements.push(element);
        }
        Ok(Node::Array(elements))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut pairs = Vec::new();
        loop {
            // A datetime arrives as a map whose one key has no span: it is a
            // leaf, and the rest of that map is of no interest.
            let key = match map.next_key::<Spanned<String>>() {
                Ok(Some(key)) => key,
                Ok(None) => break,
                Err(_) => return Ok(Node::Leaf),
            };
            pairs.push((key, map.next_value()?));
        }
        Ok(Node::Table(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"name = "x"
[checkpoint]
interval = "5s"
[[fault]]
at = "1s"
[[fault]]
at = "2s"
topology = { taskmanagers = 2 }
when = 1979-05-27T07:32:00Z
"#;

    fn check_field(needle: &str, expected: &str) {
        let start = SOURCE.find(needle).expect("the needle is in SOURCE");
        let span = start..start + needle.len();
        assert_eq!(field_at(SOURCE, &span).as_deref(), Some(expected));
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of(SOURCE, 0), 1);
        assert_eq!(
            line_of(SOURCE, SOURCE.find("interval").expect("present")),
            3
        );
        assert_eq!(line_of(SOURCE, usize::MAX), 10);
    }

    #[test]
    fn a_span_on_a_key_or_value_names_its_field() {
        check_field("interval", "checkpoint.interval");
        check_field("\"5s\"", "checkpoint.interval");
        check_field("\"2s\"", "fault[1].at");
        check_field("taskmanagers", "fault[1].topology.taskmanagers");
        check_field("1979", "fault[1].when");
        check_field("\"x\"", "name");
    }

    #[test]
    fn a_table_span_names_the_table() {
        let start = SOURCE.find("[[fault]]\nat = \"2s\"").expect("present");
        let entries = entries(SOURCE).expect("SOURCE parses");
        let element = entries
            .iter()
            .find(|e| e.path == "fault[1]")
            .expect("fault[1] is an entry");
        assert_eq!(element.value.start, start);
        assert_eq!(
            table_at(SOURCE, &element.value).as_deref(),
            Some("fault[1]")
        );
        assert_eq!(table_at(SOURCE, &(0..3)).as_deref(), Some(""));
    }

    #[test]
    fn a_file_that_does_not_parse_still_names_the_field_on_the_line() {
        let source = "name = \"x\"\n[workload]\nrecords = 99999999999999999999\n";
        let offset = source.find("999").expect("in the source");
        assert_eq!(
            field_at(source, &(offset..offset + 1)),
            Some("workload.records".into())
        );
        let faults = "[[fault]]\nkind = \"crash\"\n[[fault]]\nat = 1e999999\n";
        let offset = faults.find("1e9").expect("in the source");
        assert_eq!(
            field_at(faults, &(offset..offset + 1)),
            Some("fault[1].at".into())
        );
    }

    #[test]
    fn a_file_that_is_not_toml_has_no_fields() {
        assert_eq!(field_at("[x", &(0..1)), None);
    }
}
