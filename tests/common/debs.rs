//! Tiny `.deb` packages and throw-away dpkg roots for the package tests:
//! packages built with the real `dpkg-deb --build`, installed with the real
//! `dpkg --root`, served from local apt repositories, and read back with
//! `dpkg-query`.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Sandbox;

/// A fake package: control fields, files, and an optional maintainer script.
pub struct Deb<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// Extra control fields, such as ("Priority", "important").
    pub fields: Vec<(&'a str, &'a str)>,
    pub files: Vec<(String, String)>,
    /// (script name, body) such as ("postinst", "...").
    pub scripts: Vec<(&'a str, String)>,
}

impl<'a> Deb<'a> {
    pub fn new(name: &'a str, version: &'a str) -> Self {
        Deb {
            name,
            version,
            fields: Vec::new(),
            files: Vec::new(),
            scripts: Vec::new(),
        }
    }

    /// Builds `DIR/NAME_VERSION.deb` with `dpkg-deb --build`.
    pub fn build(&self, dir: &Path) -> PathBuf {
        let tree = tempfile::tempdir().unwrap();
        let debian = tree.path().join("DEBIAN");
        fs::create_dir_all(&debian).unwrap();
        let arch = self
            .fields
            .iter()
            .find(|(k, _)| *k == "Architecture")
            .map_or("all", |(_, v)| *v);
        let mut control = format!(
            "Package: {}\nVersion: {}\nArchitecture: {arch}\n\
             Maintainer: Rampart tests <tests@example.invalid>\n",
            self.name, self.version
        );
        for (k, v) in self.fields.iter().filter(|(k, _)| *k != "Architecture") {
            control.push_str(&format!("{k}: {v}\n"));
        }
        control.push_str("Description: fake package for Rampart's tests\n");
        fs::write(debian.join("control"), control).unwrap();
        for (script, body) in &self.scripts {
            let p = debian.join(script);
            fs::write(&p, body).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        for (path, content) in &self.files {
            let p = tree.path().join(path.trim_start_matches('/'));
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        fs::create_dir_all(dir).unwrap();
        let out = dir.join(format!(
            "{}_{}_{arch}.deb",
            self.name,
            self.version.replace(':', "%3a")
        ));
        let built = Command::new("dpkg-deb")
            .args(["--root-owner-group", "--build"])
            .arg(tree.path())
            .arg(&out)
            .output()
            .expect("dpkg-deb is installed");
        assert!(built.status.success(), "{built:?}");
        out
    }
}

/// A sandbox whose root has an empty dpkg database.
pub fn dpkg_root() -> Sandbox {
    let sb = Sandbox::new();
    sb.put("/var/lib/dpkg/status", "");
    fs::create_dir_all(sb.host("/var/lib/dpkg/info")).unwrap();
    fs::create_dir_all(sb.host("/var/lib/dpkg/updates")).unwrap();
    sb
}

/// Installs package files into the root with the real dpkg (maintainer
/// scripts run on the host with DPKG_ROOT set, as dpkg's chrootless mode
/// does, since the temp root has no shell).
pub fn dpkg_install(sb: &Sandbox, debs: &[&Path]) {
    let out = Command::new("dpkg")
        .arg(format!("--root={}", sb.root().display()))
        .args(["--force-script-chrootless", "--install"])
        .args(debs)
        .output()
        .expect("dpkg is installed");
    assert!(out.status.success(), "dpkg --install failed: {out:?}");
}

/// (status, version) of a package as dpkg-query reports it; `None` when
/// dpkg has never heard of it.
pub fn dpkg_query(sb: &Sandbox, name: &str) -> Option<(String, String)> {
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", sb.host("/var/lib/dpkg").display()))
        .args(["-W", "-f", "${db:Status-Status}\t${Version}", name])
        .output()
        .expect("dpkg-query is installed");
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let (status, version) = text.split_once('\t').unwrap();
    Some((status.to_string(), version.to_string()))
}

pub fn installed_version(sb: &Sandbox, name: &str) -> Option<String> {
    dpkg_query(sb, name)
        .filter(|(status, _)| status == "installed")
        .map(|(_, v)| v)
}

/// A local apt repository of `debs` in `DIR/NAME` (a flat `file:`
/// repository indexed by `dpkg-scanpackages`), with a Release file of
/// `release` fields (such as "Label: Debian-Security\nSuite: stable-security\n")
/// when given, which apt then shows as the candidates' archive.
pub fn local_repository(sb: &Sandbox, name: &str, debs: &[Deb], release: Option<&str>) -> PathBuf {
    let repo = sb.dir.path().join(name);
    for d in debs {
        d.build(&repo);
    }
    let index = Command::new("dpkg-scanpackages")
        .args(["--multiversion", ".", "/dev/null"])
        .current_dir(&repo)
        .stderr(Stdio::null())
        .output()
        .expect("dpkg-scanpackages (dpkg-dev) is installed");
    assert!(index.status.success());
    fs::write(repo.join("Packages"), index.stdout).unwrap();
    if let Some(fields) = release {
        fs::write(repo.join("Release"), fields).unwrap();
    }
    repo
}

/// Points the root's apt at `repos` only, and makes the folders apt needs.
pub fn use_repositories(sb: &Sandbox, repos: &[PathBuf]) {
    let sources: String = repos
        .iter()
        .map(|r| format!("deb [trusted=yes] file:{} ./\n", r.display()))
        .collect();
    sb.put("/etc/apt/sources.list", &sources);
    for dir in [
        "/etc/apt/sources.list.d",
        "/etc/apt/apt.conf.d",
        "/etc/apt/preferences.d",
        "/var/lib/apt/lists/partial",
        "/var/cache/apt/archives/partial",
        "/var/log/apt",
    ] {
        fs::create_dir_all(sb.host(dir)).unwrap();
    }
}

/// One local apt repository of `debs` as the root's only source.
pub fn apt_repository(sb: &Sandbox, debs: &[Deb]) {
    let repo = local_repository(sb, "repo", debs, None);
    use_repositories(sb, &[repo]);
}

/// `apt-get update` on the root, as an operator would before a check.
pub fn apt_update(sb: &Sandbox) {
    let out = Command::new("apt-get")
        .arg("-q")
        .arg(format!("-oDir={}", sb.root().display()))
        .arg("update")
        .output()
        .expect("apt-get is installed");
    assert!(out.status.success(), "apt-get update: {out:?}");
}
