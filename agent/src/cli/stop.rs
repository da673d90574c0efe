//! Stop signals during a one-shot run (`check`, `apply`, `run-payload`).
//!
//! amazon-ssm-agent cancels a command, and systemd or an operator stops a
//! run, with SIGTERM or SIGINT. Dying at once would leave the running step's
//! processes behind and the result unfinished, so the first signal cancels
//! the run instead: no further step starts, the running step's processes get
//! SIGTERM and then SIGKILL, and the result is recorded and delivered as
//! usual. A second signal, even during the first one's grace period, kills
//! the step's processes (SIGKILL) and ends Rampart at once.

use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use crate::engine::cancel;
use crate::platform::process;

/// Time the running step's processes get between SIGTERM and SIGKILL.
const STOP_GRACE_SECS: u64 = 2;

/// Takes over SIGTERM and SIGINT for the rest of the process. Call it
/// before any other thread starts: threads inherit the blocked mask, so the
/// signals reach only the watcher (children get a clean mask at spawn).
pub fn watch() {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    if nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).is_err() {
        // Without the mask the default action (exit) stays; nothing else to do.
        return;
    }
    std::thread::spawn(move || {
        let Ok(first) = set.wait() else { return };
        cancel::request(first as i32);
        eprintln!(
            "rampart: received {}: no further step starts; ending the running step",
            first.as_str()
        );
        tracing::warn!(
            event = "run_cancelled",
            signal = first.as_str(),
            "run cancelled"
        );
        // The grace period runs beside this thread, so that a second
        // signal is acted on when it comes, not after the grace.
        std::thread::spawn(|| {
            process::end_all_children(Duration::from_secs(STOP_GRACE_SECS));
        });
        if let Ok(second) = set.wait() {
            eprintln!("rampart: received {} again: exiting now", second.as_str());
            process::end_all_children(Duration::ZERO);
            std::process::exit(128 + second as i32);
        }
    });
}

/// The exit code of a cancelled run (128 + the signal number, as a shell
/// reports a process ended by that signal), or `code` when none came.
pub fn exit_code(code: u8) -> u8 {
    cancel::requested().map_or(code, |s| (128 + s) as u8)
}
