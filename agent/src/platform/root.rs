//! A root directory that all host paths are resolved under.
//!
//! Resolution follows symlinks in *parent* directories the way a chroot would:
//! an absolute link target is taken relative to the root, and `..` never climbs
//! above it. A mounted image whose `/etc` is a link to `/usr/etc` therefore
//! resolves inside the image, never onto the host running Rampart.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may follow before it is treated as a loop
/// (the same limit Linux applies, `MAXSYMLINKS`).
const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// A root at `dir`, which must be an existing directory.
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let dir = fs::canonicalize(&dir)?;
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Ok(Root { dir })
    }

    /// The root of the running host.
    pub fn host() -> Self {
        Root {
            dir: PathBuf::from("/"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when this root is the running host's `/`.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// Maps an absolute in-root path to a host path without following any
    /// symlink. Use it for files Rampart only reads where following is
    /// harmless; use [`Root::resolve`] for anything that may be written.
    pub fn join(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix("/").unwrap_or(path);
        self.dir.join(rel)
    }

    /// Resolves an absolute in-root path to a host path, following symlinks in
    /// the parent directories inside the root. The final component is not
    /// followed: callers decide what a symlink there means (usually a refusal).
    pub fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        if !path.is_absolute() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("path '{}' must be absolute", path.display()),
            ));
        }
        let mut pending: Vec<OsString> = components(path);
        pending.reverse();
        let mut resolved: Vec<OsString> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            let is_last = pending.is_empty();
            let candidate = self.host_path(&resolved).join(&part);
            if !is_last {
                if let Ok(meta) = fs::symlink_metadata(&candidate) {
                    if meta.file_type().is_symlink() {
                        hops += 1;
                        if hops > MAX_SYMLINK_HOPS {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidInput,
                                format!("too many symlinks resolving '{}'", path.display()),
                            ));
                        }
                        let target = fs::read_link(&candidate)?;
                        if target.is_absolute() {
                            resolved.clear();
                        }
                        let mut more = components(&target);
                        more.reverse();
                        pending.extend(more);
                        continue;
                    }
                }
            }
            resolved.push(part);
        }
        Ok(self.host_path(&resolved))
    }

    fn host_path(&self, parts: &[OsString]) -> PathBuf {
        let mut p = self.dir.clone();
        p.extend(parts);
        p
    }
}

/// The normal components of a path, with `.` dropped and `..` kept for the
/// resolver to apply against what it has resolved so far.
fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_symlink_in_parent_stays_inside_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path()).unwrap();
        fs::create_dir_all(tmp.path().join("usr/etc")).unwrap();
        symlink("/usr/etc", tmp.path().join("etc")).unwrap();
        let got = root.resolve(Path::new("/etc/passwd")).unwrap();
        assert_eq!(got, root.dir().join("usr/etc/passwd"));
    }

    #[test]
    fn dotdot_cannot_escape_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path()).unwrap();
        fs::create_dir_all(tmp.path().join("a")).unwrap();
        symlink("../../../../../etc", tmp.path().join("a/up")).unwrap();
        let got = root.resolve(Path::new("/a/up/shadow")).unwrap();
        assert_eq!(got, root.dir().join("etc/shadow"));
        let got = root.resolve(Path::new("/../../x")).unwrap();
        assert_eq!(got, root.dir().join("x"));
    }

    #[test]
    fn final_component_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path()).unwrap();
        symlink("/etc/passwd", tmp.path().join("link")).unwrap();
        let got = root.resolve(Path::new("/link")).unwrap();
        assert_eq!(got, root.dir().join("link"));
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path()).unwrap();
        symlink("/loop", tmp.path().join("loop")).unwrap();
        let err = root.resolve(Path::new("/loop/x")).unwrap_err();
        assert!(err.to_string().contains("too many symlinks"), "{err}");
    }
}
