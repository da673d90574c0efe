//! `rampart:service`: systemd units running, stopped, enabled, disabled or
//! masked.
//!
//! Inputs: `names` (a unit name or a list; `.service` is implied), `state`.
//! Each unit is one resource. A unit that is not installed satisfies
//! `stopped`, `disabled` and `masked`: nothing can start it. Without a running
//! systemd for the root (an image, a container), unit-file states are read
//! offline and `stopped` holds trivially; `running` cannot be judged and is
//! reported as skipped.

use serde_json::Value;

use super::{
    declarative_outcome, reconcile, Action, ActionOutcome, Inputs, Observation, Resource,
    StepContext,
};
use crate::platform::systemd::{is_enabled_state, is_masked_state, unit_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Running,
    Stopped,
    Enabled,
    Disabled,
    Masked,
}

impl Wanted {
    fn parse(s: &str) -> Wanted {
        match s {
            "running" => Wanted::Running,
            "stopped" => Wanted::Stopped,
            "enabled" => Wanted::Enabled,
            "disabled" => Wanted::Disabled,
            _ => Wanted::Masked,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Wanted::Running => "start",
            Wanted::Stopped => "stop",
            Wanted::Enabled => "enable",
            Wanted::Disabled => "disable",
            Wanted::Masked => "mask",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceAction {
    units: Vec<Unit>,
}

#[derive(Debug, Clone)]
struct Unit {
    name: String,
    wanted: Wanted,
}

impl ServiceAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, false)?;
        let names = i.string_list("names").unwrap_or_default();
        if names.is_empty() && i.get("names").is_none() {
            i.problem("input 'names' is required (a unit name or a list of them)");
        }
        for n in &names {
            if n.is_empty() || n.contains('/') || n.chars().any(char::is_whitespace) {
                i.problem(format_args!("'{n}' is not a unit name"));
            }
        }
        let state = i.choice(
            "state",
            &["running", "stopped", "enabled", "disabled", "masked"],
            "",
        );
        if i.get("state").is_none() {
            i.problem("input 'state' is required (running, stopped, enabled, disabled or masked)");
        }
        i.finish()?;
        let wanted = Wanted::parse(&state);
        Ok(ServiceAction {
            units: names
                .iter()
                .map(|n| Unit {
                    name: unit_name(n),
                    wanted,
                })
                .collect(),
        })
    }
}

impl Action for ServiceAction {
    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        let results = self.units.iter().map(|u| reconcile(u, ctx)).collect();
        declarative_outcome(ctx.mode, results)
    }
}

impl Resource for Unit {
    fn kind(&self) -> &'static str {
        "service"
    }

    fn id(&self) -> String {
        self.name.clone()
    }

    fn observe(&self, ctx: &StepContext) -> Result<Observation, String> {
        let file_state = ctx
            .systemd
            .unit_file_state(&self.name)
            .map_err(|e| e.to_string())?;
        let installed = file_state != "not-found";
        let masked = is_masked_state(&file_state);
        let ok = |d: String| Ok(Observation::Compliant(d));
        let drift = |d: String| Ok(Observation::Drift(vec![d]));
        match self.wanted {
            Wanted::Enabled if is_enabled_state(&file_state) => ok(file_state),
            Wanted::Enabled if file_state == "static" => Ok(Observation::NotApplicable(
                "static unit: it has no [Install] section and cannot be enabled".into(),
            )),
            Wanted::Enabled if !installed => drift("unit is not installed".into()),
            Wanted::Enabled => drift(format!("unit is {file_state}, want enabled")),
            Wanted::Disabled | Wanted::Masked if !installed => ok("not installed".into()),
            Wanted::Masked if masked => ok(file_state),
            Wanted::Masked => drift(format!("unit is {file_state}, want masked")),
            Wanted::Disabled if is_enabled_state(&file_state) => {
                drift(format!("unit is {file_state}, want disabled"))
            }
            Wanted::Disabled => ok(file_state),
            Wanted::Running | Wanted::Stopped => {
                let active = ctx
                    .systemd
                    .active_state(&self.name)
                    .map_err(|e| e.to_string())?;
                match (self.wanted, active) {
                    (Wanted::Stopped, None) => ok(
                        "no systemd manager runs for this root, so the unit cannot be running"
                            .into(),
                    ),
                    (Wanted::Running, None) => Ok(Observation::NotApplicable(
                        "no systemd manager runs for this root; runtime state cannot be checked"
                            .into(),
                    )),
                    (Wanted::Running, Some(a)) if a == "active" => ok("active".into()),
                    (Wanted::Running, Some(_)) if !installed => {
                        drift("unit is not installed".into())
                    }
                    (Wanted::Running, Some(a)) => drift(format!("unit is {a}, want running")),
                    (_, Some(a)) if a == "active" || a == "activating" || a == "reloading" => {
                        drift(format!("unit is {a}, want stopped"))
                    }
                    (_, Some(a)) => ok(if installed { a } else { "not installed".into() }),
                    (_, None) => unreachable!("only running and stopped reach this match"),
                }
            }
        }
    }

    fn fix(&self, ctx: &StepContext, _drift: &[String]) -> Result<Vec<String>, String> {
        let verb = self.wanted.verb();
        if matches!(self.wanted, Wanted::Running | Wanted::Stopped) && !ctx.systemd.is_live() {
            return Err(format!(
                "cannot {verb} {}: no systemd manager runs for this root",
                self.name
            ));
        }
        ctx.systemd
            .change(verb, &self.name)
            .map_err(|e| e.to_string())?;
        tracing::info!(event = "service_changed", unit = %self.name, verb, "changed unit state");
        Ok(vec![format!("systemctl {verb} {}", self.name)])
    }
}
