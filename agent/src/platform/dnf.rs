//! What dnf offers an rpm root: the upgrades its repositories have, and the
//! advisories (the repositories' `updateinfo`) that cover them. This is what
//! a patch baseline needs on RHEL 8+, Amazon Linux 2023 and Fedora.
//!
//! dnf 4 has no machine-readable output for advisories, so its text is
//! read, in the shapes dnf 4.14's `updateinfo` command prints: one line per
//! (advisory, package) from `updateinfo list`, and `Label: value` blocks from
//! `updateinfo info`. Every dnf call runs with `TZ=UTC`: dnf prints dates in
//! local time, and a release date must mean the same on every host.
//!
//! A query with `cache_only` (dnf's `-C`) downloads nothing and leaves the
//! metadata cache as it is; dnf still appends to its own logs under the
//! root's `/var/log`, as every dnf command does.
//!
//! dnf runs without `-q`: quiet, it also hides its warning that it skipped
//! a `.repo` file it could not parse, and a repository skipped is updates
//! unseen. The extra lines it prints have none of the shapes read here.

use std::collections::HashMap;
use std::process::Command;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::pkg_lock;
use super::pkg_tool::{self, run, ToolError};
use super::rpm::{RpmError, RpmTarget};

/// One upgrade on offer: the newest version of an installed `name.arch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub arch: String,
    /// `[epoch:]version-release`, the epoch left out when it is 0.
    pub evr: String,
    pub repo: String,
    /// When the package was built: the only date a package that no
    /// advisory covers has.
    pub built: Option<DateTime<Utc>>,
}

impl Candidate {
    /// `name-[epoch:]version-release.arch`, the form dnf installs exactly.
    pub fn nevra(&self) -> String {
        format!("{}-{}.{}", self.name, self.evr, self.arch)
    }
}

/// One advisory, as it applies to one package it updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    pub id: String,
    /// `security`, `bugfix`, `enhancement`, `newpackage` or `unknown`.
    pub kind: String,
    /// As the repository spells it (`Important`, `medium`, ...); empty when
    /// it gives none.
    pub severity: String,
    /// When it was last updated, else issued.
    pub updated: Option<DateTime<Utc>>,
    /// The package it ships.
    pub name: String,
    pub arch: String,
    pub evr: String,
}

/// The field separator of `repoquery --qf` lines: no package field holds it.
const SEP: char = '\u{1f}';
const UPGRADE_FORMAT: &str =
    "%{name}\x1f%{epoch}\x1f%{version}\x1f%{release}\x1f%{arch}\x1f%{reponame}\x1f%{buildtime}";

/// What dnf says when `-C` finds no metadata cache.
const NO_CACHE: &str = "Cache-only enabled but no cache";

/// What dnf says of a `.repo` file it cannot parse, before going on without.
const SKIPPED_REPO_FILE: &str = "Warning: failed loading '";

/// dnf's metadata cache, relative to the root.
pub const CACHE_DIR: &str = "/var/cache/dnf";

/// dnf's own locks (pid files), relative to the root: the metadata cache's
/// and the package database's (in dnf's persistdir).
const LOCKS: [&str; 2] = [
    "/var/cache/dnf/metadata_lock.pid",
    "/var/lib/dnf/rpmdb_lock.pid",
];

impl RpmTarget<'_> {
    /// dnf on this root, non-interactive, with UTC dates. A repository dnf
    /// cannot read fails the command: skipped, as dnf's default would have
    /// it, its updates would go unseen and the host would pass for patched.
    fn dnf(&self, cache_only: bool) -> Command {
        let mut cmd = pkg_tool::command("dnf");
        cmd.env("TZ", "UTC")
            .args(["-y", "--setopt=skip_if_unavailable=False"]);
        if cache_only {
            cmd.arg("-C");
        }
        if !self.root.is_host() {
            cmd.arg(format!("--installroot={}", self.root.dir().display()));
        }
        cmd
    }

    /// Runs dnf; a missing cache gets a message that says what to do, and a
    /// repository file dnf skipped fails the run.
    fn query(&self, cmd: Command, cache_only: bool) -> Result<String, RpmError> {
        // A query takes dnf's metadata lock too, and would wait on it
        // without a limit. rpm's transaction lock is not dnf's to wait
        // for when it only reads: rpm's own queries do not.
        self.wait_for_dnf_locks()?;
        let text = match run(cmd, "dnf") {
            Err(ToolError::Failed { output, .. }) if cache_only && output.contains(NO_CACHE) => {
                let repo = output
                    .split(" | ")
                    .find(|l| l.contains(NO_CACHE))
                    .unwrap_or_default()
                    .trim();
                return Err(RpmError::NoMetadataCache(format!(
                    "{} ({repo})",
                    self.root.join(std::path::Path::new(CACHE_DIR)).display()
                )));
            }
            other => other?,
        };
        if let Some(line) = text.lines().find(|l| l.contains(SKIPPED_REPO_FILE)) {
            return Err(RpmError::BadRepoFile(format!(
                "dnf skipped a repository file it cannot read, so its updates would go unseen: \
                 {} (fix or remove the file)",
                line.trim()
            )));
        }
        Ok(text)
    }

    /// Waits for dnf's own locks, which dnf itself would wait on without a
    /// limit; returns the time left of the step's lock timeout.
    fn wait_for_dnf_locks(&self) -> Result<std::time::Duration, RpmError> {
        let locks: Vec<_> = LOCKS
            .iter()
            .map(|l| self.root.join(std::path::Path::new(l)))
            .collect();
        Ok(pkg_lock::wait_for_pid_files(&locks, self.lock_timeout)?)
    }

    /// Before dnf changes packages: dnf's locks, then rpm's.
    pub(super) fn wait_for_dnf(&self) -> Result<(), RpmError> {
        let left = self.wait_for_dnf_locks()?;
        self.wait_for_lock_within(left)
    }

    /// Downloads fresh repository metadata (`dnf makecache --refresh`).
    pub fn refresh(&self) -> Result<(), RpmError> {
        let mut cmd = self.dnf(false);
        cmd.args(["--refresh", "makecache"]);
        self.query(cmd, false)?;
        Ok(())
    }

    /// Whether dnf has any enabled repository. A metadata cache outlives
    /// the repositories it came from, so "no updates" from a root whose
    /// repositories were all removed or disabled would be a false "patched".
    /// dnf 4 prints `repolist`'s header only when there is a row under it.
    pub fn has_enabled_repository(&self, cache_only: bool) -> Result<bool, RpmError> {
        let mut cmd = self.dnf(cache_only);
        cmd.args(["-q", "repolist", "--enabled"]);
        let text = self.query(cmd, cache_only)?;
        Ok(text.lines().any(|l| l.starts_with("repo id")))
    }

    /// The newest upgrade on offer for each installed `name.arch`, after
    /// dnf's excludes.
    pub fn upgrades(&self, cache_only: bool) -> Result<Vec<Candidate>, RpmError> {
        let mut cmd = self.dnf(cache_only);
        cmd.args([
            "repoquery",
            "--upgrades",
            "--latest-limit=1",
            "--qf",
            UPGRADE_FORMAT,
        ]);
        Ok(parse_upgrades(&self.query(cmd, cache_only)?))
    }

    /// The advisories covering the upgrades on offer, one entry for each
    /// package an advisory ships. Two dnf calls: `list` names the packages,
    /// `info` gives the type, severity and date as the repository has them
    /// (`list` shows a severity only for security advisories, and only in
    /// Red Hat's spelling).
    pub fn advisories(&self, cache_only: bool) -> Result<Vec<Advisory>, RpmError> {
        let mut cmd = self.dnf(cache_only);
        cmd.args(["updateinfo", "list", "--updates"]);
        let list = self.query(cmd, cache_only)?;
        let mut cmd = self.dnf(cache_only);
        cmd.args(["updateinfo", "info", "--updates"]);
        let info = parse_info(&self.query(cmd, cache_only)?);
        Ok(parse_list(&list)
            .into_iter()
            .filter_map(|(id, name, arch, evr)| {
                let i = info.get(&id)?;
                Some(Advisory {
                    kind: i.kind.clone(),
                    severity: i.severity.clone(),
                    updated: i.updated,
                    id,
                    name,
                    arch,
                    evr,
                })
            })
            .collect())
    }

    /// `dnf upgrade` to exactly these `name-evr.arch`; `progress` echoes
    /// dnf's lines to stderr as they come.
    pub fn upgrade_to(&self, nevras: &[String], progress: bool) -> Result<String, RpmError> {
        self.wait_for_dnf()?;
        let mut cmd = self.dnf(false);
        cmd.arg("upgrade").args(nevras);
        Ok(pkg_tool::run_with_progress(cmd, "dnf", progress)?)
    }
}

fn parse_upgrades(text: &str) -> Vec<Candidate> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(SEP).collect();
            let [name, epoch, version, release, arch, repo, built] = f[..] else {
                return None;
            };
            let evr = if epoch.is_empty() || epoch == "0" {
                format!("{version}-{release}")
            } else {
                format!("{epoch}:{version}-{release}")
            };
            Some(Candidate {
                name: name.into(),
                arch: arch.into(),
                evr,
                repo: repo.into(),
                built: parse_time(built),
            })
        })
        .collect()
}

/// dnf's dates: `2026-11-20 10:00:00`, or `2026-12-04 02:31` in repoquery.
/// dnf shows a date it could not read as the epoch (1970-01-01): that is
/// no date, not a very old one, which `approveAfterDays` would approve at
/// once.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text.trim(), f).ok())
        .map(|t| t.and_utc())
        .filter(|t| t.timestamp() > 0)
}

/// `name-[epoch:]version-release.arch` into its parts.
fn split_nevra(nevra: &str) -> Option<(String, String, String)> {
    let (nevr, arch) = nevra.rsplit_once('.')?;
    let (nev, release) = nevr.rsplit_once('-')?;
    let (name, version) = nev.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() || arch.is_empty() {
        return None;
    }
    Some((name.into(), arch.into(), format!("{version}-{release}")))
}

/// Lines of `updateinfo list`: `ID LABEL NEVRA`, as (id, name, arch, evr).
/// Anything else dnf prints (warnings) has another shape and is skipped.
fn parse_list(text: &str) -> Vec<(String, String, String, String)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [id, label, nevra] = f[..] else {
                return None;
            };
            let known = label.ends_with("/Sec.")
                || ["security", "bugfix", "enhancement", "newpackage", "unknown"].contains(&label);
            if !known {
                return None;
            }
            let (name, arch, evr) = split_nevra(nevra)?;
            Some((id.into(), name, arch, evr))
        })
        .collect()
}

#[derive(Debug, Default, Clone)]
struct Info {
    kind: String,
    severity: String,
    updated: Option<DateTime<Utc>>,
}

/// The blocks of `updateinfo info`: a rule of `=`, the title, a rule, then
/// `Label: value` lines. A value's continuation lines have an empty label,
/// so a description cannot pass for a field.
fn parse_info(text: &str) -> HashMap<String, Info> {
    let mut out = HashMap::new();
    let mut current: Option<(String, Info)> = None;
    let mut rules = 0;
    for line in text.lines() {
        if line.starts_with("=====") {
            rules += 1;
            if rules % 2 == 1 {
                if let Some((id, info)) = current.take() {
                    out.insert(id, info);
                }
            }
            continue;
        }
        let Some((label, value)) = line.split_once(": ") else {
            continue;
        };
        // The title line sits between the two rules of a block.
        if rules % 2 == 1 {
            continue;
        }
        let value = value.trim();
        match label.trim() {
            "Update ID" => current = Some((value.to_string(), Info::default())),
            "Type" => {
                if let Some((_, i)) = current.as_mut() {
                    i.kind = value.to_string();
                }
            }
            "Severity" => {
                if let Some((_, i)) = current.as_mut() {
                    i.severity = value.to_string();
                }
            }
            "Updated" => {
                if let Some((_, i)) = current.as_mut() {
                    i.updated = parse_time(value);
                }
            }
            _ => {}
        }
    }
    if let Some((id, info)) = current {
        out.insert(id, info);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_repoquery_lines_and_skips_warnings() {
        let text =
            "Unable to detect release version (use '--releasever' to specify release version)\n\
                    telnet-server\x1f0\x1f1.2\x1f1\x1fnoarch\x1flocal\x1f2026-12-04 02:31\n\
                    openssl\x1f1\x1f3.0.7\x1f27.el9\x1fx86_64\x1fbaseos\x1f2026-11-02 10:00\n";
        let c = parse_upgrades(text);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].nevra(), "telnet-server-1.2-1.noarch");
        assert_eq!(c[1].nevra(), "openssl-1:3.0.7-27.el9.x86_64");
        assert_eq!(
            c[1].built.unwrap().to_rfc3339(),
            "2026-11-02T10:00:00+00:00"
        );
    }

    #[test]
    fn reads_advisory_lists_and_info_blocks() {
        // As dnf 4.14 prints them (see the module doc); the description
        // holds a line that looks like a field.
        let list = "RHSA-2026:0001 Important/Sec. telnet-server-1.1-1.noarch\n\
                    ALAS2023-2026-7 Unknown/Sec.  curl-minimal-8.5.0-1.amzn2023.0.2.x86_64\n\
                    RHBA-2026:0002 bugfix         vim-fake-1:1.1-1.noarch\n\
                    Last metadata expiration check: 0:00:01 ago on Fri Dec  4 02:31:46 2026.\n";
        let info = "===============================================================================\n\
                    \x20 Important: telnet-server security update\n\
                    ===============================================================================\n\
                    \x20 Update ID: RHSA-2026:0001\n\
                    \x20      Type: security\n\
                    \x20   Updated: 2026-11-20 10:00:00\n\
                    Description: fix\n\
                    \x20          : Severity: Low\n\
                    \x20  Severity: Important\n\
                    \n\
                    ===============================================================================\n\
                    \x20 curl\n\
                    ===============================================================================\n\
                    \x20 Update ID: ALAS2023-2026-7\n\
                    \x20      Type: security\n\
                    \x20   Updated: 2026-12-01 00:00:00\n\
                    \x20  Severity: medium\n";
        let l = parse_list(list);
        assert_eq!(l.len(), 3, "{l:?}");
        assert_eq!(
            l[2],
            (
                "RHBA-2026:0002".into(),
                "vim-fake".into(),
                "noarch".into(),
                "1:1.1-1".into()
            )
        );
        let i = parse_info(info);
        let rhsa = &i["RHSA-2026:0001"];
        assert_eq!(
            (rhsa.kind.as_str(), rhsa.severity.as_str()),
            ("security", "Important")
        );
        assert_eq!(
            rhsa.updated.unwrap().to_rfc3339(),
            "2026-11-20T10:00:00+00:00"
        );
        assert_eq!(i["ALAS2023-2026-7"].severity, "medium");
        // An unreadable date, which dnf shows as the epoch, is none.
        assert_eq!(parse_time("1970-01-01 00:00:00"), None);
    }
}
