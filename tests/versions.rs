//! Differential tests of Rampart's version ordering against the package
//! managers' own code, on generated version pairs biased toward the
//! characters that decide orderings (epochs, `~`, `^`, `+`, `.`, `-`,
//! leading zeros, letters next to digits) and toward near-equal pairs.
//!
//! References:
//! - dpkg: libdpkg's `parseversion()` and `dpkg_version_compare()` through a
//!   tiny C helper built here (`support/dpkg_vercmp.c`, Debian `libdpkg-dev`)
//!   for 100,000 pairs; the `dpkg --compare-versions` CLI for 1,500 more.
//! - rpm: librpm's `rpmverParse()`/`rpmverCmp()` and `rpmvercmp()` through
//!   `support/rpm_vercmp.c` (Debian `librpm-dev`) for 100,000 EVR pairs and
//!   100,000 single-segment pairs; the `rpm` CLI itself (its Lua
//!   `rpm.vercmp`, one process) for 5,000 more.
//!
//! The generator is seeded (`RAMPART_VERSION_SEED` overrides the seed) so a
//! failure can be replayed.

use std::cmp::Ordering;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::Instant;

use rampart::platform::version::{rpm_segment_cmp, DpkgVersion, RpmVersion, Scheme};

const DIFFERENTIAL_PAIRS: usize = 100_000;
const DPKG_CLI_PAIRS: usize = 1_500;
const RPM_CLI_PAIRS: usize = 5_000;
const DEFAULT_SEED: u64 = 0x5241_4d50_4152_5401;

/// xorshift64*: small, fast and reproducible; quality is ample for fuzzing.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Self {
        let seed = std::env::var("RAMPART_VERSION_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_SEED);
        Rng((seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A run of digits, often with leading zeros, sometimes past 64 bits.
fn digits(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => "0".into(),
        1 => format!("0{}", rng.below(100)),
        2 => "9".repeat(1 + rng.below(25)),
        3 => format!("{}", rng.next()),
        _ => format!("{}", rng.below(20)),
    }
}

/// One version fragment from `alphabet`-weighted pieces.
fn fragment(rng: &mut Rng, symbols: &[&str], odd: &[&str]) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(6) {
        match rng.below(12) {
            0..=3 => s.push_str(&digits(rng)),
            4..=5 => s.push_str(rng.pick(&[
                "a", "b", "z", "A", "Z", "rc", "beta", "el", "fc", "git", "deb", "u",
            ])),
            6..=10 => s.push_str(rng.pick(symbols)),
            _ if rng.chance(30) => s.push_str(rng.pick(odd)),
            _ => s.push_str(&digits(rng)),
        }
    }
    s
}

/// A dpkg version, usually valid, sometimes malformed in the ways dpkg
/// checks for.
fn dpkg_version(rng: &mut Rng) -> String {
    let symbols = ["~", "+", ".", ".", "-", "~~", "."];
    let odd = ["_", " ", "!", "@", "/", "\t", ":", "=", ","];
    let mut s = String::new();
    if rng.chance(25) {
        s.push_str(rng.pick(&[
            "0",
            "1",
            "2",
            "01",
            "+1",
            "-0",
            "-1",
            "",
            "a",
            "2147483647",
            "2147483648",
            "9999999999",
        ]));
        s.push(':');
    }
    if !rng.chance(5) {
        s.push_str(&digits(rng));
    }
    s.push_str(&fragment(rng, &symbols, &odd));
    if rng.chance(50) {
        s.push('-');
        s.push_str(&fragment(rng, &["~", "+", ".", "", "."], &odd));
    }
    if rng.chance(3) {
        s = format!("{}{s}{}", rng.pick(&[" ", "\t", ""]), rng.pick(&[" ", ""]));
    }
    s
}

/// An rpm EVR, usually valid, sometimes malformed.
fn rpm_version(rng: &mut Rng) -> String {
    let symbols = ["~", "^", ".", ".", "_", "+", "~~", "^^"];
    let odd = ["-", ":", "/", " ", "!", "%"];
    let mut s = String::new();
    if rng.chance(25) {
        s.push_str(rng.pick(&["0", "1", "2", "01", "", "a", "4294967295", "4294967296"]));
        s.push(':');
    }
    s.push_str(&fragment(rng, &symbols, &odd));
    if rng.chance(70) {
        s.push('-');
        s.push_str(&fragment(rng, &symbols, &odd));
    }
    s
}

/// A raw string for rpmvercmp alone: any printable ASCII, heavy on the
/// characters rpmvercmp treats specially.
fn rpm_segment(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.below(10) {
        match rng.below(8) {
            0..=2 => s.push_str(&digits(rng)),
            3 => s.push_str(rng.pick(&["a", "Z", "rc", "alpha"])),
            4..=6 => s.push_str(rng.pick(&["~", "^", ".", "_", "+", "-", ":", "~~", "^~", "~^"])),
            _ => s.push(char::from(b' ' + rng.below(95) as u8)),
        }
    }
    s
}

/// A pair: half the time the second is a small edit of the first, so the
/// comparison has to go deep.
fn pair(rng: &mut Rng, make: fn(&mut Rng) -> String, edits: &[&str]) -> (String, String) {
    let a = make(rng);
    if rng.chance(50) {
        return (a, make(rng));
    }
    let mut b = a.clone();
    for _ in 0..1 + rng.below(2) {
        // Generated versions are ASCII, so every index is a boundary.
        let at = rng.below(b.len() + 1);
        match rng.below(3) {
            0 if at < b.len() => {
                b.remove(at);
            }
            1 => b.insert_str(at, rng.pick(edits)),
            _ => b.push_str(rng.pick(edits)),
        }
    }
    if rng.chance(50) {
        (a, b)
    } else {
        (b, a)
    }
}

/// Builds one of the C reference helpers in `support/` with pkg-config's
/// flags for `lib`.
fn build_helper(source: &str, lib: &str, dev_package: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/support")
        .join(source);
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    // Each call gets its own executable: tests run in parallel, and one
    // must not overwrite a helper another is running.
    static BUILDS: AtomicUsize = AtomicUsize::new(0);
    let exe = out_dir.join(format!(
        "{}-{}-{}",
        source.trim_end_matches(".c"),
        std::process::id(),
        BUILDS.fetch_add(1, AtomicOrdering::Relaxed)
    ));
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", lib])
        .output()
        .expect("pkg-config runs");
    assert!(
        flags.status.success(),
        "pkg-config does not know {lib}: install {dev_package} (tests/run.sh does)"
    );
    let flags = String::from_utf8(flags.stdout).unwrap();
    let status = Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .args(flags.split_whitespace())
        .status()
        .expect("cc runs");
    assert!(status.success(), "building {source} failed");
    exe
}

/// Feeds `lines` to a helper's stdin and returns its output lines.
fn run_helper(exe: &Path, args: &[&str], lines: Vec<String>) -> Vec<String> {
    let mut child = Command::new(exe)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("reference helper starts");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut buf = std::io::BufWriter::new(&mut stdin);
        for l in lines {
            writeln!(buf, "{l}").unwrap();
        }
    });
    let out: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    // Each helper runs once; do not let them pile up in the target folder.
    let _ = std::fs::remove_file(exe);
    out
}

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

/// Rampart's verdict on a dpkg pair: an ordering, or "E" when it refuses one.
fn rampart_dpkg(a: &str, b: &str) -> &'static str {
    match (DpkgVersion::parse(a), DpkgVersion::parse(b)) {
        (Ok(x), Ok(y)) => symbol(x.cmp(&y)),
        _ => "E",
    }
}

fn assert_no_disagreements(what: &str, disagreements: &[String], total: usize) {
    assert!(
        disagreements.is_empty(),
        "{what}: {} of {total} pairs disagree; first ones:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn dpkg_ordering_and_validation_agree_with_libdpkg_on_100k_pairs() {
    let helper = build_helper("dpkg_vercmp.c", "libdpkg", "libdpkg-dev");
    let mut rng = Rng::new(1);
    let pairs: Vec<(String, String)> = (0..DIFFERENTIAL_PAIRS)
        .map(|_| {
            pair(
                &mut rng,
                dpkg_version,
                &["~", "+", ".", "0", "a", "-", "1", "~~", ":"],
            )
        })
        .filter(|(a, b)| !a.contains('\n') && !b.contains('\n'))
        .collect();

    let started = Instant::now();
    let reference = run_helper(
        &helper,
        &[],
        pairs.iter().map(|(a, b)| format!("{a}\x1f{b}")).collect(),
    );
    assert_eq!(reference.len(), pairs.len());

    let mut disagreements = Vec::new();
    let (mut ordered, mut refused) = (0, 0);
    for ((a, b), want) in pairs.iter().zip(&reference) {
        // A syntax warning (no leading digit, a stray character) still
        // lets `dpkg --compare-versions` compare, but dpkg refuses such a
        // version in a package's control file, and so does Rampart.
        let want = if want == "W" { "E" } else { want.as_str() };
        let got = rampart_dpkg(a, b);
        if got == "E" {
            refused += 1;
        } else {
            ordered += 1;
        }
        if got != want {
            disagreements.push(format!("{a:?} vs {b:?}: libdpkg {want}, rampart {got}"));
        }
    }
    eprintln!(
        "dpkg vs libdpkg: {} pairs ({ordered} ordered, {refused} refused) in {:.2?}",
        pairs.len(),
        started.elapsed()
    );
    assert_no_disagreements("dpkg vs libdpkg", &disagreements, pairs.len());
    assert!(ordered > pairs.len() / 2, "too few valid pairs: {ordered}");
    assert!(
        refused > pairs.len() / 50,
        "too few invalid pairs: {refused}"
    );
}

#[test]
fn dpkg_ordering_agrees_with_dpkg_compare_versions_cli() {
    let mut rng = Rng::new(2);
    let started = Instant::now();
    let mut disagreements = Vec::new();
    // dpkg compares versions with bad syntax after a warning on stderr;
    // Rampart refuses them (as dpkg does in a control file).
    let dpkg = |a: &str, op: &str, b: &str| {
        let out = Command::new("dpkg")
            .args(["--compare-versions", "--", a, op, b])
            .output()
            .expect("dpkg is installed");
        if String::from_utf8_lossy(&out.stderr).contains("warning") {
            return Some(2);
        }
        out.status.code()
    };
    for _ in 0..DPKG_CLI_PAIRS {
        let (a, b) = pair(&mut rng, dpkg_version, &["~", "+", ".", "0", "a", "-", "1"]);
        // The CLI reads an empty argument as "no version" (older than any);
        // as a version string it is refused, as by libdpkg above.
        if a.is_empty() || b.is_empty() {
            continue;
        }
        let want = match dpkg(&a, "lt", &b) {
            Some(0) => "<",
            Some(1) => match dpkg(&a, "gt", &b) {
                Some(0) => ">",
                Some(1) => "=",
                _ => "E",
            },
            _ => "E",
        };
        let got = rampart_dpkg(&a, &b);
        if got != want {
            disagreements.push(format!("{a:?} vs {b:?}: dpkg {want}, rampart {got}"));
        }
    }
    eprintln!(
        "dpkg vs dpkg --compare-versions: {DPKG_CLI_PAIRS} pairs in {:.2?}",
        started.elapsed()
    );
    assert_no_disagreements("dpkg CLI", &disagreements, DPKG_CLI_PAIRS);
}

#[test]
fn rpm_ordering_agrees_with_librpm_on_100k_evr_pairs() {
    let helper = build_helper("rpm_vercmp.c", "rpm", "librpm-dev");
    let mut rng = Rng::new(3);
    let pairs: Vec<(String, String)> = (0..DIFFERENTIAL_PAIRS)
        .map(|_| {
            pair(
                &mut rng,
                rpm_version,
                &["~", "^", ".", "0", "a", "_", "1", "-1", "1:"],
            )
        })
        .collect();

    let started = Instant::now();
    let reference = run_helper(
        &helper,
        &[],
        pairs
            .iter()
            .map(|(a, b)| format!("evr\x1f{a}\x1f{b}"))
            .collect(),
    );
    assert_eq!(reference.len(), pairs.len());

    // Rampart refuses some EVRs rpm would still compare (a second hyphen,
    // characters rpmbuild never writes); only pairs it accepts are ordered.
    let mut disagreements = Vec::new();
    let mut ordered = 0;
    for ((a, b), want) in pairs.iter().zip(&reference) {
        let (Ok(x), Ok(y)) = (RpmVersion::parse(a), RpmVersion::parse(b)) else {
            continue;
        };
        ordered += 1;
        let got = symbol(x.cmp(&y));
        if got != want {
            disagreements.push(format!("{a:?} vs {b:?}: librpm {want}, rampart {got}"));
        }
    }
    eprintln!(
        "rpm vs librpm rpmverCmp: {} pairs ({ordered} ordered) in {:.2?}",
        pairs.len(),
        started.elapsed()
    );
    assert_no_disagreements("rpm vs librpm", &disagreements, ordered);
    assert!(ordered > pairs.len() / 2, "too few valid pairs: {ordered}");
}

#[test]
fn rpm_segment_comparison_agrees_with_rpmvercmp_on_100k_raw_pairs() {
    let helper = build_helper("rpm_vercmp.c", "rpm", "librpm-dev");
    let mut rng = Rng::new(4);
    let pairs: Vec<(String, String)> = (0..DIFFERENTIAL_PAIRS)
        .map(|_| {
            pair(
                &mut rng,
                rpm_segment,
                &["~", "^", ".", "0", "a", "_", "1", "~^"],
            )
        })
        .collect();

    let started = Instant::now();
    let reference = run_helper(
        &helper,
        &[],
        pairs
            .iter()
            .map(|(a, b)| format!("seg\x1f{a}\x1f{b}"))
            .collect(),
    );
    let disagreements: Vec<String> = pairs
        .iter()
        .zip(&reference)
        .filter_map(|((a, b), want)| {
            let got = symbol(rpm_segment_cmp(a, b));
            (got != want).then(|| format!("{a:?} vs {b:?}: rpmvercmp {want}, rampart {got}"))
        })
        .collect();
    eprintln!(
        "rpm segments vs rpmvercmp: {} pairs in {:.2?}",
        pairs.len(),
        started.elapsed()
    );
    assert_no_disagreements("rpmvercmp", &disagreements, pairs.len());
}

#[test]
fn rpm_ordering_agrees_with_rpm_cli() {
    let mut rng = Rng::new(5);
    let pairs: Vec<(String, String)> = std::iter::repeat_with(|| {
        pair(&mut rng, rpm_version, &["~", "^", ".", "0", "a", "_", "1"])
    })
    .filter(|(a, b)| RpmVersion::parse(a).is_ok() && RpmVersion::parse(b).is_ok())
    .take(RPM_CLI_PAIRS)
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("pairs");
    let text: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    std::fs::write(&list, text).unwrap();

    // One rpm process compares every pair with its own rpm.vercmp.
    let started = Instant::now();
    let script = format!(
        "%{{lua: for line in io.lines(\"{}\") do \
         local a, b = line:match(\"^([^\\t]*)\\t(.*)$\"); \
         print(rpm.vercmp(a, b) .. \"\\n\") end}}",
        list.display()
    );
    let out = Command::new("rpm")
        .arg("--eval")
        .arg(script)
        .output()
        .expect("rpm is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.trim() {
            "-1" => "<".to_string(),
            "0" => "=".to_string(),
            "1" => ">".to_string(),
            other => panic!("unexpected rpm.vercmp output {other:?}"),
        })
        .collect();
    assert_eq!(reference.len(), pairs.len());
    let disagreements: Vec<String> = pairs
        .iter()
        .zip(&reference)
        .filter_map(|((a, b), want)| {
            let got = symbol(Scheme::Rpm.compare(a, b).unwrap());
            (got != want).then(|| format!("{a:?} vs {b:?}: rpm {want}, rampart {got}"))
        })
        .collect();
    eprintln!(
        "rpm vs rpm --eval rpm.vercmp: {} pairs in {:.2?}",
        pairs.len(),
        started.elapsed()
    );
    assert_no_disagreements("rpm CLI", &disagreements, pairs.len());
}
