//! `rampart:package`: packages absent, present, at an exact version or at
//! least a minimum version, enforced through the system's package manager.
//!
//! Checking reads the package database directly (dpkg's status file) or
//! through `rpm --root -qa`, and orders versions with the manager's own
//! rules ([`crate::platform::version`]). Enforcement on dpkg systems runs
//! `apt-get` (repositories, dependencies) or `dpkg` (package files named in
//! `sources`), non-interactively, after waiting for the package manager's
//! lock; under `--root` both act on the image root. The database is read
//! again after every change, so the result reports what the tools did, not
//! what Rampart asked for. On rpm systems package files from `sources` go
//! in with `rpm -U` (or the named frontend), and repositories are reached
//! through dnf, yum or zypper, whichever the host has. The tools of each
//! kind of system live in `dpkg.rs` and `rpm.rs`.

mod db;
mod dpkg;
mod rpm;
mod sources;

use std::cmp::Ordering;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::{
    declarative_outcome, reconcile, Action, ActionOutcome, Inputs, Observation, Resource,
    StepContext,
};
use crate::platform::apt::AptTarget;
use crate::platform::rpm::RpmTarget;
use crate::platform::version::Scheme;

pub use db::{Installed, PackageDb};

/// Default and largest wait for another package manager to finish.
const DEFAULT_LOCK_TIMEOUT_SECS: u64 = 300;
const MAX_LOCK_TIMEOUT_SECS: u64 = 3600;

/// Package managers the `manager` input may name.
const MANAGERS: [&str; 7] = ["auto", "apt", "dpkg", "dnf", "yum", "zypper", "rpm"];

/// What a package should be.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wanted {
    Absent { purge: bool },
    Present,
    Exact(String),
    AtLeast(String),
}

/// How changes are made, shared by the packages of one step.
#[derive(Debug, Clone)]
struct Enforcement {
    manager: String,
    /// Package files or directories of them to install from.
    sources: Vec<PathBuf>,
    lock_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct PackageAction {
    packages: Vec<Package>,
}

#[derive(Debug, Clone)]
struct Package {
    name: String,
    arch: Option<String>,
    wanted: Wanted,
    how: Arc<Enforcement>,
}

impl PackageAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, false)?;
        // An explicitly empty list is allowed and manages nothing, so a
        // document can make a step optional through a StringList parameter.
        let names = i.string_list("names").unwrap_or_default();
        if names.is_empty() && i.get("names").is_none() {
            i.problem("input 'names' is required (a package name or a list of them)");
        }
        for n in &names {
            if n.is_empty()
                || n.starts_with('-')
                || n.contains(|c: char| c.is_whitespace() || c == '/')
            {
                i.problem(format_args!("'{n}' is not a package name"));
            }
        }
        let present = i.choice("state", &["present", "absent"], "present") == "present";
        let manager = i.choice("manager", &MANAGERS, "auto");
        let exact = i.string("version");
        let minimum = i.string("minimumVersion");
        let purge = i.bool("purge").unwrap_or(false);
        if !present && (exact.is_some() || minimum.is_some()) {
            i.problem("version and minimumVersion only apply to state 'present'");
        }
        if present && i.get("purge").is_some() {
            i.problem("purge only applies to state 'absent'");
        }
        if exact.is_some() && minimum.is_some() {
            i.problem("give either version or minimumVersion, not both");
        }
        for (key, v) in [("version", &exact), ("minimumVersion", &minimum)] {
            if let Some(v) = v {
                if let Err(e) = check_version(&manager, v) {
                    i.problem(format_args!("input '{key}': {e}"));
                }
            }
        }
        let sources: Vec<PathBuf> = i
            .string_list("sources")
            .unwrap_or_default()
            .into_iter()
            .map(PathBuf::from)
            .collect();
        for s in &sources {
            if !s.is_absolute() {
                i.problem(format_args!(
                    "source '{}' must be an absolute path to a package file or a directory of them",
                    s.display()
                ));
            }
        }
        let lock_timeout = lock_timeout(&i);
        i.finish()?;

        let wanted = match (present, exact, minimum) {
            (false, _, _) => Wanted::Absent { purge },
            (true, Some(v), _) => Wanted::Exact(v),
            (true, None, Some(m)) => Wanted::AtLeast(m),
            (true, None, None) => Wanted::Present,
        };
        let how = Arc::new(Enforcement {
            manager,
            sources,
            lock_timeout,
        });
        Ok(PackageAction {
            packages: names
                .into_iter()
                .map(|n| {
                    let (name, arch) = match n.split_once(':') {
                        Some((n, a)) => (n.to_string(), Some(a.to_string())),
                        None => (n, None),
                    };
                    Package {
                        name,
                        arch,
                        wanted: wanted.clone(),
                        how: how.clone(),
                    }
                })
                .collect(),
        })
    }
}

/// Whether installed `have` is the exact `want`. rpm names a version
/// without its release as every release of it (`rpm -q name-1.0` finds
/// 1.0-1), so on rpm systems `1.0` matches `1.0-1`.
pub(super) fn exact_match(scheme: Scheme, have: &str, want: &str) -> Result<bool, String> {
    let have = match scheme {
        Scheme::Rpm if !want.contains('-') => have.rsplit_once('-').map_or(have, |(v, _)| v),
        _ => have,
    };
    scheme
        .compare(have, want)
        .map(|o| o == Ordering::Equal)
        .map_err(|e| format!("cannot compare {have} with version {want}: {e}"))
}

/// A version must be valid for the named manager's rules; with `auto` the
/// root decides later, so it must be valid for at least one.
pub(super) fn check_version(manager: &str, v: &str) -> Result<(), String> {
    match manager {
        "apt" | "dpkg" => Scheme::Dpkg.validate(v).map_err(|e| e.to_string()),
        "auto" => Scheme::Dpkg
            .validate(v)
            .or_else(|_| Scheme::Rpm.validate(v))
            .map_err(|_| {
                let why = Scheme::Dpkg.validate(v).unwrap_err();
                format!("{why} (and not a valid rpm version either)")
            }),
        _ => Scheme::Rpm.validate(v).map_err(|e| e.to_string()),
    }
}

pub(super) fn lock_timeout(i: &Inputs) -> Duration {
    Duration::from_secs(
        i.whole_number("lockTimeoutSeconds", 0..=MAX_LOCK_TIMEOUT_SECS)
            .unwrap_or(DEFAULT_LOCK_TIMEOUT_SECS),
    )
}

impl Action for PackageAction {
    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        let results = self.packages.iter().map(|p| reconcile(p, ctx)).collect();
        declarative_outcome(ctx.mode, results)
    }
}

impl Package {
    pub(super) fn spec(&self) -> String {
        match &self.arch {
            Some(a) => format!("{}:{a}", self.name),
            None => self.name.clone(),
        }
    }
}

impl Resource for Package {
    fn kind(&self) -> &'static str {
        "package"
    }

    fn id(&self) -> String {
        self.spec()
    }

    fn observe(&self, ctx: &StepContext) -> Result<Observation, String> {
        let db = ctx.packages.get(ctx.root)?;
        let instances: Vec<&(String, String)> = db
            .packages
            .get(&self.name)
            .map(|v| {
                v.iter()
                    .filter(|(a, _)| self.arch.as_ref().is_none_or(|want| want == a))
                    .collect()
            })
            .unwrap_or_default();
        let versions = || {
            instances
                .iter()
                .map(|(a, v)| format!("{v} ({a})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if matches!(self.wanted, Wanted::Absent { .. }) {
            return Ok(if instances.is_empty() {
                let note = if db.config_only.contains(&self.name) {
                    " (configuration files remain)"
                } else {
                    ""
                };
                Observation::Compliant(format!("not installed{note}"))
            } else {
                Observation::Drift(vec![format!("installed {}, want absent", versions())])
            });
        }
        if instances.is_empty() {
            return Ok(Observation::Drift(vec!["not installed".into()]));
        }
        let compare = |have: &str, want: &str, key: &str| {
            db.scheme
                .compare(have, want)
                .map_err(|e| format!("cannot compare installed {have} with {key} {want}: {e}"))
        };
        let mut off = Vec::new();
        for (arch, v) in &instances {
            match &self.wanted {
                Wanted::Exact(want) if !exact_match(db.scheme, v, want)? => {
                    off.push(format!("{v} ({arch}) is installed, want exactly {want}"));
                }
                Wanted::AtLeast(min) if compare(v, min, "minimumVersion")? == Ordering::Less => {
                    off.push(format!("{v} ({arch}) is older than {min}"));
                }
                _ => {}
            }
        }
        if !off.is_empty() {
            return Ok(Observation::Drift(off));
        }
        Ok(Observation::Compliant(format!("installed {}", versions())))
    }

    fn fix(&self, ctx: &StepContext, _drift: &[String]) -> Result<Vec<String>, String> {
        let db = ctx.packages.get(ctx.root)?;
        // The installed instances this step manages (all architectures
        // without `name:arch`).
        let instances: Vec<(String, String)> = db
            .packages
            .get(&self.name)
            .map(|v| {
                v.iter()
                    .filter(|(a, _)| self.arch.as_ref().is_none_or(|want| want == a))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let done = if db.scheme == Scheme::Rpm {
            let target = RpmTarget {
                root: ctx.root,
                lock_timeout: self.how.lock_timeout,
            };
            match &self.wanted {
                Wanted::Absent { .. } => self.remove_rpm(&target),
                _ => self.install_rpm(&target, &instances),
            }
        } else {
            let target = AptTarget {
                root: ctx.root,
                lock_timeout: self.how.lock_timeout,
            };
            match &self.wanted {
                Wanted::Absent { purge } => self.remove_dpkg(ctx, &target, *purge),
                _ => self.install_dpkg(ctx, &target, db.scheme, &instances),
            }
        };
        // Whatever happened, the next look must read the database again.
        ctx.packages.invalidate();
        let change = done?;
        tracing::info!(event = "package_changed", package = %self.spec(), change = %change, "changed package");
        Ok(vec![change])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(inputs: Value) -> Vec<String> {
        PackageAction::from_inputs("s", &inputs)
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn unknown_manager_is_refused_naming_the_known_ones() {
        let p = problems(json!({"names": "samba", "manager": "pacman"}));
        assert_eq!(
            p,
            vec![
                "step 's': input 'manager' is 'pacman'; expected one of: \
                  auto, apt, dpkg, dnf, yum, zypper, rpm"
            ]
        );
    }

    #[test]
    fn versions_the_tools_refuse_are_refused_up_front() {
        let p = problems(json!({"names": "samba", "minimumVersion": "1.0-", "manager": "apt"}));
        assert_eq!(
            p,
            vec![
                "step 's': input 'minimumVersion': revision of version '1.0-' is empty \
                  (nothing after the last '-')"
            ]
        );
        let p = problems(json!({"names": "samba", "version": "1:2:3-4-5", "manager": "dnf"}));
        assert!(p[0].contains("input 'version'"), "{p:?}");
        let p = problems(json!({"names": "samba", "version": "x y"}));
        assert!(p[0].contains("embedded spaces"), "{p:?}");
    }

    #[test]
    fn contradictory_inputs_are_refused() {
        assert!(
            !problems(json!({"names": "a", "state": "absent", "minimumVersion": "1"})).is_empty()
        );
        assert!(!problems(json!({"names": "a", "version": "1", "minimumVersion": "1"})).is_empty());
        assert!(!problems(json!({"names": "a", "purge": true})).is_empty());
        assert!(!problems(json!({"names": "a", "sources": ["relative/x.deb"]})).is_empty());
        assert!(!problems(json!({"names": "a", "lockTimeoutSeconds": 99999})).is_empty());
        assert!(!problems(json!({"names": "-a"})).is_empty());
    }
}
