//! `rampart:file`: a file's presence, content, owner, group and mode.
//!
//! Inputs: `path` (absolute, required), `state` (`present` or `absent`,
//! default present), `content`, `owner`, `group`, `mode`. Anything not given
//! is left as it is. Content is written through the atomic helper; owner and
//! mode alone are fixed on an open descriptor, never through a symlink.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use serde_json::Value;

use super::{
    declarative_outcome, parse_mode, reconcile, Action, ActionOutcome, Inputs, Observation,
    Resource, StepContext,
};
use crate::platform::accounts::{self, AccountKind};
use crate::platform::atomic::{self, FileMeta};

#[derive(Debug, Clone, PartialEq)]
pub struct FileAction {
    pub path: PathBuf,
    pub present: bool,
    pub content: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub mode: Option<u32>,
}

impl FileAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, false)?;
        let path = i.file_path("path");
        let present = i.choice("state", &["present", "absent"], "present") == "present";
        let mode = i
            .get("mode")
            .and_then(|m| parse_mode(m).map_err(|e| i.problem(e)).ok());
        let action = FileAction {
            path,
            present,
            content: i.string("content"),
            owner: i.string("owner"),
            group: i.string("group"),
            mode,
        };
        let has_meta = action.owner.is_some() || action.group.is_some() || action.mode.is_some();
        if !present && (action.content.is_some() || has_meta) {
            i.problem("state 'absent' takes no content, owner, group or mode");
        }
        i.finish()?;
        Ok(action)
    }
}

impl Action for FileAction {
    fn watched_paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        declarative_outcome(ctx.mode, vec![reconcile(self, ctx)])
    }
}

/// Resolves owner and group names to ids under the run's root.
pub fn wanted_ids(
    ctx: &StepContext,
    owner: Option<&str>,
    group: Option<&str>,
) -> Result<(Option<u32>, Option<u32>), String> {
    let lookup = |kind, name: Option<&str>| -> Result<Option<u32>, String> {
        let Some(name) = name else { return Ok(None) };
        match accounts::lookup_id(ctx.root, kind, name) {
            Ok(Some(id)) => Ok(Some(id)),
            Ok(None) => Err(format!(
                "{} '{name}' does not exist on this system",
                if kind == AccountKind::User {
                    "user"
                } else {
                    "group"
                }
            )),
            Err(e) => Err(format!("failed to look up '{name}': {e}")),
        }
    };
    Ok((
        lookup(AccountKind::User, owner)?,
        lookup(AccountKind::Group, group)?,
    ))
}

/// Differences in owner, group and mode between a file and what is wanted.
pub fn meta_drift(
    ctx: &StepContext,
    meta: &fs::Metadata,
    uid: Option<u32>,
    gid: Option<u32>,
    mode: Option<u32>,
) -> Vec<String> {
    let mut drift = Vec::new();
    if let Some(uid) = uid.filter(|u| *u != meta.uid()) {
        drift.push(format!(
            "owner is {}, want {}",
            accounts::name_of(ctx.root, AccountKind::User, meta.uid()),
            accounts::name_of(ctx.root, AccountKind::User, uid)
        ));
    }
    if let Some(gid) = gid.filter(|g| *g != meta.gid()) {
        drift.push(format!(
            "group is {}, want {}",
            accounts::name_of(ctx.root, AccountKind::Group, meta.gid()),
            accounts::name_of(ctx.root, AccountKind::Group, gid)
        ));
    }
    if let Some(mode) = mode.filter(|m| *m != meta.mode() & 0o7777) {
        drift.push(format!(
            "mode is {:04o}, want {mode:04o}",
            meta.mode() & 0o7777
        ));
    }
    drift
}

impl Resource for FileAction {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn id(&self) -> String {
        self.path.display().to_string()
    }

    fn observe(&self, ctx: &StepContext) -> Result<Observation, String> {
        let host = ctx.root.resolve(&self.path).map_err(|e| e.to_string())?;
        let meta = match fs::symlink_metadata(&host) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(if self.present {
                    Observation::Drift(vec!["file does not exist".into()])
                } else {
                    Observation::Compliant("absent".into())
                });
            }
            Err(e) => return Err(format!("failed to inspect {}: {e}", self.path.display())),
        };
        if !self.present {
            return Ok(Observation::Drift(vec!["file exists, want absent".into()]));
        }
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{} is a symlink; Rampart does not manage files through links",
                self.path.display()
            ));
        }
        if !meta.is_file() {
            return Err(format!("{} is not a regular file", self.path.display()));
        }
        let (uid, gid) = wanted_ids(ctx, self.owner.as_deref(), self.group.as_deref())?;
        let mut drift = Vec::new();
        if let Some(want) = &self.content {
            let have = fs::read(&host)
                .map_err(|e| format!("failed to read {}: {e}", self.path.display()))?;
            if have != want.as_bytes() {
                drift.push(format!(
                    "content differs ({} bytes, want {})",
                    have.len(),
                    want.len()
                ));
            }
        }
        drift.extend(meta_drift(ctx, &meta, uid, gid, self.mode));
        Ok(if drift.is_empty() {
            Observation::Compliant(format!(
                "{} {}:{} {:04o}",
                if self.content.is_some() {
                    "content matches,"
                } else {
                    "present,"
                },
                accounts::name_of(ctx.root, AccountKind::User, meta.uid()),
                accounts::name_of(ctx.root, AccountKind::Group, meta.gid()),
                meta.mode() & 0o7777
            ))
        } else {
            Observation::Drift(drift)
        })
    }

    fn fix(&self, ctx: &StepContext, drift: &[String]) -> Result<Vec<String>, String> {
        let host = ctx.root.resolve(&self.path).map_err(|e| e.to_string())?;
        if !self.present {
            atomic::remove_file(&host).map_err(|e| e.to_string())?;
            return Ok(vec!["removed".into()]);
        }
        let (uid, gid) = wanted_ids(ctx, self.owner.as_deref(), self.group.as_deref())?;
        let existing = atomic::check_target(&host).map_err(|e| e.to_string())?;
        let rewrite = existing.is_none() || drift.iter().any(|d| d.starts_with("content"));
        if rewrite {
            // New files default to root-owned 0644 unless the document says
            // otherwise; existing files keep what the document does not set.
            let meta = FileMeta {
                uid: uid.or(existing.as_ref().map(|m| m.uid())).unwrap_or(0),
                gid: gid.or(existing.as_ref().map(|m| m.gid())).unwrap_or(0),
                mode: self
                    .mode
                    .or(existing.as_ref().map(|m| m.mode() & 0o7777))
                    .unwrap_or(0o644),
            };
            let content = self.content.as_deref().unwrap_or("");
            atomic::write_file(&host, content.as_bytes(), meta).map_err(|e| e.to_string())?;
            tracing::info!(event = "file_written", path = %self.path.display(), bytes = content.len(), "wrote file");
        } else {
            atomic::set_meta(&host, uid, gid, self.mode).map_err(|e| e.to_string())?;
        }
        Ok(drift.iter().map(|d| format!("fixed: {d}")).collect())
    }
}
