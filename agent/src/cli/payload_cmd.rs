//! `rampart run-payload FILE`: executes an SSM SendCommand message payload,
//! the JSON the service hands an agent (`DocumentContent`, `Parameters`,
//! `CommandId`, `DocumentName`, `OutputS3BucketName`, `OutputS3KeyPrefix`).
//! Results go to the payload's bucket under its prefix, in Run Command's key
//! layout. This is the entry point a native command channel will use.

use serde::Deserialize;
use serde_json::Value;

use super::run_cmd::{fail, load_settings, run_job, runtime, Job};
use super::PayloadArgs;
use crate::actions::Mode;
use crate::documents::{self, Format};
use crate::invocation::{self, InvocationError};
use crate::output::S3Destination;
use crate::platform::Root;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    document_content: Value,
    #[serde(default)]
    parameters: serde_json::Map<String, Value>,
    command_id: String,
    #[serde(default)]
    document_name: String,
    #[serde(default, rename = "OutputS3BucketName")]
    output_s3_bucket_name: String,
    #[serde(default, rename = "OutputS3KeyPrefix")]
    output_s3_key_prefix: String,
}

pub fn run(args: PayloadArgs, config: Option<&std::path::Path>) -> u8 {
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
        let text = std::fs::read_to_string(&args.payload).map_err(|e| {
            InvocationError::Invalid(format!(
                "cannot read payload {}: {e}",
                args.payload.display()
            ))
        })?;
        let payload: Payload = serde_json::from_str(&text).map_err(|e| {
            InvocationError::Invalid(format!(
                "payload {} is not a SendCommand payload: {e}",
                args.payload.display()
            ))
        })?;
        let name = if payload.document_name.is_empty() {
            "payload".to_string()
        } else {
            payload.document_name.clone()
        };
        let doc = match &payload.document_content {
            Value::String(s) => documents::parse(s, &name, Format::detect(None, s)),
            other => documents::parse(&other.to_string(), &name, Format::Json),
        }
        .map_err(|e| InvocationError::Invalid(e.to_string()))?;
        crate::output::outbox::check_id("payload CommandId", &payload.command_id)
            .map_err(InvocationError::Invalid)?;
        let destination = if payload.output_s3_bucket_name.is_empty() {
            settings.destination()
        } else {
            let mut d = S3Destination::parse(&format!(
                "s3://{}/{}",
                payload.output_s3_bucket_name, payload.output_s3_key_prefix
            ))
            .map_err(InvocationError::Invalid)?;
            d.kms_key_id = settings.output.kms_key_id.clone();
            Some(d)
        };
        Ok(Job {
            name,
            doc,
            raw: invocation::json_params(&payload.parameters),
            root: Root::new(&args.root).map_err(|e| {
                InvocationError::Invalid(format!("--root {}: {e}", args.root.display()))
            })?,
            mode: if args.check { Mode::Check } else { Mode::Apply },
            state_dir: args.state_dir.clone(),
            command_id: Some(payload.command_id.clone()),
            destination,
            json: args.json,
            output_limit: 10 * 1024 * 1024,
            allow_reboot: false,
        })
    })();
    match job {
        Ok(job) => run_job(job, &settings, &rt),
        Err(e) => fail(e),
    }
}
