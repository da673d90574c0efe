//! Masking of secure values in everything Rampart writes out: step streams
//! (while they are copied, across buffer boundaries), the record, and logs.
//!
//! Each secret is masked as a whole and, for multi-line values such as PEM
//! keys, line by line too, so a script that prints one line of a key does not
//! leak that line.

use std::io::{self, Read, Write};

use aho_corasick::{AhoCorasick, MatchKind};

use crate::parameters::SecretString;

/// What a masked value is replaced with.
pub const MASK: &str = "****";

/// Lines of a multi-line secret shorter than this are not masked on their
/// own: "-----END" style framing and blank lines are not secret, and masking
/// them would make output unreadable.
const MIN_LINE_CHARS: usize = 8;

#[derive(Clone, Default)]
pub struct Masker {
    matcher: Option<AhoCorasick>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Masker")
    }
}

impl Masker {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a SecretString>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        for s in secrets {
            let v = s.expose();
            if v.is_empty() {
                continue;
            }
            patterns.push(v.to_string());
            patterns.extend(
                v.lines()
                    .map(str::trim)
                    .filter(|l| l.chars().count() >= MIN_LINE_CHARS && !l.starts_with("-----"))
                    .map(str::to_string),
            );
        }
        if patterns.is_empty() {
            return Masker { matcher: None };
        }
        // Standard match semantics (the only kind that works on streams):
        // a multi-line value is masked line by line, its framing lines
        // ("-----BEGIN ...") left readable.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("literal patterns always build");
        Masker {
            matcher: Some(matcher),
        }
    }

    pub fn is_active(&self) -> bool {
        self.matcher.is_some()
    }

    pub fn mask(&self, text: &str) -> String {
        match &self.matcher {
            Some(m) => m.replace_all(text, &vec![MASK; m.patterns_len()]),
            None => text.to_string(),
        }
    }

    /// Copies `src` to `dst`, masking on the way. Matches that span reads are
    /// found, because the matcher keeps its own window over the stream.
    pub fn copy(&self, src: impl Read, dst: impl Write) -> io::Result<()> {
        match &self.matcher {
            Some(m) => m.try_stream_replace_all(src, dst, &vec![MASK; m.patterns_len()]),
            None => {
                let mut src = src;
                let mut dst = dst;
                io::copy(&mut src, &mut dst).map(|_| ())
            }
        }
    }
}

impl crate::platform::process::StreamFilter for Masker {
    fn copy(&self, src: &mut dyn Read, dst: &mut dyn Write) -> io::Result<()> {
        Masker::copy(self, src, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_whole_values_and_lines_of_multiline_values() {
        let pem = SecretString::new(
            "-----BEGIN KEY-----\nMIIEabcdefgh123\nQWERTYUIOP456\n-----END KEY-----\n".into(),
        );
        let pw = SecretString::new("hunter2hunter2".into());
        let m = Masker::new([&pem, &pw]);
        assert_eq!(m.mask("pw=hunter2hunter2;"), "pw=****;");
        assert_eq!(
            m.mask(pem.expose()),
            "-----BEGIN KEY-----\n****\n****\n-----END KEY-----\n"
        );
        assert_eq!(m.mask("line: QWERTYUIOP456"), "line: ****");
    }

    #[test]
    fn stream_masking_finds_values_across_reads() {
        struct Trickle(Vec<u8>, usize);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.1 >= self.0.len() {
                    return Ok(0);
                }
                buf[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            }
        }
        let secret = SecretString::new("s3cr3t-value".into());
        let m = Masker::new([&secret]);
        let mut out = Vec::new();
        m.copy(Trickle(b"a s3cr3t-value b".to_vec(), 0), &mut out)
            .unwrap();
        assert_eq!(out, b"a **** b");
    }
}
