//! Reading a step's inputs with precise errors: wrong types and unknown keys
//! are reported with the step and key names, all at once.

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub struct Inputs<'a> {
    step: &'a str,
    map: &'a Map<String, Value>,
    /// The reference agent matches `aws:runShellScript` keys case-insensitively.
    case_insensitive: bool,
    used: RefCell<BTreeSet<String>>,
    problems: RefCell<Vec<String>>,
}

impl<'a> Inputs<'a> {
    pub fn new(
        step: &'a str,
        inputs: &'a Value,
        case_insensitive: bool,
    ) -> Result<Self, Vec<String>> {
        match inputs.as_object() {
            Some(map) => Ok(Inputs {
                step,
                map,
                case_insensitive,
                used: RefCell::default(),
                problems: RefCell::default(),
            }),
            None => Err(vec![format!("step '{step}': inputs must be a mapping")]),
        }
    }

    pub fn problem(&self, msg: impl std::fmt::Display) {
        self.problems
            .borrow_mut()
            .push(format!("step '{}': {msg}", self.step));
    }

    /// The raw value of a key, marking it as known.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        let found = if self.case_insensitive {
            self.map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))
        } else {
            self.map.get_key_value(key)
        };
        let (k, v) = found?;
        self.used.borrow_mut().insert(k.clone());
        (!v.is_null()).then_some(v)
    }

    pub fn string(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => {
                self.problem(format_args!("input '{key}' must be a string"));
                None
            }
        }
    }

    pub fn required_string(&self, key: &str) -> Option<String> {
        let v = self.string(key);
        if v.is_none() && self.get(key).is_none() {
            self.problem(format_args!("input '{key}' is required"));
        }
        v
    }

    /// A required absolute path to a file: not empty, not relative, and not
    /// ending in `/` (which names a directory, while the file written would
    /// be the path without it).
    pub fn file_path(&self, key: &str) -> std::path::PathBuf {
        let Some(text) = self.required_string(key) else {
            return Default::default();
        };
        if text.is_empty() {
            self.problem(format_args!(
                "input '{key}' is empty; give an absolute path"
            ));
        } else if !text.starts_with('/') {
            self.problem(format_args!(
                "input '{key}' must be an absolute path, got '{text}'"
            ));
        } else if text.ends_with('/') {
            self.problem(format_args!(
                "input '{key}' ends in '/', which names a directory; give the file's path, \
                 got '{text}'"
            ));
        }
        text.into()
    }

    /// An optional whole number in `range`, given as a number or its text
    /// (SSM parameters substitute as strings). Anything else is reported
    /// with the range, and reads as absent.
    pub fn whole_number(&self, key: &str, range: std::ops::RangeInclusive<u64>) -> Option<u64> {
        let v = self.get(key)?;
        let n = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                self.problem(format_args!(
                    "input '{key}' must be a whole number from {} to {}, got {v}",
                    range.start(),
                    range.end()
                ));
                None
            }
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => {
                self.problem(format_args!("input '{key}' must be true or false"));
                None
            }
        }
    }

    /// A list of strings; a single string counts as a list of one.
    pub fn string_list(&self, key: &str) -> Option<Vec<String>> {
        match self.get(key)? {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(items) => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect();
                if strings.is_none() {
                    self.problem(format_args!("input '{key}' must be a list of strings"));
                }
                strings
            }
            _ => {
                self.problem(format_args!("input '{key}' must be a list of strings"));
                None
            }
        }
    }

    /// One of a fixed set of words.
    pub fn choice(&self, key: &str, allowed: &[&str], default: &str) -> String {
        match self.string(key) {
            None => default.to_string(),
            Some(v) if allowed.contains(&v.as_str()) => v,
            Some(v) => {
                self.problem(format_args!(
                    "input '{key}' is '{v}'; expected one of: {}",
                    allowed.join(", ")
                ));
                default.to_string()
            }
        }
    }

    /// Ends parsing: unknown keys are errors, and all problems are returned.
    pub fn finish(self) -> Result<(), Vec<String>> {
        let used = self.used.borrow();
        for key in self.map.keys() {
            let known = if self.case_insensitive {
                used.iter().any(|u| u.eq_ignore_ascii_case(key))
            } else {
                used.contains(key)
            };
            if !known {
                self.problem(format_args!("unknown input '{key}'"));
            }
        }
        let problems = self.problems.take();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}
