//! Tiny `.rpm` packages and throw-away rpm roots for the package tests:
//! noarch packages built with `rpmbuild` (Debian's `rpm` package), a root
//! database made with `rpm --initdb` and filled with `rpm -i`, repositories
//! indexed by `createrepo_c` (optionally with advisories added by
//! `modifyrepo_c`) and reached through the real `dnf`, and every outcome
//! read back with `rpm -q`.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Sandbox;

/// `rpm` on the root's database at `/var/lib/rpm`, as on RHEL and Amazon
/// Linux (Debian's own rpm would otherwise use `~/.rpmdb`).
pub fn rpm(sb: &Sandbox) -> Command {
    let mut cmd = Command::new("rpm");
    cmd.arg("--root")
        .arg(sb.root())
        .args(["--dbpath", "/var/lib/rpm"]);
    cmd
}

/// A root with an empty rpm database.
pub fn rpm_root() -> Sandbox {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.host("/var/lib/rpm")).unwrap();
    let out = rpm(&sb).arg("--initdb").output().expect("rpm is installed");
    assert!(out.status.success(), "rpm --initdb: {out:?}");
    sb
}

/// Builds `NAME-VERSION-1.noarch.rpm` into `dir` with rpmbuild; it holds
/// one file, `/usr/share/fake/NAME`, whose content is the version.
pub fn build_rpm(dir: &Path, name: &str, version: &str) -> PathBuf {
    build_rpm_for(dir, name, version, "noarch")
}

/// [`build_rpm`] for an architecture (`x86_64`, `i686`: rpm builds either
/// on an x86_64 host, and a package of one file needs no compiler). The
/// file's path holds the architecture, so both can be installed side by
/// side, as multilib packages are.
pub fn build_rpm_for(dir: &Path, name: &str, version: &str, arch: &str) -> PathBuf {
    build_rpm_with(dir, name, version, arch, "")
}

/// [`build_rpm_for`] with extra preamble lines, such as `Requires: ...`.
pub fn build_rpm_with(dir: &Path, name: &str, version: &str, arch: &str, extra: &str) -> PathBuf {
    let top = tempfile::tempdir().unwrap();
    let spec = top.path().join("p.spec");
    fs::write(
        &spec,
        format!(
            "Name: {name}\nVersion: {version}\nRelease: 1\nSummary: fake package for Rampart's tests\n\
             License: MIT\n{build_arch}{extra}%global debug_package %{{nil}}\n\
             %description\nfake\n%install\n\
             mkdir -p %{{buildroot}}/usr/share/fake\n\
             echo {version} > %{{buildroot}}/usr/share/fake/{name}{suffix}\n\
             %files\n/usr/share/fake/{name}{suffix}\n",
            suffix = if arch == "noarch" { String::new() } else { format!(".{arch}") },
            // An architecture package is built with --target instead: rpm
            // refuses a BuildArch the host cannot run.
            build_arch = if arch == "noarch" { "BuildArch: noarch\n" } else { "" }
        ),
    )
    .unwrap();
    let mut cmd = Command::new("rpmbuild");
    if arch != "noarch" {
        cmd.arg("--target").arg(arch);
    }
    let out = cmd
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
    dir.join(format!("{name}-{version}-1.{arch}.rpm"))
}

pub fn rpm_install(sb: &Sandbox, files: &[&Path]) {
    let out = rpm(sb).arg("-i").args(files).output().unwrap();
    assert!(out.status.success(), "rpm -i: {out:?}");
}

/// The installed `version-release` of `name` as `rpm -q` reports it;
/// `None` when rpm says the package is not installed.
pub fn rpm_query(sb: &Sandbox, name: &str) -> Option<String> {
    let out = rpm(sb)
        .args(["-q", "--qf", "%{VERSION}-%{RELEASE}", name])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

/// A dnf repository of `files` (createrepo_c), configured in the root's
/// `/etc/yum.repos.d`, where `dnf --installroot` reads it.
///
/// Debian's librpm keeps its database in `~/.rpmdb`, so dnf on a Debian
/// host would open `ROOT/root/.rpmdb`; a RHEL or Amazon Linux host's dnf
/// opens `ROOT/var/lib/rpm`, the database Rampart reads. The link makes the
/// Debian test machine's dnf behave as a RHEL host's does.
pub fn dnf_repository(sb: &Sandbox, files: &Path) {
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

/// The same repository for zypper, in the root's `/etc/zypp/repos.d`
/// (after [`dnf_repository`], which indexes it and links the database).
pub fn zypper_repository(sb: &Sandbox, files: &Path) {
    sb.put(
        "/etc/zypp/repos.d/local.repo",
        &format!(
            "[local]\nname=local\nbaseurl=file://{}\ngpgcheck=0\nenabled=1\nautorefresh=1\n",
            files.display()
        ),
    );
}

/// An advisory for `updateinfo.xml`, in the format createrepo_c and dnf
/// read (the one Red Hat and Amazon Linux repositories publish).
pub struct Advisory<'a> {
    pub id: &'a str,
    /// `security`, `bugfix`, `enhancement` or `newpackage`.
    pub kind: &'a str,
    /// Empty for none.
    pub severity: &'a str,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub issued: String,
    /// (name, version, arch) of the packages it ships, release 1.
    pub packages: Vec<(&'a str, &'a str, &'a str)>,
}

/// Adds `advisories` to the repository in `files` (after
/// [`dnf_repository`]) with `modifyrepo_c --mdtype=updateinfo`.
pub fn add_advisories(files: &Path, advisories: &[Advisory]) {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n");
    for a in advisories {
        xml.push_str(&format!(
            "<update from=\"tests@example.invalid\" status=\"final\" type=\"{}\" version=\"2\">\n\
             <id>{}</id><title>{} update</title>\n<issued date=\"{}\"/>\n",
            a.kind, a.id, a.id, a.issued
        ));
        if !a.severity.is_empty() {
            xml.push_str(&format!("<severity>{}</severity>\n", a.severity));
        }
        xml.push_str(
            "<description>fake</description>\n<pkglist><collection short=\"t\"><name>t</name>\n",
        );
        for (name, version, arch) in &a.packages {
            xml.push_str(&format!(
                "<package name=\"{name}\" version=\"{version}\" release=\"1\" epoch=\"0\" \
                 arch=\"{arch}\"><filename>{name}-{version}-1.{arch}.rpm</filename></package>\n"
            ));
        }
        xml.push_str("</collection></pkglist>\n</update>\n");
    }
    xml.push_str("</updates>\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("updateinfo.xml");
    fs::write(&path, xml).unwrap();
    let out = Command::new("modifyrepo_c")
        .arg("--mdtype=updateinfo")
        .arg(&path)
        .arg(files.join("repodata"))
        .output()
        .expect("modifyrepo_c (Debian's createrepo-c) is installed");
    assert!(out.status.success(), "modifyrepo_c: {out:?}");
}
