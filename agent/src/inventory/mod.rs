//! Inventory: host facts and installed software, in the item shape of SSM's
//! `PutInventory` request, so the same JSON can be sent as is.
//!
//! Type names, schema versions and field names follow the "Metadata collected
//! by Inventory" page of the Systems Manager user guide. Every value is a
//! string, as the API requires.

mod applications;
mod host;

use std::collections::BTreeMap;

use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use md5::{Digest, Md5};
use serde::Serialize;

use crate::platform::Root;

pub use applications::applications;
pub use host::{instance_detailed_information, instance_information, network};

/// One row of an inventory type: field name to string value.
pub type Entry = BTreeMap<String, String>;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct InventoryItem {
    pub type_name: String,
    pub schema_version: String,
    pub capture_time: String,
    /// Base64 MD5 of the JSON content; SSM skips types whose hash is unchanged.
    pub content_hash: String,
    pub content: Vec<Entry>,
}

impl InventoryItem {
    pub fn new(type_name: &str, schema_version: &str, content: Vec<Entry>) -> Self {
        let json = serde_json::to_vec(&content).expect("string maps serialize");
        let hash = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&json));
        InventoryItem {
            type_name: type_name.into(),
            schema_version: schema_version.into(),
            capture_time: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            content_hash: hash,
            content,
        }
    }
}

/// The body of a `PutInventory` call.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Inventory {
    pub instance_id: String,
    pub items: Vec<InventoryItem>,
}

/// Collects every inventory type Rampart supports.
pub fn collect(root: &Root, instance_id: &str) -> Result<Inventory, String> {
    let items = vec![
        instance_information(root, instance_id),
        instance_detailed_information(),
        network(),
        applications(root)?,
    ];
    Ok(Inventory {
        instance_id: instance_id.into(),
        items,
    })
}
