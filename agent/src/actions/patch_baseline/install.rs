//! Installing the updates a patch baseline approved, and reporting what
//! the package manager then left: each update as dpkg has it, and every
//! other package the run changed.

use std::cmp::Ordering;
use std::io::IsTerminal;

use super::{compare, resource, Missing, PatchBaselineAction};
use crate::actions::package::Installed;
use crate::actions::StepContext;
use crate::output::{Compliance, ResourceResult};
use crate::platform::apt::AptTarget;

impl PatchBaselineAction {
    /// Installs the missing updates in one apt run, then reads the database
    /// again, failed or not: each result says what dpkg now has, not what
    /// was asked for, and any other package the run changed (a dependency,
    /// even a rejected one, as Patch Manager allows by default) is reported
    /// too.
    pub(super) fn install(
        &self,
        ctx: &StepContext,
        target: &AptTarget,
        missing: &[Missing],
    ) -> Vec<ResourceResult> {
        let before = ctx.packages.get(ctx.root).ok();
        let specs: Vec<String> = missing.iter().map(|m| m.upgrade.spec.clone()).collect();
        let progress = std::io::stderr().is_terminal();
        if progress {
            eprintln!(
                "rampart: installing {} updates: {}",
                specs.len(),
                specs.join(" ")
            );
        }
        let done = target.upgrade(&specs, progress);
        ctx.packages.invalidate();
        let after = match ctx.packages.get(ctx.root) {
            Ok(db) => db,
            Err(e) => {
                return missing
                    .iter()
                    .map(|m| resource(ctx, &m.upgrade.spec, Compliance::Failed, false, e.clone()))
                    .collect()
            }
        };
        let error = done.as_ref().err().map(|e| format!(": {e}"));
        let mut results: Vec<ResourceResult> = missing
            .iter()
            .map(|m| {
                let u = &m.upgrade;
                let now = after.version_of(&u.spec).map(str::to_string);
                match now {
                    Some(v) if compare(&v, &u.candidate).ok() != Some(Ordering::Less) => {
                        tracing::info!(
                            event = "package_changed",
                            package = %u.spec,
                            from = %u.installed,
                            to = %v,
                            "installed update"
                        );
                        resource(
                            ctx,
                            &u.spec,
                            Compliance::Compliant,
                            true,
                            format!("upgraded {} to {v} ({})", u.installed, m.why),
                        )
                    }
                    now => resource(
                        ctx,
                        &u.spec,
                        Compliance::Failed,
                        now.as_deref() != Some(u.installed.as_str()),
                        format!(
                            "{} after apt-get, want {}{}",
                            now.map_or("not installed".into(), |v| format!("still {v}")),
                            u.candidate,
                            error.as_deref().unwrap_or_default()
                        ),
                    ),
                }
            })
            .collect();
        if let Some(before) = before {
            results.extend(side_effects(ctx, &before, &after, &specs));
        }
        results
    }
}

/// Packages an install run changed besides the updates it was given.
fn side_effects(
    ctx: &StepContext,
    before: &Installed,
    after: &Installed,
    specs: &[String],
) -> Vec<ResourceResult> {
    let mut out = Vec::new();
    for (name, instances) in &before.packages {
        let asked = specs
            .iter()
            .any(|s| s == name || s.split_once(':').is_some_and(|(n, _)| n == name));
        if asked {
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
