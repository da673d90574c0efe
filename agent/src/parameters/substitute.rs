//! `{{ name }}` substitution, as SSM does it.
//!
//! Every string inside a step's inputs is scanned once (keys are not). A string
//! that is exactly one placeholder takes the value with its type, so
//! `runCommand: "{{ commands }}"` becomes a list; inside a longer string a
//! scalar is inserted as text and a list or map as JSON. Values are inserted
//! byte for byte and never rescanned. Brace pairs that are not a placeholder
//! name (a Go template's `{{.Name}}`) are left alone; a placeholder name the
//! document does not define is an error, where the reference leaves it as is.

use std::sync::LazyLock;

use regex_lite::{Captures, Regex};
use serde_json::Value;
use thiserror::Error;

use super::scalar_text;

/// A placeholder found in a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placeholder {
    /// `{{ name }}`: a document parameter.
    Param(String),
    /// `{{ssm:name}}`: a Parameter Store value, not decrypted.
    Ssm(String),
    /// `{{ssm-secure:name}}`: a SecureString, decrypted.
    SsmSecure(String),
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Placeholder::Param(n) => write!(f, "{{{{ {n} }}}}"),
            Placeholder::Ssm(n) => write!(f, "{{{{ssm:{n}}}}}"),
            Placeholder::SsmSecure(n) => write!(f, "{{{{ssm-secure:{n}}}}}"),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct SubstituteError(pub String);

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{\s*(?:(ssm-secure|ssm):)?([A-Za-z0-9_./:-]+)\s*\}\}").expect("static regex")
});
static PARAM_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-zA-Z0-9]+$").expect("static regex"));

fn placeholder_of(c: &Captures) -> Option<Placeholder> {
    let name = c[2].to_string();
    match c.get(1).map(|m| m.as_str()) {
        Some("ssm") => Some(Placeholder::Ssm(name)),
        Some(_) => Some(Placeholder::SsmSecure(name)),
        None if PARAM_NAME.is_match(&name) => Some(Placeholder::Param(name)),
        None => None,
    }
}

/// The placeholder `s` consists of, exactly (no other text around it).
pub fn whole_placeholder(s: &str) -> Option<Placeholder> {
    let c = PLACEHOLDER.captures(s)?;
    let m = c.get(0)?;
    (m.start() == 0 && m.end() == s.len())
        .then(|| placeholder_of(&c))
        .flatten()
}

/// Every placeholder in a value, in document order, duplicates included.
pub fn placeholders(value: &Value) -> Vec<Placeholder> {
    let mut out = Vec::new();
    walk_strings(value, &mut |s| {
        out.extend(
            PLACEHOLDER
                .captures_iter(s)
                .filter_map(|c| placeholder_of(&c)),
        );
    });
    out
}

fn walk_strings(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| walk_strings(v, f)),
        Value::Object(map) => map.values().for_each(|v| walk_strings(v, f)),
        _ => {}
    }
}

/// Answers one placeholder: its typed value, `None` to leave the placeholder
/// exactly as written, or why it cannot be substituted.
pub type Lookup<'a> = dyn Fn(&Placeholder) -> Result<Option<Value>, String> + 'a;

/// Substitutes every placeholder in `value` through `lookup`. All failures
/// are returned.
pub fn substitute(value: &Value, lookup: &Lookup) -> Result<Value, Vec<SubstituteError>> {
    let mut errors = Vec::new();
    let out = subst_value(value, lookup, &mut errors);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Substitutes inside one string, always producing a string.
pub fn substitute_str(text: &str, lookup: &Lookup) -> Result<String, Vec<SubstituteError>> {
    let mut errors = Vec::new();
    let out = inline(text, lookup, &mut errors);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn subst_value(value: &Value, lookup: &Lookup, errors: &mut Vec<SubstituteError>) -> Value {
    match value {
        Value::String(s) => {
            whole(s, lookup, errors).unwrap_or_else(|| Value::String(inline(s, lookup, errors)))
        }
        Value::Array(items) => {
            // A list element that is exactly one list-valued placeholder is
            // spliced in: `["{{ssm:cmds}}", "x"]` with cmds = a,b gives
            // ["a", "b", "x"], as SSM does for StringList parameters.
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match (item, subst_value(item, lookup, errors)) {
                    (Value::String(_), Value::Array(list)) => out.extend(list),
                    (_, v) => out.push(v),
                }
            }
            Value::Array(out)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), subst_value(v, lookup, errors)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The type-preserving rule: a string that is exactly one placeholder.
fn whole(s: &str, lookup: &Lookup, errors: &mut Vec<SubstituteError>) -> Option<Value> {
    let c = PLACEHOLDER.captures(s)?;
    let m = c.get(0)?;
    if m.start() != 0 || m.end() != s.len() {
        return None;
    }
    let p = placeholder_of(&c)?;
    match lookup(&p) {
        Ok(Some(v)) => Some(v),
        Ok(None) => Some(Value::String(s.to_string())),
        Err(e) => {
            errors.push(SubstituteError(e));
            Some(Value::String(s.to_string()))
        }
    }
}

fn inline(s: &str, lookup: &Lookup, errors: &mut Vec<SubstituteError>) -> String {
    PLACEHOLDER
        .replace_all(s, |c: &Captures| {
            let Some(p) = placeholder_of(c) else {
                return c[0].to_string();
            };
            match lookup(&p) {
                Ok(None) => c[0].to_string(),
                Ok(Some(Value::Array(_))) if matches!(p, Placeholder::Ssm(_)) => {
                    errors.push(SubstituteError(format!(
                        "'{p}' is a StringList; it can only stand alone as a value or a list element, not inside a longer string"
                    )));
                    c[0].to_string()
                }
                Ok(Some(v @ (Value::Array(_) | Value::Object(_)))) => v.to_string(),
                Ok(Some(v)) => scalar_text(&v),
                Err(e) => {
                    errors.push(SubstituteError(e));
                    c[0].to_string()
                }
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(p: &Placeholder) -> Result<Option<Value>, String> {
        match p {
            Placeholder::Param(n) if n == "cmds" => Ok(Some(json!(["a", "b"]))),
            Placeholder::Param(n) if n == "n" => Ok(Some(json!(5))),
            Placeholder::Param(n) if n == "s" => Ok(Some(json!("x{{n}}$$y"))),
            Placeholder::Param(n) if n == "m" => Ok(Some(json!({"k": "v"}))),
            Placeholder::Param(n) if n == "keep" => Ok(None),
            other => Err(format!("unknown placeholder {other}")),
        }
    }

    #[test]
    fn keep_leaves_the_placeholder_exactly_as_written() {
        let out = substitute(&json!(["{{keep}}", "a {{  keep }} b"]), &params).unwrap();
        assert_eq!(out, json!(["{{keep}}", "a {{  keep }} b"]));
    }

    #[test]
    fn whole_string_keeps_type() {
        let out = substitute(&json!({"runCommand": "{{ cmds }}", "t": "{{n}}"}), &params).unwrap();
        assert_eq!(out, json!({"runCommand": ["a", "b"], "t": 5}));
    }

    #[test]
    fn inline_inserts_text_and_json_once_byte_for_byte() {
        let out = substitute(&json!("run {{ s }} {{n}} {{  m }} {{cmds}}"), &params).unwrap();
        // The value's own {{n}} and $$ are left exactly as given.
        assert_eq!(out, json!(r#"run x{{n}}$$y 5 {"k":"v"} ["a","b"]"#));
    }

    #[test]
    fn keys_and_non_placeholders_are_untouched() {
        let out = substitute(&json!({"{{n}}": "{{.Name}} {{ a.b }}"}), &params).unwrap();
        assert_eq!(out, json!({"{{n}}": "{{.Name}} {{ a.b }}"}));
    }

    #[test]
    fn unknown_placeholders_are_all_reported() {
        let err = substitute(&json!(["{{ nope }}", "x {{other}}"]), &params).unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!(err[0].0, "unknown placeholder {{ nope }}");
    }

    #[test]
    fn list_elements_that_are_lists_are_spliced() {
        let out = substitute(&json!(["{{ cmds }}", "c"]), &params).unwrap();
        assert_eq!(out, json!(["a", "b", "c"]));
    }

    #[test]
    fn ssm_string_list_inside_a_longer_string_is_an_error() {
        let lookup = |p: &Placeholder| match p {
            Placeholder::Ssm(_) => Ok(Some(json!(["x", "y"]))),
            other => Err(format!("unknown {other}")),
        };
        let err = substitute(&json!("run {{ssm:/list}}"), &lookup).unwrap_err();
        assert!(err[0].0.contains("is a StringList"), "{err:?}");
        assert_eq!(
            substitute(&json!(["{{ssm:/list}}"]), &lookup).unwrap(),
            json!(["x", "y"])
        );
    }

    #[test]
    fn ssm_references_are_recognised() {
        let found =
            placeholders(&json!({"a": "{{ssm:/app/db-host}} {{ssm-secure:key:3}} {{ p1 }}"}));
        assert_eq!(
            found,
            vec![
                Placeholder::Ssm("/app/db-host".into()),
                Placeholder::SsmSecure("key:3".into()),
                Placeholder::Param("p1".into())
            ]
        );
    }
}
