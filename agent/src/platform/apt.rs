//! Changing packages on a dpkg system through the real tools: `apt-get`
//! (fetches from the root's configured repositories and resolves
//! dependencies) or `dpkg` alone (installs given `.deb` files).
//!
//! Everything runs non-interactively (`DEBIAN_FRONTEND=noninteractive`,
//! `-y`, old configuration files kept) with the C locale so that output can
//! be read. For an image root, apt-get gets `-o Dir=ROOT` (the root's
//! sources, lists, cache and status) and passes `--root=ROOT` to dpkg; dpkg
//! gets `--root=ROOT` (maintainer scripts then run chrooted into the root).
//! Before anything runs, Rampart waits for dpkg's lock (see [`pkg_lock`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use thiserror::Error;

use super::pkg_lock::{self, LockError};
use super::pkg_tool::{self, run, PackageFile, ToolError};
use super::Root;

/// dpkg's lock files, relative to the root.
const DPKG_FRONTEND_LOCK: &str = "/var/lib/dpkg/lock-frontend";
const DPKG_LOCK: &str = "/var/lib/dpkg/lock";
/// apt's lock on its package lists, taken by `apt-get update`.
const APT_LISTS_LOCK: &str = "/var/lib/apt/lists/lock";

#[derive(Debug, Error)]
pub enum AptError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{path} is not a readable .deb package: {reason}")]
    BadPackageFile { path: PathBuf, reason: String },
}

/// One upgrade apt would make, as `apt-get -s dist-upgrade` reports it, or
/// one it keeps back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// As apt prints it: `name`, or `name:arch` for a foreign architecture.
    pub spec: String,
    pub name: String,
    pub installed: String,
    pub candidate: String,
    /// The candidate's archives, as apt labels them
    /// (`Debian-Security:12/stable-security`, comma-separated).
    pub origins: String,
    /// apt will not install it in a full upgrade: held (`apt-mark hold`),
    /// or it needs changes apt refuses to make on its own.
    pub kept_back: bool,
}

/// True when apt's origin labels (`Debian-Security:12/stable-security`,
/// comma-separated) name a security archive: Debian's `*-security` suites
/// and `Debian-Security` label, Ubuntu's `*-security` pockets.
pub fn is_security_origin(origins: &str) -> bool {
    origins.to_ascii_lowercase().contains("security")
}

/// A package version's `Priority` and `Section`, from its control fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControlFields {
    pub priority: String,
    pub section: String,
}

/// Where and how the tools run.
#[derive(Debug, Clone)]
pub struct AptTarget<'a> {
    pub root: &'a Root,
    pub lock_timeout: Duration,
}

impl AptTarget<'_> {
    fn lock_paths(&self) -> Vec<PathBuf> {
        [DPKG_FRONTEND_LOCK, DPKG_LOCK]
            .iter()
            .map(|p| self.root.join(Path::new(p)))
            .collect()
    }

    /// `apt-get` with the options every run uses; `lock_wait` is how long
    /// apt itself may still wait for the lock.
    fn apt_get(&self, lock_wait: Duration) -> Command {
        let mut cmd = pkg_tool::command("apt-get");
        cmd.args(["-y", "-q"])
            .arg(format!(
                "-oDPkg::Lock::Timeout={}",
                lock_wait.as_secs().max(1)
            ))
            .args([
                "-oDpkg::Options::=--force-confdef",
                "-oDpkg::Options::=--force-confold",
                "-oAPT::Get::Show-Versions=true",
            ]);
        if !self.root.is_host() {
            let dir = self.root.dir().display();
            cmd.arg(format!("-oDir={dir}"))
                .arg(format!("-oDPkg::Options::=--root={dir}"));
        }
        cmd
    }

    /// `apt-cache` reading the root's lists and status.
    fn apt_cache(&self) -> Command {
        let mut cmd = pkg_tool::command("apt-cache");
        if !self.root.is_host() {
            cmd.arg(format!("-oDir={}", self.root.dir().display()));
        }
        cmd
    }

    fn dpkg(&self) -> Command {
        let mut cmd = pkg_tool::command("dpkg");
        cmd.args(["--force-confdef", "--force-confold"]);
        if !self.root.is_host() {
            cmd.arg(format!("--root={}", self.root.dir().display()));
        }
        cmd
    }

    /// The version apt would install for `name` (`apt-cache policy`), or
    /// `None` when no configured repository offers it.
    pub fn candidate(&self, name: &str) -> Result<Option<String>, AptError> {
        let mut cmd = self.apt_cache();
        cmd.args(["policy", "--", name]);
        let out = run(cmd, "apt-cache")?;
        Ok(out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Candidate:"))
            .map(str::trim)
            .filter(|v| *v != "(none)")
            .map(str::to_string))
    }

    /// The upgrades a full upgrade would make now, from the package lists
    /// as they are (a simulation: nothing is locked or changed).
    pub fn upgrades(&self) -> Result<Vec<Upgrade>, AptError> {
        let mut cmd = self.apt_get(Duration::from_secs(1));
        // The planner log is the only thing a simulation would write.
        cmd.args(["-oDir::Log::Planner=/dev/null", "-s", "dist-upgrade"]);
        let text = run(cmd, "apt-get")?;
        let mut upgrades = parse_simulation(&text);
        let kept = kept_back(&text);
        if kept.is_empty() {
            return Ok(upgrades);
        }
        // Naming kept-back packages explicitly shows where their candidates
        // come from (a simulation again); if apt cannot even plan that,
        // `apt-cache policy` still gives the versions.
        let mut cmd = self.apt_get(Duration::from_secs(1));
        cmd.args([
            "-oDir::Log::Planner=/dev/null",
            "-s",
            "install",
            "--only-upgrade",
            // Only a simulation: -y would refuse to plan a held package.
            "--allow-change-held-packages",
        ])
        .args(&kept);
        let held = match run(cmd, "apt-get") {
            Ok(text) => parse_simulation(&text)
                .into_iter()
                .filter(|u| kept.contains(&u.spec))
                .collect(),
            Err(_) => {
                let mut cmd = self.apt_cache();
                cmd.arg("policy").arg("--").args(&kept);
                parse_policy(&run(cmd, "apt-cache")?)
            }
        };
        upgrades.extend(held.into_iter().map(|u| Upgrade {
            kept_back: true,
            ..u
        }));
        Ok(upgrades)
    }

    /// True when the root has package lists from its sources (an
    /// `apt-get update` ran and found something).
    pub fn has_lists(&self) -> bool {
        std::fs::read_dir(self.root.join(Path::new("/var/lib/apt/lists")))
            .map(|d| {
                d.flatten()
                    // `..._Packages`, kept compressed (`.lz4`, `.gz`) on Debian.
                    .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
            })
            .unwrap_or(false)
    }

    /// `Priority` and `Section` of each `name=version` in `specs`
    /// (`apt-cache show`), keyed by (name, version).
    pub fn control_fields(
        &self,
        specs: &[String],
    ) -> Result<HashMap<(String, String), ControlFields>, AptError> {
        if specs.is_empty() {
            return Ok(HashMap::new());
        }
        let mut cmd = self.apt_cache();
        cmd.arg("show").arg("--").args(specs);
        Ok(parse_stanzas(&run(cmd, "apt-cache")?))
    }

    /// `apt-get install --only-upgrade` of installed packages, to their
    /// candidates. `progress` echoes apt's lines to stderr as they come.
    pub fn upgrade(&self, names: &[String], progress: bool) -> Result<String, AptError> {
        let left = pkg_lock::wait_until_free(&self.lock_paths(), self.lock_timeout)?;
        let mut cmd = self.apt_get(left);
        // --no-remove: an update that would remove another package is
        // refused by apt rather than accepted by -y.
        cmd.args([
            "install",
            "--only-upgrade",
            "--no-install-recommends",
            "--no-remove",
        ])
        .args(names);
        Ok(pkg_tool::run_with_progress(cmd, "apt-get", progress)?)
    }

    /// Refreshes the package lists from the root's sources.
    pub fn update(&self) -> Result<String, AptError> {
        let mut locks = self.lock_paths();
        locks.push(self.root.join(Path::new(APT_LISTS_LOCK)));
        let left = pkg_lock::wait_until_free(&locks, self.lock_timeout)?;
        let mut cmd = self.apt_get(left);
        cmd.arg("update");
        Ok(run(cmd, "apt-get")?)
    }

    /// `apt-get install` of `specs` (`name`, `name=version`, or a path to a
    /// `.deb`), upgrading what is older.
    pub fn install(&self, specs: &[String]) -> Result<String, AptError> {
        let left = pkg_lock::wait_until_free(&self.lock_paths(), self.lock_timeout)?;
        let mut cmd = self.apt_get(left);
        cmd.args(["install", "--no-install-recommends", "--allow-downgrades"])
            .args(specs);
        Ok(run(cmd, "apt-get")?)
    }

    /// `apt-get remove` (or `purge`) of `names`.
    pub fn remove(&self, names: &[String], purge: bool) -> Result<String, AptError> {
        let left = pkg_lock::wait_until_free(&self.lock_paths(), self.lock_timeout)?;
        let mut cmd = self.apt_get(left);
        cmd.arg(if purge { "purge" } else { "remove" }).args(names);
        Ok(run(cmd, "apt-get")?)
    }

    /// Runs `dpkg ARGS` holding dpkg's frontend lock, as apt does, so that
    /// no other frontend starts between Rampart's check and dpkg's work.
    fn dpkg_locked(&self, args: &[String]) -> Result<String, AptError> {
        let frontend = self.root.join(Path::new(DPKG_FRONTEND_LOCK));
        let held = pkg_lock::acquire(&frontend, self.lock_timeout)?;
        pkg_lock::wait_until_free(&[self.root.join(Path::new(DPKG_LOCK))], self.lock_timeout)?;
        let mut cmd = self.dpkg();
        if held.is_some() {
            cmd.env("DPKG_FRONTEND_LOCKED", "1");
        }
        cmd.args(args);
        let result = run(cmd, "dpkg");
        drop(held);
        Ok(result?)
    }

    /// `dpkg --install` of package files.
    pub fn dpkg_install(&self, files: &[PathBuf]) -> Result<String, AptError> {
        let mut args = vec!["--install".to_string()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        self.dpkg_locked(&args)
    }

    /// `dpkg --remove` (or `--purge`) of packages.
    pub fn dpkg_remove(&self, names: &[String], purge: bool) -> Result<String, AptError> {
        let mut args = vec![if purge { "--purge" } else { "--remove" }.to_string()];
        args.extend(names.iter().cloned());
        self.dpkg_locked(&args)
    }
}

/// The `Inst` lines of an apt simulation:
/// `Inst NAME [INSTALLED] (CANDIDATE ORIGINS [ARCH])`. Lines without an
/// installed version are new packages pulled in, not upgrades.
fn parse_simulation(text: &str) -> Vec<Upgrade> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("Inst ")?;
            let (name, rest) = rest.split_once(' ')?;
            let rest = rest.strip_prefix('[')?;
            let (installed, rest) = rest.split_once(']')?;
            let inner = rest.trim_start().strip_prefix('(')?;
            let inner = &inner[..inner.rfind(')')?];
            let (candidate, rest) = inner.split_once(' ').unwrap_or((inner, ""));
            // The trailing `[arch]` is dropped: a foreign one is in the name.
            let origins = match rest.rfind(" [") {
                Some(i) => &rest[..i],
                None if rest.starts_with('[') => "",
                None => rest,
            };
            let base = name.split_once(':').map_or(name, |(n, _)| n);
            Some(Upgrade {
                spec: name.to_string(),
                name: base.to_string(),
                installed: installed.to_string(),
                candidate: candidate.to_string(),
                origins: origins.trim().to_string(),
                kept_back: false,
            })
        })
        .collect()
}

/// The names under "The following packages have been kept back:": several
/// to a line, or one a line with versions (`name (1.0-1 => 1.1-1)`) under
/// `APT::Get::Show-Versions`.
fn kept_back(text: &str) -> Vec<String> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.contains("have been kept back"));
    lines.next();
    lines
        .take_while(|l| l.starts_with(' '))
        .flat_map(|l| {
            let words = l.split_whitespace();
            if l.contains(" (") {
                words.take(1).collect::<Vec<_>>()
            } else {
                words.collect()
            }
        })
        .map(str::to_string)
        .collect()
}

/// Kept-back packages from `apt-cache policy`: each block starts with
/// `name:` at the line start, then `Installed:` and `Candidate:`.
fn parse_policy(text: &str) -> Vec<Upgrade> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if !line.starts_with(' ') {
            if let Some(spec) = line.strip_suffix(':') {
                current = Some((spec.to_string(), String::new()));
            }
            continue;
        }
        let Some((spec, installed)) = current.as_mut() else {
            continue;
        };
        let l = line.trim();
        if let Some(v) = l.strip_prefix("Installed:") {
            *installed = v.trim().to_string();
        } else if let Some(c) = l.strip_prefix("Candidate:") {
            let candidate = c.trim();
            if candidate != installed.as_str() && *installed != "(none)" && candidate != "(none)" {
                out.push(Upgrade {
                    spec: spec.clone(),
                    name: spec
                        .split_once(':')
                        .map_or(spec.as_str(), |(n, _)| n)
                        .to_string(),
                    installed: installed.clone(),
                    candidate: candidate.to_string(),
                    origins: String::new(),
                    kept_back: true,
                });
            }
        }
    }
    out
}

/// Priority and Section of each stanza of `apt-cache show`, first wins.
fn parse_stanzas(text: &str) -> HashMap<(String, String), ControlFields> {
    let mut out = HashMap::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let (name, version) = (field("Package"), field("Version"));
        if name.is_empty() {
            continue;
        }
        out.entry((name, version)).or_insert_with(|| ControlFields {
            priority: field("Priority"),
            section: field("Section"),
        });
    }
    out
}

/// Reads a `.deb`'s name, version and architecture with `dpkg-deb`.
pub fn read_deb(path: &Path) -> Result<PackageFile, AptError> {
    let mut cmd = pkg_tool::command("dpkg-deb");
    cmd.arg("--field")
        .arg(path)
        .args(["Package", "Version", "Architecture"]);
    let text = run(cmd, "dpkg-deb").map_err(|e| AptError::BadPackageFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let deb = PackageFile {
        path: path.to_path_buf(),
        name: field("Package"),
        version: field("Version"),
        architecture: field("Architecture"),
    };
    if deb.name.is_empty() || deb.version.is_empty() {
        return Err(AptError::BadPackageFile {
            path: path.to_path_buf(),
            reason: "no Package or Version field".into(),
        });
    }
    Ok(deb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulation_lines_give_upgrades_with_their_archives() {
        // Lines as apt-get 2.6 prints them (Debian 12).
        let text = "Reading package lists...\n\
            Inst libc6 [2.36-9+deb12u3] (2.36-9+deb12u4 Debian-Security:12/stable-security [amd64]) []\n\
            Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable, Debian:12-updates/stable-updates [all])\n\
            Inst newdep (1.0-1 Debian:12.11/stable [amd64])\n\
            Conf libc6 (2.36-9+deb12u4 Debian-Security:12/stable-security [amd64])\n";
        let u = parse_simulation(text);
        assert_eq!(u.len(), 2, "{u:?}");
        assert_eq!(u[0].name, "libc6");
        assert_eq!(u[0].spec, "libc6");
        assert_eq!(u[0].installed, "2.36-9+deb12u3");
        assert_eq!(u[0].candidate, "2.36-9+deb12u4");
        assert!(is_security_origin(&u[0].origins));
        assert_eq!(
            u[1].origins,
            "Debian:12.11/stable, Debian:12-updates/stable-updates"
        );
        assert!(!is_security_origin(&u[1].origins));
    }

    #[test]
    fn kept_back_packages_come_from_the_simulation_and_policy() {
        let sim = "Reading package lists...\nCalculating upgrade...\n\
                   The following packages have been kept back:\n  held libm:i386\n\
                   0 upgraded, 0 newly installed, 0 to remove and 2 not upgraded.\n";
        assert_eq!(kept_back(sim), ["held", "libm:i386"]);
        let with_versions = "The following packages have been kept back:\n\
                             \x20 held (1.0-1 => 1.1-1)\n  libm:i386 (2.0 => 2.1)\n0 upgraded\n";
        assert_eq!(kept_back(with_versions), ["held", "libm:i386"]);
        let policy = "held:\n  Installed: 1.0-1\n  Candidate: 1.1-1\n  Version table:\n\
                      libm:i386:\n  Installed: 2.0\n  Candidate: 2.0\n";
        let u = parse_policy(policy);
        assert_eq!(u.len(), 1, "{u:?}");
        assert_eq!(
            (u[0].spec.as_str(), u[0].candidate.as_str()),
            ("held", "1.1-1")
        );
        assert!(u[0].kept_back);
    }

    #[test]
    fn stanzas_give_priority_and_section_by_name_and_version() {
        let text = "Package: a\nVersion: 1\nPriority: important\nSection: net\n\n\
                    Package: a\nVersion: 1\nPriority: optional\n\n\
                    Package: b\nVersion: 2\nSection: non-free/admin\n";
        let f = parse_stanzas(text);
        assert_eq!(f[&("a".into(), "1".into())].priority, "important");
        assert_eq!(f[&("a".into(), "1".into())].section, "net");
        assert_eq!(f[&("b".into(), "2".into())].section, "non-free/admin");
        assert_eq!(f[&("b".into(), "2".into())].priority, "");
    }
}
