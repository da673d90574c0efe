//! The installed packages of a root, as the package database records them:
//! dpkg's status file read directly, rpm's database through `rpm --root -qa`.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::platform::version::Scheme;
use crate::platform::{dpkg, rpm, Root};

/// Installed packages of one root, read on first use, shared by every
/// package step of a run, and read again after a step changed packages.
#[derive(Debug, Default)]
pub struct PackageDb {
    loaded: Mutex<Option<Arc<Installed>>>,
}

#[derive(Debug, Clone)]
pub struct Installed {
    pub scheme: Scheme,
    /// Name -> (architecture, version) of each installed instance.
    pub packages: HashMap<String, Vec<(String, String)>>,
    /// Names of dpkg packages removed with their configuration files kept.
    pub config_only: Vec<String>,
    /// dpkg packages an interrupted or failed run left half done, with
    /// their state (`half-installed`, `unpacked`, `half-configured`).
    pub unfinished: Vec<(String, String)>,
}

impl Installed {
    /// The installed version of `spec` (`name` or `name:arch`): the
    /// newest instance, or the newest of that architecture. rpm installs
    /// some packages side by side in several versions (kernels), and the
    /// newest is the one that counts for "at least".
    pub fn version_of(&self, spec: &str) -> Option<&str> {
        let (name, arch) = match spec.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (spec, None),
        };
        self.packages
            .get(name)?
            .iter()
            .filter(|(a, _)| arch.is_none_or(|want| want == a))
            .max_by(|(_, x), (_, y)| self.scheme.compare(x, y).unwrap_or(Ordering::Equal))
            .map(|(_, v)| v.as_str())
    }

    /// The installed versions of `name` for `arch`, oldest first.
    pub fn versions_of(&self, name: &str, arch: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .packages
            .get(name)
            .into_iter()
            .flatten()
            .filter(|(a, _)| a == arch)
            .map(|(_, v)| v.as_str())
            .collect();
        v.sort_by(|x, y| self.scheme.compare(x, y).unwrap_or(Ordering::Equal));
        v
    }

    /// The distinct architectures `name` is installed for.
    pub fn architectures_of(&self, name: &str) -> Vec<&str> {
        let mut a: Vec<&str> = self
            .packages
            .get(name)
            .into_iter()
            .flatten()
            .map(|(a, _)| a.as_str())
            .collect();
        a.sort_unstable();
        a.dedup();
        a
    }
}

impl PackageDb {
    pub fn get(&self, root: &Root) -> Result<Arc<Installed>, String> {
        let mut slot = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        let db = Arc::new(load(root)?);
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Forgets what was read, after a package manager ran.
    pub fn invalidate(&self) {
        *self.loaded.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn load(root: &Root) -> Result<Installed, String> {
    let mut packages: HashMap<String, Vec<(String, String)>> = Default::default();
    if dpkg::present(root) {
        let all = dpkg::read_status(root)
            .map_err(|e| format!("failed to read {}: {e}", dpkg::STATUS_PATH))?;
        let mut config_only = Vec::new();
        let mut unfinished = Vec::new();
        for p in all {
            if matches!(
                p.state.as_str(),
                "half-installed" | "unpacked" | "half-configured"
            ) {
                unfinished.push((p.name.clone(), p.state.clone()));
            }
            if p.is_installed() {
                packages
                    .entry(p.name)
                    .or_default()
                    .push((p.architecture, p.version));
            } else if p.state == "config-files" {
                config_only.push(p.name);
            }
        }
        return Ok(Installed {
            scheme: Scheme::Dpkg,
            packages,
            config_only,
            unfinished,
        });
    }
    if rpm::present(root) {
        for p in rpm::list_installed(root).map_err(|e| format!("failed to query rpm: {e}"))? {
            let evr = p.evr();
            packages
                .entry(p.name)
                .or_default()
                .push((p.architecture, evr));
        }
        return Ok(Installed {
            scheme: Scheme::Rpm,
            packages,
            config_only: Vec::new(),
            unfinished: Vec::new(),
        });
    }
    Err("no supported package database under this root (looked for dpkg and rpm)".into())
}
