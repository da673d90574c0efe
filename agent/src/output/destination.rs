//! Where results go in S3, and how keys are formed.
//!
//! Keys are joined, not concatenated, as the reference agent does: empty
//! components (a missing prefix, doubled or trailing slashes) disappear, so
//! `s3://b/` and `s3://b` give the same keys.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Destination {
    pub bucket: String,
    /// Key prefix without leading or trailing slashes; may be empty.
    #[serde(default)]
    pub prefix: String,
    /// A KMS key for SSE-KMS; when absent the bucket's default encryption is
    /// copied onto each upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

impl S3Destination {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(uri: &str) -> Result<Self, String> {
        let rest = uri
            .strip_prefix("s3://")
            .ok_or_else(|| format!("output '{uri}' must look like s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !valid_bucket(bucket) {
            return Err(format!(
                "'{bucket}' is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' and '-')"
            ));
        }
        Ok(S3Destination {
            bucket: bucket.to_string(),
            prefix: join(&[prefix]),
            kms_key_id: None,
        })
    }

    /// The full key of a file whose key relative to the prefix is `rel`.
    pub fn key(&self, rel: &str) -> String {
        join(&[&self.prefix, rel])
    }
}

impl std::fmt::Display for S3Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// Joins key parts with `/`, dropping empty components.
pub fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .flat_map(|p| p.split('/'))
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_components_disappear() {
        let d = S3Destination::parse("s3://my-bucket//runs/").unwrap();
        assert_eq!(d.prefix, "runs");
        assert_eq!(
            d.key("cmd/i-1/awsrunShellScript/s/stdout"),
            "runs/cmd/i-1/awsrunShellScript/s/stdout"
        );
        let bare = S3Destination::parse("s3://my-bucket").unwrap();
        assert_eq!(bare.key("/cmd//x"), "cmd/x");
        assert_eq!(bare.to_string(), "s3://my-bucket");
    }

    #[test]
    fn bad_uris_are_explained() {
        assert!(S3Destination::parse("https://b/p")
            .unwrap_err()
            .contains("s3://bucket/prefix"));
        assert!(S3Destination::parse("s3://Bad_Bucket/p")
            .unwrap_err()
            .contains("not a valid S3 bucket"));
    }
}
