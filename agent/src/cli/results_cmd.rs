//! `rampart results`: what is in the local outbox, and sending it now.

use std::fs;

use super::run_cmd::{load_settings, runtime, warn_kept};
use super::{exit, state, ResultsCommand, StateArgs};
use crate::invocation;
use crate::output::{Item, Outbox, RunRecord};

fn open(args: &StateArgs, limits: crate::output::SpoolLimits) -> Result<Outbox, u8> {
    let dir = state::state_dir(args.state_dir.clone()).map_err(|e| {
        eprintln!("rampart: error: {e}");
        exit::INVALID
    })?;
    Outbox::open(&dir, limits).map_err(|e| {
        eprintln!(
            "rampart: error: cannot open the outbox under {}: {e}",
            dir.display()
        );
        exit::RUNTIME_ERROR
    })
}

fn record(item: &Item) -> Option<RunRecord> {
    let path = item.record_path()?;
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

pub fn run(cmd: ResultsCommand, config: Option<&std::path::Path>) -> u8 {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match cmd {
        ResultsCommand::List(args) => {
            let outbox = match open(&args, settings.spool) {
                Ok(o) => o,
                Err(code) => return code,
            };
            let items = outbox.items().unwrap_or_default();
            for item in &items {
                let dest = match item.destination() {
                    Ok(Some(d)) => d.to_string(),
                    Ok(None) => "local".into(),
                    Err(_) => "unreadable destination".into(),
                };
                let files = item
                    .files()
                    .map(|f| f.iter().filter(|f| f.size > 0).count())
                    .unwrap_or(0);
                let sent = item.uploaded().len();
                let what = match record(item) {
                    Some(r) => format!(
                        "{} {} {} ({} non-compliant, {} failed)",
                        r.mode,
                        r.status.as_str(),
                        r.document,
                        r.summary.non_compliant,
                        r.summary.failed
                    ),
                    None => "inventory or other item".into(),
                };
                println!("{}  {what}  -> {dest} [{sent}/{files} sent]", item.name());
            }
            for p in outbox.interrupted().unwrap_or_default() {
                println!(
                    "{}  interrupted run (Rampart stopped while writing it)",
                    p.display()
                );
            }
            let dropped = outbox.dropped_total();
            if dropped > 0 {
                println!("{dropped} result(s) dropped by spool limits so far");
            }
            if items.is_empty() {
                eprintln!("no results in {}", outbox.dir().display());
            }
            exit::OK
        }
        ResultsCommand::Show { id, state } => {
            let outbox = match open(&state, settings.spool) {
                Ok(o) => o,
                Err(code) => return code,
            };
            let items = outbox.items().unwrap_or_default();
            let found = items
                .iter()
                .rev()
                .find(|i| i.name() == id || i.name().ends_with(&format!("-{id}")));
            match found.and_then(|i| i.record_path()) {
                Some(p) => match fs::read_to_string(&p) {
                    Ok(text) => {
                        println!("{text}");
                        exit::OK
                    }
                    Err(e) => {
                        eprintln!("rampart: error: cannot read {}: {e}", p.display());
                        exit::RUNTIME_ERROR
                    }
                },
                None => {
                    eprintln!(
                        "rampart: error: no result '{id}' in {} (see rampart results list)",
                        outbox.dir().display()
                    );
                    exit::INVALID
                }
            }
        }
        ResultsCommand::Upload(args) => {
            let outbox = match open(&args, settings.spool) {
                Ok(o) => o,
                Err(code) => return code,
            };
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            warn_kept(&invocation::upload(&settings, &rt, &outbox), &outbox);
            let left = outbox
                .items()
                .unwrap_or_default()
                .iter()
                .filter(|i| i.destination().ok().flatten().is_some())
                .count();
            if left > 0 {
                exit::RUNTIME_ERROR
            } else {
                exit::OK
            }
        }
    }
}
