//! `rampart check` and `rampart apply`, and the part of a run that prints,
//! uploads and reboots, which `run-payload` shares.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use nix::unistd::{Gid, Uid};
use serde_json::Value;
use tokio::runtime::Runtime;

use super::{exit, render, report, state, RunArgs};
use crate::actions::Mode;
use crate::config::Settings;
use crate::documents::Document;
use crate::invocation::{self, Filing, InvocationError, Target};
use crate::output::{Outbox, S3Destination};
use crate::parameters::RawArgs;
use crate::platform::atomic::{self, FileMeta};
use crate::platform::{identity, Root};

/// Everything one command-line run needs, however it was asked for.
pub struct Job {
    pub name: String,
    pub doc: Document,
    pub raw: RawArgs,
    pub root: Root,
    pub mode: Mode,
    pub state_dir: Option<PathBuf>,
    pub command_id: Option<String>,
    pub destination: Option<S3Destination>,
    pub json: bool,
    pub output_limit: u64,
    pub allow_reboot: bool,
}

/// A current-thread runtime for the SDK calls of one command.
pub fn runtime() -> Result<Runtime, u8> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("rampart: error: failed to start the async runtime: {e}");
            exit::RUNTIME_ERROR
        })
}

pub fn load_settings(config: Option<&Path>) -> Result<Settings, u8> {
    Settings::load(config).map_err(|e| {
        eprintln!("rampart: error: {e}");
        exit::INVALID
    })
}

/// Prints an invocation error and returns its exit code.
pub fn fail(e: InvocationError) -> u8 {
    eprintln!("rampart: error: {e}");
    match e {
        InvocationError::Invalid(_) => exit::INVALID,
        InvocationError::Unavailable(_) => {
            eprintln!("  nothing was run");
            exit::RUNTIME_ERROR
        }
    }
}

pub fn run(args: RunArgs, config: Option<&Path>, mode: Mode, allow_reboot: bool) -> u8 {
    super::stop::watch();
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let job = (|| -> Result<Job, InvocationError> {
        let doc = invocation::load_document(&args.doc.document, &settings, &rt)?;
        let root = Root::new(&args.root).map_err(|e| {
            InvocationError::Invalid(format!("--root {}: {e}", args.root.display()))
        })?;
        let destination = match &args.output {
            Some(uri) => {
                let mut d = S3Destination::parse(uri)
                    .map_err(|e| InvocationError::Invalid(format!("--output: {e}")))?;
                d.kms_key_id = settings.output.kms_key_id.clone();
                Some(d)
            }
            None => settings.destination(),
        };
        Ok(Job {
            name: args.doc.document.clone(),
            doc,
            raw: invocation::raw_params(&args.doc.params, args.doc.params_json.as_deref())?,
            root,
            mode,
            state_dir: args.state_dir.clone(),
            command_id: args.command_id.clone(),
            destination,
            json: args.json,
            output_limit: args.output_limit,
            allow_reboot,
        })
    })();
    match job {
        Ok(job) => run_job(job, &settings, &rt),
        Err(e) => fail(e),
    }
}

/// Runs one job end to end and returns the exit code.
pub fn run_job(job: Job, settings: &Settings, rt: &Runtime) -> u8 {
    let ready = match invocation::prepare(job.name.clone(), job.doc.clone(), &job.raw)
        .and_then(|p| invocation::ready(p, settings, rt))
    {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    match finish(&job, settings, rt, &ready) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            exit::RUNTIME_ERROR
        }
    }
}

fn finish(
    job: &Job,
    settings: &Settings,
    rt: &Runtime,
    ready: &invocation::Ready,
) -> anyhow::Result<u8> {
    let state_dir = state::state_dir(job.state_dir.clone())?;
    let id = rt.block_on(identity::resolve());
    let command_id = job
        .command_id
        .clone()
        .or_else(|| {
            std::env::var("SSM_COMMAND_ID")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let target = Target {
        root: &job.root,
        mode: job.mode,
        state_dir: &state_dir,
        identity: &id,
        filing: Filing::Command {
            command_id: command_id.clone(),
        },
        destination: job.destination.as_ref(),
        output_limit: job.output_limit,
        settings,
    };
    let done = invocation::execute(ready, &target)?;
    let record = &done.record;

    if job.json {
        println!("{}", serde_json::to_string_pretty(record)?);
    } else {
        render::table(record);
    }
    let delivered = match &job.destination {
        Some(dest) => {
            warn_kept(
                &invocation::upload(settings, rt, &done.outbox),
                &done.outbox,
            );
            (!done.dir.exists()).then(|| format!("{dest}/{}/", done.key_prefix))
        }
        None => None,
    };
    if !job.json {
        match delivered {
            Some(uri) => println!("results: {uri}"),
            None => println!("results: {}", done.dir.display()),
        }
    }

    if let Some(reboot) = &record.reboot {
        write_reboot_request(
            &state_dir,
            &ready.prepared.name,
            &record.parameters,
            &command_id,
            &reboot.resume_step,
        )?;
        if job.allow_reboot && !job.root.is_host() {
            // The request is the image's (its packages asked for a boot of
            // that system), not this host's: never reboot the build host.
            eprintln!(
                "rampart: step '{}' requested a reboot of the system in {}; not rebooting \
                 this host (--allow-reboot acts only with --root /)",
                reboot.requested_by,
                job.root.dir().display()
            );
        } else if job.allow_reboot {
            eprintln!(
                "rampart: step '{}' requested a reboot; rebooting now",
                reboot.requested_by
            );
            let status = std::process::Command::new("systemctl")
                .arg("reboot")
                .status();
            if !status.is_ok_and(|s| s.success()) {
                eprintln!("rampart: error: 'systemctl reboot' failed; reboot the host, then run the document again");
            }
        } else {
            eprintln!(
                "rampart: step '{}' requested a reboot (exit 194). Reboot, then run the document again; \
                 pass --allow-reboot to let Rampart reboot.",
                reboot.requested_by
            );
        }
        return Ok(exit::REBOOT_REQUIRED);
    }
    Ok(if record.needs_attention() {
        exit::NON_COMPLIANT
    } else {
        exit::OK
    })
}

/// Says what stayed in the spool. It does not change the run's exit code,
/// which reports the host.
pub fn warn_kept(report: &crate::output::upload::DrainReport, outbox: &Outbox) {
    if let Some(err) = &report.error {
        eprintln!(
            "rampart: warning: {} result(s) kept in the spool ({}) and will be sent later: {err}",
            report.items_kept,
            outbox.dir().display()
        );
    }
}

fn write_reboot_request(
    state_dir: &Path,
    document: &str,
    parameters: &Value,
    command_id: &str,
    resume_step: &str,
) -> anyhow::Result<()> {
    let body = serde_json::to_vec_pretty(&serde_json::json!({
        "document": document,
        "parameters": parameters,
        "commandId": command_id,
        "resumeStep": resume_step,
    }))?;
    let meta = FileMeta {
        uid: Uid::effective().as_raw(),
        gid: Gid::effective().as_raw(),
        mode: 0o600,
    };
    atomic::write_file(&state_dir.join("reboot-pending.json"), &body, meta).map_err(|e| anyhow!(e))
}
