//! `rampart:patchBaseline`: the idea of AWS-RunPatchBaseline on one host.
//! Which approved updates are missing (`Scan`), and installing them
//! (`Install`), with a per-package result for each update found.
//!
//! Approval follows Patch Manager's rules for Debian and Ubuntu: filters on
//! the candidate's `Priority` and `Section`, an explicit approved list, a
//! rejected list that always wins, and, Rampart's own, `minimumVersions`
//! (a fixed CVE's version, approved whatever the filters say). Packages on
//! dpkg systems carry no release date, so `approveAfterDays` is refused
//! there, as Patch Manager does. The updates are what a full upgrade would
//! install (`apt-get -s dist-upgrade`); their fields come from
//! `apt-cache show`. rpm systems are not covered yet (docs/limitations.md).

mod install;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::package::{check_version, lock_timeout};
use super::{declarative_outcome, Action, ActionOutcome, Flow, Inputs, Mode, StepContext};
use crate::output::{Compliance, ResourceResult, StepStatus};
use crate::platform::apt::{AptTarget, ControlFields, Upgrade};
use crate::platform::version::Scheme;

/// Largest `approveAfterDays` Patch Manager accepts.
const MAX_APPROVE_AFTER_DAYS: u64 = 360;

/// Where Debian and Ubuntu packages ask for a reboot (update-notifier's
/// convention, written by kernel, libc and similar packages).
const REBOOT_FLAGS: [&str; 2] = ["/run/reboot-required", "/var/run/reboot-required"];

/// The exit code SSM reads as "reboot, then run this step again".
const EXIT_REBOOT: i32 = 194;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Scan,
    Install,
}

#[derive(Debug, Clone)]
pub struct PatchBaselineAction {
    operation: Operation,
    reboot_if_needed: bool,
    /// Lowercase; empty approves every priority.
    priorities: Vec<String>,
    /// Lowercase; empty approves every section.
    sections: Vec<String>,
    security_only: bool,
    approved: BTreeSet<String>,
    rejected: BTreeSet<String>,
    minimums: BTreeMap<String, String>,
    approve_after_days: Option<u64>,
    lock_timeout: Duration,
}

impl PatchBaselineAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, false)?;
        let operation = match i.choice("operation", &["Scan", "Install"], "Scan").as_str() {
            "Install" => Operation::Install,
            _ => Operation::Scan,
        };
        let reboot = i.choice(
            "rebootOption",
            &["RebootIfNeeded", "NoReboot"],
            "RebootIfNeeded",
        );
        let lower = |key: &str| -> Vec<String> {
            i.string_list(key)
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect()
        };
        let priorities = lower("priorities");
        let sections = lower("sections");
        let security_only = i.bool("securityOnly").unwrap_or(false);
        let names = |key: &str| -> BTreeSet<String> {
            i.string_list(key).unwrap_or_default().into_iter().collect()
        };
        let approved = names("approvedPatches");
        let rejected = names("rejectedPatches");
        let mut minimums = BTreeMap::new();
        match i.get("minimumVersions") {
            None => {}
            Some(Value::Object(map)) => {
                for (name, v) in map {
                    match v.as_str() {
                        Some(v) => match check_version("dpkg", v) {
                            Ok(()) => {
                                minimums.insert(name.clone(), v.to_string());
                            }
                            Err(e) => {
                                i.problem(format_args!("minimumVersions '{name}': {e}"));
                            }
                        },
                        None => i.problem(format_args!(
                            "minimumVersions '{name}' must be a version string, got {v}"
                        )),
                    }
                }
            }
            Some(other) => i.problem(format_args!(
                "input 'minimumVersions' must be a mapping of package name to version, got {other}"
            )),
        }
        let approve_after_days = i.whole_number("approveAfterDays", 0..=MAX_APPROVE_AFTER_DAYS);
        for name in rejected.iter().filter(|n| minimums.contains_key(*n)) {
            i.problem(format_args!(
                "package '{name}' is in both rejectedPatches and minimumVersions; a minimum \
                 version cannot be met by a package that is never updated"
            ));
        }
        let lock_timeout = lock_timeout(&i);
        i.finish()?;
        Ok(PatchBaselineAction {
            operation,
            reboot_if_needed: reboot == "RebootIfNeeded",
            priorities,
            sections,
            security_only,
            approved,
            rejected,
            minimums,
            approve_after_days,
            lock_timeout,
        })
    }

    /// Whether the baseline's rules approve an update (the rejected list
    /// and minimum versions are applied by the caller).
    fn rules_approve(&self, u: &Upgrade, f: &ControlFields) -> bool {
        if listed(&self.approved, u) {
            return true;
        }
        let priority = f.priority.to_ascii_lowercase();
        let section = f.section.to_ascii_lowercase();
        // "non-free/net" is in section "net" too, as Debian's archive areas
        // prefix sections.
        let short = section.rsplit('/').next().unwrap_or_default();
        (self.priorities.is_empty() || self.priorities.contains(&priority))
            && (self.sections.is_empty()
                || self.sections.iter().any(|s| *s == section || s == short))
            && (!self.security_only || u.from_security_archive())
    }
}

impl Action for PatchBaselineAction {
    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        let failed = |detail: String| {
            declarative_outcome(
                ctx.mode,
                vec![resource(ctx, "baseline", Compliance::Failed, false, detail)],
            )
        };
        let scan = self.operation == Operation::Scan || ctx.mode == Mode::Check;
        let (resources, reboot) = match self.evaluate(ctx, scan) {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        // A Scan reports missing updates without failing the step, as
        // Patch Manager's Scan succeeds on a non-compliant instance.
        let mut outcome = declarative_outcome(if scan { Mode::Check } else { ctx.mode }, resources);
        if let Some(why) = reboot {
            outcome.output.push_str(&format!("\n{why}"));
            if self.reboot_if_needed && outcome.status == StepStatus::Success {
                outcome.status = StepStatus::SuccessAndReboot;
                outcome.exit_code = EXIT_REBOOT;
                outcome.flow = Flow::Reboot;
            }
        }
        outcome
    }
}

fn resource(
    ctx: &StepContext,
    id: &str,
    compliance: Compliance,
    changed: bool,
    detail: String,
) -> ResourceResult {
    ResourceResult {
        step: ctx.step.to_string(),
        kind: "patch".into(),
        id: id.to_string(),
        compliance,
        changed,
        detail,
    }
}

/// An update the baseline wants installed.
struct Missing {
    upgrade: Upgrade,
    why: String,
}

impl PatchBaselineAction {
    /// The per-package results, and the reason to reboot when one is due.
    fn evaluate(
        &self,
        ctx: &StepContext,
        scan: bool,
    ) -> Result<(Vec<ResourceResult>, Option<String>), String> {
        let db = ctx.packages.get(ctx.root)?;
        if db.scheme != Scheme::Dpkg {
            return Err(
                "rampart:patchBaseline runs on dpkg systems (Debian, Ubuntu) only so \
                 far; on rpm systems use rampart:package with minimumVersion"
                    .into(),
            );
        }
        if self.approve_after_days.is_some() {
            return Err(
                "approveAfterDays is not supported on Debian and Ubuntu: their packages \
                 carry no release date (Patch Manager refuses it there too); approve by \
                 priorities, sections or securityOnly instead"
                    .into(),
            );
        }
        let target = AptTarget {
            root: ctx.root,
            lock_timeout: self.lock_timeout,
        };
        let lists = ctx.root.join(Path::new("/var/lib/apt/lists"));

        // Check mode changes nothing, not even apt's list cache: it judges
        // by the lists as the last `apt-get update` left them.
        let lists_note = if ctx.mode == Mode::Apply {
            target.update().map_err(|e| e.to_string())?;
            String::new()
        } else {
            format!("; {}", lists_age(&lists))
        };
        if !target.has_lists() {
            return Err(format!(
                "no package lists under {}: {}",
                lists.display(),
                if ctx.mode == Mode::Apply {
                    "the root's apt sources gave none; check its /etc/apt/sources.list"
                } else {
                    "run apt-get update first (check mode does not), or check the apt sources"
                }
            ));
        }
        let upgrades = target.upgrades().map_err(|e| e.to_string())?;
        let specs: Vec<String> = upgrades
            .iter()
            .map(|u| format!("{}={}", u.spec, u.candidate))
            .collect();
        let fields = target.control_fields(&specs).map_err(|e| e.to_string())?;

        let mut results = Vec::new();
        let mut missing = Vec::new();
        for u in &upgrades {
            let f = fields
                .get(&(u.name.clone(), u.candidate.clone()))
                .cloned()
                .unwrap_or_default();
            match self.judge(u, &f, scan)? {
                Verdict::Missing(why) => missing.push(Missing {
                    upgrade: u.clone(),
                    why,
                }),
                Verdict::Report(compliance, detail) => {
                    results.push(resource(ctx, &u.spec, compliance, false, detail))
                }
            }
        }

        // Minimums of packages with no update on offer.
        for (name, min) in &self.minimums {
            if upgrades.iter().any(|u| &u.spec == name || &u.name == name) {
                continue;
            }
            let r = match db.version_of(name) {
                None => resource(
                    ctx,
                    name,
                    Compliance::Skipped,
                    false,
                    "not installed".into(),
                ),
                Some(v) if compare(v, min)? != Ordering::Less => resource(
                    ctx,
                    name,
                    Compliance::Compliant,
                    false,
                    format!("installed {v}, at least minimum {min}"),
                ),
                Some(v) => resource(
                    ctx,
                    name,
                    Compliance::Failed,
                    false,
                    format!(
                        "installed {v} is older than minimum {min}, and apt offers no update \
                         for it (none in the configured repositories, or pinned)"
                    ),
                ),
            };
            results.push(r);
        }

        // A package a failed run left half done is not patched, whatever
        // the database says of its version.
        for (name, state) in &db.unfinished {
            results.push(resource(
                ctx,
                name,
                Compliance::Failed,
                false,
                format!("dpkg left it {state}; finish it with dpkg --configure -a"),
            ));
        }

        if scan || missing.is_empty() {
            for m in &missing {
                results.push(resource(
                    ctx,
                    &m.upgrade.spec,
                    Compliance::NonCompliant,
                    false,
                    format!("{}; approved update missing{lists_note}", m.why),
                ));
            }
        } else {
            results.extend(self.install(ctx, &target, &missing));
        }
        if results.is_empty() {
            results.push(resource(
                ctx,
                "baseline",
                Compliance::Compliant,
                false,
                format!("no updates available{lists_note}"),
            ));
        }

        // A reboot a package asked for is pending whether this run or an
        // earlier one installed it; a Scan never reboots.
        let reboot = if scan {
            None
        } else {
            REBOOT_FLAGS
                .iter()
                .find(|f| ctx.root.join(Path::new(f)).exists())
                .map(|f| format!("reboot required ({f} exists)"))
        };
        Ok((results, reboot))
    }

    /// What the baseline makes of one update on offer.
    fn judge(&self, u: &Upgrade, f: &ControlFields, scan: bool) -> Result<Verdict, String> {
        let what = describe(u, f);
        if listed(&self.rejected, u) {
            return Ok(Verdict::Report(
                Compliance::Skipped,
                format!("{what}; rejected by rejectedPatches"),
            ));
        }
        let minimum = self
            .minimums
            .get(&u.spec)
            .or_else(|| self.minimums.get(&u.name));
        let why = match minimum {
            Some(min) if compare(&u.installed, min)? == Ordering::Less => {
                if compare(&u.candidate, min)? == Ordering::Less {
                    return Ok(Verdict::Report(
                        Compliance::Failed,
                        format!(
                            "installed {} is older than minimum {min}, and apt's candidate \
                             (after pins) is only {}",
                            u.installed, u.candidate
                        ),
                    ));
                }
                format!("{what}; installed is older than minimum {min}")
            }
            _ if self.rules_approve(u, f) => what,
            _ => {
                return Ok(Verdict::Report(
                    Compliance::Skipped,
                    format!("{what}; not approved by the baseline"),
                ))
            }
        };
        if u.kept_back {
            // Held (apt-mark hold), or in need of changes a full upgrade
            // will not make: approved, but it cannot go in.
            return Ok(Verdict::Report(
                if scan {
                    Compliance::NonCompliant
                } else {
                    Compliance::Failed
                },
                format!(
                    "{why}; apt keeps it back (held with apt-mark hold, or it needs changes \
                     apt will not make on its own)"
                ),
            ));
        }
        Ok(Verdict::Missing(why))
    }
}

/// What one update on offer comes to.
enum Verdict {
    /// Approved and not installed; the reason it is approved.
    Missing(String),
    /// Nothing to install: how it stands, and why.
    Report(Compliance, String),
}

/// Whether `u` is named in `list`, as `name` or as `name:arch`.
fn listed(list: &BTreeSet<String>, u: &Upgrade) -> bool {
    list.contains(&u.name) || list.contains(&u.spec)
}

fn compare(a: &str, b: &str) -> Result<Ordering, String> {
    Scheme::Dpkg
        .compare(a, b)
        .map_err(|e| format!("cannot compare {a} with {b}: {e}"))
}

/// "installed 1.0-1, update 1.1-1 (priority important, section net, from
/// Debian-Security:12/stable-security)".
fn describe(u: &Upgrade, f: &ControlFields) -> String {
    let or_none = |s: &str| {
        if s.is_empty() {
            "none".to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "installed {}, update {} (priority {}, section {}, from {})",
        u.installed,
        u.candidate,
        or_none(&f.priority),
        or_none(&f.section),
        or_none(&u.origins)
    )
}

/// When apt's lists were last refreshed, for check mode's results.
fn lists_age(lists: &Path) -> String {
    match std::fs::metadata(lists).and_then(|m| m.modified()) {
        Ok(t) => {
            let t: chrono::DateTime<chrono::Utc> = t.into();
            format!("package lists of {}", t.format("%Y-%m-%d %H:%M UTC"))
        }
        Err(_) => "no package lists yet (run apt-get update)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(inputs: Value) -> Vec<String> {
        PatchBaselineAction::from_inputs("p", &inputs)
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn bad_inputs_are_named() {
        let p = problems(json!({
            "operation": "Upgrade",
            "rebootOption": "Always",
            "minimumVersions": {"openssl": "3.0.-"},
            "approveAfterDays": 400,
        }));
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].contains("'operation'"), "{p:?}");
        assert!(p[1].contains("'rebootOption'"), "{p:?}");
        assert!(
            p.iter().any(|e| e.contains("minimumVersions 'openssl'")),
            "{p:?}"
        );
        assert!(p.iter().any(|e| e.contains("from 0 to 360")), "{p:?}");
        assert!(problems(json!({"minimumVersions": ["a"]}))[0].contains("mapping"));
        let p = problems(json!({"rejectedPatches": ["m"], "minimumVersions": {"m": "2.0"}}));
        assert!(
            p[0].contains("in both rejectedPatches and minimumVersions"),
            "{p:?}"
        );
        // The action runs on dpkg systems: an rpm-only version is refused.
        let p = problems(json!({"minimumVersions": {"m": "1.0^git1"}}));
        assert!(p[0].contains("minimumVersions 'm'"), "{p:?}");
    }

    #[test]
    fn rules_match_priority_section_and_security_archive() {
        let a = PatchBaselineAction::from_inputs(
            "p",
            &json!({"priorities": ["Important"], "sections": ["net"], "securityOnly": true}),
        )
        .unwrap();
        let up = |origins: &str| Upgrade {
            spec: "x".into(),
            kept_back: false,
            name: "x".into(),
            installed: "1".into(),
            candidate: "2".into(),
            origins: origins.into(),
        };
        let f = |p: &str, s: &str| ControlFields {
            priority: p.into(),
            section: s.into(),
        };
        let security = up("Debian-Security:12/stable-security");
        assert!(a.rules_approve(&security, &f("important", "net")));
        assert!(a.rules_approve(&security, &f("important", "non-free/net")));
        assert!(!a.rules_approve(&security, &f("optional", "net")));
        assert!(!a.rules_approve(&security, &f("important", "admin")));
        assert!(!a.rules_approve(&up("Debian:12.11/stable"), &f("important", "net")));
    }
}
