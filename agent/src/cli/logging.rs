//! Logs go to stderr, so stdout stays clean for tables and JSON.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::LogFormat;

/// Starts logging at `level`: a level (`info`), or per-module directives
/// (`warn,rampart::output=debug`). A value that is neither is said once and
/// replaced by `warn`, rather than stopping the run it was meant to watch.
pub fn init(level: &str, format: LogFormat) {
    let filter = match level.parse::<Targets>() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rampart: warning: log level '{level}' is not valid ({e}); using warn");
            Targets::new().with_default(LevelFilter::WARN)
        }
    };
    // journald stamps every line itself.
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match (format, under_journald) {
        (LogFormat::Json, _) => registry.with(layer.json()).try_init(),
        (LogFormat::Text, true) => registry
            .with(layer.without_time().with_ansi(false))
            .try_init(),
        (LogFormat::Text, false) => registry.with(layer).try_init(),
    };
}
