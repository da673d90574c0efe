//! The declarative actions (`rampart:file`, `rampart:line`, `rampart:service`,
//! `rampart:package`) checked and enforced by the real binary on a temp root.
//! Results are confirmed with independent facts: file metadata from the
//! kernel, `systemctl --root` for unit state, `dpkg --compare-versions` for
//! version order, and a recursive snapshot of the root for "check changes
//! nothing".
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{chown, symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{resource, Sandbox};
use serde_json::Value;

/// Made-up accounts of the temp root; none of them need exist on the host.
const WEB_UID: u32 = 1234;
const WEB_GID: u32 = 1234;
const SHADOW_GID: u32 = 42;

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      web:x:1234:1234:web:/srv/web:/usr/sbin/nologin\n";
const GROUP: &str = "root:x:0:\nshadow:x:42:\nweb:x:1234:\n";

/// A sandbox whose root has its own /etc/passwd and /etc/group.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.put("/etc/passwd", PASSWD);
    sb.put("/etc/group", GROUP);
    sb
}

/// A schemaVersion 2.2 YAML document; each step is (name, action, inputs as a
/// YAML flow mapping).
fn document(steps: &[(&str, &str, &str)]) -> String {
    let mut text =
        String::from("schemaVersion: '2.2'\ndescription: declarative test\nmainSteps:\n");
    for (name, action, inputs) in steps {
        text.push_str(&format!(
            "- name: {name}\n  action: {action}\n  inputs: {inputs}\n"
        ));
    }
    text
}

/// Runs `rampart VERB` over the steps with `--json`; returns exit code and record.
fn run(sb: &Sandbox, verb: &str, steps: &[(&str, &str, &str)]) -> (i32, Value) {
    let doc = sb.doc(&format!("{verb}.yml"), &document(steps));
    let (code, record, _) = sb.run_json(verb, &doc, &[]);
    (code, record)
}

/// The only resource a step reported.
fn only_resource<'a>(record: &'a Value, step: &str) -> &'a Value {
    let found: Vec<&Value> = record["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["step"] == step)
        .collect();
    assert_eq!(found.len(), 1, "step '{step}' resources in {record:#}");
    found[0]
}

fn assert_resource(r: &Value, compliance: &str, changed: bool) {
    assert_eq!(r["compliance"], compliance, "{r:#}");
    assert_eq!(r["changed"], changed, "{r:#}");
}

fn detail(r: &Value) -> &str {
    r["detail"].as_str().unwrap()
}

fn set_owner_mode(path: &Path, uid: u32, gid: u32, mode: u32) {
    chown(path, Some(uid), Some(gid)).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// (uid, gid, permission bits) as the kernel reports them.
fn owner_mode(path: &Path) -> (u32, u32, u32) {
    let m = fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// Fails if the atomic writer left a temp file in `dir`.
fn assert_no_temp_files(dir: &Path) {
    let leftovers: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".rampart-") && n.ends_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left in {}: {leftovers:?}",
        dir.display()
    );
}

/// Everything observable about one directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: &'static str,
    mode: u32,
    uid: u32,
    gid: u32,
    ino: u64,
    mtime_ns: (i64, i64),
    /// File bytes, or the symlink's target.
    data: Vec<u8>,
}

/// Every entry under `dir` (recursively, symlinks not followed), keyed by
/// its path relative to `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for e in fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let m = fs::symlink_metadata(&path).unwrap();
            let ft = m.file_type();
            let (kind, data) = if ft.is_symlink() {
                let target = fs::read_link(&path).unwrap();
                ("symlink", target.into_os_string().into_encoded_bytes())
            } else if ft.is_dir() {
                ("dir", Vec::new())
            } else if ft.is_file() {
                ("file", fs::read(&path).unwrap())
            } else {
                ("other", Vec::new())
            };
            out.insert(
                path.strip_prefix(base).unwrap().to_path_buf(),
                Entry {
                    kind,
                    mode: m.mode(),
                    uid: m.uid(),
                    gid: m.gid(),
                    ino: m.ino(),
                    mtime_ns: (m.mtime(), m.mtime_nsec()),
                    data,
                },
            );
            if ft.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn describe(e: &Entry) -> String {
    format!(
        "{} mode {:o} {}:{} ino {} mtime {}.{:09} {:?}",
        e.kind,
        e.mode,
        e.uid,
        e.gid,
        e.ino,
        e.mtime_ns.0,
        e.mtime_ns.1,
        String::from_utf8_lossy(&e.data)
    )
}

/// Asserts two snapshots are identical, naming every path that differs.
fn assert_same_tree(before: &BTreeMap<PathBuf, Entry>, after: &BTreeMap<PathBuf, Entry>) {
    let mut diffs = Vec::new();
    for (p, b) in before {
        match after.get(p) {
            None => diffs.push(format!("removed: {}", p.display())),
            Some(a) if a != b => diffs.push(format!(
                "changed: {}\n  before: {}\n  after:  {}",
                p.display(),
                describe(b),
                describe(a)
            )),
            _ => {}
        }
    }
    for p in after.keys().filter(|p| !before.contains_key(*p)) {
        diffs.push(format!("added: {}", p.display()));
    }
    assert!(diffs.is_empty(), "the root changed:\n{}", diffs.join("\n"));
}

// ---------------------------------------------------------------- rampart:file

const MOTD_WANTED: &str = "{path: /etc/motd, content: \"Authorized use only.\\n\", \
                           owner: web, group: shadow, mode: \"0640\"}";

#[test]
fn file_check_reports_drift_and_changes_nothing() {
    let sb = sandbox();
    let motd = sb.put("/etc/motd", "Welcome!\n");
    set_owner_mode(&motd, 0, 0, 0o644);
    let before = snapshot(&sb.root());

    let (code, record) = run(&sb, "check", &[("motd", "rampart:file", MOTD_WANTED)]);

    assert_eq!(code, 1, "{record:#}");
    let r = resource(&record, "file", "/etc/motd");
    assert_resource(r, "NonCompliant", false);
    for what in ["content", "owner", "group", "mode"] {
        assert!(detail(r).contains(what), "drift should name {what}: {r:#}");
    }
    assert_same_tree(&before, &snapshot(&sb.root()));
}

#[test]
fn file_apply_sets_content_owner_group_mode_then_reports_no_change() {
    let sb = sandbox();
    let motd = sb.put("/etc/motd", "Welcome!\n");
    set_owner_mode(&motd, 0, 0, 0o644);

    let (code, record) = run(&sb, "apply", &[("motd", "rampart:file", MOTD_WANTED)]);

    assert_eq!(code, 0, "{record:#}");
    assert_resource(resource(&record, "file", "/etc/motd"), "Compliant", true);
    assert_eq!(fs::read(&motd).unwrap(), b"Authorized use only.\n");
    assert_eq!(owner_mode(&motd), (WEB_UID, SHADOW_GID, 0o640));
    assert_no_temp_files(&sb.host("/etc"));

    let (code, record) = run(&sb, "apply", &[("motd", "rampart:file", MOTD_WANTED)]);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(resource(&record, "file", "/etc/motd"), "Compliant", false);
    let (code, record) = run(&sb, "check", &[("motd", "rampart:file", MOTD_WANTED)]);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(resource(&record, "file", "/etc/motd"), "Compliant", false);
}

#[test]
fn file_apply_creates_missing_file_with_requested_owner_and_mode() {
    let sb = sandbox();
    let motd = sb.host("/etc/motd");

    let (code, record) = run(&sb, "apply", &[("motd", "rampart:file", MOTD_WANTED)]);

    assert_eq!(code, 0, "{record:#}");
    assert_resource(resource(&record, "file", "/etc/motd"), "Compliant", true);
    assert_eq!(fs::read(&motd).unwrap(), b"Authorized use only.\n");
    assert_eq!(owner_mode(&motd), (WEB_UID, SHADOW_GID, 0o640));
    assert_no_temp_files(&sb.host("/etc"));
}

#[test]
fn file_apply_fixes_owner_and_mode_in_place_keeping_content() {
    let sb = sandbox();
    let cron = sb.put("/etc/crontab", "# m h dom mon dow user command\n");
    set_owner_mode(&cron, WEB_UID, WEB_GID, 0o666);
    let ino = fs::metadata(&cron).unwrap().ino();

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "crontab",
            "rampart:file",
            "{path: /etc/crontab, owner: root, group: root, mode: '0600'}",
        )],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_resource(resource(&record, "file", "/etc/crontab"), "Compliant", true);
    assert_eq!(owner_mode(&cron), (0, 0, 0o600));
    assert_eq!(
        fs::read(&cron).unwrap(),
        b"# m h dom mon dow user command\n"
    );
    assert_eq!(
        fs::metadata(&cron).unwrap().ino(),
        ino,
        "metadata-only fix rewrote the file"
    );
}

#[test]
fn file_content_rewrite_keeps_owner_group_and_mode_not_given() {
    let sb = sandbox();
    let conf = sb.put("/etc/web.conf", "listen 80\n");
    set_owner_mode(&conf, WEB_UID, WEB_GID, 0o600);

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "conf",
            "rampart:file",
            "{path: /etc/web.conf, content: \"listen 443\\n\"}",
        )],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_resource(
        resource(&record, "file", "/etc/web.conf"),
        "Compliant",
        true,
    );
    assert_eq!(fs::read(&conf).unwrap(), b"listen 443\n");
    assert_eq!(owner_mode(&conf), (WEB_UID, WEB_GID, 0o600));
    assert_no_temp_files(&sb.host("/etc"));
}

#[test]
fn file_setuid_mode_survives_an_owner_change() {
    let sb = sandbox();
    // One file fixed in place (owner and mode only), one rewritten.
    let in_place = sb.put("/usr/bin/helper", "#!/bin/sh\n");
    let rewritten = sb.put("/usr/bin/other", "old\n");
    set_owner_mode(&in_place, WEB_UID, WEB_GID, 0o755);
    set_owner_mode(&rewritten, WEB_UID, WEB_GID, 0o755);

    let (code, record) = run(
        &sb,
        "apply",
        &[
            ("helper", "rampart:file", "{path: /usr/bin/helper, owner: root, group: shadow, mode: '4750'}"),
            (
                "other",
                "rampart:file",
                "{path: /usr/bin/other, content: \"new\\n\", owner: root, group: shadow, mode: '4750'}",
            ),
        ],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_eq!(owner_mode(&in_place), (0, SHADOW_GID, 0o4750));
    assert_eq!(owner_mode(&rewritten), (0, SHADOW_GID, 0o4750));
}

#[test]
fn file_mode_as_string_means_octal() {
    let sb = sandbox();
    let string = sb.put("/etc/string", "x\n");
    set_owner_mode(&string, 0, 0, 0o644);

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "string",
            "rampart:file",
            "{path: /etc/string, mode: \"0640\"}",
        )],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_eq!(owner_mode(&string).2, 0o640);
}

/// An unquoted `0640` reaches Rampart as the text "0640" (the YAML parser
/// keeps leading-zero scalars as strings) and means octal 640.
#[test]
fn file_mode_unquoted_with_leading_zero_means_octal() {
    let sb = sandbox();
    let file = sb.put("/etc/number", "x\n");
    set_owner_mode(&file, 0, 0, 0o644);
    let (code, record) = run(
        &sb,
        "apply",
        &[("number", "rampart:file", "{path: /etc/number, mode: 0640}")],
    );
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(owner_mode(&file).2, 0o640);
}

/// YAML reads `0o640` as the number 416 and `640` as 640: a number cannot be
/// told apart from another mode, so it is refused before anything runs.
#[test]
fn file_mode_as_yaml_number_is_refused() {
    let sb = sandbox();
    let file = sb.put("/etc/number", "x\n");
    set_owner_mode(&file, 0, 0, 0o644);
    for mode in ["640", "0o640"] {
        let inputs = format!("{{path: /etc/number, mode: {mode}}}");
        let doc = sb.doc(
            "number.yml",
            &document(&[("number", "rampart:file", &inputs)]),
        );
        let out = sb.rampart("apply", &doc).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "mode {mode}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("quoted octal string"), "{stderr}");
        assert_eq!(owner_mode(&file).2, 0o644, "mode {mode} was applied");
    }
}

#[test]
fn file_state_absent_removes_the_file() {
    let sb = sandbox();
    let equiv = sb.put("/etc/hosts.equiv", "+ +\n");
    let steps = [(
        "equiv",
        "rampart:file",
        "{path: /etc/hosts.equiv, state: absent}",
    )];

    let (code, record) = run(&sb, "check", &steps);
    assert_eq!(code, 1, "{record:#}");
    assert_resource(
        resource(&record, "file", "/etc/hosts.equiv"),
        "NonCompliant",
        false,
    );
    assert!(equiv.exists(), "check removed the file");

    let (code, record) = run(&sb, "apply", &steps);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(
        resource(&record, "file", "/etc/hosts.equiv"),
        "Compliant",
        true,
    );
    assert!(fs::symlink_metadata(&equiv).is_err(), "file still exists");

    let (code, record) = run(&sb, "apply", &steps);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(
        resource(&record, "file", "/etc/hosts.equiv"),
        "Compliant",
        false,
    );
}

#[test]
fn file_symlink_is_refused_and_link_target_stays_untouched() {
    let sb = sandbox();
    // The link points out of the root, at a file the document never named.
    let victim = sb.dir.path().join("victim");
    fs::write(&victim, "host file\n").unwrap();
    set_owner_mode(&victim, 0, 0, 0o600);
    let link = sb.host("/etc/motd");
    symlink(&victim, &link).unwrap();
    let before = (
        snapshot(&sb.root()),
        fs::read(&victim).unwrap(),
        owner_mode(&victim),
    );

    for verb in ["check", "apply"] {
        let (code, record) = run(&sb, verb, &[("motd", "rampart:file", MOTD_WANTED)]);

        assert_eq!(code, 1, "{verb}: {record:#}");
        let r = resource(&record, "file", "/etc/motd");
        assert_resource(r, "Failed", false);
        assert!(detail(r).contains("symlink"), "{r:#}");
        let after = (
            snapshot(&sb.root()),
            fs::read(&victim).unwrap(),
            owner_mode(&victim),
        );
        assert_same_tree(&before.0, &after.0);
        assert_eq!(
            (&before.1, before.2),
            (&after.1, after.2),
            "{verb} changed the link target"
        );
    }
    assert_eq!(fs::read_link(&link).unwrap(), victim);
}

#[test]
fn file_with_extra_hard_link_is_refused() {
    let sb = sandbox();
    let issue = sb.put("/etc/issue", "Debian GNU/Linux 12\n");
    fs::hard_link(&issue, sb.host("/etc/issue.net")).unwrap();
    let before = snapshot(&sb.root());

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "issue",
            "rampart:file",
            "{path: /etc/issue, content: \"Authorized use only.\\n\"}",
        )],
    );

    assert_eq!(code, 1, "{record:#}");
    let r = resource(&record, "file", "/etc/issue");
    assert_resource(r, "Failed", false);
    assert!(detail(r).contains("hard links"), "{r:#}");
    assert_same_tree(&before, &snapshot(&sb.root()));
    assert_eq!(fs::metadata(&issue).unwrap().nlink(), 2);
}

#[test]
fn file_owner_is_looked_up_in_the_roots_passwd_not_the_hosts() {
    let sb = sandbox();
    let motd = sb.put("/etc/motd", "x\n");
    // "daemon" exists on any Debian host, but not in this root's /etc/passwd.
    let host_has_daemon = fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("daemon:"));
    assert!(
        host_has_daemon,
        "test expects the host to have a 'daemon' user"
    );
    let before = snapshot(&sb.root());

    let (code, record) = run(
        &sb,
        "apply",
        &[("motd", "rampart:file", "{path: /etc/motd, owner: daemon}")],
    );

    assert_eq!(code, 1, "{record:#}");
    let r = resource(&record, "file", "/etc/motd");
    assert_resource(r, "Failed", false);
    assert!(detail(r).contains("user 'daemon' does not exist"), "{r:#}");
    assert_same_tree(&before, &snapshot(&sb.root()));
    assert_eq!(owner_mode(&motd).0, 0);
}

#[test]
fn file_state_absent_on_a_symlink_removes_only_the_link() {
    let sb = sandbox();
    let target = sb.put("/etc/real-equiv", "+ +\n");
    let link = sb.host("/etc/hosts.equiv");
    symlink("/etc/real-equiv", &link).unwrap();

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "equiv",
            "rampart:file",
            "{path: /etc/hosts.equiv, state: absent}",
        )],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_resource(
        resource(&record, "file", "/etc/hosts.equiv"),
        "Compliant",
        true,
    );
    assert!(fs::symlink_metadata(&link).is_err(), "link still exists");
    assert_eq!(fs::read(&target).unwrap(), b"+ +\n");
}

/// Regression: `group` next to `state: absent` was silently ignored while
/// `owner` and `mode` were rejected.
#[test]
fn file_state_absent_with_group_is_rejected_before_running() {
    let sb = sandbox();
    let equiv = sb.put("/etc/hosts.equiv", "+ +\n");
    let doc = sb.doc(
        "absent-group.yml",
        &document(&[(
            "equiv",
            "rampart:file",
            "{path: /etc/hosts.equiv, state: absent, group: root}",
        )]),
    );

    let out = sb.rampart("apply", &doc).output().unwrap();

    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("step 'equiv': state 'absent' takes no content, owner, group or mode"),
        "{stderr}"
    );
    assert!(equiv.exists(), "an invalid document removed the file");
}

#[test]
fn file_parent_symlink_to_an_absolute_path_resolves_inside_the_root() {
    let sb = sandbox();
    // On the host, /etc/ssh of the root would point at this directory; inside
    // the root the same absolute path names root/<outside>.
    let outside = sb.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    let in_root = sb.root().join(outside.strip_prefix("/").unwrap());
    fs::create_dir_all(&in_root).unwrap();
    symlink(&outside, sb.host("/etc/ssh")).unwrap();

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "banner",
            "rampart:file",
            "{path: /etc/ssh/banner, content: \"hi\\n\"}",
        )],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_eq!(fs::read(in_root.join("banner")).unwrap(), b"hi\n");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "wrote outside the root"
    );
}

// ---------------------------------------------------------------- rampart:line

const SSHD_CONFIG: &str = "\
# sshd_config for tests
Port 22
PermitRootLogin yes
PasswordAuthentication no
PermitRootLogin prohibit-password
Match User backup
  X11Forwarding yes
";

const PERMIT_ROOT_NO: &str =
    "{path: /etc/ssh/sshd_config, match: '^\\s*#?\\s*PermitRootLogin\\s', line: PermitRootLogin no}";

#[test]
fn line_apply_keeps_one_setting_at_first_position_and_preserves_owner_mode() {
    let sb = sandbox();
    let cfg = sb.put("/etc/ssh/sshd_config", SSHD_CONFIG);
    set_owner_mode(&cfg, WEB_UID, SHADOW_GID, 0o600);
    let id = "/etc/ssh/sshd_config: PermitRootLogin no";

    let (code, record) = run(&sb, "apply", &[("sshd", "rampart:line", PERMIT_ROOT_NO)]);

    assert_eq!(code, 0, "{record:#}");
    assert_resource(resource(&record, "line", id), "Compliant", true);
    let text = fs::read_to_string(&cfg).unwrap();
    assert_eq!(
        text,
        "# sshd_config for tests\nPort 22\nPermitRootLogin no\nPasswordAuthentication no\n\
         Match User backup\n  X11Forwarding yes\n"
    );
    assert_eq!(owner_mode(&cfg), (WEB_UID, SHADOW_GID, 0o600));
    assert_no_temp_files(&sb.host("/etc/ssh"));

    let (code, record) = run(&sb, "apply", &[("sshd", "rampart:line", PERMIT_ROOT_NO)]);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(resource(&record, "line", id), "Compliant", false);
    assert_eq!(fs::read_to_string(&cfg).unwrap(), text);
}

#[test]
fn line_insert_before_puts_missing_line_ahead_of_match_block() {
    let sb = sandbox();
    let cfg = sb.put("/etc/ssh/sshd_config", SSHD_CONFIG);

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "x11",
            "rampart:line",
            "{path: /etc/ssh/sshd_config, match: '^X11Forwarding\\s', line: X11Forwarding no, insertBefore: '^Match '}",
        )],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_resource(only_resource(&record, "x11"), "Compliant", true);
    assert_eq!(
        fs::read_to_string(&cfg).unwrap(),
        "# sshd_config for tests\nPort 22\nPermitRootLogin yes\nPasswordAuthentication no\n\
         PermitRootLogin prohibit-password\nX11Forwarding no\nMatch User backup\n  X11Forwarding yes\n"
    );
}

#[test]
fn line_state_absent_removes_every_match() {
    let sb = sandbox();
    let cfg = sb.put("/etc/ssh/sshd_config", SSHD_CONFIG);
    let steps = [(
        "no_root_login",
        "rampart:line",
        "{path: /etc/ssh/sshd_config, match: '^PermitRootLogin\\s', state: absent}",
    )];

    let (code, record) = run(&sb, "apply", &steps);

    assert_eq!(code, 0, "{record:#}");
    assert_resource(only_resource(&record, "no_root_login"), "Compliant", true);
    assert_eq!(
        fs::read_to_string(&cfg).unwrap(),
        "# sshd_config for tests\nPort 22\nPasswordAuthentication no\nMatch User backup\n  X11Forwarding yes\n"
    );
    let (code, record) = run(&sb, "check", &steps);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(only_resource(&record, "no_root_login"), "Compliant", false);
}

#[test]
fn line_create_true_creates_missing_file() {
    let sb = sandbox();
    let conf = sb.host("/etc/sysctl.d/60-rampart.conf");
    fs::create_dir_all(conf.parent().unwrap()).unwrap();

    let (code, record) = run(
        &sb,
        "apply",
        &[(
            "sysctl",
            "rampart:line",
            "{path: /etc/sysctl.d/60-rampart.conf, line: fs.suid_dumpable = 0, create: true}",
        )],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_resource(only_resource(&record, "sysctl"), "Compliant", true);
    assert_eq!(fs::read_to_string(&conf).unwrap(), "fs.suid_dumpable = 0\n");
    assert_eq!(owner_mode(&conf), (0, 0, 0o644));
    assert_no_temp_files(conf.parent().unwrap());
}

#[test]
fn line_missing_file_without_create_is_noncompliant_and_cannot_be_enforced() {
    let sb = sandbox();
    fs::create_dir_all(sb.host("/etc/sysctl.d")).unwrap();
    let steps = [(
        "sysctl",
        "rampart:line",
        "{path: /etc/sysctl.d/60-rampart.conf, line: fs.suid_dumpable = 0}",
    )];
    let before = snapshot(&sb.root());

    let (code, record) = run(&sb, "check", &steps);
    assert_eq!(code, 1, "{record:#}");
    assert_resource(only_resource(&record, "sysctl"), "NonCompliant", false);

    let (code, record) = run(&sb, "apply", &steps);
    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record, "sysctl");
    assert_resource(r, "Failed", false);
    assert!(detail(r).contains("create: true"), "{r:#}");
    assert_same_tree(&before, &snapshot(&sb.root()));
}

/// Regression: checking read the file a final-component symlink pointed at
/// (for an image root, the host's file), so a link to a compliant file outside
/// the root passed.
#[test]
fn line_symlinked_file_is_refused_not_read_through() {
    let sb = sandbox();
    let outside = sb.dir.path().join("host_sshd_config");
    fs::write(&outside, "PermitRootLogin no\n").unwrap();
    fs::create_dir_all(sb.host("/etc/ssh")).unwrap();
    symlink(&outside, sb.host("/etc/ssh/sshd_config")).unwrap();
    let before = snapshot(&sb.root());

    for verb in ["check", "apply"] {
        let (code, record) = run(&sb, verb, &[("sshd", "rampart:line", PERMIT_ROOT_NO)]);

        assert_eq!(code, 1, "{verb}: {record:#}");
        let r = only_resource(&record, "sshd");
        assert_resource(r, "Failed", false);
        assert!(detail(r).contains("symlink"), "{r:#}");
    }
    assert_same_tree(&before, &snapshot(&sb.root()));
    assert_eq!(fs::read(&outside).unwrap(), b"PermitRootLogin no\n");
}

// ------------------------------------------------------------- rampart:service

/// Installs smbd and nmbd unit files (wanted by multi-user.target) in the root.
fn install_units(sb: &Sandbox) {
    for unit in ["smbd", "nmbd"] {
        sb.put(
            &format!("/usr/lib/systemd/system/{unit}.service"),
            &format!(
                "[Unit]\nDescription=Samba {unit}\n\n[Service]\nExecStart=/usr/sbin/{unit} --foreground\n\n\
                 [Install]\nWantedBy=multi-user.target\n"
            ),
        );
    }
}

/// Runs the real `systemctl --root=ROOT ARGS` and returns its first stdout line.
fn systemctl(sb: &Sandbox, args: &[&str]) -> String {
    let out = Command::new("systemctl")
        .arg(format!("--root={}", sb.root().display()))
        .args(args)
        .output()
        .expect("systemctl is installed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

fn is_enabled(sb: &Sandbox, unit: &str) -> String {
    systemctl(sb, &["is-enabled", unit])
}

/// A root with smbd and nmbd installed and enabled, as systemctl left them.
fn enabled_units_root() -> Sandbox {
    let sb = sandbox();
    install_units(&sb);
    systemctl(&sb, &["enable", "smbd.service", "nmbd.service"]);
    assert_eq!(is_enabled(&sb, "smbd.service"), "enabled");
    assert_eq!(is_enabled(&sb, "nmbd.service"), "enabled");
    sb
}

#[test]
fn service_disabled_check_reports_enabled_units_then_apply_disables_them() {
    let sb = enabled_units_root();
    let steps = [(
        "smb",
        "rampart:service",
        "{names: [smbd, nmbd], state: disabled}",
    )];

    let (code, record) = run(&sb, "check", &steps);
    assert_eq!(code, 1, "{record:#}");
    for unit in ["smbd.service", "nmbd.service"] {
        assert_resource(resource(&record, "service", unit), "NonCompliant", false);
        assert_eq!(is_enabled(&sb, unit), "enabled", "check changed {unit}");
    }

    let (code, record) = run(&sb, "apply", &steps);
    assert_eq!(code, 0, "{record:#}");
    for unit in ["smbd.service", "nmbd.service"] {
        assert_resource(resource(&record, "service", unit), "Compliant", true);
        assert_eq!(is_enabled(&sb, unit), "disabled");
    }

    let (code, record) = run(&sb, "apply", &steps);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(
        resource(&record, "service", "smbd.service"),
        "Compliant",
        false,
    );
}

#[test]
fn service_masked_apply_masks_the_unit() {
    let sb = enabled_units_root();

    let (code, record) = run(
        &sb,
        "apply",
        &[("smb", "rampart:service", "{names: smbd, state: masked}")],
    );

    assert_eq!(code, 0, "{record:#}");
    assert_resource(
        resource(&record, "service", "smbd.service"),
        "Compliant",
        true,
    );
    assert_eq!(is_enabled(&sb, "smbd.service"), "masked");
    assert_eq!(
        fs::read_link(sb.host("/etc/systemd/system/smbd.service")).unwrap(),
        Path::new("/dev/null")
    );
    assert_eq!(
        is_enabled(&sb, "nmbd.service"),
        "enabled",
        "a unit not named was changed"
    );
}

#[test]
fn service_missing_unit_is_compliant_for_disabled_and_masked() {
    let sb = enabled_units_root();
    let steps = [
        (
            "disabled",
            "rampart:service",
            "{names: samba-ad-dc, state: disabled}",
        ),
        (
            "masked",
            "rampart:service",
            "{names: samba-ad-dc, state: masked}",
        ),
    ];
    let before = snapshot(&sb.root());

    for verb in ["check", "apply"] {
        let (code, record) = run(&sb, verb, &steps);

        assert_eq!(code, 0, "{verb}: {record:#}");
        assert_resource(only_resource(&record, "disabled"), "Compliant", false);
        assert_resource(only_resource(&record, "masked"), "Compliant", false);
    }
    assert_same_tree(&before, &snapshot(&sb.root()));
}

#[test]
fn service_offline_stopped_is_compliant_and_running_is_skipped() {
    let sb = enabled_units_root();
    let steps = [
        (
            "stopped",
            "rampart:service",
            "{names: smbd, state: stopped}",
        ),
        (
            "running",
            "rampart:service",
            "{names: nmbd, state: running}",
        ),
    ];
    let before = snapshot(&sb.root());

    for verb in ["check", "apply"] {
        let (code, record) = run(&sb, verb, &steps);

        assert_eq!(code, 0, "{verb}: {record:#}");
        assert_resource(only_resource(&record, "stopped"), "Compliant", false);
        let r = only_resource(&record, "running");
        assert_resource(r, "Skipped", false);
        assert!(detail(r).contains("no systemd manager"), "{r:#}");
    }
    assert_same_tree(&before, &snapshot(&sb.root()));
}

#[test]
fn service_enabled_apply_enables_a_disabled_unit() {
    let sb = sandbox();
    install_units(&sb);
    assert_eq!(is_enabled(&sb, "smbd.service"), "disabled");
    let steps = [(
        "smb",
        "rampart:service",
        "{names: smbd.service, state: enabled}",
    )];

    let (code, record) = run(&sb, "check", &steps);
    assert_eq!(code, 1, "{record:#}");
    assert_resource(
        resource(&record, "service", "smbd.service"),
        "NonCompliant",
        false,
    );
    assert_eq!(is_enabled(&sb, "smbd.service"), "disabled");

    let (code, record) = run(&sb, "apply", &steps);
    assert_eq!(code, 0, "{record:#}");
    assert_resource(
        resource(&record, "service", "smbd.service"),
        "Compliant",
        true,
    );
    assert_eq!(is_enabled(&sb, "smbd.service"), "enabled");
    assert!(sb
        .host("/etc/systemd/system/multi-user.target.wants/smbd.service")
        .is_symlink());
}

// ------------------------------------------------------------- rampart:package

/// An installed package, one removed with its configuration kept, and a
/// multi-arch library installed for two architectures at different versions.
const DPKG_STATUS: &str = "\
Package: openssh-server
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 1:9.2p1-2+deb12u3
Description: secure shell (SSH) server
 Longer description.

Package: telnetd
Status: deinstall ok config-files
Architecture: amd64
Version: 0.17+2.4-2
Description: telnet server

Package: libssl3
Status: install ok installed
Multi-Arch: same
Architecture: amd64
Version: 3.0.15-1~deb12u1
Description: Secure Sockets Layer toolkit

Package: libssl3
Status: install ok installed
Multi-Arch: same
Architecture: i386
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit
";

fn package_root() -> Sandbox {
    let sb = sandbox();
    sb.put("/var/lib/dpkg/status", DPKG_STATUS);
    sb
}

/// `have < want` by dpkg's own rules.
fn dpkg_older(have: &str, want: &str) -> bool {
    Command::new("dpkg")
        .args(["--compare-versions", have, "lt", want])
        .status()
        .expect("dpkg is installed")
        .success()
}

#[test]
fn package_present_and_absent_follow_dpkg_status() {
    let sb = package_root();
    // (step, inputs, expected compliance)
    let cases = [
        (
            "ssh_present",
            "{names: openssh-server, state: present}",
            "Compliant",
        ),
        (
            "ssh_absent",
            "{names: openssh-server, state: absent}",
            "NonCompliant",
        ),
        (
            "telnetd_present",
            "{names: telnetd, state: present}",
            "NonCompliant",
        ),
        (
            "telnetd_absent",
            "{names: telnetd, state: absent}",
            "Compliant",
        ),
        (
            "rsh_absent",
            "{names: rsh-server, state: absent}",
            "Compliant",
        ),
        ("rsh_present", "{names: rsh-server}", "NonCompliant"),
        ("ssl_i386_present", "{names: 'libssl3:i386'}", "Compliant"),
        (
            "ssl_arm64_present",
            "{names: 'libssl3:arm64'}",
            "NonCompliant",
        ),
        (
            "ssl_i386_absent",
            "{names: 'libssl3:i386', state: absent}",
            "NonCompliant",
        ),
    ];
    let steps: Vec<_> = cases
        .iter()
        .map(|(s, i, _)| (*s, "rampart:package", *i))
        .collect();

    let (code, record) = run(&sb, "check", &steps);

    assert_eq!(code, 1, "{record:#}");
    for (step, _, want) in cases {
        assert_eq!(
            only_resource(&record, step)["compliance"],
            want,
            "step {step}: {record:#}"
        );
    }
    assert!(
        detail(only_resource(&record, "telnetd_absent")).contains("configuration files remain"),
        "{record:#}"
    );
}

#[test]
fn package_minimum_version_agrees_with_dpkg_compare_versions() {
    let sb = package_root();
    // Installed: openssh-server 1:9.2p1-2+deb12u3; libssl3 3.0.15-1~deb12u1
    // (amd64) and 3.0.11-1~deb12u2 (i386).
    let cases = [
        (
            "openssh-server",
            "1:9.2p1-2+deb12u3",
            &["1:9.2p1-2+deb12u3"][..],
        ),
        (
            "openssh-server",
            "1:9.2p1-2+deb12u4",
            &["1:9.2p1-2+deb12u3"],
        ),
        ("openssh-server", "9.9", &["1:9.2p1-2+deb12u3"]),
        ("openssh-server", "1:9.2p1-2", &["1:9.2p1-2+deb12u3"]),
        (
            "openssh-server",
            "1:9.2p1-2+deb12u3~1",
            &["1:9.2p1-2+deb12u3"],
        ),
        ("libssl3:amd64", "3.0.15-1", &["3.0.15-1~deb12u1"]),
        ("libssl3:amd64", "3.0.15-1~deb12u1", &["3.0.15-1~deb12u1"]),
        ("libssl3:i386", "3.0.13", &["3.0.11-1~deb12u2"]),
        (
            "libssl3",
            "3.0.13",
            &["3.0.15-1~deb12u1", "3.0.11-1~deb12u2"],
        ),
        (
            "libssl3",
            "3.0.11",
            &["3.0.15-1~deb12u1", "3.0.11-1~deb12u2"],
        ),
    ];
    let names: Vec<String> = (0..cases.len()).map(|n| format!("case{n}")).collect();
    let inputs: Vec<String> = cases
        .iter()
        .map(|(pkg, min, _)| format!("{{names: '{pkg}', minimumVersion: '{min}'}}"))
        .collect();
    let steps: Vec<_> = names
        .iter()
        .zip(&inputs)
        .map(|(n, i)| (n.as_str(), "rampart:package", i.as_str()))
        .collect();

    let (_, record) = run(&sb, "check", &steps);

    let mut outcomes = (false, false);
    for (n, (pkg, min, installed)) in cases.iter().enumerate() {
        let old = installed.iter().any(|have| dpkg_older(have, min));
        outcomes.0 |= old;
        outcomes.1 |= !old;
        let want = if old { "NonCompliant" } else { "Compliant" };
        let r = only_resource(&record, &names[n]);
        assert_eq!(r["compliance"], want, "{pkg} >= {min}: {r:#}");
    }
    assert_eq!(
        outcomes,
        (true, true),
        "the cases should include old and new enough packages"
    );
}

#[test]
fn package_apply_without_a_package_source_fails_and_changes_nothing() {
    let sb = package_root();
    let before = snapshot(&sb.root());

    let (code, record) = run(
        &sb,
        "apply",
        &[
            (
                "ssh",
                "rampart:package",
                "{names: openssh-server, minimumVersion: '1:9.2p1-2+deb12u5'}",
            ),
            ("telnet", "rampart:package", "{names: telnetd}"),
            ("ok", "rampart:package", "{names: openssh-server}"),
        ],
    );

    assert_eq!(code, 1, "{record:#}");
    for step in ["ssh", "telnet"] {
        let r = only_resource(&record, step);
        assert_resource(r, "Failed", false);
        // No /etc/apt in this root and no `sources`: dpkg has nothing to
        // install from (tests/packages.rs covers enforcement).
        assert!(detail(r).contains("dpkg cannot fetch"), "{r:#}");
    }
    assert_resource(only_resource(&record, "ok"), "Compliant", false);
    assert_same_tree(&before, &snapshot(&sb.root()));
}

// ------------------------------------------------------------------ check mode

#[test]
fn check_mode_changes_nothing_on_a_drifted_root() {
    let sb = enabled_units_root();
    sb.put("/var/lib/dpkg/status", DPKG_STATUS);
    let motd = sb.put("/etc/motd", "Welcome!\n");
    set_owner_mode(&motd, WEB_UID, WEB_GID, 0o666);
    sb.put("/etc/hosts.equiv", "+ +\n");
    sb.put("/etc/ssh/sshd_config", SSHD_CONFIG);
    symlink("/etc/motd", sb.host("/etc/issue")).unwrap();
    let steps = [
        ("motd", "rampart:file", MOTD_WANTED),
        (
            "new_file",
            "rampart:file",
            "{path: /etc/issue.net, content: \"x\\n\", mode: '0644'}",
        ),
        (
            "equiv",
            "rampart:file",
            "{path: /etc/hosts.equiv, state: absent}",
        ),
        (
            "link",
            "rampart:file",
            "{path: /etc/issue, content: \"x\\n\"}",
        ),
        ("sshd", "rampart:line", PERMIT_ROOT_NO),
        (
            "sysctl",
            "rampart:line",
            "{path: /etc/sysctl.conf, line: kernel.dmesg_restrict = 1, create: true}",
        ),
        (
            "smb",
            "rampart:service",
            "{names: [smbd, nmbd], state: masked}",
        ),
        (
            "ssh",
            "rampart:package",
            "{names: openssh-server, minimumVersion: '1:9.2p1-2+deb12u5'}",
        ),
        ("telnet", "rampart:package", "{names: telnetd}"),
    ];
    let before = snapshot(&sb.root());

    let (code, record) = run(&sb, "check", &steps);

    assert_eq!(code, 1, "{record:#}");
    assert_eq!(record["summary"]["changed"], 0, "{record:#}");
    for (step, _, _) in &steps {
        let want = if *step == "link" {
            "Failed"
        } else {
            "NonCompliant"
        };
        for r in record["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["step"] == *step)
        {
            assert_resource(r, want, false);
        }
    }
    assert_same_tree(&before, &snapshot(&sb.root()));
}
