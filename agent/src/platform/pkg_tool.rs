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
    if out.status.success() {
        return Ok(text);
    }
    let start = (text.len().saturating_sub(ERROR_TAIL_BYTES)..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    Err(ToolError::Failed {
        command: line,
        code: out.status.code().unwrap_or(-1),
        output: text[start..].trim().replace('\n', " | "),
    })
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
