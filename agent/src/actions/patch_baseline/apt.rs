//! The updates apt offers a dpkg root: what a full upgrade would install
//! (`apt-get -s dist-upgrade`), with each candidate's `Priority` and
//! `Section` from `apt-cache show`.

use std::path::Path;

use super::{Facts, Offer};
use crate::actions::package::Installed;
use crate::actions::{Mode, StepContext};
use crate::platform::apt::AptTarget;

/// Where Debian and Ubuntu packages ask for a reboot (update-notifier's
/// convention, written by kernel, libc and similar packages).
const REBOOT_FLAGS: [&str; 2] = ["/run/reboot-required", "/var/run/reboot-required"];

/// The updates on offer, and a note on how fresh the lists are (check
/// mode, which does not refresh them).
pub(super) fn offers(
    ctx: &StepContext,
    target: &AptTarget,
    db: &Installed,
) -> Result<(Vec<Offer>, String), String> {
    let lists = ctx.root.join(Path::new("/var/lib/apt/lists"));
    let note = if ctx.mode == Mode::Apply {
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
    let offers = upgrades
        .into_iter()
        .map(|u| {
            let f = fields
                .get(&(u.name.clone(), u.candidate.clone()))
                .cloned()
                .unwrap_or_default();
            // apt names a foreign architecture; the native one is the one
            // instance installed.
            let arch = match u.spec.split_once(':') {
                Some((_, a)) => Some(a.to_string()),
                None => match db.architectures_of(&u.name)[..] {
                    [one] => Some(one.to_string()),
                    _ => None,
                },
            };
            Offer {
                arch,
                id: u.spec.clone(),
                lookup: u.spec.clone(),
                install_as: u.spec.clone(),
                name: u.name,
                installed: u.installed,
                candidate: u.candidate,
                held: u.kept_back,
                facts: Facts::Apt {
                    priority: f.priority,
                    section: f.section,
                    origins: u.origins,
                },
            }
        })
        .collect();
    Ok((offers, note))
}

/// A reboot a package asked for, whether this run or an earlier one
/// installed it.
pub(super) fn reboot_due(ctx: &StepContext) -> Option<String> {
    REBOOT_FLAGS
        .iter()
        .find(|f| ctx.root.join(Path::new(f)).exists())
        .map(|f| format!("reboot required ({f} exists)"))
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
