//! `rampart check`, `rampart apply` and `rampart validate`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use nix::unistd::{Gid, Uid};
use serde_json::Value;

use super::{builtin, exit, render, report, DocumentArgs, RunArgs, ValidateArgs};
use crate::actions::{ExecEnv, Mode};
use crate::documents::{self, Document, Format};
use crate::engine::{self, Plan, RunContext};
use crate::output::Outbox;
use crate::parameters::{self, RawArgs, Values};
use crate::platform::atomic::{self, FileMeta};
use crate::platform::{identity, os_release, Root};

/// Time a step's processes get between SIGTERM and SIGKILL.
const KILL_GRACE_SECS: u64 = 5;

/// A failure before anything ran: exit 2.
struct Invalid(String);

/// Loads, types and plans; every problem is an [`Invalid`].
fn prepare(args: &DocumentArgs) -> Result<(String, Document, Values, Plan), Invalid> {
    let (name, doc) = load(&args.document)?;
    let mut raw = RawArgs::new();
    for p in &args.params {
        let (k, v) = parameters::parse_assignment(p).map_err(Invalid)?;
        raw.entry(k).or_default().push(v);
    }
    let values = parameters::resolve(&doc, &raw).map_err(|p| {
        Invalid(format!(
            "invalid parameters for '{name}':\n  - {}",
            p.join("\n  - ")
        ))
    })?;
    let plan = engine::plan(&doc, &values).map_err(|p| {
        Invalid(format!(
            "document '{name}' cannot run:\n  - {}",
            p.join("\n  - ")
        ))
    })?;
    Ok((name, doc, values, plan))
}

fn load(arg: &str) -> Result<(String, Document), Invalid> {
    let path = Path::new(arg);
    if path.exists() {
        return Ok((
            arg.to_string(),
            documents::parse_file(path).map_err(|e| Invalid(e.to_string()))?,
        ));
    }
    if let Some(text) = builtin::find(arg) {
        let doc = documents::parse(text, arg, Format::Yaml).map_err(|e| Invalid(e.to_string()))?;
        return Ok((arg.to_string(), doc));
    }
    let names: Vec<&str> = builtin::DOCUMENTS.iter().map(|(n, _, _)| *n).collect();
    Err(Invalid(format!(
        "document '{arg}' is neither a file nor a built-in document (built-ins: {})",
        names.join(", ")
    )))
}

pub fn validate(args: ValidateArgs) -> u8 {
    match prepare(&args.doc) {
        Ok((name, doc, _, plan)) => {
            println!(
                "{name}: valid (schemaVersion {}, {} steps, {} parameters)",
                doc.schema_version,
                plan.steps.len(),
                doc.parameters.len()
            );
            exit::OK
        }
        Err(Invalid(msg)) => {
            eprintln!("rampart: error: {msg}");
            exit::INVALID
        }
    }
}

pub fn run(args: RunArgs, mode: Mode, allow_reboot: bool) -> u8 {
    let (name, _doc, values, plan) = match prepare(&args.doc) {
        Ok(p) => p,
        Err(Invalid(msg)) => {
            eprintln!("rampart: error: {msg}");
            return exit::INVALID;
        }
    };
    let root = match Root::new(&args.root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rampart: error: --root {}: {e}", args.root.display());
            return exit::INVALID;
        }
    };
    match execute(&args, mode, allow_reboot, &name, &values, &plan, &root) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            exit::RUNTIME_ERROR
        }
    }
}

fn execute(
    args: &RunArgs,
    mode: Mode,
    allow_reboot: bool,
    name: &str,
    values: &Values,
    plan: &Plan,
    root: &Root,
) -> anyhow::Result<u8> {
    let state_dir = state_dir(args.state_dir.clone())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")?;
    let id = rt.block_on(identity::resolve());
    let command_id = args
        .command_id
        .clone()
        .or_else(|| {
            std::env::var("SSM_COMMAND_ID")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let os = os_release::read(root);

    let outbox = Outbox::open(&state_dir)
        .with_context(|| format!("failed to open the outbox under {}", state_dir.display()))?;
    let run_dir = outbox
        .begin(&command_id, &id.instance_id)
        .context("failed to start a run in the outbox")?;
    let scripts_dir = state_dir.join("scripts").join(&command_id);
    let exec = ExecEnv {
        instance_id: id.instance_id.clone(),
        region: id.region.clone(),
        command_id: command_id.clone(),
        platform_name: os.name,
        platform_version: os.version_id,
        scripts_dir: scripts_dir.clone(),
        output_cap_bytes: args.output_limit,
        kill_grace: Duration::from_secs(KILL_GRACE_SECS),
        extra_env: Vec::new(),
    };
    let ctx = RunContext {
        root,
        mode,
        exec: &exec,
        document: name.to_string(),
        parameters: Value::Object(values.clone().into_iter().collect()),
    };
    let (record, dir) = engine::execute(plan, &ctx, run_dir).context("failed to record the run")?;
    let _ = std::fs::remove_dir_all(&scripts_dir);

    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        render::table(&record, &dir);
    }

    if let Some(reboot) = &record.reboot {
        let pending = state_dir.join("reboot-pending.json");
        let body = serde_json::to_vec_pretty(&serde_json::json!({
            "document": name,
            "parameters": ctx.parameters,
            "commandId": command_id,
            "resumeStep": reboot.resume_step,
        }))?;
        let meta = FileMeta {
            uid: Uid::effective().as_raw(),
            gid: Gid::effective().as_raw(),
            mode: 0o600,
        };
        atomic::write_file(&pending, &body, meta).map_err(|e| anyhow!(e))?;
        if allow_reboot {
            eprintln!(
                "rampart: step '{}' requested a reboot; rebooting now",
                reboot.requested_by
            );
            let status = std::process::Command::new("systemctl")
                .arg("reboot")
                .status();
            if !status.is_ok_and(|s| s.success()) {
                eprintln!("rampart: error: 'systemctl reboot' failed; reboot the host, then run the document again");
            }
        } else {
            eprintln!(
                "rampart: step '{}' requested a reboot (exit 194). Reboot, then run the document again; \
                 pass --allow-reboot to let Rampart reboot.",
                reboot.requested_by
            );
        }
        return Ok(exit::REBOOT_REQUIRED);
    }
    Ok(if record.needs_attention() {
        exit::NON_COMPLIANT
    } else {
        exit::OK
    })
}

/// The state directory: the flag or RAMPART_STATE_DIR, else /var/lib/rampart
/// for root, else the XDG state directory.
fn state_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
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
