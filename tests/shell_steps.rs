//! `aws:runShellScript` end to end: the real `rampart` binary runs documents
//! in a sandbox, and each test checks one behaviour SSM documents (exit codes,
//! control flow, preconditions, substitution, environment, output keys) or one
//! promise Rampart makes beyond it (no process outlives its step, capped
//! output cut on a character boundary, check mode).
//!
//! Expected values come from SSM's documented behaviour (the AWS
//! `aws:runShellScript` and document-syntax references, and the reference
//! agent), not from what the implementation happens to do.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};

use common::{step, Sandbox};

/// SSM's folder for `aws:runShellScript` output (the action without ':').
const SHELL_KEY: &str = "awsrunShellScript";

/// How long a killed process may take to disappear from /proc once Rampart
/// has returned (its last reaping can race the exit).
const GONE_WITHIN: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------- helpers

/// A shell step with the given inputs.
fn shell(name: &str, inputs: Value) -> Value {
    json!({ "action": "aws:runShellScript", "name": name, "inputs": inputs })
}

/// A shell step that runs `lines`.
fn script(name: &str, lines: &[&str]) -> Value {
    shell(name, json!({ "runCommand": lines }))
}

/// A schemaVersion 2.2 document with these steps.
fn document(steps: Vec<Value>) -> Value {
    json!({ "schemaVersion": "2.2", "mainSteps": steps })
}

fn write_doc(sb: &Sandbox, doc: &Value) -> PathBuf {
    sb.doc("doc.json", &serde_json::to_string_pretty(doc).unwrap())
}

/// `rampart apply DOC --json ARGS`: exit code and record.
fn apply(sb: &Sandbox, doc: &Value, args: &[&str]) -> (i32, Value) {
    let (code, record, _) = sb.run_json("apply", &write_doc(sb, doc), args);
    (code, record)
}

/// `rampart check DOC --json ARGS`: exit code and record.
fn check(sb: &Sandbox, doc: &Value, args: &[&str]) -> (i32, Value) {
    let (code, record, _) = sb.run_json("check", &write_doc(sb, doc), args);
    (code, record)
}

/// Runs a prepared command and parses its `--json` record.
fn run_cmd(cmd: &mut Command) -> (i32, Value) {
    let out = cmd.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let record = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, record)
}

/// (step name, status) of every step, in order.
fn statuses(record: &Value) -> Vec<(String, String)> {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect()
}

/// The only completed run in the outbox.
fn only_run(sb: &Sandbox) -> PathBuf {
    let runs: Vec<PathBuf> = fs::read_dir(sb.state().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(runs.len(), 1, "expected one run in the outbox: {runs:?}");
    runs.into_iter().next().unwrap()
}

/// Where a step's stream lands: `<run>/keys/<commandId>/<instanceId>/<action>/<step>/<stream>`,
/// with ':' dropped from action and step names as SSM does in its S3 keys.
fn stream_path(sb: &Sandbox, record: &Value, step_name: &str, stream: &str) -> PathBuf {
    only_run(sb)
        .join("keys")
        .join(record["commandId"].as_str().unwrap())
        .join(record["instanceId"].as_str().unwrap())
        .join(SHELL_KEY)
        .join(step_name.replace(':', ""))
        .join(stream)
}

fn stdout_of(sb: &Sandbox, record: &Value, step_name: &str) -> String {
    let p = stream_path(sb, record, step_name, "stdout");
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// `key=value` lines of a step's stdout.
fn assignments(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// PIDs a script appended to `file`, one per line.
fn read_pids(file: &Path) -> Vec<i32> {
    fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()))
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// The state letter of `pid` if it is a `sleep` process, zombie or not; None
/// when it does not exist or is something else (a recycled PID is not blamed).
fn sleep_state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ...": the name survives in a zombie, unlike cmdline.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    if &stat[open + 1..close] != "sleep" {
        return None;
    }
    stat[close + 2..].chars().next()
}

/// Asserts that none of `pids` exists any more: neither running (kill(pid, 0)
/// succeeds) nor left as a zombie. Survivors are killed before failing, so a
/// failing test does not litter the host.
fn assert_all_gone(pids: &[i32]) {
    let deadline = Instant::now() + GONE_WITHIN;
    let mut left: Vec<(i32, char)> = Vec::new();
    loop {
        left.clear();
        for &pid in pids {
            if kill(Pid::from_raw(pid), None).is_ok() {
                if let Some(state) = sleep_state(pid) {
                    left.push((pid, state));
                }
            }
        }
        if left.is_empty() || Instant::now() > deadline {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    for (pid, state) in &left {
        if *state != 'Z' {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
    }
    let running: Vec<_> = left.iter().filter(|(_, s)| *s != 'Z').collect();
    let zombies: Vec<_> = left.iter().filter(|(_, s)| *s == 'Z').collect();
    assert!(
        running.is_empty(),
        "step processes still running: {running:?}"
    );
    assert!(
        zombies.is_empty(),
        "step processes left as zombies: {zombies:?}"
    );
}

// ---------------------------------------------------------------- exit codes

#[test]
fn exit_0_is_success() {
    let sb = Sandbox::new();
    let doc = document(vec![script("ok", &["exit 0"])]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(statuses(&r), expect(&[("ok", "Success")]));
    assert_eq!(step(&r, "ok")["exitCode"], 0);
    assert_eq!(r["status"], "Success");
}

#[test]
fn exit_168_succeeds_and_skips_the_remaining_steps() {
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let doc = document(vec![
        script("stop", &["exit 168"]),
        script("later", &[&touch]),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[("stop", "Success"), ("later", "Skipped")])
    );
    assert_eq!(step(&r, "stop")["exitCode"], 168);
    assert_eq!(r["status"], "Success");
    assert_eq!(code, 0, "{r:#}");
    assert!(!marker.exists(), "a skipped step ran");
}

#[test]
fn exit_169_fails_and_skips_the_remaining_steps() {
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let doc = document(vec![
        script("stop", &["exit 169"]),
        script("later", &[&touch]),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[("stop", "Failed"), ("later", "Skipped")])
    );
    assert_eq!(step(&r, "stop")["exitCode"], 169);
    assert_eq!(r["status"], "Failed");
    assert_eq!(code, 1, "{r:#}");
    assert!(!marker.exists(), "a skipped step ran");
}

#[test]
fn exit_194_requests_a_reboot_and_leaves_later_steps_not_started() {
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let doc = document(vec![
        script("before", &["exit 0"]),
        script("reboot", &["exit 194"]),
        script("later", &[&touch]),
    ]);
    let (code, r) = apply(&sb, &doc, &["--command-id", "cmd-reboot-1"]);
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(
        statuses(&r),
        expect(&[
            ("before", "Success"),
            ("reboot", "SuccessAndReboot"),
            ("later", "NotStarted"),
        ])
    );
    assert_eq!(step(&r, "reboot")["exitCode"], 194);
    assert_eq!(r["status"], "SuccessAndReboot");
    assert_eq!(r["reboot"]["requestedBy"], "reboot");
    assert!(!marker.exists(), "a step after the reboot request ran");

    // SSM runs the step that asked for the reboot again after boot.
    let pending: Value =
        serde_json::from_slice(&fs::read(sb.state().join("reboot-pending.json")).unwrap()).unwrap();
    assert_eq!(pending["resumeStep"], "reboot");
    assert_eq!(pending["commandId"], "cmd-reboot-1");
}

#[test]
fn other_exit_code_fails_the_step_and_later_steps_still_run() {
    let sb = Sandbox::new();
    let doc = document(vec![
        script("bad", &["exit 3"]),
        script("later", &["echo still here"]),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[("bad", "Failed"), ("later", "Success")])
    );
    assert_eq!(step(&r, "bad")["exitCode"], 3);
    assert_eq!(stdout_of(&sb, &r, "later"), "still here\n");
    assert_eq!(r["status"], "Failed");
    assert_eq!(code, 1, "{r:#}");
}

#[test]
fn timeout_reports_timed_out_with_exit_code_137_and_later_steps_run() {
    let sb = Sandbox::new();
    let doc = document(vec![
        shell(
            "slow",
            json!({ "timeoutSeconds": 5, "runCommand": ["echo started", "sleep 60"] }),
        ),
        script("later", &["exit 0"]),
    ]);
    let started = Instant::now();
    let (code, r) = apply(&sb, &doc, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the timeout did not end the step: {:?}",
        started.elapsed()
    );
    assert_eq!(
        statuses(&r),
        expect(&[("slow", "TimedOut"), ("later", "Success")])
    );
    assert_eq!(step(&r, "slow")["exitCode"], 137);
    assert_eq!(
        stdout_of(&sb, &r, "slow"),
        "started\n",
        "output before the timeout is kept"
    );
    assert_eq!(r["status"], "TimedOut");
    assert_eq!(code, 1, "{r:#}");
}

// ---------------------------------------------------------------- process cleanup

#[test]
fn timeout_ends_every_process_the_step_started() {
    let sb = Sandbox::new();
    let pids = sb.dir.path().join("pids");
    let p = pids.display();
    let lines = [
        // A plain background child, in the step's process group.
        "sleep 300 &".to_string(),
        format!("echo $! >> '{p}'"),
        // A child in a session of its own (the reference lets it live).
        "setsid sleep 300 &".to_string(),
        format!("echo $! >> '{p}'"),
        // A child that ignores SIGTERM and needs the SIGKILL after the grace.
        "sh -c 'trap \"\" TERM; exec sleep 300' &".to_string(),
        format!("echo $! >> '{p}'"),
        "sleep 300".to_string(),
    ];
    let doc = document(vec![shell(
        "slow",
        json!({ "timeoutSeconds": 5, "runCommand": lines }),
    )]);
    let (_, r) = apply(&sb, &doc, &[]);
    assert_eq!(statuses(&r), expect(&[("slow", "TimedOut")]));
    assert_eq!(step(&r, "slow")["exitCode"], 137);

    let started = read_pids(&pids);
    assert_eq!(started.len(), 3, "the script did not start its children");
    assert_all_gone(&started);
}

#[test]
fn step_that_exits_leaves_no_background_process() {
    let sb = Sandbox::new();
    let pids = sb.dir.path().join("pids");
    let p = pids.display();
    let lines = [
        "sleep 300 &".to_string(),
        format!("echo $! >> '{p}'"),
        "exit 0".to_string(),
    ];
    let doc = document(vec![shell("quick", json!({ "runCommand": lines }))]);
    let started = Instant::now();
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(statuses(&r), expect(&[("quick", "Success")]));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_all_gone(&read_pids(&pids));
}

/// Regression: a process that leaves the step's session, clears its
/// environment (and with it the run token) and is orphaned was re-parented to
/// Rampart but never looked for, so it outlived the run.
#[test]
fn detached_orphan_with_cleared_environment_does_not_survive() {
    let sb = Sandbox::new();
    let pids = sb.dir.path().join("pids");
    let line = format!(
        "setsid env -i sh -c 'sleep 300 </dev/null >/dev/null 2>&1 & echo $! >> \"{}\"'",
        pids.display()
    );
    let doc = document(vec![script("detach", &[&line])]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_all_gone(&read_pids(&pids));
}

// ---------------------------------------------------------------- output

#[test]
fn streams_land_under_the_ssm_output_key() {
    let sb = Sandbox::new();
    let doc = document(vec![script(
        "say",
        &["echo to-stdout", "echo to-stderr >&2"],
    )]);
    let (code, r) = apply(&sb, &doc, &["--command-id", "cmd-keys-1"]);
    assert_eq!(code, 0, "{r:#}");
    let instance = r["instanceId"].as_str().unwrap();
    let base = only_run(&sb)
        .join("keys")
        .join("cmd-keys-1")
        .join(instance)
        .join("awsrunShellScript")
        .join("say");
    assert_eq!(
        fs::read_to_string(base.join("stdout")).unwrap(),
        "to-stdout\n"
    );
    assert_eq!(
        fs::read_to_string(base.join("stderr")).unwrap(),
        "to-stderr\n"
    );
}

#[test]
fn output_limit_caps_each_stream_on_a_character_boundary() {
    let sb = Sandbox::new();
    // 750 lines of "€\n" (3 + 1 bytes) = 3000 bytes on each stream; a cap of
    // 1002 falls inside the 251st euro sign.
    const PRINTED: u64 = 3000;
    const CAP: u64 = 1002;
    let doc = document(vec![script(
        "loud",
        &["yes € | head -c 3000", "yes € | head -c 3000 >&2"],
    )]);
    let (code, r) = apply(&sb, &doc, &["--output-limit", &CAP.to_string()]);
    assert_eq!(code, 0, "{r:#}");
    for (stream, dropped_key) in [
        ("stdout", "stdoutDroppedBytes"),
        ("stderr", "stderrDroppedBytes"),
    ] {
        let kept = fs::read(stream_path(&sb, &r, "loud", stream)).unwrap();
        let kept_len = kept.len() as u64;
        assert!(
            kept_len <= CAP,
            "{stream}: kept {kept_len} bytes, cap {CAP}"
        );
        assert!(
            kept_len + 3 >= CAP,
            "{stream}: cut {kept_len} bytes, far below the cap"
        );
        assert!(
            std::str::from_utf8(&kept).is_ok(),
            "{stream} was cut inside a character"
        );
        assert_eq!(
            step(&r, "loud")[dropped_key],
            PRINTED - kept_len,
            "{stream}: dropped bytes must be printed minus kept"
        );
    }
}

/// Regression: when a character arrived split across two pipe reads and the
/// cap fell inside it, its first bytes were kept and the file ended in half a
/// character.
#[test]
fn output_limit_does_not_split_a_character_across_reads() {
    let sb = Sandbox::new();
    // "a" and the first byte of "€" (E2 82 AC), a pause so they arrive as one
    // read, then the rest of the character and "tail": 8 bytes in all.
    let doc = document(vec![script(
        "split",
        &[r"printf 'a\342'", "sleep 0.3", r"printf '\202\254tail'"],
    )]);
    let (code, r) = apply(&sb, &doc, &["--output-limit", "3"]);
    assert_eq!(code, 0, "{r:#}");
    let kept = fs::read(stream_path(&sb, &r, "split", "stdout")).unwrap();
    assert_eq!(kept, b"a", "kept {kept:x?}");
    assert_eq!(step(&r, "split")["stdoutDroppedBytes"], 7);
}

// ---------------------------------------------------------------- environment

#[test]
fn script_sees_ssm_variables_environment_and_working_directory() {
    let sb = Sandbox::new();
    sb.put(
        "/etc/os-release",
        "NAME=\"Amazon Linux\"\nVERSION_ID=\"2023\"\nID=amzn\n",
    );
    let work = sb.dir.path().join("work");
    fs::create_dir(&work).unwrap();
    let doc = document(vec![shell(
        "env",
        json!({
            "workingDirectory": work.display().to_string(),
            "environment": { "GREETING": "hello world" },
            "runCommand": [
                "echo instance=$AWS_SSM_INSTANCE_ID",
                "echo region=$AWS_SSM_REGION_NAME",
                "echo platform=$AWS_SSM_PLATFORM_NAME",
                "echo version=$AWS_SSM_PLATFORM_VERSION",
                "echo command=$SSM_COMMAND_ID",
                "echo greeting=$GREETING",
                "echo pwd=$(pwd -P)",
                "echo mode=$(stat -c %a \"$0\")",
            ],
        }),
    )]);
    let path = write_doc(&sb, &doc);
    let mut cmd = sb.rampart("apply", &path);
    cmd.args(["--json", "--command-id", "cmd-env-1"])
        .env("RAMPART_INSTANCE_ID", "i-0123456789abcdef0")
        .env("AWS_REGION", "eu-west-3")
        .env_remove("AWS_SSM_INSTANCE_ID")
        .env_remove("AWS_SSM_REGION_NAME")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("SSM_COMMAND_ID");
    let (code, r) = run_cmd(&mut cmd);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["commandId"], "cmd-env-1");

    let vars = assignments(&stdout_of(&sb, &r, "env"));
    let get = |k: &str| vars.get(k).map(String::as_str).unwrap_or("<missing>");
    assert_eq!(get("instance"), "i-0123456789abcdef0");
    assert_eq!(get("region"), "eu-west-3");
    assert_eq!(get("platform"), "Amazon Linux");
    assert_eq!(get("version"), "2023");
    assert_eq!(get("command"), "cmd-env-1");
    assert_eq!(get("greeting"), "hello world");
    assert_eq!(
        Path::new(get("pwd")),
        fs::canonicalize(&work).unwrap().as_path()
    );
    assert_eq!(get("mode"), "700");
}

#[test]
fn shebang_line_chooses_the_interpreter() {
    let sb = Sandbox::new();
    let doc = document(vec![script(
        "bash",
        &["#!/bin/bash", "echo \"interpreter=${BASH_VERSION:+bash}\""],
    )]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(stdout_of(&sb, &r, "bash"), "interpreter=bash\n");
}

/// Regression: with a relative --state-dir the script path handed to `sh`
/// was relative, and the step runs in another directory, so every script
/// failed with "not found" (exit 127).
#[test]
fn relative_state_dir_still_runs_the_script() {
    let sb = Sandbox::new();
    write_doc(&sb, &document(vec![script("ok", &["echo ran"])]));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.current_dir(sb.dir.path())
        .args([
            "apply",
            "doc.json",
            "--root",
            "root",
            "--state-dir",
            "state",
        ])
        .arg("--json")
        .env_remove("RAMPART_LOG")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let (code, r) = run_cmd(&mut cmd);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(statuses(&r), expect(&[("ok", "Success")]));
    assert_eq!(stdout_of(&sb, &r, "ok"), "ran\n");
}

// ---------------------------------------------------------------- control flow

#[test]
fn on_failure_exit_skips_the_remaining_steps() {
    let sb = Sandbox::new();
    let doc = document(vec![
        shell(
            "bad",
            json!({ "onFailure": "exit", "runCommand": ["exit 1"] }),
        ),
        script("later", &["exit 0"]),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[("bad", "Failed"), ("later", "Skipped")])
    );
    assert_eq!(r["status"], "Failed");
    assert_eq!(code, 1, "{r:#}");
}

#[test]
fn on_failure_success_and_exit_reports_success_and_skips_the_rest() {
    let sb = Sandbox::new();
    let doc = document(vec![
        shell(
            "bad",
            json!({ "onFailure": "successAndExit", "runCommand": ["exit 1"] }),
        ),
        script("later", &["exit 0"]),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[("bad", "Success"), ("later", "Skipped")])
    );
    assert_eq!(r["status"], "Success");
    // A tolerated failure is not a finding: exit 0 means every step succeeded.
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn on_success_exit_skips_the_remaining_steps() {
    let sb = Sandbox::new();
    let doc = document(vec![
        shell(
            "done",
            json!({ "onSuccess": "exit", "runCommand": ["exit 0"] }),
        ),
        script("later", &["exit 0"]),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[("done", "Success"), ("later", "Skipped")])
    );
    assert_eq!(r["status"], "Success");
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn finally_step_runs_after_an_exit() {
    let sb = Sandbox::new();
    let doc = document(vec![
        shell(
            "bad",
            json!({ "onFailure": "exit", "runCommand": ["exit 1"] }),
        ),
        script("skipped", &["exit 0"]),
        shell(
            "cleanup",
            json!({ "finallyStep": true, "runCommand": ["echo cleaned"] }),
        ),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[
            ("bad", "Failed"),
            ("skipped", "Skipped"),
            ("cleanup", "Success"),
        ])
    );
    assert_eq!(stdout_of(&sb, &r, "cleanup"), "cleaned\n");
    assert_eq!(r["status"], "Failed");
    assert_eq!(code, 1, "{r:#}");
}

#[test]
fn finally_step_before_the_last_step_is_rejected_and_nothing_runs() {
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let doc = document(vec![
        shell(
            "early",
            json!({ "finallyStep": true, "runCommand": [touch] }),
        ),
        script("last", &[&touch]),
    ]);
    let out = sb
        .rampart("apply", &write_doc(&sb, &doc))
        .arg("--json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("step 'early': finallyStep is only allowed on the last step"),
        "stderr: {stderr}"
    );
    assert!(
        !marker.exists(),
        "a step ran although the document is invalid"
    );
    assert!(
        !sb.state().join("outbox").exists(),
        "an invalid document started a run"
    );
}

// ---------------------------------------------------------------- preconditions

#[test]
fn preconditions_run_skip_or_fail_the_step() {
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let with_pre = |name: &str, pre: Value, line: &str| {
        let mut s = script(name, &[line]);
        s["precondition"] = pre;
        s
    };
    let doc = document(vec![
        with_pre(
            "linux",
            json!({ "StringEquals": ["platformType", "Linux"] }),
            "echo linux",
        ),
        with_pre(
            "windows",
            json!({ "StringEquals": ["platformType", "Windows"] }),
            &touch,
        ),
        with_pre(
            "unknown",
            json!({ "StringLike": ["platformType", "Linux"] }),
            &touch,
        ),
        script("after", &["exit 0"]),
    ]);
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[
            ("linux", "Success"),
            ("windows", "Skipped"),
            ("unknown", "Failed"),
            ("after", "Success"),
        ])
    );
    assert_eq!(stdout_of(&sb, &r, "linux"), "linux\n");
    assert!(
        !marker.exists(),
        "a step whose precondition did not hold ran"
    );
    assert_eq!(r["status"], "Failed");
    assert_eq!(code, 1, "{r:#}");
}

// ---------------------------------------------------------------- schema 1.2

#[test]
fn schema_1_2_runtime_config_runs_and_files_output_under_its_id() {
    let sb = Sandbox::new();
    let doc = json!({
        "schemaVersion": "1.2",
        "description": "legacy",
        "parameters": {
            "commands": { "type": "StringList", "description": "lines" }
        },
        "runtimeConfig": {
            "aws:runShellScript": {
                "properties": [
                    { "id": "0.aws:runShellScript", "runCommand": "{{ commands }}" }
                ]
            }
        }
    });
    let (code, r) = apply(
        &sb,
        &doc,
        &["-p", "commands=echo one", "-p", "commands=echo two"],
    );
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(statuses(&r), expect(&[("0.aws:runShellScript", "Success")]));
    let stdout = only_run(&sb)
        .join("keys")
        .join(r["commandId"].as_str().unwrap())
        .join(r["instanceId"].as_str().unwrap())
        .join("awsrunShellScript/0.awsrunShellScript/stdout");
    assert_eq!(fs::read_to_string(stdout).unwrap(), "one\ntwo\n");
}

// ---------------------------------------------------------------- substitution

#[test]
fn string_list_parameter_becomes_the_whole_run_command() {
    let sb = Sandbox::new();
    let mut doc = document(vec![shell("lines", json!({ "runCommand": "{{ lines }}" }))]);
    doc["parameters"] = json!({
        "lines": { "type": "StringList", "default": ["X=1", "echo \"x is $X\""] }
    });
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(code, 0, "{r:#}");
    // Two lines of one script: the variable set on the first is seen on the second.
    assert_eq!(stdout_of(&sb, &r, "lines"), "x is 1\n");
}

#[test]
fn string_parameter_is_inserted_inline_byte_for_byte() {
    let sb = Sandbox::new();
    let mut doc = document(vec![script("say", &["printf '%s\\n' '<{{ word }}>'"])]);
    doc["parameters"] = json!({
        "word": { "type": "String" },
        "x": { "type": "String", "default": "EXPANDED" }
    });
    // The reference collapses "$$"; Rampart keeps it, and substitutes once, so
    // the "{{x}}" inside the value is not expanded.
    let (code, r) = apply(&sb, &doc, &["-p", "word=a$$b {{x}} é"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(stdout_of(&sb, &r, "say"), "<a$$b {{x}} é>\n");
}

#[test]
fn integer_parameter_substitutes_as_timeout_seconds() {
    let sb = Sandbox::new();
    let mut doc = document(vec![shell(
        "timed",
        json!({ "timeoutSeconds": "{{ limit }}", "runCommand": ["exit 0"] }),
    )]);
    doc["parameters"] = json!({ "limit": { "type": "Integer", "default": 5 } });
    let (code, r) = apply(&sb, &doc, &[]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(statuses(&r), expect(&[("timed", "Success")]));

    // The value really is the timeout: below SSM's minimum of 5 it is refused
    // before anything runs.
    let out = sb
        .rampart("apply", &write_doc(&sb, &doc))
        .args(["--json", "-p", "limit=4"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("'timeoutSeconds' must be a whole number from 5 to 172800, got 4"),
        "stderr: {stderr}"
    );
}

// ---------------------------------------------------------------- check mode

#[test]
fn check_mode_skips_shell_steps_without_rampart_check() {
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let doc = document(vec![
        script("change", &[&touch]),
        shell(
            "audit",
            json!({ "rampartCheck": true, "runCommand": ["echo audited"] }),
        ),
    ]);
    let (code, r) = check(&sb, &doc, &[]);
    assert_eq!(
        statuses(&r),
        expect(&[("change", "Skipped"), ("audit", "Success")])
    );
    assert!(
        !marker.exists(),
        "check mode ran a script not marked rampartCheck"
    );
    assert_eq!(stdout_of(&sb, &r, "audit"), "audited\n");
    assert_eq!(r["mode"], "check");
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn check_mode_rampart_check_exit_1_is_non_compliant() {
    let sb = Sandbox::new();
    let doc = document(vec![shell(
        "audit",
        json!({ "rampartCheck": true, "runCommand": ["exit 1"] }),
    )]);
    let (code, r) = check(&sb, &doc, &[]);
    assert_eq!(
        common::resource(&r, "script", "audit")["compliance"],
        "NonCompliant"
    );
    assert_eq!(r["summary"]["nonCompliant"], 1);
    assert_eq!(code, 1, "{r:#}");
}

// --------------------------------------------------------------- cancellation

#[test]
fn sigterm_cancels_the_run_ends_the_step_and_keeps_the_result() {
    // Regression: a CLI apply died at once on SIGTERM (as Run Command sends
    // to cancel), leaving the step's processes and a .partial result.
    let sb = Sandbox::new();
    let pids = sb.dir.path().join("pids");
    let later = sb.dir.path().join("later-ran");
    let doc = document(vec![
        script(
            "long",
            &[
                &format!("sleep 300 & echo $! >> '{}'", pids.display()),
                &format!("echo $$ >> '{}'", pids.display()),
                "wait",
            ],
        ),
        script("later", &[&format!("touch '{}'", later.display())]),
    ]);
    let path = write_doc(&sb, &doc);
    let child = sb
        .rampart("apply", &path)
        .arg("--json")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::read_to_string(&pids).map_or(0, |t| t.lines().count()) < 2 {
        assert!(Instant::now() < deadline, "the step never started");
        thread::sleep(Duration::from_millis(20));
    }

    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();

    // 128 + SIGTERM, as a shell reports a process ended by the signal.
    assert_eq!(out.status.code(), Some(143), "{out:?}");
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["status"], "Cancelled", "{record:#}");
    assert_eq!(
        statuses(&record),
        expect(&[("long", "Cancelled"), ("later", "Cancelled")])
    );
    assert!(!later.exists(), "a step started after the stop");
    assert_all_gone(&read_pids(&pids));
    // The result is complete in the outbox: no .partial left behind.
    let run = only_run(&sb);
    assert!(run.join("keys").is_dir());
    let partial: Vec<_> = fs::read_dir(sb.state().join("outbox"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
}

#[test]
fn the_shipped_example_keeps_a_hostile_parameter_text() {
    // Regression: Rampart-ShellExample pasted {{ greeting }} into
    // `echo '...'`, so a value with a quote ran commands.
    let sb = Sandbox::new();
    let marker = sb.dir.path().join("PWNED");
    let value = format!("x'; touch {}; echo '", marker.display());
    let (_, record, _) = sb.run_json(
        "apply",
        Path::new("Rampart-ShellExample"),
        &["-p", &format!("greeting={value}")],
    );
    assert!(!marker.exists(), "the parameter ran as a command");
    let greet = step(&record, "greet");
    assert_eq!(greet["status"], "Success", "{record:#}");
    assert!(
        greet["output"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{value}\n")),
        "{record:#}"
    );
}
