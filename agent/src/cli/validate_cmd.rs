//! `rampart validate`: everything `check` verifies before running, without
//! running anything or asking Parameter Store.

use super::run_cmd::{fail, load_settings, runtime};
use super::{exit, ValidateArgs};
use crate::invocation;

pub fn run(args: ValidateArgs, config: Option<&std::path::Path>) -> u8 {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let checked = (|| {
        let doc = invocation::load_document(&args.doc.document, &settings, &rt)?;
        let raw = invocation::raw_params(&args.doc.params, args.doc.params_json.as_deref())?;
        let p = invocation::prepare(args.doc.document.clone(), doc, &raw)?;
        let refs = invocation::check_offline(&p)?;
        Ok((p, refs))
    })();
    match checked {
        Ok((p, refs)) => {
            println!(
                "{}: valid (schemaVersion {}, {} steps, {} parameters)",
                p.name,
                p.doc.schema_version,
                p.doc.steps.len(),
                p.doc.parameters.len()
            );
            if !refs.is_empty() {
                let names: Vec<String> = refs.plain.iter().chain(&refs.secure).cloned().collect();
                println!(
                    "  {} Parameter Store reference(s) not resolved by validate: {}",
                    names.len(),
                    names.join(", ")
                );
            }
            exit::OK
        }
        Err(e) => fail(e),
    }
}
