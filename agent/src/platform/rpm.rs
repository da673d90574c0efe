//! The RPM database through the real `rpm` tool: reading it, and changing
//! it with `rpm` (package files) or the system's frontend (`dnf`, `yum`,
//! `zypper`: repositories and dependencies).
//!
//! Unlike dpkg's text database, rpm's (sqlite or Berkeley DB, depending on the
//! distribution release) has no stable on-disk format to read directly, so the
//! query goes through `rpm --root`. The database path is the one the root
//! has, passed as `--dbpath`, never the host rpm's compiled-in default: a
//! Debian build host's rpm looks in `~/.rpmdb`, a RHEL image keeps it in
//! `/var/lib/rpm` and a current Fedora in `/usr/lib/sysimage/rpm`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use thiserror::Error;

use super::pkg_lock::{self, LockError};
use super::pkg_tool::{self, run, PackageFile, ToolError};
use super::Root;

/// Where rpm databases live, newest layout first.
const DB_PATHS: [&str; 2] = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];

/// The first bytes of every `.rpm` (the lead's magic number).
const RPM_LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];

/// rpm's transaction lock, inside the database directory.
const LOCK_FILE: &str = ".rpm.lock";

#[derive(Debug, Error)]
pub enum RpmError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("{path} is not a readable .rpm package: {reason}")]
    BadPackageFile { path: PathBuf, reason: String },
    #[error("no rpm database under {0} (looked in /usr/lib/sysimage/rpm and /var/lib/rpm)")]
    NoDatabase(PathBuf),
    #[error(
        "{tool} would open the rpm database at {theirs} (this host's librpm default, \
         %_dbpath), not the root's {ours}, and would see none of its packages: run from a \
         host of the root's own distribution, or link {theirs} to the root's database"
    )]
    FrontendDatabase {
        tool: &'static str,
        theirs: PathBuf,
        ours: PathBuf,
    },
    #[error("{0}")]
    BadRepoFile(String),
    #[error(
        "dnf has no metadata cache in {0}: run 'dnf makecache' first \
         (check mode downloads nothing), or apply"
    )]
    NoMetadataCache(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    pub architecture: String,
    pub vendor: String,
    pub url: String,
    pub summary: String,
    pub install_time: String,
}

impl RpmPackage {
    /// `[epoch:]version-release`, the form rpm compares.
    pub fn evr(&self) -> String {
        if self.epoch.is_empty() {
            format!("{}-{}", self.version, self.release)
        } else {
            format!("{}:{}-{}", self.epoch, self.version, self.release)
        }
    }
}

const FIELD_SEP: char = '\u{1f}';
const QUERY_FORMAT: &str = "%{NAME}\x1f%|EPOCH?{%{EPOCH}}:{}|\x1f%{VERSION}\x1f%{RELEASE}\x1f%{ARCH}\x1f%|VENDOR?{%{VENDOR}}:{}|\x1f%|URL?{%{URL}}:{}|\x1f%{SUMMARY}\x1f%{INSTALLTIME}\n";

/// Files that hold an rpm database: sqlite (rpm 4.16+), Berkeley DB, NDB.
const DB_FILES: [&str; 3] = ["rpmdb.sqlite", "Packages", "Packages.db"];

/// The root's rpm database directory (as seen inside the root): the first
/// of [`DB_PATHS`] that is a real directory holding a database, else the
/// first that is a directory. On Fedora `/var/lib/rpm` is a symlink to the
/// sysimage one, which comes first anyway.
pub fn db_path(root: &Root) -> Option<&'static str> {
    let is_dir =
        |d: &str| std::fs::symlink_metadata(root.join(Path::new(d))).is_ok_and(|m| m.is_dir());
    let has_db = |d: &str| {
        DB_FILES
            .iter()
            .any(|f| root.join(&Path::new(d).join(f)).exists())
    };
    DB_PATHS
        .into_iter()
        .find(|d| is_dir(d) && has_db(d))
        .or_else(|| DB_PATHS.into_iter().find(|d| is_dir(d)))
}

/// True when this root looks like an RPM system and the `rpm` tool exists.
pub fn present(root: &Root) -> bool {
    db_path(root).is_some() && pkg_tool::runs("rpm")
}

/// `rpm` acting on `root`'s own database.
fn rpm(root: &Root) -> Result<Command, RpmError> {
    let db = db_path(root).ok_or_else(|| RpmError::NoDatabase(root.dir().to_path_buf()))?;
    let mut cmd = pkg_tool::command("rpm");
    cmd.arg("--root").arg(root.dir()).arg("--dbpath").arg(db);
    Ok(cmd)
}

/// Lists installed packages with `rpm --root ROOT -qa`.
pub fn list_installed(root: &Root) -> std::io::Result<Vec<RpmPackage>> {
    let mut cmd = rpm(root).map_err(std::io::Error::other)?;
    let out = cmd.args(["-qa", "--qf", QUERY_FORMAT]).output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "rpm -qa failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_query(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_query(text: &str) -> Vec<RpmPackage> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(FIELD_SEP).collect();
            (f.len() == 9 && f[0] != "gpg-pubkey").then(|| RpmPackage {
                name: f[0].into(),
                epoch: f[1].into(),
                version: f[2].into(),
                release: f[3].into(),
                architecture: f[4].into(),
                vendor: f[5].into(),
                url: f[6].into(),
                summary: f[7].into(),
                install_time: f[8].into(),
            })
        })
        .collect()
}

/// Reads an `.rpm` file's name, `[epoch:]version-release` and architecture.
pub fn read_rpm(path: &Path) -> Result<PackageFile, RpmError> {
    let bad = |reason: String| RpmError::BadPackageFile {
        path: path.to_path_buf(),
        reason,
    };
    // rpm takes any other file as a manifest: a list of further packages
    // (paths or URLs) to install. Only a real package (its lead's magic
    // number) is accepted.
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    if magic != RPM_LEAD_MAGIC {
        return Err(bad("it does not start with an rpm package header".into()));
    }
    let mut cmd = pkg_tool::command("rpm");
    cmd.args([
        "-qp",
        "--qf",
        "%{NAME}\x1f%|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\x1f%{ARCH}",
    ])
    .arg(path);
    let text = run(cmd, "rpm").map_err(|e| bad(e.to_string()))?;
    // rpm may warn (e.g. about a missing signature key) on stderr, which
    // run() appends after stdout: the fields are on the first line.
    let line = text.lines().next().unwrap_or_default();
    match line.split(FIELD_SEP).collect::<Vec<_>>()[..] {
        [name, version, arch] if !name.is_empty() && !version.is_empty() => Ok(PackageFile {
            path: path.to_path_buf(),
            name: name.into(),
            version: version.into(),
            architecture: arch.into(),
        }),
        _ => Err(bad(format!("unexpected query output '{line}'"))),
    }
}

/// The rpm frontends that fetch from repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frontend {
    Dnf,
    Yum,
    Zypper,
}

impl Frontend {
    pub fn tool(self) -> &'static str {
        match self {
            Frontend::Dnf => "dnf",
            Frontend::Yum => "yum",
            Frontend::Zypper => "zypper",
        }
    }

    /// The command words for `verb` (install, upgrade, downgrade, remove).
    /// zypper's update is `update`, and it has no downgrade command: an
    /// install allowed to replace a newer version is one.
    pub fn verb(self, verb: &str) -> Vec<&str> {
        match (self, verb) {
            (Frontend::Zypper, "upgrade") => vec!["update"],
            (Frontend::Zypper, "downgrade") => vec!["install", "--oldpackage"],
            _ => vec![verb],
        }
    }

    /// The first frontend installed on this host, in the order RHEL 8+,
    /// older RHEL and Amazon Linux 2, SUSE.
    pub fn detect() -> Option<Frontend> {
        [Frontend::Dnf, Frontend::Yum, Frontend::Zypper]
            .into_iter()
            .find(|f| pkg_tool::runs(f.tool()))
    }
}

/// Where and how rpm and its frontends run.
#[derive(Debug, Clone)]
pub struct RpmTarget<'a> {
    pub root: &'a Root,
    pub lock_timeout: Duration,
}

impl RpmTarget<'_> {
    /// Waits for rpm's transaction lock: rpm itself would block on it
    /// without a limit.
    fn wait_for_lock(&self) -> Result<(), RpmError> {
        self.wait_for_lock_within(self.lock_timeout)
    }

    /// [`Self::wait_for_lock`] for at most `timeout` (what is left of the
    /// step's timeout after waiting for another lock).
    pub(super) fn wait_for_lock_within(&self, timeout: Duration) -> Result<(), RpmError> {
        let db = db_path(self.root).ok_or_else(|| RpmError::NoDatabase(self.root.dir().into()))?;
        let lock = self.root.join(&Path::new(db).join(LOCK_FILE));
        pkg_lock::wait_until_free(&[lock], timeout)?;
        Ok(())
    }

    /// Makes sure a frontend (dnf, zypper: they open the database through
    /// the host's librpm, at its compiled-in `%_dbpath` inside the root)
    /// would see the database Rampart reads. On a host of another
    /// distribution, under `--root`, it would not (Debian's rpm keeps it in
    /// `~/.rpmdb`): the frontend would find nothing installed, and a patch
    /// scan would call the root patched.
    pub fn frontend_sees_database(&self, f: Frontend) -> Result<(), RpmError> {
        if self.root.is_host() {
            return Ok(());
        }
        let ours =
            db_path(self.root).ok_or_else(|| RpmError::NoDatabase(self.root.dir().into()))?;
        let mut cmd = pkg_tool::command("rpm");
        cmd.args(["--eval", "%{_dbpath}"]);
        let theirs = run(cmd, "rpm")?;
        let theirs = theirs.lines().next().unwrap_or_default().trim();
        if !theirs.starts_with('/') {
            // rpm could not expand its own macro: nothing to compare with,
            // and the frontend's own error will say more.
            return Ok(());
        }
        let resolve = |p: &str| {
            let p = self.root.join(Path::new(p));
            std::fs::canonicalize(&p).unwrap_or(p)
        };
        let (theirs, ours) = (resolve(theirs), resolve(ours));
        if theirs != ours {
            return Err(RpmError::FrontendDatabase {
                tool: f.tool(),
                theirs,
                ours,
            });
        }
        Ok(())
    }

    /// `rpm -U` of package files: installs, or upgrades what is older;
    /// `downgrade` also replaces a newer installed version (`--oldpackage`).
    pub fn install_files(&self, files: &[PathBuf], downgrade: bool) -> Result<String, RpmError> {
        self.wait_for_lock()?;
        let mut cmd = rpm(self.root)?;
        cmd.arg("-U");
        if downgrade {
            cmd.arg("--oldpackage");
        }
        cmd.args(files);
        Ok(run(cmd, "rpm")?)
    }

    /// `rpm -e` of installed packages.
    pub fn erase(&self, names: &[String]) -> Result<String, RpmError> {
        self.wait_for_lock()?;
        let mut cmd = rpm(self.root)?;
        cmd.arg("-e").arg("--").args(names);
        Ok(run(cmd, "rpm")?)
    }

    /// Runs a frontend's `verb` (install, upgrade, downgrade, remove) on
    /// `specs`, non-interactively, inside the root when it is not the host.
    pub fn frontend(&self, f: Frontend, verb: &str, specs: &[String]) -> Result<String, RpmError> {
        self.frontend_sees_database(f)?;
        if f == Frontend::Dnf {
            self.wait_for_dnf()?;
        } else {
            self.wait_for_lock()?;
        }
        let mut cmd = pkg_tool::command(f.tool());
        let dir = self.root.dir();
        match f {
            Frontend::Dnf | Frontend::Yum => {
                cmd.arg("-y");
                if !self.root.is_host() {
                    cmd.arg(format!("--installroot={}", dir.display()));
                }
            }
            Frontend::Zypper => {
                // zypper gives up at once on its own lock unless told to
                // wait; it waits no longer than Rampart would for rpm's.
                cmd.env(
                    "ZYPP_LOCK_TIMEOUT",
                    self.lock_timeout.as_secs().max(1).to_string(),
                )
                .arg("--non-interactive");
                if !self.root.is_host() {
                    cmd.arg("--root").arg(dir);
                }
            }
        }
        cmd.args(f.verb(verb)).args(specs);
        Ok(run(cmd, f.tool())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_lines_and_skips_gpg_keys() {
        let text = "bash\x1f\x1f5.2\x1f1.el9\x1fx86_64\x1fRed Hat\x1fhttps://x\x1fThe shell\x1f1700000000\n\
                    gpg-pubkey\x1f\x1f1\x1f2\x1f(none)\x1f\x1f\x1fkey\x1f1\n\
                    openssl\x1f1\x1f3.0\x1f2\x1fx86_64\x1f\x1f\x1fTLS\x1f1700000001\n";
        let pkgs = parse_query(text);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].evr(), "5.2-1.el9");
        assert_eq!(pkgs[1].evr(), "1:3.0-2");
    }
}
