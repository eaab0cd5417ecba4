//! Short ASCII names (task and transaction ids, blob and file names) built
//! without `format!`: a checkpoint prints a dozen of them, and the
//! formatting machinery is most of what they cost (BENCHMARKS.md, "The
//! late evening's work"). Each builder writes exactly what the `format!`
//! it replaces wrote; the tests compare them.

use std::fmt;

/// Append `n` in decimal.
pub(crate) fn push_uint(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Append `n` in decimal, zero-padded to at least `width` digits, as
/// `format!("{n:0width$}")` writes it.
pub(crate) fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// An ASCII string of at most `N` bytes on the stack, for an id's text
/// form: serialized with `serialize_str` and displayed with `write_str`,
/// where a `String` would be allocated for each.
pub(crate) struct Ascii<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Ascii<N> {
    pub(crate) fn new() -> Self {
        Ascii {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Append `s`. Panics past `N` bytes: each caller's `N` holds its
    /// longest id (the sizes are stated where it is chosen).
    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        self
    }

    /// Append `n` in decimal.
    pub(crate) fn uint(&mut self, n: u64) -> &mut Self {
        self.push(itoa::Buffer::new().format(n))
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len])
            .expect("only whole &str values are pushed, so the bytes are UTF-8")
    }
}

/// A serde visitor for an id serialized as its text form: takes the
/// string as the format lends it (postcard lends a slice of its input),
/// where `#[serde(try_from = "String")]` allocated one per id.
pub(crate) struct TextVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> TextVisitor<T> {
    pub(crate) fn new(expecting: &'static str, parse: fn(&str) -> Result<T, String>) -> Self {
        TextVisitor { expecting, parse }
    }
}

impl<T> serde::de::Visitor<'_> for TextVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_write_what_format_writes() {
        for n in [0, 1, 9, 10, 99, 12_345, 999_999, 1_000_000, u64::MAX] {
            let mut plain = String::new();
            push_uint(&mut plain, n);
            assert_eq!(plain, format!("{n}"));
            for width in [0, 1, 6, 10, 25] {
                let mut padded = String::from("x");
                push_padded(&mut padded, n, width);
                assert_eq!(padded, format!("x{n:0width$}"));
            }
            let mut ascii = Ascii::<64>::new();
            ascii.push("id-").uint(n).push("]");
            assert_eq!(ascii.as_str(), format!("id-{n}]"));
        }
    }
}
