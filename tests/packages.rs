//! `rampart:package` enforcement and the shipped `Rampart-DisableSMB`
//! document, run by the real binary against throw-away dpkg roots.
//!
//! The packages are tiny `.deb` files built here with `dpkg-deb --build` and
//! installed into the temp root with the real `dpkg --root`; an apt
//! repository is a directory indexed by `dpkg-scanpackages`. Every outcome
//! is confirmed with the tools themselves: `dpkg-query` for package state
//! and version, `systemctl --root` for unit state.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::debs::{apt_repository, dpkg_install, dpkg_query, dpkg_root, installed_version, Deb};
use common::{detail, only_resource, package_doc, resource, step, Sandbox};

const SAMBA_V1: &str = "2:4.17.12+dfsg-0+deb12u1";
const SAMBA_V2: &str = "2:4.17.12+dfsg-0+deb12u2";
const SAMBA_V3: &str = "2:4.17.13+dfsg-0+deb12u1";
const SAMBA_UNITS: [&str; 3] = ["smbd", "nmbd", "samba-ad-dc"];

/// A fake samba shipping Debian's three unit files.
fn samba(version: &str) -> Deb<'_> {
    let mut d = Deb::new("samba", version);
    for unit in SAMBA_UNITS {
        d.files.push((
            format!("/lib/systemd/system/{unit}.service"),
            format!(
                "[Unit]\nDescription=fake {unit}\n[Service]\nExecStart=/bin/true\n\
                 [Install]\nWantedBy=multi-user.target\n"
            ),
        ));
    }
    d
}

// -------------------------------------------------------------- enforcement

#[test]
fn absent_purges_an_installed_package_through_dpkg() {
    let sb = dpkg_root();
    let debs = sb.dir.path().join("debs");
    let telnetd = Deb::new("telnetd", "0.17+2.4-2").build(&debs);
    dpkg_install(&sb, &[&telnetd]);
    let doc = package_doc(
        &sb,
        "{names: telnetd, state: absent, purge: true, manager: dpkg}",
    );

    let (code, record, _) = sb.run_json("check", &doc, &[]);
    assert_eq!(code, 1, "{record:#}");
    assert_eq!(only_resource(&record)["compliance"], "NonCompliant");
    assert_eq!(
        installed_version(&sb, "telnetd").as_deref(),
        Some("0.17+2.4-2")
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Compliant", "{r:#}");
    assert_eq!(r["changed"], true);
    assert!(detail(r).contains("dpkg --purge telnetd"), "{r:#}");
    // dpkg itself no longer knows the package at all (purged, not just removed).
    let state = dpkg_query(&sb, "telnetd");
    assert!(
        state.as_ref().is_none_or(|(s, _)| s == "not-installed"),
        "{state:?}"
    );
}

#[test]
fn minimum_version_upgrades_from_a_package_file() {
    let sb = dpkg_root();
    let debs = sb.dir.path().join("debs");
    let v1 = samba(SAMBA_V1).build(&debs);
    samba(SAMBA_V2).build(&debs);
    Deb::new("unrelated", "9.9").build(&debs);
    dpkg_install(&sb, &[&v1]);
    let doc = package_doc(
        &sb,
        &format!(
            "{{names: samba, minimumVersion: '{SAMBA_V2}', sources: ['{}']}}",
            debs.display()
        ),
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Compliant", "{r:#}");
    assert_eq!(r["changed"], true);
    assert_eq!(installed_version(&sb, "samba").as_deref(), Some(SAMBA_V2));
    assert_eq!(
        dpkg_query(&sb, "unrelated"),
        None,
        "only samba was installed"
    );
}

#[test]
fn minimum_and_exact_versions_come_from_a_local_apt_repository() {
    let sb = dpkg_root();
    let v1 = samba(SAMBA_V1).build(&sb.dir.path().join("debs"));
    dpkg_install(&sb, &[&v1]);
    apt_repository(&sb, &[samba(SAMBA_V1), samba(SAMBA_V2), samba(SAMBA_V3)]);

    // A minimum installs the newest version the repository offers.
    let doc = package_doc(
        &sb,
        &format!("{{names: samba, minimumVersion: '{SAMBA_V2}'}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert!(detail(only_resource(&record)).contains("apt-get install samba"));
    assert_eq!(installed_version(&sb, "samba").as_deref(), Some(SAMBA_V3));

    // An exact version is installed as asked, even when that is older.
    let doc = package_doc(
        &sb,
        &format!("{{names: samba, version: '{SAMBA_V2}', manager: apt}}"),
    );
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert_eq!(installed_version(&sb, "samba").as_deref(), Some(SAMBA_V2));

    // And apt removes it.
    let doc = package_doc(&sb, "{names: samba, state: absent}");
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    assert_eq!(code, 0, "{record:#}");
    assert!(detail(only_resource(&record)).contains("apt-get remove samba"));
    assert_eq!(installed_version(&sb, "samba"), None);
}

#[test]
fn minimum_the_repository_cannot_meet_fails_and_changes_nothing() {
    let sb = dpkg_root();
    let v1 = samba(SAMBA_V1).build(&sb.dir.path().join("debs"));
    dpkg_install(&sb, &[&v1]);
    apt_repository(&sb, &[samba(SAMBA_V2)]);
    let doc = package_doc(
        &sb,
        &format!("{{names: samba, minimumVersion: '{SAMBA_V3}'}}"),
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Failed");
    assert_eq!(r["changed"], false);
    assert!(
        detail(r).contains(&format!(
            "the newest samba in the configured repositories is {SAMBA_V2}, older than \
             minimumVersion {SAMBA_V3}"
        )),
        "{r:#}"
    );
    assert_eq!(installed_version(&sb, "samba").as_deref(), Some(SAMBA_V1));
}

#[test]
fn a_held_dpkg_lock_is_waited_for_then_reported_with_its_holder() {
    let sb = dpkg_root();
    let debs = sb.dir.path().join("debs");
    let telnetd = Deb::new("telnetd", "0.17+2.4-2").build(&debs);
    dpkg_install(&sb, &[&telnetd]);

    // A real dpkg holds the lock: its preinst waits for a release file.
    let started = sb.dir.path().join("started");
    let release = sb.dir.path().join("release");
    let mut slow = Deb::new("slow", "1.0");
    slow.scripts.push((
        "preinst",
        format!(
            "#!/bin/sh\ntouch '{}'\nfor i in $(seq 300); do [ -e '{}' ] && exit 0; sleep 0.1; done\n",
            started.display(),
            release.display()
        ),
    ));
    let slow = slow.build(&debs);
    let mut holder = Command::new("dpkg")
        .arg(format!("--root={}", sb.root().display()))
        .args(["--force-script-chrootless", "--install"])
        .arg(&slow)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(Instant::now() < deadline, "dpkg never ran the preinst");
        std::thread::sleep(Duration::from_millis(50));
    }

    let doc = package_doc(
        &sb,
        "{names: telnetd, state: absent, manager: dpkg, lockTimeoutSeconds: 1}",
    );
    let t0 = Instant::now();
    let (code, record, _) = sb.run_json("apply", &doc, &[]);
    let waited = t0.elapsed();
    fs::write(&release, "").unwrap();
    assert!(holder.wait().unwrap().success());

    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Failed");
    assert!(
        detail(r).contains(&format!("is held by process {} (dpkg)", holder.id())),
        "{r:#}"
    );
    assert!(detail(r).contains("raise lockTimeoutSeconds"), "{r:#}");
    assert!(waited >= Duration::from_secs(1), "gave up after {waited:?}");
    assert_eq!(
        installed_version(&sb, "telnetd").as_deref(),
        Some("0.17+2.4-2")
    );
    assert_eq!(installed_version(&sb, "slow").as_deref(), Some("1.0"));
}

// ---------------------------------------------------------------- bad input

#[test]
fn unknown_manager_and_bad_versions_are_refused_before_anything_runs() {
    let sb = dpkg_root();
    let doc = sb.doc(
        "bad.yml",
        "schemaVersion: '2.2'\ndescription: bad\nmainSteps:\n\
         - {name: a, action: 'rampart:package', inputs: {names: samba, manager: pacman}}\n\
         - {name: b, action: 'rampart:package', inputs: {names: samba, minimumVersion: '4.17-'}}\n\
         - {name: c, action: 'rampart:package', inputs: {names: samba, version: 'x y'}}\n",
    );

    let out = sb.rampart("apply", &doc).output().unwrap();

    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for want in [
        "step 'a': input 'manager' is 'pacman'; expected one of: auto, apt, dpkg, dnf, yum, zypper, rpm",
        "step 'b': input 'minimumVersion': revision of version '4.17-' is empty",
        "step 'c': input 'version': version 'x y' has embedded spaces",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in:\n{stderr}");
    }
}

#[test]
fn a_manager_of_another_system_is_refused_on_a_dpkg_root() {
    let sb = dpkg_root();
    let telnetd = Deb::new("telnetd", "1.0").build(&sb.dir.path().join("debs"));
    dpkg_install(&sb, &[&telnetd]);
    let doc = package_doc(&sb, "{names: telnetd, state: absent, manager: dnf}");

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 1, "{record:#}");
    let r = only_resource(&record);
    assert_eq!(r["compliance"], "Failed");
    assert!(
        detail(r).contains("manager 'dnf' does not manage this root: it has a dpkg database"),
        "{r:#}"
    );
    assert_eq!(installed_version(&sb, "telnetd").as_deref(), Some("1.0"));
}

// ---------------------------------------------------------------------- SMB

fn systemctl(sb: &Sandbox, args: &[&str]) -> String {
    let out = Command::new("systemctl")
        .arg(format!("--root={}", sb.root().display()))
        .args(args)
        .output()
        .expect("systemctl is installed");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn is_enabled(sb: &Sandbox, unit: &str) -> String {
    systemctl(sb, &["is-enabled", unit])
}

/// The shipped DisableSMB document.
fn disable_smb() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents/Rampart-DisableSMB.yml")
}

/// A root with the fake samba installed by dpkg and its units enabled.
fn samba_root() -> Sandbox {
    let sb = dpkg_root();
    let v1 = samba(SAMBA_V1).build(&sb.dir.path().join("debs"));
    dpkg_install(&sb, &[&v1]);
    systemctl(
        &sb,
        &[
            "enable",
            "smbd.service",
            "nmbd.service",
            "samba-ad-dc.service",
        ],
    );
    for unit in SAMBA_UNITS {
        assert_eq!(is_enabled(&sb, &format!("{unit}.service")), "enabled");
    }
    sb
}

#[test]
fn disable_smb_masks_units_then_check_notices_an_upgrade_that_unmasked() {
    let sb = samba_root();

    let (code, record, _) = sb.run_json("apply", &disable_smb(), &[]);
    assert_eq!(code, 0, "{record:#}");
    for unit in SAMBA_UNITS {
        assert_eq!(is_enabled(&sb, &format!("{unit}.service")), "masked");
    }
    let (code, record, _) = sb.run_json("check", &disable_smb(), &[]);
    assert_eq!(code, 0, "{record:#}");

    // An upgrade whose postinst unmasks smbd, as package scripts may.
    let mut v2 = samba(SAMBA_V2);
    v2.scripts.push((
        "postinst",
        "#!/bin/sh\nset -e\nsystemctl --root=\"$DPKG_ROOT\" unmask smbd.service\n".into(),
    ));
    let v2 = v2.build(&sb.dir.path().join("debs"));
    dpkg_install(&sb, &[&v2]);
    assert_eq!(installed_version(&sb, "samba").as_deref(), Some(SAMBA_V2));
    assert_ne!(is_enabled(&sb, "smbd.service"), "masked");

    let (code, record, _) = sb.run_json("check", &disable_smb(), &[]);

    assert_eq!(code, 1, "{record:#}");
    let masked = record["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == "maskSamba" && r["id"] == "smbd.service")
        .unwrap();
    assert_eq!(masked["compliance"], "NonCompliant", "{masked:#}");
    assert!(detail(masked).contains("want masked"), "{masked:#}");
    assert_eq!(step(&record, "maskSamba")["status"], "Success");
    // The other units kept their masks, and check changed nothing.
    assert_eq!(is_enabled(&sb, "nmbd.service"), "masked");
    assert_ne!(is_enabled(&sb, "smbd.service"), "masked");
}

#[test]
fn disable_smb_can_remove_the_samba_package() {
    let sb = samba_root();

    let (code, record, _) = sb.run_json(
        "apply",
        &disable_smb(),
        &["-p", "removePackages=samba", "-p", "purgePackages=true"],
    );

    assert_eq!(code, 0, "{record:#}");
    let r = resource(&record, "package", "samba");
    assert_eq!(r["compliance"], "Compliant", "{r:#}");
    assert_eq!(r["changed"], true);
    let state = dpkg_query(&sb, "samba");
    assert!(
        state.as_ref().is_none_or(|(s, _)| s == "not-installed"),
        "{state:?}"
    );
    assert!(!sb.host("/lib/systemd/system/smbd.service").exists());
}

#[test]
fn a_newer_file_of_another_architecture_is_not_picked() {
    // Regression: the newest file of any architecture was installed,
    // crossgrading the package.
    let native = String::from_utf8(
        Command::new("dpkg")
            .arg("--print-architecture")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let foreign = if native == "arm64" { "amd64" } else { "arm64" };
    let sb = dpkg_root();
    let out = Command::new("dpkg")
        .arg(format!("--root={}", sb.root().display()))
        .args(["--add-architecture", foreign])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let debs = sb.dir.path().join("debs");
    let build = |version: &'static str, arch: &'static str| {
        let mut d = Deb::new("tool", version);
        d.fields.push(("Architecture", arch));
        d.build(&debs)
    };
    let native: &'static str = Box::leak(native.into_boxed_str());
    let v1 = build("1.0-1", native);
    build("1.1-1", native);
    build("1.2-1", foreign);
    dpkg_install(&sb, &[&v1]);
    let doc = package_doc(
        &sb,
        &format!(
            "{{names: tool, minimumVersion: '1.1', manager: dpkg, sources: ['{}']}}",
            debs.display()
        ),
    );

    let (code, record, _) = sb.run_json("apply", &doc, &[]);

    assert_eq!(code, 0, "{record:#}");
    let q = Command::new("dpkg-query")
        .arg(format!("--admindir={}", sb.host("/var/lib/dpkg").display()))
        .args([
            "-W",
            "-f",
            "${Package}:${Architecture} ${Version}\n",
            "tool",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&q.stdout),
        format!("tool:{native} 1.1-1\n")
    );
}
