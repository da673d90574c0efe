//! What a run leaves behind: its result record and step streams, laid out in
//! the local outbox exactly as they will be keyed in S3.

pub mod mask;
pub mod outbox;
pub mod record;

pub use outbox::{Outbox, RunDir};
pub use record::{Compliance, ResourceResult, RunRecord, StepRecord, StepStatus};
