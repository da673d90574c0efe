//! Package version strings, parsed and ordered the way dpkg and rpm do it.
//!
//! Parsing follows the tools' own parsers (dpkg's `parseversion()`, rpm's
//! `rpmverParse()`) so that a version the tool refuses is refused here too,
//! with the tool's reason. rpm's `rpmvercmp` comes from the `rpm-version`
//! crate. dpkg's `verrevcmp` is written out here: the `debversion` crate
//! orders `1.` before `1.0` and `1.0~` after `1.`, where dpkg treats a
//! missing number as zero (found by the differential test).
//! `tests/versions.rs` compares both with the tools' own C code on generated
//! pairs.

use std::cmp::Ordering;
use std::fmt;

use thiserror::Error;

/// Which package manager's rules a version follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Dpkg,
    Rpm,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
        }
    }

    /// Orders two version strings; either may be refused.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        match self {
            Scheme::Dpkg => Ok(DpkgVersion::parse(a)?.cmp(&DpkgVersion::parse(b)?)),
            Scheme::Rpm => Ok(RpmVersion::parse(a)?.cmp(&RpmVersion::parse(b)?)),
        }
    }

    /// Checks that `v` is a version this scheme accepts.
    pub fn validate(self, v: &str) -> Result<(), VersionError> {
        match self {
            Scheme::Dpkg => DpkgVersion::parse(v).map(drop),
            Scheme::Rpm => RpmVersion::parse(v).map(drop),
        }
    }
}

/// Why a version string was refused. Messages follow the tool's own wording
/// where it has one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VersionError {
    #[error("version string is empty")]
    Empty,
    #[error("version '{0}' has embedded spaces")]
    EmbeddedSpace(String),
    #[error("epoch in version '{0}' is empty (no digits before the colon)")]
    EpochEmpty(String),
    #[error("epoch in version '{0}' is not a number")]
    EpochNotNumber(String),
    #[error("epoch in version '{0}' is negative")]
    EpochNegative(String),
    #[error("epoch in version '{0}' is too big")]
    EpochTooBig(String),
    #[error("nothing after the colon in version '{0}'")]
    NothingAfterColon(String),
    #[error("revision of version '{0}' is empty (nothing after the last '-')")]
    RevisionEmpty(String),
    #[error("upstream part of version '{0}' is empty")]
    UpstreamEmpty(String),
    #[error("version '{0}' does not start with a digit")]
    NoLeadingDigit(String),
    #[error("invalid character {ch:?} in the {part} of version '{version}'")]
    InvalidCharacter {
        version: String,
        part: &'static str,
        ch: char,
    },
    #[error("version '{0}' has more than one '-' (rpm versions and releases cannot contain '-')")]
    ExtraHyphen(String),
}

/// A Debian version: `[epoch:]upstream[-revision]` (deb-version(7)).
#[derive(Debug, Clone)]
pub struct DpkgVersion {
    epoch: u32,
    upstream: String,
    /// Empty when the version has none; dpkg orders that like `0`.
    revision: String,
    /// Whether the epoch was written, for display only.
    explicit_epoch: bool,
}

/// dpkg's `c_isblank`: the characters it trims and refuses inside a version.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl DpkgVersion {
    /// Parses as dpkg's `parseversion()` (dpkg 1.21) does: blanks around the
    /// string are trimmed; the epoch is what `strtol` reads before the first
    /// colon (an optional sign, then digits, 0..=INT_MAX); the revision is
    /// what follows the last hyphen. Since dpkg 1.21 a missing leading digit
    /// and a stray character are errors, not warnings, and so they are here.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        let s = text.trim_matches(is_blank);
        if s.is_empty() {
            return Err(VersionError::Empty);
        }
        if s.contains(is_blank) {
            return Err(VersionError::EmbeddedSpace(s.into()));
        }

        // Epoch: everything before the first colon, read as strtol would.
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => {
                let (negative, digits) = match e.as_bytes().first() {
                    Some(b'-') => (true, &e[1..]),
                    Some(b'+') => (false, &e[1..]),
                    _ => (false, e),
                };
                let numeric = digits.bytes().take_while(u8::is_ascii_digit).count();
                if numeric == 0 {
                    return Err(VersionError::EpochEmpty(s.into()));
                }
                if numeric != digits.len() {
                    return Err(VersionError::EpochNotNumber(s.into()));
                }
                let value: u64 = digits.parse().unwrap_or(u64::MAX);
                if negative && value != 0 {
                    return Err(VersionError::EpochNegative(s.into()));
                }
                let epoch = u32::try_from(value)
                    .ok()
                    .filter(|v| *v <= i32::MAX as u32)
                    .ok_or_else(|| VersionError::EpochTooBig(s.into()))?;
                if rest.is_empty() {
                    return Err(VersionError::NothingAfterColon(s.into()));
                }
                (Some(epoch), rest)
            }
            None => (None, s),
        };

        // Revision: after the last hyphen.
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((_, "")) => return Err(VersionError::RevisionEmpty(s.into())),
            Some((u, r)) => (u, Some(r)),
            None => (rest, None),
        };
        if upstream.is_empty() {
            return Err(VersionError::UpstreamEmpty(s.into()));
        }
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(VersionError::NoLeadingDigit(s.into()));
        }
        let bad = |part: &'static str, ch: char| VersionError::InvalidCharacter {
            version: s.into(),
            part,
            ch,
        };
        if let Some(ch) = upstream
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && !".-+~:".contains(*c))
        {
            return Err(bad("upstream version", ch));
        }
        if let Some(ch) = revision
            .into_iter()
            .flat_map(str::chars)
            .find(|c| !c.is_ascii_alphanumeric() && !".+~".contains(*c))
        {
            return Err(bad("revision", ch));
        }

        Ok(DpkgVersion {
            epoch: epoch.unwrap_or(0),
            upstream: upstream.into(),
            revision: revision.unwrap_or("").into(),
            explicit_epoch: epoch.is_some(),
        })
    }
}

/// dpkg's weight of one character of a non-digit run: `~` before the end
/// of the string, the end before letters, letters before everything else.
fn dpkg_order(c: Option<&u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(*c),
        Some(c) => i32::from(*c) + 256,
    }
}

/// dpkg's `verrevcmp()`: alternating non-digit runs (by [`dpkg_order`]) and
/// digit runs (by value, leading zeros ignored; a missing run counts as 0).
fn dpkg_verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        // Non-digit run, character by character. Only equal characters
        // advance, so neither index passes its end.
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let (x, y) = (dpkg_order(a.get(i)), dpkg_order(b.get(j)));
            if x != y {
                return x.cmp(&y);
            }
            i += 1;
            j += 1;
        }

        // Digit run: skip leading zeros, then the longer run is larger, else
        // the first differing digit decides.
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| dpkg_verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| dpkg_verrevcmp(&self.revision, &other.revision))
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DpkgVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DpkgVersion {}

impl fmt::Display for DpkgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.explicit_epoch {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

/// An RPM version: `[epoch:]version[-release]`.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    epoch: Option<String>,
    version: String,
    release: Option<String>,
}

/// Characters rpmbuild accepts in Version and Release (`rpmCharCheck` with
/// `._+~^`; `%{}` only appear before macro expansion).
fn rpm_char_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._+~^".contains(c)
}

impl RpmVersion {
    /// Splits as rpm's `parseEVR()` does (an epoch is the leading digits when
    /// a colon follows them; the release is what follows the last hyphen),
    /// and refuses what rpmbuild would never put in a package: an empty
    /// part, a second hyphen, a character outside `A-Za-z0-9._+~^`, an epoch
    /// that does not fit rpm's 32-bit tag.
    pub fn parse(text: &str) -> Result<Self, VersionError> {
        if text.is_empty() {
            return Err(VersionError::Empty);
        }
        if let Some(ch) = text
            .chars()
            .find(|c| !rpm_char_ok(*c) && *c != ':' && *c != '-')
        {
            let err = if is_blank(ch) {
                VersionError::EmbeddedSpace(text.into())
            } else {
                VersionError::InvalidCharacter {
                    version: text.into(),
                    part: "version",
                    ch,
                }
            };
            return Err(err);
        }

        // Epoch: digits up to the first colon.
        let (epoch, rest) = match text.split_once(':') {
            Some(("", _)) => return Err(VersionError::EpochEmpty(text.into())),
            Some((e, rest)) => {
                if !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(VersionError::EpochNotNumber(text.into()));
                }
                if e.parse::<u32>().is_err() {
                    return Err(VersionError::EpochTooBig(text.into()));
                }
                if rest.is_empty() {
                    return Err(VersionError::NothingAfterColon(text.into()));
                }
                if rest.contains(':') {
                    return Err(VersionError::InvalidCharacter {
                        version: text.into(),
                        part: "version",
                        ch: ':',
                    });
                }
                (Some(e.to_string()), rest)
            }
            None => (None, text),
        };

        // Release: after the hyphen; neither part may hold another.
        let (version, release) = match rest.split_once('-') {
            Some((_, r)) if r.contains('-') => return Err(VersionError::ExtraHyphen(text.into())),
            Some((_, "")) => return Err(VersionError::RevisionEmpty(text.into())),
            Some((v, r)) => (v, Some(r.to_string())),
            None => (rest, None),
        };
        if version.is_empty() {
            return Err(VersionError::UpstreamEmpty(text.into()));
        }
        Ok(RpmVersion {
            epoch,
            version: version.into(),
            release,
        })
    }
}

/// rpm's `rpmvercmp()` on one epoch, version or release string, by way of
/// the `rpm-version` crate (which compares whole EVRs; equal epochs and
/// releases leave the version to decide).
pub fn rpm_segment_cmp(a: &str, b: &str) -> Ordering {
    rpm_version::Evr::new("0", a, "").cmp(&rpm_version::Evr::new("0", b, ""))
}

impl Ord for RpmVersion {
    /// `rpmverCmp()`: a missing epoch is 0; a missing release is older than
    /// any release (so a minimum of `1.2` is met by every `1.2-N`).
    fn cmp(&self, other: &Self) -> Ordering {
        let epoch = |v: &RpmVersion| v.epoch.clone().unwrap_or_else(|| "0".into());
        rpm_segment_cmp(&epoch(self), &epoch(other))
            .then_with(|| rpm_segment_cmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpm_segment_cmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

impl fmt::Display for RpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(r) = &self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::{Equal, Greater, Less};

    fn dpkg(a: &str, b: &str) -> Ordering {
        Scheme::Dpkg.compare(a, b).unwrap()
    }

    fn rpm(a: &str, b: &str) -> Ordering {
        Scheme::Rpm.compare(a, b).unwrap()
    }

    // One named case per dpkg rule (deb-version(7)); expected values agree
    // with `dpkg --compare-versions` 1.21.

    #[test]
    fn dpkg_epoch_outranks_everything() {
        assert_eq!(dpkg("1:0.9", "2.0"), Greater);
        assert_eq!(dpkg("0:2.0", "2.0"), Equal);
        assert_eq!(dpkg("01:1", "1:1"), Equal);
    }

    #[test]
    fn dpkg_tilde_sorts_before_everything_even_the_end() {
        assert_eq!(dpkg("1.0~rc1", "1.0"), Less);
        assert_eq!(dpkg("1.0~~", "1.0~"), Less);
        assert_eq!(dpkg("1.0~rc1-1", "1.0-1"), Less);
    }

    #[test]
    fn dpkg_letters_sort_before_other_symbols() {
        assert_eq!(dpkg("1.0a", "1.0+"), Less);
        assert_eq!(dpkg("1.0+b1", "1.0"), Greater);
        assert_eq!(dpkg("1.2a", "1.2"), Greater);
    }

    #[test]
    fn dpkg_numbers_compare_numerically() {
        assert_eq!(dpkg("1.002", "1.2"), Equal);
        assert_eq!(dpkg("0.9-1", "0.10-1"), Less);
        assert_eq!(
            dpkg("1.99999999999999999999", "1.100000000000000000000"),
            Less
        );
    }

    /// Regression: the `debversion` crate ordered a missing number below an
    /// explicit zero; dpkg treats them alike.
    #[test]
    fn dpkg_missing_number_equals_zero() {
        assert_eq!(dpkg("1.", "1.0"), Equal);
        assert_eq!(dpkg("1.0~", "1."), Less);
        assert_eq!(dpkg("19~u", "19~u0~~"), Greater);
        assert_eq!(dpkg("1.0-deb", "1.0-deb0"), Equal);
    }

    #[test]
    fn dpkg_missing_revision_equals_revision_zero() {
        assert_eq!(dpkg("1.0", "1.0-0"), Equal);
        assert_eq!(dpkg("1.0", "1.0-1"), Less);
        assert_eq!(dpkg("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"), Less);
    }

    #[test]
    fn dpkg_revision_starts_after_the_last_hyphen() {
        assert_eq!(dpkg("1.0-1-2", "1.0-1-10"), Less);
        assert_eq!(dpkg("1.0-2-1", "1.0-10-1"), Less);
    }

    #[test]
    fn dpkg_refuses_what_dpkg_refuses() {
        use VersionError::*;
        let err = |v: &str| DpkgVersion::parse(v).unwrap_err();
        assert_eq!(err(""), Empty);
        assert_eq!(err(" \t"), Empty);
        assert_eq!(err("1 2"), EmbeddedSpace("1 2".into()));
        assert_eq!(err(":1"), EpochEmpty(":1".into()));
        assert_eq!(err("a:1"), EpochEmpty("a:1".into()));
        assert_eq!(err("1a:1"), EpochNotNumber("1a:1".into()));
        assert_eq!(err("-1:1"), EpochNegative("-1:1".into()));
        assert_eq!(err("2147483648:1"), EpochTooBig("2147483648:1".into()));
        assert_eq!(err("1:"), NothingAfterColon("1:".into()));
        assert_eq!(err("1.0-"), RevisionEmpty("1.0-".into()));
        assert_eq!(err("-1"), UpstreamEmpty("-1".into()));
        assert_eq!(err("a1"), NoLeadingDigit("a1".into()));
        assert!(matches!(err("1_2"), InvalidCharacter { ch: '_', .. }));
        assert!(matches!(
            err("1:2-a:b"),
            InvalidCharacter {
                ch: ':',
                part: "revision",
                ..
            }
        ));
        // What strtol accepts, dpkg accepts.
        assert_eq!(dpkg("+1:2", "1:2"), Equal);
        assert_eq!(dpkg("-0:2", "2"), Equal);
        assert_eq!(dpkg(" 1.0\t", "1.0"), Equal);
    }

    // One named case per rpm rule (rpm's rpmvercmp and rpmverCmp, and
    // Fedora's versioning guidelines for tilde and caret).

    #[test]
    fn rpm_epoch_outranks_everything_and_defaults_to_zero() {
        assert_eq!(rpm("1:0.9-1", "2.0-1"), Greater);
        assert_eq!(rpm("0:2.0-1", "2.0-1"), Equal);
        assert_eq!(rpm("01:1", "1:1"), Equal);
    }

    #[test]
    fn rpm_tilde_is_a_pre_release() {
        assert_eq!(rpm("1.0~rc1", "1.0"), Less);
        assert_eq!(rpm("1.0~rc1", "1.0~rc2"), Less);
        assert_eq!(rpm("1.0~~", "1.0~"), Less);
    }

    #[test]
    fn rpm_caret_is_a_post_release_below_the_next_version() {
        assert_eq!(rpm("1.0^git1", "1.0"), Greater);
        assert_eq!(rpm("1.0^git1", "1.0.1"), Less);
        assert_eq!(rpm("1.0^", "1.0"), Greater);
        assert_eq!(rpm("1.0~rc1", "1.0^git1"), Less);
    }

    #[test]
    fn rpm_separators_only_separate() {
        assert_eq!(rpm("1.0", "1_0"), Equal);
        assert_eq!(rpm("1..0", "1.0"), Equal);
        assert_eq!(rpm("1+0", "1.0"), Equal);
        assert_eq!(rpm("1.0", "1.0."), Equal);
    }

    #[test]
    fn rpm_numbers_beat_letters_and_compare_numerically() {
        assert_eq!(rpm("1.1", "1.a"), Greater);
        assert_eq!(rpm("1.010", "1.9"), Greater);
        assert_eq!(rpm("1.0a", "1.0"), Greater);
        assert_eq!(rpm("1.0", "1.0.1"), Less);
    }

    #[test]
    fn rpm_missing_release_is_older_than_any_release() {
        assert_eq!(rpm("1.0", "1.0-1"), Less);
        assert_eq!(rpm("1.0", "1.0-~1"), Less);
        assert_eq!(rpm("1.0-1.el9", "1.0-1.el9_2"), Less);
        assert_eq!(rpm("2.0", "1.0-1"), Greater);
    }

    #[test]
    fn rpm_refuses_what_rpmbuild_would_never_write() {
        use VersionError::*;
        let err = |v: &str| RpmVersion::parse(v).unwrap_err();
        assert_eq!(err(""), Empty);
        assert_eq!(err("1 2"), EmbeddedSpace("1 2".into()));
        assert_eq!(err(":1"), EpochEmpty(":1".into()));
        assert_eq!(err("a:1"), EpochNotNumber("a:1".into()));
        assert_eq!(err("4294967296:1"), EpochTooBig("4294967296:1".into()));
        assert_eq!(err("1:"), NothingAfterColon("1:".into()));
        assert_eq!(err("1.0-"), RevisionEmpty("1.0-".into()));
        assert_eq!(err("-1"), UpstreamEmpty("-1".into()));
        assert_eq!(err("1-2-3"), ExtraHyphen("1-2-3".into()));
        assert!(matches!(err("1.0/2"), InvalidCharacter { ch: '/', .. }));
        assert!(matches!(err("1:2:3"), InvalidCharacter { ch: ':', .. }));
    }
}
