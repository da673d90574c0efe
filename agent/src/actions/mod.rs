//! Actions: what a step does. `aws:runShellScript` runs a script as SSM does;
//! Rampart's declarative actions (`rampart:file`, `rampart:line`,
//! `rampart:service`, `rampart:package`, `rampart:secretFile`,
//! `rampart:patchBaseline`) check a resource and, when asked, enforce it.
//!
//! Inputs are parsed into typed actions before any step runs, so a bad input
//! anywhere in a document stops the whole run up front. Declarative actions
//! share one path for check and enforce ([`reconcile`]): observe, and in apply
//! mode change what differs and observe again.

mod file;
mod inputs;
mod line;
mod package;
mod patch_baseline;
mod secret_file;
mod service;
mod shell;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::output::mask::Masker;
use crate::output::{Compliance, ResourceResult, StepStatus};
use crate::parameters::SecretString;
use crate::platform::systemd::Manager;
use crate::platform::Root;

pub use inputs::Inputs;
pub use package::PackageDb;

/// Whether a run may change the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Audit: report compliance, change nothing.
    Check,
    /// Enforce: make every resource compliant.
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Check => "check",
            Mode::Apply => "apply",
        }
    }
}

/// Facts about the run that shell steps see in their environment.
#[derive(Debug, Clone)]
pub struct ExecEnv {
    pub instance_id: String,
    pub region: String,
    pub command_id: String,
    pub platform_name: String,
    pub platform_version: String,
    /// Where step scripts are written (mode 0700).
    pub scripts_dir: PathBuf,
    /// Bytes of each stream kept per step.
    pub output_cap_bytes: u64,
    /// Time between SIGTERM and SIGKILL for a step's processes.
    pub kill_grace: Duration,
    /// Extra variables for shell steps (`SSM_<name>` for ENV_VAR parameters).
    pub extra_env: Vec<(String, String)>,
    /// Masks every resolved SecureString in step output.
    pub masker: Masker,
}

/// Everything an action may use while it runs.
pub struct StepContext<'a> {
    pub root: &'a Root,
    pub mode: Mode,
    pub step: &'a str,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    pub exec: &'a ExecEnv,
    pub systemd: &'a Manager,
    pub packages: &'a PackageDb,
    /// SecureString values resolved for this run, by reference name.
    pub secrets: &'a BTreeMap<String, SecretString>,
}

/// What the engine should do after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Skip the remaining steps (exit codes 168 and 169).
    Exit,
    /// Stop here; the host should reboot and resume this step (exit 194).
    Reboot,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutcome {
    pub status: StepStatus,
    pub exit_code: i32,
    pub output: String,
    pub resources: Vec<ResourceResult>,
    pub flow: Flow,
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
}

pub trait Action: Send + Sync {
    fn run(&self, ctx: &StepContext) -> ActionOutcome;

    /// In-root paths whose change means this step's resource may have
    /// drifted; the agent watches them and re-runs the step alone.
    fn watched_paths(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// The actions Rampart knows, for messages.
pub const KNOWN_ACTIONS: [&str; 7] = [
    "aws:runShellScript",
    "rampart:file",
    "rampart:line",
    "rampart:service",
    "rampart:package",
    "rampart:secretFile",
    "rampart:patchBaseline",
];

/// Builds a typed action from a step's substituted inputs.
pub fn build(step: &str, action: &str, inputs: &Value) -> Result<Box<dyn Action>, Vec<String>> {
    match action {
        "aws:runShellScript" => {
            shell::ShellAction::from_inputs(step, inputs).map(|a| Box::new(a) as _)
        }
        "rampart:file" => file::FileAction::from_inputs(step, inputs).map(|a| Box::new(a) as _),
        "rampart:line" => line::LineAction::from_inputs(step, inputs).map(|a| Box::new(a) as _),
        "rampart:service" => {
            service::ServiceAction::from_inputs(step, inputs).map(|a| Box::new(a) as _)
        }
        "rampart:package" => {
            package::PackageAction::from_inputs(step, inputs).map(|a| Box::new(a) as _)
        }
        "rampart:secretFile" => {
            secret_file::SecretFileAction::from_inputs(step, inputs).map(|a| Box::new(a) as _)
        }
        "rampart:patchBaseline" => {
            patch_baseline::PatchBaselineAction::from_inputs(step, inputs).map(|a| Box::new(a) as _)
        }
        other => Err(vec![format!(
            "step '{step}': unknown action '{other}' (known: {})",
            KNOWN_ACTIONS.join(", ")
        )]),
    }
}

/// What observing a resource found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    Compliant(String),
    /// Each entry says one thing that differs ("mode is 0644, want 0600").
    Drift(Vec<String>),
    /// The resource does not apply here, with the reason.
    NotApplicable(String),
}

/// One resource a declarative action manages.
pub trait Resource {
    fn kind(&self) -> &'static str;
    fn id(&self) -> String;
    fn observe(&self, ctx: &StepContext) -> Result<Observation, String>;
    /// Changes what `drift` lists; returns a description of each change.
    fn fix(&self, ctx: &StepContext, drift: &[String]) -> Result<Vec<String>, String>;
}

/// Check, and in apply mode enforce, one resource: observe; if it differs and
/// the mode allows, fix; then observe again to confirm.
pub fn reconcile(r: &dyn Resource, ctx: &StepContext) -> ResourceResult {
    let result = |compliance, changed, detail: String| ResourceResult {
        step: ctx.step.to_string(),
        kind: r.kind().to_string(),
        id: r.id(),
        compliance,
        changed,
        detail,
    };
    let drift = match r.observe(ctx) {
        Ok(Observation::Compliant(detail)) => return result(Compliance::Compliant, false, detail),
        Ok(Observation::NotApplicable(why)) => return result(Compliance::Skipped, false, why),
        Ok(Observation::Drift(d)) => d,
        Err(e) => return result(Compliance::Failed, false, e),
    };
    if ctx.mode == Mode::Check {
        return result(Compliance::NonCompliant, false, drift.join("; "));
    }
    let changes = match r.fix(ctx, &drift) {
        Ok(c) => c,
        Err(e) => return result(Compliance::Failed, false, e),
    };
    tracing::info!(
        event = "resource_enforced",
        step = ctx.step,
        kind = r.kind(),
        id = %r.id(),
        changes = %changes.join("; "),
        "enforced"
    );
    match r.observe(ctx) {
        Ok(Observation::Compliant(_)) => result(Compliance::Compliant, true, changes.join("; ")),
        // Changed only if what differs is not what differed: a tool that
        // ran and did nothing (dnf skipping an update it cannot install)
        // changed nothing, whatever the fix said it did.
        Ok(Observation::Drift(still)) => result(
            Compliance::Failed,
            still != drift,
            format!(
                "still differs after enforcing ({}): {}",
                changes.join("; "),
                still.join("; ")
            ),
        ),
        Ok(Observation::NotApplicable(why)) => result(Compliance::Skipped, true, why),
        Err(e) => result(Compliance::Failed, true, e),
    }
}

/// Turns the resource results of a declarative step into its outcome. The
/// step fails when a resource could not be checked or enforced, or when an
/// apply run leaves something non-compliant.
pub fn declarative_outcome(mode: Mode, resources: Vec<ResourceResult>) -> ActionOutcome {
    let failed = resources.iter().any(|r| {
        r.compliance == Compliance::Failed
            || (mode == Mode::Apply && r.compliance == Compliance::NonCompliant)
    });
    let output = resources
        .iter()
        .map(|r| {
            let changed = if r.changed { " (changed)" } else { "" };
            format!(
                "{} {} {}{}: {}",
                r.compliance.as_str(),
                r.kind,
                r.id,
                changed,
                r.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    ActionOutcome {
        status: if failed {
            StepStatus::Failed
        } else {
            StepStatus::Success
        },
        exit_code: failed as i32,
        output,
        resources,
        flow: Flow::Continue,
        stdout_dropped: 0,
        stderr_dropped: 0,
    }
}

/// Parses a file mode given as an octal string ("0640", "640").
///
/// Numbers are refused: YAML reads an unquoted `0640` as 640 but `0o640` as
/// 416, and JSON has no octal at all, so a number cannot be told apart from a
/// different mode. A wrong mode on a security file is worse than an error.
pub fn parse_mode(v: &Value) -> Result<u32, String> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => {
            return Err(format!(
                "mode {n} is a number; write it as a quoted octal string such as \"0640\" \
                 (an unquoted YAML number is ambiguous)"
            ))
        }
        _ => return Err("mode must be a quoted octal string such as \"0640\"".into()),
    };
    let digits = text.strip_prefix("0o").unwrap_or(&text);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 && !digits.is_empty() => Ok(m),
        _ => Err(format!(
            "mode '{text}' is not an octal mode between 0000 and 7777"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_from_strings_and_yaml_numbers() {
        assert_eq!(parse_mode(&json!("0640")), Ok(0o640));
        assert_eq!(parse_mode(&json!("600")), Ok(0o600));
        assert!(parse_mode(&json!(644))
            .unwrap_err()
            .contains("quoted octal string"));
        // YAML 1.2 reads `0o640` as 416: refused rather than applied as 0416.
        assert!(parse_mode(&json!(416)).is_err());
        assert_eq!(parse_mode(&json!("4755")), Ok(0o4755));
        assert!(parse_mode(&json!("0689")).is_err());
        assert!(parse_mode(&json!("17777")).is_err());
        assert!(parse_mode(&json!(true)).is_err());
    }

    #[test]
    fn unknown_action_names_the_step() {
        let err = build("s1", "aws:runPowerShellScript", &json!({}))
            .err()
            .unwrap();
        assert!(
            err[0].starts_with("step 's1': unknown action 'aws:runPowerShellScript'"),
            "{err:?}"
        );
    }
}
