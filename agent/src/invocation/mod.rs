//! One invocation of a document: what `rampart check|apply`, `run-payload`
//! and each scheduled association run have in common.
//!
//! Preparing finds every problem before anything runs: the document, the
//! parameter values, the plan (first with stand-ins for Parameter Store, so
//! a document error never waits on the network), then the real references.
//! Executing runs the plan into the outbox under Run Command's or State
//! Manager's key layout. Printing, uploading and rebooting are the caller's.

mod load;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;
use thiserror::Error;
use tokio::runtime::Runtime;

use crate::actions::{ExecEnv, Mode};
use crate::cloud;
use crate::config::Settings;
use crate::documents::Document;
use crate::engine::{self, Plan, RunContext};
use crate::output::mask::Masker;
use crate::output::upload::{DrainReport, Uploader};
use crate::output::{KeyBase, Outbox, RunRecord, S3Destination};
use crate::parameters::store::{self, References, Resolved, SsmStore, StoreError};
use crate::parameters::{self, RawArgs, SecretString, Values};
use crate::platform::identity::Identity;
use crate::platform::{os_release, Root};

pub use load::{json_params, load_document, raw_params, SSM_DOCUMENT_PREFIX};

/// Time a step's processes get between SIGTERM and SIGKILL.
pub const KILL_GRACE_SECS: u64 = 5;

#[derive(Debug, Error)]
pub enum InvocationError {
    /// The document, a parameter or a reference is wrong; nothing ran.
    #[error("{0}")]
    Invalid(String),
    /// A service Rampart needs could not be reached or refused; nothing ran.
    #[error("{0}")]
    Unavailable(String),
}

/// A loaded document with typed parameter values.
pub struct Prepared {
    pub name: String,
    pub doc: Document,
    pub values: Values,
}

/// Types the parameters of a loaded document.
pub fn prepare(name: String, doc: Document, raw: &RawArgs) -> Result<Prepared, InvocationError> {
    let values = parameters::resolve(&doc, raw).map_err(|p| {
        InvocationError::Invalid(format!(
            "invalid parameters for '{name}':\n  - {}",
            p.join("\n  - ")
        ))
    })?;
    Ok(Prepared { name, doc, values })
}

/// Parameter Store values that let a document be planned without asking the
/// store: every plain reference resolves to an empty String, every secure one
/// to an empty secret.
pub fn stand_in(refs: &References) -> Resolved {
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

pub fn make_plan(p: &Prepared, resolved: &Resolved) -> Result<Plan, InvocationError> {
    engine::plan(&p.doc, &p.values, resolved).map_err(|e| {
        InvocationError::Invalid(format!(
            "document '{}' cannot run:\n  - {}",
            p.name,
            e.join("\n  - ")
        ))
    })
}

/// Checks everything that can be checked offline; returns the references.
pub fn check_offline(p: &Prepared) -> Result<References, InvocationError> {
    let refs = engine::references(&p.doc, &p.values);
    make_plan(p, &stand_in(&refs))?;
    Ok(refs)
}

/// A planned invocation with its Parameter Store values.
pub struct Ready {
    pub prepared: Prepared,
    pub plan: Plan,
    pub resolved: Resolved,
}

/// Plans offline first, then resolves Parameter Store references (only if
/// the document has any) and plans for real.
pub fn ready(
    prepared: Prepared,
    settings: &Settings,
    rt: &Runtime,
) -> Result<Ready, InvocationError> {
    let refs = check_offline(&prepared)?;
    let resolved = if refs.is_empty() {
        Resolved::default()
    } else {
        rt.block_on(resolve_store(settings, &refs))
            .map_err(|e| match e {
                StoreError::Invalid(m) => InvocationError::Invalid(format!(
                    "document '{}' cannot run:\n  - {m}",
                    prepared.name
                )),
                unavailable => InvocationError::Unavailable(unavailable.to_string()),
            })?
    };
    let plan = make_plan(&prepared, &resolved)?;
    Ok(Ready {
        prepared,
        plan,
        resolved,
    })
}

async fn resolve_store(settings: &Settings, refs: &References) -> Result<Resolved, StoreError> {
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
    result
}

/// How a run is filed: Run Command's layout or State Manager's.
#[derive(Debug, Clone)]
pub enum Filing {
    Command {
        command_id: String,
    },
    Association {
        association_id: String,
        run_id: String,
    },
}

/// Where and how an invocation runs.
pub struct Target<'a> {
    pub root: &'a Root,
    pub mode: Mode,
    pub state_dir: &'a Path,
    pub identity: &'a Identity,
    pub filing: Filing,
    pub destination: Option<&'a S3Destination>,
    pub output_limit: u64,
    pub settings: &'a Settings,
}

/// A finished invocation.
pub struct Finished {
    pub record: RunRecord,
    /// The result's directory in the outbox (gone once uploaded).
    pub dir: PathBuf,
    pub outbox: Outbox,
    /// `<commandId>/<instanceId>` or `<instanceId>/<associationId>/<runId>`.
    pub key_prefix: String,
}

/// The masker and execution environment of an invocation.
pub fn exec_env(ready: &Ready, target: &Target, command_id: &str, scripts_dir: PathBuf) -> ExecEnv {
    let os = os_release::read(target.root);
    ExecEnv {
        instance_id: target.identity.instance_id.clone(),
        region: target.identity.region.clone(),
        command_id: command_id.to_string(),
        platform_name: os.name,
        platform_version: os.version_id,
        scripts_dir,
        output_cap_bytes: target.output_limit,
        kill_grace: Duration::from_secs(KILL_GRACE_SECS),
        extra_env: Vec::new(),
        masker: Masker::new(ready.resolved.secure.values()),
    }
}

/// Runs the plan into the outbox.
pub fn execute(ready: &Ready, target: &Target) -> anyhow::Result<Finished> {
    let id = &target.identity.instance_id;
    let (item_name, key_base, command_id) = match &target.filing {
        Filing::Command { command_id } => (
            command_id.clone(),
            KeyBase::command(command_id, id)?,
            command_id.clone(),
        ),
        Filing::Association {
            association_id,
            run_id,
        } => (
            format!("{association_id}-{run_id}"),
            KeyBase::association(id, association_id, run_id)?,
            // Association runs have no command; scripts see the run id.
            run_id.clone(),
        ),
    };
    let key_prefix = key_base.as_str().to_string();
    let outbox = Outbox::open(target.state_dir, target.settings.spool).with_context(|| {
        format!(
            "failed to open the outbox under {}",
            target.state_dir.display()
        )
    })?;
    let run_dir = outbox
        .begin(&item_name, key_base, target.destination)
        .context("failed to start a run in the outbox")?;
    let scripts_dir = target.state_dir.join("scripts").join(&item_name);
    let exec = exec_env(ready, target, &command_id, scripts_dir.clone());
    let ctx = RunContext {
        root: target.root,
        mode: target.mode,
        exec: &exec,
        document: ready.prepared.name.clone(),
        parameters: Value::Object(ready.prepared.values.clone().into_iter().collect()),
        secrets: &ready.resolved.secure,
    };
    let (record, dir) =
        engine::execute(&ready.plan, &ctx, run_dir).context("failed to record the run")?;
    let _ = std::fs::remove_dir_all(&scripts_dir);
    Ok(Finished {
        record,
        dir,
        outbox,
        key_prefix,
    })
}

/// Sends what is in the spool; results that cannot go stay for later.
pub fn upload(settings: &Settings, rt: &Runtime, outbox: &Outbox) -> DrainReport {
    let report = rt.block_on(async {
        let sdk = cloud::sdk_config(&settings.aws).await;
        Uploader::new(cloud::s3_client(&sdk, settings))
            .drain(outbox)
            .await
    });
    tracing::info!(
        items = report.items_delivered,
        files = report.files_delivered,
        bytes = report.bytes,
        kept = report.items_kept,
        "spool drained"
    );
    report
}
