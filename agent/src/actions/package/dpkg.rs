//! Enforcing packages on dpkg roots: `apt-get` (repositories, dependencies)
//! or `dpkg` alone (package files from `sources`).

use std::cmp::Ordering;
use std::path::Path;

use super::{Package, Wanted};
use crate::actions::StepContext;
use crate::platform::apt::AptTarget;
use crate::platform::pkg_tool;
use crate::platform::version::Scheme;
use crate::platform::Root;

/// The tool that changes a dpkg root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DpkgTool {
    Apt,
    Dpkg,
}

impl Package {
    /// Picks apt or dpkg for a dpkg root, refusing managers of other systems.
    fn dpkg_tool(&self, root: &Root) -> Result<DpkgTool, String> {
        match self.how.manager.as_str() {
            "apt" => Ok(DpkgTool::Apt),
            "dpkg" => Ok(DpkgTool::Dpkg),
            "auto" if root.join(Path::new("/etc/apt")).is_dir() && pkg_tool::runs("apt-get") => {
                Ok(DpkgTool::Apt)
            }
            "auto" => Ok(DpkgTool::Dpkg),
            other => Err(format!(
                "manager '{other}' does not manage this root: it has a dpkg database \
                 (use manager 'apt', 'dpkg' or 'auto')"
            )),
        }
    }

    /// Installs or upgrades on a dpkg root.
    pub(super) fn install_dpkg(
        &self,
        ctx: &StepContext,
        target: &AptTarget,
        scheme: Scheme,
        instances: &[(String, String)],
    ) -> Result<String, String> {
        let tool = self.dpkg_tool(ctx.root)?;
        if !self.how.sources.is_empty() {
            let deb = self.pick_file(scheme, instances)?;
            let done = match tool {
                DpkgTool::Apt => target.install(&[deb.path.display().to_string()]),
                DpkgTool::Dpkg => target.dpkg_install(std::slice::from_ref(&deb.path)),
            };
            done.map_err(|e| e.to_string())?;
            let verb = if tool == DpkgTool::Apt {
                "apt-get install"
            } else {
                "dpkg --install"
            };
            return Ok(format!("{verb} {} ({})", deb.path.display(), deb.version));
        }
        if tool == DpkgTool::Dpkg {
            return Err(format!(
                "dpkg cannot fetch {}: list package files in 'sources', or use manager 'apt'",
                self.spec()
            ));
        }

        // Ask apt what it would install before installing anything, so a
        // repository that cannot satisfy the step changes nothing.
        target.update().map_err(|e| e.to_string())?;
        let candidate = target
            .candidate(&self.spec())
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no configured repository offers {}", self.spec()))?;
        let spec = match &self.wanted {
            Wanted::Exact(v) => format!("{}={v}", self.spec()),
            Wanted::AtLeast(m) => {
                if scheme.compare(&candidate, m).map_err(|e| e.to_string())? == Ordering::Less {
                    return Err(format!(
                        "the newest {} in the configured repositories is {candidate}, \
                         older than minimumVersion {m}",
                        self.spec()
                    ));
                }
                self.spec()
            }
            _ => self.spec(),
        };
        target
            .install(std::slice::from_ref(&spec))
            .map_err(|e| e.to_string())?;
        Ok(format!("apt-get install {spec}"))
    }

    pub(super) fn remove_dpkg(
        &self,
        ctx: &StepContext,
        target: &AptTarget,
        purge: bool,
    ) -> Result<String, String> {
        let names = [self.spec()];
        let (done, verb) = match self.dpkg_tool(ctx.root)? {
            DpkgTool::Apt => (
                target.remove(&names, purge),
                if purge {
                    "apt-get purge"
                } else {
                    "apt-get remove"
                },
            ),
            DpkgTool::Dpkg => (
                target.dpkg_remove(&names, purge),
                if purge {
                    "dpkg --purge"
                } else {
                    "dpkg --remove"
                },
            ),
        };
        done.map_err(|e| e.to_string())?;
        Ok(format!("{verb} {}", self.spec()))
    }
}
