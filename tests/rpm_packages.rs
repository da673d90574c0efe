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
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{detail, only_resource, package_doc, Sandbox};

const NAME: &str = "telnet-server";

/// `rpm` on the root's database at `/var/lib/rpm`, as on RHEL and Amazon
/// Linux (Debian's own rpm would otherwise use `~/.rpmdb`).
fn rpm(sb: &Sandbox) -> Command {
    let mut cmd = Command::new("rpm");
    cmd.arg("--root")
        .arg(sb.root())
        .args(["--dbpath", "/var/lib/rpm"]);
    cmd
}

/// A root with an empty rpm database.
fn rpm_root() -> Sandbox {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.host("/var/lib/rpm")).unwrap();
    let out = rpm(&sb).arg("--initdb").output().expect("rpm is installed");
    assert!(out.status.success(), "rpm --initdb: {out:?}");
    sb
}

/// Builds `NAME-VERSION-1.noarch.rpm` into `dir` with rpmbuild.
fn build_rpm(dir: &Path, version: &str) -> PathBuf {
    let top = tempfile::tempdir().unwrap();
    let spec = top.path().join("p.spec");
    fs::write(
        &spec,
        format!(
            "Name: {NAME}\nVersion: {version}\nRelease: 1\nSummary: fake package for Rampart's tests\n\
             License: MIT\nBuildArch: noarch\n%description\nfake\n%install\n\
             mkdir -p %{{buildroot}}/usr/share/fake\n\
             echo {version} > %{{buildroot}}/usr/share/fake/{NAME}\n\
             %files\n/usr/share/fake/{NAME}\n"
        ),
    )
    .unwrap();
    let out = Command::new("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.path().display()))
        .arg("--define")
        .arg(format!("_rpmdir {}", dir.display()))
        .arg("--define")
        .arg("_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm")
        .arg(&spec)
        .output()
        .expect("rpmbuild (Debian's rpm package) is installed");
    assert!(out.status.success(), "rpmbuild: {out:?}");
    dir.join(format!("{NAME}-{version}-1.noarch.rpm"))
}

fn rpm_install(sb: &Sandbox, file: &Path) {
    let out = rpm(sb).arg("-i").arg(file).output().unwrap();
    assert!(out.status.success(), "rpm -i: {out:?}");
}

/// The installed `version-release` as `rpm -q` reports it; `None` when rpm
/// says the package is not installed.
fn rpm_query(sb: &Sandbox) -> Option<String> {
    let out = rpm(sb)
        .args(["-q", "--qf", "%{VERSION}-%{RELEASE}", NAME])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

#[test]
fn minimum_version_upgrades_and_exact_version_downgrades_from_package_files() {
    let sb = rpm_root();
    let files = sb.dir.path().join("rpms");
    let v1 = build_rpm(&files, "1.0");
    build_rpm(&files, "1.1");
    rpm_install(&sb, &v1);

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
        rpm_query(&sb).as_deref(),
        Some("1.0-1"),
        "check changed nothing"
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Compliant", "{r:#}");
    assert_eq!(r["changed"], true);
    assert!(detail(r).contains("rpm -U"), "{r:#}");
    assert_eq!(rpm_query(&sb).as_deref(), Some("1.1-1"));
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
    assert_eq!(rpm_query(&sb).as_deref(), Some("1.0-1"));
}

#[test]
fn absent_erases_through_rpm() {
    let sb = rpm_root();
    let v1 = build_rpm(&sb.dir.path().join("rpms"), "1.0");
    rpm_install(&sb, &v1);
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
    assert_eq!(rpm_query(&sb), None);
    assert!(!sb.host("/usr/share/fake/telnet-server").exists());
}

#[test]
fn without_package_files_or_with_a_dpkg_manager_nothing_changes_and_the_error_says_why() {
    let sb = rpm_root();
    let v1 = build_rpm(&sb.dir.path().join("rpms"), "1.0");
    rpm_install(&sb, &v1);

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
    assert_eq!(rpm_query(&sb).as_deref(), Some("1.0-1"), "nothing changed");
}

#[test]
fn a_held_rpm_lock_is_waited_for_then_reported_with_its_holder() {
    let sb = rpm_root();
    let v1 = build_rpm(&sb.dir.path().join("rpms"), "1.0");
    rpm_install(&sb, &v1);

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
    assert_eq!(rpm_query(&sb).as_deref(), Some("1.0-1"), "nothing changed");
}

#[test]
fn a_version_without_release_means_every_release_as_rpm_reads_it() {
    let sb = rpm_root();
    let files = sb.dir.path().join("rpms");
    let v1 = build_rpm(&files, "1.0");
    rpm_install(&sb, &v1);
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
    build_rpm(&files, "1.1");
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
    assert_eq!(rpm_query(&sb), None, "nothing was installed");
}

/// A dnf repository of `files` (createrepo_c), configured in the root's
/// `/etc/yum.repos.d`, where `dnf --installroot` reads it.
///
/// Debian's librpm keeps its database in `~/.rpmdb`, so dnf on a Debian
/// host would open `ROOT/root/.rpmdb`; a RHEL or Amazon Linux host's dnf
/// opens `ROOT/var/lib/rpm`, the database Rampart reads. The link makes the
/// Debian test machine's dnf behave as a RHEL host's does.
fn dnf_repository(sb: &Sandbox, files: &Path) {
    let out = Command::new("createrepo_c")
        .arg("-q")
        .arg(files)
        .output()
        .expect("createrepo_c (Debian's createrepo-c) is installed");
    assert!(out.status.success(), "createrepo_c: {out:?}");
    sb.put(
        "/etc/yum.repos.d/local.repo",
        &format!(
            "[local]\nname=local\nbaseurl=file://{}\ngpgcheck=0\nenabled=1\n",
            files.display()
        ),
    );
    fs::create_dir_all(sb.host("/root")).unwrap();
    std::os::unix::fs::symlink("../var/lib/rpm", sb.host("/root/.rpmdb")).unwrap();
}

#[test]
fn repositories_are_reached_through_dnf_for_minimum_exact_and_absent() {
    let sb = rpm_root();
    let files = sb.dir.path().join("repo");
    let v1 = build_rpm(&files, "1.0");
    build_rpm(&files, "1.1");
    rpm_install(&sb, &v1);
    dnf_repository(&sb, &files);

    let doc = package_doc(
        &sb,
        &format!("{{names: {NAME}, minimumVersion: '1.1', manager: dnf}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(detail(only_resource(&record)), "dnf upgrade telnet-server");
    assert_eq!(rpm_query(&sb).as_deref(), Some("1.1-1"));

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
    assert_eq!(rpm_query(&sb).as_deref(), Some("1.0-1"));

    // With auto, a removal goes through the host's frontend.
    let doc = package_doc(&sb, &format!("{{names: {NAME}, state: absent}}"));
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(detail(only_resource(&record)), "dnf remove telnet-server");
    assert_eq!(rpm_query(&sb), None);
}
