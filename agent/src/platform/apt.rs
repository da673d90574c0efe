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
use std::process::{Command, Stdio};
use std::time::Duration;

use thiserror::Error;

use super::pkg_lock::{self, LockError};
use super::Root;

/// dpkg's lock files, relative to the root.
const DPKG_FRONTEND_LOCK: &str = "/var/lib/dpkg/lock-frontend";
const DPKG_LOCK: &str = "/var/lib/dpkg/lock";

/// Bytes of a failed command's output kept in the error.
const ERROR_TAIL_BYTES: usize = 1500;

#[derive(Debug, Error)]
pub enum AptError {
    #[error("failed to run {tool} (is it installed?): {source}")]
    Spawn {
        tool: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("'{command}' failed (exit {code}): {output}")]
    Failed {
        command: String,
        code: i32,
        output: String,
    },
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

/// What a package file holds, from its control fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebFile {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub architecture: String,
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
        let mut cmd = tool_command("apt-get");
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
        let mut cmd = tool_command("dpkg");
        cmd.args(["--force-confdef", "--force-confold"]);
        if !self.root.is_host() {
            cmd.arg(format!("--root={}", self.root.dir().display()));
        }
        cmd
    }

    /// The version apt would install for `name` (`apt-cache policy`), or
    /// `None` when no configured repository offers it.
    pub fn candidate(&self, name: &str) -> Result<Option<String>, AptError> {
        let mut cmd = tool_command("apt-cache");
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
        run(cmd, "apt-get")
    }

    /// `apt-get install` of `specs` (`name`, `name=version`, or a path to a
    /// `.deb`), upgrading what is older.
    pub fn install(&self, specs: &[String]) -> Result<String, AptError> {
        let left = pkg_lock::wait_until_free(&self.lock_paths(), self.lock_timeout)?;
        let mut cmd = self.apt_get(left);
        cmd.args(["install", "--no-install-recommends", "--allow-downgrades"])
            .args(specs);
        run(cmd, "apt-get")
    }

    /// `apt-get remove` (or `purge`) of `names`.
    pub fn remove(&self, names: &[String], purge: bool) -> Result<String, AptError> {
        let left = pkg_lock::wait_until_free(&self.lock_paths(), self.lock_timeout)?;
        let mut cmd = self.apt_get(left);
        cmd.arg(if purge { "purge" } else { "remove" }).args(names);
        run(cmd, "apt-get")
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
        result
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

/// A tool command with a fixed locale and no prompts.
fn tool_command(tool: &str) -> Command {
    let mut cmd = Command::new(tool);
    cmd.env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("APT_LISTCHANGES_FRONTEND", "none")
        .env("NEEDRESTART_SUSPEND", "1")
        .stdin(Stdio::null());
    cmd
}

/// Runs a command to completion; its combined output on success, the tail of
/// it in the error otherwise.
fn run(mut cmd: Command, tool: &'static str) -> Result<String, AptError> {
    let line = describe(&cmd);
    tracing::debug!(command = %line, "running package tool");
    let out = cmd
        .output()
        .map_err(|source| AptError::Spawn { tool, source })?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        return Ok(text);
    }
    // Keep the end of the output, where the tools say what went wrong.
    let start = (text.len().saturating_sub(ERROR_TAIL_BYTES)..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    Err(AptError::Failed {
        command: line,
        code: out.status.code().unwrap_or(-1),
        output: text[start..].trim().replace('\n', " | "),
    })
}

/// The command line, for messages and logs.
fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Reads a `.deb`'s name, version and architecture with `dpkg-deb`.
pub fn read_deb(path: &Path) -> Result<DebFile, AptError> {
    let mut cmd = tool_command("dpkg-deb");
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
    let deb = DebFile {
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
