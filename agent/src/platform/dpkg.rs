//! Reads dpkg's package database (`/var/lib/dpkg/status`) directly.
//!
//! Reading the file needs no process and works the same on a mounted image
//! root, where running dpkg-query would need the image's own binaries. The format is deb822 paragraphs,
//! documented in dpkg(1) and deb-control(5).

use std::path::Path;

use super::Root;

/// Where dpkg keeps its database, relative to the root.
pub const STATUS_PATH: &str = "/var/lib/dpkg/status";

/// One package paragraph, with the fields Rampart uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DpkgPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// The third word of `Status:` (installed, config-files, half-installed, ...).
    pub state: String,
    pub maintainer: String,
    pub section: String,
    pub homepage: String,
    /// First line of `Description:`.
    pub summary: String,
    pub source: String,
}

impl DpkgPackage {
    /// True when the package's files are on disk and configured. Packages that
    /// were removed but kept their conffiles (`config-files`) or are stuck
    /// half-way through an operation do not count.
    pub fn is_installed(&self) -> bool {
        matches!(
            self.state.as_str(),
            "installed" | "triggers-awaited" | "triggers-pending"
        )
    }
}

/// True when this root has a dpkg database.
pub fn present(root: &Root) -> bool {
    root.join(Path::new(STATUS_PATH)).is_file()
}

/// Reads every paragraph of the root's status file.
///
/// dpkg does not require UTF-8 (an old or locally built package may carry a
/// Latin-1 maintainer or description), so invalid bytes are replaced rather
/// than failing the whole inventory; names, versions and architectures are
/// ASCII by policy and come through unchanged.
pub fn read_status(root: &Root) -> std::io::Result<Vec<DpkgPackage>> {
    let bytes = std::fs::read(root.join(Path::new(STATUS_PATH)))?;
    Ok(parse_status(&String::from_utf8_lossy(&bytes)))
}

/// Parses a status file. Unknown fields and continuation lines of fields
/// Rampart does not use are skipped; a paragraph without `Package:` is dropped.
///
/// As in dpkg's own parser, only an empty line ends a paragraph (a line of
/// blanks is a continuation line) and field names are case-insensitive
/// (deb822(5)).
pub fn parse_status(text: &str) -> Vec<DpkgPackage> {
    let mut out = Vec::new();
    let mut cur = DpkgPackage::default();
    for line in text.lines() {
        if line.is_empty() {
            if !cur.name.is_empty() {
                out.push(std::mem::take(&mut cur));
            } else {
                cur = DpkgPackage::default();
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.to_ascii_lowercase().as_str() {
            "package" => cur.name = value.to_string(),
            "version" => cur.version = value.to_string(),
            "architecture" => cur.architecture = value.to_string(),
            "status" => cur.state = value.split_whitespace().nth(2).unwrap_or("").to_string(),
            "maintainer" => cur.maintainer = value.to_string(),
            "section" => cur.section = value.to_string(),
            "homepage" => cur.homepage = value.to_string(),
            "description" => cur.summary = value.to_string(),
            "source" => cur.source = value.to_string(),
            _ => {}
        }
    }
    if !cur.name.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paragraphs_and_states() {
        let text = "Package: a\nStatus: install ok installed\nVersion: 1:2.0-1\nArchitecture: amd64\nDescription: short\n long text\n .\n more\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 1.0\n";
        let pkgs = parse_status(text);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].name, "a");
        assert_eq!(pkgs[0].version, "1:2.0-1");
        assert_eq!(pkgs[0].summary, "short");
        assert!(pkgs[0].is_installed());
        assert_eq!(pkgs[1].state, "config-files");
        assert!(!pkgs[1].is_installed());
    }
}
