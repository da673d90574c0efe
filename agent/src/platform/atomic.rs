//! Every change Rampart makes to a managed file goes through this module.
//!
//! A write never exposes a half-written or wrongly-permissioned file: the new
//! content goes to a temp file created exclusively in the target's directory,
//! which gets its final owner and mode *before* the first byte is written, is
//! fsynced, renamed over the target, and the directory is fsynced so the rename
//! survives a crash. A target that is a symlink or has extra hard links is
//! refused, because writing "through" either would change a file the document
//! did not name.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::unistd::{fchown, Gid, Uid};

use super::failpoint;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("refusing to write '{path}': it is a symlink")]
    Symlink { path: PathBuf },
    #[error("refusing to write '{path}': it has {links} hard links, so other names would keep the old content")]
    HardLinks { path: PathBuf, links: u64 },
    #[error("refusing to write '{path}': it is not a regular file")]
    NotRegular { path: PathBuf },
    #[error("cannot write '{path}': parent directory does not exist")]
    NoParent { path: PathBuf },
    #[error("failed to {op} '{path}': {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Temp files are `.rampart-<pid>-<random>.tmp` in the target's directory.
const TEMP_PREFIX: &str = ".rampart-";
const TEMP_SUFFIX: &str = ".tmp";

/// Removes temp files left in `dir` by a writer that died (its pid is gone).
/// They are never visible under the target's name, but they are clutter, and
/// may hold a secret (with the secret's own owner and mode).
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name
            .strip_prefix(TEMP_PREFIX)
            .filter(|_| name.ends_with(TEMP_SUFFIX))
        else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Owner, group and permission bits a managed file must end up with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
}

/// Refuses targets that a write must not go through. A missing target is fine.
pub fn check_target(path: &Path) -> Result<Option<fs::Metadata>, WriteError> {
    match fs::symlink_metadata(path) {
        Ok(meta) => {
            let ft = meta.file_type();
            if ft.is_symlink() {
                return Err(WriteError::Symlink {
                    path: path.to_path_buf(),
                });
            }
            if !ft.is_file() {
                return Err(WriteError::NotRegular {
                    path: path.to_path_buf(),
                });
            }
            if meta.nlink() > 1 {
                return Err(WriteError::HardLinks {
                    path: path.to_path_buf(),
                    links: meta.nlink(),
                });
            }
            Ok(Some(meta))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("inspect", path)(e)),
    }
}

/// Atomically replaces (or creates) `path` with `content`, owned and moded as
/// `meta`. `path` is a host path already resolved through a [`super::Root`].
pub fn write_file(path: &Path, content: &[u8], meta: FileMeta) -> Result<(), WriteError> {
    check_target(path)?;
    let dir = match path.parent() {
        Some(d) if d.is_dir() => d,
        _ => {
            return Err(WriteError::NoParent {
                path: path.to_path_buf(),
            })
        }
    };

    failpoint::hit("before-create");
    remove_stale_temps(dir);

    // Create the temp file exclusively (O_EXCL: never follows or reuses a
    // name), readable by nobody but root until its final mode is set. The
    // name carries our pid so a crashed writer's leftovers can be recognised.
    let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(io_err("create temp file in", dir))?;

    failpoint::hit("after-create");
    // Final owner and mode on the descriptor, before any byte is written.
    fchown(
        tmp.as_file(),
        Some(Uid::from_raw(meta.uid)),
        Some(Gid::from_raw(meta.gid)),
    )
    .map_err(|e| io_err("set owner of temp file for", path)(e.into()))?;
    tmp.as_file()
        .set_permissions(Permissions::from_mode(meta.mode))
        .map_err(io_err("set mode of temp file for", path))?;

    failpoint::hit("after-chmod");
    // Write and flush the content to stable storage.
    write_content(tmp.as_file_mut(), content).map_err(io_err("write temp file for", path))?;
    tmp.as_file()
        .sync_all()
        .map_err(io_err("fsync temp file for", path))?;

    failpoint::hit("after-fsync");
    // Re-check just before the rename, then swap the new file into place.
    check_target(path)?;
    tmp.persist(path)
        .map_err(|e| io_err("rename temp file onto", path)(e.error))?;

    failpoint::hit("after-rename");
    // Make the rename itself durable.
    sync_dir(dir)?;
    failpoint::hit("after-dir-fsync");
    Ok(())
}

#[cfg(not(feature = "failpoints"))]
fn write_content(file: &mut File, content: &[u8]) -> io::Result<()> {
    file.write_all(content)
}

/// With crash points, the write is split so that a torn write (half the
/// bytes on disk) can be tested too.
#[cfg(feature = "failpoints")]
fn write_content(file: &mut File, content: &[u8]) -> io::Result<()> {
    let half = content.len() / 2;
    file.write_all(&content[..half])?;
    file.sync_data()?;
    failpoint::hit("mid-write");
    file.write_all(&content[half..])
}

/// The crash points, in the order a write passes them.
pub const FAILPOINTS: [&str; 7] = [
    "before-create",
    "after-create",
    "after-chmod",
    "mid-write",
    "after-fsync",
    "after-rename",
    "after-dir-fsync",
];

/// Sets owner, group and mode of an existing regular file without following a
/// symlink and without rewriting its content.
pub fn set_meta(
    path: &Path,
    uid: Option<u32>,
    gid: Option<u32>,
    mode: Option<u32>,
) -> Result<(), WriteError> {
    check_target(path)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags::O_NOFOLLOW | libc_flags::O_NONBLOCK)
        .open(path)
        .map_err(io_err("open", path))?;
    if uid.is_some() || gid.is_some() {
        fchown(&file, uid.map(Uid::from_raw), gid.map(Gid::from_raw))
            .map_err(|e| io_err("change owner of", path)(e.into()))?;
    }
    if let Some(mode) = mode {
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(io_err("change mode of", path))?;
    }
    file.sync_all().map_err(io_err("fsync", path))?;
    Ok(())
}

/// Removes a managed regular file (never a directory, never through a link:
/// unlinking a symlink removes only the link, which is what "absent" means).
pub fn remove_file(path: &Path) -> Result<bool, WriteError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(WriteError::NotRegular {
            path: path.to_path_buf(),
        }),
        Ok(_) => {
            fs::remove_file(path).map_err(io_err("remove", path))?;
            if let Some(dir) = path.parent() {
                sync_dir(dir)?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("inspect", path)(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync directory", dir))
}

/// Open flags std does not name; values from the Linux UAPI headers.
mod libc_flags {
    pub const O_NOFOLLOW: i32 = nix::fcntl::OFlag::O_NOFOLLOW.bits();
    pub const O_NONBLOCK: i32 = nix::fcntl::OFlag::O_NONBLOCK.bits();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn me() -> (u32, u32) {
        (Uid::current().as_raw(), Gid::current().as_raw())
    }

    #[test]
    fn writes_content_with_mode_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let (uid, gid) = me();
        write_file(
            &path,
            b"hello\n",
            FileMeta {
                uid,
                gid,
                mode: 0o640,
            },
        )
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"hello\n");
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640);
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temp file left behind");
    }

    #[test]
    fn refuses_symlink_target_and_leaves_link_target_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let link = tmp.path().join("link");
        symlink(&victim, &link).unwrap();
        let (uid, gid) = me();
        let err = write_file(
            &link,
            b"x",
            FileMeta {
                uid,
                gid,
                mode: 0o600,
            },
        )
        .unwrap_err();
        assert!(matches!(err, WriteError::Symlink { .. }), "{err}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn refuses_hard_linked_target() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        fs::write(&a, "keep").unwrap();
        fs::hard_link(&a, tmp.path().join("b")).unwrap();
        let (uid, gid) = me();
        let err = write_file(
            &a,
            b"x",
            FileMeta {
                uid,
                gid,
                mode: 0o600,
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, WriteError::HardLinks { links: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn set_meta_refuses_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        fs::set_permissions(&victim, Permissions::from_mode(0o600)).unwrap();
        let link = tmp.path().join("link");
        symlink(&victim, &link).unwrap();
        assert!(set_meta(&link, None, None, Some(0o777)).is_err());
        assert_eq!(fs::metadata(&victim).unwrap().mode() & 0o777, 0o600);
    }
}
