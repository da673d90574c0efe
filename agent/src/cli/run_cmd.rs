//! `rampart check`, `rampart apply` and `rampart validate`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context};
use nix::unistd::{Gid, Uid};
use serde_json::Value;

use super::{builtin, exit, render, report, DocumentArgs, RunArgs, ValidateArgs};
use crate::actions::{ExecEnv, Mode};
use crate::cloud;
use crate::config::Settings;
use crate::documents::{self, Document, Format};
use crate::engine::{self, Plan, RunContext};
use crate::output::mask::Masker;
use crate::output::Outbox;
use crate::parameters::store::{self, References, Resolved, SsmStore, StoreError};
use crate::parameters::{self, RawArgs, SecretString, Values};
use crate::platform::atomic::{self, FileMeta};
use crate::platform::{identity, os_release, Root};

/// Time a step's processes get between SIGTERM and SIGKILL.
const KILL_GRACE_SECS: u64 = 5;

/// A failure before anything ran: exit 2.
struct Invalid(String);

/// A loaded document with typed parameter values.
struct Prepared {
    name: String,
    doc: Document,
    values: Values,
}

/// Loads the document and types its parameters; every problem is an
/// [`Invalid`].
fn prepare(args: &DocumentArgs) -> Result<Prepared, Invalid> {
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
    Ok(Prepared { name, doc, values })
}

/// Parameter Store values that let a document be planned without asking the
/// store: every plain reference resolves to an empty String, every secure one
/// to an empty secret.
fn stand_in(refs: &References) -> Resolved {
    Resolved {
        plain: refs
            .plain
            .iter()
            .map(|n| (n.clone(), Value::String(String::new())))
            .collect(),
        secure: refs
            .secure
            .iter()
            .map(|n| (n.clone(), SecretString::new(String::new())))
            .collect(),
    }
}

fn make_plan(p: &Prepared, resolved: &Resolved) -> Result<Plan, Invalid> {
    engine::plan(&p.doc, &p.values, resolved).map_err(|e| {
        Invalid(format!(
            "document '{}' cannot run:\n  - {}",
            p.name,
            e.join("\n  - ")
        ))
    })
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
    let checked = prepare(&args.doc).and_then(|p| {
        // No network here: references are assumed to resolve to a String.
        let refs = engine::references(&p.doc, &p.values);
        let plan = make_plan(&p, &stand_in(&refs))?;
        Ok((p, plan, refs))
    });
    match checked {
        Ok((p, plan, refs)) => {
            println!(
                "{}: valid (schemaVersion {}, {} steps, {} parameters)",
                p.name,
                p.doc.schema_version,
                plan.steps.len(),
                p.doc.parameters.len()
            );
            if !refs.is_empty() {
                println!(
                    "  {} Parameter Store reference(s) not resolved by validate: {}",
                    refs.plain.len() + refs.secure.len(),
                    refs.plain
                        .iter()
                        .chain(&refs.secure)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            exit::OK
        }
        Err(Invalid(msg)) => {
            eprintln!("rampart: error: {msg}");
            exit::INVALID
        }
    }
}

pub fn run(args: RunArgs, config: Option<&Path>, mode: Mode, allow_reboot: bool) -> u8 {
    let prepared = match prepare(&args.doc) {
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
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rampart: error: failed to start the async runtime: {e}");
            return exit::RUNTIME_ERROR;
        }
    };
    // Parameter Store is asked only when the document refers to it.
    let refs = engine::references(&prepared.doc, &prepared.values);
    // Everything that can be checked without Parameter Store is checked
    // before it is asked.
    if let Err(Invalid(msg)) = make_plan(&prepared, &stand_in(&refs)) {
        eprintln!("rampart: error: {msg}");
        return exit::INVALID;
    }
    let resolved = if refs.is_empty() {
        Resolved::default()
    } else {
        match rt.block_on(resolve_store(config, &refs)) {
            Ok(r) => r,
            Err(StoreFailure::Invalid(msg)) => {
                eprintln!(
                    "rampart: error: document '{}' cannot run:\n  - {msg}",
                    prepared.name
                );
                return exit::INVALID;
            }
            Err(StoreFailure::Runtime(msg)) => {
                eprintln!("rampart: error: {msg}\n  nothing was run");
                return exit::RUNTIME_ERROR;
            }
        }
    };
    let plan = match make_plan(&prepared, &resolved) {
        Ok(p) => p,
        Err(Invalid(msg)) => {
            eprintln!("rampart: error: {msg}");
            return exit::INVALID;
        }
    };
    match execute(
        &args,
        &rt,
        mode,
        allow_reboot,
        &prepared,
        &plan,
        &root,
        resolved,
    ) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            exit::RUNTIME_ERROR
        }
    }
}

enum StoreFailure {
    Invalid(String),
    Runtime(String),
}

async fn resolve_store(config: Option<&Path>, refs: &References) -> Result<Resolved, StoreFailure> {
    let settings = Settings::load(config).map_err(|e| StoreFailure::Invalid(e.to_string()))?;
    let sdk = cloud::sdk_config(&settings.aws).await;
    let store = SsmStore::new(cloud::ssm_client(&sdk, &settings.aws));
    let started = std::time::Instant::now();
    let result = store::resolve(&store, refs).await;
    tracing::info!(
        event = "parameters_resolved",
        names = refs.plain.len() + refs.secure.len(),
        calls = store.calls(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "resolved Parameter Store references"
    );
    result.map_err(|e| match e {
        StoreError::Invalid(m) => StoreFailure::Invalid(m),
        StoreError::Unavailable(_) => StoreFailure::Runtime(e.to_string()),
    })
}

#[allow(clippy::too_many_arguments)]
fn execute(
    args: &RunArgs,
    rt: &tokio::runtime::Runtime,
    mode: Mode,
    allow_reboot: bool,
    prepared: &Prepared,
    plan: &Plan,
    root: &Root,
    resolved: Resolved,
) -> anyhow::Result<u8> {
    let name = prepared.name.as_str();
    let values = &prepared.values;
    let state_dir = state_dir(args.state_dir.clone())?;
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
        masker: Masker::new(resolved.secure.values()),
    };
    let ctx = RunContext {
        root,
        mode,
        exec: &exec,
        document: name.to_string(),
        parameters: Value::Object(values.clone().into_iter().collect()),
        secrets: &resolved.secure,
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
