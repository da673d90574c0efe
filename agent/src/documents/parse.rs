//! Bytes to [`Document`]: syntax first (JSON or YAML), then structure, with
//! every structural problem reported at once and located by its path in the
//! document (`mainSteps[2].name`).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use regex_lite::Regex;
use serde_json::{Map, Value};

use super::{Document, DocumentError, ParamType, ParameterDef, Precondition, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// From the file extension; anything else is sniffed: a document whose
    /// first non-blank character is `{` is JSON.
    pub fn detect(path: Option<&Path>, text: &str) -> Format {
        match path.and_then(|p| p.extension()).and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("yml" | "yaml") => Format::Yaml,
            _ if text.trim_start().starts_with('{') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// Schema versions whose steps live in `mainSteps`.
const MAIN_STEPS_VERSIONS: [&str; 5] = ["2.0", "2.0.1", "2.0.2", "2.0.3", "2.2"];

/// Longest step name accepted, as the SSM service allows.
const MAX_STEP_NAME_CHARS: usize = 128;

pub fn parse_file(path: &Path) -> Result<Document, DocumentError> {
    let text = std::fs::read_to_string(path).map_err(|source| DocumentError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(
        &text,
        &path.display().to_string(),
        Format::detect(Some(path), &text),
    )
}

pub fn parse(text: &str, source_name: &str, format: Format) -> Result<Document, DocumentError> {
    let value: Value = match format {
        Format::Json => serde_json::from_str(text).map_err(|e| DocumentError::Syntax {
            source_name: source_name.into(),
            format: "JSON",
            message: e.to_string(),
        })?,
        Format::Yaml => serde_yaml_ng::from_str(text).map_err(|e| DocumentError::Syntax {
            source_name: source_name.into(),
            format: "YAML",
            message: e.to_string(),
        })?,
    };
    let mut p = Problems::default();
    let doc = structure(&value, &mut p);
    match doc {
        Some(doc) if p.0.is_empty() => Ok(doc),
        _ => Err(DocumentError::Invalid {
            source_name: source_name.into(),
            problems: p.0,
        }),
    }
}

#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, msg: impl Into<String>) {
        self.0.push(msg.into());
    }
}

fn structure(value: &Value, p: &mut Problems) -> Option<Document> {
    let Some(top) = value.as_object() else {
        p.add("the document must be a mapping with schemaVersion and mainSteps");
        return None;
    };
    let schema_version = match top.get("schemaVersion") {
        Some(Value::String(s)) => s.clone(),
        // Unquoted YAML `2.2` arrives as a number.
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => {
            p.add("schemaVersion must be a string such as \"2.2\"");
            return None;
        }
        None => {
            p.add("schemaVersion is missing (expected \"2.2\" or \"1.2\")");
            return None;
        }
    };
    let description = top
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let parameters = match top.get("parameters") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => parameters(m, p),
        Some(_) => {
            p.add("parameters must be a mapping of parameter names to definitions");
            Vec::new()
        }
    };
    let steps = if MAIN_STEPS_VERSIONS.contains(&schema_version.as_str()) {
        main_steps(top.get("mainSteps"), &schema_version, p)
    } else if schema_version == "1.2" {
        runtime_config(top.get("runtimeConfig"), p)
    } else {
        p.add(format!(
            "schemaVersion '{schema_version}' is not supported (supported: 1.2, 2.0, 2.0.1-2.0.3, 2.2)"
        ));
        return None;
    };
    check_step_names(&steps, p);
    Some(Document {
        schema_version,
        description,
        parameters,
        steps,
    })
}

fn parameters(defs: &Map<String, Value>, p: &mut Problems) -> Vec<ParameterDef> {
    let name_re = Regex::new("^[a-zA-Z0-9]+$").expect("static regex");
    let mut out = Vec::new();
    for (name, def) in defs {
        let at = format!("parameters.{name}");
        if !name_re.is_match(name) {
            p.add(format!(
                "{at}: parameter names may contain only letters and digits"
            ));
        }
        let Some(def) = def.as_object() else {
            p.add(format!(
                "{at}: definition must be a mapping with at least 'type'"
            ));
            continue;
        };
        let kind = match def.get("type").and_then(Value::as_str) {
            Some(t) => match ParamType::from_name(t) {
                Some(k) => k,
                None => {
                    p.add(format!(
                        "{at}.type: unknown type '{t}' (expected String, StringList, StringMap, Integer, Boolean or MapList)"
                    ));
                    continue;
                }
            },
            None => {
                p.add(format!("{at}.type is missing"));
                continue;
            }
        };
        let allowed_pattern = match def.get("allowedPattern") {
            None => None,
            Some(Value::String(re)) => match Regex::new(re) {
                Ok(r) => Some(r),
                Err(e) => {
                    p.add(format!(
                        "{at}.allowedPattern is not a valid regular expression: {e}"
                    ));
                    None
                }
            },
            Some(_) => {
                p.add(format!("{at}.allowedPattern must be a string"));
                None
            }
        };
        let allowed_values = match def.get("allowedValues") {
            None => None,
            Some(Value::Array(v)) => Some(v.clone()),
            Some(_) => {
                p.add(format!("{at}.allowedValues must be a list"));
                None
            }
        };
        let env_var = match def.get("interpolationType").and_then(Value::as_str) {
            None => false,
            Some("ENV_VAR") => true,
            Some(other) => {
                p.add(format!(
                    "{at}.interpolationType '{other}' is not supported (only ENV_VAR)"
                ));
                false
            }
        };
        out.push(ParameterDef {
            name: name.clone(),
            kind,
            description: def
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            default: def.get("default").cloned(),
            allowed_values,
            allowed_pattern,
            min_chars: count(def, "minChars", &at, p),
            max_chars: count(def, "maxChars", &at, p),
            min_items: count(def, "minItems", &at, p),
            max_items: count(def, "maxItems", &at, p),
            env_var,
        });
    }
    out
}

/// A non-negative count, given as a number or a numeric string.
fn count(def: &Map<String, Value>, key: &str, at: &str, p: &mut Problems) -> Option<u64> {
    let v = def.get(key)?;
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    if n.is_none() {
        p.add(format!("{at}.{key} must be a non-negative whole number"));
    }
    n
}

fn main_steps(value: Option<&Value>, version: &str, p: &mut Problems) -> Vec<Step> {
    let Some(Value::Array(items)) = value else {
        p.add(format!(
            "mainSteps must be a non-empty list (schemaVersion {version})"
        ));
        return Vec::new();
    };
    if items.is_empty() {
        p.add("mainSteps is empty: a document needs at least one step");
    }
    let mut steps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("mainSteps[{i}]");
        let Some(obj) = item.as_object() else {
            p.add(format!(
                "{at} must be a mapping with action, name and inputs"
            ));
            continue;
        };
        let name = match obj.get("name").and_then(Value::as_str) {
            Some(n) => n.to_string(),
            None => {
                p.add(format!("{at}.name is missing"));
                continue;
            }
        };
        let at = format!("{at} ('{name}')");
        let action = match obj.get("action").and_then(Value::as_str) {
            Some(a) => a.to_string(),
            None => {
                p.add(format!("{at}.action is missing"));
                continue;
            }
        };
        let inputs = match obj.get("inputs") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => {
                p.add(format!("{at}.inputs must be a mapping"));
                continue;
            }
        };
        let precondition = match obj.get("precondition") {
            None => None,
            Some(v) => precondition(v, &at, p),
        };
        if precondition.is_some() && version != "2.2" {
            p.add(format!("{at}: preconditions need schemaVersion 2.2"));
        }
        steps.push(Step {
            name,
            action,
            inputs,
            precondition,
        });
    }
    steps
}

fn precondition(v: &Value, at: &str, p: &mut Problems) -> Option<Precondition> {
    let obj = match v.as_object() {
        Some(o) if o.len() == 1 => o,
        _ => {
            p.add(format!(
                "{at}.precondition must be a mapping with exactly one operator, e.g. StringEquals: [platformType, Linux]"
            ));
            return None;
        }
    };
    let (operator, operands) = obj.iter().next().expect("one entry");
    let Some(list) = operands.as_array() else {
        p.add(format!(
            "{at}.precondition.{operator} must be a list of operands"
        ));
        return None;
    };
    let operands = list
        .iter()
        .map(|o| match o {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    Some(Precondition {
        operator: operator.clone(),
        operands,
    })
}

/// 1.2 documents: `runtimeConfig` maps a plugin name to `properties`, a list
/// (or a single mapping) of invocations, each becoming one step named by its
/// `id` (the reference names unnamed ones `0.aws:runShellScript`).
fn runtime_config(value: Option<&Value>, p: &mut Problems) -> Vec<Step> {
    let Some(Value::Object(plugins)) = value else {
        p.add("runtimeConfig must be a mapping of plugin names (schemaVersion 1.2)");
        return Vec::new();
    };
    if plugins.is_empty() {
        p.add("runtimeConfig is empty: a document needs at least one plugin");
    }
    let mut steps = Vec::new();
    for (plugin, config) in plugins {
        let at = format!("runtimeConfig.{plugin}");
        let props = match config.get("properties") {
            Some(Value::Array(items)) => items.clone(),
            Some(v @ Value::Object(_)) => vec![v.clone()],
            _ => {
                p.add(format!("{at}.properties must be a list or a mapping"));
                continue;
            }
        };
        for (i, prop) in props.into_iter().enumerate() {
            let Value::Object(mut inputs) = prop else {
                p.add(format!("{at}.properties[{i}] must be a mapping"));
                continue;
            };
            let name = match inputs.remove("id") {
                Some(Value::String(id)) => id,
                _ => format!("{i}.{plugin}"),
            };
            steps.push(Step {
                name,
                action: plugin.clone(),
                inputs: Value::Object(inputs),
                precondition: None,
            });
        }
    }
    steps
}

/// Step names become path components in the outbox and S3 keys, so they are
/// held to a safe alphabet, and must be unique as SSM requires.
fn check_step_names(steps: &[Step], p: &mut Problems) {
    let ok = Regex::new("^[A-Za-z0-9_.:-]+$").expect("static regex");
    let mut seen = HashSet::new();
    // Output keys drop ':' from action and step names, as SSM's do, so
    // 'a:b' and 'ab' of one action would write the same stdout.
    let mut keys: HashMap<(String, String), &str> = HashMap::new();
    for step in steps {
        let n = &step.name;
        if n.is_empty()
            || n.chars().count() > MAX_STEP_NAME_CHARS
            || !ok.is_match(n)
            || n == "."
            || n == ".."
        {
            p.add(format!(
                "step name '{n}' is invalid: use 1-{MAX_STEP_NAME_CHARS} letters, digits, '_', '-', '.' or ':'"
            ));
        }
        if !seen.insert(n.as_str()) {
            p.add(format!(
                "step name '{n}' is used more than once; step names must be unique"
            ));
            continue;
        }
        let key = (step.action.replace(':', ""), n.replace(':', ""));
        if let Some(other) = keys.insert(key.clone(), n) {
            p.add(format!(
                "step names '{other}' and '{n}' both become '{}' in output keys (':' is \
                 dropped, as SSM does); rename one",
                key.1
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse(text, "t", Format::Yaml).unwrap_err() {
            DocumentError::Invalid { problems, .. } => problems,
            other => panic!("expected Invalid, got {other}"),
        }
    }

    #[test]
    fn unquoted_yaml_schema_version_is_accepted() {
        let d = parse("schemaVersion: 2.2\nmainSteps:\n- action: aws:runShellScript\n  name: a\n  inputs: {runCommand: [echo]}\n", "t", Format::Yaml).unwrap();
        assert_eq!(d.schema_version, "2.2");
        assert_eq!(d.steps[0].name, "a");
    }

    #[test]
    fn unsupported_version_is_named() {
        let p = problems("schemaVersion: '3.0'\nmainSteps: []\n");
        assert!(p[0].contains("'3.0' is not supported"), "{p:?}");
    }

    #[test]
    fn duplicate_and_unsafe_step_names_are_reported_together() {
        let p = problems(
            "schemaVersion: '2.2'\nmainSteps:\n- {action: a, name: x}\n- {action: a, name: x}\n- {action: a, name: '../up'}\n",
        );
        assert!(
            p.iter().any(|m| m.contains("'x' is used more than once")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.contains("'../up' is invalid")), "{p:?}");
    }

    #[test]
    fn step_names_that_differ_only_by_colons_are_refused() {
        // Regression: 'a:b' and 'ab' shared one stdout in the outbox.
        let p = problems(
            "schemaVersion: '2.2'\nmainSteps:\n- {action: a, name: 'a:b'}\n- {action: a, name: ab}\n- {action: b, name: 'a::b'}\n",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("'a:b' and 'ab' both become 'ab' in output keys"),
            "{p:?}"
        );
    }

    #[test]
    fn runtime_config_properties_become_steps() {
        let d = parse(
            r#"{"schemaVersion":"1.2","runtimeConfig":{"aws:runShellScript":{"properties":[{"id":"0.aws:runShellScript","runCommand":"{{ commands }}"}]}}}"#,
            "t",
            Format::Json,
        )
        .unwrap();
        assert_eq!(d.steps.len(), 1);
        assert_eq!(d.steps[0].name, "0.aws:runShellScript");
        assert_eq!(d.steps[0].action, "aws:runShellScript");
        assert!(d.steps[0].inputs.get("id").is_none());
    }

    #[test]
    fn bad_allowed_pattern_is_a_document_error() {
        let p = problems("schemaVersion: '2.2'\nparameters:\n  x: {type: String, allowedPattern: '('}\nmainSteps:\n- {action: a, name: s}\n");
        assert!(p[0].contains("parameters.x.allowedPattern"), "{p:?}");
    }
}
