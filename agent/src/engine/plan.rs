//! Planning: everything that can be wrong with a run is found here, before
//! any step runs. Parameters are substituted into each step's inputs, control
//! flow is read, and every action is built from its typed inputs.

use serde_json::{Map, Value};

use crate::actions::{self, Action};
use crate::documents::{Document, Precondition};
use crate::parameters::store::{References, Resolved};
use crate::parameters::{
    placeholders, scalar_text, substitute, whole_placeholder, Placeholder, Values,
};

/// The action that writes a SecureString into a file.
pub const SECRET_FILE_ACTION: &str = "rampart:secretFile";

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

/// Parameter Store references of a document run with these values: every
/// `{{ssm:..}}` and `{{ssm-secure:..}}` in the steps (after parameter
/// substitution, so a reference may come from a parameter) and the
/// `parameter` of each `rampart:secretFile` step. Problems are left for
/// [`plan`] to report.
pub fn references(doc: &Document, values: &Values) -> References {
    let keep_store_refs = |p: &Placeholder| -> Result<Option<Value>, String> {
        match p {
            // An unknown parameter is plan()'s to report; here it is empty.
            Placeholder::Param(name) => Ok(Some(values.get(name).cloned().unwrap_or(Value::Null))),
            _ => Ok(None),
        }
    };
    let mut refs = References::default();
    let mut note = |p: Placeholder| match p {
        Placeholder::Ssm(n) => {
            refs.plain.insert(n);
        }
        Placeholder::SsmSecure(n) => {
            refs.secure.insert(n);
        }
        Placeholder::Param(_) => {}
    };
    for v in values.values() {
        placeholders(v).into_iter().for_each(&mut note);
    }
    for step in &doc.steps {
        let Ok(inputs) = substitute(&step.inputs, &keep_store_refs) else {
            continue;
        };
        placeholders(&inputs).into_iter().for_each(&mut note);
        if step.action == SECRET_FILE_ACTION {
            if let Some(Value::String(name)) = inputs.get("parameter") {
                note(Placeholder::SsmSecure(name.clone()));
            }
        }
    }
    refs
}

/// Builds the plan, or returns every problem found. `resolved` holds the
/// Parameter Store values fetched for [`references`].
pub fn plan(doc: &Document, values: &Values, resolved: &Resolved) -> Result<Plan, Vec<String>> {
    let store = |p: &Placeholder| -> Result<Option<Value>, String> {
        match p {
            Placeholder::Ssm(name) => resolved
                .plain
                .get(name)
                .cloned()
                .map(Some)
                .ok_or_else(|| format!("'{p}' was not resolved from Parameter Store")),
            Placeholder::SsmSecure(_) => Err(format!(
                "'{p}' cannot be used in a parameter value; put it in a shell step's environment, or use {SECRET_FILE_ACTION}"
            )),
            // Values are inserted byte for byte: a parameter placeholder
            // inside a value stays exactly as written.
            Placeholder::Param(_) => Ok(None),
        }
    };
    // Parameter values may themselves be Parameter Store references.
    let mut values = values.clone();
    let mut problems = Vec::new();
    for (name, v) in values.iter_mut() {
        match substitute(v, &store) {
            Ok(s) => *v = s,
            Err(errs) => {
                problems.extend(errs.into_iter().map(|e| format!("parameter '{name}': {e}")))
            }
        }
    }
    let values = &values;
    let lookup = |p: &Placeholder| -> Result<Option<Value>, String> {
        match p {
            Placeholder::Param(name) => values
                .get(name)
                .cloned()
                .map(Some)
                .ok_or_else(|| format!("'{p}' names no parameter of this document")),
            // Secure references stay as written; only a shell step's
            // environment may hold them (checked below), and the value is
            // looked up when the step runs.
            Placeholder::SsmSecure(_) => Ok(None),
            Placeholder::Ssm(_) => store(p),
        }
    };
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
        problems.extend(misplaced_secure_refs(&step.name, &step.action, &inputs));
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

/// `{{ssm-secure:..}}` may only be the whole value of an environment variable
/// of a shell step: anywhere else its plaintext would end up in a script
/// file, a command line or an input that is logged.
fn misplaced_secure_refs(step: &str, action: &str, inputs: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(map) = inputs.as_object() else {
        return problems;
    };
    for (key, v) in map {
        let allowed_env = action == "aws:runShellScript" && key.eq_ignore_ascii_case("environment");
        let mut check = |s: &str, whole_allowed: bool| {
            for p in placeholders(&Value::String(s.to_string())) {
                if let Placeholder::SsmSecure(_) = &p {
                    let whole = whole_placeholder(s.trim()).is_some();
                    if !(whole_allowed && whole) {
                        problems.push(format!(
                            "step '{step}': '{p}' can only be the whole value of a variable in a shell step's \
                             environment; to put a SecureString into a file use {SECRET_FILE_ACTION}"
                        ));
                    }
                }
            }
        };
        match (allowed_env, v) {
            (true, Value::Object(env)) => {
                for ev in env.values() {
                    walk(ev, &mut |s| check(s, true));
                }
            }
            _ => walk(v, &mut |s| check(s, false)),
        }
    }
    problems
}

fn walk(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        Value::Object(m) => m.values().for_each(|x| walk(x, f)),
        _ => {}
    }
}
