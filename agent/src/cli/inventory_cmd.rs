//! `rampart inventory`.

use super::{exit, InventoryArgs};
use crate::inventory;
use crate::platform::{identity, Root};

pub fn run(args: InventoryArgs) -> u8 {
    let root = match Root::new(&args.root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rampart: error: --root {}: {e}", args.root.display());
            return exit::INVALID;
        }
    };
    let id = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(identity::resolve()),
        Err(e) => {
            eprintln!("rampart: error: failed to start the async runtime: {e}");
            return exit::RUNTIME_ERROR;
        }
    };
    match inventory::collect(&root, &id.instance_id) {
        Ok(inv) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&inv).expect("inventory serializes")
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("rampart: error: {e}");
            exit::RUNTIME_ERROR
        }
    }
}
