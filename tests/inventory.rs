//! `rampart inventory` run as a real binary against temp roots and this host.
//!
//! Expected values come from the reference tools, never from Rampart: the
//! package list from `dpkg-query` over the same database, the content hash from
//! an MD5 computed by Python over the content JSON, host facts from `uname -r`,
//! `/proc/cpuinfo` and os-release(5), item shapes from the PutInventory API
//! reference.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use regex_lite::Regex;
use serde_json::Value;

use common::Sandbox;

/// dpkg status states in which a package counts as installed (the rule
/// documented in `platform/dpkg.rs`).
const INSTALLED_STATES: [&str; 3] = ["installed", "triggers-awaited", "triggers-pending"];

/// One row per package from `dpkg-query`, fields split on tabs. None of the
/// fields queried can hold a tab or a newline.
const DPKG_QUERY_FORMAT: &str = "${binary:Package}\t${Version}\t${Architecture}\t\
${db:Status-Status}\t${binary:Summary}\t${Maintainer}\t${Homepage}\t${Section}\n";

/// A crafted status file covering every state dpkg can leave a package in,
/// multi-arch, continuation lines and multi-line descriptions. A continuation
/// line that looks like a field (`Package:` inside base-files' description)
/// must not start a package.
const STATUS_FIXTURE: &str = "\
Package: base-files
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 391
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 12.4+deb12u5
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Conffiles:
 /etc/debian_version 2d3a38d8e58b9d7b9a0ac6fa4fba9b1c
 /etc/dpkg/origins/debian c47b6815f67ad1aeccb0d4529bd0b990
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy of a Debian system,
 and several important miscellaneous files.
 .
 Package: not-a-package
 Status: install ok installed
Homepage: https://tracker.debian.org/pkg/base-files

Package: hello
Status: install ok installed
Priority: optional
Section: devel
Installed-Size: 280
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 1:2.10-3+b1
Depends: libc6 (>= 2.34),
 libgcc-s1 (>= 3.0),
 libstdc++6 (>= 12)
Description: \"quoted\" \\backslash/ café — ünïcödé 🚀 <&>
 The GNU hello program produces a familiar, friendly greeting.
 .
 It allows non-programmers to use a classic computer science tool.
Homepage: https://www.gnu.org/software/hello/

Package: gone
Status: deinstall ok config-files
Priority: optional
Section: admin
Installed-Size: 50
Maintainer: A Maintainer <a@example.org>
Architecture: amd64
Version: 2.0-1
Conffiles:
 /etc/gone.conf 0123456789abcdef0123456789abcdef
Description: removed, configuration files kept

Package: halfy
Status: install reinstreq half-installed
Priority: optional
Section: utils
Maintainer: A Maintainer <a@example.org>
Architecture: amd64
Version: 0.9-1
Description: stuck half-way through unpacking

Package: unpacked-only
Status: install ok unpacked
Priority: optional
Section: utils
Maintainer: A Maintainer <a@example.org>
Architecture: all
Version: 1:4.5~rc1-0+deb12u1
Description: unpacked but never configured

Package: half-conf
Status: install ok half-configured
Priority: optional
Section: utils
Maintainer: A Maintainer <a@example.org>
Architecture: all
Version: 3.0
Description: configuration failed

Package: trig-pending
Status: install ok triggers-pending
Priority: optional
Section: utils
Maintainer: A Maintainer <a@example.org>
Architecture: all
Version: 1.0
Triggers-Pending: /usr/share/trig
Description: awaiting its own trigger processing

Package: trig-awaited
Status: install ok triggers-awaited
Priority: optional
Section: utils
Maintainer: A Maintainer <a@example.org>
Architecture: all
Version: 1.0
Triggers-Awaited: trig-pending
Description: waiting for another package's trigger

Package: held
Status: hold ok installed
Priority: optional
Section: net
Maintainer: A Maintainer <a@example.org>
Architecture: amd64
Version: 7.88.1-10+deb12u5
Description: held at this version

Package: being-removed
Status: deinstall ok installed
Priority: optional
Section: net
Maintainer: A Maintainer <a@example.org>
Architecture: amd64
Version: 1.2
Description: selected for removal, still installed

Package: ghost
Status: purge ok not-installed
Priority: optional
Section: utils
Architecture: amd64

Package: libmulti1
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 120
Maintainer: A Maintainer <a@example.org>
Architecture: amd64
Multi-Arch: same
Source: multi (1.4-2)
Version: 1.4-2+b1
Description: multi-arch library
 Installed for two architectures, one paragraph each.

Package: libmulti1
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 118
Maintainer: A Maintainer <a@example.org>
Architecture: i386
Multi-Arch: same
Source: multi (1.4-2)
Version: 1.4-2+b1
Description: multi-arch library
 Installed for two architectures, one paragraph each.

Package: wine32
Status: install ok installed
Priority: optional
Section: otherosfs
Maintainer: A Maintainer <a@example.org>
Architecture: i386
Version: 8.0~repack-4
Description: foreign-architecture package without Multi-Arch
";

/// (Name, Version, Architecture) of one AWS:Application entry.
type Package = (String, String, String);

/// Summary, Publisher, URL and ApplicationType, keyed by name and architecture.
type Descriptions = BTreeMap<(String, String), [String; 4]>;

// ---------------------------------------------------------------------------
// Helpers

/// Runs `rampart inventory --root ROOT` off EC2, with no identity override.
fn run_inventory(root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("inventory")
        .arg("--root")
        .arg(root)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("RAMPART_LOG")
        .env_remove("RAMPART_INSTANCE_ID")
        .env_remove("AWS_SSM_INSTANCE_ID")
        .output()
        .expect("failed to run rampart")
}

/// Runs the inventory, requires success, and parses the PutInventory body.
fn inventory(root: &Path) -> Value {
    let out = run_inventory(root);
    assert_eq!(
        out.status.code(),
        Some(0),
        "rampart inventory failed\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The item of one type; exactly one is expected.
fn item<'a>(inventory: &'a Value, type_name: &str) -> &'a Value {
    let items: Vec<&Value> = inventory["Items"]
        .as_array()
        .expect("Items is an array")
        .iter()
        .filter(|i| i["TypeName"] == type_name)
        .collect();
    assert_eq!(items.len(), 1, "want one {type_name} item in {inventory:#}");
    items[0]
}

/// The single entry of a one-row type such as AWS:InstanceInformation.
fn single_entry<'a>(inventory: &'a Value, type_name: &str) -> &'a Value {
    let content = item(inventory, type_name)["Content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "want one {type_name} entry");
    &content[0]
}

fn field(entry: &Value, name: &str) -> String {
    entry[name]
        .as_str()
        .unwrap_or_else(|| panic!("field {name} is not a string in {entry}"))
        .to_string()
}

/// Rampart's AWS:Application entries as a set; a duplicate entry fails.
fn rampart_packages(inventory: &Value) -> BTreeSet<Package> {
    let content = item(inventory, "AWS:Application")["Content"]
        .as_array()
        .unwrap();
    let set: BTreeSet<Package> = content
        .iter()
        .map(|e| {
            (
                field(e, "Name"),
                field(e, "Version"),
                field(e, "Architecture"),
            )
        })
        .collect();
    assert_eq!(
        set.len(),
        content.len(),
        "duplicate AWS:Application entries"
    );
    set
}

fn rampart_descriptions(inventory: &Value) -> Descriptions {
    item(inventory, "AWS:Application")["Content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let key = (field(e, "Name"), field(e, "Architecture"));
            let fields = ["Summary", "Publisher", "URL", "ApplicationType"].map(|f| field(e, f));
            (key, fields)
        })
        .collect()
}

/// True when `tool --version` runs; otherwise says why the test is skipped.
fn tool_available(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: reference tool '{tool}' is not installed");
    }
    ok
}

/// Every package `dpkg-query -W` lists for the database in `admindir`, as
/// (binary:Package, Version, Architecture, Status, Summary, Maintainer,
/// Homepage, Section). Non-UTF-8 bytes become U+FFFD, as in Rampart.
fn dpkg_query_rows(admindir: &Path) -> Vec<Vec<String>> {
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args(["-W", "-f", DPKG_QUERY_FORMAT])
        .output()
        .expect("failed to run dpkg-query");
    assert!(
        out.status.success(),
        "dpkg-query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.split('\t').map(str::to_string).collect::<Vec<_>>())
        .inspect(|row| assert_eq!(row.len(), 8, "unexpected dpkg-query row {row:?}"))
        .collect()
}

/// The installed rows of `dpkg_query_rows`. dpkg-query qualifies a
/// Multi-Arch: same or foreign-architecture package as `name:arch`; the
/// qualifier is dropped since the architecture is its own field.
fn installed_rows(rows: &[Vec<String>]) -> impl Iterator<Item = &Vec<String>> {
    rows.iter()
        .filter(|r| INSTALLED_STATES.contains(&r[3].as_str()))
}

fn unqualified<'a>(name: &'a str, arch: &str) -> &'a str {
    name.strip_suffix(&format!(":{arch}")).unwrap_or(name)
}

fn dpkg_query_packages(rows: &[Vec<String>]) -> BTreeSet<Package> {
    installed_rows(rows)
        .map(|r| {
            (
                unqualified(&r[0], &r[2]).to_string(),
                r[1].clone(),
                r[2].clone(),
            )
        })
        .collect()
}

/// dpkg-query prints the summary as stored, trailing blanks included;
/// Rampart trims every value, so the reference is trimmed too.
fn dpkg_query_descriptions(rows: &[Vec<String>]) -> Descriptions {
    installed_rows(rows)
        .map(|r| {
            let key = (unqualified(&r[0], &r[2]).to_string(), r[2].clone());
            let fields = [4, 5, 6, 7].map(|i| r[i].trim().to_string());
            (key, fields)
        })
        .collect()
}

/// Asserts that Rampart's AWS:Application list for `root` is exactly the
/// installed packages dpkg-query reports for `root`'s dpkg database.
/// Returns dpkg-query's rows so callers can check the fixture was exercised.
fn assert_matches_dpkg_query(root: &Path) -> Vec<Vec<String>> {
    let rows = dpkg_query_rows(&root.join("var/lib/dpkg"));
    let inv = inventory(root);
    assert_same_packages(&inv, &rows);
    rows
}

fn assert_same_packages(inv: &Value, rows: &[Vec<String>]) {
    let expected = dpkg_query_packages(rows);
    let actual = rampart_packages(inv);
    assert_eq!(
        actual,
        expected,
        "AWS:Application differs from dpkg-query\nonly in rampart: {:?}\nonly in dpkg-query: {:?}",
        actual.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&actual).collect::<Vec<_>>()
    );
    assert_eq!(rampart_descriptions(inv), dpkg_query_descriptions(rows));
}

/// A sandbox whose root holds `status` as its dpkg database.
fn dpkg_root(status: &[u8]) -> Sandbox {
    let sb = Sandbox::new();
    let status_path = sb.host("/var/lib/dpkg/status");
    fs::create_dir_all(status_path.parent().unwrap()).unwrap();
    fs::write(&status_path, status).unwrap();
    sb
}

/// Base64 of the MD5 of the item's content serialized as compact JSON, in
/// the key order of the output, computed by Python rather than Rust.
fn reference_content_hash(content: &Value) -> String {
    const SCRIPT: &str = "import base64, hashlib, json, sys\n\
        content = json.loads(sys.stdin.buffer.read())\n\
        raw = json.dumps(content, separators=(',', ':'), ensure_ascii=False).encode('utf-8')\n\
        print(base64.b64encode(hashlib.md5(raw).digest()).decode())\n";
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed to compute the reference content hash");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(content.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 hash script failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn application_hash(inventory: &Value) -> String {
    field(item(inventory, "AWS:Application"), "ContentHash")
}

// ---------------------------------------------------------------------------
// AWS:Application against dpkg-query

#[test]
fn applications_match_dpkg_query_on_crafted_status() {
    if !tool_available("dpkg-query") {
        return;
    }
    let sb = dpkg_root(STATUS_FIXTURE.as_bytes());
    let rows = assert_matches_dpkg_query(&sb.root());

    // The reference must have seen every case the fixture claims to cover.
    let states: BTreeSet<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    for state in [
        "installed",
        "config-files",
        "half-installed",
        "unpacked",
        "half-configured",
        "triggers-pending",
        "triggers-awaited",
    ] {
        assert!(
            states.contains(state),
            "fixture lost state {state}: {states:?}"
        );
    }
    let names: BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert!(names.contains("libmulti1:amd64") && names.contains("libmulti1:i386"));
    assert!(!names.contains("not-a-package"));

    // One item per architecture for the Multi-Arch: same package.
    let inv = inventory(&sb.root());
    let multi: Vec<String> = rampart_packages(&inv)
        .into_iter()
        .filter(|p| p.0 == "libmulti1")
        .map(|p| p.2)
        .collect();
    assert_eq!(multi, ["amd64", "i386"]);
}

#[test]
fn applications_match_dpkg_query_on_this_host() {
    if !tool_available("dpkg-query") || !Path::new("/var/lib/dpkg/status").is_file() {
        eprintln!("skipping: this host has no dpkg database");
        return;
    }
    // The host's database can change under the test (apt running elsewhere):
    // compare only two reads of one and the same status file.
    let status = Path::new("/var/lib/dpkg/status");
    for _ in 0..3 {
        let before = fs::read(status).unwrap();
        let rows = dpkg_query_rows(Path::new("/var/lib/dpkg"));
        let inv = inventory(Path::new("/"));
        if fs::read(status).unwrap() != before {
            continue;
        }
        assert_same_packages(&inv, &rows);
        assert!(
            !dpkg_query_packages(&rows).is_empty(),
            "no installed packages on this host?"
        );
        return;
    }
    panic!("{} kept changing during the test", status.display());
}

/// Regression: a status file with a Latin-1 byte (a maintainer name from an
/// old or locally built package) made the whole inventory fail with "stream
/// did not contain valid UTF-8"; dpkg reads such files.
#[test]
fn status_file_with_latin1_bytes_is_inventoried() {
    if !tool_available("dpkg-query") {
        return;
    }
    let mut status = STATUS_FIXTURE.as_bytes().to_vec();
    status.extend_from_slice(
        b"\nPackage: legacy\nStatus: install ok installed\nSection: misc\n\
          Maintainer: Jos\xe9 Mar\xeda <jm@example.org>\nArchitecture: all\n\
          Version: 0.1\nDescription: caf\xe9 au lait\n",
    );
    let sb = dpkg_root(&status);
    assert_matches_dpkg_query(&sb.root());
}

/// Regression: a line of blanks inside a field value ended the paragraph, so
/// the fields after it were lost (here the package's Status and Version).
/// dpkg treats it as a continuation line and only warns.
#[test]
fn blank_line_inside_a_field_does_not_end_the_paragraph() {
    if !tool_available("dpkg-query") {
        return;
    }
    let status = "\
Package: spacey
Maintainer: A Maintainer <a@example.org>
Section: misc
Description: summary line
 first paragraph
 \t
 second paragraph
Status: install ok installed
Architecture: amd64
Version: 5.0-1
Homepage: https://spacey.example.org
";
    let sb = dpkg_root(status.as_bytes());
    let rows = assert_matches_dpkg_query(&sb.root());
    assert_eq!(dpkg_query_packages(&rows).len(), 1);
}

/// Regression: field names are case-insensitive (deb822(5)) and dpkg reads
/// `package:`; Rampart dropped such paragraphs.
#[test]
fn lowercase_field_names_are_read() {
    if !tool_available("dpkg-query") {
        return;
    }
    let status = "\
package: lower
status: install ok installed
maintainer: A Maintainer <a@example.org>
SECTION: misc
architecture: all
VERSION: 2.1
description: lower-case fields
";
    let sb = dpkg_root(status.as_bytes());
    let rows = assert_matches_dpkg_query(&sb.root());
    assert_eq!(dpkg_query_packages(&rows).len(), 1);
}

#[test]
fn root_without_a_package_database_reports_no_applications() {
    let sb = Sandbox::new();
    let inv = inventory(&sb.root());
    let application = item(&inv, "AWS:Application");
    assert_eq!(application["Content"], serde_json::json!([]));
    assert_eq!(
        field(application, "ContentHash"),
        reference_content_hash(&application["Content"])
    );
}

// ---------------------------------------------------------------------------
// Content hash

#[test]
fn content_hash_is_base64_md5_of_the_content_json() {
    let sb = dpkg_root(STATUS_FIXTURE.as_bytes());
    let inv = inventory(&sb.root());
    for it in inv["Items"].as_array().unwrap() {
        assert_eq!(
            field(it, "ContentHash"),
            reference_content_hash(&it["Content"]),
            "ContentHash of {}",
            it["TypeName"]
        );
    }
}

#[test]
fn content_hash_changes_with_content_and_only_with_content() {
    let first = inventory(&dpkg_root(STATUS_FIXTURE.as_bytes()).root());

    // Same database again, and one that differs only in a package that is
    // not installed: the content, and so the hash, is identical.
    let again = inventory(&dpkg_root(STATUS_FIXTURE.as_bytes()).root());
    let extra_removed = format!(
        "{STATUS_FIXTURE}\nPackage: old-tool\nStatus: deinstall ok config-files\n\
         Architecture: amd64\nVersion: 0.5\nDescription: removed\n"
    );
    let with_removed = inventory(&dpkg_root(extra_removed.as_bytes()).root());
    assert_eq!(application_hash(&again), application_hash(&first));
    assert_eq!(application_hash(&with_removed), application_hash(&first));

    // One version bumped: a different hash, still the MD5 of the new content.
    let bumped = STATUS_FIXTURE.replace("Version: 1.2\n", "Version: 1.3\n");
    assert_ne!(bumped, STATUS_FIXTURE);
    let changed = inventory(&dpkg_root(bumped.as_bytes()).root());
    let changed_app = item(&changed, "AWS:Application");
    assert_ne!(application_hash(&changed), application_hash(&first));
    assert_eq!(
        field(changed_app, "ContentHash"),
        reference_content_hash(&changed_app["Content"])
    );
}

// ---------------------------------------------------------------------------
// Host facts

#[test]
fn platform_name_and_version_come_from_the_roots_os_release() {
    let sb = Sandbox::new();
    sb.put(
        "/etc/os-release",
        "PRETTY_NAME=\"Rampart Test Linux 7.3 (Sentry)\"\nNAME=\"Rampart Test Linux\"\n\
         VERSION_ID=\"7.3\"\nID=rampart-test\n",
    );
    let inv = inventory(&sb.root());
    let info = single_entry(&inv, "AWS:InstanceInformation");
    assert_eq!(field(info, "PlatformName"), "Rampart Test Linux");
    assert_eq!(field(info, "PlatformVersion"), "7.3");
    assert_eq!(field(info, "PlatformType"), "Linux");
    assert_eq!(info["InstanceId"], inv["InstanceId"]);
}

/// os-release(5): without /etc/os-release, /usr/lib/os-release is read.
#[test]
fn os_release_falls_back_to_usr_lib() {
    let sb = Sandbox::new();
    sb.put(
        "/usr/lib/os-release",
        "NAME='Image Linux'\nVERSION_ID=2023\n",
    );
    let inv = inventory(&sb.root());
    let info = single_entry(&inv, "AWS:InstanceInformation");
    assert_eq!(field(info, "PlatformName"), "Image Linux");
    assert_eq!(field(info, "PlatformVersion"), "2023");
}

#[test]
fn kernel_version_and_cpu_count_match_the_running_host() {
    let uname = Command::new("uname").arg("-r").output().unwrap();
    let kernel = String::from_utf8(uname.stdout).unwrap().trim().to_string();
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap();
    let processors = cpuinfo
        .lines()
        .filter(|l| l.split(':').next().unwrap().trim() == "processor")
        .count();

    let sb = Sandbox::new();
    let inv = inventory(&sb.root());
    let detail = single_entry(&inv, "AWS:InstanceDetailedInformation");
    assert_eq!(field(detail, "KernelVersion"), kernel);
    assert_eq!(field(detail, "CPUs"), processors.to_string());
}

// ---------------------------------------------------------------------------
// PutInventory shape

/// Patterns and limits from the InventoryItem page of the SSM API reference.
#[test]
fn every_item_fits_the_put_inventory_limits() {
    let type_name = Regex::new(r"^(AWS|Custom):.*$").unwrap();
    let schema = Regex::new(r"^([0-9]{1,6})(\.[0-9]{1,6})$").unwrap();
    let capture_time = Regex::new(
        r"^(20)[0-9][0-9]-(0[1-9]|1[012])-([12][0-9]|3[01]|0[1-9])(T)(2[0-3]|[0-1][0-9])(:[0-5][0-9])(:[0-5][0-9])(Z)$",
    )
    .unwrap();

    let inv = inventory(Path::new("/"));
    assert!(inv["InstanceId"].as_str().is_some_and(|id| !id.is_empty()));
    let items = inv["Items"].as_array().unwrap();
    let names: BTreeSet<&str> = items
        .iter()
        .map(|i| i["TypeName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "AWS:Application",
            "AWS:InstanceDetailedInformation",
            "AWS:InstanceInformation",
            "AWS:Network",
        ])
    );
    for it in items {
        let name = field(it, "TypeName");
        assert!(
            type_name.is_match(&name) && name.len() <= 100,
            "TypeName {name}"
        );
        assert!(
            schema.is_match(&field(it, "SchemaVersion")),
            "{name} SchemaVersion"
        );
        assert!(
            capture_time.is_match(&field(it, "CaptureTime")),
            "{name} CaptureTime"
        );
        assert!(field(it, "ContentHash").len() <= 256);
        let content = it["Content"].as_array().unwrap();
        assert!(content.len() <= 10_000, "{name}: too many entries");
        for entry in content {
            let entry = entry.as_object().unwrap();
            assert!(entry.len() <= 50, "{name}: too many fields");
            for (key, value) in entry {
                assert!((1..=64).contains(&key.chars().count()), "{name}: key {key}");
                let value = value
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}.{key} not a string"));
                assert!(value.chars().count() <= 4096, "{name}.{key} too long");
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Bad input

#[test]
fn missing_root_exits_2_naming_the_path() {
    let sb = Sandbox::new();
    let missing = sb.dir.path().join("no-such-root");
    let out = run_inventory(&missing);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&missing.display().to_string()),
        "stderr does not name the path: {stderr}"
    );
}

#[test]
fn root_that_is_a_file_exits_2_naming_the_path() {
    let sb = Sandbox::new();
    let file = sb.doc("not-a-dir", "");
    let out = run_inventory(&file);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not-a-dir"),
        "stderr does not name the path: {stderr}"
    );
    assert!(stderr.contains("not a directory"), "{stderr}");
}
