//! `rampart inventory`: host facts and packages as PutInventory JSON, and
//! optionally the same snapshot uploaded through the spool.

use super::run_cmd::{load_settings, runtime, warn_kept};
use super::{exit, state, InventoryArgs};
use crate::inventory;
use crate::invocation;
use crate::output::{KeyBase, Outbox, S3Destination};
use crate::platform::{identity, Root};

/// File name of the snapshot under `inventory/<instanceId>/`.
pub const INVENTORY_FILE: &str = "inventory.json";

pub fn run(args: InventoryArgs, config: Option<&std::path::Path>) -> u8 {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let root = match Root::new(&args.root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rampart: error: --root {}: {e}", args.root.display());
            return exit::INVALID;
        }
    };
    let destination = match &args.output {
        Some(uri) => match S3Destination::parse(uri) {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("rampart: error: --output: {e}");
                return exit::INVALID;
            }
        },
        None => None,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let id = rt.block_on(identity::resolve());
    let inv = match inventory::collect(&root, &id.instance_id) {
        Ok(inv) => inv,
        Err(e) => {
            eprintln!("rampart: error: {e}");
            return exit::RUNTIME_ERROR;
        }
    };
    let json = serde_json::to_string_pretty(&inv).expect("inventory serializes");
    println!("{json}");
    let Some(dest) = destination else {
        return exit::OK;
    };

    let spooled = (|| -> anyhow::Result<Outbox> {
        let dir = state::state_dir(args.state_dir.clone())?;
        let outbox = Outbox::open(&dir, settings.spool)?;
        let run = outbox.begin(
            "inventory",
            KeyBase::inventory(&id.instance_id)?,
            Some(&dest),
        )?;
        run.finish_with(INVENTORY_FILE, json.as_bytes())?;
        Ok(outbox)
    })();
    match spooled {
        Ok(outbox) => {
            warn_kept(&invocation::upload(&settings, &rt, &outbox), &outbox);
            exit::OK
        }
        Err(e) => {
            eprintln!("rampart: error: cannot spool the inventory: {e}");
            exit::RUNTIME_ERROR
        }
    }
}
