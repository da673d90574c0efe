//! `aws:runShellScript`, as the reference agent runs it, with stricter
//! process cleanup.
//!
//! Inputs (keys matched case-insensitively, like the reference): `runCommand`
//! (a list of lines or one string), `workingDirectory`, `timeoutSeconds`
//! (5-172800, default 3600), `environment` (a mapping). Rampart adds
//! `rampartCheck: true`, which marks a read-only script that also runs in
//! check mode and whose exit code is its compliance.
//!
//! Exit codes follow SSM: 0 success; 168 success, skip the remaining steps;
//! 169 failure, skip the remaining steps; 194 reboot requested (the step runs
//! again after the reboot); anything else failure. A timed-out step is
//! reported as TimedOut with code 137, as SSM does.

use std::fs::{self, DirBuilder, File};
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

use std::sync::Arc;

use nix::unistd::{Gid, Uid};
use serde_json::Value;

use super::{Action, ActionOutcome, Flow, Inputs, StepContext};
use crate::output::outbox::key_component;
use crate::output::{Compliance, ResourceResult, StepStatus};
use crate::parameters::{whole_placeholder, Placeholder};
use crate::platform::atomic::{self, FileMeta};
use crate::platform::process::{self, RunSpec};

pub const DEFAULT_TIMEOUT_SECS: u64 = 3600;
pub const MIN_TIMEOUT_SECS: u64 = 5;
pub const MAX_TIMEOUT_SECS: u64 = 172_800;

/// Characters of combined output kept in the record, as SSM's `Output`.
pub const RECORD_OUTPUT_CHARS: usize = 2500;

/// Characters of the first output line quoted in a resource's detail.
const DETAIL_LINE_CHARS: usize = 120;

/// SSM's special exit codes.
pub const EXIT_SUCCESS_AND_EXIT: i32 = 168;
pub const EXIT_FAILURE_AND_EXIT: i32 = 169;
pub const EXIT_REBOOT: i32 = 194;
pub const EXIT_TIMED_OUT: i32 = 137;

#[derive(Debug, Clone)]
pub struct ShellAction {
    commands: Vec<String>,
    working_dir: Option<PathBuf>,
    timeout: Duration,
    env: Vec<(String, String)>,
    /// Variables whose value is a SecureString, by reference name.
    secure_env: Vec<(String, String)>,
    check: bool,
}

impl ShellAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, true)?;
        let commands = i.string_list("runCommand").unwrap_or_default();
        if i.get("runCommand").is_none() {
            i.problem("input 'runCommand' is required");
        }
        let working_dir = i
            .string("workingDirectory")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let timeout = i
            .whole_number("timeoutSeconds", MIN_TIMEOUT_SECS..=MAX_TIMEOUT_SECS)
            .unwrap_or(DEFAULT_TIMEOUT_SECS);
        let mut env = Vec::new();
        let mut secure_env = Vec::new();
        match i.get("environment") {
            None => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    match v {
                        // A whole `{{ssm-secure:name}}` is resolved when the
                        // step runs, straight from the SecureString.
                        Value::String(s) => match whole_placeholder(s.trim()) {
                            Some(Placeholder::SsmSecure(name)) => {
                                secure_env.push((k.clone(), name))
                            }
                            _ => env.push((k.clone(), s.clone())),
                        },
                        Value::Number(_) | Value::Bool(_) => env.push((k.clone(), v.to_string())),
                        _ => i.problem(format_args!("environment variable '{k}' must be a string")),
                    }
                }
            }
            Some(_) => i.problem("input 'environment' must be a mapping of names to strings"),
        }
        let check = i.bool("rampartCheck").unwrap_or(false);
        i.finish()?;
        Ok(ShellAction {
            commands,
            working_dir,
            timeout: Duration::from_secs(timeout),
            env,
            secure_env,
            check,
        })
    }

    fn outcome(
        &self,
        ctx: &StepContext,
        status: StepStatus,
        code: i32,
        compliance: Compliance,
        detail: String,
    ) -> ActionOutcome {
        ActionOutcome {
            status,
            exit_code: code,
            output: String::new(),
            resources: vec![ResourceResult {
                step: ctx.step.to_string(),
                kind: "script".into(),
                id: ctx.step.to_string(),
                compliance,
                changed: false,
                detail,
            }],
            flow: Flow::Continue,
            stdout_dropped: 0,
            stderr_dropped: 0,
        }
    }
}

impl Action for ShellAction {
    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        if ctx.mode == super::Mode::Check && !self.check {
            return self.outcome(
                ctx,
                StepStatus::Skipped,
                0,
                Compliance::Skipped,
                "script not run in check mode (mark read-only scripts with rampartCheck: true)"
                    .into(),
            );
        }
        match self.execute(ctx) {
            Ok(o) => o,
            Err(e) => self.outcome(ctx, StepStatus::Failed, 1, Compliance::Failed, e),
        }
    }
}

impl ShellAction {
    fn execute(&self, ctx: &StepContext) -> Result<ActionOutcome, String> {
        // The script goes into a private folder, mode 0700 like the reference.
        let dir = ctx.exec.scripts_dir.join(key_component(ctx.step));
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("failed to create script folder {}: {e}", dir.display()))?;
        let script = dir.join("_script.sh");
        let meta = FileMeta {
            uid: Uid::effective().as_raw(),
            gid: Gid::effective().as_raw(),
            mode: 0o700,
        };
        atomic::write_file(&script, self.commands.join("\n").as_bytes(), meta)
            .map_err(|e| e.to_string())?;

        let working_dir = self.working_dir.clone().unwrap_or_else(|| dir.clone());
        if !working_dir.is_dir() {
            return Err(format!(
                "working directory {} does not exist",
                working_dir.display()
            ));
        }
        let e = ctx.exec;
        let mut env: Vec<(String, String)> = vec![
            ("AWS_SSM_INSTANCE_ID".into(), e.instance_id.clone()),
            ("AWS_SSM_REGION_NAME".into(), e.region.clone()),
            ("AWS_SSM_PLATFORM_NAME".into(), e.platform_name.clone()),
            (
                "AWS_SSM_PLATFORM_VERSION".into(),
                e.platform_version.clone(),
            ),
            ("SSM_COMMAND_ID".into(), e.command_id.clone()),
            ("RAMPART_ROOT".into(), ctx.root.dir().display().to_string()),
            ("RAMPART_MODE".into(), ctx.mode.as_str().into()),
        ];
        env.extend(e.extra_env.iter().cloned());
        env.extend(self.env.iter().cloned());
        for (var, name) in &self.secure_env {
            let secret = ctx.secrets.get(name).ok_or_else(|| {
                format!("SecureString '{name}' for variable {var} was not resolved")
            })?;
            env.push((var.clone(), secret.expose().to_string()));
        }

        let spec = RunSpec {
            program: PathBuf::from("sh"),
            args: vec!["-c".into(), script.display().to_string()],
            working_dir: Some(working_dir),
            env,
            timeout: self.timeout,
            grace: e.kill_grace,
            stdout_path: ctx.stdout_path.clone(),
            stderr_path: ctx.stderr_path.clone(),
            cap_bytes: e.output_cap_bytes,
            filter: e
                .masker
                .is_active()
                .then(|| Arc::new(e.masker.clone()) as _),
        };
        let run = process::run(&spec).map_err(|e| format!("failed to run the script: {e}"))?;
        let _ = fs::remove_dir_all(&dir);

        let (status, code, flow) = if run.timed_out {
            (StepStatus::TimedOut, EXIT_TIMED_OUT, Flow::Continue)
        } else {
            match run.exit_code {
                0 => (StepStatus::Success, 0, Flow::Continue),
                EXIT_SUCCESS_AND_EXIT => (StepStatus::Success, EXIT_SUCCESS_AND_EXIT, Flow::Exit),
                EXIT_FAILURE_AND_EXIT => (StepStatus::Failed, EXIT_FAILURE_AND_EXIT, Flow::Exit),
                EXIT_REBOOT => (StepStatus::SuccessAndReboot, EXIT_REBOOT, Flow::Reboot),
                other => (StepStatus::Failed, other, Flow::Continue),
            }
        };
        let compliance = match status {
            StepStatus::Success | StepStatus::SuccessAndReboot => Compliance::Compliant,
            _ if self.check && !run.timed_out => Compliance::NonCompliant,
            _ => Compliance::Failed,
        };
        let mut detail = if run.timed_out {
            format!(
                "timed out after {}s; its processes were ended",
                self.timeout.as_secs()
            )
        } else {
            format!("exit code {}", run.exit_code)
        };
        if run.leftovers_killed > 0 {
            detail.push_str(&format!(
                "; ended {} process(es) it left running",
                run.leftovers_killed
            ));
        }
        let output = combined_output(&ctx.stdout_path, &ctx.stderr_path);
        if let Some(first) = output.lines().find(|l| !l.trim().is_empty()) {
            let first: String = first.chars().take(DETAIL_LINE_CHARS).collect();
            detail.push_str(&format!(": {first}"));
        }
        let mut o = self.outcome(ctx, status, code, compliance, detail);
        o.flow = flow;
        o.output = output;
        o.stdout_dropped = run.stdout_dropped;
        o.stderr_dropped = run.stderr_dropped;
        Ok(o)
    }
}

/// The start of stdout, then of stderr, at most [`RECORD_OUTPUT_CHARS`] in all.
fn combined_output(stdout: &PathBuf, stderr: &PathBuf) -> String {
    let head = |p: &PathBuf, chars: usize| -> String {
        let mut buf = Vec::new();
        if let Ok(f) = File::open(p) {
            let _ = f.take((chars * 4) as u64).read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).chars().take(chars).collect()
    };
    let mut out = head(stdout, RECORD_OUTPUT_CHARS);
    let left = RECORD_OUTPUT_CHARS.saturating_sub(out.chars().count());
    let err = head(stderr, left);
    if !err.is_empty() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&err);
    }
    out.chars().take(RECORD_OUTPUT_CHARS).collect()
}
