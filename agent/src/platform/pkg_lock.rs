//! Waiting politely for a package manager's lock.
//!
//! dpkg and apt guard the package database with POSIX record locks
//! (`fcntl(F_SETLK)`) on `/var/lib/dpkg/lock-frontend` and
//! `/var/lib/dpkg/lock`; rpm does the same on `/var/lib/rpm/.rpm.lock`. A
//! second package manager started while one runs fails at once, so Rampart
//! asks who holds the lock (`F_GETLK`), waits, and gives up with the holder's
//! pid after the step's lock timeout rather than fail or hang.
//!
//! dnf's own locks are pid files instead (`/var/lib/dnf/rpmdb_lock.pid`,
//! `/var/cache/dnf/metadata_lock.pid`): held while the file names a live
//! process. dnf waits on them without a limit, so Rampart waits first, with
//! the same timeout and message.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;
use thiserror::Error;

/// How often a held lock is looked at again.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "package manager lock {path} is held by process {pid}{name}; gave up after {waited_secs} s \
         (let it finish, or raise lockTimeoutSeconds)"
    )]
    Held {
        path: PathBuf,
        pid: i32,
        name: String,
        waited_secs: u64,
    },
    #[error("failed to inspect package manager lock {path}: {source}")]
    Inspect {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Opens a lock file for locking without creating it: the package manager
/// owns it, and a missing file means nobody holds it.
fn open_lock(path: &Path) -> io::Result<Option<File>> {
    match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn whole_file_write_lock() -> libc::flock {
    // SAFETY: flock is a plain C struct; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl
}

/// The pid holding a conflicting lock on `path`, if any.
pub fn holder(path: &Path) -> io::Result<Option<i32>> {
    let Some(file) = open_lock(path)? else {
        return Ok(None);
    };
    let mut fl = whole_file_write_lock();
    fcntl(&file, FcntlArg::F_GETLK(&mut fl)).map_err(io::Error::from)?;
    Ok((fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl.l_pid))
}

/// The command name of a process, for messages.
fn process_name(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|n| format!(" ({})", n.trim()))
        .unwrap_or_default()
}

/// The live process a dnf-style pid file names, if any: dnf writes its pid
/// into the file while it holds the lock and treats a dead one's as free.
pub fn pid_file_holder(path: &Path) -> io::Result<Option<i32>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(text
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|pid| *pid > 0 && *pid != std::process::id() as i32)
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists()))
}

/// Waits until none of `paths` is locked by another process, or `timeout`
/// passes. Returns the time left of `timeout`.
pub fn wait_until_free(paths: &[PathBuf], timeout: Duration) -> Result<Duration, LockError> {
    wait(paths, timeout, holder)
}

/// [`wait_until_free`] for dnf's pid-file locks.
pub fn wait_for_pid_files(paths: &[PathBuf], timeout: Duration) -> Result<Duration, LockError> {
    wait(paths, timeout, pid_file_holder)
}

fn wait(
    paths: &[PathBuf],
    timeout: Duration,
    probe: fn(&Path) -> io::Result<Option<i32>>,
) -> Result<Duration, LockError> {
    let started = Instant::now();
    let mut logged = false;
    loop {
        let mut busy = None;
        for p in paths {
            let pid = probe(p).map_err(|source| LockError::Inspect {
                path: p.clone(),
                source,
            })?;
            if let Some(pid) = pid {
                busy = Some((p, pid));
                break;
            }
        }
        let Some((path, pid)) = busy else {
            return Ok(timeout.saturating_sub(started.elapsed()));
        };
        if started.elapsed() >= timeout {
            return Err(LockError::Held {
                path: path.clone(),
                pid,
                name: process_name(pid),
                waited_secs: started.elapsed().as_secs(),
            });
        }
        if !logged {
            tracing::info!(
                event = "package_lock_wait",
                path = %path.display(),
                pid,
                timeout_secs = timeout.as_secs(),
                "waiting for the package manager lock"
            );
            logged = true;
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// A lock Rampart holds itself while it runs several package-manager
/// commands in a row; released when dropped (the descriptor closes).
#[derive(Debug)]
pub struct HeldLock {
    _file: File,
}

/// Takes the write lock on `path` (an existing lock file), waiting up to
/// `timeout` for its holder. `None` when the file does not exist.
pub fn acquire(path: &Path, timeout: Duration) -> Result<Option<HeldLock>, LockError> {
    let inspect = |source| LockError::Inspect {
        path: path.to_path_buf(),
        source,
    };
    let Some(file) = open_lock(path).map_err(inspect)? else {
        return Ok(None);
    };
    let started = Instant::now();
    loop {
        let fl = whole_file_write_lock();
        match fcntl(&file, FcntlArg::F_SETLK(&fl)) {
            Ok(_) => return Ok(Some(HeldLock { _file: file })),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => {}
            Err(e) => return Err(inspect(io::Error::from(e))),
        }
        let left = timeout.saturating_sub(started.elapsed());
        wait_until_free(&[path.to_path_buf()], left)?;
        if started.elapsed() >= timeout {
            // Freed at the last moment but taken again before us.
            let pid = holder(path).map_err(inspect)?.unwrap_or(0);
            return Err(LockError::Held {
                path: path.to_path_buf(),
                pid,
                name: process_name(pid),
                waited_secs: started.elapsed().as_secs(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_file_is_held_only_by_another_live_process() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("rpmdb_lock.pid");
        assert_eq!(pid_file_holder(&lock).unwrap(), None, "no file");

        let mut live = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(&lock, live.id().to_string()).unwrap();
        assert_eq!(pid_file_holder(&lock).unwrap(), Some(live.id() as i32));

        // A process that has exited holds nothing, as dnf itself decides.
        live.kill().unwrap();
        live.wait().unwrap();
        assert_eq!(pid_file_holder(&lock).unwrap(), None, "dead holder");

        std::fs::write(&lock, std::process::id().to_string()).unwrap();
        assert_eq!(pid_file_holder(&lock).unwrap(), None, "our own pid");
        std::fs::write(&lock, "").unwrap();
        assert_eq!(pid_file_holder(&lock).unwrap(), None, "empty file");
    }
}
