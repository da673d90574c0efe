//! Parameter Store references: `{{ssm:name}}` and `{{ssm-secure:name}}`,
//! resolved before any step runs.
//!
//! Every distinct name is fetched once per run, in `GetParameters` calls of at
//! most ten names (the API's limit): plain references without decryption,
//! secure ones with it. A plain reference to a SecureString is refused, and
//! its ciphertext dropped unread; a secure reference to a plain parameter is
//! refused too. Names are reported, values never.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;
use thiserror::Error;
use tracing::debug;

use super::SecretString;

/// Names per `GetParameters` call, the API maximum.
pub const MAX_NAMES_PER_CALL: usize = 10;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The document is wrong: an unknown name or a reference of the wrong
    /// kind. Nothing ran.
    #[error("{0}")]
    Invalid(String),
    /// Parameter Store could not be asked (network, credentials, access
    /// denied, throttling after retries).
    #[error("failed to read Parameter Store: {0}")]
    Unavailable(String),
}

/// One value as the store returned it.
pub struct Fetched {
    pub requested: String,
    pub kind: ParameterType,
    pub value: SecretString,
}

/// Where values come from: SSM Parameter Store, or a stand-in.
pub trait ParameterSource {
    /// Fetches up to [`MAX_NAMES_PER_CALL`] names; returns what was found and
    /// the names the store does not know.
    fn fetch(
        &self,
        names: &[String],
        decrypt: bool,
    ) -> impl std::future::Future<Output = Result<(Vec<Fetched>, Vec<String>), StoreError>>;
}

/// Parameter Store through the AWS SDK.
pub struct SsmStore {
    client: aws_sdk_ssm::Client,
    calls: AtomicUsize,
}

impl SsmStore {
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        SsmStore {
            client,
            calls: AtomicUsize::new(0),
        }
    }

    /// `GetParameters` calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

impl ParameterSource for SsmStore {
    async fn fetch(
        &self,
        names: &[String],
        decrypt: bool,
    ) -> Result<(Vec<Fetched>, Vec<String>), StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .with_decryption(decrypt)
            .send()
            .await
            .map_err(|e| StoreError::Unavailable(describe_sdk_error(&e)))?;
        let invalid = out.invalid_parameters().to_vec();
        let mut found = Vec::new();
        for mut p in out.parameters.unwrap_or_default() {
            // Take the value out of the SDK's struct at once, into a type
            // that wipes itself.
            let value = SecretString::new(p.value.take().unwrap_or_default());
            // Real SSM echoes the selector (`:3`, `:prod`); some compatible
            // servers do not. Batches never hold two references to one
            // name (see `batches`), so the name alone finds the request.
            let base = p.name().unwrap_or_default();
            let requested = match p.selector() {
                Some(sel) if !sel.is_empty() => format!("{base}{sel}"),
                _ => names
                    .iter()
                    .find(|n| base_name(n) == base)
                    .cloned()
                    .unwrap_or_else(|| base.to_string()),
            };
            found.push(Fetched {
                requested,
                kind: p.r#type().cloned().unwrap_or(ParameterType::String),
                value,
            });
        }
        Ok((found, invalid))
    }
}

/// A readable cause from an SDK error, without request bodies.
fn describe_sdk_error<E, R>(e: &aws_sdk_ssm::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ssm::error::SdkError;
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("service error"),
                err.message().unwrap_or("no message")
            )
        }
        SdkError::DispatchFailure(d) => {
            let what = if d.is_timeout() {
                "timed out"
            } else if d.is_io() {
                "connection failed"
            } else {
                "request could not be sent"
            };
            let mut msg = what.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                msg = format!("{msg}: {s}");
                source = s.source();
            }
            if msg.contains("certificate") {
                msg.push_str(
                    " (the endpoint's TLS certificate is not trusted: add its CA to the \
                     system trust store, or name a CA bundle with SSL_CERT_FILE)",
                );
            }
            msg
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        other => {
            let mut msg = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                msg = format!("{msg}: {s}");
                source = s.source();
            }
            msg
        }
    }
}

/// The name without a `:version` or `:label` selector.
fn base_name(reference: &str) -> &str {
    reference.split(':').next().unwrap_or(reference)
}

/// Groups names into calls of at most [`MAX_NAMES_PER_CALL`], never putting
/// two selectors of the same parameter into one call, so each answer can be
/// matched to its request by name.
fn batches(names: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for name in names {
        let fits = out.iter_mut().find(|b| {
            b.len() < MAX_NAMES_PER_CALL && !b.iter().any(|n| base_name(n) == base_name(name))
        });
        match fits {
            Some(b) => b.push(name.clone()),
            None => out.push(vec![name.clone()]),
        }
    }
    out
}

/// The references of one run, by name (with any `:version` or `:label`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct References {
    pub plain: BTreeSet<String>,
    pub secure: BTreeSet<String>,
}

impl References {
    pub fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.secure.is_empty()
    }
}

/// Resolved values: plain ones typed for substitution (a StringList becomes
/// a list), secure ones only ever as [`SecretString`].
#[derive(Debug, Default)]
pub struct Resolved {
    pub plain: BTreeMap<String, Value>,
    pub secure: BTreeMap<String, SecretString>,
}

/// Fetches every reference, batched; fails on the first call that cannot be
/// made, and lists every invalid reference together.
pub async fn resolve(
    source: &impl ParameterSource,
    refs: &References,
) -> Result<Resolved, StoreError> {
    let mut resolved = Resolved::default();
    let mut problems = Vec::new();
    for (names, decrypt) in [(&refs.plain, false), (&refs.secure, true)] {
        for batch in batches(names) {
            let batch = batch.as_slice();
            let (found, invalid) = source.fetch(batch, decrypt).await?;
            debug!(
                names = batch.len(),
                decrypt,
                found = found.len(),
                "GetParameters"
            );
            for name in invalid {
                problems.push(format!("Parameter Store has no parameter '{name}'"));
            }
            for f in found {
                let is_secure = f.kind == ParameterType::SecureString;
                match (decrypt, is_secure) {
                    (false, true) => problems.push(format!(
                        "'{{{{ssm:{}}}}}' refers to a SecureString; SecureStrings are never pasted into scripts. \
                         Write it to a file with the rampart:secretFile action, or pass it to a step's \
                         environment as '{{{{ssm-secure:{}}}}}'",
                        f.requested, f.requested
                    )),
                    (true, false) => problems.push(format!(
                        "'{{{{ssm-secure:{}}}}}' refers to a {} parameter, not a SecureString; use '{{{{ssm:{}}}}}'",
                        f.requested,
                        f.kind.as_str(),
                        f.requested
                    )),
                    (true, true) => {
                        resolved.secure.insert(f.requested, f.value);
                    }
                    (false, false) => {
                        let v = if f.kind == ParameterType::StringList {
                            Value::Array(f.value.expose().split(',').map(|s| Value::String(s.to_string())).collect())
                        } else {
                            Value::String(f.value.expose().to_string())
                        };
                        resolved.plain.insert(f.requested, v);
                    }
                }
            }
        }
    }
    for name in refs.plain.iter().chain(&refs.secure) {
        let known = resolved.plain.contains_key(name) || resolved.secure.contains_key(name);
        let reported = problems
            .iter()
            .any(|p| p.contains(&format!("'{name}'")) || p.contains(&format!(":{name}}}")));
        if !known && !reported {
            problems.push(format!("Parameter Store returned nothing for '{name}'"));
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(StoreError::Invalid(problems.join("\n  - ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_hold_ten_names_and_one_selector_per_parameter() {
        let names: BTreeSet<String> = (0..25).map(|i| format!("/p{i:02}")).collect();
        let b = batches(&names);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);

        let names: BTreeSet<String> = ["/a", "/a:1", "/a:prod", "/b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let b = batches(&names);
        assert_eq!(b.len(), 3);
        for batch in &b {
            let mut bases: Vec<&str> = batch.iter().map(|n| base_name(n)).collect();
            bases.sort();
            bases.dedup();
            assert_eq!(bases.len(), batch.len(), "{batch:?}");
        }
    }
}
