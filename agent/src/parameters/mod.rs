//! Parameter values: typed from the command line or a document default, then
//! held to every constraint the definition declares.
//!
//! The reference agent trusts the SSM service to have validated values and
//! checks only `allowedPattern`; Rampart also runs documents that never went
//! through the service, so it checks everything locally.

mod secret;
pub mod store;
mod substitute;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::documents::{Document, ParamType, ParameterDef};

pub use secret::SecretString;
pub use substitute::{
    placeholders, substitute, substitute_str, whole_placeholder, Lookup, Placeholder,
    SubstituteError,
};

/// Typed parameter values by name.
pub type Values = BTreeMap<String, Value>;

/// Raw `--param name=value` arguments, grouped by name in the order given.
pub type RawArgs = BTreeMap<String, Vec<String>>;

/// Splits `name=value` at the first `=`.
pub fn parse_assignment(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("parameter '{arg}' must be written as name=value")),
    }
}

/// Builds the value of every parameter the document defines, from the raw
/// arguments or the defaults. All problems are returned together.
pub fn resolve(doc: &Document, raw: &RawArgs) -> Result<Values, Vec<String>> {
    let mut problems = Vec::new();
    for name in raw.keys() {
        if doc.parameter(name).is_none() {
            let known: Vec<&str> = doc.parameters.iter().map(|p| p.name.as_str()).collect();
            problems.push(if known.is_empty() {
                format!("unknown parameter '{name}': this document takes no parameters")
            } else {
                format!(
                    "unknown parameter '{name}' (this document takes: {})",
                    known.join(", ")
                )
            });
        }
    }
    let mut values = Values::new();
    for def in &doc.parameters {
        let value = match raw.get(&def.name) {
            Some(given) => from_args(def, given),
            None => match &def.default {
                Some(d) => coerce(def, d).map_err(|e| format!("{e} (in the document's default)")),
                None => Err(format!(
                    "parameter '{}' is required and has no default",
                    def.name
                )),
            },
        };
        match value.and_then(|v| validate(def, &v).map(|_| v)) {
            Ok(v) => {
                values.insert(def.name.clone(), v);
            }
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

/// Converts command-line strings to a typed value.
fn from_args(def: &ParameterDef, given: &[String]) -> Result<Value, String> {
    let name = &def.name;
    let single = || -> Result<&str, String> {
        match given {
            [one] => Ok(one.as_str()),
            _ => Err(format!(
                "parameter '{name}' is a {} and was given {} times",
                def.kind.name(),
                given.len()
            )),
        }
    };
    let json = |text: &str| -> Result<Value, String> {
        serde_json::from_str(text)
            .map_err(|e| format!("parameter '{name}' ({}) must be JSON: {e}", def.kind.name()))
    };
    match def.kind {
        ParamType::String => Ok(Value::String(single()?.to_string())),
        ParamType::StringList => {
            if let [one] = given {
                if one.trim_start().starts_with('[') {
                    return coerce(def, &json(one)?);
                }
            }
            Ok(Value::Array(
                given.iter().cloned().map(Value::String).collect(),
            ))
        }
        ParamType::Integer => coerce(def, &Value::String(single()?.to_string())),
        ParamType::Boolean => coerce(def, &Value::String(single()?.to_string())),
        ParamType::StringMap | ParamType::MapList => coerce(def, &json(single()?)?),
    }
}

/// Checks a JSON value against the declared type, accepting the string forms
/// SSM accepts for Integer and Boolean ("5", "true").
fn coerce(def: &ParameterDef, v: &Value) -> Result<Value, String> {
    let name = &def.name;
    let wrong = |what: &str| {
        Err(format!(
            "parameter '{name}' must be {what} ({}), got {}",
            def.kind.name(),
            describe(v)
        ))
    };
    match def.kind {
        ParamType::String => match v {
            Value::String(_) => Ok(v.clone()),
            _ => wrong("a string"),
        },
        ParamType::StringList => match v {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(v.clone()),
            _ => wrong("a list of strings"),
        },
        ParamType::StringMap => match v {
            Value::Object(_) => Ok(v.clone()),
            _ => wrong("a mapping"),
        },
        ParamType::MapList => match v {
            Value::Array(items) if items.iter().all(Value::is_object) => Ok(v.clone()),
            _ => wrong("a list of mappings"),
        },
        ParamType::Integer => match v {
            Value::Number(n) if n.is_i64() => Ok(v.clone()),
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(i) => Ok(Value::from(i)),
                Err(_) => wrong("a whole number"),
            },
            _ => wrong("a whole number"),
        },
        ParamType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => wrong("true or false"),
        },
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
        other => other.to_string(),
    }
}

/// The text form of a scalar, used for constraint checks and substitution.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Applies allowedValues, allowedPattern, min/maxChars (to a String or to each
/// StringList element) and min/maxItems (to lists and maps).
fn validate(def: &ParameterDef, v: &Value) -> Result<(), String> {
    let name = &def.name;
    let elements: Vec<String> = match (def.kind, v) {
        (ParamType::StringList, Value::Array(items)) => items.iter().map(scalar_text).collect(),
        (ParamType::String | ParamType::Integer | ParamType::Boolean, _) => vec![scalar_text(v)],
        _ => Vec::new(),
    };
    for text in &elements {
        if let Some(allowed) = &def.allowed_values {
            if !allowed.iter().any(|a| scalar_text(a) == *text) {
                let list: Vec<String> = allowed.iter().map(scalar_text).collect();
                return Err(format!(
                    "parameter '{name}': '{text}' is not one of the allowed values ({})",
                    list.join(", ")
                ));
            }
        }
        if let Some(re) = &def.allowed_pattern {
            if !re.is_match(text) {
                return Err(format!(
                    "parameter '{name}': '{text}' does not match the allowed pattern {}",
                    re.as_str()
                ));
            }
        }
        let chars = text.chars().count() as u64;
        if def.min_chars.is_some_and(|min| chars < min) {
            return Err(format!(
                "parameter '{name}': '{text}' is shorter than minChars {}",
                def.min_chars.unwrap_or_default()
            ));
        }
        if def.max_chars.is_some_and(|max| chars > max) {
            return Err(format!(
                "parameter '{name}' is longer than maxChars {} ({chars} characters)",
                def.max_chars.unwrap_or_default()
            ));
        }
    }
    let items = match v {
        Value::Array(a) => Some(a.len() as u64),
        Value::Object(m) => Some(m.len() as u64),
        _ => None,
    };
    if let Some(n) = items {
        if def.min_items.is_some_and(|min| n < min) {
            return Err(format!(
                "parameter '{name}' has {n} items, fewer than minItems {}",
                def.min_items.unwrap_or_default()
            ));
        }
        if def.max_items.is_some_and(|max| n > max) {
            return Err(format!(
                "parameter '{name}' has {n} items, more than maxItems {}",
                def.max_items.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::{parse, Format};

    fn doc(params: &str) -> Document {
        let text = format!(
            "schemaVersion: '2.2'\nparameters:\n{params}\nmainSteps:\n- {{action: a, name: s}}\n"
        );
        parse(&text, "t", Format::Yaml).unwrap()
    }

    fn args(pairs: &[(&str, &str)]) -> RawArgs {
        let mut raw = RawArgs::new();
        for (k, v) in pairs {
            raw.entry(k.to_string()).or_default().push(v.to_string());
        }
        raw
    }

    #[test]
    fn defaults_fill_in_and_required_is_enforced() {
        let d = doc("  a: {type: String, default: x}\n  b: {type: Integer}");
        let err = resolve(&d, &args(&[])).unwrap_err();
        assert_eq!(
            err,
            vec!["parameter 'b' is required and has no default".to_string()]
        );
        let v = resolve(&d, &args(&[("b", "7")])).unwrap();
        assert_eq!(v["a"], Value::from("x"));
        assert_eq!(v["b"], Value::from(7));
    }

    #[test]
    fn string_list_from_repeats_or_json() {
        let d = doc("  l: {type: StringList}");
        let v = resolve(&d, &args(&[("l", "a"), ("l", "b")])).unwrap();
        assert_eq!(v["l"], serde_json::json!(["a", "b"]));
        let v = resolve(&d, &args(&[("l", r#"["x","y z"]"#)])).unwrap();
        assert_eq!(v["l"], serde_json::json!(["x", "y z"]));
    }

    #[test]
    fn every_constraint_is_checked() {
        let d = doc(concat!(
            "  s: {type: String, default: 'ok', allowedValues: [ok, fine]}\n",
            "  p: {type: String, default: 'ab', allowedPattern: '^[a-z]+$', minChars: 2, maxChars: 3}\n",
            "  l: {type: StringList, default: [a], minItems: 1, maxItems: 2}",
        ));
        assert!(resolve(&d, &args(&[])).is_ok());
        let e = resolve(&d, &args(&[("s", "bad")])).unwrap_err();
        assert!(
            e[0].contains("not one of the allowed values (ok, fine)"),
            "{e:?}"
        );
        let e = resolve(&d, &args(&[("p", "AB")])).unwrap_err();
        assert!(e[0].contains("does not match the allowed pattern"), "{e:?}");
        let e = resolve(&d, &args(&[("p", "a")])).unwrap_err();
        assert!(e[0].contains("shorter than minChars 2"), "{e:?}");
        let e = resolve(&d, &args(&[("p", "abcd")])).unwrap_err();
        assert!(e[0].contains("longer than maxChars 3"), "{e:?}");
        let e = resolve(&d, &args(&[("l", "a"), ("l", "b"), ("l", "c")])).unwrap_err();
        assert!(e[0].contains("more than maxItems 2"), "{e:?}");
        let e = resolve(&d, &args(&[("l", "[]")])).unwrap_err();
        assert!(e[0].contains("fewer than minItems 1"), "{e:?}");
    }

    #[test]
    fn wrong_types_and_unknown_names_are_named() {
        let d = doc("  n: {type: Integer, default: 1}\n  b: {type: Boolean, default: 'true'}\n  m: {type: StringMap, default: {}}");
        let e = resolve(
            &d,
            &args(&[("n", "five"), ("b", "yes"), ("m", "[1]"), ("zz", "1")]),
        )
        .unwrap_err();
        assert!(
            e.iter()
                .any(|m| m.contains("unknown parameter 'zz' (this document takes: n, b, m)")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("'n' must be a whole number")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("'b' must be true or false")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("'m' must be a mapping")),
            "{e:?}"
        );
    }
}
