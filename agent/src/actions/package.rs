//! `rampart:package`: packages present (optionally at a minimum version) or
//! absent.
//!
//! Inputs: `names` (a package name or list; `name:arch` selects one
//! architecture), `state` (present or absent), `minimumVersion` (with
//! present). Checking reads the package database directly (dpkg) or through
//! `rpm`. Enforcement through the package manager is not built yet: apply
//! mode reports a non-compliant package as failed and says what to run.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::{
    declarative_outcome, reconcile, Action, ActionOutcome, Inputs, Observation, Resource,
    StepContext,
};
use crate::platform::{dpkg, rpm, Root};

/// Installed packages of one root, loaded on first use and shared by every
/// package step of a run.
#[derive(Debug, Default)]
pub struct PackageDb {
    loaded: OnceLock<Result<Installed, String>>,
}

#[derive(Debug, Clone)]
pub struct Installed {
    pub manager: &'static str,
    /// Name -> (architecture, version) of each installed instance.
    pub packages: HashMap<String, Vec<(String, String)>>,
    /// Names of dpkg packages removed with their configuration files kept.
    pub config_only: Vec<String>,
}

impl PackageDb {
    pub fn get(&self, root: &Root) -> Result<&Installed, String> {
        self.loaded
            .get_or_init(|| load(root))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn load(root: &Root) -> Result<Installed, String> {
    let mut packages: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if dpkg::present(root) {
        let all = dpkg::read_status(root)
            .map_err(|e| format!("failed to read {}: {e}", dpkg::STATUS_PATH))?;
        let mut config_only = Vec::new();
        for p in all {
            if p.is_installed() {
                packages
                    .entry(p.name)
                    .or_default()
                    .push((p.architecture, p.version));
            } else if p.state == "config-files" {
                config_only.push(p.name);
            }
        }
        return Ok(Installed {
            manager: "dpkg",
            packages,
            config_only,
        });
    }
    if rpm::present(root) {
        for p in rpm::list_installed(root).map_err(|e| format!("failed to query rpm: {e}"))? {
            let evr = p.evr();
            packages
                .entry(p.name)
                .or_default()
                .push((p.architecture, evr));
        }
        return Ok(Installed {
            manager: "rpm",
            packages,
            config_only: Vec::new(),
        });
    }
    Err("no supported package database under this root (looked for dpkg and rpm)".into())
}

#[derive(Debug, Clone)]
pub struct PackageAction {
    packages: Vec<Package>,
}

#[derive(Debug, Clone)]
struct Package {
    name: String,
    arch: Option<String>,
    present: bool,
    minimum: Option<String>,
}

impl PackageAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, false)?;
        let names = i.string_list("names").unwrap_or_default();
        if names.is_empty() {
            i.problem("input 'names' is required (a package name or a list of them)");
        }
        let present = i.choice("state", &["present", "absent"], "present") == "present";
        let minimum = i.string("minimumVersion");
        if let Some(m) = &minimum {
            if !present {
                i.problem("minimumVersion only applies to state 'present'");
            }
            if m.parse::<debversion::Version>().is_err() {
                i.problem(format_args!("minimumVersion '{m}' is not a valid version"));
            }
        }
        i.finish()?;
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
                        present,
                        minimum: minimum.clone(),
                    }
                })
                .collect(),
        })
    }
}

impl Action for PackageAction {
    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        let results = self.packages.iter().map(|p| reconcile(p, ctx)).collect();
        declarative_outcome(ctx.mode, results)
    }
}

/// Compares two versions with the package manager's rules. dpkg ordering is
/// implemented by the `debversion` crate; rpm ordering is not available yet.
fn older_than(manager: &str, have: &str, want: &str) -> Result<bool, String> {
    match manager {
        "dpkg" => {
            let h: debversion::Version = have
                .parse()
                .map_err(|_| format!("installed version '{have}' does not parse"))?;
            let w: debversion::Version = want
                .parse()
                .map_err(|_| format!("minimumVersion '{want}' does not parse"))?;
            Ok(h < w)
        }
        other => Err(format!(
            "minimumVersion is not supported on {other} systems yet"
        )),
    }
}

impl Resource for Package {
    fn kind(&self) -> &'static str {
        "package"
    }

    fn id(&self) -> String {
        match &self.arch {
            Some(a) => format!("{}:{a}", self.name),
            None => self.name.clone(),
        }
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
        if !self.present {
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
        if let Some(min) = &self.minimum {
            let mut old = Vec::new();
            for (arch, v) in &instances {
                if older_than(db.manager, v, min)? {
                    old.push(format!("{v} ({arch}) is older than {min}"));
                }
            }
            if !old.is_empty() {
                return Ok(Observation::Drift(old));
            }
        }
        Ok(Observation::Compliant(format!("installed {}", versions())))
    }

    fn fix(&self, ctx: &StepContext, drift: &[String]) -> Result<Vec<String>, String> {
        let manager = ctx.packages.get(ctx.root)?.manager;
        let hint = match (manager, self.present) {
            ("dpkg", true) => format!("apt-get install {}", self.name),
            ("dpkg", false) => format!("apt-get purge {}", self.name),
            (_, true) => format!("dnf install {}", self.name),
            (_, false) => format!("dnf remove {}", self.name),
        };
        Err(format!(
            "{}; package enforcement is not available yet (run '{hint}')",
            drift.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// The comparison agrees with `dpkg --compare-versions` on the rules that
    /// usually trip implementations up (epoch, tilde, revision, letters).
    #[test]
    fn dpkg_ordering_matches_dpkg() {
        let pairs = [
            ("1.0", "1.0-1"),
            ("1:0.9", "2.0"),
            ("1.0~rc1", "1.0"),
            ("1.0~~", "1.0~"),
            ("2.30-1", "2.30-1+deb12u1"),
            ("1.2a", "1.2"),
            ("1.002", "1.2"),
            ("0.9-1", "0.10-1"),
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"),
            ("1.0+b1", "1.0"),
        ];
        let Ok(_) = Command::new("dpkg").arg("--version").output() else {
            eprintln!("dpkg not installed; skipping");
            return;
        };
        for (a, b) in pairs {
            let dpkg_lt = Command::new("dpkg")
                .args(["--compare-versions", a, "lt", b])
                .status()
                .unwrap()
                .success();
            assert_eq!(older_than("dpkg", a, b).unwrap(), dpkg_lt, "{a} < {b}");
        }
    }
}
