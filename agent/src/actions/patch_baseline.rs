//! `rampart:patchBaseline`: the idea of AWS-RunPatchBaseline on one host.
//! Which approved updates are missing (`Scan`), and installing them
//! (`Install`), with a per-package result for each update found.
//!
//! The updates and what is known of them come from the system's package
//! manager ([`apt`] on Debian and Ubuntu, [`dnf`] on RHEL-like systems);
//! approval is the same for both. Patch Manager's rules apply: filters on
//! what the distribution records (a Debian candidate's `Priority` and
//! `Section`; an rpm update's advisories, with their classification,
//! severity and date), an explicit approved list, a rejected list that
//! always wins, and, Rampart's own, `minimumVersions` (a fixed CVE's
//! version, approved whatever the filters say). Debian packages carry no
//! release date, so `approveAfterDays` is refused there, as Patch Manager
//! does.

mod apt;
mod dnf;
mod install;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::package::{check_version, lock_timeout, Installed};
use super::{declarative_outcome, Action, ActionOutcome, Flow, Inputs, Mode, StepContext};
use crate::output::{Compliance, ResourceResult, StepStatus};
use crate::platform::apt::{self as apt_tool, AptTarget};
use crate::platform::dnf::Advisory;
use crate::platform::rpm::RpmTarget;
use crate::platform::version::Scheme;

/// Largest `approveAfterDays` Patch Manager accepts.
const MAX_APPROVE_AFTER_DAYS: u64 = 360;

/// The exit code SSM reads as "reboot, then run this step again".
const EXIT_REBOOT: i32 = 194;

/// Debian's package priorities.
const PRIORITIES: [&str; 5] = ["required", "important", "standard", "optional", "extra"];

/// Patch Manager's classifications of rpm advisories, as dnf names their
/// types (lowercase).
const CLASSIFICATIONS: [&str; 4] = ["security", "bugfix", "enhancement", "newpackage"];

/// Severities of rpm advisories: Red Hat's, and Amazon Linux's `Medium`.
const SEVERITIES: [&str; 5] = ["critical", "important", "moderate", "medium", "low"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Scan,
    Install,
}

#[derive(Debug, Clone)]
pub struct PatchBaselineAction {
    operation: Operation,
    reboot_if_needed: bool,
    /// Lowercase; empty approves every priority (dpkg only).
    priorities: Vec<String>,
    /// Lowercase; empty approves every section (dpkg only).
    sections: Vec<String>,
    /// Lowercase; empty approves every classification (rpm only).
    classifications: Vec<String>,
    /// Lowercase; empty approves every severity (rpm only).
    severities: Vec<String>,
    security_only: bool,
    approved: BTreeSet<String>,
    rejected: BTreeSet<String>,
    minimums: BTreeMap<String, String>,
    /// 0 when every update is approved as soon as it is out.
    approve_after_days: u64,
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
        // A document parameter left empty arrives as "": no value, not a
        // value that matches nothing.
        let list = |key: &str| -> Vec<String> {
            i.string_list(key)
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let lower = |key: &str, allowed: &[&str]| -> Vec<String> {
            let values: Vec<String> = list(key).iter().map(|s| s.to_ascii_lowercase()).collect();
            for v in values
                .iter()
                .filter(|v| !allowed.is_empty() && !allowed.contains(&v.as_str()))
            {
                i.problem(format_args!(
                    "input '{key}' has unknown value '{v}' (use {})",
                    allowed.join(", ")
                ));
            }
            values
        };
        let priorities = lower("priorities", &PRIORITIES);
        let sections = lower("sections", &[]);
        let classifications = lower("classifications", &CLASSIFICATIONS);
        let severities = lower("severities", &SEVERITIES);
        let security_only = i.bool("securityOnly").unwrap_or(false);
        let names = |key: &str| -> BTreeSet<String> {
            let names: BTreeSet<String> = list(key).into_iter().collect();
            for n in names.iter().filter(|n| n.contains(['*', '?', '['])) {
                i.problem(format_args!(
                    "input '{key}' has '{n}': names are exact, patterns are not supported \
                     (list each package)"
                ));
            }
            names
        };
        let approved = names("approvedPatches");
        let rejected = names("rejectedPatches");
        let mut minimums = BTreeMap::new();
        match i.get("minimumVersions") {
            None => {}
            Some(Value::Object(map)) => {
                for name in map.keys().filter(|n| n.contains(['*', '?', '['])) {
                    i.problem(format_args!(
                        "minimumVersions has '{name}': names are exact, patterns are not \
                         supported (list each package)"
                    ));
                }
                for (name, v) in map {
                    match v.as_str() {
                        // Either system's syntax: which one applies is
                        // known when the step runs.
                        Some(v) => match check_version("auto", v) {
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
        let approve_after_days = i
            .whole_number("approveAfterDays", 0..=MAX_APPROVE_AFTER_DAYS)
            .unwrap_or(0);
        for (name, min) in rejected
            .iter()
            .flat_map(|r| minimums.keys().map(move |m| (r, m)))
            .filter(|(r, m)| same_package(r, m))
        {
            i.problem(format_args!(
                "package '{name}' is in rejectedPatches and '{min}' in minimumVersions; a \
                 minimum version cannot be met by a package that is never updated"
            ));
        }
        let lock_timeout = lock_timeout(&i);
        i.finish()?;
        Ok(PatchBaselineAction {
            operation,
            reboot_if_needed: reboot == "RebootIfNeeded",
            priorities,
            sections,
            classifications,
            severities,
            security_only,
            approved,
            rejected,
            minimums,
            approve_after_days,
            lock_timeout,
        })
    }

    /// The inputs that mean nothing on this system, refused rather than
    /// silently ignored: a filter that cannot match would approve nothing,
    /// or everything.
    fn check_fits(&self, scheme: Scheme) -> Result<(), String> {
        match scheme {
            Scheme::Dpkg => {
                if self.approve_after_days > 0 {
                    return Err(
                        "approveAfterDays is not supported on Debian and Ubuntu: their packages \
                         carry no release date (Patch Manager refuses it there too); approve by \
                         priorities, sections or securityOnly instead"
                            .into(),
                    );
                }
                if !self.classifications.is_empty() || !self.severities.is_empty() {
                    return Err("classifications and severities come from rpm advisories \
                                (updateinfo); Debian and Ubuntu have none: use priorities, \
                                sections or securityOnly"
                        .into());
                }
            }
            Scheme::Rpm => {
                if !self.priorities.is_empty() || !self.sections.is_empty() {
                    return Err("priorities and sections are Debian package fields; on rpm \
                                systems approve by classifications, severities or securityOnly"
                        .into());
                }
            }
        }
        Ok(())
    }

    /// Whether the baseline's rules approve an update (the rejected list,
    /// minimum versions and release dates are applied by the caller).
    fn rules_approve(&self, o: &Offer) -> bool {
        if listed(&self.approved, o) {
            return true;
        }
        match &o.facts {
            Facts::Apt {
                priority,
                section,
                origins,
            } => {
                let priority = priority.to_ascii_lowercase();
                let section = section.to_ascii_lowercase();
                // "non-free/net" is in section "net" too, as Debian's
                // archive areas prefix sections.
                let short = section.rsplit('/').next().unwrap_or_default();
                (self.priorities.is_empty() || self.priorities.contains(&priority))
                    && (self.sections.is_empty()
                        || self.sections.iter().any(|s| *s == section || s == short))
                    && (!self.security_only || apt_tool::is_security_origin(origins))
            }
            Facts::Dnf { advisories, .. } => {
                let kind = |a: &Advisory| a.kind.to_ascii_lowercase();
                let security = |a: &&Advisory| kind(a) == "security";
                (self.classifications.is_empty()
                    || advisories
                        .iter()
                        .any(|a| self.classifications.contains(&kind(a))))
                    && (self.severities.is_empty()
                        || advisories
                            .iter()
                            .any(|a| self.severities.contains(&a.severity.to_ascii_lowercase())))
                    && (!self.security_only || advisories.iter().any(|a| security(&a)))
            }
        }
    }

    /// When an update released at `released` is approved, if not yet.
    fn approved_from(&self, released: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = released + chrono::Duration::days(self.approve_after_days as i64);
        (now < from).then_some(from)
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

/// One update on offer, whichever package manager offers it.
#[derive(Debug, Clone)]
struct Offer {
    /// The result's id: the name, with the architecture when it is needed
    /// to tell instances apart (`name:arch` on dpkg, `name.arch` on rpm).
    id: String,
    name: String,
    /// The installed instance, as [`Installed::version_of`] finds it.
    lookup: String,
    installed: String,
    candidate: String,
    /// The installed instance's architecture, when known.
    arch: Option<String>,
    /// What the package manager is told to install.
    install_as: String,
    /// Approved or not, the package manager will not install it (apt keeps
    /// it back).
    held: bool,
    facts: Facts,
}

/// What the distribution records of an update, the baseline's filters'
/// material.
#[derive(Debug, Clone)]
enum Facts {
    Apt {
        priority: String,
        section: String,
        /// The candidate's archives, as apt labels them.
        origins: String,
    },
    Dnf {
        repo: String,
        /// Every advisory shipping a version newer than the installed one,
        /// up to the candidate.
        advisories: Vec<Advisory>,
        /// The candidate's build time, its date when no advisory covers it.
        built: Option<DateTime<Utc>>,
    },
}

impl Offer {
    /// Every way a list entry may name it: the name, the id, and the name
    /// with its architecture in either system's form (`name.arch`,
    /// `name:arch`), so that `openssl.x86_64` is openssl whether or not
    /// another architecture is installed.
    fn names(&self) -> Vec<String> {
        let mut n = vec![self.name.clone(), self.id.clone()];
        if let Some(a) = &self.arch {
            n.push(format!("{}.{a}", self.name));
            n.push(format!("{}:{a}", self.name));
        }
        n
    }

    /// When the candidate came out: the date of the advisory that ships
    /// that very version, else its build time. An advisory for an older
    /// version dates that version, not a newer build; taking its date
    /// would let a package built today through a waiting period set for it.
    fn released(&self) -> Option<(DateTime<Utc>, &'static str)> {
        match &self.facts {
            Facts::Apt { .. } => None,
            Facts::Dnf {
                advisories, built, ..
            } => advisories
                .iter()
                .filter(|a| {
                    Scheme::Rpm.compare(&a.evr, &self.candidate).ok() == Some(Ordering::Equal)
                })
                .filter_map(|a| a.updated)
                .max()
                .map(|t| (t, "advisory"))
                .or_else(|| built.map(|t| (t, "build")))
                .or_else(|| {
                    advisories
                        .iter()
                        .filter_map(|a| a.updated)
                        .max()
                        .map(|t| (t, "older advisory"))
                }),
        }
    }

    /// "installed 1.0-1, update 1.1-1 (priority important, section net,
    /// from Debian-Security:12/stable-security)", or on rpm "installed 1.0-1,
    /// update 1.1-1 (RHSA-2026:0001 security Important of 2026-11-20, from
    /// baseos)".
    fn describe(&self) -> String {
        let or_none = |s: &str| {
            if s.is_empty() {
                "none".to_string()
            } else {
                s.to_string()
            }
        };
        let about = match &self.facts {
            Facts::Apt {
                priority,
                section,
                origins,
            } => format!(
                "priority {}, section {}, from {}",
                or_none(priority),
                or_none(section),
                or_none(origins)
            ),
            Facts::Dnf {
                repo, advisories, ..
            } => {
                let mut ids: Vec<String> = advisories
                    .iter()
                    .map(|a| {
                        let mut d = format!("{} {}", a.id, a.kind);
                        if !a.severity.is_empty() {
                            d.push_str(&format!(" {}", a.severity));
                        }
                        if let Some(t) = a.updated {
                            d.push_str(&format!(" of {}", t.format("%Y-%m-%d")));
                        }
                        d
                    })
                    .collect();
                ids.dedup();
                if ids.is_empty() {
                    ids.push("no advisory".into());
                }
                format!("{}, from {}", ids.join(", "), or_none(repo))
            }
        };
        format!(
            "installed {}, update {} ({about})",
            self.installed, self.candidate
        )
    }
}

/// Where the updates come from: the package manager of the root's system.
enum Source<'a> {
    Apt(AptTarget<'a>),
    Dnf(RpmTarget<'a>),
}

impl Source<'_> {
    fn name(&self) -> &'static str {
        match self {
            Source::Apt(_) => "apt",
            Source::Dnf(_) => "dnf",
        }
    }

    /// The command that installs updates.
    fn tool(&self) -> &'static str {
        match self {
            Source::Apt(_) => "apt-get",
            Source::Dnf(_) => "dnf",
        }
    }

    /// How result ids join a name and an architecture, as the system
    /// itself writes it.
    fn arch_separator(&self) -> char {
        match self {
            Source::Apt(_) => ':',
            Source::Dnf(_) => '.',
        }
    }

    /// What the version on offer is, for messages.
    fn candidate(&self) -> &'static str {
        match self {
            Source::Apt(_) => "apt's candidate (after pins)",
            Source::Dnf(_) => "the newest version dnf offers",
        }
    }
}

/// An update the baseline wants installed.
struct Missing {
    offer: Offer,
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
        self.check_fits(db.scheme)?;
        let source = match db.scheme {
            Scheme::Dpkg => Source::Apt(AptTarget {
                root: ctx.root,
                lock_timeout: self.lock_timeout,
            }),
            Scheme::Rpm => Source::Dnf(RpmTarget {
                root: ctx.root,
                lock_timeout: self.lock_timeout,
            }),
        };
        // Check mode changes nothing, not even the package manager's
        // metadata: it judges by what the last refresh left.
        let (offers, note) = match &source {
            Source::Apt(t) => apt::offers(ctx, t, &db)?,
            Source::Dnf(t) => dnf::offers(ctx, t, &db)?,
        };

        let now = Utc::now();
        let mut results = Vec::new();
        let mut missing = Vec::new();
        for o in &offers {
            match self.judge(o, db.scheme, scan, now, &source)? {
                Verdict::Missing(why) => missing.push(Missing {
                    offer: o.clone(),
                    why,
                }),
                Verdict::Report(compliance, detail) => {
                    results.push(resource(ctx, &o.id, compliance, false, detail))
                }
            }
        }

        // Minimums of packages with no update on offer.
        for (name, min) in &self.minimums {
            if offers.iter().any(|o| o.names().contains(name)) {
                continue;
            }
            let r = match installed_version(&db, name) {
                None => resource(
                    ctx,
                    name,
                    Compliance::Skipped,
                    false,
                    "not installed".into(),
                ),
                Some(v) if compare(db.scheme, v, min)? != Ordering::Less => resource(
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
                        "installed {v} is older than minimum {min}, and {} offers no update \
                         for it (none in the configured repositories, pinned, or excluded)",
                        source.name()
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
                    &m.offer.id,
                    Compliance::NonCompliant,
                    false,
                    format!("{}; approved update missing{note}", m.why),
                ));
            }
        } else {
            let installed = self.install(ctx, &source, &db, &missing);
            install::merge(&mut results, installed);
        }
        if results.is_empty() {
            results.push(resource(
                ctx,
                "baseline",
                Compliance::Compliant,
                false,
                format!("no updates available{note}"),
            ));
        }

        // A Scan never reboots.
        let reboot = if scan {
            None
        } else {
            match &source {
                Source::Apt(_) => apt::reboot_due(ctx),
                Source::Dnf(_) => dnf::reboot_due(ctx, &results),
            }
        };
        Ok((results, reboot))
    }

    /// What the baseline makes of one update on offer.
    fn judge(
        &self,
        o: &Offer,
        scheme: Scheme,
        scan: bool,
        now: DateTime<Utc>,
        source: &Source,
    ) -> Result<Verdict, String> {
        let what = o.describe();
        if listed(&self.rejected, o) {
            return Ok(Verdict::Report(
                Compliance::Skipped,
                format!("{what}; rejected by rejectedPatches"),
            ));
        }
        let minimum = o.names().iter().find_map(|n| self.minimums.get(n));
        let why = match minimum {
            Some(min) if compare(scheme, &o.installed, min)? == Ordering::Less => {
                if compare(scheme, &o.candidate, min)? == Ordering::Less {
                    return Ok(Verdict::Report(
                        Compliance::Failed,
                        format!(
                            "installed {} is older than minimum {min}, and {} is only {}",
                            o.installed,
                            source.candidate(),
                            o.candidate
                        ),
                    ));
                }
                format!("{what}; installed is older than minimum {min}")
            }
            _ if self.rules_approve(o) => {
                if self.approve_after_days > 0 && !listed(&self.approved, o) {
                    match o.released() {
                        None => {
                            return Ok(Verdict::Report(
                                Compliance::Skipped,
                                format!(
                                    "{what}; no release date (no advisory, no build time), so \
                                     approveAfterDays cannot approve it"
                                ),
                            ))
                        }
                        Some((released, from)) => {
                            if let Some(when) = self.approved_from(released, now) {
                                return Ok(Verdict::Report(
                                    Compliance::Skipped,
                                    format!(
                                        "{what}; released {} ({from} date), approved after {} \
                                         days, from {}",
                                        released.format("%Y-%m-%d %H:%M UTC"),
                                        self.approve_after_days,
                                        when.format("%Y-%m-%d %H:%M UTC")
                                    ),
                                ));
                            }
                        }
                    }
                }
                what
            }
            _ => {
                return Ok(Verdict::Report(
                    Compliance::Skipped,
                    format!("{what}; not approved by the baseline"),
                ))
            }
        };
        if o.held {
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

/// Whether `o` is named in `list`, by name or by its id.
fn listed(list: &BTreeSet<String>, o: &Offer) -> bool {
    o.names().iter().any(|n| list.contains(n))
}

/// Whether two list entries name the same package: equal, or one is the
/// other with an architecture (`name:arch` on dpkg, `name.arch` on rpm).
fn same_package(a: &str, b: &str) -> bool {
    let qualifies = |long: &str, short: &str| {
        long.strip_prefix(short)
            .is_some_and(|rest| rest.starts_with([':', '.']) && rest.len() > 1)
    };
    a == b || qualifies(a, b) || qualifies(b, a)
}

fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, String> {
    scheme
        .compare(a, b)
        .map_err(|e| format!("cannot compare {a} with {b}: {e}"))
}

/// The installed version a list entry names: `name`, `name:arch`, or rpm's
/// `name.arch` (tried as a name first, since rpm names may hold dots).
fn installed_version<'a>(db: &'a Installed, entry: &str) -> Option<&'a str> {
    db.version_of(entry).or_else(|| {
        let (name, arch) = entry.rsplit_once('.')?;
        db.version_of(&format!("{name}:{arch}"))
    })
}

/// The id of an installed instance: its name, or `name{sep}arch` when more
/// than one architecture of it is installed (several versions of one
/// architecture, as rpm keeps kernels, are still one name).
fn instance_id(db: &Installed, name: &str, arch: &str, sep: char) -> String {
    if db.architectures_of(name).len() > 1 {
        format!("{name}{sep}{arch}")
    } else {
        name.to_string()
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

    fn action(inputs: Value) -> PatchBaselineAction {
        PatchBaselineAction::from_inputs("p", &inputs).unwrap()
    }

    #[test]
    fn bad_inputs_are_named() {
        let p = problems(json!({
            "operation": "Upgrade",
            "rebootOption": "Always",
            "minimumVersions": {"openssl": "3.0 beta"},
            "approveAfterDays": 400,
            "classifications": ["Security", "Hotfix"],
            "severities": ["urgent"],
        }));
        assert_eq!(p.len(), 6, "{p:?}");
        assert!(p[0].contains("'operation'"), "{p:?}");
        assert!(p[1].contains("'rebootOption'"), "{p:?}");
        assert!(
            p.iter().any(|e| e.contains("minimumVersions 'openssl'")),
            "{p:?}"
        );
        assert!(p.iter().any(|e| e.contains("from 0 to 360")), "{p:?}");
        assert!(
            p.iter()
                .any(|e| e.contains("'classifications' has unknown value 'hotfix'")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|e| e.contains("'severities' has unknown value 'urgent'")),
            "{p:?}"
        );
        assert!(problems(json!({"minimumVersions": ["a"]}))[0].contains("mapping"));
        let p = problems(json!({"rejectedPatches": ["m"], "minimumVersions": {"m": "2.0"}}));
        assert!(
            p[0].contains("'m' is in rejectedPatches and 'm' in minimumVersions"),
            "{p:?}"
        );
        // The same package with and without its architecture.
        let p = problems(json!({"rejectedPatches": ["m.i686"], "minimumVersions": {"m": "2.0"}}));
        assert_eq!(p.len(), 1, "{p:?}");
        let p = problems(json!({"rejectedPatches": ["m"], "minimumVersions": {"m:i386": "2.0"}}));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            problems(json!({"rejectedPatches": ["m"], "minimumVersions": {"m.x": "2"}})).len() == 1
        );
        assert!(problems(
            json!({"rejectedPatches": ["python3"], "minimumVersions": {"python3-libs": "2"}})
        )
        .is_empty());
        // Debian's priorities are a fixed set; patterns are not names.
        let p = problems(json!({"priorities": ["bogus"], "approvedPatches": ["openssl*"]}));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("'priorities' has unknown value 'bogus'"),
            "{p:?}"
        );
        assert!(p[1].contains("patterns are not supported"), "{p:?}");
        assert!(problems(json!({"minimumVersions": {"al*": "1.1"}}))[0]
            .contains("patterns are not supported"));
        // An empty parameter is no value.
        assert!(problems(json!({"severities": [""], "rejectedPatches": [""]})).is_empty());
        // Either system's version syntax passes validation: rpm's caret.
        assert!(problems(json!({"minimumVersions": {"m": "1.0^git1"}})).is_empty());
    }

    #[test]
    fn inputs_of_the_other_system_are_refused_when_the_step_runs() {
        let dpkg_only = action(json!({"priorities": ["important"]}));
        assert!(dpkg_only.check_fits(Scheme::Dpkg).is_ok());
        let e = dpkg_only.check_fits(Scheme::Rpm).unwrap_err();
        assert!(
            e.contains("priorities and sections are Debian package fields"),
            "{e}"
        );
        let rpm_only = action(json!({"classifications": ["Security"], "approveAfterDays": 7}));
        assert!(rpm_only.check_fits(Scheme::Rpm).is_ok());
        let e = rpm_only.check_fits(Scheme::Dpkg).unwrap_err();
        assert!(
            e.contains("approveAfterDays is not supported on Debian"),
            "{e}"
        );
        // The shipped document passes every input; zero and empty lists
        // mean "no rule" on both systems.
        let neutral = action(json!({"approveAfterDays": 0, "priorities": [], "severities": []}));
        assert!(neutral.check_fits(Scheme::Dpkg).is_ok());
        assert!(neutral.check_fits(Scheme::Rpm).is_ok());
    }

    fn offer(facts: Facts) -> Offer {
        Offer {
            id: "x".into(),
            name: "x".into(),
            lookup: "x".into(),
            installed: "1".into(),
            candidate: "2".into(),
            arch: None,
            install_as: "x".into(),
            held: false,
            facts,
        }
    }

    #[test]
    fn rules_match_priority_section_and_security_archive() {
        let a =
            action(json!({"priorities": ["Important"], "sections": ["net"], "securityOnly": true}));
        // Origins as apt labels Debian's security and main archives.
        const SECURITY: &str = "Debian-Security:12/stable-security";
        const MAIN: &str = "Debian:12.11/stable";
        let apt = |p: &str, s: &str, origins: &str| {
            offer(Facts::Apt {
                priority: p.into(),
                section: s.into(),
                origins: origins.into(),
            })
        };
        assert!(a.rules_approve(&apt("important", "net", SECURITY)));
        assert!(a.rules_approve(&apt("important", "non-free/net", SECURITY)));
        assert!(!a.rules_approve(&apt("optional", "net", SECURITY)));
        assert!(!a.rules_approve(&apt("important", "admin", SECURITY)));
        assert!(!a.rules_approve(&apt("important", "net", MAIN)));
    }

    fn advisory(kind: &str, severity: &str, updated: &str) -> Advisory {
        Advisory {
            id: "A-1".into(),
            kind: kind.into(),
            severity: severity.into(),
            updated: Some(
                chrono::NaiveDateTime::parse_from_str(updated, "%Y-%m-%d %H:%M")
                    .unwrap()
                    .and_utc(),
            ),
            name: "x".into(),
            arch: "noarch".into(),
            evr: "2".into(),
        }
    }

    fn dnf(advisories: Vec<Advisory>) -> Offer {
        offer(Facts::Dnf {
            repo: "baseos".into(),
            advisories,
            built: None,
        })
    }

    #[test]
    fn rules_match_classification_and_severity_of_any_covering_advisory() {
        let a = action(
            json!({"classifications": ["Security"], "severities": ["Critical", "Important"]}),
        );
        let important = dnf(vec![advisory("security", "Important", "2026-11-01 00:00")]);
        assert!(a.rules_approve(&important));
        // Amazon Linux spells severities in lowercase.
        assert!(a.rules_approve(&dnf(vec![advisory(
            "security",
            "critical",
            "2026-11-01 00:00"
        )])));
        assert!(!a.rules_approve(&dnf(vec![advisory("security", "Low", "2026-11-01 00:00")])));
        assert!(!a.rules_approve(&dnf(vec![advisory("bugfix", "", "2026-11-01 00:00")])));
        // An update that no advisory covers matches no filter ...
        assert!(!a.rules_approve(&dnf(vec![])));
        // ... and every update when there are none.
        assert!(action(json!({})).rules_approve(&dnf(vec![])));
        let both = dnf(vec![
            advisory("bugfix", "", "2026-11-01 00:00"),
            advisory("security", "Important", "2026-11-02 00:00"),
        ]);
        assert!(action(json!({"securityOnly": true})).rules_approve(&both));
    }

    #[test]
    fn release_is_the_newest_advisory_date_and_approval_waits_whole_days() {
        let a = action(json!({"approveAfterDays": 7}));
        let o = dnf(vec![
            advisory("security", "Important", "2026-11-20 10:00"),
            advisory("bugfix", "", "2026-11-01 00:00"),
        ]);
        let (released, from) = o.released().unwrap();
        assert_eq!(released.to_rfc3339(), "2026-11-20T10:00:00+00:00");
        assert_eq!(from, "advisory");
        // Patch Manager's own example: released 18:00, 7 days, approved
        // after the same time a week later (UTC).
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
                .unwrap()
                .and_utc()
        };
        assert_eq!(
            a.approved_from(released, at("2026-11-27 09:59")),
            Some(at("2026-11-27 10:00"))
        );
        assert_eq!(a.approved_from(released, at("2026-11-27 10:00")), None);
    }
}
