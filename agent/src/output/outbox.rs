//! The local outbox, a durable spool of results waiting for S3.
//!
//! One directory per item (a run, or an inventory snapshot):
//!
//! ```text
//! outbox/<UTC time>-<name>/
//!     keys/<relative S3 key>...   the files, under the keys they get in S3
//!     destination.json            where they go (absent: they stay local)
//!     uploaded                    keys S3 has confirmed, one per line
//! ```
//!
//! An item is written under a hidden `.partial` name and renamed into place
//! only when complete, so the uploader never ships half a run and a crash
//! leaves a `.partial` directory naming the interrupted run. An item is
//! removed only after every one of its files was confirmed by S3. Limits on
//! count, size and age keep the spool from filling the disk or its inodes
//! (a known failure of the reference agent): the oldest items go first, and
//! every drop is counted and logged.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::unistd::{Gid, Uid};
use serde::Deserialize;
use tracing::warn;

use super::destination::S3Destination;
use super::record::RunRecord;
use crate::platform::atomic::{self, FileMeta};

/// File name of the result record, beside the step folders.
pub const RECORD_FILE: &str = "rampart-result.json";
/// A step's streams in its folder, as SSM names them in S3.
pub const STDOUT_FILE: &str = "stdout";
pub const STDERR_FILE: &str = "stderr";
const KEYS_DIR: &str = "keys";
const DESTINATION_FILE: &str = "destination.json";
const UPLOADED_FILE: &str = "uploaded";
/// Running count of items dropped by the limits, in the outbox folder.
const DROPPED_FILE: &str = ".dropped";
const PARTIAL_SUFFIX: &str = ".partial";

/// Bounds on the spool. Defaults keep a month of hourly runs of a large
/// document well under a gigabyte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolLimits {
    #[serde(default = "default_max_items")]
    pub max_items: usize,
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    #[serde(default = "default_max_age_days")]
    pub max_age_days: u64,
}

fn default_max_items() -> usize {
    2000
}
fn default_max_bytes() -> u64 {
    512 * 1024 * 1024
}
fn default_max_age_days() -> u64 {
    30
}

impl Default for SpoolLimits {
    fn default() -> Self {
        SpoolLimits {
            max_items: default_max_items(),
            max_bytes: default_max_bytes(),
            max_age_days: default_max_age_days(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    limits: SpoolLimits,
}

/// The relative key under which an item's files sit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBase(String);

impl KeyBase {
    /// Run Command layout: `<commandId>/<instanceId>`.
    pub fn command(command_id: &str, instance_id: &str) -> io::Result<KeyBase> {
        plain("command id", command_id)?;
        plain("instance id", instance_id)?;
        Ok(KeyBase(format!("{command_id}/{instance_id}")))
    }

    /// State Manager layout: `<instanceId>/<associationId>/<runId>`.
    pub fn association(
        instance_id: &str,
        association_id: &str,
        run_id: &str,
    ) -> io::Result<KeyBase> {
        plain("instance id", instance_id)?;
        plain("association id", association_id)?;
        plain("run id", run_id)?;
        Ok(KeyBase(format!("{instance_id}/{association_id}/{run_id}")))
    }

    /// Inventory snapshots: `inventory/<instanceId>`.
    pub fn inventory(instance_id: &str) -> io::Result<KeyBase> {
        plain("instance id", instance_id)?;
        Ok(KeyBase(format!("inventory/{instance_id}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One item being written.
#[derive(Debug)]
pub struct RunDir {
    partial: PathBuf,
    complete: PathBuf,
    key_base: KeyBase,
}

/// One complete item in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub dir: PathBuf,
}

/// A file of an item: its key relative to the destination prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFile {
    pub rel_key: String,
    pub path: PathBuf,
    pub size: u64,
}

fn private_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(path)
}

fn own_meta(mode: u32) -> FileMeta {
    FileMeta {
        uid: Uid::effective().as_raw(),
        gid: Gid::effective().as_raw(),
        mode,
    }
}

impl Outbox {
    /// Opens (creating, mode 0700) the outbox under `state_dir`.
    pub fn open(state_dir: &Path, limits: SpoolLimits) -> io::Result<Self> {
        let dir = state_dir.join("outbox");
        private_dir(&dir)?;
        Ok(Outbox { dir, limits })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts an item, after making room for it within the limits.
    pub fn begin(
        &self,
        name: &str,
        key_base: KeyBase,
        destination: Option<&S3Destination>,
    ) -> io::Result<RunDir> {
        plain("item name", name)?;
        self.enforce_limits(1)?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let dir_name = format!("{stamp}-{name}");
        let partial = self.dir.join(format!(".{dir_name}{PARTIAL_SUFFIX}"));
        let complete = self.dir.join(&dir_name);
        private_dir(&partial.join(KEYS_DIR).join(key_base.as_str()))?;
        if let Some(dest) = destination {
            let body = serde_json::to_vec_pretty(dest).map_err(io::Error::other)?;
            atomic::write_file(&partial.join(DESTINATION_FILE), &body, own_meta(0o600))
                .map_err(io::Error::other)?;
        }
        Ok(RunDir {
            partial,
            complete,
            key_base,
        })
    }

    /// Complete items, oldest first.
    pub fn items(&self) -> io::Result<Vec<Item>> {
        let mut items: Vec<Item> = fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter(|e| e.path().is_dir())
            .map(|e| Item { dir: e.path() })
            .collect();
        items.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(items)
    }

    /// Items that a crash interrupted while they were being written.
    pub fn interrupted(&self) -> io::Result<Vec<PathBuf>> {
        Ok(fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(PARTIAL_SUFFIX))
            .map(|e| e.path())
            .collect())
    }

    /// Items dropped by the limits since the outbox was created.
    pub fn dropped_total(&self) -> u64 {
        fs::read_to_string(self.dir.join(DROPPED_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Drops the oldest items until `incoming` more fit within the limits,
    /// and items older than the age limit. Returns how many were dropped.
    pub fn enforce_limits(&self, incoming: usize) -> io::Result<usize> {
        let items = self.items()?;
        let max_age = Duration::from_secs(self.limits.max_age_days * 24 * 3600);
        let now = SystemTime::now();
        let mut sizes: Vec<u64> = items.iter().map(|i| dir_size(&i.dir)).collect();
        let mut total: u64 = sizes.iter().sum();
        let mut count = items.len();
        let mut dropped = 0;
        for (i, item) in items.iter().enumerate() {
            let too_old = fs::metadata(&item.dir)
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > max_age);
            let too_many = count + incoming > self.limits.max_items;
            let too_big = total > self.limits.max_bytes;
            if !(too_old || too_many || too_big) {
                continue;
            }
            let why = if too_old {
                "age"
            } else if too_many {
                "count"
            } else {
                "size"
            };
            warn!(
                event = "spool_dropped",
                item = %item.dir.display(),
                limit = why,
                "spool limit reached; dropping the oldest undelivered result"
            );
            fs::remove_dir_all(&item.dir)?;
            total -= sizes[i];
            sizes[i] = 0;
            count -= 1;
            dropped += 1;
        }
        if dropped > 0 {
            let n = self.dropped_total() + dropped as u64;
            atomic::write_file(
                &self.dir.join(DROPPED_FILE),
                n.to_string().as_bytes(),
                own_meta(0o600),
            )
            .map_err(io::Error::other)?;
        }
        Ok(dropped)
    }
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => total += dir_size(&e.path()),
                Ok(_) => total += e.metadata().map(|m| m.len()).unwrap_or(0),
                Err(_) => {}
            }
        }
    }
    total
}

/// Longest id accepted: SSM's ids are 36 characters, and every id is a
/// path component, which a file system caps at 255 bytes.
const MAX_ID_CHARS: usize = 128;

/// Ids become path components and S3 key parts, so they must be plain
/// names. The message names `what` and says what is allowed.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} '{id}' must be 1-{MAX_ID_CHARS} letters, digits, '-', '_' and '.'"
        ))
    }
}

fn plain(what: &str, id: &str) -> io::Result<()> {
    check_id(what, id).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// SSM drops ':' from action and step names in keys (`aws:runShellScript` ->
/// `awsrunShellScript`).
pub fn key_component(name: &str) -> String {
    name.replace(':', "")
}

impl RunDir {
    fn base(&self) -> PathBuf {
        self.partial.join(KEYS_DIR).join(self.key_base.as_str())
    }

    /// Creates and returns the folder for one step's streams.
    pub fn step_dir(&self, action: &str, step: &str) -> io::Result<PathBuf> {
        let dir = self
            .base()
            .join(key_component(action))
            .join(key_component(step));
        private_dir(&dir)?;
        Ok(dir)
    }

    /// Writes the run's record and moves the run into place.
    pub fn finish(self, record: &RunRecord) -> io::Result<PathBuf> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        self.finish_with(RECORD_FILE, &json)
    }

    /// Writes one file at the key base and moves the item into place.
    ///
    /// When the file cannot be written (a full disk, most often filled by
    /// the run's own step output), the step streams are dropped and the
    /// write tried once more: the record, with each step's status, exit
    /// code and output excerpt, is what must survive. If that fails too,
    /// the item is removed rather than left half-written, where it would
    /// keep the disk full for every later run.
    pub fn finish_with(self, file_name: &str, content: &[u8]) -> io::Result<PathBuf> {
        let target = self.base().join(file_name);
        if let Err(first) = atomic::write_file(&target, content, own_meta(0o600)) {
            let dropped = drop_streams(&self.base());
            let retry = atomic::write_file(&target, content, own_meta(0o600));
            if let Err(e) = retry {
                let _ = fs::remove_dir_all(&self.partial);
                return Err(io::Error::other(format!(
                    "{e} (first try: {first}); the run's files were removed, not left half-written"
                )));
            }
            warn!(
                event = "streams_dropped",
                item = %self.complete.display(),
                files = dropped,
                error = %first,
                "could not record the run with its step output files; kept the record without them"
            );
        }
        fs::rename(&self.partial, &self.complete)?;
        if let Some(parent) = self.complete.parent() {
            File::open(parent)?.sync_all()?;
        }
        Ok(self.complete)
    }
}

/// Removes the step stream files (`stdout`, `stderr`) under `base`, and
/// returns how many went.
fn drop_streams(base: &Path) -> usize {
    let mut dropped = 0;
    let mut dirs = vec![base.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(path),
                Ok(_)
                    if matches!(e.file_name().to_str(), Some("stdout" | "stderr"))
                        && fs::remove_file(&path).is_ok() =>
                {
                    dropped += 1;
                }
                _ => {}
            }
        }
    }
    dropped
}

impl Item {
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn destination(&self) -> io::Result<Option<S3Destination>> {
        match fs::read(self.dir.join(DESTINATION_FILE)) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(io::Error::other),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The item's record, when it is a run.
    pub fn record_path(&self) -> Option<PathBuf> {
        self.files()
            .ok()?
            .into_iter()
            .find(|f| f.rel_key.ends_with(RECORD_FILE))
            .map(|f| f.path)
    }

    /// Every file of the item with its relative key, in a stable order.
    pub fn files(&self) -> io::Result<Vec<ItemFile>> {
        let root = self.dir.join(KEYS_DIR);
        let mut out = Vec::new();
        collect(&root, &root, &mut out)?;
        out.sort_by(|a, b| a.rel_key.cmp(&b.rel_key));
        Ok(out)
    }

    /// Keys S3 has already confirmed.
    pub fn uploaded(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join(UPLOADED_FILE))
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Records that S3 confirmed `rel_key`; durable before it returns.
    pub fn mark_uploaded(&self, rel_key: &str) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(UPLOADED_FILE))?;
        writeln!(f, "{rel_key}")?;
        f.sync_data()
    }

    /// Removes a delivered item.
    pub fn remove(&self) -> io::Result<()> {
        fs::remove_dir_all(&self.dir)
    }
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<ItemFile>) -> io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            collect(root, &e.path(), out)?;
        } else if t.is_file() {
            let path = e.path();
            let rel_key = path
                .strip_prefix(root)
                .map_err(io::Error::other)?
                .to_string_lossy()
                .into_owned();
            out.push(ItemFile {
                rel_key,
                size: e.metadata()?.len(),
                path,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(limits: SpoolLimits) -> (tempfile::TempDir, Outbox) {
        let tmp = tempfile::tempdir().unwrap();
        let o = Outbox::open(tmp.path(), limits).unwrap();
        (tmp, o)
    }

    fn add(o: &Outbox, name: &str, bytes: usize) -> PathBuf {
        let run = o
            .begin(name, KeyBase::command(name, "i-1").unwrap(), None)
            .unwrap();
        let dir = run.step_dir("aws:runShellScript", "s").unwrap();
        fs::write(dir.join("stdout"), vec![b'x'; bytes]).unwrap();
        run.finish_with("r.json", b"{}").unwrap()
    }

    #[test]
    fn files_carry_their_s3_keys() {
        let (_t, o) = outbox(SpoolLimits::default());
        add(&o, "c1", 3);
        let item = &o.items().unwrap()[0];
        let keys: Vec<String> = item
            .files()
            .unwrap()
            .into_iter()
            .map(|f| f.rel_key)
            .collect();
        assert_eq!(
            keys,
            vec!["c1/i-1/awsrunShellScript/s/stdout", "c1/i-1/r.json"]
        );
    }

    #[test]
    fn count_limit_drops_the_oldest_and_counts() {
        let (_t, o) = outbox(SpoolLimits {
            max_items: 3,
            ..SpoolLimits::default()
        });
        for i in 0..5 {
            add(&o, &format!("c{i}"), 1);
            std::thread::sleep(Duration::from_millis(2));
        }
        let names: Vec<String> = o.items().unwrap().iter().map(|i| i.name()).collect();
        assert_eq!(names.len(), 3);
        assert!(
            names[0].ends_with("-c2") && names[2].ends_with("-c4"),
            "{names:?}"
        );
        assert_eq!(o.dropped_total(), 2);
    }

    #[test]
    fn size_limit_drops_until_it_fits() {
        let (_t, o) = outbox(SpoolLimits {
            max_bytes: 2500,
            ..SpoolLimits::default()
        });
        for i in 0..4 {
            add(&o, &format!("c{i}"), 1000);
            std::thread::sleep(Duration::from_millis(2));
        }
        // Each item is 1002 bytes; limits are checked before each new item.
        assert_eq!(o.items().unwrap().len(), 3);
        assert!(o.dropped_total() >= 1);
    }

    #[test]
    fn uploaded_keys_survive_reopening() {
        let (t, o) = outbox(SpoolLimits::default());
        add(&o, "c1", 1);
        o.items().unwrap()[0]
            .mark_uploaded("c1/i-1/r.json")
            .unwrap();
        let again = Outbox::open(t.path(), SpoolLimits::default()).unwrap();
        assert_eq!(again.items().unwrap()[0].uploaded(), vec!["c1/i-1/r.json"]);
    }
}
