//! User and group names resolved the way the target system would resolve them.
//!
//! On the live host this goes through NSS (so LDAP or SSSD accounts work); under
//! any other root it reads that root's `/etc/passwd` and `/etc/group`, because
//! the host's accounts say nothing about an image's.

use std::fs;
use std::path::Path;

use nix::unistd::{Gid, Group, Uid, User};

use super::Root;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    User,
    Group,
}

impl AccountKind {
    fn db(self) -> &'static str {
        match self {
            AccountKind::User => "/etc/passwd",
            AccountKind::Group => "/etc/group",
        }
    }
}

/// Resolves a user or group given by name or by number to its numeric id.
/// Returns `Ok(None)` when the name does not exist under this root.
pub fn lookup_id(root: &Root, kind: AccountKind, name: &str) -> std::io::Result<Option<u32>> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(Some(id));
    }
    if root.is_host() {
        let found = match kind {
            AccountKind::User => User::from_name(name)?.map(|u| u.uid.as_raw()),
            AccountKind::Group => Group::from_name(name)?.map(|g| g.gid.as_raw()),
        };
        return Ok(found);
    }
    scan(&root.join(Path::new(kind.db())), |fields| {
        (fields.first() == Some(&name))
            .then(|| fields.get(2).and_then(|id| id.parse().ok()))
            .flatten()
    })
}

/// The name of a numeric id under this root, for messages; the number itself
/// when the id has no name.
pub fn name_of(root: &Root, kind: AccountKind, id: u32) -> String {
    let found = if root.is_host() {
        match kind {
            AccountKind::User => User::from_uid(Uid::from_raw(id))
                .ok()
                .flatten()
                .map(|u| u.name),
            AccountKind::Group => Group::from_gid(Gid::from_raw(id))
                .ok()
                .flatten()
                .map(|g| g.name),
        }
    } else {
        scan(&root.join(Path::new(kind.db())), |fields| {
            (fields.get(2).and_then(|f| f.parse::<u32>().ok()) == Some(id))
                .then(|| fields[0].to_string())
        })
        .ok()
        .flatten()
    };
    found.unwrap_or_else(|| id.to_string())
}

fn scan<T>(db: &Path, mut pick: impl FnMut(&[&str]) -> Option<T>) -> std::io::Result<Option<T>> {
    let text = match fs::read_to_string(db) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| pick(&l.split(':').collect::<Vec<_>>())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_root_uses_its_own_account_files() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("etc")).unwrap();
        fs::write(
            tmp.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nweb:x:1234:1234::/:/bin/false\n",
        )
        .unwrap();
        fs::write(tmp.path().join("etc/group"), "root:x:0:\nshadow:x:42:\n").unwrap();
        let root = Root::new(tmp.path()).unwrap();
        assert_eq!(
            lookup_id(&root, AccountKind::User, "web").unwrap(),
            Some(1234)
        );
        assert_eq!(
            lookup_id(&root, AccountKind::Group, "shadow").unwrap(),
            Some(42)
        );
        assert_eq!(
            lookup_id(&root, AccountKind::User, "nobody-here").unwrap(),
            None
        );
        assert_eq!(lookup_id(&root, AccountKind::User, "77").unwrap(), Some(77));
        assert_eq!(name_of(&root, AccountKind::User, 1234), "web");
        assert_eq!(name_of(&root, AccountKind::Group, 9), "9");
    }
}
