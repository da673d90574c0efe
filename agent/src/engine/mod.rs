//! The engine walks a planned document step by step: preconditions, the
//! action, control flow, statuses; and writes each step's streams and the
//! run's record into the outbox.

pub mod cancel;
mod plan;
mod status;

use std::collections::BTreeMap;
use std::fs;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use serde_json::Value;
use tracing::{info, warn};

use crate::actions::{ActionOutcome, ExecEnv, Flow, Mode, PackageDb, StepContext};
use crate::output::outbox::{STDERR_FILE, STDOUT_FILE};
use crate::output::record::{RebootRequest, RECORD_SCHEMA};
use crate::output::{Compliance, ResourceResult, RunDir, RunRecord, StepRecord, StepStatus};
use crate::parameters::SecretString;
use crate::platform::systemd::Manager;
use crate::platform::Root;

pub use plan::{plan, references, OnFailure, Plan, PlannedStep, SECRET_FILE_ACTION};
pub use status::{aggregate, evaluate, Gate};

/// What identifies and shapes one run.
pub struct RunContext<'a> {
    pub root: &'a Root,
    pub mode: Mode,
    pub exec: &'a ExecEnv,
    pub document: String,
    pub parameters: Value,
    /// SecureString values resolved for this run.
    pub secrets: &'a BTreeMap<String, SecretString>,
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Runs every step of the plan and finishes the run directory. Returns the
/// record (also written to the outbox) and where the run was stored.
pub fn execute(
    plan: &Plan,
    ctx: &RunContext,
    run: RunDir,
) -> std::io::Result<(RunRecord, std::path::PathBuf)> {
    let started = Instant::now();
    let started_at = now();
    let systemd = Manager::for_root(ctx.root);
    let packages = PackageDb::default();
    let mut exec = ctx.exec.clone();
    exec.extra_env.extend(plan.env.iter().cloned());

    let mut steps = Vec::new();
    let mut resources: Vec<ResourceResult> = Vec::new();
    let mut exiting = false;
    let mut reboot: Option<RebootRequest> = None;

    for step in &plan.steps {
        let step_started = now();
        let dir = run.step_dir(&step.action_name, &step.name)?;
        let stdout_path = dir.join(STDOUT_FILE);
        let stderr_path = dir.join(STDERR_FILE);
        let mut skipped = |status: StepStatus, why: String, resources: &mut Vec<ResourceResult>| {
            resources.push(ResourceResult {
                step: step.name.clone(),
                kind: "step".into(),
                id: step.name.clone(),
                compliance: Compliance::Skipped,
                changed: false,
                detail: why.clone(),
            });
            steps.push(StepRecord {
                name: step.name.clone(),
                action: step.action_name.clone(),
                status,
                exit_code: 0,
                output: why,
                started_at: step_started.clone(),
                ended_at: now(),
                stdout_dropped_bytes: 0,
                stderr_dropped_bytes: 0,
            });
        };
        if let Some(signal) = cancel::requested() {
            skipped(
                StepStatus::Cancelled,
                format!("cancelled: Rampart received signal {signal} before this step"),
                &mut resources,
            );
            continue;
        }
        if reboot.is_some() {
            skipped(
                StepStatus::NotStarted,
                "not started: waiting for the requested reboot".into(),
                &mut resources,
            );
            continue;
        }
        if exiting && !step.finally {
            skipped(
                StepStatus::Skipped,
                "skipped: an earlier step ended the run".into(),
                &mut resources,
            );
            continue;
        }
        let mut outcome = match evaluate(step.precondition.as_ref()) {
            Gate::Skip(why) => {
                skipped(StepStatus::Skipped, why, &mut resources);
                continue;
            }
            Gate::Fail(why) => ActionOutcome {
                status: StepStatus::Failed,
                exit_code: 1,
                output: why.clone(),
                resources: vec![ResourceResult {
                    step: step.name.clone(),
                    kind: "step".into(),
                    id: step.name.clone(),
                    compliance: Compliance::Failed,
                    changed: false,
                    detail: why,
                }],
                flow: Flow::Continue,
                stdout_dropped: 0,
                stderr_dropped: 0,
            },
            Gate::Run => {
                let sctx = StepContext {
                    root: ctx.root,
                    mode: ctx.mode,
                    step: &step.name,
                    stdout_path: stdout_path.clone(),
                    stderr_path: stderr_path.clone(),
                    exec: &exec,
                    systemd: &systemd,
                    packages: &packages,
                    secrets: ctx.secrets,
                };
                let t = Instant::now();
                let o = step.action.run(&sctx);
                info!(step = %step.name, action = %step.action_name, status = o.status.as_str(), elapsed_ms = t.elapsed().as_millis() as u64, "step finished");
                o
            }
        };
        // Declarative steps report through stdout, like a script would.
        if !stdout_path.exists() && !outcome.output.is_empty() {
            fs::write(&stdout_path, format!("{}\n", outcome.output))?;
        }

        let mut status = outcome.status;
        // Its processes were ended by the stop, not by their own failure.
        if cancel::requested().is_some()
            && matches!(status, StepStatus::Failed | StepStatus::TimedOut)
        {
            status = StepStatus::Cancelled;
        }
        let failed = matches!(status, StepStatus::Failed | StepStatus::TimedOut);
        match (failed, step.on_failure) {
            (true, Some(OnFailure::Exit)) => exiting = true,
            (true, Some(OnFailure::SuccessAndExit)) => {
                // The document tolerates this failure: the step counts as a
                // success, and so does the script that failed.
                status = StepStatus::Success;
                exiting = true;
                for r in outcome
                    .resources
                    .iter_mut()
                    .filter(|r| r.kind == "script" && r.compliance == Compliance::Failed)
                {
                    r.compliance = Compliance::Compliant;
                    r.detail = format!(
                        "failure tolerated by onFailure: successAndExit ({})",
                        r.detail
                    );
                }
            }
            _ => {}
        }
        if status == StepStatus::Success && step.exit_on_success {
            exiting = true;
        }
        match outcome.flow {
            Flow::Exit => exiting = true,
            Flow::Reboot => {
                warn!(step = %step.name, "step requested a reboot (exit 194); remaining steps wait for it");
                reboot = Some(RebootRequest {
                    requested_by: step.name.clone(),
                    resume_step: step.name.clone(),
                    rebooted: false,
                });
            }
            Flow::Continue => {}
        }
        resources.extend(outcome.resources);
        steps.push(StepRecord {
            name: step.name.clone(),
            action: step.action_name.clone(),
            status,
            exit_code: outcome.exit_code,
            output: outcome.output,
            started_at: step_started,
            ended_at: now(),
            stdout_dropped_bytes: outcome.stdout_dropped,
            stderr_dropped_bytes: outcome.stderr_dropped,
        });
    }

    let status = aggregate(steps.iter().map(|s| s.status));
    let record = RunRecord {
        schema: RECORD_SCHEMA.into(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
        command_id: ctx.exec.command_id.clone(),
        instance_id: ctx.exec.instance_id.clone(),
        document: ctx.document.clone(),
        mode: ctx.mode.as_str().into(),
        root: ctx.root.dir().display().to_string(),
        status,
        started_at,
        ended_at: now(),
        duration_ms: started.elapsed().as_millis() as u64,
        parameters: ctx.parameters.clone(),
        summary: RunRecord::summarize(&resources),
        steps,
        resources,
        reboot,
    };
    let dir = run.finish(&record)?;
    info!(
        event = "run_finished",
        command_id = %record.command_id,
        status = record.status.as_str(),
        compliant = record.summary.compliant,
        non_compliant = record.summary.non_compliant,
        failed = record.summary.failed,
        changed = record.summary.changed,
        duration_ms = record.duration_ms,
        "run finished"
    );
    Ok((record, dir))
}

/// Runs one step of a plan by itself, outside any run: how the agent repairs
/// drift on a single resource without re-running the whole document. Its
/// streams go to `scratch` (a private folder the caller owns).
pub fn run_step_alone(
    step: &PlannedStep,
    ctx: &RunContext,
    scratch: &std::path::Path,
) -> ActionOutcome {
    let systemd = Manager::for_root(ctx.root);
    let packages = PackageDb::default();
    let sctx = StepContext {
        root: ctx.root,
        mode: ctx.mode,
        step: &step.name,
        stdout_path: scratch.join(STDOUT_FILE),
        stderr_path: scratch.join(STDERR_FILE),
        exec: ctx.exec,
        systemd: &systemd,
        packages: &packages,
        secrets: ctx.secrets,
    };
    step.action.run(&sctx)
}
