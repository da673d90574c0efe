//! The updates dnf offers an rpm root: the newest version of each installed
//! package in its repositories, with the advisories that cover it.

use std::cmp::Ordering;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{instance_id, Facts, Offer};
use crate::actions::package::Installed;
use crate::actions::{Mode, StepContext};
use crate::output::ResourceResult;
use crate::platform::dnf::CACHE_DIR;
use crate::platform::pkg_tool::ToolError;
use crate::platform::rpm::{self, Frontend, RpmError, RpmTarget};
use crate::platform::version::Scheme;

/// Packages whose update takes effect only after a reboot: the list
/// dnf-utils' `needs-restarting -r` uses (after Red Hat's guidance), with
/// the split kernel packages of RHEL 8 and later.
const NEED_REBOOT: [&str; 11] = [
    "kernel",
    "kernel-core",
    "kernel-rt",
    "kernel-rt-core",
    "glibc",
    "linux-firmware",
    "systemd",
    "dbus",
    "dbus-broker",
    "dbus-daemon",
    "microcode_ctl",
];

/// The updates on offer, and a note on how fresh the metadata is (check
/// mode, which downloads none).
pub(super) fn offers(
    ctx: &StepContext,
    target: &RpmTarget,
    db: &Installed,
) -> Result<(Vec<Offer>, String), String> {
    target
        .frontend_sees_database(Frontend::Dnf)
        .map_err(explain)?;
    let cache = ctx.root.join(Path::new(CACHE_DIR));
    let cache_only = ctx.mode == Mode::Check;
    if !cache_only {
        target.refresh().map_err(explain)?;
    }
    // No metadata at all is no repository, not no updates: apt's rule
    // for a root without package lists.
    let Some(fetched) = newest_metadata(&cache) else {
        return Err(if cache_only {
            RpmError::NoMetadataCache(cache.display().to_string()).to_string()
        } else {
            "dnf fetched no repository metadata: the root has no enabled repository; \
             check its /etc/yum.repos.d"
                .into()
        });
    };
    if !target.has_enabled_repository(cache_only).map_err(explain)? {
        return Err("dnf has no enabled repository in this root (check its \
                    /etc/yum.repos.d): with nothing to compare against, no update can be \
                    called missing or installed"
            .into());
    }
    let note = if cache_only {
        format!(
            "; repository metadata of {}",
            fetched.format("%Y-%m-%d %H:%M UTC")
        )
    } else {
        String::new()
    };
    let candidates = target.upgrades(cache_only).map_err(explain)?;
    let advisories = target.advisories(cache_only).map_err(explain)?;
    let offers = candidates
        .into_iter()
        .map(|c| {
            let lookup = format!("{}:{}", c.name, c.arch);
            // A noarch update of an arch package (or the reverse) replaces
            // the one instance there is.
            let (lookup, installed) = match db.version_of(&lookup) {
                Some(v) => (lookup.clone(), v.to_string()),
                None => (
                    c.name.clone(),
                    db.version_of(&c.name).unwrap_or_default().to_string(),
                ),
            };
            let covering = advisories
                .iter()
                .filter(|a| a.name == c.name && a.arch == c.arch)
                .filter(|a| Scheme::Rpm.compare(&a.evr, &c.evr).ok() != Some(Ordering::Greater))
                .cloned()
                .collect();
            Offer {
                id: instance_id(db, &c.name, &c.arch, '.'),
                arch: Some(c.arch.clone()),
                install_as: c.nevra(),
                lookup,
                installed,
                candidate: c.evr,
                held: false,
                name: c.name,
                facts: Facts::Dnf {
                    repo: c.repo,
                    advisories: covering,
                    built: c.built,
                },
            }
        })
        .collect();
    Ok((offers, note))
}

/// The error, or what to do when there is no dnf at all.
fn explain(e: RpmError) -> String {
    match e {
        RpmError::Tool(ToolError::Spawn { .. }) => "rampart:patchBaseline on rpm systems needs \
             dnf (RHEL 8 and later, Amazon Linux 2023, Fedora), and this host has none; \
             yum-only systems (Amazon Linux 2, RHEL 7) and zypper are not supported: enforce \
             fixed versions there with rampart:package and minimumVersion"
            .into(),
        e => e.to_string(),
    }
}

/// A reboot is due when this run updated a package of [`NEED_REBOOT`], or,
/// on the live host, when one was installed after the last boot (an
/// earlier run's install that no reboot has followed yet).
pub(super) fn reboot_due(ctx: &StepContext, results: &[ResourceResult]) -> Option<String> {
    let needs_reboot = |id: &str| {
        NEED_REBOOT
            .iter()
            .any(|n| id == *n || id.strip_prefix(n).is_some_and(|r| r.starts_with('.')))
    };
    if let Some(r) = results.iter().find(|r| r.changed && needs_reboot(&r.id)) {
        return Some(format!("reboot required (this run updated {})", r.id));
    }
    if !ctx.root.is_host() {
        return None;
    }
    let boot = sysinfo::System::boot_time();
    let pending = rpm::list_installed(ctx.root)
        .ok()?
        .into_iter()
        .find(|p| needs_reboot(&p.name) && p.install_time.parse::<u64>().is_ok_and(|t| t > boot))?;
    Some(format!(
        "reboot required ({} {} was installed after the last boot)",
        pending.name,
        pending.evr()
    ))
}

/// When dnf last downloaded metadata: its newest cached `repomd.xml`.
fn newest_metadata(cache: &Path) -> Option<DateTime<Utc>> {
    std::fs::read_dir(cache)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            std::fs::metadata(e.path().join("repodata/repomd.xml"))
                .and_then(|m| m.modified())
                .ok()
        })
        .max()
        .map(DateTime::<Utc>::from)
}
