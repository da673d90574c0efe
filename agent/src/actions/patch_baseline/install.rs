//! Installing the updates a patch baseline approved, and reporting what
//! the package manager then left: each update as the package database has
//! it, and every other package the run changed.

use std::cmp::Ordering;
use std::io::IsTerminal;

use super::{compare, resource, Missing, PatchBaselineAction, Source};
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
        let error = done.as_ref().err().map(|e| format!(": {e}"));
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
                    now => resource(
                        ctx,
                        &u.id,
                        Compliance::Failed,
                        now.as_deref() != Some(u.installed.as_str()),
                        format!(
                            "{} after {}, want {}{}",
                            now.map_or("not installed".into(), |v| format!("still {v}")),
                            source.tool(),
                            u.candidate,
                            error.as_deref().unwrap_or_default()
                        ),
                    ),
                }
            })
            .collect();
        let names: Vec<&str> = missing.iter().map(|m| m.offer.name.as_str()).collect();
        results.extend(side_effects(ctx, before, &after, &names));
        results
    }
}

/// Packages an install run changed besides the updates it was given.
fn side_effects(
    ctx: &StepContext,
    before: &Installed,
    after: &Installed,
    updated: &[&str],
) -> Vec<ResourceResult> {
    let mut out = Vec::new();
    for (name, instances) in &before.packages {
        if updated.contains(&name.as_str()) {
            continue;
        }
        for (arch, was) in instances {
            let now = after
                .packages
                .get(name)
                .and_then(|v| v.iter().find(|(a, _)| a == arch))
                .map(|(_, v)| v.as_str());
            match now {
                Some(v) if v == was => {}
                Some(v) => out.push(resource(
                    ctx,
                    name,
                    Compliance::Compliant,
                    true,
                    format!("upgraded {was} to {v} as a dependency of an update"),
                )),
                None => out.push(resource(
                    ctx,
                    name,
                    Compliance::Failed,
                    true,
                    format!("{was} ({arch}) is no longer installed after the update run"),
                )),
            }
        }
    }
    out
}
