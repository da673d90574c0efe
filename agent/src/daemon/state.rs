//! The agent's persisted state, `<state-dir>/agent/state.json`: last runs,
//! next runs and recent drift events. It lets a restarted agent run a missed
//! schedule once (not once per miss), run at-boot associations once per
//! boot, and lets `rampart status` answer without a socket.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use nix::unistd::{Gid, Uid};
use serde::{Deserialize, Serialize};

use crate::platform::atomic::{self, FileMeta};

/// Drift events kept for `rampart status`.
pub const MAX_DRIFT_EVENTS: usize = 100;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentState {
    /// The kernel's boot id when the agent last started.
    #[serde(default)]
    pub boot_id: String,
    #[serde(default)]
    pub associations: BTreeMap<String, AssociationState>,
    #[serde(default)]
    pub drift: VecDeque<DriftEvent>,
    /// Associations skipped as invalid at the last load, with the reason.
    #[serde(default)]
    pub invalid: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationState {
    pub schedule: String,
    pub mode: String,
    pub document: String,
    /// "drop-in <file>" or "state-manager <association id>".
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub last_run: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_status: Option<String>,
    #[serde(default)]
    pub last_non_compliant: usize,
    #[serde(default)]
    pub next_run: Option<DateTime<Utc>>,
    /// Boot id of the last at-boot run.
    #[serde(default)]
    pub last_boot_run: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftEvent {
    pub time: DateTime<Utc>,
    pub association: String,
    pub step: String,
    pub resource: String,
    /// What was repaired, or why it was not (never file content).
    pub detail: String,
    /// Milliseconds from the first change notification to the repair.
    pub latency_ms: u64,
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("agent").join("state.json")
}

impl AgentState {
    pub fn load(state_dir: &Path) -> AgentState {
        std::fs::read(path(state_dir))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        let p = path(state_dir);
        let dir = p.parent().expect("has a parent");
        std::fs::create_dir_all(dir)?;
        let body = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let meta = FileMeta {
            uid: Uid::effective().as_raw(),
            gid: Gid::effective().as_raw(),
            mode: 0o600,
        };
        atomic::write_file(&p, &body, meta).map_err(std::io::Error::other)
    }

    pub fn record_drift(&mut self, event: DriftEvent) {
        self.drift.push_back(event);
        while self.drift.len() > MAX_DRIFT_EVENTS {
            self.drift.pop_front();
        }
    }
}

/// The kernel's id for this boot (changes at every boot).
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
