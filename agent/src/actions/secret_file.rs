//! `rampart:secretFile`: a SecureString from Parameter Store, written into a
//! file with strict owner and mode (the "private key on every web server"
//! case that a shell line cannot do safely).
//!
//! Inputs: `parameter` (a Parameter Store name, optionally `name:version` or
//! `name:label`), `path`, `owner`, `group`, `mode` (default "0400"), and
//! `onChange`, a command run only when the content was replaced (for example
//! `systemctl reload apache2`).
//!
//! The value never leaves the [`SecretString`] except into the atomic write
//! helper and a byte comparison: results say "content differs", never sizes
//! or hashes. A target that is a symlink, has extra hard links, or sits in a
//! directory another user can write to is refused, because each lets someone
//! else redirect or read the secret.

use std::fs::{self, DirBuilder};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::file::{meta_drift, wanted_ids};
use super::{
    declarative_outcome, parse_mode, reconcile, Action, ActionOutcome, Inputs, Observation,
    Resource, StepContext,
};
use crate::output::outbox::key_component;
use crate::output::Compliance;
use crate::parameters::SecretString;
use crate::platform::atomic::{self, FileMeta};
use crate::platform::process::{self, RunSpec};

/// Mode of a secret file unless the document says otherwise.
pub const DEFAULT_SECRET_MODE: u32 = 0o400;

/// Time allowed for an `onChange` command.
const ON_CHANGE_TIMEOUT_SECS: u64 = 300;

#[derive(Debug)]
pub struct SecretFileAction {
    parameter: String,
    path: PathBuf,
    owner: Option<String>,
    group: Option<String>,
    mode: u32,
    on_change: Option<String>,
    /// Set by `fix` when the content was replaced, for `onChange`.
    rewrote: AtomicBool,
}

impl SecretFileAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, false)?;
        let parameter = i.required_string("parameter").unwrap_or_default();
        if i.get("parameter").is_some() && parameter.is_empty() {
            i.problem("input 'parameter' is empty; give a Parameter Store name");
        }
        if parameter.contains("{{") {
            i.problem("input 'parameter' takes a Parameter Store name, not a {{ }} reference");
        }
        let path = i.file_path("path");
        let mode = match i.get("mode") {
            None => DEFAULT_SECRET_MODE,
            Some(m) => parse_mode(m)
                .map_err(|e| i.problem(e))
                .unwrap_or(DEFAULT_SECRET_MODE),
        };
        if mode & 0o007 != 0 {
            i.problem(format_args!(
                "mode {mode:04o} would let every user read the secret; use 0400, 0440 or 0600"
            ));
        }
        let action = SecretFileAction {
            parameter,
            path,
            owner: i.string("owner"),
            group: i.string("group"),
            mode,
            on_change: i.string("onChange").filter(|c| !c.trim().is_empty()),
            rewrote: AtomicBool::new(false),
        };
        i.finish()?;
        Ok(action)
    }

    fn secret<'a>(&self, ctx: &'a StepContext) -> Result<&'a SecretString, String> {
        ctx.secrets
            .get(&self.parameter)
            .ok_or_else(|| format!("SecureString '{}' was not resolved", self.parameter))
    }

    /// Refuses a parent directory that someone other than root or the file's
    /// owner could write to: they could swap the file or read it in transit.
    fn check_parent(&self, ctx: &StepContext, host: &Path, uid: Option<u32>) -> Result<(), String> {
        let parent = host.parent().ok_or("path has no parent directory")?;
        let meta = fs::metadata(parent)
            .map_err(|e| format!("cannot use {}: parent directory: {e}", self.path.display()))?;
        let trusted_owner = meta.uid() == 0 || Some(meta.uid()) == uid;
        let other_writable = meta.mode() & 0o002 != 0;
        let group_writable = meta.mode() & 0o020 != 0 && meta.gid() != 0;
        if !trusted_owner || other_writable || group_writable {
            return Err(format!(
                "refusing to write {}: its directory is writable by users other than root and the file's owner \
                 (owner {}, mode {:04o}); tighten the directory first",
                self.path.display(),
                crate::platform::accounts::name_of(ctx.root, crate::platform::accounts::AccountKind::User, meta.uid()),
                meta.mode() & 0o7777
            ));
        }
        Ok(())
    }

    fn run_on_change(&self, ctx: &StepContext, command: &str) -> Result<String, String> {
        let dir = ctx.exec.scripts_dir.join(key_component(ctx.step));
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("failed to create {}: {e}", dir.display()))?;
        let spec = RunSpec {
            program: PathBuf::from("sh"),
            args: vec!["-c".into(), command.to_string()],
            working_dir: Some(dir.clone()),
            env: vec![("RAMPART_ROOT".into(), ctx.root.dir().display().to_string())],
            timeout: Duration::from_secs(ON_CHANGE_TIMEOUT_SECS),
            grace: ctx.exec.kill_grace,
            stdout_path: dir.join("onChange.stdout"),
            stderr_path: dir.join("onChange.stderr"),
            cap_bytes: ctx.exec.output_cap_bytes,
            filter: ctx
                .exec
                .masker
                .is_active()
                .then(|| Arc::new(ctx.exec.masker.clone()) as _),
        };
        let out = process::run(&spec).map_err(|e| format!("failed to run onChange: {e}"))?;
        let text = [&spec.stdout_path, &spec.stderr_path]
            .iter()
            .filter_map(|p| fs::read_to_string(p).ok())
            .collect::<Vec<_>>()
            .join("");
        let text = ctx.exec.masker.mask(&text);
        if out.timed_out {
            return Err(format!(
                "onChange timed out after {ON_CHANGE_TIMEOUT_SECS}s"
            ));
        }
        if out.exit_code != 0 {
            return Err(format!(
                "onChange exited {}: {}",
                out.exit_code,
                text.trim()
            ));
        }
        Ok(text)
    }
}

impl Action for SecretFileAction {
    fn watched_paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        self.rewrote.store(false, Ordering::Relaxed);
        let mut result = reconcile(self, ctx);
        let mut extra = String::new();
        if self.rewrote.load(Ordering::Relaxed) && result.compliance == Compliance::Compliant {
            if let Some(cmd) = &self.on_change {
                match self.run_on_change(ctx, cmd) {
                    Ok(text) => {
                        result.detail.push_str("; onChange ran");
                        extra = text;
                    }
                    Err(e) => {
                        result.compliance = Compliance::Failed;
                        result.detail = format!("{}; {e}", result.detail);
                    }
                }
            }
        }
        let mut outcome = declarative_outcome(ctx.mode, vec![result]);
        if !extra.trim().is_empty() {
            outcome.output = format!("{}\nonChange output:\n{}", outcome.output, extra.trim_end());
        }
        outcome
    }
}

impl Resource for SecretFileAction {
    fn kind(&self) -> &'static str {
        "secretFile"
    }

    fn id(&self) -> String {
        self.path.display().to_string()
    }

    fn observe(&self, ctx: &StepContext) -> Result<Observation, String> {
        let secret = self.secret(ctx)?;
        let host = ctx.root.resolve(&self.path).map_err(|e| e.to_string())?;
        let (uid, gid) = wanted_ids(ctx, self.owner.as_deref(), self.group.as_deref())?;
        self.check_parent(ctx, &host, uid)?;
        let meta = match atomic::check_target(&host) {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(Observation::Drift(vec!["file does not exist".into()])),
            Err(e) => return Err(e.to_string()),
        };
        let mut drift = Vec::new();
        match fs::read(&host) {
            Ok(have) => {
                // Compare without revealing either side.
                let same = zeroize::Zeroizing::new(have);
                if same.as_slice() != secret.expose().as_bytes() {
                    drift.push("content differs from the parameter".to_string());
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => drift.push("file does not exist".into()),
            Err(e) => return Err(format!("failed to read {}: {e}", self.path.display())),
        }
        drift.extend(meta_drift(ctx, &meta, uid, gid, Some(self.mode)));
        Ok(if drift.is_empty() {
            Observation::Compliant(format!(
                "matches parameter '{}', mode {:04o}",
                self.parameter, self.mode
            ))
        } else {
            Observation::Drift(drift)
        })
    }

    fn fix(&self, ctx: &StepContext, drift: &[String]) -> Result<Vec<String>, String> {
        let secret = self.secret(ctx)?;
        let host = ctx.root.resolve(&self.path).map_err(|e| e.to_string())?;
        let (uid, gid) = wanted_ids(ctx, self.owner.as_deref(), self.group.as_deref())?;
        self.check_parent(ctx, &host, uid)?;
        let existing = atomic::check_target(&host).map_err(|e| e.to_string())?;
        let rewrite = existing.is_none()
            || drift
                .iter()
                .any(|d| d.starts_with("content") || d.contains("does not exist"));
        if rewrite {
            let meta = FileMeta {
                uid: uid.or(existing.as_ref().map(|m| m.uid())).unwrap_or(0),
                gid: gid.or(existing.as_ref().map(|m| m.gid())).unwrap_or(0),
                mode: self.mode,
            };
            atomic::write_file(&host, secret.expose().as_bytes(), meta)
                .map_err(|e| e.to_string())?;
            self.rewrote.store(true, Ordering::Relaxed);
            tracing::warn!(
                event = "secret_written",
                path = %self.path.display(),
                parameter = %self.parameter,
                mode = format!("{:04o}", self.mode),
                "wrote SecureString to file"
            );
            return Ok(vec![format!("wrote parameter '{}'", self.parameter)]);
        }
        atomic::set_meta(&host, uid, gid, Some(self.mode)).map_err(|e| e.to_string())?;
        Ok(drift.iter().map(|d| format!("fixed: {d}")).collect())
    }
}
