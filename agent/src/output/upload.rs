//! Ships spooled items to S3.
//!
//! Streams are `text/plain`, records `application/json`, every object gets
//! the `bucket-owner-full-control` ACL (the bucket owner can read results an
//! instance role wrote), and server-side encryption follows a configured KMS
//! key or else the bucket's default encryption (read once per bucket), as the
//! reference agent does. Files over [`MULTIPART_THRESHOLD_BYTES`] go up in
//! parts read straight from disk, so memory stays bounded whatever the size.
//! Each confirmed key is recorded before the next is sent; an item leaves the
//! spool only when every file is confirmed, so a crash re-sends at most the
//! object in flight, with the same content.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, ServerSideEncryption,
};
use thiserror::Error;
use tracing::{debug, info, warn};

use super::destination::S3Destination;
use super::outbox::{Item, ItemFile, Outbox};
use crate::platform::failpoint;

/// Files larger than this are sent with a multipart upload.
pub const MULTIPART_THRESHOLD_BYTES: u64 = 16 * 1024 * 1024;
/// Part size of multipart uploads (S3's minimum is 5 MiB).
pub const PART_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum UploadError {
    #[error("failed to upload s3://{bucket}/{key}: {cause}")]
    Object {
        bucket: String,
        key: String,
        cause: String,
    },
    #[error("cannot read spooled file {path}: {source}")]
    Spool {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Server-side encryption to request on each object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sse {
    Aes256,
    Kms(Option<String>),
}

/// Totals of one drain.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    pub items_delivered: usize,
    pub files_delivered: usize,
    pub bytes: u64,
    /// Items with a destination still in the spool, with the first error.
    pub items_kept: usize,
    pub error: Option<String>,
}

pub struct Uploader {
    client: aws_sdk_s3::Client,
    encryption: Mutex<HashMap<String, Option<Sse>>>,
}

fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> String {
    match e.as_service_error() {
        Some(s) => match s.code() {
            Some("NoSuchBucket") => "the bucket does not exist".into(),
            Some("AccessDenied") => {
                format!("access denied ({})", s.message().unwrap_or("no message"))
            }
            Some(code) => format!("{code}: {}", s.message().unwrap_or("no message")),
            None => s.to_string(),
        },
        None => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                msg = format!("{msg}: {s}");
                src = s.source();
            }
            msg
        }
    }
}

impl Uploader {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Uploader {
            client,
            encryption: Mutex::new(HashMap::new()),
        }
    }

    /// Sends every spooled item that has a destination, oldest first. Stops
    /// at the first item that fails (S3 is down or refuses), leaving it and
    /// the rest for the next drain.
    pub async fn drain(&self, outbox: &Outbox) -> DrainReport {
        let mut report = DrainReport::default();
        let items = match outbox.items() {
            Ok(i) => i,
            Err(e) => {
                report.error = Some(format!("cannot list the outbox: {e}"));
                return report;
            }
        };
        let mut pending: Vec<(Item, S3Destination)> = Vec::new();
        for item in items {
            match item.destination() {
                Ok(Some(d)) => pending.push((item, d)),
                Ok(None) => {}
                Err(e) => {
                    warn!(item = %item.dir.display(), error = %e, "unreadable destination; item kept")
                }
            }
        }
        let total = pending.len();
        for (n, (item, dest)) in pending.iter().enumerate() {
            match self.upload_item(item, dest).await {
                Ok((files, bytes)) => {
                    if let Err(e) = item.remove() {
                        warn!(item = %item.dir.display(), error = %e, "delivered item could not be removed");
                    }
                    report.items_delivered += 1;
                    report.files_delivered += files;
                    report.bytes += bytes;
                }
                Err(e) => {
                    report.items_kept = total - n;
                    report.error = Some(e.to_string());
                    break;
                }
            }
        }
        report
    }

    /// Uploads every file of one item not yet confirmed. Returns files and
    /// bytes sent.
    pub async fn upload_item(
        &self,
        item: &Item,
        dest: &S3Destination,
    ) -> Result<(usize, u64), UploadError> {
        let started = Instant::now();
        let files = item.files().map_err(|source| UploadError::Spool {
            path: item.dir.display().to_string(),
            source,
        })?;
        let done = item.uploaded();
        let sse = self.encryption_for(dest).await;
        let (mut count, mut bytes) = (0, 0);
        for f in files
            .iter()
            .filter(|f| f.size > 0 && !done.contains(&f.rel_key))
        {
            let key = dest.key(&f.rel_key);
            if f.size > MULTIPART_THRESHOLD_BYTES {
                self.put_multipart(dest, &key, f, sse.as_ref()).await?;
            } else {
                self.put(dest, &key, f, sse.as_ref()).await?;
            }
            item.mark_uploaded(&f.rel_key)
                .map_err(|source| UploadError::Spool {
                    path: item.dir.display().to_string(),
                    source,
                })?;
            failpoint::hit("upload-after-object");
            count += 1;
            bytes += f.size;
        }
        info!(
            event = "results_uploaded",
            item = %item.name(),
            destination = %dest,
            files = count,
            bytes,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "uploaded results"
        );
        Ok((count, bytes))
    }

    /// A configured KMS key wins; otherwise the bucket's default encryption,
    /// looked up once per bucket. A bucket without one, or one whose
    /// encryption we may not read, gets no explicit header.
    async fn encryption_for(&self, dest: &S3Destination) -> Option<Sse> {
        if let Some(key) = &dest.kms_key_id {
            return Some(Sse::Kms(Some(key.clone())));
        }
        if let Some(cached) = self
            .encryption
            .lock()
            .expect("not poisoned")
            .get(&dest.bucket)
        {
            return cached.clone();
        }
        let found = match self
            .client
            .get_bucket_encryption()
            .bucket(&dest.bucket)
            .send()
            .await
        {
            Ok(out) => out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .and_then(|d| match d.sse_algorithm() {
                    ServerSideEncryption::Aes256 => Some(Sse::Aes256),
                    ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse => {
                        Some(Sse::Kms(d.kms_master_key_id().map(str::to_string)))
                    }
                    _ => None,
                }),
            Err(e) => {
                debug!(bucket = %dest.bucket, error = %describe(&e), "no readable default encryption");
                None
            }
        };
        self.encryption
            .lock()
            .expect("not poisoned")
            .insert(dest.bucket.clone(), found.clone());
        found
    }

    async fn body(f: &ItemFile, offset: u64, len: u64) -> Result<ByteStream, UploadError> {
        ByteStream::read_from()
            .path(&f.path)
            .offset(offset)
            .length(Length::Exact(len))
            .build()
            .await
            .map_err(|e| UploadError::Spool {
                path: f.path.display().to_string(),
                source: std::io::Error::other(e),
            })
    }

    async fn put(
        &self,
        dest: &S3Destination,
        key: &str,
        f: &ItemFile,
        sse: Option<&Sse>,
    ) -> Result<(), UploadError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&dest.bucket)
            .key(key)
            .content_type(content_type(&f.rel_key))
            .acl(ObjectCannedAcl::BucketOwnerFullControl)
            .body(Self::body(f, 0, f.size).await?);
        match sse {
            Some(Sse::Aes256) => req = req.server_side_encryption(ServerSideEncryption::Aes256),
            Some(Sse::Kms(id)) => {
                req = req
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .set_ssekms_key_id(id.clone())
            }
            None => {}
        }
        req.send().await.map_err(|e| UploadError::Object {
            bucket: dest.bucket.clone(),
            key: key.to_string(),
            cause: describe(&e),
        })?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        dest: &S3Destination,
        key: &str,
        f: &ItemFile,
        sse: Option<&Sse>,
    ) -> Result<(), UploadError> {
        let fail = |cause: String| UploadError::Object {
            bucket: dest.bucket.clone(),
            key: key.to_string(),
            cause,
        };
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&dest.bucket)
            .key(key)
            .content_type(content_type(&f.rel_key))
            .acl(ObjectCannedAcl::BucketOwnerFullControl);
        match sse {
            Some(Sse::Aes256) => {
                create = create.server_side_encryption(ServerSideEncryption::Aes256)
            }
            Some(Sse::Kms(id)) => {
                create = create
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .set_ssekms_key_id(id.clone())
            }
            None => {}
        }
        let upload = create.send().await.map_err(|e| fail(describe(&e)))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_string();

        let result = async {
            let mut parts = Vec::new();
            let mut offset = 0;
            let mut number = 1;
            while offset < f.size {
                let len = PART_BYTES.min(f.size - offset);
                let out = self
                    .client
                    .upload_part()
                    .bucket(&dest.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(Self::body(f, offset, len).await?)
                    .send()
                    .await
                    .map_err(|e| fail(describe(&e)))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .build(),
                );
                offset += len;
                number += 1;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&dest.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| fail(describe(&e)))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            // Parts of an abandoned upload cost storage until aborted.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&dest.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }
}

/// SSM uploads streams as text; Rampart's own records are JSON.
pub fn content_type(rel_key: &str) -> &'static str {
    if rel_key.ends_with(".json") {
        "application/json"
    } else {
        "text/plain"
    }
}
