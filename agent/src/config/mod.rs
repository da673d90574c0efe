//! Rampart's settings: `/etc/rampart/rampart.toml` (or `--config` /
//! `RAMPART_CONFIG`), parsed and validated once into typed settings. A
//! missing default file means defaults; a file named explicitly must exist.
//! Unknown keys are errors, so a typo does not silently change nothing.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::output::{S3Destination, SpoolLimits};

/// Where the config file lives unless told otherwise.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/rampart/rampart.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub aws: AwsSettings,
    #[serde(default)]
    pub output: OutputSettings,
    #[serde(default)]
    pub spool: SpoolLimits,
    #[serde(default)]
    pub agent: AgentSettings,
}

/// `rampart agent` behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// Also run the associations State Manager has for this instance
    /// (DescribeEffectiveInstanceAssociations, DescribeAssociation).
    #[serde(default)]
    pub state_manager: bool,
    /// Minutes between State Manager polls.
    #[serde(default = "default_poll_minutes")]
    pub poll_minutes: u64,
    /// Seconds between spool drains while results are waiting.
    #[serde(default = "default_drain_seconds")]
    pub drain_seconds: u64,
    /// Seconds running steps get to finish on SIGTERM before their
    /// processes are ended.
    #[serde(default = "default_stop_grace_seconds")]
    pub stop_grace_seconds: u64,
}

fn default_poll_minutes() -> u64 {
    30
}
fn default_drain_seconds() -> u64 {
    60
}
fn default_stop_grace_seconds() -> u64 {
    30
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            state_manager: false,
            poll_minutes: default_poll_minutes(),
            drain_seconds: default_drain_seconds(),
            stop_grace_seconds: default_stop_grace_seconds(),
        }
    }
}

/// Where results go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSettings {
    /// `s3://bucket/prefix`; absent: results stay in the local outbox.
    pub s3: Option<String>,
    /// SSE-KMS key for uploads; absent: the bucket's default encryption.
    pub kms_key_id: Option<String>,
    /// Path-style addressing (`https://host/bucket/key`), which most
    /// S3-compatible servers need. Default: on when an S3 endpoint override
    /// is configured, off otherwise.
    pub path_style: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    /// Region; default: the SDK's chain (AWS_REGION, profile, IMDS).
    pub region: Option<String>,
    /// Shared-config profile; default: AWS_PROFILE or "default".
    pub profile: Option<String>,
    /// Attempts per AWS call, first try included (default 3).
    pub max_attempts: Option<u32>,
    #[serde(default)]
    pub endpoints: Endpoints,
}

/// Per-service endpoint overrides: VPC endpoints, FIPS endpoints, test
/// servers. The SDK's own variables (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_SSM`, ...) take precedence over these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub ssm: Option<String>,
    pub s3: Option<String>,
}

impl Settings {
    /// The configured results destination, with its KMS key.
    pub fn destination(&self) -> Option<S3Destination> {
        let mut d = S3Destination::parse(self.output.s3.as_deref()?).ok()?;
        d.kms_key_id = self.output.kms_key_id.clone();
        Some(d)
    }

    /// Loads `explicit` if given (it must exist), else the default path if it
    /// exists, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Settings, ConfigError> {
        let (path, must_exist) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from(DEFAULT_CONFIG_PATH), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                return Ok(Settings::default())
            }
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        Self::parse(&text).map_err(|message| ConfigError::Invalid { path, message })
    }

    pub fn parse(text: &str) -> Result<Settings, String> {
        let settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, url) in [
            ("ssm", &settings.aws.endpoints.ssm),
            ("s3", &settings.aws.endpoints.s3),
        ] {
            if let Some(u) = url {
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(format!(
                        "aws.endpoints.{name} must be an http(s) URL, got '{u}'"
                    ));
                }
            }
        }
        if let Some(uri) = &settings.output.s3 {
            S3Destination::parse(uri).map_err(|e| format!("output.s3: {e}"))?;
        }
        if settings.spool.max_items == 0 || settings.spool.max_bytes == 0 {
            return Err("spool.max_items and spool.max_bytes must be positive".into());
        }
        if settings.aws.max_attempts == Some(0) {
            return Err("aws.max_attempts must be at least 1".into());
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoints_and_rejects_unknown_keys() {
        let s = Settings::parse(
            "[aws]\nregion = 'eu-west-1'\n[aws.endpoints]\nssm = 'http://127.0.0.1:5000'\n",
        )
        .unwrap();
        assert_eq!(s.aws.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            s.aws.endpoints.ssm.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        let e = Settings::parse("[aws]\nregoin = 'x'\n").unwrap_err();
        assert!(e.contains("regoin"), "{e}");
        let e = Settings::parse("[aws.endpoints]\nssm = 'ftp://x'\n").unwrap_err();
        assert!(
            e.contains("aws.endpoints.ssm must be an http(s) URL"),
            "{e}"
        );
    }

    #[test]
    fn missing_default_file_means_defaults_but_explicit_must_exist() {
        assert!(Settings::load(Some(Path::new("/nonexistent/rampart.toml"))).is_err());
    }
}
