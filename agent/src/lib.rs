//! Rampart: a host agent that checks and enforces SSM-format hardening documents.
//!
//! The modules mirror the path a run takes: a document is parsed and validated
//! (`documents`), its parameters typed and substituted (`parameters`), its steps
//! planned and executed (`engine`) by actions (`actions`) that touch the host only
//! through `platform`; results are recorded by `output`. `inventory` reads host
//! facts through the same platform layer. `schedule` reads association schedule
//! expressions for the daemon. `cli` is the only caller of all of them.

pub mod actions;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod daemon;
pub mod documents;
pub mod engine;
pub mod inventory;
pub mod invocation;
pub mod output;
pub mod parameters;
pub mod platform;
pub mod schedule;
