//! Bad input is refused up front: a clear message naming the file, step or
//! parameter, exit code 2, and nothing executed (no step ran, no run was
//! recorded).

mod common;

use std::path::Path;

use common::Sandbox;

/// A first step that would leave a marker file if anything ran.
fn marker_step(sb: &Sandbox) -> String {
    let marker = sb.dir.path().join("ran");
    format!(
        "  - action: aws:runShellScript\n    name: touchMarker\n    inputs:\n      runCommand: ['touch {}']\n",
        marker.display()
    )
}

/// Runs `apply` and asserts exit 2, nothing ran, nothing recorded; returns stderr.
fn refused(sb: &Sandbox, doc: &Path, args: &[&str]) -> String {
    let out = sb.rampart("apply", doc).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        !sb.dir.path().join("ran").exists(),
        "a step ran despite invalid input"
    );
    let outbox = sb.state().join("outbox");
    let runs = std::fs::read_dir(&outbox).map(|d| d.count()).unwrap_or(0);
    assert_eq!(runs, 0, "a run was recorded for invalid input");
    stderr
}

#[test]
fn malformed_yaml_names_the_file_and_position() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "broken.yml",
        "schemaVersion: '2.2'\nmainSteps:\n  - action: x\n   name: [unclosed\n",
    );
    let err = refused(&sb, &doc, &[]);
    assert!(err.contains("broken.yml"), "{err}");
    assert!(err.contains("not valid YAML"), "{err}");
    assert!(err.contains("line"), "position missing: {err}");
}

#[test]
fn malformed_json_names_the_file_and_position() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "broken.json",
        "{\"schemaVersion\": \"2.2\", \"mainSteps\": [}\n",
    );
    let err = refused(&sb, &doc, &[]);
    assert!(
        err.contains("broken.json") && err.contains("not valid JSON"),
        "{err}"
    );
    assert!(err.contains("line 1 column"), "{err}");
}

#[test]
fn unknown_action_names_step_and_action_and_runs_nothing_before_it() {
    let sb = Sandbox::new();
    let text = format!(
        "schemaVersion: '2.2'\nmainSteps:\n{}  - action: aws:runPowerShellScript\n    name: winStep\n    inputs: {{runCommand: [dir]}}\n",
        marker_step(&sb)
    );
    let err = refused(&sb, &sb.doc("d.yml", &text), &[]);
    assert!(
        err.contains("step 'winStep': unknown action 'aws:runPowerShellScript'"),
        "{err}"
    );
}

#[test]
fn wrong_parameter_type_is_named() {
    let sb = Sandbox::new();
    let text = format!(
        "schemaVersion: '2.2'\nparameters:\n  retries: {{type: Integer, default: 3}}\nmainSteps:\n{}",
        marker_step(&sb)
    );
    let err = refused(&sb, &sb.doc("d.yml", &text), &["--param", "retries=three"]);
    assert!(
        err.contains("parameter 'retries' must be a whole number (Integer), got 'three'"),
        "{err}"
    );
}

#[test]
fn missing_required_and_unknown_parameters_are_named_together() {
    let sb = Sandbox::new();
    let text = format!(
        "schemaVersion: '2.2'\nparameters:\n  target: {{type: String}}\nmainSteps:\n{}",
        marker_step(&sb)
    );
    let err = refused(&sb, &sb.doc("d.yml", &text), &["-p", "tagret=x"]);
    assert!(
        err.contains("unknown parameter 'tagret' (this document takes: target)"),
        "{err}"
    );
    assert!(
        err.contains("parameter 'target' is required and has no default"),
        "{err}"
    );
}

#[test]
fn parameter_constraints_are_enforced_before_running() {
    let sb = Sandbox::new();
    let text = format!(
        "schemaVersion: '2.2'\nparameters:\n  level: {{type: String, default: low, allowedValues: [low, high]}}\nmainSteps:\n{}",
        marker_step(&sb)
    );
    let err = refused(&sb, &sb.doc("d.yml", &text), &["-p", "level=medium"]);
    assert!(
        err.contains("'medium' is not one of the allowed values (low, high)"),
        "{err}"
    );
}

#[test]
fn duplicate_step_names_are_named() {
    let sb = Sandbox::new();
    let step = marker_step(&sb);
    let text = format!("schemaVersion: '2.2'\nmainSteps:\n{step}{step}");
    let err = refused(&sb, &sb.doc("d.yml", &text), &[]);
    assert!(
        err.contains("step name 'touchMarker' is used more than once"),
        "{err}"
    );
}

#[test]
fn invalid_regex_names_step_and_input() {
    let sb = Sandbox::new();
    let text = format!(
        "schemaVersion: '2.2'\nmainSteps:\n{}  - action: rampart:line\n    name: sshdRoot\n    inputs: {{path: /etc/ssh/sshd_config, match: '(PermitRootLogin', line: PermitRootLogin no}}\n",
        marker_step(&sb)
    );
    let err = refused(&sb, &sb.doc("d.yml", &text), &[]);
    assert!(
        err.contains("step 'sshdRoot': input 'match' is not a valid regular expression"),
        "{err}"
    );
}

#[test]
fn unknown_placeholder_names_step_and_placeholder() {
    let sb = Sandbox::new();
    let text = "schemaVersion: '2.2'\nmainSteps:\n  - action: aws:runShellScript\n    name: greet\n    inputs: {runCommand: ['echo {{ nmae }}']}\n";
    let err = refused(&sb, &sb.doc("d.yml", text), &[]);
    assert!(
        err.contains("step 'greet': '{{ nmae }}' names no parameter of this document"),
        "{err}"
    );
}

#[test]
fn unknown_input_and_out_of_range_timeout_are_named() {
    let sb = Sandbox::new();
    let text = format!(
        "schemaVersion: '2.2'\nmainSteps:\n{}  - action: aws:runShellScript\n    name: slow\n    inputs: {{runCommand: [true], timeoutSeconds: 2}}\n  - action: rampart:file\n    name: motd\n    inputs: {{path: /etc/motd, mdoe: '0644'}}\n",
        marker_step(&sb)
    );
    let err = refused(&sb, &sb.doc("d.yml", &text), &[]);
    assert!(
        err.contains("step 'slow': input 'timeoutSeconds' must be a whole number from 5 to 172800"),
        "{err}"
    );
    assert!(err.contains("step 'motd': unknown input 'mdoe'"), "{err}");
}

#[test]
fn unsupported_schema_version_is_named() {
    let sb = Sandbox::new();
    let err = refused(
        &sb,
        &sb.doc("d.yml", "schemaVersion: '0.3'\nmainSteps: []\n"),
        &[],
    );
    assert!(
        err.contains("schemaVersion '0.3' is not supported"),
        "{err}"
    );
}

#[test]
fn missing_document_lists_builtins() {
    let sb = Sandbox::new();
    let err = refused(&sb, Path::new("no-such-doc.yml"), &[]);
    assert!(
        err.contains("document 'no-such-doc.yml' is neither a file nor a built-in document"),
        "{err}"
    );
    assert!(err.contains("Rampart-LinuxBaseline"), "{err}");
}

#[test]
fn missing_root_is_a_usage_error() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "d.yml",
        &format!("schemaVersion: '2.2'\nmainSteps:\n{}", marker_step(&sb)),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "apply",
            doc.to_str().unwrap(),
            "--root",
            "/nonexistent/root",
            "--state-dir",
        ])
        .arg(sb.state())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--root /nonexistent/root"));
    assert!(!sb.dir.path().join("ran").exists());
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["check", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn validate_accepts_the_shipped_documents() {
    let sb = Sandbox::new();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents");
    let mut paths: Vec<_> = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.extend(
        std::fs::read_dir(docs.join("ssm"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    for path in paths {
        if path.extension().is_some_and(|e| e == "yml" || e == "json") {
            let mut cmd = sb.rampart("validate", &path);
            if path.ends_with("Rampart-InstallSecretFile.yml") {
                cmd.args([
                    "-p",
                    "parameterName=/web/key",
                    "-p",
                    "path=/etc/web/key.pem",
                ]);
            }
            let out = cmd.output().unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn a_command_id_that_cannot_be_a_key_component_is_a_usage_error() {
    // Regression: these exited 4 (Rampart's own failure) after starting.
    let sb = Sandbox::new();
    let doc = sb.doc(
        "ok.yml",
        &format!("schemaVersion: '2.2'\nmainSteps:\n{}", marker_step(&sb)),
    );
    let long = "a".repeat(300);
    for id in ["../../x", "", long.as_str()] {
        let err = refused(&sb, &doc, &["--command-id", id]);
        assert!(
            err.contains("must be 1-128 letters, digits, '-', '_' and '.'"),
            "{id}: {err}"
        );
    }
}

#[test]
fn empty_paths_and_parameters_fail_validation_not_the_run() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "empty.yml",
        &[
            "schemaVersion: '2.2'\nmainSteps:\n",
            &marker_step(&sb),
            "  - action: rampart:file\n    name: f\n    inputs: {path: '', content: x}\n",
            "  - action: rampart:secretFile\n    name: s\n",
            "    inputs: {parameter: '', path: /etc/keep/}\n",
        ]
        .concat(),
    );
    let err = refused(&sb, &doc, &[]);
    assert!(err.contains("step 'f': input 'path' is empty"), "{err}");
    assert!(
        err.contains("step 's': input 'parameter' is empty"),
        "{err}"
    );
    assert!(err.contains("step 's': input 'path' ends in '/'"), "{err}");
}

/// A tmpfs of `size` mounted on a new folder, unmounted when dropped: a
/// real full disk, not a simulated error.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn new(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mounting a tmpfs needs root (tests/run.sh runs as root): {out:?}"
        );
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[test]
fn a_full_disk_keeps_the_record_drops_the_streams_and_leaves_nothing_half_written() {
    let sb = Sandbox::new();
    let disk = SmallDisk::new("64k");
    let state = disk.0.path().join("state");
    let marker = sb.dir.path().join("s1ran");
    let doc = sb.doc(
        "big.yml",
        &format!(
            "schemaVersion: '2.2'\nmainSteps:\n- name: big\n  action: aws:runShellScript\n  \
             inputs: {{runCommand: ['head -c 200000 /dev/zero | tr \"\\\\0\" a; touch {}']}}\n",
            marker.display()
        ),
    );
    for run in 1..=2 {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampart"))
            .arg("apply")
            .arg(&doc)
            .arg("--root")
            .arg(sb.root())
            .arg("--state-dir")
            .arg(&state)
            .arg("--json")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        // A step failed (its output could not be kept): 1, not Rampart's
        // own failure (4), and the record says so.
        assert_eq!(out.status.code(), Some(1), "run {run}: {out:?}");
        let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            record["resources"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("No space left on device"),
            "run {run}: {record:#}"
        );
        let outbox = state.join("outbox");
        let names: Vec<String> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.ends_with(".partial")),
            "run {run} left a half-written item: {names:?}"
        );
        assert_eq!(
            names.iter().filter(|n| !n.starts_with('.')).count(),
            run,
            "every run is kept: {names:?}"
        );
    }
    assert!(marker.exists(), "the step itself ran");
}
