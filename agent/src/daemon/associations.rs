//! Associations: a document, its parameters, a schedule, a mode and an
//! output location, from drop-in files in `<config-dir>/associations.d/`
//! (what a gold AMI ships) and from State Manager.
//!
//! Each association is validated once when loaded: schedule, document,
//! parameters and the offline plan. One that fails is reported and skipped;
//! the others keep running.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::runtime::Runtime;
use tracing::warn;

use crate::actions::Mode;
use crate::config::Settings;
use crate::documents::{self, Document, Format};
use crate::invocation::{self, InvocationError};
use crate::output::S3Destination;
use crate::parameters::RawArgs;
use crate::schedule::{self, Schedule};

/// The drop-in folder under the config directory.
pub const DROPIN_DIR: &str = "associations.d";

/// One drop-in file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DropIn {
    name: String,
    document: String,
    #[serde(default)]
    parameters: serde_json::Map<String, Value>,
    schedule: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

/// Where an association came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    DropIn(PathBuf),
    StateManager { association_id: String },
}

/// A validated association, ready to be scheduled.
#[derive(Debug, Clone)]
pub struct Association {
    pub name: String,
    /// The id results are filed under: the State Manager association id, or
    /// the name for drop-ins.
    pub id: String,
    pub origin: Origin,
    pub document_name: String,
    pub document: Document,
    pub raw: RawArgs,
    pub schedule: Schedule,
    pub jitter: Duration,
    pub mode: Mode,
    pub destination: Option<S3Destination>,
    /// Identifies what a run of this association would do (document,
    /// parameters, mode): when a reload changes it, the agent's plan for
    /// drift repair is rebuilt instead of repairing towards the old one.
    pub fingerprint: u64,
}

fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Builds and validates an association from its parts.
#[allow(clippy::too_many_arguments)]
pub fn build(
    name: &str,
    id: &str,
    origin: Origin,
    document_name: &str,
    document: Document,
    parameters: &serde_json::Map<String, Value>,
    schedule_expr: &str,
    time_zone: Option<&str>,
    mode: Option<&str>,
    output: Option<&str>,
    settings: &Settings,
    instance_id: &str,
) -> Result<Association, String> {
    if !plain_name(name) || !plain_name(id) {
        return Err(format!(
            "association name '{name}' may contain only letters, digits, '-', '_' and '.'"
        ));
    }
    let mut schedule =
        Schedule::parse(schedule_expr).map_err(|e| format!("schedule '{schedule_expr}': {e}"))?;
    if let Some(tz) = time_zone {
        schedule = schedule.in_zone(schedule::parse_time_zone(tz).map_err(|e| e.to_string())?);
    }
    let mode = match mode.unwrap_or("check") {
        "check" => Mode::Check,
        "apply" => Mode::Apply,
        other => return Err(format!("mode '{other}' must be check or apply")),
    };
    let destination = match output {
        Some(uri) if !uri.is_empty() => {
            let mut d = S3Destination::parse(uri)?;
            d.kms_key_id = settings.output.kms_key_id.clone();
            Some(d)
        }
        _ => settings.destination(),
    };
    let raw = invocation::json_params(parameters);
    // Everything the run would refuse is refused now.
    let prepared = invocation::prepare(document_name.to_string(), document.clone(), &raw)
        .map_err(|e| e.to_string())?;
    invocation::check_offline(&prepared).map_err(|e| e.to_string())?;
    let jitter = schedule::jitter_for(instance_id, name, &schedule);
    let fingerprint = {
        use std::hash::{DefaultHasher, Hash, Hasher};
        // Debug of the parsed document is deterministic (no hash maps in
        // it) and covers every field a plan is built from.
        let mut h = DefaultHasher::new();
        document_name.hash(&mut h);
        format!("{document:?}").hash(&mut h);
        Value::Object(parameters.clone()).to_string().hash(&mut h);
        mode.as_str().hash(&mut h);
        h.finish()
    };
    Ok(Association {
        fingerprint,
        name: name.to_string(),
        id: id.to_string(),
        origin,
        document_name: document_name.to_string(),
        document,
        raw,
        schedule,
        jitter,
        mode,
        destination,
    })
}

/// Loads every `*.yml`/`*.yaml` drop-in. Returns the valid associations and
/// one message per file that was skipped.
pub fn load_dropins(
    config_dir: &Path,
    settings: &Settings,
    instance_id: &str,
    rt: &Runtime,
) -> (Vec<Association>, Vec<String>) {
    let dir = config_dir.join(DROPIN_DIR);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut out: Vec<Association> = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        match load_one(&file, settings, instance_id, rt) {
            Ok(a) if out.iter().any(|o| o.name == a.name) => problems.push(format!(
                "{}: association name '{}' is already used by another drop-in; skipped",
                file.display(),
                a.name
            )),
            Ok(a) => out.push(a),
            Err(e) => problems.push(format!("{}: {e}; skipped", file.display())),
        }
    }
    for p in &problems {
        warn!(event = "association_invalid", problem = %p, "association skipped");
    }
    (out, problems)
}

fn load_one(
    file: &Path,
    settings: &Settings,
    instance_id: &str,
    rt: &Runtime,
) -> Result<Association, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))?;
    let d: DropIn =
        serde_yaml_ng::from_str(&text).map_err(|e| format!("invalid association: {e}"))?;
    let document = invocation::load_document(&d.document, settings, rt).map_err(|e| match e {
        InvocationError::Invalid(m) | InvocationError::Unavailable(m) => m,
    })?;
    build(
        &d.name,
        &d.name,
        Origin::DropIn(file.to_path_buf()),
        &d.document,
        document,
        &d.parameters,
        &d.schedule,
        d.time_zone.as_deref(),
        d.mode.as_deref(),
        d.output.as_deref(),
        settings,
        instance_id,
    )
}

/// An association as State Manager describes it.
pub struct Described {
    pub association_id: String,
    pub name: String,
    pub document_name: String,
    pub content: String,
    pub parameters: BTreeMap<String, Vec<String>>,
    pub schedule: String,
    pub output: Option<String>,
}

/// Builds associations from State Manager's answers. They run in apply
/// mode, as State Manager runs Command documents.
pub fn from_state_manager(
    described: Vec<Described>,
    settings: &Settings,
    instance_id: &str,
) -> (Vec<Association>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for d in described {
        let parsed = documents::parse(
            &d.content,
            &d.document_name,
            Format::detect(None, &d.content),
        )
        .map_err(|e| e.to_string());
        let params: serde_json::Map<String, Value> = d
            .parameters
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::Array(v.iter().cloned().map(Value::String).collect()),
                )
            })
            .collect();
        let result = parsed.and_then(|doc| {
            build(
                &d.name,
                &d.association_id,
                Origin::StateManager {
                    association_id: d.association_id.clone(),
                },
                &d.document_name,
                doc,
                &params,
                &d.schedule,
                None,
                Some("apply"),
                d.output.as_deref(),
                settings,
                instance_id,
            )
        });
        match result {
            Ok(a) => out.push(a),
            Err(e) => {
                let p = format!(
                    "State Manager association {} ({}): {e}; skipped",
                    d.association_id, d.name
                );
                warn!(event = "association_invalid", problem = %p, "association skipped");
                problems.push(p);
            }
        }
    }
    (out, problems)
}
