//! What a run leaves behind: its result record and step streams, laid out in
//! the local outbox exactly as they will be keyed in S3.

pub mod destination;
pub mod mask;
pub mod outbox;
pub mod record;
pub mod upload;

pub use destination::S3Destination;
pub use outbox::{Item, KeyBase, Outbox, RunDir, SpoolLimits};
pub use record::{Compliance, ResourceResult, RunRecord, StepRecord, StepStatus};
