//! Running a package tool (apt-get, dpkg, rpm, dnf, ...) to completion with
//! a fixed locale and no prompts, keeping the end of its output when it
//! fails: that is where the tools say what went wrong.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use thiserror::Error;

/// Bytes of a failed command's output kept in the error.
const ERROR_TAIL_BYTES: usize = 1500;

#[derive(Debug, Error)]
pub enum ToolError {
    #[error("failed to run {tool} (is it installed?): {source}")]
    Spawn {
        tool: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("'{command}' failed (exit {code}): {output}")]
    Failed {
        command: String,
        code: i32,
        output: String,
    },
}

/// What a package file holds, from its own metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    pub path: PathBuf,
    pub name: String,
    /// The version as the package manager compares it (dpkg's
    /// `[epoch:]upstream[-revision]`, rpm's `[epoch:]version-release`).
    pub version: String,
    pub architecture: String,
}

impl PackageFile {
    /// True when the file installs on any architecture.
    pub fn any_architecture(&self) -> bool {
        self.architecture == "all" || self.architecture == "noarch"
    }
}

/// A tool command with a fixed locale and no prompts.
pub fn command(tool: &str) -> Command {
    let mut cmd = Command::new(tool);
    cmd.env("LC_ALL", "C")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("APT_LISTCHANGES_FRONTEND", "none")
        .env("NEEDRESTART_SUSPEND", "1")
        .stdin(Stdio::null());
    cmd
}

/// Runs a command to completion; its combined output on success, the tail of
/// it in the error otherwise.
pub fn run(mut cmd: Command, tool: &'static str) -> Result<String, ToolError> {
    let line = describe(&cmd);
    tracing::debug!(command = %line, "running package tool");
    let out = cmd
        .output()
        .map_err(|source| ToolError::Spawn { tool, source })?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    finish(line, out.status, text)
}

/// The output on success; otherwise an error with the end of the output,
/// where the tools say what went wrong.
fn finish(
    command: String,
    status: std::process::ExitStatus,
    text: String,
) -> Result<String, ToolError> {
    if status.success() {
        return Ok(text);
    }
    Err(ToolError::Failed {
        command,
        code: status.code().unwrap_or(-1),
        output: tail(&text, ERROR_TAIL_BYTES).trim().replace('\n', " | "),
    })
}

/// The last `max` bytes of `text`, cut on a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let start = (text.len().saturating_sub(max)..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}

/// Like [`run`], but when `progress` is set each line the tool prints on
/// stdout is echoed to Rampart's stderr as it comes (a long install shows
/// what it is doing on a terminal). Only the tail is kept in memory.
pub fn run_with_progress(
    mut cmd: Command,
    tool: &'static str,
    progress: bool,
) -> Result<String, ToolError> {
    if !progress {
        return run(cmd, tool);
    }
    let line = describe(&cmd);
    tracing::debug!(command = %line, "running package tool");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ToolError::Spawn { tool, source })?;
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut text = String::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    for l in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
        eprintln!("  {tool}: {l}");
        text.push_str(&l);
        text.push('\n');
        if text.len() > 4 * ERROR_TAIL_BYTES {
            text = tail(&text, ERROR_TAIL_BYTES).to_string();
        }
    }
    text.push_str(&errors.join().unwrap_or_default());
    let status = child
        .wait()
        .map_err(|source| ToolError::Spawn { tool, source })?;
    finish(line, status, text)
}

/// The command line, for messages and logs.
fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// True when `tool --version` runs and succeeds.
pub fn runs(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
