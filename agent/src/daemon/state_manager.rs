//! State Manager as a source of associations, through the public API:
//! `DescribeEffectiveInstanceAssociations` lists this instance's
//! associations with their document content, `DescribeAssociation` adds the
//! schedule, parameters and output location.

use std::collections::BTreeMap;

use aws_sdk_ssm::error::ProvideErrorMetadata;

use super::associations::Described;
use crate::cloud;
use crate::config::Settings;

pub async fn describe(settings: &Settings, instance_id: &str) -> Result<Vec<Described>, String> {
    let sdk = cloud::sdk_config(&settings.aws).await;
    let client = cloud::ssm_client(&sdk, &settings.aws);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .describe_effective_instance_associations()
            .instance_id(instance_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "DescribeEffectiveInstanceAssociations: {}",
                    e.message().unwrap_or(&e.to_string())
                )
            })?;
        for a in page.associations() {
            let Some(id) = a.association_id() else {
                continue;
            };
            let d = client
                .describe_association()
                .association_id(id)
                .instance_id(instance_id)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "DescribeAssociation {id}: {}",
                        e.message().unwrap_or(&e.to_string())
                    )
                })?;
            let Some(desc) = d.association_description() else {
                continue;
            };
            let parameters: BTreeMap<String, Vec<String>> = desc
                .parameters()
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let output = desc
                .output_location()
                .and_then(|o| o.s3_location())
                .and_then(|s3| {
                    let bucket = s3.output_s3_bucket_name()?;
                    Some(format!(
                        "s3://{bucket}/{}",
                        s3.output_s3_key_prefix().unwrap_or_default()
                    ))
                });
            out.push(Described {
                association_id: id.to_string(),
                name: desc.association_name().unwrap_or(id).to_string(),
                document_name: desc.name().unwrap_or("document").to_string(),
                content: a.content().unwrap_or_default().to_string(),
                parameters,
                schedule: desc
                    .schedule_expression()
                    .unwrap_or("rate(30 minutes)")
                    .to_string(),
                output,
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}
