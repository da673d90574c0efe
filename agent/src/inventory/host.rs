//! Host facts: `AWS:InstanceInformation`, `AWS:InstanceDetailedInformation`
//! and `AWS:Network`, read through sysinfo. These describe the running
//! machine even when `--root` points at an image; only the platform name and
//! version come from the root's os-release.

use sysinfo::{Networks, System};

use super::{Entry, InventoryItem};
use crate::platform::{os_release, Root};

pub fn instance_information(root: &Root, instance_id: &str) -> InventoryItem {
    let os = os_release::read(root);
    let mut e = Entry::new();
    e.insert("AgentType".into(), "rampart".into());
    e.insert("AgentVersion".into(), env!("CARGO_PKG_VERSION").into());
    e.insert(
        "ComputerName".into(),
        System::host_name().unwrap_or_default(),
    );
    e.insert("InstanceId".into(), instance_id.into());
    e.insert("PlatformName".into(), os.name);
    e.insert("PlatformType".into(), "Linux".into());
    e.insert("PlatformVersion".into(), os.version_id);
    e.insert("ResourceType".into(), "EC2Instance".into());
    InventoryItem::new("AWS:InstanceInformation", "1.0", vec![e])
}

pub fn instance_detailed_information() -> InventoryItem {
    let mut sys = System::new();
    sys.refresh_cpu_all();
    let cpus = sys.cpus();
    let mut e = Entry::new();
    e.insert(
        "CPUModel".into(),
        cpus.first()
            .map(|c| c.brand().to_string())
            .unwrap_or_default(),
    );
    e.insert("CPUs".into(), cpus.len().to_string());
    e.insert(
        "CPUCores".into(),
        System::physical_core_count()
            .map(|n| n.to_string())
            .unwrap_or_default(),
    );
    e.insert(
        "CPUSpeedMHz".into(),
        cpus.first()
            .map(|c| c.frequency().to_string())
            .unwrap_or_default(),
    );
    e.insert(
        "KernelVersion".into(),
        System::kernel_version().unwrap_or_default(),
    );
    e.insert("OSServicePack".into(), String::new());
    InventoryItem::new("AWS:InstanceDetailedInformation", "1.0", vec![e])
}

pub fn network() -> InventoryItem {
    let networks = Networks::new_with_refreshed_list();
    let mut content = Vec::new();
    let mut names: Vec<&String> = networks.keys().collect();
    names.sort();
    for name in names {
        let data = &networks[name];
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for ip in data.ip_networks() {
            if ip.addr.is_ipv4() {
                v4.push(ip.addr.to_string());
            } else {
                v6.push(ip.addr.to_string());
            }
        }
        let mut e = Entry::new();
        e.insert("Name".into(), name.clone());
        e.insert("MacAddress".into(), data.mac_address().to_string());
        e.insert("IPV4".into(), v4.join(","));
        e.insert("IPV6".into(), v6.join(","));
        content.push(e);
    }
    InventoryItem::new("AWS:Network", "1.0", content)
}
