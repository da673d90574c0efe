//! Enforcing packages on rpm roots: `rpm` for package files from
//! `sources`, or the host's frontend (dnf, yum, zypper) for repositories.

use std::cmp::Ordering;

use super::{Package, Wanted};
use crate::platform::rpm::{Frontend, RpmTarget};
use crate::platform::version::Scheme;

/// The tool that changes an rpm root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RpmTool {
    Rpm,
    Frontend(Frontend),
}

impl Package {
    /// Picks rpm or a frontend for an rpm root, refusing dpkg's managers.
    /// With `auto`, package files go in with rpm, and so does a removal on
    /// a host without a frontend (removing needs no repository).
    fn rpm_tool(&self) -> Result<RpmTool, String> {
        let removing = matches!(self.wanted, Wanted::Absent { .. });
        let frontend = match self.how.manager.as_str() {
            "rpm" => return Ok(RpmTool::Rpm),
            "dnf" => Frontend::Dnf,
            "yum" => Frontend::Yum,
            "zypper" => Frontend::Zypper,
            "auto" if !self.how.sources.is_empty() => return Ok(RpmTool::Rpm),
            "auto" if removing => {
                return Ok(Frontend::detect().map_or(RpmTool::Rpm, RpmTool::Frontend))
            }
            "auto" => Frontend::detect().ok_or_else(|| {
                format!(
                    "no rpm frontend (dnf, yum, zypper) on this host to fetch {}: list \
                     package files in 'sources', or install one",
                    self.spec()
                )
            })?,
            other => {
                return Err(format!(
                    "manager '{other}' does not manage this root: it has an rpm database \
                     (use manager 'rpm', 'dnf', 'yum', 'zypper' or 'auto')"
                ))
            }
        };
        Ok(RpmTool::Frontend(frontend))
    }

    /// rpm names a package's architecture as `name.arch`.
    fn rpm_spec(&self) -> String {
        match &self.arch {
            Some(a) => format!("{}.{a}", self.name),
            None => self.name.clone(),
        }
    }

    /// Installs, upgrades or downgrades on an rpm root. `instances` are the
    /// installed (architecture, version) pairs.
    pub(super) fn install_rpm(
        &self,
        target: &RpmTarget,
        instances: &[(String, String)],
    ) -> Result<String, String> {
        let tool = self.rpm_tool()?;
        let installed = instances.first().map(|(_, v)| v.as_str());
        let newer_installed = |want: &str| {
            installed
                .is_some_and(|have| Scheme::Rpm.compare(have, want).ok() == Some(Ordering::Greater))
        };
        if !self.how.sources.is_empty() {
            let file = self.pick_file(Scheme::Rpm, instances)?;
            let downgrade = newer_installed(&file.version);
            let path = file.path.display().to_string();
            let done = match tool {
                RpmTool::Rpm => target.install_files(std::slice::from_ref(&file.path), downgrade),
                RpmTool::Frontend(f) => {
                    let verb = if downgrade { "downgrade" } else { "install" };
                    target.frontend(f, verb, std::slice::from_ref(&path))
                }
            };
            done.map_err(|e| e.to_string())?;
            let verb = match tool {
                RpmTool::Rpm if downgrade => "rpm -U --oldpackage".to_string(),
                RpmTool::Rpm => "rpm -U".to_string(),
                RpmTool::Frontend(f) => format!("{} install", f.tool()),
            };
            return Ok(format!("{verb} {path} ({})", file.version));
        }
        let RpmTool::Frontend(f) = tool else {
            return Err(format!(
                "rpm cannot fetch {}: list package files in 'sources', or use manager \
                 'dnf', 'yum' or 'zypper'",
                self.spec()
            ));
        };
        let (verb, spec) = match (&self.wanted, installed) {
            (Wanted::Exact(v), _) if newer_installed(v) => ("downgrade", self.versioned(f, v)),
            (Wanted::Exact(v), Some(_)) => ("upgrade", self.versioned(f, v)),
            (Wanted::Exact(v), None) => ("install", self.versioned(f, v)),
            (_, Some(_)) => ("upgrade", self.rpm_spec()),
            (_, None) => ("install", self.rpm_spec()),
        };
        target
            .frontend(f, verb, std::slice::from_ref(&spec))
            .map_err(|e| e.to_string())?;
        Ok(format!("{} {} {spec}", f.tool(), f.verb(verb).join(" ")))
    }

    /// A package at an exact version in the frontend's syntax.
    fn versioned(&self, f: Frontend, version: &str) -> String {
        match f {
            Frontend::Zypper => format!("{}={version}", self.rpm_spec()),
            Frontend::Dnf | Frontend::Yum => match &self.arch {
                Some(a) => format!("{}-{version}.{a}", self.name),
                None => format!("{}-{version}", self.name),
            },
        }
    }

    pub(super) fn remove_rpm(&self, target: &RpmTarget) -> Result<String, String> {
        let names = [self.rpm_spec()];
        let (done, verb) = match self.rpm_tool()? {
            RpmTool::Rpm => (target.erase(&names), "rpm -e".to_string()),
            RpmTool::Frontend(f) => (
                target.frontend(f, "remove", &names),
                format!("{} remove", f.tool()),
            ),
        };
        done.map_err(|e| e.to_string())?;
        Ok(format!("{verb} {}", names[0]))
    }
}
