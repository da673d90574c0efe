//! `rampart:package` enforcement on rpm roots, run by the real binary
//! against throw-away roots with a real rpm database.
//!
//! The packages are tiny noarch `.rpm` files built here with `rpmbuild`
//! (Debian's `rpm` package); the root's database is made with `rpm --initdb`
//! and filled with `rpm -i`; a repository is a folder indexed by
//! `createrepo_c` and reached through the real `dnf` (Debian's `dnf` and
//! `createrepo-c` packages). Every outcome is confirmed with `rpm -q` on that
//! database, never with Rampart's own reading of it.
mod common;

use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::rpms::{
    build_rpm, dnf_repository, rpm, rpm_install, rpm_query, rpm_root, zypper_repository,
};
use common::{detail, only_resource, package_doc};

const NAME: &str = "telnet-server";

#[test]
fn minimum_version_upgrades_and_exact_version_downgrades_from_package_files() {
    let sb = rpm_root();
    let files = sb.dir.path().join("rpms");
    let v1 = build_rpm(&files, NAME, "1.0");
    build_rpm(&files, NAME, "1.1");
    rpm_install(&sb, &[&v1]);

    let doc = package_doc(
        &sb,
        &format!(
            "{{names: {NAME}, minimumVersion: '1.1-1', sources: ['{}']}}",
            files.display()
        ),
    );
    let (code, record, _) = sb.run_json("check", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "NonCompliant", "{r:#}");
    assert!(
        detail(r).contains("1.0-1 (noarch) is older than 1.1-1"),
        "{r:#}"
    );
    assert_eq!(
        rpm_query(&sb, NAME).as_deref(),
        Some("1.0-1"),
        "check changed nothing"
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Compliant", "{r:#}");
    assert_eq!(r["changed"], true);
    assert!(detail(r).contains("rpm -U"), "{r:#}");
    assert_eq!(rpm_query(&sb, NAME).as_deref(), Some("1.1-1"));
    assert_eq!(
        fs::read_to_string(sb.host("/usr/share/fake/telnet-server")).unwrap(),
        "1.1\n"
    );

    // An exact older version is a downgrade, which rpm makes only when told.
    let doc = package_doc(
        &sb,
        &format!(
            "{{names: {NAME}, version: '1.0-1', sources: ['{}']}}",
            files.display()
        ),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    let r = only_resource(&record);
    assert!(detail(r).contains("rpm -U --oldpackage"), "{r:#}");
    assert_eq!(rpm_query(&sb, NAME).as_deref(), Some("1.0-1"));
}

#[test]
fn absent_erases_through_rpm() {
    let sb = rpm_root();
    let v1 = build_rpm(&sb.dir.path().join("rpms"), NAME, "1.0");
    rpm_install(&sb, &[&v1]);
    // manager: rpm, since with auto a host that has dnf (the test machines
    // do) removes through dnf.
    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, state: absent, manager: rpm}}"),
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Compliant", "{r:#}");
    assert_eq!(r["changed"], true);
    assert!(detail(r).contains("rpm -e telnet-server"), "{r:#}");
    assert_eq!(rpm_query(&sb, NAME), None);
    assert!(!sb.host("/usr/share/fake/telnet-server").exists());
}

#[test]
fn without_package_files_or_with_a_dpkg_manager_nothing_changes_and_the_error_says_why() {
    let sb = rpm_root();
    let v1 = build_rpm(&sb.dir.path().join("rpms"), NAME, "1.0");
    rpm_install(&sb, &[&v1]);

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, minimumVersion: '2.0-1', manager: rpm}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Failed", "{r:#}");
    assert!(
        detail(r).contains("rpm cannot fetch telnet-server: list package files in 'sources'"),
        "{r:#}"
    );

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, state: absent, manager: apt}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    assert!(
        detail(only_resource(&record)).contains("it has an rpm database"),
        "{record:#}"
    );
    assert_eq!(
        rpm_query(&sb, NAME).as_deref(),
        Some("1.0-1"),
        "nothing changed"
    );
}

#[test]
fn a_held_rpm_lock_is_waited_for_then_reported_with_its_holder() {
    let sb = rpm_root();
    let v1 = build_rpm(&sb.dir.path().join("rpms"), NAME, "1.0");
    rpm_install(&sb, &[&v1]);

    // Another process holds rpm's transaction lock the way rpm does (a
    // POSIX record lock, which Python's fcntl.lockf takes).
    let lock = sb.host("/var/lib/rpm/.rpm.lock");
    let ready = sb.dir.path().join("locked");
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import fcntl, time\nf = open('{}', 'a+')\nfcntl.lockf(f, fcntl.LOCK_EX)\n\
             open('{}', 'w').close()\ntime.sleep(30)\n",
            lock.display(),
            ready.display()
        ))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() {
        assert!(Instant::now() < deadline, "the lock holder never started");
        std::thread::sleep(Duration::from_millis(50));
    }

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, state: absent, manager: rpm, lockTimeoutSeconds: 1}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    let _ = holder.kill();
    let _ = holder.wait();

    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Failed", "{r:#}");
    assert!(
        detail(r).contains(&format!("is held by process {}", holder.id())),
        "{r:#}"
    );
    assert_eq!(
        rpm_query(&sb, NAME).as_deref(),
        Some("1.0-1"),
        "nothing changed"
    );
}

#[test]
fn a_version_without_release_means_every_release_as_rpm_reads_it() {
    let sb = rpm_root();
    let files = sb.dir.path().join("rpms");
    let v1 = build_rpm(&files, NAME, "1.0");
    rpm_install(&sb, &[&v1]);
    // `rpm -q telnet-server-1.0` finds 1.0-1: the same rule, from rpm itself.
    let q = rpm(&sb).args(["-q", "telnet-server-1.0"]).output().unwrap();
    assert!(q.status.success(), "{q:?}");

    let doc = package_doc(&sb, &format!("{{names: {NAME}, version: '1.0'}}"));
    let (code, record, _) = sb.run_json("check", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(only_resource(&record)["compliance"], "Compliant");
}

#[test]
fn a_file_that_is_no_rpm_is_refused_not_read_as_a_manifest() {
    // rpm -U reads any non-package file as a list of packages to install.
    let sb = rpm_root();
    let files = sb.dir.path().join("rpms");
    build_rpm(&files, NAME, "1.1");
    fs::write(files.join("zz-list.rpm"), "/tmp/elsewhere/evil.rpm\n").unwrap();
    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, sources: ['{}']}}", files.display()),
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record);
    assert!(
        detail(r).contains("zz-list.rpm is not a readable .rpm package: it does not start with an rpm package header"),
        "{r:#}"
    );
    assert_eq!(rpm_query(&sb, NAME), None, "nothing was installed");
}

#[test]
fn repositories_are_reached_through_dnf_for_minimum_exact_and_absent() {
    let sb = rpm_root();
    let files = sb.dir.path().join("repo");
    let v1 = build_rpm(&files, NAME, "1.0");
    build_rpm(&files, NAME, "1.1");
    rpm_install(&sb, &[&v1]);
    dnf_repository(&sb, &files);

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, minimumVersion: '1.1', manager: dnf}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(detail(only_resource(&record)), "dnf upgrade telnet-server");
    assert_eq!(rpm_query(&sb, NAME).as_deref(), Some("1.1-1"));

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, version: '1.0-1', manager: dnf}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(
        detail(only_resource(&record)),
        "dnf downgrade telnet-server-1.0-1"
    );
    assert_eq!(rpm_query(&sb, NAME).as_deref(), Some("1.0-1"));

    // With auto, a removal goes through the host's frontend.
    let doc = package_doc(&sb, &format!("{{names: {NAME}, state: absent}}"));
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(detail(only_resource(&record)), "dnf remove telnet-server");
    assert_eq!(rpm_query(&sb, NAME), None);
}

#[test]
fn repositories_are_reached_through_zypper_for_minimum_exact_and_absent() {
    let sb = rpm_root();
    let files = sb.dir.path().join("repo");
    let v1 = build_rpm(&files, NAME, "1.0");
    build_rpm(&files, NAME, "1.1");
    // zypper's solver cache fails on an rpm database left empty, which no
    // real system has: another package stays installed.
    let other = build_rpm(&sb.dir.path().join("other"), "keep-fake", "1.0");
    rpm_install(&sb, &[&v1, &other]);
    dnf_repository(&sb, &files);
    zypper_repository(&sb, &files);

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, minimumVersion: '1.1', manager: zypper}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(
        detail(only_resource(&record)),
        "zypper update telnet-server"
    );
    assert_eq!(rpm_query(&sb, NAME).as_deref(), Some("1.1-1"));

    // An exact older version: zypper has no downgrade command.
    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, version: '1.0-1', manager: zypper}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(
        detail(only_resource(&record)),
        "zypper install --oldpackage telnet-server=1.0-1"
    );
    assert_eq!(rpm_query(&sb, NAME).as_deref(), Some("1.0-1"));

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, state: absent, manager: zypper}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(
        detail(only_resource(&record)),
        "zypper remove telnet-server"
    );
    assert_eq!(rpm_query(&sb, NAME), None);
    assert_eq!(rpm_query(&sb, "keep-fake").as_deref(), Some("1.0-1"));
}
