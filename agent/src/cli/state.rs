//! The state directory: where the outbox and step scripts live.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use nix::unistd::Uid;

/// The flag or RAMPART_STATE_DIR, else /var/lib/rampart for root, else the
/// XDG state directory.
pub fn state_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        // Absolute, because step scripts are run by path from another
        // working directory.
        return std::path::absolute(&dir)
            .with_context(|| format!("failed to resolve --state-dir {}", dir.display()));
    }
    if Uid::effective().is_root() {
        return Ok(PathBuf::from("/var/lib/rampart"));
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("rampart"));
    }
    let home =
        std::env::var_os("HOME").ok_or_else(|| anyhow!("HOME is not set; pass --state-dir"))?;
    Ok(PathBuf::from(home).join(".local/state/rampart"))
}
