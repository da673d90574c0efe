//! Who this instance is: its instance id and region.
//!
//! On EC2 the answer comes from IMDSv2 through the SDK's IMDS client, with a
//! short timeout so a blocked metadata service costs a second, not a minute.
//! IMDS is only asked when the hardware says this is EC2 (DMI vendor or the Xen
//! hypervisor uuid, the same test cloud-init uses), so hosts elsewhere send no
//! packets to the link-local metadata address. Off EC2 the id is derived from
//! `/etc/machine-id`, stable across reboots and unique per installed system.

use std::fs;
use std::time::Duration;

use tracing::{debug, warn};

/// Connect and read timeout for each IMDS call.
const IMDS_TIMEOUT_SECS: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub instance_id: String,
    /// Empty when unknown (not on EC2 and no region configured).
    pub region: String,
    /// Where the id came from, for `rampart` output and logs.
    pub source: &'static str,
}

/// Resolves the identity: an explicit override, then IMDS on EC2, then the
/// local machine id.
pub async fn resolve() -> Identity {
    let env_region = std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_default();
    for var in ["RAMPART_INSTANCE_ID", "AWS_SSM_INSTANCE_ID"] {
        if let Ok(id) = std::env::var(var) {
            if !id.trim().is_empty() {
                let region = std::env::var("AWS_SSM_REGION_NAME").unwrap_or(env_region.clone());
                return Identity {
                    instance_id: id.trim().to_string(),
                    region,
                    source: "environment",
                };
            }
        }
    }
    if looks_like_ec2() && !imds_disabled() {
        match from_imds().await {
            Ok(identity) => return identity,
            Err(e) => {
                warn!(error = %e, "instance metadata unavailable; using the local machine id")
            }
        }
    } else {
        debug!("not on EC2 (or IMDS disabled); using the local machine id");
    }
    Identity {
        instance_id: local_id(),
        region: env_region,
        source: "machine-id",
    }
}

fn imds_disabled() -> bool {
    std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// True on EC2 hardware: Nitro instances report the DMI vendor, Xen ones a
/// hypervisor uuid starting with "ec2".
pub fn looks_like_ec2() -> bool {
    let dmi = [
        "/sys/devices/virtual/dmi/id/sys_vendor",
        "/sys/devices/virtual/dmi/id/board_vendor",
    ];
    let vendor = dmi
        .iter()
        .any(|p| fs::read_to_string(p).is_ok_and(|v| v.trim() == "Amazon EC2"));
    let xen = fs::read_to_string("/sys/hypervisor/uuid")
        .is_ok_and(|u| u.to_ascii_lowercase().starts_with("ec2"));
    vendor || xen
}

async fn from_imds() -> Result<Identity, aws_config::imds::client::error::ImdsError> {
    let provider = aws_config::provider_config::ProviderConfig::default()
        .with_http_client(crate::cloud::https_client());
    let client = aws_config::imds::Client::builder()
        .configure(&provider)
        .connect_timeout(Duration::from_secs(IMDS_TIMEOUT_SECS))
        .read_timeout(Duration::from_secs(IMDS_TIMEOUT_SECS))
        .max_attempts(1)
        .build();
    let id: String = client.get("/latest/meta-data/instance-id").await?.into();
    let region: String = client
        .get("/latest/meta-data/placement/region")
        .await?
        .into();
    Ok(Identity {
        instance_id: id,
        region,
        source: "imds",
    })
}

/// `local-` and the first 16 hex digits of the machine id, or of the host
/// name when there is no machine id (a bare container).
pub fn local_id() -> String {
    let seed = fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| s.len() >= 16)
        .unwrap_or_else(|| {
            let host = nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "unknown".into());
            host.bytes().map(|b| format!("{b:02x}")).collect::<String>() + "0000000000000000"
        });
    format!("local-{}", &seed[..16])
}
