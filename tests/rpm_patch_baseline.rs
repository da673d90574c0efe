//! `rampart:patchBaseline` on a throw-away rpm root served by a local dnf
//! repository with advisories (`updateinfo.xml`, as Red Hat and Amazon
//! Linux publish it). The expected approvals follow from how the
//! advisories were written and Patch Manager's rules for RHEL-like systems
//! (classification, severity, approve-after-days from the release date);
//! every outcome is read back with `rpm -q`, and the reference for "what
//! is on offer" is the real `dnf`.
mod common;

use std::process::Command;

use chrono::{Duration, Utc};
use common::rpms::{
    add_advisories, build_rpm, build_rpm_with, dnf_repository, rpm_install, rpm_query, rpm_root,
    Advisory,
};
use common::{baseline_doc, only_row, patch, Sandbox};
use serde_json::Value;

/// A date `days` ago, as updateinfo writes it.
fn days_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The packages of [`host`], all installed at 1.0-1.
const PACKAGES: [&str; 6] = [
    "telnet-server",
    "vim-fake",
    "kernel-core",
    "plain-fake",
    "quiet-fake",
    "sudo-fake",
];

/// Installed: [`PACKAGES`] at 1.0-1. Offered: telnet-server 1.1-1
/// (RHSA-2026:0001, security, Important, 30 days old) and 1.2-1 (no
/// advisory, built now); vim-fake 1.1-1 (RHBA-2026:0002, bugfix, 1 day
/// old); kernel-core 1.1-1 (RHSA-2026:0003, security, Critical, 2 days
/// old); plain-fake 1.1-1 with no advisory; sudo-fake 1.1-1
/// (RHSA-2026:0004, security, Moderate, 20 days old); quiet-fake has no
/// update.
fn host() -> Sandbox {
    let sb = rpm_root();
    let old = sb.dir.path().join("installed");
    let installed: Vec<_> = PACKAGES.iter().map(|n| build_rpm(&old, n, "1.0")).collect();
    rpm_install(
        &sb,
        &installed.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
    );
    let repo = sb.dir.path().join("repo");
    for (name, version) in [
        ("telnet-server", "1.1"),
        ("telnet-server", "1.2"),
        ("vim-fake", "1.1"),
        ("kernel-core", "1.1"),
        ("plain-fake", "1.1"),
        ("quiet-fake", "1.0"),
        ("sudo-fake", "1.1"),
    ] {
        build_rpm(&repo, name, version);
    }
    dnf_repository(&sb, &repo);
    add_advisories(
        &repo,
        &[
            security("RHSA-2026:0001", "Important", 30, "telnet-server"),
            Advisory {
                id: "RHBA-2026:0002",
                kind: "bugfix",
                severity: "",
                issued: days_ago(1),
                packages: vec![("vim-fake", "1.1", "noarch")],
            },
            security("RHSA-2026:0003", "Critical", 2, "kernel-core"),
            security("RHSA-2026:0004", "Moderate", 20, "sudo-fake"),
        ],
    );
    sb
}

/// A security advisory `days` old for `name` 1.1-1.
fn security<'a>(id: &'a str, severity: &'a str, days: i64, name: &'a str) -> Advisory<'a> {
    Advisory {
        id,
        kind: "security",
        severity,
        issued: days_ago(days),
        packages: vec![(name, "1.1", "noarch")],
    }
}

/// Fills the root's dnf metadata cache with the real dnf, as a host's
/// `dnf makecache` timer does.
fn makecache(sb: &Sandbox) {
    let out = Command::new("dnf")
        .arg("-q")
        .arg(format!("--installroot={}", sb.root().display()))
        .arg("makecache")
        .output()
        .unwrap();
    assert!(out.status.success(), "dnf makecache: {out:?}");
}

fn detail<'a>(record: &'a Value, name: &str) -> &'a str {
    patch(record, name)["detail"].as_str().unwrap()
}

/// The packages of [`PACKAGES`] that `rpm -q` no longer reports at
/// 1.0-1, with what it reports.
fn upgraded(sb: &Sandbox) -> Vec<(&'static str, Option<String>)> {
    PACKAGES
        .iter()
        .map(|n| (*n, rpm_query(sb, n)))
        .filter(|(_, v)| v.as_deref() != Some("1.0-1"))
        .collect()
}

fn at(name: &'static str, version: &str) -> (&'static str, Option<String>) {
    (name, Some(version.to_string()))
}

#[test]
fn check_needs_a_metadata_cache_then_reports_security_updates_by_advisory() {
    let sb = host();
    let doc = baseline_doc(&sb, "{classifications: [Security]}");

    // Check mode downloads nothing: with no cache it says what to do.
    let (code, record, _) = sb.run_json("check", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    assert_eq!(patch(&record, "baseline")["compliance"], "Failed");
    assert!(
        detail(&record, "baseline").contains("run 'dnf makecache' first"),
        "{record:#}"
    );

    makecache(&sb);
    let (code, record, _) = sb.run_json("check", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    let telnet = patch(&record, "telnet-server");
    assert_eq!(telnet["compliance"], "NonCompliant", "{telnet:#}");
    // dnf offers the newest version; the advisory of 1.1 covers it.
    let d = detail(&record, "telnet-server");
    assert!(d.contains("installed 1.0-1, update 1.2-1"), "{d}");
    assert!(d.contains("RHSA-2026:0001 security Important"), "{d}");
    assert!(d.contains("repository metadata of"), "{d}");
    assert_eq!(patch(&record, "kernel-core")["compliance"], "NonCompliant");
    // Bugfix and unadvised updates do not match the Security filter.
    assert_eq!(patch(&record, "vim-fake")["compliance"], "Skipped");
    assert!(detail(&record, "vim-fake").contains("RHBA-2026:0002 bugfix"));
    assert_eq!(patch(&record, "plain-fake")["compliance"], "Skipped");
    assert!(detail(&record, "plain-fake").contains("no advisory"));
    assert!(
        record["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != "quiet-fake"),
        "{record:#}"
    );
    assert_eq!(upgraded(&sb), vec![], "check installed nothing");
}

#[test]
fn install_by_severity_updates_the_kernel_and_asks_for_a_reboot() {
    let sb = host();
    let doc = baseline_doc(
        &sb,
        "{operation: Install, classifications: [Security], severities: [Critical]}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    // Exit 3: a step requested a reboot (docs/cli.md); SSM's exit 194.
    assert_eq!(code, 3, "{record:#}");
    assert_eq!(record["steps"][0]["exitCode"], 194, "{record:#}");
    assert_eq!(record["reboot"]["requestedBy"], "patch");
    let kernel = patch(&record, "kernel-core");
    assert_eq!(kernel["compliance"], "Compliant", "{kernel:#}");
    assert_eq!(kernel["changed"], true);
    assert!(detail(&record, "kernel-core").contains("upgraded 1.0-1 to 1.1-1"));
    assert!(
        record["steps"][0]["output"]
            .as_str()
            .unwrap()
            .contains("reboot required (this run updated kernel-core)"),
        "{record:#}"
    );
    // Important and Moderate are not Critical.
    assert_eq!(patch(&record, "telnet-server")["compliance"], "Skipped");
    assert_eq!(patch(&record, "sudo-fake")["compliance"], "Skipped");
    assert_eq!(upgraded(&sb), vec![at("kernel-core", "1.1-1")]);
}

#[test]
fn approve_after_days_waits_from_the_candidates_own_date() {
    let sb = host();
    let doc = baseline_doc(
        &sb,
        "{operation: Install, approveAfterDays: 7, rebootOption: NoReboot}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    // Its advisory is 20 days old: approved.
    let sudo = patch(&record, "sudo-fake");
    assert_eq!(sudo["compliance"], "Compliant", "{sudo:#}");
    assert!(detail(&record, "sudo-fake").contains("upgraded 1.0-1 to 1.1-1"));
    // 2 and 1 days old: not yet.
    for name in ["kernel-core", "vim-fake"] {
        assert_eq!(patch(&record, name)["compliance"], "Skipped", "{record:#}");
        assert!(
            detail(&record, name).contains("(advisory date), approved after 7 days, from"),
            "{record:#}"
        );
    }
    // No advisory: its build time (just now) is its release date. The
    // newest telnet-server has none either: the 30-day-old advisory of
    // 1.1-1 does not date 1.2-1, built today.
    for name in ["plain-fake", "telnet-server"] {
        assert!(
            detail(&record, name).contains("(build date), approved after 7 days"),
            "{record:#}"
        );
    }
    assert_eq!(upgraded(&sb), vec![at("sudo-fake", "1.1-1")]);
}

#[test]
fn minimum_versions_and_rejections_win_over_the_rules() {
    let sb = host();
    let doc = baseline_doc(
        &sb,
        "{operation: Install, securityOnly: true, rebootOption: NoReboot, \
         rejectedPatches: [telnet-server], \
         minimumVersions: {vim-fake: '1.1-1', quiet-fake: '2.0'}}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    assert!(detail(&record, "telnet-server").contains("rejected by rejectedPatches"));
    // A bugfix, installed because of its minimum.
    assert!(
        detail(&record, "vim-fake").contains("upgraded 1.0-1 to 1.1-1"),
        "{record:#}"
    );
    assert_eq!(patch(&record, "kernel-core")["compliance"], "Compliant");
    let quiet = patch(&record, "quiet-fake");
    assert_eq!(quiet["compliance"], "Failed", "{quiet:#}");
    assert!(
        detail(&record, "quiet-fake")
            .contains("installed 1.0-1 is older than minimum 2.0, and dnf offers no update"),
        "{record:#}"
    );
    assert_eq!(
        upgraded(&sb),
        vec![
            at("vim-fake", "1.1-1"),
            at("kernel-core", "1.1-1"),
            at("sudo-fake", "1.1-1")
        ]
    );
}

#[test]
fn debian_filters_on_an_rpm_root_fail_before_anything_runs() {
    let sb = host();
    let doc = baseline_doc(&sb, "{operation: Install, priorities: [important]}");

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    assert!(
        detail(&record, "baseline").contains("priorities and sections are Debian package fields"),
        "{record:#}"
    );
    assert_eq!(upgraded(&sb), vec![]);
    assert!(
        !sb.host("/var/cache/dnf").exists(),
        "not even the metadata was fetched"
    );
}

#[test]
fn the_shipped_document_takes_rpm_classifications() {
    let sb = host();
    let (code, record, _) = sb.run_json(
        "apply",
        std::path::Path::new("Rampart-PatchBaseline"),
        &[
            "--param",
            "Operation=Install",
            "--param",
            "SecurityOnly=false",
            "--param",
            "Classifications=Bugfix",
            "--param",
            "RebootOption=NoReboot",
        ],
    );
    assert_eq!(code, 0, "{record:#}");
    assert!(detail(&record, "vim-fake").contains("upgraded 1.0-1 to 1.1-1"));
    assert_eq!(upgraded(&sb), vec![at("vim-fake", "1.1-1")]);
}

#[test]
fn an_unreadable_repository_fails_the_step_rather_than_passing_for_patched() {
    let sb = host();
    // A second repository that is gone (a mirror down, a path typo).
    sb.put(
        "/etc/yum.repos.d/gone.repo",
        "[gone]\nname=gone\nbaseurl=file:///nonexistent/rampart-repo\ngpgcheck=0\nenabled=1\n",
    );
    let doc = baseline_doc(&sb, "{operation: Install, rebootOption: NoReboot}");

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let d = detail(&record, "baseline");
    assert!(
        d.contains("'dnf -y --setopt=skip_if_unavailable=False"),
        "{d}"
    );
    assert!(d.contains("gone"), "{d}");
    assert_eq!(upgraded(&sb), vec![], "nothing was installed");
}

#[test]
fn without_dnf_the_error_says_which_systems_are_covered() {
    let sb = host();
    // A host with rpm but no dnf, as Amazon Linux 2 (yum) or SUSE.
    let bin = sb.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/usr/bin/rpm", bin.join("rpm")).unwrap();
    let doc = baseline_doc(&sb, "{operation: Install}");

    let out = sb
        .rampart("apply", &doc)
        .arg("--json")
        .env("PATH", &bin)
        .output()
        .unwrap();

    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{record:#}");
    assert!(
        detail(&record, "baseline").contains("needs dnf (RHEL 8 and later"),
        "{record:#}"
    );
    assert_eq!(upgraded(&sb), vec![]);
}

#[test]
fn a_frontend_that_would_open_another_database_is_refused_not_read_as_empty() {
    // A RHEL root hardened from a Debian host: dnf's librpm would open
    // ROOT/root/.rpmdb, find nothing installed, and call the root patched.
    let sb = host();
    makecache(&sb);
    std::fs::remove_file(sb.host("/root/.rpmdb")).unwrap();
    let doc = baseline_doc(&sb, "{}");

    let (code, record, _) = sb.run_json("check", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let d = detail(&record, "baseline");
    assert!(d.contains("dnf would open the rpm database at"), "{d}");
    assert!(d.contains("/root/.rpmdb"), "{d}");
    assert!(
        !sb.host("/root/.rpmdb").exists(),
        "no empty database was made"
    );
}

#[test]
fn a_root_without_repositories_is_not_called_patched() {
    let sb = rpm_root();
    let p = build_rpm(&sb.dir.path().join("rpms"), "plain-fake", "1.0");
    rpm_install(&sb, &[&p]);
    std::fs::create_dir_all(sb.host("/root")).unwrap();
    std::os::unix::fs::symlink("../var/lib/rpm", sb.host("/root/.rpmdb")).unwrap();
    let doc = baseline_doc(&sb, "{}");

    let (code, record, _) = sb.run_json("check", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    assert!(
        detail(&record, "baseline").contains("run 'dnf makecache' first"),
        "{record:#}"
    );
    assert!(!sb.host("/var/cache/dnf").exists(), "check ran no dnf");

    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    assert!(
        detail(&record, "baseline").contains("the root has no enabled repository"),
        "{record:#}"
    );
}

#[test]
fn a_repository_file_dnf_cannot_parse_fails_the_step() {
    let sb = host();
    sb.put(
        "/etc/yum.repos.d/broken.repo",
        "[secrepo]\nname=sec\nbaseurl=file:///nonexistent\nthis line has no equals sign\n",
    );
    let doc = baseline_doc(&sb, "{operation: Install, rebootOption: NoReboot}");

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let d = detail(&record, "baseline");
    assert!(
        d.contains("dnf skipped a repository file it cannot read"),
        "{d}"
    );
    assert!(d.contains("broken.repo"), "{d}");
    assert_eq!(upgraded(&sb), vec![], "nothing was installed");
}

#[test]
fn a_dependency_dnf_updates_on_the_side_is_reported_as_changed_even_when_rejected() {
    // app 1.1 needs libdep 1.1; libdep is rejected, and Patch Manager's
    // default lets it in as a dependency: the record must say it changed,
    // in one row that keeps why it was not approved itself.
    let sb = rpm_root();
    let old = sb.dir.path().join("installed");
    let app = build_rpm(&old, "app", "1.0");
    let dep = build_rpm(&old, "libdep", "1.0");
    rpm_install(&sb, &[&app, &dep]);
    let repo = sb.dir.path().join("repo");
    build_rpm_with(&repo, "app", "1.1", "noarch", "Requires: libdep >= 1.1\n");
    build_rpm(&repo, "libdep", "1.1");
    dnf_repository(&sb, &repo);
    add_advisories(&repo, &[security("RHSA-2026:0009", "Important", 3, "app")]);
    let doc = baseline_doc(
        &sb,
        "{operation: Install, rejectedPatches: [libdep], rebootOption: NoReboot}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    assert_eq!(rpm_query(&sb, "app").as_deref(), Some("1.1-1"));
    assert_eq!(rpm_query(&sb, "libdep").as_deref(), Some("1.1-1"));
    let row = only_row(&record, "patch", "libdep");
    assert_eq!(row["changed"], true);
    let d = row["detail"].as_str().unwrap();
    assert!(
        d.starts_with("upgraded 1.0-1 to 1.1-1 by the update run"),
        "{d}"
    );
    assert!(d.contains("rejected by rejectedPatches"), "{d}");
}

#[test]
fn a_held_dnf_lock_is_waited_for_then_reported_with_its_holder() {
    // dnf's lock is a pid file naming a live process; dnf itself would
    // wait on it without a limit ("Waiting for process with pid N").
    let sb = host();
    let mut holder = Command::new("sleep").arg("30").spawn().unwrap();
    sb.put("/var/lib/dnf/rpmdb_lock.pid", &holder.id().to_string());
    let doc = baseline_doc(
        &sb,
        "{operation: Install, rebootOption: NoReboot, lockTimeoutSeconds: 1}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    let _ = holder.kill();
    let _ = holder.wait();

    assert_eq!(code, 1, "{record:#}");
    let d = detail(&record, "baseline");
    assert!(
        d.contains(&format!(
            "rpmdb_lock.pid is held by process {} (sleep)",
            holder.id()
        )),
        "{d}"
    );
    assert_eq!(upgraded(&sb), vec![], "nothing was installed");
}

#[test]
fn a_cache_left_by_repositories_since_disabled_is_no_repository() {
    let sb = host();
    makecache(&sb);
    let repo = sb.host("/etc/yum.repos.d/local.repo");
    let text = std::fs::read_to_string(&repo).unwrap();
    std::fs::write(&repo, text.replace("enabled=1", "enabled=0")).unwrap();
    let doc = baseline_doc(&sb, "{operation: Install}");

    for verb in ["check", "apply"] {
        let (code, record, _) = sb.run_json(verb, &doc, &[]);
        assert_eq!(code, 1, "{verb}: {record:#}");
        assert!(
            detail(&record, "baseline").contains("dnf has no enabled repository"),
            "{verb}: {record:#}"
        );
    }
    assert_eq!(upgraded(&sb), vec![]);
}

#[test]
fn a_held_dnf_lock_stops_a_check_after_the_timeout_too() {
    // A dnf query waits on the metadata lock as an install does.
    let sb = host();
    makecache(&sb);
    let mut holder = Command::new("sleep").arg("30").spawn().unwrap();
    sb.put("/var/cache/dnf/metadata_lock.pid", &holder.id().to_string());
    let doc = baseline_doc(&sb, "{lockTimeoutSeconds: 1}");

    let (code, record, _) = sb.run_json("check", &doc, &[]);
    let _ = holder.kill();
    let _ = holder.wait();

    assert_eq!(code, 1, "{record:#}");
    assert!(
        detail(&record, "baseline").contains("metadata_lock.pid is held by process"),
        "{record:#}"
    );
}

#[test]
fn list_entries_with_an_architecture_name_the_single_installed_instance() {
    // One architecture installed, so rows are plain names; `name.arch` in
    // the lists must still mean that package (docs/packages.md).
    let sb = host();
    let doc = baseline_doc(
        &sb,
        "{operation: Install, securityOnly: true, rebootOption: NoReboot, \
         rejectedPatches: [kernel-core.noarch], approvedPatches: ['plain-fake:noarch'], \
         minimumVersions: {vim-fake.noarch: '1.1-1'}}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    assert!(detail(&record, "kernel-core").contains("rejected by rejectedPatches"));
    assert!(
        record["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != "vim-fake.noarch"),
        "the minimum is the package's own row: {record:#}"
    );
    assert_eq!(
        upgraded(&sb),
        vec![
            at("telnet-server", "1.2-1"),
            at("vim-fake", "1.1-1"),
            at("plain-fake", "1.1-1"),
            at("sudo-fake", "1.1-1"),
        ]
    );
}
