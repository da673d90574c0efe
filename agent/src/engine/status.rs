//! Statuses as SSM computes them: preconditions per step, and the document
//! status from its steps.

use crate::documents::Precondition;
use crate::output::StepStatus;

/// The document status: any reboot, else any failure, else any time-out, else
/// any cancellation, else success (skipped steps count as successful).
pub fn aggregate(steps: impl IntoIterator<Item = StepStatus>) -> StepStatus {
    let all: Vec<StepStatus> = steps.into_iter().collect();
    for s in [
        StepStatus::SuccessAndReboot,
        StepStatus::Failed,
        StepStatus::TimedOut,
        StepStatus::Cancelled,
    ] {
        if all.contains(&s) {
            return s;
        }
    }
    StepStatus::Success
}

/// The outcome of a step's precondition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Run,
    Skip(String),
    Fail(String),
}

/// Evaluates a precondition on a Linux host. SSM knows one operator,
/// `StringEquals`, with `platformType` as one of exactly two operands,
/// compared case-insensitively; anything else fails the step.
pub fn evaluate(pre: Option<&Precondition>) -> Gate {
    let Some(pre) = pre else { return Gate::Run };
    let ops = &pre.operands;
    let recognised = pre.operator == "StringEquals"
        && ops.len() == 2
        && ((ops[0] == "platformType") != (ops[1] == "platformType"));
    if !recognised {
        return Gate::Fail(format!(
            "unrecognized precondition '{}: {:?}' (supported: StringEquals: [platformType, Linux])",
            pre.operator, ops
        ));
    }
    let wanted = if ops[0] == "platformType" {
        &ops[1]
    } else {
        &ops[0]
    };
    if wanted.eq_ignore_ascii_case("linux") {
        Gate::Run
    } else {
        Gate::Skip(format!(
            "step skipped: platformType is Linux, step requires {wanted}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepStatus::*;

    #[test]
    fn aggregation_follows_ssm_precedence() {
        assert_eq!(aggregate([Success, Skipped]), Success);
        assert_eq!(aggregate([Skipped]), Success);
        assert_eq!(aggregate([Success, Cancelled, TimedOut]), TimedOut);
        assert_eq!(aggregate([TimedOut, Failed]), Failed);
        assert_eq!(aggregate([Failed, SuccessAndReboot]), SuccessAndReboot);
    }

    fn pre(op: &str, ops: &[&str]) -> Precondition {
        Precondition {
            operator: op.into(),
            operands: ops.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn preconditions() {
        assert_eq!(
            evaluate(Some(&pre("StringEquals", &["platformType", "linux"]))),
            Gate::Run
        );
        assert_eq!(
            evaluate(Some(&pre("StringEquals", &["Linux", "platformType"]))),
            Gate::Run
        );
        assert!(matches!(
            evaluate(Some(&pre("StringEquals", &["platformType", "Windows"]))),
            Gate::Skip(_)
        ));
        assert!(matches!(
            evaluate(Some(&pre("StringLike", &["platformType", "Linux"]))),
            Gate::Fail(_)
        ));
        assert!(matches!(
            evaluate(Some(&pre("StringEquals", &["platformType"]))),
            Gate::Fail(_)
        ));
        assert!(matches!(
            evaluate(Some(&pre(
                "StringEquals",
                &["platformType", "platformType"]
            ))),
            Gate::Fail(_)
        ));
    }
}
