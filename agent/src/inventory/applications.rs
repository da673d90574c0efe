//! `AWS:Application`: installed packages, from dpkg's status file read
//! directly, or from `rpm -qa` where rpm is the package manager.
//!
//! A multi-arch dpkg package installed for two architectures is two items, as
//! dpkg itself lists it; packages that are only configuration files, or stuck
//! half-way through an operation, are not installed and are left out.

use super::{Entry, InventoryItem};
use crate::platform::{dpkg, rpm, Root};

/// Schema version of the `AWS:Application` type.
const APPLICATION_SCHEMA: &str = "1.1";

pub fn applications(root: &Root) -> Result<InventoryItem, String> {
    let mut content = Vec::new();
    if dpkg::present(root) {
        let pkgs = dpkg::read_status(root)
            .map_err(|e| format!("failed to read {}: {e}", dpkg::STATUS_PATH))?;
        for p in pkgs.into_iter().filter(|p| p.is_installed()) {
            let mut e = Entry::new();
            e.insert(
                "PackageId".into(),
                format!("{}_{}_{}.deb", p.name, p.version, p.architecture),
            );
            e.insert("Name".into(), p.name);
            e.insert("Version".into(), p.version);
            e.insert("Architecture".into(), p.architecture);
            e.insert("Publisher".into(), p.maintainer);
            e.insert("ApplicationType".into(), p.section);
            e.insert("URL".into(), p.homepage);
            e.insert("Summary".into(), p.summary);
            content.push(e);
        }
    } else if rpm::present(root) {
        for p in rpm::list_installed(root).map_err(|e| format!("failed to query rpm: {e}"))? {
            let mut e = Entry::new();
            e.insert(
                "PackageId".into(),
                format!(
                    "{}-{}-{}.{}.rpm",
                    p.name, p.version, p.release, p.architecture
                ),
            );
            e.insert("Name".into(), p.name);
            e.insert("Version".into(), p.version);
            e.insert("Release".into(), p.release);
            e.insert("Epoch".into(), p.epoch);
            e.insert("Architecture".into(), p.architecture);
            e.insert("Publisher".into(), p.vendor);
            e.insert("URL".into(), p.url);
            e.insert("Summary".into(), p.summary);
            e.insert("InstalledTime".into(), p.install_time);
            content.push(e);
        }
    }
    Ok(InventoryItem::new(
        "AWS:Application",
        APPLICATION_SCHEMA,
        content,
    ))
}
