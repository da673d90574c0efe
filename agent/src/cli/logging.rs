//! Logs go to stderr, so stdout stays clean for tables and JSON.

use std::io::IsTerminal;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::LogFormat;

/// Starts logging at `level`: a level (`info`), or comma-separated
/// directives (`warn,rampart::output=debug`). A value that is not that is
/// said once and replaced by `warn`, rather than stopping the run it was
/// meant to watch.
pub fn init(level: &str, format: LogFormat) {
    let filter = parse(level).unwrap_or_else(|e| {
        eprintln!("rampart: warning: log level '{level}' is not valid ({e}); using warn");
        Targets::new().with_default(LevelFilter::WARN)
    });
    // journald stamps every line itself; colour only for a person at a
    // terminal (and not when NO_COLOR asks otherwise).
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match (format, under_journald) {
        (LogFormat::Json, _) => registry.with(layer.json()).try_init(),
        (LogFormat::Text, true) => registry.with(layer.without_time()).try_init(),
        (LogFormat::Text, false) => registry.with(layer).try_init(),
    };
}

/// The filter for `level`. tracing's own parser takes any word as a module
/// name (`bogus` would log only a module called bogus, and hide every
/// warning), so each directive is checked here: a level, or `module=level`.
/// Without a bare level, other modules stay at `warn`.
fn parse(level: &str) -> Result<Targets, String> {
    if level.trim().is_empty() {
        return Err("it is empty".into());
    }
    let mut default = LevelFilter::WARN;
    let mut modules = Vec::new();
    for d in level.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let lvl = |s: &str| {
            s.parse::<LevelFilter>().map_err(|_| {
                format!("'{s}' is not a level: use off, error, warn, info, debug or trace")
            })
        };
        match d.split_once('=') {
            None => default = lvl(d)?,
            Some((module, l)) if !module.is_empty() => modules.push((module.to_string(), lvl(l)?)),
            Some(_) => return Err(format!("'{d}' names no module")),
        }
    }
    Ok(Targets::new().with_default(default).with_targets(modules))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn levels_and_module_directives_are_checked_word_by_word() {
        for bad in ["bogus", "DEBGU", "rampart=bogus", "=debug", "", "info,loud"] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
        let t = parse("info").unwrap();
        assert!(t.would_enable("rampart", &Level::INFO));
        assert!(!t.would_enable("rampart", &Level::DEBUG));
        // A module directive alone keeps the rest at warn.
        let t = parse("rampart::output=debug").unwrap();
        assert!(t.would_enable("rampart::output", &Level::DEBUG));
        assert!(t.would_enable("aws_config", &Level::WARN));
        assert!(!t.would_enable("aws_config", &Level::INFO));
        let t = parse("error, rampart=trace").unwrap();
        assert!(!t.would_enable("hyper", &Level::WARN));
        assert!(t.would_enable("rampart::engine", &Level::TRACE));
    }
}
