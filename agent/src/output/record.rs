//! The result record: one JSON document per run, the same one `--json` prints.
//!
//! The schema is stable and versioned by `schema`; fields are only ever added.
//! It is described for operators in `docs/results.md`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version tag of the record layout.
pub const RECORD_SCHEMA: &str = "rampart.result/v1";

/// SSM's plugin and document statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    Success,
    Failed,
    TimedOut,
    Cancelled,
    Skipped,
    SuccessAndReboot,
    InProgress,
    NotStarted,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Success => "Success",
            StepStatus::Failed => "Failed",
            StepStatus::TimedOut => "TimedOut",
            StepStatus::Cancelled => "Cancelled",
            StepStatus::Skipped => "Skipped",
            StepStatus::SuccessAndReboot => "SuccessAndReboot",
            StepStatus::InProgress => "InProgress",
            StepStatus::NotStarted => "NotStarted",
        }
    }
}

/// Whether one resource is in the state the document asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compliance {
    Compliant,
    NonCompliant,
    /// The resource could not be checked or enforced.
    Failed,
    /// Not evaluated (precondition, check mode, control flow).
    Skipped,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "Compliant",
            Compliance::NonCompliant => "NonCompliant",
            Compliance::Failed => "Failed",
            Compliance::Skipped => "Skipped",
        }
    }
}

/// One checked or enforced resource: a file, a line, a unit, a package, or a
/// script's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceResult {
    pub step: String,
    /// `file`, `line`, `service`, `package` or `script`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub compliance: Compliance,
    pub changed: bool,
    /// What was changed, or why the resource is not compliant.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub name: String,
    pub action: String,
    pub status: StepStatus,
    /// The script's exit code for shell steps; 0 or 1 for declarative ones.
    pub exit_code: i32,
    pub output: String,
    pub started_at: String,
    pub ended_at: String,
    /// Bytes of stdout/stderr beyond the cap that were not kept.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stdout_dropped_bytes: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stderr_dropped_bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub compliant: usize,
    pub non_compliant: usize,
    pub failed: usize,
    pub skipped: usize,
    pub changed: usize,
}

/// Left when a step exited 194: the host should reboot and the run resume at
/// `resume_step`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RebootRequest {
    pub requested_by: String,
    pub resume_step: String,
    pub rebooted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub schema: String,
    pub agent_version: String,
    pub command_id: String,
    pub instance_id: String,
    pub document: String,
    pub mode: String,
    pub root: String,
    /// The document status, aggregated from the steps as SSM does.
    pub status: StepStatus,
    pub started_at: String,
    pub ended_at: String,
    pub duration_ms: u64,
    pub parameters: Value,
    pub summary: Summary,
    pub steps: Vec<StepRecord>,
    pub resources: Vec<ResourceResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reboot: Option<RebootRequest>,
}

impl RunRecord {
    pub fn summarize(resources: &[ResourceResult]) -> Summary {
        let mut s = Summary::default();
        for r in resources {
            match r.compliance {
                Compliance::Compliant => s.compliant += 1,
                Compliance::NonCompliant => s.non_compliant += 1,
                Compliance::Failed => s.failed += 1,
                Compliance::Skipped => s.skipped += 1,
            }
            s.changed += r.changed as usize;
        }
        s
    }

    /// True when the run needs attention: a failed document or any resource
    /// that is not compliant.
    pub fn needs_attention(&self) -> bool {
        !matches!(self.status, StepStatus::Success | StepStatus::Skipped)
            || self.summary.non_compliant > 0
            || self.summary.failed > 0
    }
}
