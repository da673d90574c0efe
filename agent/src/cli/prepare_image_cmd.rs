//! `rampart prepare-image`: the last step of a gold-image build. It removes
//! what Rampart keeps about one instance (results spool, step scripts,
//! agent state, a pending reboot) from an image root, so every instance
//! launched from the image starts with no identity and no history of the
//! builder. It names each path it removes. See docs/image.md.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use tracing::info;

use super::exit;
use crate::config::Settings;
use crate::platform::systemd::Manager;
use crate::platform::Root;

/// Help shown after the options: what goes, what stays, exit codes.
pub const AFTER_HELP: &str = "\
Removed from the state directory: outbox/ (results spool), scripts/ (step
scripts), agent/ (agent state: last and next runs, drift events), drift-*
(drift-repair scratch), reboot-pending.json and .rampart-*.tmp (interrupted
writes). Other entries are left and listed. Kept: the configuration, the
associations, the installed unit and anything the image hardening changed.
The journal is cleared only with --clear-journal.

Exit codes:
  0  the image holds none of the state above
  1  done, but the state directory holds entries Rampart does not know (listed)
  2  refused, nothing removed: --root is this host's / without --yes, the
     agent is running, the image's rampart.toml is invalid, or a bad argument
  4  something could not be removed (each failure is printed)";

#[derive(Debug, Args)]
pub struct PrepareImageArgs {
    /// The image's root directory: a mounted image, or / when the build runs
    /// on the machine that becomes the image (then --yes is required).
    #[arg(long, default_value = "/", value_name = "DIR")]
    root: PathBuf,

    /// Rampart's state directory, as a path inside the image.
    #[arg(long, default_value = "/var/lib/rampart", value_name = "DIR")]
    state_dir: PathBuf,

    /// Rampart's configuration directory, as a path inside the image. Its
    /// rampart.toml is checked, never changed.
    #[arg(long, default_value = "/etc/rampart", value_name = "DIR")]
    config_dir: PathBuf,

    /// Also empty the image's persistent systemd journal: the logs of every
    /// service of the build, Rampart's among them.
    #[arg(long)]
    clear_journal: bool,

    /// Print what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,

    /// Confirm that --root is the running host's / (the end of a build on
    /// the machine that is being imaged).
    #[arg(long)]
    yes: bool,
}

/// An entry of the state directory that Rampart knows to be per-instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateEntry {
    Outbox,
    Scripts,
    AgentState,
    RebootPending,
    DriftScratch,
    InterruptedWrite,
}

impl StateEntry {
    /// Classifies a file name in the state directory. The names come from
    /// `output::outbox`, `invocation`, `daemon::state`, `daemon` (drift
    /// scratch directories), `cli::run_cmd` and `platform::atomic`.
    fn classify(name: &str) -> Option<StateEntry> {
        match name {
            "outbox" => Some(StateEntry::Outbox),
            "scripts" => Some(StateEntry::Scripts),
            "agent" => Some(StateEntry::AgentState),
            "reboot-pending.json" => Some(StateEntry::RebootPending),
            _ if name.starts_with("drift-") => Some(StateEntry::DriftScratch),
            _ if name.starts_with(".rampart-") && name.ends_with(".tmp") => {
                Some(StateEntry::InterruptedWrite)
            }
            _ => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            StateEntry::Outbox => "results spool",
            StateEntry::Scripts => "step scripts",
            StateEntry::AgentState => "agent state: last and next runs, drift events",
            StateEntry::RebootPending => "pending reboot request",
            StateEntry::DriftScratch => "drift-repair scratch",
            StateEntry::InterruptedWrite => "temp file of an interrupted write",
        }
    }
}

/// What one invocation did, for the exit code.
#[derive(Debug, Default)]
struct Outcome {
    unknown: usize,
    failed: usize,
}

pub fn run(args: PrepareImageArgs) -> u8 {
    // The root, and the guard against wiping a live host by accident.
    let root = match Root::new(&args.root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rampart: error: --root {}: {e}", args.root.display());
            return exit::INVALID;
        }
    };
    if root.is_host() && !args.yes {
        eprintln!(
            "rampart: error: --root is this running host's /; prepare-image would remove this \
             host's Rampart results and state\n  at the end of an image build on this machine, \
             stop the agent (systemctl stop rampart) and rerun with --yes"
        );
        return exit::INVALID;
    }
    if root.is_host() && agent_is_running(&root) {
        eprintln!(
            "rampart: error: rampart.service is running and would write new state; \
             stop it first (systemctl stop rampart), then rerun"
        );
        return exit::INVALID;
    }

    // The image's configuration must let the agent start on every instance.
    if let Err(code) = check_config(&root, &args.config_dir) {
        return code;
    }

    // The state directory, then the journal if asked.
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut outcome = Outcome::default();
    if let Err(code) = clear_state(&root, &args.state_dir, args.dry_run, verb, &mut outcome) {
        return code;
    }
    if args.clear_journal {
        clear_journal(&root, args.dry_run, verb, &mut outcome);
    } else {
        note_journal(&root);
    }
    note_machine_id(&root);

    if outcome.failed > 0 {
        exit::RUNTIME_ERROR
    } else if outcome.unknown > 0 {
        exit::NON_COMPLIANT
    } else {
        exit::OK
    }
}

/// True when the live manager reports the agent active (or starting).
fn agent_is_running(root: &Root) -> bool {
    match Manager::for_root(root).active_state("rampart.service") {
        Ok(Some(state)) => matches!(state.as_str(), "active" | "activating" | "reloading"),
        _ => false,
    }
}

/// Parses `<config-dir>/rampart.toml` in the image, if there is one.
fn check_config(root: &Root, config_dir: &Path) -> Result<(), u8> {
    let path = resolve(root, &config_dir.join("rampart.toml"))?;
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            eprintln!("rampart: error: failed to read {}: {e}", path.display());
            return Err(exit::RUNTIME_ERROR);
        }
    };
    Settings::parse(&text).map_err(|message| {
        eprintln!(
            "rampart: error: {} is invalid: {message}\n  the agent would refuse to start \
             (exit 2) on every instance of this image; fix the file, then rerun",
            path.display()
        );
        exit::INVALID
    })?;
    Ok(())
}

/// Removes the known per-instance entries of the state directory; lists the
/// others. The directory itself stays, with its mode.
fn clear_state(
    root: &Root,
    state_dir: &Path,
    dry_run: bool,
    verb: &str,
    outcome: &mut Outcome,
) -> Result<(), u8> {
    let dir = resolve(root, state_dir)?;
    match fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            eprintln!(
                "rampart: error: state directory {} is not a directory (a symlink or a file); \
                 nothing was removed",
                dir.display()
            );
            return Err(exit::INVALID);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            println!("no state directory at {}", dir.display());
            return Ok(());
        }
        Err(e) => {
            eprintln!("rampart: error: failed to inspect {}: {e}", dir.display());
            return Err(exit::RUNTIME_ERROR);
        }
    }

    let mut names = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("rampart: error: failed to list {}: {e}", dir.display());
            return Err(exit::RUNTIME_ERROR);
        }
    };
    names.sort();

    for name in names {
        let path = dir.join(&name);
        let Some(entry) = StateEntry::classify(&name) else {
            eprintln!(
                "rampart: warning: left {} (not a state entry Rampart knows; remove it if it is \
                 specific to this machine)",
                path.display()
            );
            outcome.unknown += 1;
            continue;
        };
        let files = count_files(&path);
        if !dry_run {
            if let Err(e) = remove(&path) {
                eprintln!("rampart: error: failed to remove {}: {e}", path.display());
                outcome.failed += 1;
                continue;
            }
            info!(event = "image_state_removed", path = %path.display(), files, "removed");
        }
        println!(
            "{verb} {} ({}, {})",
            path.display(),
            entry.describe(),
            plural(files)
        );
    }
    Ok(())
}

/// Empties the persistent journal: offline by removing its files, on the live
/// host through journald itself (its open files cannot simply be deleted).
fn clear_journal(root: &Root, dry_run: bool, verb: &str, outcome: &mut Outcome) {
    if root.is_host() {
        if dry_run {
            println!("would clear the journal (journalctl --rotate, then --vacuum-time=1s)");
            return;
        }
        for args in [&["--rotate"][..], &["--vacuum-time=1s"][..]] {
            let ok = Command::new("journalctl")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!("rampart: error: journalctl {} failed", args.join(" "));
                outcome.failed += 1;
                return;
            }
        }
        println!("cleared the journal (journalctl --rotate, then --vacuum-time=1s)");
        return;
    }
    for path in journal_files(root) {
        if !dry_run {
            if let Err(e) = fs::remove_file(&path) {
                eprintln!("rampart: error: failed to remove {}: {e}", path.display());
                outcome.failed += 1;
                continue;
            }
            info!(event = "image_journal_removed", path = %path.display(), "removed");
        }
        println!("{verb} {} (journal file)", path.display());
    }
}

/// Says that the image still carries the build's logs, and how to drop them.
fn note_journal(root: &Root) {
    if root.is_host() {
        return;
    }
    let n = journal_files(root).len();
    if n > 0 {
        eprintln!(
            "rampart: note: {} holds {} of the build (every service's logs); \
             --clear-journal removes them",
            root.join(Path::new("/var/log/journal")).display(),
            plural_journal(n)
        );
    }
}

/// Off EC2, an instance's id comes from /etc/machine-id; an image must ship
/// it empty (systemd then makes a new one at first boot).
fn note_machine_id(root: &Root) {
    let path = root.join(Path::new("/etc/machine-id"));
    let set = fs::read_to_string(&path).is_ok_and(|s| !s.trim().is_empty());
    if set {
        eprintln!(
            "rampart: note: {} is set; instances that are not on EC2 would share this \
             id (empty the file as the last step of the image build: truncate -s 0)",
            path.display()
        );
    }
}

/// The `*.journal` and `*.journal~` files one level under `/var/log/journal`
/// (one folder per machine id). Directories are kept: their existence is
/// what makes journald store logs persistently.
fn journal_files(root: &Root) -> Vec<PathBuf> {
    let Ok(base) = root.resolve(Path::new("/var/log/journal")) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for machine in fs::read_dir(&base).into_iter().flatten().flatten() {
        let is_dir = machine.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir {
            continue;
        }
        for file in fs::read_dir(machine.path()).into_iter().flatten().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let is_file = file.file_type().is_ok_and(|t| t.is_file());
            if is_file && (name.ends_with(".journal") || name.ends_with(".journal~")) {
                files.push(file.path());
            }
        }
    }
    files.sort();
    files
}

/// Resolves an in-image path with chroot semantics, so an image's absolute
/// symlinks never lead onto the build host.
fn resolve(root: &Root, path: &Path) -> Result<PathBuf, u8> {
    root.resolve(path).map_err(|e| {
        eprintln!("rampart: error: {}: {e}", path.display());
        exit::INVALID
    })
}

/// Removes a file, a symlink (not its target) or a directory tree (without
/// following the symlinks inside it).
fn remove(path: &Path) -> io::Result<()> {
    if fs::symlink_metadata(path)?.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
}

/// Regular files and symlinks under `path`, counting `path` itself when it is
/// not a directory. Symlinks are not followed.
fn count_files(path: &Path) -> usize {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| count_files(&e.path()))
            .sum(),
        Ok(_) => 1,
        Err(_) => 0,
    }
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 file".to_string()
    } else {
        format!("{n} files")
    }
}

fn plural_journal(n: usize) -> String {
    if n == 1 {
        "1 journal file".to_string()
    } else {
        format!("{n} journal files")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_names_the_agent_writes_and_nothing_else() {
        for (name, want) in [
            ("outbox", Some(StateEntry::Outbox)),
            ("scripts", Some(StateEntry::Scripts)),
            ("agent", Some(StateEntry::AgentState)),
            ("reboot-pending.json", Some(StateEntry::RebootPending)),
            ("drift-Ab12cd", Some(StateEntry::DriftScratch)),
            (".rampart-412-xYz.tmp", Some(StateEntry::InterruptedWrite)),
            (".rampart-412-xYz", None),
            ("outbox.old", None),
            ("identity.json", None),
        ] {
            assert_eq!(StateEntry::classify(name), want, "{name}");
        }
    }

    #[test]
    fn the_agent_state_file_lives_in_a_removed_entry() {
        // daemon::state decides where the agent state goes; it must stay
        // under an entry prepare-image removes.
        let p = crate::daemon::state::path(Path::new("/s"));
        let first = p.strip_prefix("/s").unwrap().components().next().unwrap();
        let name = first.as_os_str().to_str().unwrap();
        assert_eq!(StateEntry::classify(name), Some(StateEntry::AgentState));
    }

    #[test]
    fn counts_files_without_following_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("d");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("a"), "x").unwrap();
        fs::write(d.join("sub/b"), "x").unwrap();
        std::os::unix::fs::symlink("/", d.join("link")).unwrap();
        assert_eq!(count_files(&d), 3);
    }
}
