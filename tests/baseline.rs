//! The shipped Linux baseline against a Debian-like test root: what CIS says
//! is wrong is reported, apply fixes it, and a second check is clean.

mod common;

use std::fs;
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::{resource, step, Sandbox};

fn baseline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents/Rampart-LinuxBaseline.yml")
}

/// A small Debian-like root with typical drift: world-readable shadow, root
/// login allowed (twice, and inside a Match block), no sysctl drop-in.
fn drifted_root(sb: &Sandbox) {
    sb.put(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    );
    sb.put("/etc/group", "root:x:0:\nshadow:x:42:\nalice:x:1000:\n");
    let shadow = sb.put(
        "/etc/shadow",
        "root:*:19000:0:99999:7:::\nalice:$6$x$y:19000:0:99999:7:::\n",
    );
    fs::set_permissions(&shadow, fs::Permissions::from_mode(0o644)).unwrap();
    let gshadow = sb.put("/etc/gshadow", "root:*::\nshadow:*::\n");
    chown(&gshadow, Some(0), Some(42)).unwrap();
    fs::set_permissions(&gshadow, fs::Permissions::from_mode(0o640)).unwrap();
    sb.put(
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\n#PermitRootLogin prohibit-password\nPermitRootLogin yes\nX11Forwarding yes\n\nMatch User backup\n    X11Forwarding yes\n",
    );
    sb.put(
        "/etc/security/limits.conf",
        "# /etc/security/limits.conf\n#*               soft    core            0\n",
    );
    sb.put(
        "/var/lib/dpkg/status",
        "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2+deb12u3\nDescription: secure shell server\n\n",
    );
    fs::create_dir_all(sb.host("/etc/sysctl.d")).unwrap();
}

#[test]
fn check_reports_the_drift_cis_describes() {
    let sb = Sandbox::new();
    drifted_root(&sb);
    let (code, rec, _) = sb.run_json("check", &baseline(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        resource(&rec, "file", "/etc/shadow")["compliance"],
        "NonCompliant"
    );
    assert!(resource(&rec, "file", "/etc/shadow")["detail"]
        .as_str()
        .unwrap()
        .contains("mode is 0644, want 0640"));
    assert!(resource(&rec, "file", "/etc/shadow")["detail"]
        .as_str()
        .unwrap()
        .contains("group is root, want shadow"));
    assert_eq!(
        resource(&rec, "file", "/etc/gshadow")["compliance"],
        "Compliant"
    );
    assert_eq!(
        resource(&rec, "line", "/etc/ssh/sshd_config: PermitRootLogin no")["compliance"],
        "NonCompliant"
    );
    assert_eq!(
        resource(&rec, "package", "telnetd")["compliance"],
        "Compliant"
    );
    assert_eq!(step(&rec, "loadSysctl")["status"], "Skipped");
    assert_eq!(
        resource(&rec, "script", "onlyRootHasUid0")["compliance"],
        "Compliant"
    );
}

#[test]
fn apply_fixes_everything_and_a_second_check_is_clean() {
    let sb = Sandbox::new();
    drifted_root(&sb);
    let (code, rec, out) = sb.run_json("apply", &baseline(), &[]);
    assert_eq!(code, 0, "{rec:#}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rec["status"], "Success");

    let shadow = fs::metadata(sb.host("/etc/shadow")).unwrap();
    assert_eq!(
        (shadow.mode() & 0o7777, shadow.uid(), shadow.gid()),
        (0o640, 0, 42)
    );
    // sshd takes the first value it reads: exactly one top-level setting,
    // where the commented default was; missing settings go directly before
    // the Match block (stopAt), which stays untouched.
    let sshd = fs::read_to_string(sb.host("/etc/ssh/sshd_config")).unwrap();
    assert_eq!(
        sshd,
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nX11Forwarding no\n\nMaxAuthTries 4\nPermitEmptyPasswords no\nIgnoreRhosts yes\nHostbasedAuthentication no\nLoginGraceTime 60\nMatch User backup\n    X11Forwarding yes\n"
    );
    let sysctl = fs::read_to_string(sb.host("/etc/sysctl.d/60-rampart-hardening.conf")).unwrap();
    for want in [
        "net.ipv4.ip_forward = 0",
        "net.ipv4.tcp_syncookies = 1",
        "fs.suid_dumpable = 0",
    ] {
        assert!(
            sysctl.lines().any(|l| l == want),
            "{want} missing from:\n{sysctl}"
        );
    }

    let (code, rec, _) = sb.run_json("check", &baseline(), &[]);
    assert_eq!(code, 0, "{rec:#}");
    assert_eq!(rec["summary"]["nonCompliant"], 0);
    assert_eq!(rec["summary"]["failed"], 0);
}

#[test]
fn parameters_change_what_is_enforced() {
    let sb = Sandbox::new();
    drifted_root(&sb);
    let (code, _, _) = sb.run_json("apply", &baseline(), &["-p", "ipForward=1"]);
    assert_eq!(code, 0);
    let sysctl = fs::read_to_string(sb.host("/etc/sysctl.d/60-rampart-hardening.conf")).unwrap();
    assert!(
        sysctl.lines().any(|l| l == "net.ipv4.ip_forward = 1"),
        "{sysctl}"
    );
}

#[test]
fn installed_legacy_service_and_empty_password_are_non_compliant() {
    let sb = Sandbox::new();
    drifted_root(&sb);
    sb.put(
        "/var/lib/dpkg/status",
        "Package: telnetd\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.17+2.4-2\n\n",
    );
    sb.put(
        "/etc/shadow",
        "root:*:19000:0:99999:7:::\nalice::19000:0:99999:7:::\n",
    );
    let (code, rec, _) = sb.run_json("check", &baseline(), &[]);
    assert_eq!(code, 1);
    let telnetd = resource(&rec, "package", "telnetd");
    assert_eq!(telnetd["compliance"], "NonCompliant");
    assert!(telnetd["detail"].as_str().unwrap().contains("0.17+2.4-2"));
    let empty = resource(&rec, "script", "noEmptyPasswords");
    assert_eq!(empty["compliance"], "NonCompliant");
    assert!(
        empty["detail"].as_str().unwrap().contains("alice"),
        "{empty}"
    );
}

#[test]
fn a_setting_inside_a_match_block_is_not_taken_for_the_global_one() {
    // Regression: `\s?` in the baseline's match let the one-space-indented
    // line of a Match block count as the global PermitRootLogin; it was
    // rewritten inside the block and sshd kept its default globally.
    let sb = Sandbox::new();
    drifted_root(&sb);
    sb.put(
        "/etc/ssh/sshd_config",
        "Port 22\nMatch Address 10.0.0.0/8\n PermitRootLogin yes\n",
    );
    let (_, rec, _) = sb.run_json("apply", &baseline(), &[]);
    assert_eq!(
        resource(&rec, "line", "/etc/ssh/sshd_config: PermitRootLogin no")["changed"],
        true
    );

    // sshd reads the first value: the global one now comes before the
    // block, and the block is as it was.
    let sshd = fs::read_to_string(sb.host("/etc/ssh/sshd_config")).unwrap();
    let global = sshd.split("Match ").next().unwrap();
    assert!(global.contains("PermitRootLogin no\n"), "{sshd}");
    assert!(
        sshd.ends_with("Match Address 10.0.0.0/8\n PermitRootLogin yes\n"),
        "{sshd}"
    );
    let (_, rec, _) = sb.run_json("check", &baseline(), &[]);
    assert_eq!(
        resource(&rec, "line", "/etc/ssh/sshd_config: PermitRootLogin no")["compliance"],
        "Compliant"
    );
}
