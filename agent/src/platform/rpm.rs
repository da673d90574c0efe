//! Reads the RPM database through the real `rpm` tool.
//!
//! Unlike dpkg's text database, rpm's (sqlite or Berkeley DB, depending on the
//! distribution release) has no stable on-disk format to read directly, so the
//! query goes through `rpm --root`.

use std::process::Command;

use super::Root;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    pub epoch: String,
    pub version: String,
    pub release: String,
    pub architecture: String,
    pub vendor: String,
    pub url: String,
    pub summary: String,
    pub install_time: String,
}

impl RpmPackage {
    /// `[epoch:]version-release`, the form rpm compares.
    pub fn evr(&self) -> String {
        if self.epoch.is_empty() {
            format!("{}-{}", self.version, self.release)
        } else {
            format!("{}:{}-{}", self.epoch, self.version, self.release)
        }
    }
}

const FIELD_SEP: char = '\u{1f}';
const QUERY_FORMAT: &str = "%{NAME}\x1f%|EPOCH?{%{EPOCH}}:{}|\x1f%{VERSION}\x1f%{RELEASE}\x1f%{ARCH}\x1f%|VENDOR?{%{VENDOR}}:{}|\x1f%|URL?{%{URL}}:{}|\x1f%{SUMMARY}\x1f%{INSTALLTIME}\n";

/// True when this root looks like an RPM system and the `rpm` tool exists.
pub fn present(root: &Root) -> bool {
    let db = ["/var/lib/rpm", "/usr/lib/sysimage/rpm"];
    db.iter()
        .any(|d| root.join(std::path::Path::new(d)).is_dir())
        && which_rpm()
}

fn which_rpm() -> bool {
    Command::new("rpm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Lists installed packages with `rpm --root ROOT -qa`.
pub fn list_installed(root: &Root) -> std::io::Result<Vec<RpmPackage>> {
    let out = Command::new("rpm")
        .arg("--root")
        .arg(root.dir())
        .args(["-qa", "--qf", QUERY_FORMAT])
        .output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "rpm -qa failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(parse_query(&String::from_utf8_lossy(&out.stdout)))
}

fn parse_query(text: &str) -> Vec<RpmPackage> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(FIELD_SEP).collect();
            (f.len() == 9 && f[0] != "gpg-pubkey").then(|| RpmPackage {
                name: f[0].into(),
                epoch: f[1].into(),
                version: f[2].into(),
                release: f[3].into(),
                architecture: f[4].into(),
                vendor: f[5].into(),
                url: f[6].into(),
                summary: f[7].into(),
                install_time: f[8].into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_lines_and_skips_gpg_keys() {
        let text = "bash\x1f\x1f5.2\x1f1.el9\x1fx86_64\x1fRed Hat\x1fhttps://x\x1fThe shell\x1f1700000000\n\
                    gpg-pubkey\x1f\x1f1\x1f2\x1f(none)\x1f\x1f\x1fkey\x1f1\n\
                    openssl\x1f1\x1f3.0\x1f2\x1fx86_64\x1f\x1f\x1fTLS\x1f1700000001\n";
        let pkgs = parse_query(text);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].evr(), "5.2-1.el9");
        assert_eq!(pkgs[1].evr(), "1:3.0-2");
    }
}
