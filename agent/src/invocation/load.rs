//! Where a document comes from: a file, a document built into the binary,
//! or an SSM document fetched by name (`ssm:NAME[:VERSION]`); and parameter
//! values given as `name=value` or JSON.

use std::path::Path;

use serde_json::Value;
use tokio::runtime::Runtime;

use super::InvocationError;
use crate::cloud;
use crate::config::Settings;
use crate::documents::{self, builtin, Document, Format};
use crate::parameters::{self, RawArgs};

/// Prefix of a document argument that names an SSM document.
pub const SSM_DOCUMENT_PREFIX: &str = "ssm:";

/// Loads the document `arg` names.
pub fn load_document(
    arg: &str,
    settings: &Settings,
    rt: &Runtime,
) -> Result<Document, InvocationError> {
    let invalid = |e: documents::DocumentError| InvocationError::Invalid(e.to_string());
    if let Some(name) = arg.strip_prefix(SSM_DOCUMENT_PREFIX) {
        let (text, format) = rt
            .block_on(async {
                let sdk = cloud::sdk_config(&settings.aws).await;
                cloud::get_document(&cloud::ssm_client(&sdk, &settings.aws), name).await
            })
            .map_err(InvocationError::Unavailable)?;
        return documents::parse(&text, arg, format).map_err(invalid);
    }
    let path = Path::new(arg);
    if path.exists() {
        return documents::parse_file(path).map_err(invalid);
    }
    if let Some(text) = builtin::find(arg) {
        return documents::parse(text, arg, Format::Yaml).map_err(invalid);
    }
    let names: Vec<&str> = builtin::DOCUMENTS.iter().map(|(n, _, _)| *n).collect();
    Err(InvocationError::Invalid(format!(
        "document '{arg}' is neither a file nor a built-in document (built-ins: {}; an SSM document is ssm:NAME)",
        names.join(", ")
    )))
}

/// `name=value` arguments and an optional JSON object, grouped by name.
pub fn raw_params(params: &[String], json: Option<&str>) -> Result<RawArgs, InvocationError> {
    let mut raw = RawArgs::new();
    for p in params {
        let (k, v) = parameters::parse_assignment(p).map_err(InvocationError::Invalid)?;
        raw.entry(k).or_default().push(v);
    }
    if let Some(text) = json.filter(|t| !t.trim().is_empty()) {
        let map: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| {
            InvocationError::Invalid(format!(
                "parameters JSON must be an object of names to values: {e}"
            ))
        })?;
        for (k, v) in json_params(&map) {
            raw.entry(k).or_default().extend(v);
        }
    }
    Ok(raw)
}

/// Parameters given as JSON (SendCommand payloads, --params-json,
/// associations): a list becomes repeated values (a StringList), a string
/// its text, anything else its JSON (a StringMap or MapList).
pub fn json_params(map: &serde_json::Map<String, Value>) -> RawArgs {
    map.iter()
        .map(|(k, v)| {
            let text = |i: &Value| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let values = match v {
                Value::Array(items) if items.iter().all(|i| !i.is_object()) => {
                    items.iter().map(text).collect()
                }
                other => vec![text(other)],
            };
            (k.clone(), values)
        })
        .collect()
}
