//! SSM Command documents: their shape, and turning bytes into a validated
//! [`Document`].
//!
//! Format reference: "SSM document schema features and examples" and
//! "Command document plugin reference" in the AWS Systems Manager user guide.
//! Only structure is checked here; parameter values and action inputs are
//! checked by `parameters` and `engine::plan` before any step runs.

pub mod builtin;
mod parse;

use serde_json::Value;
use thiserror::Error;

pub use parse::{parse, parse_file, Format};

/// The parameter types SSM defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    StringList,
    StringMap,
    Integer,
    Boolean,
    MapList,
}

impl ParamType {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "String" => ParamType::String,
            "StringList" => ParamType::StringList,
            "StringMap" => ParamType::StringMap,
            "Integer" => ParamType::Integer,
            "Boolean" => ParamType::Boolean,
            "MapList" => ParamType::MapList,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "String",
            ParamType::StringList => "StringList",
            ParamType::StringMap => "StringMap",
            ParamType::Integer => "Integer",
            ParamType::Boolean => "Boolean",
            ParamType::MapList => "MapList",
        }
    }
}

/// One entry of a document's `parameters` block.
#[derive(Debug, Clone)]
pub struct ParameterDef {
    pub name: String,
    pub kind: ParamType,
    pub description: String,
    /// No default means the parameter is required.
    pub default: Option<Value>,
    pub allowed_values: Option<Vec<Value>>,
    pub allowed_pattern: Option<regex_lite::Regex>,
    pub min_chars: Option<u64>,
    pub max_chars: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    /// `interpolationType: ENV_VAR`: also exported to shell steps as `SSM_<name>`.
    pub env_var: bool,
}

/// A `StringEquals` style precondition, kept raw; the engine evaluates it.
#[derive(Debug, Clone, PartialEq)]
pub struct Precondition {
    pub operator: String,
    pub operands: Vec<String>,
}

/// One step: from `mainSteps` (2.x) or one `runtimeConfig` property (1.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub action: String,
    /// Always a JSON object.
    pub inputs: Value,
    pub precondition: Option<Precondition>,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub schema_version: String,
    pub description: String,
    pub parameters: Vec<ParameterDef>,
    pub steps: Vec<Step>,
}

impl Document {
    pub fn parameter(&self, name: &str) -> Option<&ParameterDef> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// Preconditions exist from schema 2.2 on.
    pub fn supports_preconditions(&self) -> bool {
        self.schema_version == "2.2"
    }
}

#[derive(Debug, Error)]
pub enum DocumentError {
    #[error("cannot read document '{path}': {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("document '{source_name}' is not valid {format}: {message}")]
    Syntax {
        source_name: String,
        format: &'static str,
        message: String,
    },
    #[error("document '{source_name}' is invalid:\n  - {}", problems.join("\n  - "))]
    Invalid {
        source_name: String,
        problems: Vec<String>,
    },
}
