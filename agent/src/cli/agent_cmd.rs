//! `rampart agent` and `rampart status`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;
use comfy_table::{presets, Table};

use super::exit;
use crate::daemon::state::AgentState;
use crate::daemon::{self, AgentError, AgentOptions};

pub const AFTER_HELP: &str = "\
Associations are YAML drop-ins in <config-dir>/associations.d/*.yml:

  name: baseline                     # letters, digits, '-', '_', '.'
  document: Rampart-LinuxBaseline    # built-in, file, or ssm:NAME
  parameters: {ipForward: \"0\"}
  schedule: rate(30 minutes)         # rate(...), cron(...) or at-boot
  mode: apply                        # check (default) or apply
  output: s3://bucket/prefix         # optional
  timeZone: Europe/Paris             # optional, for cron

SIGHUP or any change to the folder reloads them. Paths enforced by apply-mode
associations are watched and repaired within milliseconds of a change.

Exit codes: 0 stopped by SIGTERM/SIGINT, 2 configuration error (systemd does
not restart on it), 4 runtime error.";

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// Folder with rampart.toml and associations.d/.
    #[arg(long, default_value = "/etc/rampart", value_name = "DIR")]
    config_dir: PathBuf,

    /// Folder for the spool, step scripts and agent state.
    #[arg(
        long,
        env = "RAMPART_STATE_DIR",
        default_value = "/var/lib/rampart",
        value_name = "DIR"
    )]
    state_dir: PathBuf,

    /// Root directory associations act on (/ on a live host).
    #[arg(long, default_value = "/", value_name = "DIR")]
    root: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(
        long,
        env = "RAMPART_STATE_DIR",
        default_value = "/var/lib/rampart",
        value_name = "DIR"
    )]
    state_dir: PathBuf,

    /// Print the state as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: AgentArgs, config: Option<&Path>) -> u8 {
    // Absolute once, here: the drop-in watcher and runs started later must
    // not depend on the working directory (a relative --config-dir was
    // read at start but its changes were never seen).
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    let opts = AgentOptions {
        state_dir: absolute(args.state_dir),
        config_dir: absolute(args.config_dir),
        root: absolute(args.root),
        config: config.map(Path::to_path_buf),
    };
    match daemon::run(opts) {
        Ok(()) => exit::OK,
        Err(AgentError::Config(e)) => {
            eprintln!("rampart: error: {e}");
            exit::INVALID
        }
        Err(AgentError::Runtime(e)) => {
            eprintln!("rampart: error: {e}");
            exit::RUNTIME_ERROR
        }
    }
}

pub fn status(args: StatusArgs) -> u8 {
    let path = daemon::state::path(&args.state_dir);
    if !path.exists() {
        eprintln!(
            "rampart: no agent state in {} (is `rampart agent` running with this --state-dir?)",
            args.state_dir.display()
        );
        return exit::RUNTIME_ERROR;
    }
    let state = AgentState::load(&args.state_dir);
    if args.json {
        let text = serde_json::to_string_pretty(&state).expect("state serializes");
        return print(&format!("{text}\n"));
    }
    let running = state.pid.is_some_and(is_rampart);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "agent: {}",
        match (running, state.pid) {
            (true, Some(p)) => format!("running (pid {p})"),
            _ => "not running".to_string(),
        }
    );
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED).set_header([
        "Association",
        "Mode",
        "Schedule",
        "Next run",
        "Last run",
        "Last result",
    ]);
    let now = Utc::now();
    for (name, a) in &state.associations {
        let ago = |t: chrono::DateTime<Utc>| {
            let d = now - t;
            if d.num_seconds() >= 0 {
                format!(
                    "{} ({}s ago)",
                    t.format("%Y-%m-%d %H:%M:%S"),
                    d.num_seconds()
                )
            } else {
                format!(
                    "{} (in {}s)",
                    t.format("%Y-%m-%d %H:%M:%S"),
                    -d.num_seconds()
                )
            }
        };
        t.add_row(vec![
            name.clone(),
            a.mode.clone(),
            a.schedule.clone(),
            a.next_run.map(ago).unwrap_or_else(|| "-".into()),
            a.last_run.map(ago).unwrap_or_else(|| "never".into()),
            match (&a.last_status, a.last_non_compliant) {
                (Some(s), 0) => s.clone(),
                (Some(s), n) => format!("{s}, {n} not compliant"),
                (None, _) => "-".into(),
            },
        ]);
    }
    let _ = writeln!(out, "{t}");
    for p in &state.invalid {
        let _ = writeln!(out, "skipped: {p}");
    }
    if !state.drift.is_empty() {
        let _ = writeln!(out, "recent drift ({} kept):", state.drift.len());
        for d in state.drift.iter().rev().take(10) {
            let _ = writeln!(
                out,
                "  {} {} {} {}: {} ({} ms)",
                d.time.format("%Y-%m-%d %H:%M:%S"),
                d.association,
                d.step,
                d.resource,
                d.detail,
                d.latency_ms
            );
        }
    }
    print(&out)
}

/// Writes to stdout; a closed pipe (`rampart status | head -1`) is not an
/// error.
fn print(text: &str) -> u8 {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => exit::OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("rampart: error: cannot write to stdout: {e}");
            exit::RUNTIME_ERROR
        }
    }
}

/// True if `pid` is a live `rampart` process: the pid in a state file left
/// by a crash may since belong to something else.
fn is_rampart(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == "rampart")
}
