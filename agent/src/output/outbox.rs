//! The local outbox: one directory per run, holding files under the same
//! relative keys they get in S3 (`<commandId>/<instanceId>/<action>/<step>/stdout`),
//! so the uploader ships them without renaming anything.
//!
//! A run is written under a hidden `.partial` name and renamed into place only
//! when its record is complete, so a reader never sees half a run, and a crash
//! leaves a `.partial` directory that says exactly which run was interrupted.

use std::fs::{self, DirBuilder, File};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};

use super::record::RunRecord;
use crate::platform::atomic::{self, FileMeta};

/// File name of the result record inside a run, beside the step folders.
pub const RECORD_FILE: &str = "rampart-result.json";

/// Suffix of a run that is still being written (or was interrupted).
const PARTIAL_SUFFIX: &str = ".partial";

#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

/// One run's directory while it is being written.
#[derive(Debug)]
pub struct RunDir {
    partial: PathBuf,
    complete: PathBuf,
    /// `<commandId>/<instanceId>`: the key prefix of every file in the run.
    key_base: PathBuf,
}

impl Outbox {
    /// Opens (creating, mode 0700) the outbox under `state_dir`.
    pub fn open(state_dir: &Path) -> io::Result<Self> {
        let dir = state_dir.join("outbox");
        DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        Ok(Outbox { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a run. Ids become path components, so they must be plain names.
    pub fn begin(&self, command_id: &str, instance_id: &str) -> io::Result<RunDir> {
        for (what, id) in [("command id", command_id), ("instance id", instance_id)] {
            if !is_plain_component(id) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{what} '{id}' may contain only letters, digits, '-', '_' and '.'"),
                ));
            }
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let name = format!("{stamp}-{command_id}");
        let partial = self.dir.join(format!(".{name}{PARTIAL_SUFFIX}"));
        let complete = self.dir.join(&name);
        let key_base = Path::new(command_id).join(instance_id);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(partial.join(&key_base))?;
        Ok(RunDir {
            partial,
            complete,
            key_base,
        })
    }

    /// Completed runs, oldest first.
    pub fn runs(&self) -> io::Result<Vec<PathBuf>> {
        let mut runs: Vec<PathBuf> = fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        runs.sort();
        Ok(runs)
    }

    /// The record of a completed run directory.
    pub fn record_path(run: &Path) -> io::Result<PathBuf> {
        find_record(run)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no {RECORD_FILE} under {}", run.display()),
            )
        })
    }
}

fn find_record(dir: &Path) -> io::Result<Option<PathBuf>> {
    // Layout is <commandId>/<instanceId>/rampart-result.json: two levels.
    for a in fs::read_dir(dir)?.filter_map(Result::ok) {
        if !a.path().is_dir() {
            continue;
        }
        for b in fs::read_dir(a.path())?.filter_map(Result::ok) {
            let candidate = b.path().join(RECORD_FILE);
            if candidate.is_file() {
                return Ok(Some(candidate));
            }
        }
    }
    Ok(None)
}

/// SSM drops ':' from action and step names in keys (`aws:runShellScript` ->
/// `awsrunShellScript`).
pub fn key_component(name: &str) -> String {
    name.replace(':', "")
}

fn is_plain_component(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl RunDir {
    /// Creates and returns the folder for one step's streams.
    pub fn step_dir(&self, action: &str, step: &str) -> io::Result<PathBuf> {
        let dir = self
            .partial
            .join(&self.key_base)
            .join(key_component(action))
            .join(key_component(step));
        DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        Ok(dir)
    }

    /// The relative key of a file in this run, as uploaded under a prefix.
    pub fn key_base(&self) -> &Path {
        &self.key_base
    }

    /// Writes the record and moves the run into place. Returns the final
    /// directory.
    pub fn finish(self, record: &RunRecord) -> io::Result<PathBuf> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        let meta = FileMeta {
            uid: Uid::effective().as_raw(),
            gid: Gid::effective().as_raw(),
            mode: 0o600,
        };
        atomic::write_file(
            &self.partial.join(&self.key_base).join(RECORD_FILE),
            &json,
            meta,
        )
        .map_err(io::Error::other)?;
        fs::rename(&self.partial, &self.complete)?;
        if let Some(parent) = self.complete.parent() {
            File::open(parent)?.sync_all()?;
        }
        Ok(self.complete)
    }
}
