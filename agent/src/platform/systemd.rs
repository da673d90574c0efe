//! Service state through the real `systemctl`.
//!
//! When the root is the live host and systemd is its init, `systemctl` talks to
//! the running manager. Otherwise (an image root, a test root, a container
//! without systemd) it runs as `systemctl --root=DIR`, which reads and edits
//! unit files and their symlinks offline. Runtime state (running or stopped)
//! only exists with a live manager; offline, nothing under the root can be
//! running, and callers are told so rather than getting an error.

use std::path::Path;
use std::process::{Command, Output};

use thiserror::Error;

use super::Root;

#[derive(Debug, Error)]
pub enum SystemdError {
    #[error("failed to run systemctl (is systemd installed?): {0}")]
    Spawn(#[source] std::io::Error),
    #[error("systemctl {verb} {unit} failed: {message}")]
    Command {
        verb: String,
        unit: String,
        message: String,
    },
}

/// How `systemctl` is reached for this root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    /// The running host's systemd, over its bus.
    Live,
    /// Unit files under a root directory, no manager.
    Offline(std::path::PathBuf),
}

impl Manager {
    /// Live when the root is `/` and systemd is PID 1 (the test systemd itself
    /// uses: `/run/systemd/system` exists), offline otherwise.
    pub fn for_root(root: &Root) -> Self {
        if root.is_host() && Path::new("/run/systemd/system").is_dir() {
            Manager::Live
        } else {
            Manager::Offline(root.dir().to_path_buf())
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Manager::Live)
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new("systemctl");
        if let Manager::Offline(dir) = self {
            cmd.arg(format!("--root={}", dir.display()));
        }
        cmd.arg("--no-pager");
        cmd
    }

    fn run(&self, verb: &str, unit: &str) -> Result<Output, SystemdError> {
        self.command()
            .arg(verb)
            .arg(unit)
            .output()
            .map_err(SystemdError::Spawn)
    }

    /// The unit-file state as `systemctl is-enabled` names it (`enabled`,
    /// `disabled`, `masked`, `static`, ...), or `not-found` when no unit file
    /// exists.
    pub fn unit_file_state(&self, unit: &str) -> Result<String, SystemdError> {
        let out = self.run("is-enabled", unit)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let state = stdout.lines().next().unwrap_or("").trim();
        if !state.is_empty() {
            return Ok(state.to_string());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No such file") || stderr.contains("not found") {
            return Ok("not-found".to_string());
        }
        Err(SystemdError::Command {
            verb: "is-enabled".into(),
            unit: unit.into(),
            message: stderr.trim().to_string(),
        })
    }

    /// The runtime state as `systemctl is-active` names it. `None` offline.
    pub fn active_state(&self, unit: &str) -> Result<Option<String>, SystemdError> {
        if !self.is_live() {
            return Ok(None);
        }
        let out = self.run("is-active", unit)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        Ok(Some(
            stdout
                .lines()
                .next()
                .unwrap_or("unknown")
                .trim()
                .to_string(),
        ))
    }

    /// Runs a state-changing verb (`enable`, `disable`, `mask`, `unmask`,
    /// `start`, `stop`). Start and stop need a live manager.
    pub fn change(&self, verb: &str, unit: &str) -> Result<(), SystemdError> {
        let out = self.run(verb, unit)?;
        if out.status.success() {
            return Ok(());
        }
        Err(SystemdError::Command {
            verb: verb.into(),
            unit: unit.into(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Appends `.service` to a bare unit name, as systemctl itself does.
pub fn unit_name(name: &str) -> String {
    const SUFFIXES: [&str; 11] = [
        ".service",
        ".socket",
        ".target",
        ".timer",
        ".mount",
        ".path",
        ".slice",
        ".scope",
        ".swap",
        ".device",
        ".automount",
    ];
    if SUFFIXES.iter().any(|s| name.ends_with(s)) {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

/// `is-enabled` states that mean the unit starts at boot.
pub fn is_enabled_state(state: &str) -> bool {
    matches!(
        state,
        "enabled" | "enabled-runtime" | "linked" | "linked-runtime" | "alias"
    )
}

/// `is-enabled` states that mean the unit cannot be started at all.
pub fn is_masked_state(state: &str) -> bool {
    matches!(state, "masked" | "masked-runtime")
}
