//! The .deb and .rpm as an operator receives them, and the gold-image steps.
//!
//! `packaging/build.sh` packages the binary under test (the same script a
//! release uses, with `--binary`), then the real tools inspect the result:
//! `dpkg-deb` and `rpm` for paths, modes, conffiles and scripts, `lintian`
//! for Debian policy, and `dpkg --root` for an install, upgrade, remove and
//! purge cycle in a throw-away root whose maintainer scripts run for real.
//! The installed unit's own command line is then started with a real
//! NOTIFY_SOCKET to see the READY=1 that Type=notify waits for.
//!
//! tests/run.sh installs what these need (cargo-deb, cargo-generate-rpm,
//! lintian, rpm, init-system-helpers). The dpkg cycle needs root, as the
//! maintainer scripts chown the state directory.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Sandbox;

const RAMPART: &str = env!("CARGO_BIN_EXE_rampart");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (tests/run.sh installs the tools)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).unwrap()
}

struct Packages {
    deb: PathBuf,
    rpm: PathBuf,
}

/// Builds both packages of the test binary with Debian revision / rpm
/// release `revision` into `out`.
fn build(out: &Path, revision: u32) -> Packages {
    let text = stdout(
        Command::new(repo().join("packaging/build.sh"))
            .arg("--binary")
            .arg(RAMPART)
            .arg("--revision")
            .arg(revision.to_string())
            .arg("--fast")
            .arg("--out")
            .arg(out),
    );
    // One line per package: "PATH SIZE".
    let paths: Vec<PathBuf> = text
        .lines()
        .map(|l| PathBuf::from(l.rsplit_once(' ').unwrap().0))
        .collect();
    let find = |ext: &str| {
        paths
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == ext))
            .unwrap_or_else(|| panic!("build.sh printed no .{ext}: {text}"))
            .clone()
    };
    Packages {
        deb: find("deb"),
        rpm: find("rpm"),
    }
}

/// Revision 1 of both packages, built once for the tests that only read them.
fn packages() -> &'static Packages {
    static BUILT: OnceLock<(tempfile::TempDir, Packages)> = OnceLock::new();
    &BUILT
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let p = build(dir.path(), 1);
            (dir, p)
        })
        .1
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The shipped documents, read from the source tree (what must be packaged).
fn shipped_documents() -> Vec<String> {
    let mut out = Vec::new();
    for (dir, ext, dest) in [
        ("documents", "yml", "usr/share/rampart/documents"),
        ("documents/ssm", "json", "usr/share/rampart/documents/ssm"),
    ] {
        for e in fs::read_dir(repo().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == ext) {
                out.push(format!(
                    "{dest}/{}",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(
        out.len() >= 4,
        "documents/ should hold the shipped documents: {out:?}"
    );
    out
}

/// Every path the packages must install, without the leading slash.
fn expected_files() -> Vec<String> {
    let mut files: Vec<String> = [
        "usr/bin/rampart",
        "etc/rampart/rampart.toml",
        "etc/rampart/associations.d/README",
        "usr/share/man/man1/rampart.1.gz",
        "usr/share/man/man1/rampart-agent.1.gz",
        "usr/share/man/man1/rampart-check.1.gz",
        "usr/share/bash-completion/completions/rampart",
        "usr/share/fish/vendor_completions.d/rampart.fish",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    files.extend(shipped_documents());
    files
}

/// `dpkg-deb -c`: path -> (mode string, owner/group).
fn deb_listing(deb: &Path) -> BTreeMap<String, (String, String)> {
    stdout(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let path = f[5]
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            (path, (f[0].to_string(), f[1].to_string()))
        })
        .collect()
}

#[test]
fn deb_holds_every_file_with_its_mode_conffiles_and_scripts() {
    let deb = &packages().deb;
    let files = deb_listing(deb);
    for want in expected_files() {
        let (mode, owner) = files
            .get(&want)
            .unwrap_or_else(|| panic!("{want} missing from the .deb: {:?}", files.keys()));
        // cargo-deb records numeric owners.
        assert!(
            owner == "0/0" || owner == "root/root",
            "{want} owned by {owner}"
        );
        let want_mode = if want == "usr/bin/rampart" {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!(mode, want_mode, "{want}");
    }
    assert!(
        files.contains_key("lib/systemd/system/rampart.service"),
        "{:?}",
        files.keys()
    );
    assert!(files.contains_key("usr/share/zsh/vendor-completions/_rampart"));

    let field = |name: &str| {
        stdout(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name))
            .trim()
            .to_string()
    };
    assert_eq!(field("Package"), "rampart");
    assert_eq!(field("Version"), format!("{}-1", version()));
    assert_eq!(field("Architecture"), "amd64");

    let control = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb")
        .arg("-e")
        .arg(deb)
        .arg(control.path()));
    let mut conffiles: Vec<String> = fs::read_to_string(control.path().join("conffiles"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    conffiles.sort();
    assert_eq!(
        conffiles,
        [
            "/etc/rampart/associations.d/README",
            "/etc/rampart/rampart.toml"
        ]
    );
    for script in ["postinst", "prerm", "postrm"] {
        let p = control.path().join(script);
        let mode = fs::metadata(&p)
            .unwrap_or_else(|_| panic!("{script} missing"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{script} must be executable");
        // The packaged script is the one in the source tree.
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            fs::read_to_string(repo().join("packaging/deb").join(script)).unwrap()
        );
        run(Command::new("sh").arg("-n").arg(&p));
    }

    // The packaged binary is the one under test, stripped.
    let unpacked = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(deb)
        .arg(unpacked.path()));
    let bin = unpacked.path().join("usr/bin/rampart");
    let v = stdout(Command::new(&bin).arg("--version"));
    assert_eq!(v.trim(), format!("rampart {}", version()));
    let symbols = stdout(Command::new("readelf").arg("-S").arg(&bin));
    assert!(
        !symbols.contains(".symtab"),
        "the packaged binary is not stripped"
    );
    // The shipped config is valid as shipped.
    run(Command::new(&bin)
        .arg("--config")
        .arg(unpacked.path().join("etc/rampart/rampart.toml"))
        .arg("validate")
        .arg("Rampart-ShellExample"));
}

#[test]
fn rpm_holds_every_file_with_its_mode_config_flags_and_scriptlets() {
    let rpm = &packages().rpm;
    let q = |fmt: &str| stdout(Command::new("rpm").arg("-qp").arg("--qf").arg(fmt).arg(rpm));
    assert_eq!(
        q("%{NAME} %{VERSION} %{RELEASE}"),
        format!("rampart {} 1", version())
    );
    // rpm before 4.14 (Amazon Linux 2, RHEL 7) reads xz payloads, not zstd.
    assert_eq!(q("%{PAYLOADCOMPRESSOR}"), "xz");

    let listed = stdout(Command::new("rpm").arg("-qlp").arg(rpm));
    let listed: Vec<&str> = listed.lines().collect();
    // path -> (perms, user, group, flags). %{FILEFLAGS:fflags}: c config,
    // n noreplace, d doc.
    let files: BTreeMap<String, (String, String, String, String)> =
        q("[%{FILENAMES}\t%{FILEMODES:perms}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEFLAGS:fflags}\n]")
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[0].trim_start_matches('/').to_string(),
                    (f[1].to_string(), f[2].to_string(), f[3].to_string(), f[4].to_string()),
                )
            })
            .collect();
    for want in expected_files() {
        assert!(
            listed.contains(&format!("/{want}").as_str()),
            "{want} missing from rpm -qlp: {listed:?}"
        );
        let (perms, user, group, flags) = &files[&want];
        assert_eq!((user.as_str(), group.as_str()), ("root", "root"), "{want}");
        let want_perms = if want == "usr/bin/rampart" {
            "-rwxr-xr-x"
        } else {
            "-rw-r--r--"
        };
        assert_eq!(perms, want_perms, "{want}");
        if want.starts_with("etc/") {
            assert!(
                flags.contains('c') && flags.contains('n'),
                "{want} must be %config(noreplace): {flags}"
            );
        } else {
            assert!(!flags.contains('c'), "{want} must not be a config file");
        }
    }
    assert!(files.contains_key("usr/lib/systemd/system/rampart.service"));

    let scripts = stdout(Command::new("rpm").arg("-qp").arg("--scripts").arg(rpm));
    for (tag, source) in [
        ("postinstall", "post.sh"),
        ("preuninstall", "preun.sh"),
        ("postuninstall", "postun.sh"),
    ] {
        assert!(
            scripts.contains(&format!("{tag} scriptlet")),
            "no {tag} scriptlet:\n{scripts}"
        );
        let body = fs::read_to_string(repo().join("packaging/rpm").join(source)).unwrap();
        let first = body
            .lines()
            .find(|l| !l.starts_with('#') && !l.trim().is_empty())
            .unwrap();
        assert!(
            scripts.contains(first),
            "{tag} does not hold {source}:\n{scripts}"
        );
    }
}

#[test]
fn lintian_finds_no_errors_in_the_deb() {
    // --fail-on error: warnings are printed (and read by people), errors fail.
    let out = Command::new("lintian")
        .arg("--fail-on")
        .arg("error")
        .arg("--no-tag-display-limit")
        .arg(&packages().deb)
        .output()
        .expect("lintian (tests/run.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "lintian reported errors:\n{text}");
    assert!(!text.lines().any(|l| l.starts_with("E:")), "{text}");
}

/// An empty dpkg database under `root`, enough for `dpkg --root`.
fn dpkg_root(root: &Path) {
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
        "var/log",
        "etc/systemd/system",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    fs::write(root.join("var/lib/dpkg/available"), "").unwrap();
}

/// `dpkg --root` with the maintainer scripts run from the host with
/// DPKG_ROOT set (the root has no shell of its own), as image builders do.
/// --force-depends: the empty root has no libc6 to satisfy Depends.
fn dpkg(root: &Path) -> Command {
    let mut cmd = Command::new("dpkg");
    cmd.arg("--root")
        .arg(root)
        .arg("--force-script-chrootless")
        .arg("--force-depends");
    cmd
}

fn installed_version(root: &Path) -> String {
    stdout(
        Command::new("dpkg-query")
            .arg("--root")
            .arg(root)
            .arg("-W")
            .arg("-f=${Version} ${Status}")
            .arg("rampart"),
    )
}

#[test]
fn deb_install_upgrade_remove_and_purge_keep_config_and_state_as_promised() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    dpkg_root(&root);
    let wants = root.join("etc/systemd/system/multi-user.target.wants/rampart.service");

    run(dpkg(&root).arg("-i").arg(&packages().deb));
    assert_eq!(
        installed_version(&root),
        format!("{}-1 install ok installed", version())
    );
    let state = root.join("var/lib/rampart");
    assert_eq!(
        fs::metadata(&state).unwrap().permissions().mode() & 0o7777,
        0o700,
        "state dir mode"
    );
    assert!(
        fs::symlink_metadata(&wants).is_ok(),
        "first install must enable the unit"
    );
    for f in expected_files() {
        assert!(root.join(&f).exists(), "{f} not installed");
    }

    // An operator edits the config, adds an association, and the agent has
    // results in its spool.
    let config = root.join("etc/rampart/rampart.toml");
    let edited = format!(
        "{}\n# edited by the operator\n",
        fs::read_to_string(&config).unwrap()
    );
    fs::write(&config, &edited).unwrap();
    let assoc = root.join("etc/rampart/associations.d/baseline.yml");
    fs::write(
        &assoc,
        "name: baseline\ndocument: Rampart-LinuxBaseline\nschedule: rate(1 hour)\n",
    )
    .unwrap();
    fs::create_dir_all(state.join("outbox")).unwrap();
    fs::write(state.join("outbox/pending.json"), "{}").unwrap();

    // Upgrade to revision 2: config, association and state survive, and the
    // unit stays enabled.
    let rev2 = build(&work.path().join("rev2"), 2);
    run(dpkg(&root).arg("-i").arg(&rev2.deb));
    assert_eq!(
        installed_version(&root),
        format!("{}-2 install ok installed", version())
    );
    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        edited,
        "upgrade replaced the edited config"
    );
    assert!(
        assoc.exists() && state.join("outbox/pending.json").exists(),
        "upgrade lost state"
    );
    assert!(
        fs::symlink_metadata(&wants).is_ok(),
        "upgrade must keep the unit enabled"
    );

    // Remove: program gone, configuration and state kept.
    run(dpkg(&root).arg("--remove").arg("rampart"));
    assert!(!root.join("usr/bin/rampart").exists());
    assert!(config.exists() && state.join("outbox/pending.json").exists());
    assert!(installed_version(&root).contains("config-files"));

    // Purge: configuration, state and enablement gone. The operator's own
    // association file is not dpkg's to delete and stays.
    run(dpkg(&root).arg("--purge").arg("rampart"));
    assert!(!config.exists(), "purge left rampart.toml");
    assert!(!state.exists(), "purge left the state directory");
    assert!(
        fs::symlink_metadata(&wants).is_err(),
        "purge left the unit enabled"
    );
    assert!(assoc.exists());
    let gone = Command::new("dpkg-query")
        .arg("--root")
        .arg(&root)
        .arg("-W")
        .arg("rampart")
        .output()
        .unwrap();
    assert!(!gone.status.success() || String::from_utf8_lossy(&gone.stdout).trim() == "rampart");
}

/// The ExecStart= of the packaged unit.
/// The .deb unpacked into `<work>/root`, and its systemd unit's text.
fn unpacked_deb() -> (tempfile::TempDir, PathBuf, String) {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&packages().deb)
        .arg(&root));
    let unit = fs::read_to_string(root.join("lib/systemd/system/rampart.service")).unwrap();
    (work, root, unit)
}

fn exec_start(unit: &str) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    line.split_whitespace().map(String::from).collect()
}

#[test]
fn the_installed_units_command_line_signals_ready_and_stops_on_sigterm() {
    let (work, root, unit) = unpacked_deb();
    assert!(
        unit.contains("\nType=notify\n") && unit.contains("\nRestartPreventExitStatus=2\n"),
        "{unit}"
    );

    // The unit's command line, with its absolute paths moved into the root.
    let argv: Vec<String> = exec_start(&unit)
        .into_iter()
        .map(|a| {
            if a.starts_with('/') {
                root.join(a.trim_start_matches('/')).display().to_string()
            } else {
                a
            }
        })
        .collect();
    assert_eq!(argv[1], "agent", "{argv:?}");
    fs::create_dir_all(root.join("var/lib/rampart")).unwrap();

    let socket_path = work.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .arg("--root")
        .arg(&root)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut messages = Vec::new();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    while !messages
        .iter()
        .any(|m: &String| m.lines().any(|l| l == "READY=1"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no READY=1: {messages:?}"
        );
        let n = socket.recv(&mut buf).expect("a message on NOTIFY_SOCKET");
        messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM must stop the agent cleanly: {err}"
    );
}

#[test]
fn systemd_accepts_the_unit() {
    // systemd-analyze checks every directive and that ExecStart= is
    // executable. The packaged unit is checked with one change: ExecStart
    // points at the packaged binary where it was unpacked, not /usr/bin.
    // (systemd-analyze only warns about an unknown value, so any line that
    // names the unit fails the test.)
    let (work, root, unit) = unpacked_deb();
    let bin = root.join("usr/bin/rampart");
    let checked = work.path().join("rampart.service");
    fs::write(
        &checked,
        unit.replace("/usr/bin/rampart", &bin.display().to_string()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg("--man=no")
        .arg(&checked)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify:\n{text}");
    let about_rampart: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("rampart.service"))
        .collect();
    assert!(about_rampart.is_empty(), "systemd-analyze verify:\n{text}");
}

#[test]
fn prepare_image_leaves_no_instance_state_and_keeps_the_configuration() {
    let sb = Sandbox::new();
    // Real state, made by real runs: a result in the outbox and step scripts
    // from `apply`, agent state from a short agent run.
    let doc = sb.doc(
        "doc.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: hello\n  inputs: {runCommand: ['echo hello']}\n",
    );
    let state = sb.host("/var/lib/rampart");
    fs::create_dir_all(&state).unwrap();
    run(Command::new(RAMPART)
        .arg("apply")
        .arg(&doc)
        .arg("--root")
        .arg(sb.root())
        .arg("--state-dir")
        .arg(&state));
    assert!(
        state.join("outbox").exists() && state.join("scripts").exists(),
        "apply wrote no state"
    );
    fs::write(state.join("reboot-pending.json"), "{}").unwrap();
    fs::write(state.join(".rampart-interrupted.tmp"), "").unwrap();
    let config = sb.put("/etc/rampart/rampart.toml", "");
    let assoc = sb.put(
        "/etc/rampart/associations.d/a.yml",
        "name: a\ndocument: Rampart-LinuxBaseline\nschedule: rate(1 day)\n",
    );
    // A real agent run, stopped as systemd stops it: whatever it leaves
    // (state file, its lock) must be state prepare-image knows.
    let mut agent = Command::new(RAMPART)
        .arg("agent")
        .arg("--config-dir")
        .arg(sb.host("/etc/rampart"))
        .arg("--state-dir")
        .arg(&state)
        .arg("--root")
        .arg(sb.root())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fs::read_to_string(state.join("agent/state.json")).is_ok_and(|t| t.contains("\"a\"")) {
        assert!(Instant::now() < deadline, "the agent wrote no state");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(agent.wait().unwrap().success());

    let prepare = |extra: &[&str]| {
        Command::new(RAMPART)
            .arg("prepare-image")
            .arg("--root")
            .arg(sb.root())
            .args(extra)
            .output()
            .unwrap()
    };

    // --dry-run removes nothing.
    let out = prepare(&["--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(state.join("outbox").exists());

    // An entry Rampart does not know is listed and kept (exit 1).
    fs::write(state.join("operator-notes.txt"), "mine").unwrap();
    let out = prepare(&[]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("operator-notes.txt"), "{text}");
    let left: Vec<String> = fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["operator-notes.txt"],
        "prepare-image left instance state"
    );
    assert!(
        config.exists() && assoc.exists(),
        "prepare-image must keep the configuration"
    );

    // Clean now: exit 0.
    fs::remove_file(state.join("operator-notes.txt")).unwrap();
    assert_eq!(prepare(&[]).status.code(), Some(0));

    // The running host's / needs --yes; nothing is touched without it.
    let out = Command::new(RAMPART)
        .arg("prepare-image")
        .arg("--root")
        .arg("/")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
