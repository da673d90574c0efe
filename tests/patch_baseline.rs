//! `rampart:patchBaseline` against a throw-away dpkg root served by two
//! local apt repositories: a security archive (a Release file labelled as
//! Debian's) and an ordinary one. The expected approvals follow from how
//! the packages were built (their Priority, Section and archive) and Patch
//! Manager's documented rules; every outcome is read back with `dpkg-query`.
mod common;

use common::debs::{
    apt_update, dpkg_install, dpkg_root, installed_version, local_repository, use_repositories, Deb,
};
use common::{baseline_doc, only_row, patch, Sandbox};
use serde_json::Value;

const SECURITY_RELEASE: &str = "Origin: Debian\nLabel: Debian-Security\nSuite: stable-security\n\
                                Codename: bookworm-security\n";

/// A package at `version` with Debian's Priority and Section fields.
fn deb<'a>(name: &'a str, version: &'a str, priority: &'a str, section: &'a str) -> Deb<'a> {
    let mut d = Deb::new(name, version);
    d.fields = vec![("Priority", priority), ("Section", section)];
    d
}

/// Installed: smbfake 1.0-1, tzfake 1.0-1, libfake 1.0-1, quietfake 1.0-1.
/// Offered: smbfake 1.0-2 (important, net) from the security archive;
/// tzfake 1.1-1 (optional, localization) and libfake 1.1-1 (standard,
/// non-free/libs) from the ordinary one; quietfake has no update.
fn host() -> Sandbox {
    let sb = dpkg_root();
    let old = sb.dir.path().join("installed");
    let installed: Vec<_> = [
        deb("smbfake", "1.0-1", "important", "net"),
        deb("tzfake", "1.0-1", "optional", "localization"),
        deb("libfake", "1.0-1", "standard", "non-free/libs"),
        deb("quietfake", "1.0-1", "optional", "misc"),
    ]
    .iter()
    .map(|d| d.build(&old))
    .collect();
    dpkg_install(
        &sb,
        &installed.iter().map(|p| p.as_path()).collect::<Vec<_>>(),
    );
    let security = local_repository(
        &sb,
        "security",
        &[deb("smbfake", "1.0-2", "important", "net")],
        Some(SECURITY_RELEASE),
    );
    let main = local_repository(
        &sb,
        "main",
        &[
            deb("tzfake", "1.1-1", "optional", "localization"),
            deb("libfake", "1.1-1", "standard", "non-free/libs"),
            deb("quietfake", "1.0-1", "optional", "misc"),
        ],
        None,
    );
    use_repositories(&sb, &[security, main]);
    sb
}

fn versions(sb: &Sandbox) -> Vec<Option<String>> {
    ["smbfake", "tzfake", "libfake", "quietfake"]
        .iter()
        .map(|n| installed_version(sb, n))
        .collect()
}

fn all_old() -> Vec<Option<String>> {
    vec![Some("1.0-1".to_string()); 4]
}

#[test]
fn check_reports_the_missing_security_update_per_package_and_changes_nothing() {
    let sb = host();
    apt_update(&sb);
    let doc = baseline_doc(&sb, "{operation: Install, securityOnly: true}");

    let before = walk(&sb.root());
    let (code, record, _) = sb.run_json("check", &doc, &[]);

    assert_eq!(walk(&sb.root()), before, "check mode wrote into the root");
    assert_eq!(code, 1, "{record:#}");
    let smb = patch(&record, "smbfake");
    assert_eq!(smb["compliance"], "NonCompliant", "{smb:#}");
    let detail = smb["detail"].as_str().unwrap();
    assert!(
        detail.contains("installed 1.0-1, update 1.0-2 (priority important, section net, from Debian-Security:stable-security)"),
        "{detail}"
    );
    assert!(detail.contains("package lists of"), "{detail}");
    for name in ["tzfake", "libfake"] {
        let r = patch(&record, name);
        assert_eq!(r["compliance"], "Skipped", "{r:#}");
        assert!(r["detail"]
            .as_str()
            .unwrap()
            .ends_with("not approved by the baseline"));
    }
    // No update, nothing to report.
    assert!(record["resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["id"] != "quietfake"));
    assert_eq!(versions(&sb), all_old(), "check mode installed something");
}

#[test]
fn install_takes_approved_priorities_and_leaves_rejected_and_unapproved() {
    let sb = host();
    let doc = baseline_doc(
        &sb,
        "{operation: Install, priorities: [Important, Standard], rejectedPatches: [libfake], \
         rebootOption: NoReboot}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    let smb = patch(&record, "smbfake");
    assert_eq!(smb["compliance"], "Compliant", "{smb:#}");
    assert_eq!(smb["changed"], true);
    assert!(smb["detail"]
        .as_str()
        .unwrap()
        .starts_with("upgraded 1.0-1 to 1.0-2"));
    assert_eq!(patch(&record, "libfake")["compliance"], "Skipped");
    assert!(patch(&record, "libfake")["detail"]
        .as_str()
        .unwrap()
        .ends_with("rejected by rejectedPatches"));
    assert_eq!(patch(&record, "tzfake")["compliance"], "Skipped");
    assert_eq!(
        versions(&sb),
        vec![
            Some("1.0-2".into()),
            Some("1.0-1".into()),
            Some("1.0-1".into()),
            Some("1.0-1".into())
        ]
    );
}

#[test]
fn minimum_versions_are_installed_whatever_the_rules_and_an_unmet_one_fails() {
    let sb = host();
    let doc = baseline_doc(
        &sb,
        "{operation: Install, securityOnly: true, rebootOption: NoReboot, \
         minimumVersions: {tzfake: '1.1', quietfake: '1.0', ghostfake: '3.0'}}",
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    // tzfake is no security update, but 1.0-1 is below its minimum 1.1.
    let tz = patch(&record, "tzfake");
    assert_eq!(tz["compliance"], "Compliant", "{tz:#}");
    assert!(tz["detail"]
        .as_str()
        .unwrap()
        .contains("older than minimum 1.1"));
    assert_eq!(patch(&record, "quietfake")["compliance"], "Compliant");
    assert_eq!(patch(&record, "ghostfake")["compliance"], "Skipped");
    assert_eq!(patch(&record, "ghostfake")["detail"], "not installed");
    assert_eq!(patch(&record, "libfake")["compliance"], "Skipped");
    assert_eq!(installed_version(&sb, "tzfake").as_deref(), Some("1.1-1"));
    assert_eq!(installed_version(&sb, "smbfake").as_deref(), Some("1.0-2"));
    assert_eq!(installed_version(&sb, "libfake").as_deref(), Some("1.0-1"));

    // No repository offers libfake 2.0: the step fails naming both
    // versions, and nothing else is installed by that run either.
    let sb = host();
    let doc = baseline_doc(
        &sb,
        "{operation: Install, approvedPatches: [], minimumVersions: {libfake: '2.0'}, \
         sections: [nothing-matches]}",
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    let lib = patch(&record, "libfake");
    assert_eq!(lib["compliance"], "Failed", "{lib:#}");
    assert!(
        lib["detail"]
            .as_str()
            .unwrap()
            .contains("older than minimum 2.0, and apt's candidate (after pins) is only 1.1-1"),
        "{lib:#}"
    );
    assert_eq!(versions(&sb), all_old());
}

#[test]
fn a_pending_reboot_after_install_is_success_and_reboot_unless_no_reboot() {
    let sb = host();
    // A package asked for a reboot (Debian's update-notifier convention).
    sb.put("/run/reboot-required", "*** System restart required ***\n");
    let doc = baseline_doc(&sb, "{operation: Install, securityOnly: true}");

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    // Exit 3: a step requested a reboot (docs/cli.md); SSM's status for it.
    assert_eq!(code, 3, "{record:#}");
    assert_eq!(record["status"], "SuccessAndReboot", "{record:#}");
    assert_eq!(record["steps"][0]["exitCode"], 194);
    assert_eq!(record["reboot"]["requestedBy"], "patch");
    assert_eq!(installed_version(&sb, "smbfake").as_deref(), Some("1.0-2"));

    let doc = baseline_doc(
        &sb,
        "{operation: Install, securityOnly: true, rebootOption: NoReboot}",
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(record["status"], "Success");
    assert!(record["steps"][0]["output"]
        .as_str()
        .unwrap()
        .contains("reboot required (/run/reboot-required exists)"));
}

#[test]
fn approve_after_days_is_refused_on_debian_as_patch_manager_does() {
    let sb = host();
    let doc = baseline_doc(&sb, "{operation: Scan, approveAfterDays: 7}");
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    let r = patch(&record, "baseline");
    assert_eq!(r["compliance"], "Failed");
    assert!(r["detail"]
        .as_str()
        .unwrap()
        .starts_with("approveAfterDays is not supported on Debian and Ubuntu"));
    assert_eq!(versions(&sb), all_old());
}

#[test]
fn the_shipped_document_scans_by_name_with_typed_parameters() {
    let sb = host();
    apt_update(&sb);
    let out = sb
        .rampart("check", std::path::Path::new("Rampart-PatchBaseline"))
        .args(["--json", "--param", "Operation=Install"])
        .args(["--param", r#"MinimumVersions={"tzfake":"1.1"}"#])
        .output()
        .unwrap();
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{record:#}");
    // SecurityOnly defaults to true: the security update and the minimum
    // are missing, the ordinary update is not approved.
    assert_eq!(patch(&record, "smbfake")["compliance"], "NonCompliant");
    assert_eq!(patch(&record, "tzfake")["compliance"], "NonCompliant");
    assert_eq!(patch(&record, "libfake")["compliance"], "Skipped");
    assert_eq!(versions(&sb), all_old());
}

#[test]
fn an_update_that_would_remove_a_package_is_refused_and_nothing_is_removed() {
    // Regression: -y let apt remove a conflicting package and the run
    // reported only the upgrade.
    let sb = dpkg_root();
    let old = sb.dir.path().join("installed");
    let a = deb("smbfake", "1.0-1", "important", "net").build(&old);
    let b = deb("victim", "1.0-1", "optional", "misc").build(&old);
    dpkg_install(&sb, &[&a, &b]);
    let mut conflicting = deb("smbfake", "1.0-2", "important", "net");
    conflicting.fields.push(("Conflicts", "victim"));
    let security = local_repository(&sb, "security", &[conflicting], Some(SECURITY_RELEASE));
    use_repositories(&sb, &[security]);
    let doc = baseline_doc(
        &sb,
        "{operation: Install, securityOnly: true, rebootOption: NoReboot}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let smb = patch(&record, "smbfake");
    assert_eq!(smb["compliance"], "Failed", "{smb:#}");
    assert!(
        smb["detail"]
            .as_str()
            .unwrap()
            .contains("still 1.0-1, want 1.0-2: the apt-get run failed:"),
        "{smb:#}"
    );
    assert_eq!(installed_version(&sb, "victim").as_deref(), Some("1.0-1"));
    assert_eq!(installed_version(&sb, "smbfake").as_deref(), Some("1.0-1"));
}

#[test]
fn a_dependency_upgraded_by_an_update_is_reported_even_when_rejected() {
    // Patch Manager's default lets a rejected package in as a dependency;
    // the record must say it changed (regression: it said "rejected").
    let sb = dpkg_root();
    let old = sb.dir.path().join("installed");
    let a = deb("smbfake", "1.0-1", "important", "net").build(&old);
    let b = deb("deplib", "1.0-1", "optional", "libs").build(&old);
    dpkg_install(&sb, &[&a, &b]);
    let mut needs = deb("smbfake", "1.0-2", "important", "net");
    needs.fields.push(("Depends", "deplib (>= 1.1)"));
    let security = local_repository(
        &sb,
        "security",
        &[needs, deb("deplib", "1.1-1", "optional", "libs")],
        Some(SECURITY_RELEASE),
    );
    use_repositories(&sb, &[security]);
    let doc = baseline_doc(
        &sb,
        "{operation: Install, priorities: [important], rejectedPatches: [deplib], \
         rebootOption: NoReboot}",
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    assert_eq!(installed_version(&sb, "deplib").as_deref(), Some("1.1-1"));
    // One row, the change, keeping the reason it was not itself approved.
    let dep = only_row(&record, "patch", "deplib");
    assert_eq!(dep["changed"], true);
    let d = dep["detail"].as_str().unwrap();
    assert!(
        d.starts_with("upgraded 1.0-1 to 1.1-1 by the update run"),
        "{d}"
    );
    assert!(
        d.contains("before the run: installed 1.0-1, update 1.1-1"),
        "{d}"
    );
    assert!(d.contains("rejected by rejectedPatches"), "{d}");
}

#[test]
fn a_held_update_is_reported_as_kept_back_not_as_no_update() {
    let sb = host();
    let mut hold = std::process::Command::new("dpkg")
        .arg(format!("--root={}", sb.root().display()))
        .arg("--set-selections")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(hold.stdin.as_mut().unwrap(), b"smbfake hold\n").unwrap();
    assert!(hold.wait().unwrap().success());
    apt_update(&sb);
    let doc = baseline_doc(&sb, "{operation: Install, securityOnly: true}");

    let (code, record, _) = sb.run_json("check", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let smb = patch(&record, "smbfake");
    assert_eq!(smb["compliance"], "NonCompliant", "{smb:#}");
    assert!(
        smb["detail"]
            .as_str()
            .unwrap()
            .contains("apt keeps it back"),
        "{smb:#}"
    );
}

#[test]
fn a_check_without_package_lists_fails_instead_of_calling_the_host_patched() {
    let sb = host(); // sources configured, lists never fetched
    let doc = baseline_doc(&sb, "{operation: Scan}");
    let before = walk(&sb.root());

    let (code, record, _) = sb.run_json("check", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let r = patch(&record, "baseline");
    assert_eq!(r["compliance"], "Failed", "{r:#}");
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("run apt-get update first"),
        "{r:#}"
    );
    assert_eq!(walk(&sb.root()), before, "check mode wrote into the root");
}

/// Every path under `dir` with its size and modification time.
fn walk(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = e.metadata().unwrap();
            if m.is_dir() {
                todo.push(e.path());
            }
            out.push((e.path(), m.len(), m.modified().unwrap()));
        }
    }
    out.sort();
    out
}
