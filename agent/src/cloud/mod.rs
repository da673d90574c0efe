//! AWS access: one SDK configuration per process, built from the SDK's
//! default chains (credentials: environment, profile, IMDSv2 role; region:
//! environment, profile, IMDS) with Rampart's settings on top.
//!
//! Credentials are never logged: the SDK redacts them in Debug output, and
//! nothing here formats them.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ssm::config::SharedHttpClient;
use aws_smithy_http_client::tls;

use crate::config::{AwsSettings, Settings};

/// Time to establish a connection; a blocked endpoint fails fast.
const CONNECT_TIMEOUT_SECS: u64 = 3;
/// Time for one attempt of a call.
const ATTEMPT_TIMEOUT_SECS: u64 = 15;
/// Time for a call including retries and backoff.
const OPERATION_TIMEOUT_SECS: u64 = 60;
/// Attempts per call when the config file does not say (SDK standard mode:
/// exponential backoff with jitter, throttling errors retried).
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The HTTPS client of every AWS call, credential providers and IMDS
/// included: rustls with ring and the system's root certificates. Built
/// once per configuration; it pools connections.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Loads the shared SDK configuration.
pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(settings.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
                .operation_attempt_timeout(Duration::from_secs(ATTEMPT_TIMEOUT_SECS))
                .operation_timeout(Duration::from_secs(OPERATION_TIMEOUT_SECS))
                .build(),
        );
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// The endpoint from the config file, unless the SDK's own environment
/// variables name one (those win, as users of every AWS tool expect).
fn endpoint_override(service_env: &str, configured: &Option<String>) -> Option<String> {
    let env_set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    if env_set("AWS_ENDPOINT_URL") || env_set(service_env) {
        return None;
    }
    configured.clone()
}

pub fn ssm_client(sdk: &SdkConfig, settings: &AwsSettings) -> aws_sdk_ssm::Client {
    let mut b = aws_sdk_ssm::config::Builder::from(sdk);
    if let Some(url) = endpoint_override("AWS_ENDPOINT_URL_SSM", &settings.endpoints.ssm) {
        b = b.endpoint_url(url);
    }
    aws_sdk_ssm::Client::from_conf(b.build())
}

/// An S3 client. Path-style addressing follows the config file, and defaults
/// to on when an endpoint override is in force (S3-compatible servers and
/// test servers rarely answer virtual-hosted names).
pub fn s3_client(sdk: &SdkConfig, settings: &Settings) -> aws_sdk_s3::Client {
    let mut b = aws_sdk_s3::config::Builder::from(sdk);
    let env_set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    let overridden = env_set("AWS_ENDPOINT_URL")
        || env_set("AWS_ENDPOINT_URL_S3")
        || settings.aws.endpoints.s3.is_some();
    if let Some(url) = endpoint_override("AWS_ENDPOINT_URL_S3", &settings.aws.endpoints.s3) {
        b = b.endpoint_url(url);
    }
    b = b.force_path_style(settings.output.path_style.unwrap_or(overridden));
    aws_sdk_s3::Client::from_conf(b.build())
}

/// Fetches an SSM document by name (`name` or `name:version`) with
/// `GetDocument`, returning its content and format.
pub async fn get_document(
    client: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<(String, crate::documents::Format), String> {
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    use aws_sdk_ssm::types::DocumentFormat;

    let (doc, version) = match name.rsplit_once(':') {
        Some((n, v)) if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) => (n, Some(v)),
        _ => (name, None),
    };
    let out = client
        .get_document()
        .name(doc)
        .set_document_version(version.map(str::to_string))
        .send()
        .await
        .map_err(|e| match e.as_service_error() {
            Some(s) if s.code() == Some("InvalidDocument") => {
                format!("SSM document '{name}' does not exist")
            }
            Some(s) => format!(
                "failed to get SSM document '{name}': {}: {}",
                s.code().unwrap_or("error"),
                s.message().unwrap_or("no message")
            ),
            None => format!("failed to get SSM document '{name}': {e}"),
        })?;
    let format = match out.document_format() {
        Some(DocumentFormat::Yaml) => crate::documents::Format::Yaml,
        _ => crate::documents::Format::Json,
    };
    Ok((out.content().unwrap_or_default().to_string(), format))
}
