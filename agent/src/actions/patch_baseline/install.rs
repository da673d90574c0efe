//! Installing the updates a patch baseline approved, and reporting what
//! the package manager then left: each update as the package database has
//! it, and every other package the run changed.

use std::cmp::Ordering;
use std::io::IsTerminal;

use super::{compare, instance_id, resource, Missing, PatchBaselineAction, Source};
use crate::actions::package::Installed;
use crate::actions::StepContext;
use crate::output::{Compliance, ResourceResult};

impl PatchBaselineAction {
    /// Installs the missing updates in one package manager run (apt
    /// installs each candidate, dnf each exact version judged), then reads
    /// the database again, failed or not: each result says what the
    /// database now has, not what was asked for, and any other package
    /// the run changed (a dependency, even a rejected one, as Patch Manager
    /// allows by default) is reported too.
    pub(super) fn install(
        &self,
        ctx: &StepContext,
        source: &Source,
        before: &Installed,
        missing: &[Missing],
    ) -> Vec<ResourceResult> {
        let specs: Vec<String> = missing.iter().map(|m| m.offer.install_as.clone()).collect();
        let progress = std::io::stderr().is_terminal();
        if progress {
            eprintln!(
                "rampart: installing {} updates: {}",
                specs.len(),
                specs.join(" ")
            );
        }
        let done = match source {
            Source::Apt(t) => t.upgrade(&specs, progress).map_err(|e| e.to_string()),
            Source::Dnf(t) => t.upgrade_to(&specs, progress).map_err(|e| e.to_string()),
        };
        ctx.packages.invalidate();
        let after = match ctx.packages.get(ctx.root) {
            Ok(db) => db,
            Err(e) => {
                return missing
                    .iter()
                    .map(|m| resource(ctx, &m.offer.id, Compliance::Failed, false, e.clone()))
                    .collect()
            }
        };
        let failure = done.as_ref().err();
        let mut results: Vec<ResourceResult> = missing
            .iter()
            .map(|m| {
                let u = &m.offer;
                let now = after.version_of(&u.lookup).map(str::to_string);
                match now {
                    Some(v)
                        if compare(after.scheme, &v, &u.candidate).ok() != Some(Ordering::Less) =>
                    {
                        tracing::info!(
                            event = "package_changed",
                            package = %u.id,
                            from = %u.installed,
                            to = %v,
                            "installed update"
                        );
                        resource(
                            ctx,
                            &u.id,
                            Compliance::Compliant,
                            true,
                            format!("upgraded {} to {v} ({})", u.installed, m.why),
                        )
                    }
                    now => {
                        let state = now
                            .as_deref()
                            .map_or("not installed".into(), |v| format!("still {v}"));
                        let detail = match failure {
                            Some(e) => format!(
                                "{state}, want {}: the {} run failed: {e}",
                                u.candidate,
                                source.tool()
                            ),
                            // The run succeeded without installing it: what
                            // the tool said last is the best clue why.
                            None => format!(
                                "{state} after {}, want {}; it ended with: {}",
                                source.tool(),
                                u.candidate,
                                last_lines(done.as_deref().unwrap_or_default())
                            ),
                        };
                        resource(
                            ctx,
                            &u.id,
                            Compliance::Failed,
                            now.as_deref() != Some(u.installed.as_str()),
                            detail,
                        )
                    }
                }
            })
            .collect();
        results.extend(side_effects(
            ctx,
            before,
            &after,
            missing,
            source.arch_separator(),
        ));
        results
    }
}

/// Adds the install run's rows to the earlier ones. A package the run
/// changed on the side (a dependency, another architecture of an update)
/// may have had a row already, "not approved" or "rejected": that row is
/// no longer true, so the new one takes its place and keeps its reason.
pub(super) fn merge(results: &mut Vec<ResourceResult>, installed: Vec<ResourceResult>) {
    for mut row in installed {
        if let Some(i) = results.iter().position(|r| r.id == row.id) {
            let earlier = results.remove(i);
            row.detail = format!("{}; before the run: {}", row.detail, earlier.detail);
        }
        results.push(row);
    }
}

/// Packages an install run changed besides the updates it was given: every
/// (name, architecture) whose installed versions differ, unless it is an
/// update's own instance.
fn side_effects(
    ctx: &StepContext,
    before: &Installed,
    after: &Installed,
    missing: &[Missing],
    sep: char,
) -> Vec<ResourceResult> {
    // An update's instance: `name:arch`, or every architecture of `name`
    // when the update named none.
    let is_update = |name: &str, arch: &str| {
        missing
            .iter()
            .any(|m| match m.offer.lookup.split_once(':') {
                Some((n, a)) => n == name && a == arch,
                None => m.offer.lookup == name,
            })
    };
    let mut out = Vec::new();
    let mut names: Vec<&String> = before.packages.keys().collect();
    names.sort();
    for name in names {
        for arch in before.architectures_of(name) {
            if is_update(name, arch) {
                continue;
            }
            let was = before.versions_of(name, arch);
            let now = after.versions_of(name, arch);
            if was == now {
                continue;
            }
            let id = instance_id(before, name, arch, sep);
            let (compliance, detail) = match (&was[..], &now[..]) {
                ([was], [now]) => (
                    Compliance::Compliant,
                    format!("upgraded {was} to {now} by the update run (a dependency, or another architecture, of an update)"),
                ),
                (was, []) => (
                    Compliance::Failed,
                    format!("{} ({arch}) is no longer installed after the update run", was.join(", ")),
                ),
                (was, now) => (
                    Compliance::Compliant,
                    format!(
                        "now {} ({arch}), was {}, after the update run",
                        now.join(", "),
                        was.join(", ")
                    ),
                ),
            };
            out.push(resource(ctx, &id, compliance, true, detail));
        }
    }
    out
}

/// The last few lines of a tool's output, joined, for a result's detail.
fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}
