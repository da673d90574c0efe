//! `rampart agent` as a real process: drop-in associations, schedules and
//! missed runs, drift repair, fights, reload, State Manager (through a
//! labelled fake), status, and a clean stop.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::aws::{self, FakeAssociation, FakeStateManager};
use common::Sandbox;

/// Generous bound for anything the agent does "at once": the tight figure
/// is the benchmark's job (tests/bench/drift.sh).
const PATIENCE: Duration = Duration::from_secs(20);

struct Agent {
    child: Child,
    config_dir: PathBuf,
    state_dir: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    fn start(sb: &Sandbox, extra_env: &[(&str, &str)]) -> Agent {
        let config_dir = sb.dir.path().join("etc-rampart");
        let state_dir = sb.state();
        fs::create_dir_all(config_dir.join("associations.d")).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
        cmd.arg("agent")
            .arg("--config-dir")
            .arg(&config_dir)
            .arg("--state-dir")
            .arg(&state_dir)
            .arg("--root")
            .arg(sb.root())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RAMPART_INSTANCE_ID", "i-0agent00000000000")
            .env("RAMPART_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                fs::File::create(sb.dir.path().join("agent.log")).unwrap(),
            ));
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Agent {
            child: cmd.spawn().unwrap(),
            config_dir,
            state_dir,
        }
    }

    fn state(&self) -> serde_json::Value {
        fs::read(self.state_dir.join("agent/state.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn stop(mut self) -> Option<i32> {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

fn wait_for(what: &str, sb: &Sandbox, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = fs::read_to_string(sb.dir.path().join("agent.log")).unwrap_or_default();
    panic!("timed out waiting for {what}\nagent log:\n{log}");
}

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0)
}

/// A document enforcing /etc/app.conf's content and mode.
fn file_doc(sb: &Sandbox) -> PathBuf {
    sb.doc(
        "app.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: rampart:file\n  name: appConf\n  inputs: {path: /etc/app.conf, content: \"secure=1\\n\", mode: \"0600\"}\n",
    )
}

fn dropin(agent_config: &Path, file: &str, body: &str) {
    fs::write(agent_config.join("associations.d").join(file), body).unwrap();
}

#[test]
fn drift_in_mode_and_content_is_repaired_and_recorded() {
    let sb = Sandbox::new();
    let doc = file_doc(&sb);
    let agent = Agent::start(&sb, &[]);
    dropin(
        &agent.config_dir,
        "app.yml",
        &format!(
            "name: app\ndocument: {}\nschedule: rate(1 day)\nmode: apply\n",
            doc.display()
        ),
    );
    // The folder change makes the agent load the new association and run it.
    let conf = sb.host("/etc/app.conf");
    wait_for("first enforcement", &sb, || mode_of(&conf) == 0o600);

    fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
    wait_for("mode repaired", &sb, || mode_of(&conf) == 0o600);

    fs::write(&conf, "secure=0\n").unwrap();
    wait_for("content repaired", &sb, || {
        fs::read_to_string(&conf).unwrap_or_default() == "secure=1\n"
    });

    wait_for("drift events recorded", &sb, || {
        let drift = agent.state()["drift"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        drift
            .iter()
            .filter(|d| d["resource"] == "/etc/app.conf" && d["association"] == "app")
            .count()
            >= 2
    });
    let state = agent.state();
    let events: Vec<String> = state["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["detail"].as_str().unwrap().to_string())
        .collect();
    assert!(
        events.iter().any(|d| d.contains("mode is 0644, want 0600")),
        "{events:?}"
    );
    assert!(
        events.iter().any(|d| d.contains("content differs")),
        "{events:?}"
    );
    assert!(
        events.iter().all(|d| !d.contains("secure=")),
        "file content leaked into drift events: {events:?}"
    );
    assert_eq!(agent.stop(), Some(0), "SIGTERM must stop the agent cleanly");
}

#[test]
fn invalid_dropins_are_reported_and_the_others_keep_running() {
    let sb = Sandbox::new();
    let doc = file_doc(&sb);
    let config_dir = sb.dir.path().join("etc-rampart");
    fs::create_dir_all(config_dir.join("associations.d")).unwrap();
    dropin(
        &config_dir,
        "bad-schedule.yml",
        &format!(
            "name: bad\ndocument: {}\nschedule: cron(0 10 * * * *)\n",
            doc.display()
        ),
    );
    dropin(
        &config_dir,
        "bad-doc.yml",
        "name: worse\ndocument: /nonexistent.yml\nschedule: rate(1 hour)\n",
    );
    dropin(
        &config_dir,
        "good.yml",
        &format!(
            "name: good\ndocument: {}\nschedule: rate(1 day)\nmode: apply\n",
            doc.display()
        ),
    );
    let agent = Agent::start(&sb, &[]);
    wait_for("the good association to run", &sb, || {
        mode_of(&sb.host("/etc/app.conf")) == 0o600
    });
    let invalid: Vec<String> = agent.state()["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(invalid.len(), 2, "{invalid:?}");
    assert!(
        invalid
            .iter()
            .any(|p| p.contains("bad-schedule.yml") && p.contains("schedule")),
        "{invalid:?}"
    );
    assert!(
        invalid
            .iter()
            .any(|p| p.contains("bad-doc.yml") && p.contains("/nonexistent.yml")),
        "{invalid:?}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("status")
        .arg("--state-dir")
        .arg(sb.state())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("good") && text.contains("rate(1 day)") && text.contains("running (pid"),
        "{text}"
    );
    assert!(
        text.contains("skipped:") && text.contains("bad-schedule.yml"),
        "{text}"
    );
}

#[test]
fn a_run_missed_during_downtime_happens_once() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "count.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: count\n  inputs: {runCommand: ['echo run >> \"$RAMPART_ROOT/count\"']}\n",
    );
    let config_dir = sb.dir.path().join("etc-rampart");
    fs::create_dir_all(config_dir.join("associations.d")).unwrap();
    dropin(
        &config_dir,
        "count.yml",
        &format!(
            "name: count\ndocument: {}\nschedule: rate(1 day)\nmode: apply\n",
            doc.display()
        ),
    );
    // The agent last ran this 5 days ago: five runs were missed. A daily
    // rate keeps the next regular slot out of the seconds this test
    // watches (with rate(30 minutes) a slot fell into them near :00 and
    // :30, and counted as a second run).
    let last = (chrono::Utc::now() - chrono::Duration::days(5)).to_rfc3339();
    fs::create_dir_all(sb.state().join("agent")).unwrap();
    fs::write(
        sb.state().join("agent/state.json"),
        serde_json::json!({"associations": {"count": {"schedule": "rate(1 day)", "mode": "apply", "document": "x", "lastRun": last}}}).to_string(),
    )
    .unwrap();
    let agent = Agent::start(&sb, &[]);
    let count = sb.host("/count");
    wait_for("the make-up run", &sb, || count.exists());
    wait_for("its record", &sb, || {
        agent.state()["associations"]["count"]["lastStatus"] == "Success"
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        fs::read_to_string(&count).unwrap().lines().count(),
        1,
        "missed runs must be made up once"
    );
    let next = agent.state()["associations"]["count"]["nextRun"]
        .as_str()
        .unwrap()
        .to_string();
    let next = chrono::DateTime::parse_from_rfc3339(&next).unwrap();
    let ahead = next.signed_duration_since(chrono::Utc::now());
    assert!(
        // One day, plus the jitter of at most 10 minutes (docs/schedules.md).
        ahead > chrono::Duration::zero()
            && ahead <= chrono::Duration::days(1) + chrono::Duration::minutes(10),
        "next run {next}"
    );
}

#[test]
fn a_resource_fought_over_is_paused_not_rewritten_in_a_loop() {
    let sb = Sandbox::new();
    let doc = file_doc(&sb);
    let agent = Agent::start(&sb, &[]);
    dropin(
        &agent.config_dir,
        "app.yml",
        &format!(
            "name: app\ndocument: {}\nschedule: rate(1 day)\nmode: apply\n",
            doc.display()
        ),
    );
    let conf = sb.host("/etc/app.conf");
    wait_for("first enforcement", &sb, || mode_of(&conf) == 0o600);
    // Another tool insists on 0644, every 100 ms, for 3 s.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let _ = fs::set_permissions(&conf, fs::Permissions::from_mode(0o644));
        std::thread::sleep(Duration::from_millis(100));
    }
    wait_for("the fight to be reported", &sb, || {
        agent.state()["drift"].as_array().is_some_and(|d| {
            d.iter().any(|e| {
                e["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("repairs paused")
            })
        })
    });
    let repairs = agent.state()["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"] == "/etc/app.conf")
        .count();
    assert!(repairs <= 10, "{repairs} repairs: the agent kept fighting");
}

#[test]
fn associations_from_state_manager_run_fake_server() {
    // FAKE: moto implements no association operations; this server answers
    // the two the agent reads, in the shape the real SDK parses.
    let sb = Sandbox::new();
    let content = serde_json::json!({
        "schemaVersion": "2.2",
        "parameters": {"value": {"type": "String"}},
        "mainSteps": [{"action": "rampart:file", "name": "smFile",
                       "inputs": {"path": "/etc/from-state-manager", "content": "{{ value }}\n", "mode": "0640"}}]
    })
    .to_string();
    let fake = FakeStateManager::start(
        "i-0agent00000000000",
        vec![FakeAssociation {
            id: "8dfe3659-4309-493a-8755-0123456789ab".into(),
            name: "fromStateManager".into(),
            content,
            parameters: serde_json::json!({"value": ["managed"]}),
            schedule: "rate(1 day)".into(),
        }],
    );
    let config_dir = sb.dir.path().join("etc-rampart");
    fs::create_dir_all(config_dir.join("associations.d")).unwrap();
    fs::write(
        config_dir.join("rampart.toml"),
        "[agent]\nstate_manager = true\n",
    )
    .unwrap();
    let mut env = vec![
        ("AWS_REGION", aws::REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    env.push(("AWS_ENDPOINT_URL", fake.endpoint.as_str()));
    let agent = Agent::start(&sb, &env);
    let target = sb.host("/etc/from-state-manager");
    wait_for("the State Manager association to run", &sb, || {
        fs::read_to_string(&target).unwrap_or_default() == "managed\n"
    });
    assert_eq!(mode_of(&target), 0o640);
    // Filed under State Manager's layout: <instanceId>/<associationId>/<runId>/.
    let outbox = sb.state().join("outbox");
    wait_for("the run in the spool", &sb, || {
        fs::read_dir(&outbox)
            .map(|d| {
                d.flatten().any(|e| {
                    e.path()
                        .join("keys/i-0agent00000000000/8dfe3659-4309-493a-8755-0123456789ab")
                        .is_dir()
                })
            })
            .unwrap_or(false)
    });
    let source = agent.state()["associations"]["fromStateManager"]["source"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert_eq!(source, "state-manager 8dfe3659-4309-493a-8755-0123456789ab");

    // Reloading the drop-ins (a new file, then SIGHUP) keeps the State
    // Manager association and its record: it is not run again as new.
    // The result reaches the spool before the agent records the run in its
    // state file (regression: reading the state at once raced that write).
    wait_for("the run's record in the state", &sb, || {
        agent.state()["associations"]["fromStateManager"]["lastRun"].is_string()
    });
    let last_run = agent.state()["associations"]["fromStateManager"]["lastRun"].clone();
    let doc = file_doc(&sb);
    dropin(
        &agent.config_dir,
        "local.yml",
        &format!(
            "name: local\ndocument: {}\nschedule: rate(1 day)\n",
            doc.display()
        ),
    );
    wait_for("the drop-in loaded", &sb, || {
        agent.state()["associations"]["local"].is_object()
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.child.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let state = agent.state();
    assert_eq!(
        state["associations"]["fromStateManager"]["lastRun"], last_run,
        "{state}"
    );
    assert!(state["associations"]["local"].is_object(), "{state}");
}

fn log_count(sb: &Sandbox, needle: &str) -> usize {
    fs::read_to_string(sb.dir.path().join("agent.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[test]
fn reading_watched_files_and_dropins_triggers_nothing() {
    // Readers of an enforced file (sshd reading its config) and of the
    // drop-ins (the agent itself) are not changes: no reload, no re-check.
    let sb = Sandbox::new();
    let doc = file_doc(&sb);
    let agent = Agent::start(&sb, &[("RAMPART_LOG", "rampart=debug")]);
    dropin(
        &agent.config_dir,
        "app.yml",
        &format!(
            "name: app\ndocument: {}\nschedule: rate(1 day)\nmode: apply\n",
            doc.display()
        ),
    );
    let conf = sb.host("/etc/app.conf");
    wait_for("first enforcement", &sb, || mode_of(&conf) == 0o600);
    // One real change, repaired, so the drift path has been taken once.
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
    wait_for("mode repaired", &sb, || mode_of(&conf) == 0o600);
    std::thread::sleep(Duration::from_secs(1));
    let (loads, checks) = (
        log_count(&sb, "associations loaded"),
        log_count(&sb, "re-checking after a change"),
    );

    for _ in 0..50 {
        fs::read_to_string(&conf).unwrap();
        for e in fs::read_dir(agent.config_dir.join("associations.d")).unwrap() {
            fs::read_to_string(e.unwrap().path()).unwrap();
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        log_count(&sb, "associations loaded"),
        loads,
        "reads of the drop-ins caused reloads"
    );
    assert_eq!(
        log_count(&sb, "re-checking after a change"),
        checks,
        "reads of a watched file caused re-checks"
    );
}

#[test]
fn an_edited_dropin_is_repaired_towards_its_new_parameters() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "param.yml",
        "schemaVersion: '2.2'\nparameters:\n  value: {type: String}\nmainSteps:\n- action: rampart:file\n  name: conf\n  inputs: {path: /etc/param.conf, content: \"{{ value }}\\n\", mode: \"0600\"}\n",
    );
    let agent = Agent::start(&sb, &[]);
    let body = |v: &str| {
        format!("name: p\ndocument: {}\nparameters: {{value: {v}}}\nschedule: rate(1 day)\nmode: apply\n", doc.display())
    };
    dropin(&agent.config_dir, "p.yml", &body("one"));
    let conf = sb.host("/etc/param.conf");
    wait_for("first enforcement", &sb, || {
        fs::read_to_string(&conf).unwrap_or_default() == "one\n"
    });
    dropin(&agent.config_dir, "p.yml", &body("two"));
    // The edit does not start a run (the schedule says when); the next
    // drift repair enforces what the association says now.
    wait_for("the reload", &sb, || {
        log_count(&sb, "associations loaded") >= 2
    });
    std::thread::sleep(Duration::from_millis(500));
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
    wait_for("repair with the new value", &sb, || {
        fs::read_to_string(&conf).unwrap_or_default() == "two\n" && mode_of(&conf) == 0o600
    });
}

#[test]
fn a_deleted_and_recreated_folder_is_watched_again() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "dir.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: rampart:file\n  name: conf\n  inputs: {path: /etc/app.d/app.conf, content: \"x=1\\n\", mode: \"0600\"}\n",
    );
    fs::create_dir_all(sb.host("/etc/app.d")).unwrap();
    let agent = Agent::start(&sb, &[]);
    dropin(
        &agent.config_dir,
        "d.yml",
        &format!(
            "name: d\ndocument: {}\nschedule: rate(1 day)\nmode: apply\n",
            doc.display()
        ),
    );
    let conf = sb.host("/etc/app.d/app.conf");
    wait_for("first enforcement", &sb, || mode_of(&conf) == 0o600);
    fs::remove_dir_all(sb.host("/etc/app.d")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    fs::create_dir_all(sb.host("/etc/app.d")).unwrap();
    // Recreated folder: watched again, and its missing file restored.
    wait_for("the file restored in the new folder", &sb, || {
        mode_of(&conf) == 0o600
    });
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
    wait_for("drift in the new folder repaired", &sb, || {
        mode_of(&conf) == 0o600
    });
}

#[test]
fn a_step_skipped_by_its_precondition_is_not_enforced_on_drift() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "pre.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: rampart:file\n  name: windowsOnly\n  precondition: {StringEquals: [platformType, Windows]}\n  inputs: {path: /etc/win.conf, content: \"w\\n\", mode: \"0600\"}\n- action: rampart:file\n  name: linux\n  inputs: {path: /etc/lin.conf, content: \"l\\n\", mode: \"0600\"}\n",
    );
    let win = sb.put("/etc/win.conf", "mine\n");
    fs::set_permissions(&win, fs::Permissions::from_mode(0o644)).unwrap();
    let agent = Agent::start(&sb, &[]);
    dropin(
        &agent.config_dir,
        "p.yml",
        &format!(
            "name: p\ndocument: {}\nschedule: rate(1 day)\nmode: apply\n",
            doc.display()
        ),
    );
    let lin = sb.host("/etc/lin.conf");
    wait_for("the Linux step", &sb, || mode_of(&lin) == 0o600);
    fs::write(&win, "still mine\n").unwrap();
    // A change beside it is repaired; the skipped step's file is left.
    fs::set_permissions(&lin, fs::Permissions::from_mode(0o644)).unwrap();
    wait_for("the Linux file repaired", &sb, || mode_of(&lin) == 0o600);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fs::read_to_string(&win).unwrap(), "still mine\n");
    assert_eq!(mode_of(&win), 0o644);
}

#[test]
fn a_second_agent_on_the_same_state_directory_refuses_to_start() {
    // Regression: two agents on one state directory both ran and repaired.
    let sb = Sandbox::new();
    let first = Agent::start(&sb, &[]);
    wait_for("the first agent's state", &sb, || {
        first.state()["pid"].is_number()
    });

    let out = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .arg("agent")
        .arg("--config-dir")
        .arg(&first.config_dir)
        .arg("--state-dir")
        .arg(&first.state_dir)
        .arg("--root")
        .arg(sb.root())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();

    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "another rampart agent (pid {}) is running on state directory",
            first.child.id()
        )),
        "{err}"
    );
    assert_eq!(first.stop(), Some(0));
}
