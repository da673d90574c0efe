//! Runs a step's process so that it can be timed out and leaves nothing behind.
//!
//! The child gets its own process group and a per-run token in its environment.
//! Rampart makes itself a child subreaper, so anything the step double-forks is
//! re-parented to Rampart instead of init. When the step ends, or times out,
//! every process that is in its group, carries its token, or was re-parented to
//! Rampart is sent SIGTERM, given a grace period, then SIGKILL. The reference
//! agent SIGKILLs only the group and lets `setsid` children live on; a hardening
//! agent must not leave unaccounted processes on a host.
//!
//! Output goes through pipes into files, copied by two threads with a fixed
//! buffer and a byte cap, so memory stays bounded whatever the step prints.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use tracing::{debug, warn};

/// Environment variable carrying the per-run token used to find descendants.
pub const RUN_TOKEN_VAR: &str = "RAMPART_RUN_TOKEN";

/// Copy buffer size for the output threads.
const COPY_BUF_BYTES: usize = 64 * 1024;

/// Continuation bytes after the first byte of a UTF-8 character, at most.
const UTF8_MAX_CONTINUATION: usize = 3;

/// How often leftover processes are re-scanned while they shut down.
const REAP_POLL: Duration = Duration::from_millis(20);

#[derive(Clone)]
pub struct RunSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub working_dir: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    /// Bytes kept of each stream; the rest is read and counted, not stored.
    pub cap_bytes: u64,
    /// Applied to both streams before the cap (secret masking).
    pub filter: Option<Arc<dyn StreamFilter>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Exit code, or 128 + signal number when the process was killed by one.
    pub exit_code: i32,
    pub timed_out: bool,
    pub stdout_dropped: u64,
    pub stderr_dropped: u64,
    /// Processes the step left running that Rampart had to end.
    pub leftovers_killed: usize,
}

/// Spawns, waits with a timeout, and cleans up.
pub fn run(spec: &RunSpec) -> io::Result<RunOutcome> {
    become_subreaper();
    let token = uuid::Uuid::new_v4().to_string();

    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .env(RUN_TOKEN_VAR, &token);
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    if let Some(dir) = &spec.working_dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn()?;
    let pid = child.id() as i32;
    let started = Instant::now();

    // Stream both pipes to their files on their own threads.
    let out_thread = copy_capped(
        child.stdout.take().expect("piped"),
        &spec.stdout_path,
        spec.cap_bytes,
        spec.filter.clone(),
    )?;
    let err_thread = copy_capped(
        child.stderr.take().expect("piped"),
        &spec.stderr_path,
        spec.cap_bytes,
        spec.filter.clone(),
    )?;

    // Wait on a thread so the timeout can be enforced from here.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let mut timed_out = false;
    let status = match rx.recv_timeout(spec.timeout) {
        Ok(status) => status?,
        Err(_) => {
            timed_out = true;
            warn!(
                pid,
                timeout_secs = spec.timeout.as_secs(),
                "step timed out; terminating its processes"
            );
            signal_all(pid, &token, Signal::SIGTERM);
            match rx.recv_timeout(spec.grace) {
                Ok(status) => status?,
                Err(_) => {
                    signal_all(pid, &token, Signal::SIGKILL);
                    rx.recv()
                        .map_err(|_| io::Error::other("wait thread vanished"))??
                }
            }
        }
    };
    debug!(
        pid,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "step process exited"
    );

    // Whatever the step left behind goes too; the pipes close with it.
    let leftovers_killed = end_leftovers(pid, &token, spec.grace);

    let stdout_dropped = out_thread
        .join()
        .map_err(|_| io::Error::other("stdout copier panicked"))??;
    let stderr_dropped = err_thread
        .join()
        .map_err(|_| io::Error::other("stderr copier panicked"))??;

    let exit_code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok(RunOutcome {
        exit_code,
        timed_out,
        stdout_dropped,
        stderr_dropped,
        leftovers_killed,
    })
}

fn become_subreaper() {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        warn!(error = %e, "cannot become a child subreaper; double-forked step processes may escape cleanup");
    }
}

/// Rewrites a stream on its way to the file, e.g. to mask secrets. It must
/// copy all of `src` to `dst`.
pub trait StreamFilter: Send + Sync {
    fn copy(&self, src: &mut dyn Read, dst: &mut dyn Write) -> io::Result<()>;
}

/// Copies `src` into a new file at `path` on a thread, through `filter` when
/// given, keeping at most `cap` bytes. Returns the number of bytes dropped.
fn copy_capped(
    mut src: impl Read + Send + 'static,
    path: &Path,
    cap: u64,
    filter: Option<Arc<dyn StreamFilter>>,
) -> io::Result<thread::JoinHandle<io::Result<u64>>> {
    let mut out = CappedFile::new(File::create(path)?, cap);
    Ok(thread::spawn(move || {
        match filter {
            Some(f) => f.copy(&mut src, &mut out)?,
            None => {
                let mut buf = vec![0u8; COPY_BUF_BYTES];
                loop {
                    let n = match src.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    out.write_all(&buf[..n])?;
                }
            }
        }
        out.finish()
    }))
}

/// A file that keeps the first `cap` bytes written to it, cut on a UTF-8
/// character boundary, and counts the rest. Writes never fail for being over
/// the cap, so the producer is never blocked or killed by a full pipe.
struct CappedFile {
    file: File,
    cap: u64,
    kept: u64,
    dropped: u64,
    full: bool,
    /// The last bytes kept: a character may arrive split across two writes,
    /// and the cut must not fall inside it either.
    tail: Vec<u8>,
}

impl CappedFile {
    fn new(file: File, cap: u64) -> Self {
        CappedFile {
            file,
            cap,
            kept: 0,
            dropped: 0,
            full: false,
            tail: Vec::with_capacity(UTF8_MAX_CONTINUATION),
        }
    }

    /// Flushes to disk and returns the number of bytes dropped.
    fn finish(self) -> io::Result<u64> {
        self.file.sync_all()?;
        Ok(self.dropped)
    }
}

impl Write for CappedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        if self.full {
            self.dropped += n as u64;
            return Ok(n);
        }
        let room = self.cap - self.kept;
        if (n as u64) <= room {
            self.file.write_all(buf)?;
            self.kept += n as u64;
            self.tail
                .extend_from_slice(&buf[n.saturating_sub(UTF8_MAX_CONTINUATION)..]);
            let excess = self.tail.len().saturating_sub(UTF8_MAX_CONTINUATION);
            self.tail.drain(..excess);
            return Ok(n);
        }

        // Find the cut in the kept tail followed by this write.
        let back = self.tail.len();
        self.tail.extend_from_slice(buf);
        let cut = utf8_floor(&self.tail, back + room as usize);
        if cut >= back {
            self.file.write_all(&buf[..cut - back])?;
            self.kept += (cut - back) as u64;
            self.dropped += (n - (cut - back)) as u64;
        } else {
            // The cut is inside a character already written: take its first
            // bytes back out of the file.
            let unkept = (back - cut) as u64;
            self.file.set_len(self.kept - unkept)?;
            self.kept -= unkept;
            self.dropped += n as u64 + unkept;
        }
        self.full = true;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// The largest index `<= limit` that does not split a UTF-8 sequence. Bytes
/// that are not UTF-8 at all are cut exactly at `limit`.
pub fn utf8_floor(bytes: &[u8], limit: usize) -> usize {
    if limit >= bytes.len() {
        return bytes.len();
    }
    // Walk back over continuation bytes (10xxxxxx) to the start of the
    // character that straddles the limit, at most three of them.
    let mut i = limit;
    while i > 0 && limit - i < 3 && (bytes[i] & 0xC0) == 0x80 {
        i -= 1;
    }
    if (bytes[i] & 0xC0) == 0x80 {
        limit
    } else {
        i
    }
}

/// One process as seen in /proc.
struct ProcInfo {
    pid: i32,
    ppid: i32,
    pgid: i32,
    zombie: bool,
}

fn read_proc(pid: i32) -> Option<ProcInfo> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcInfo {
        pid,
        zombie: f.first() == Some(&"Z"),
        ppid: f.get(1)?.parse().ok()?,
        pgid: f.get(2)?.parse().ok()?,
    })
}

fn has_token(pid: i32, token: &str) -> bool {
    let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let needle = format!("{RUN_TOKEN_VAR}={token}");
    env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes())
}

/// Every live process that belongs to the run: in its group, carrying its
/// token, re-parented to us, or descended from one of those. Zombies
/// re-parented to us are reaped.
fn members(group: i32, token: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    let all: Vec<ProcInfo> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(read_proc)
        .collect();
    let mut found: HashSet<i32> = HashSet::new();
    for p in &all {
        if p.zombie {
            if p.ppid == me && p.pid != group {
                let _ = waitpid(Pid::from_raw(p.pid), Some(WaitPidFlag::WNOHANG));
            }
            continue;
        }
        // Orphans re-parented to us (the subreaper) are the step's too: steps
        // run one at a time, so Rampart has no other children meanwhile.
        if p.pgid == group || p.ppid == me || has_token(p.pid, token) {
            found.insert(p.pid);
        }
    }
    // Add descendants of anything found (a child that cleared its environment
    // and changed group is still a child).
    loop {
        let before = found.len();
        for p in &all {
            if !p.zombie && found.contains(&p.ppid) {
                found.insert(p.pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
    found.into_iter().collect()
}

fn signal_all(group: i32, token: &str, sig: Signal) -> usize {
    let _ = killpg(Pid::from_raw(group), sig);
    let pids = members(group, token);
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), sig);
    }
    pids.len()
}

/// Terminates what the run left behind: SIGTERM, up to `grace` to exit, then
/// SIGKILL. Returns how many processes were found.
fn end_leftovers(group: i32, token: &str, grace: Duration) -> usize {
    let count = signal_all(group, token, Signal::SIGTERM);
    if count == 0 {
        return 0;
    }
    warn!(count, "step left processes running; terminating them");
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        thread::sleep(REAP_POLL);
        if members(group, token).is_empty() {
            return count;
        }
    }
    while signal_all(group, token, Signal::SIGKILL) > 0 {
        thread::sleep(REAP_POLL);
    }
    count
}

/// Every live descendant of this process (children, and orphans it adopted
/// as subreaper, and theirs).
fn descendants() -> Vec<i32> {
    let me = std::process::id() as i32;
    let all: Vec<ProcInfo> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter_map(read_proc)
        .collect();
    let mut found: HashSet<i32> = all
        .iter()
        .filter(|p| p.ppid == me && !p.zombie)
        .map(|p| p.pid)
        .collect();
    loop {
        let before = found.len();
        for p in &all {
            if !p.zombie && found.contains(&p.ppid) {
                found.insert(p.pid);
            }
        }
        if found.len() == before {
            break;
        }
    }
    found.into_iter().collect()
}

/// Ends every process this one started: SIGTERM, up to `grace`, then
/// SIGKILL. Used by the agent at shutdown after running steps had their
/// grace period. Returns how many processes were found.
pub fn end_all_children(grace: Duration) -> usize {
    let pids = descendants();
    for pid in &pids {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !descendants().is_empty() {
        thread::sleep(REAP_POLL);
    }
    for pid in descendants() {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    pids.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one chunk per read, as a pipe does with separate writes.
    struct Chunks(std::collections::VecDeque<&'static [u8]>);

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(chunk) = self.0.pop_front() else {
                return Ok(0);
            };
            buf[..chunk.len()].copy_from_slice(chunk);
            Ok(chunk.len())
        }
    }

    fn capped(chunks: &[&'static [u8]], cap: u64) -> (Vec<u8>, u64) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let src = Chunks(chunks.iter().copied().collect());
        let dropped = copy_capped(src, &path, cap, None)
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        (fs::read(&path).unwrap(), dropped)
    }

    #[test]
    fn cap_does_not_split_a_character_that_spans_two_reads() {
        // "a€tail" with the euro sign (E2 82 AC) split after its first byte.
        let chunks: [&[u8]; 2] = [b"a\xE2", b"\x82\xACtail"];
        assert_eq!(capped(&chunks, 2), (b"a".to_vec(), 7));
        assert_eq!(capped(&chunks, 3), (b"a".to_vec(), 7));
        assert_eq!(capped(&chunks, 4), ("a€".as_bytes().to_vec(), 4));
        assert_eq!(capped(&chunks, 100), ("a€tail".as_bytes().to_vec(), 0));
    }

    #[test]
    fn utf8_floor_never_splits_a_character() {
        let s = "aé€😀".as_bytes(); // 1 + 2 + 3 + 4 bytes
        assert_eq!(utf8_floor(s, 0), 0);
        assert_eq!(utf8_floor(s, 1), 1);
        assert_eq!(utf8_floor(s, 2), 1); // inside é
        assert_eq!(utf8_floor(s, 3), 3);
        assert_eq!(utf8_floor(s, 5), 3); // inside €
        assert_eq!(utf8_floor(s, 7), 6); // inside 😀
        assert_eq!(utf8_floor(s, 9), 6);
        assert_eq!(utf8_floor(s, 10), 10);
        for cut in 0..=s.len() {
            assert!(std::str::from_utf8(&s[..utf8_floor(s, cut)]).is_ok());
        }
    }
}
