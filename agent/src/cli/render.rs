//! The terminal table: one row per resource, then a one-line summary.

use std::io::IsTerminal;

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};

use crate::output::{Compliance, RunRecord};

pub fn table(record: &RunRecord) {
    let tty = std::io::stdout().is_terminal();
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["Type", "Resource", "Compliance", "Detail"]);
    if !tty {
        t.force_no_tty();
    }
    for r in &record.resources {
        let color = match r.compliance {
            Compliance::Compliant => Color::Green,
            Compliance::NonCompliant => Color::Yellow,
            Compliance::Failed => Color::Red,
            Compliance::Skipped => Color::DarkGrey,
        };
        let detail = if r.changed {
            format!("changed: {}", r.detail)
        } else {
            r.detail.clone()
        };
        t.add_row(vec![
            Cell::new(&r.kind),
            Cell::new(&r.id),
            Cell::new(r.compliance.as_str()).fg(color),
            Cell::new(detail),
        ]);
    }
    println!(
        "{} ({} mode, root {})",
        record.document, record.mode, record.root
    );
    println!("{t}");
    let s = &record.summary;
    println!(
        "status {}: {} compliant, {} non-compliant, {} failed, {} skipped, {} changed in {} ms",
        record.status.as_str(),
        s.compliant,
        s.non_compliant,
        s.failed,
        s.skipped,
        s.changed,
        record.duration_ms
    );
}
