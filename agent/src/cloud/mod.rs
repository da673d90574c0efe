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

use crate::config::AwsSettings;

/// Time to establish a connection; a blocked endpoint fails fast.
const CONNECT_TIMEOUT_SECS: u64 = 3;
/// Time for one attempt of a call.
const ATTEMPT_TIMEOUT_SECS: u64 = 15;
/// Time for a call including retries and backoff.
const OPERATION_TIMEOUT_SECS: u64 = 60;
/// Attempts per call when the config file does not say (SDK standard mode:
/// exponential backoff with jitter, throttling errors retried).
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Loads the shared SDK configuration.
pub async fn sdk_config(settings: &AwsSettings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
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
