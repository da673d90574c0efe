//! `/etc/os-release` (os-release(5)): the platform name and version SSM reports.

use std::path::Path;

use super::Root;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `NAME`, e.g. "Debian GNU/Linux" or "Amazon Linux".
    pub name: String,
    /// `VERSION_ID`, e.g. "12" or "2023".
    pub version_id: String,
    /// `ID`, e.g. "debian".
    pub id: String,
}

/// Reads `/etc/os-release`, falling back to `/usr/lib/os-release` as the
/// specification says. Missing files give empty fields.
pub fn read(root: &Root) -> OsRelease {
    let text = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(root.join(Path::new(p))).ok())
        .unwrap_or_default();
    parse(&text)
}

pub fn parse(text: &str) -> OsRelease {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "NAME" => os.name = v,
            "VERSION_ID" => os.version_id = v,
            "ID" => os.id = v,
            _ => {}
        }
    }
    os
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_quoted_values() {
        let os = super::parse("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n");
        assert_eq!(os.name, "Debian GNU/Linux");
        assert_eq!(os.version_id, "12");
        assert_eq!(os.id, "debian");
    }
}
