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

#[derive(Debug, Error)]
pub enum AptError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{path} is not a readable .deb package: {reason}")]
    BadPackageFile { path: PathBuf, reason: String },
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
        let mut cmd = pkg_tool::command("apt-cache");
        if !self.root.is_host() {
            cmd.arg(format!("-oDir={}", self.root.dir().display()));
        }
        cmd.args(["policy", "--", name]);
        let out = run(cmd, "apt-cache")?;
        Ok(out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Candidate:"))
            .map(str::trim)
            .filter(|v| *v != "(none)")
            .map(str::to_string))
    }

    /// Refreshes the package lists from the root's sources.
    pub fn update(&self) -> Result<String, AptError> {
        let left = pkg_lock::wait_until_free(&self.lock_paths(), self.lock_timeout)?;
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
