//! Package files given in a step's `sources`: which one satisfies what a
//! package step wants.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::{Package, Wanted};
use crate::platform::pkg_tool::{self, PackageFile};
use crate::platform::version::Scheme;
use crate::platform::{apt, rpm};

impl Package {
    /// The package file in `sources` that satisfies what is wanted: the
    /// newest one, or the exact version.
    /// `installed` lists the (architecture, version) instances installed.
    pub(super) fn pick_file(
        &self,
        scheme: Scheme,
        installed: &[(String, String)],
    ) -> Result<PackageFile, String> {
        // Without `name:arch`, only files of the installed architecture (or
        // the system's own) qualify: a newer file of another architecture
        // would crossgrade the package.
        let arches: Vec<String> = match &self.arch {
            Some(a) => vec![a.clone()],
            None => match installed {
                [] => native_architecture(scheme).into_iter().collect(),
                some => some.iter().map(|(a, _)| a.clone()).collect(),
            },
        };
        let mut found: Vec<PackageFile> = Vec::new();
        for source in &self.how.sources {
            for path in package_files(source, scheme)? {
                let deb = match scheme {
                    Scheme::Dpkg => apt::read_deb(&path).map_err(|e| e.to_string())?,
                    Scheme::Rpm => rpm::read_rpm(&path).map_err(|e| e.to_string())?,
                };
                let arch_ok = deb.any_architecture() || arches.contains(&deb.architecture);
                if deb.name == self.name && arch_ok {
                    found.push(deb);
                }
            }
        }
        let mut usable = Vec::new();
        for deb in found.iter() {
            let ok = match &self.wanted {
                Wanted::Exact(v) => super::exact_match(scheme, &deb.version, v)?,
                Wanted::AtLeast(m) => {
                    scheme.compare(&deb.version, m).map_err(|e| e.to_string())? != Ordering::Less
                }
                _ => true,
            };
            if ok {
                usable.push(deb.clone());
            }
        }
        let mut newest: Option<PackageFile> = None;
        for deb in usable {
            let newer = match &newest {
                None => true,
                Some(n) => {
                    scheme
                        .compare(&deb.version, &n.version)
                        .map_err(|e| e.to_string())?
                        == Ordering::Greater
                }
            };
            if newer {
                newest = Some(deb);
            }
        }
        newest.ok_or_else(|| {
            let offered: Vec<&str> = found.iter().map(|d| d.version.as_str()).collect();
            let want = match &self.wanted {
                Wanted::Exact(v) => format!("version {v}"),
                Wanted::AtLeast(m) => format!("version {m} or newer"),
                _ => "any version".into(),
            };
            if offered.is_empty() {
                format!("no package file for {} in sources", self.spec())
            } else {
                format!(
                    "sources offer {} only {}, not {want}",
                    self.spec(),
                    offered.join(", ")
                )
            }
        })
    }
}

/// Package files named by a source: the file itself, or the package files
/// of the root's kind (`.deb` or `.rpm`) directly in a directory.
pub(super) fn package_files(source: &Path, scheme: Scheme) -> Result<Vec<PathBuf>, String> {
    let extension = match scheme {
        Scheme::Dpkg => "deb",
        Scheme::Rpm => "rpm",
    };
    let meta = std::fs::metadata(source)
        .map_err(|e| format!("failed to read source {}: {e}", source.display()))?;
    if meta.is_file() {
        return Ok(vec![source.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(source)
        .map_err(|e| format!("failed to list source {}: {e}", source.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == extension) && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The package manager's own architecture (`dpkg --print-architecture`,
/// rpm's `%{_arch}`); `None` when the tool cannot tell.
fn native_architecture(scheme: Scheme) -> Option<String> {
    let mut cmd = match scheme {
        Scheme::Dpkg => {
            let mut c = pkg_tool::command("dpkg");
            c.arg("--print-architecture");
            c
        }
        Scheme::Rpm => {
            let mut c = pkg_tool::command("rpm");
            c.args(["--eval", "%{_arch}"]);
            c
        }
    };
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let arch = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!arch.is_empty()).then_some(arch)
}
