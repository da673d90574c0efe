//! Planning: everything that can be wrong with a run is found here, before
//! any step runs. Parameters are substituted into each step's inputs, control
//! flow is read, and every action is built from its typed inputs.

use serde_json::{Map, Value};

use crate::actions::{self, Action};
use crate::documents::{Document, Precondition};
use crate::parameters::{scalar_text, substitute, Placeholder, Values};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Skip the remaining steps (except a finally step).
    Exit,
    /// Skip the remaining steps and report this step as a success.
    SuccessAndExit,
}

pub struct PlannedStep {
    pub name: String,
    pub action_name: String,
    pub action: Box<dyn Action>,
    pub precondition: Option<Precondition>,
    pub on_failure: Option<OnFailure>,
    pub exit_on_success: bool,
    pub finally: bool,
}

pub struct Plan {
    pub steps: Vec<PlannedStep>,
    /// `SSM_<name>` variables for parameters declared `interpolationType: ENV_VAR`.
    pub env: Vec<(String, String)>,
}

/// Builds the plan, or returns every problem found.
pub fn plan(doc: &Document, values: &Values) -> Result<Plan, Vec<String>> {
    let lookup = |p: &Placeholder| -> Result<Value, String> {
        match p {
            Placeholder::Param(name) => values
                .get(name)
                .cloned()
                .ok_or_else(|| format!("'{p}' names no parameter of this document")),
            Placeholder::Ssm(_) | Placeholder::SsmSecure(_) => Err(format!(
                "'{p}' is a Parameter Store reference; this build of Rampart cannot resolve Parameter Store references yet"
            )),
        }
    };
    let mut problems = Vec::new();
    let mut steps = Vec::new();
    let last = doc.steps.len().saturating_sub(1);
    for (index, step) in doc.steps.iter().enumerate() {
        let inputs = match substitute(&step.inputs, &lookup) {
            Ok(v) => v,
            Err(errs) => {
                problems.extend(
                    errs.into_iter()
                        .map(|e| format!("step '{}': {e}", step.name)),
                );
                continue;
            }
        };
        let mut inputs = match inputs {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let flow = take_flow(&step.name, &mut inputs, index == last);
        let (on_failure, exit_on_success, finally) = match flow {
            Ok(f) => f,
            Err(e) => {
                problems.extend(e);
                (None, false, false)
            }
        };
        let precondition = match &step.precondition {
            None => None,
            Some(pre) => {
                let mut operands = Vec::new();
                for o in &pre.operands {
                    match crate::parameters::substitute_str(o, &lookup) {
                        Ok(s) => operands.push(s),
                        Err(errs) => problems.extend(
                            errs.into_iter()
                                .map(|e| format!("step '{}' precondition: {e}", step.name)),
                        ),
                    }
                }
                Some(Precondition {
                    operator: pre.operator.clone(),
                    operands,
                })
            }
        };
        match actions::build(&step.name, &step.action, &Value::Object(inputs)) {
            Ok(action) => steps.push(PlannedStep {
                name: step.name.clone(),
                action_name: step.action.clone(),
                action,
                precondition,
                on_failure,
                exit_on_success,
                finally,
            }),
            Err(e) => problems.extend(e),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let env = doc
        .parameters
        .iter()
        .filter(|p| p.env_var)
        .filter_map(|p| {
            let v = values.get(&p.name)?;
            let text = match v {
                Value::Array(_) | Value::Object(_) => v.to_string(),
                other => scalar_text(other),
            };
            Some((format!("SSM_{}", p.name), text))
        })
        .collect();
    Ok(Plan { steps, env })
}

/// Removes and validates the control-flow keys SSM reads from a step's inputs.
fn take_flow(
    step: &str,
    inputs: &mut Map<String, Value>,
    is_last: bool,
) -> Result<(Option<OnFailure>, bool, bool), Vec<String>> {
    let mut problems = Vec::new();
    let on_failure = match inputs.remove("onFailure") {
        None => None,
        Some(Value::String(s)) if s == "exit" => Some(OnFailure::Exit),
        Some(Value::String(s)) if s == "successAndExit" => Some(OnFailure::SuccessAndExit),
        Some(other) => {
            problems.push(format!(
                "step '{step}': onFailure must be 'exit' or 'successAndExit', got {other}"
            ));
            None
        }
    };
    let exit_on_success = match inputs.remove("onSuccess") {
        None => false,
        Some(Value::String(s)) if s == "exit" => true,
        Some(other) => {
            problems.push(format!(
                "step '{step}': onSuccess must be 'exit', got {other}"
            ));
            false
        }
    };
    let finally = match inputs.remove("finallyStep") {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(other) => {
            problems.push(format!(
                "step '{step}': finallyStep must be true or false, got {other}"
            ));
            false
        }
    };
    if finally && !is_last {
        problems.push(format!(
            "step '{step}': finallyStep is only allowed on the last step"
        ));
    }
    if problems.is_empty() {
        Ok((on_failure, exit_on_success, finally))
    } else {
        Err(problems)
    }
}
