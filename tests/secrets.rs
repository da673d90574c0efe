//! Parameter Store references and SecureString files, against moto's real
//! SSM and KMS protocol server (and, for faults moto cannot produce, a fake
//! that says so).

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_ssm::types::ParameterType;
use common::aws::{self, block_on, moto, FakeBehaviour, FakeSsm};
use common::{resource, step, Sandbox};

/// A multi-line PEM key with a trailing newline, unique per test.
fn pem(tag: &str) -> String {
    format!(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC{tag}KcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZH\n-----END PRIVATE KEY-----\n"
    )
}

fn unique(tag: &str) -> String {
    format!("/rampart-test/{tag}/{}", uuid::Uuid::new_v4())
}

/// Puts a parameter into moto; a SecureString under a KMS key made by CreateKey.
fn put(name: &str, value: &str, kind: ParameterType) {
    block_on(async {
        let sdk = aws::sdk(&moto().endpoint).await;
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        let mut req = ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind.clone())
            .overwrite(true);
        if kind == ParameterType::SecureString {
            let kms = aws_sdk_kms::Client::new(&sdk);
            let key = kms
                .create_key()
                .description("rampart test")
                .send()
                .await
                .unwrap();
            req = req.key_id(key.key_metadata().unwrap().key_id());
        }
        req.send().await.unwrap();
    });
}

/// `rampart VERB DOC` on this host (`--root /`) with the sandbox's state
/// directory, talking to `endpoint`.
fn rampart(sb: &Sandbox, verb: &str, doc: &Path, endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.arg(verb)
        .arg(doc)
        .arg("--root")
        .arg("/")
        .arg("--state-dir")
        .arg(sb.state());
    aws::aws_env(&mut cmd, endpoint);
    // The most verbose logs must not show a secret either.
    cmd.env("RAMPART_LOG", "trace").env("NO_COLOR", "1");
    cmd
}

/// Creates a real system user and group (idempotent) and returns their ids.
fn system_user(name: &str) -> (u32, u32) {
    let _ = Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .output();
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").arg(flag).arg(name).output().unwrap();
        assert!(out.status.success(), "user {name} was not created");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(files(&p));
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out
}

/// Asserts no line of `secret` (nor the whole value) appears in the bytes.
fn assert_absent(what: &str, haystack: &[u8], secret: &str) {
    let text = String::from_utf8_lossy(haystack);
    for needle in std::iter::once(secret.trim()).chain(
        secret
            .lines()
            .filter(|l| l.len() >= 16 && !l.starts_with("-----")),
    ) {
        assert!(!text.contains(needle), "secret found in {what}");
    }
}

fn assert_no_leak(sb: &Sandbox, out: &Output, secret: &str, except: &[&Path]) {
    assert_absent("stdout", &out.stdout, secret);
    assert_absent("stderr (logs)", &out.stderr, secret);
    for f in files(sb.dir.path()) {
        if except.iter().any(|e| *e == f) {
            continue;
        }
        assert_absent(&f.display().to_string(), &fs::read(&f).unwrap(), secret);
    }
}

fn install_doc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents/Rampart-InstallSecretFile.yml")
}

#[test]
fn pem_key_lands_byte_identical_with_owner_group_mode_and_leaks_nowhere() {
    let sb = Sandbox::new();
    let (uid, gid) = system_user("rampart-web");
    let name = unique("tls-key");
    let key = pem("A1");
    put(&name, &key, ParameterType::SecureString);

    let keys = sb.dir.path().join("apache2/keys");
    fs::create_dir_all(&keys).unwrap();
    let target = keys.join("private.key");
    // onChange records every process's command line and its own environment
    // while Rampart is running, to prove the secret is in neither.
    let evidence = sb.dir.path().join("evidence");
    let on_change = format!(
        "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done > {ev}.argv; env > {ev}.env",
        ev = evidence.display()
    );
    let mut cmd = rampart(&sb, "apply", &install_doc(), &moto().endpoint);
    cmd.args(["--json"])
        .args(["-p", &format!("parameterName={name}")])
        .args(["-p", &format!("path={}", target.display())])
        .args(["-p", "owner=rampart-web", "-p", "group=rampart-web"])
        .args(["-p", &format!("onChange={on_change}")]);
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        key,
        "file is not byte-identical"
    );
    let meta = fs::metadata(&target).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (uid, gid, 0o400)
    );
    assert!(
        evidence.with_extension("argv").exists(),
        "onChange did not run"
    );
    assert_no_leak(&sb, &out, &key, &[&target]);

    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = resource(&record, "secretFile", target.to_str().unwrap());
    assert_eq!(r["compliance"], "Compliant");
    assert_eq!(r["changed"], true);

    // A second run changes nothing and does not run onChange again.
    fs::remove_file(evidence.with_extension("argv")).unwrap();
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !evidence.with_extension("argv").exists(),
        "onChange ran without a change"
    );
}

#[test]
fn check_compares_without_revealing_and_apply_repairs() {
    let sb = Sandbox::new();
    let name = unique("db-password");
    let secret = "correct horse battery staple 42";
    put(&name, secret, ParameterType::SecureString);
    let dir = sb.dir.path().join("etc-app");
    fs::create_dir_all(&dir).unwrap();
    let target = dir.join("db.pass");
    fs::write(&target, "an old password").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();

    let doc = install_doc();
    let args = |cmd: &mut Command| {
        cmd.args([
            "--json",
            "-p",
            &format!("parameterName={name}"),
            "-p",
            &format!("path={}", target.display()),
        ]);
    };
    let mut check = rampart(&sb, "check", &doc, &moto().endpoint);
    args(&mut check);
    let out = check.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let detail = resource(&rec, "secretFile", target.to_str().unwrap())["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        detail.contains("content differs from the parameter"),
        "{detail}"
    );
    assert!(detail.contains("mode is 0644, want 0400"), "{detail}");
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "an old password",
        "check changed the file"
    );
    assert_no_leak(&sb, &out, secret, &[]);

    let mut apply = rampart(&sb, "apply", &doc, &moto().endpoint);
    args(&mut apply);
    assert_eq!(apply.output().unwrap().status.code(), Some(0));
    assert_eq!(fs::read_to_string(&target).unwrap(), secret);
    let out = check.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn ssm_string_and_string_list_are_substituted_and_secure_env_is_masked() {
    let sb = Sandbox::new();
    let host = unique("db-host");
    let list = unique("commands");
    let token = unique("api-token");
    put(&host, "db.internal:5432", ParameterType::String);
    put(&list, "echo one,echo two", ParameterType::StringList);
    put(&token, "tok-9f8e7d6c5b4a3", ParameterType::SecureString);
    let doc = sb.doc(
        "d.yml",
        &format!(
            "schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: useThem\n  inputs:\n    runCommand: ['echo host={{{{ssm:{host}}}}}', '{{{{ssm:{list}}}}}', 'echo token=$TOKEN']\n    environment: {{TOKEN: '{{{{ssm-secure:{token}}}}}'}}\n"
        ),
    );
    let out = rampart(&sb, "apply", &doc, &moto().endpoint)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let output = step(&rec, "useThem")["output"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(output, "host=db.internal:5432\none\ntwo\ntoken=****\n");
    assert_no_leak(&sb, &out, "tok-9f8e7d6c5b4a3", &[]);
}

#[test]
fn secure_string_through_ssm_reference_is_refused_with_a_pointer() {
    let sb = Sandbox::new();
    let key = unique("key");
    put(&key, "s3cr3t-material-xyz", ParameterType::SecureString);
    let marker = sb.dir.path().join("ran");
    let doc = sb.doc(
        "d.yml",
        &format!(
            "schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: leaky\n  inputs: {{runCommand: ['touch {}', 'echo {{{{ssm:{key}}}}} > /tmp/key']}}\n",
            marker.display()
        ),
    );
    let out = rampart(&sb, "apply", &doc, &moto().endpoint)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("'{{{{ssm:{key}}}}}' refers to a SecureString")),
        "{stderr}"
    );
    assert!(stderr.contains("rampart:secretFile"), "{stderr}");
    assert!(!marker.exists(), "a step ran");
    // moto returns `kms:<key>:<plaintext>` without decryption: neither may show.
    assert_no_leak(&sb, &out, "s3cr3t-material-xyz", &[]);
}

#[test]
fn wrong_kind_and_unknown_names_fail_before_any_step() {
    let sb = Sandbox::new();
    let plain = unique("plain");
    put(&plain, "not secret", ParameterType::String);
    let missing = unique("missing");
    let marker = sb.dir.path().join("ran");
    let doc = sb.doc(
        "d.yml",
        &format!(
            "schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: s\n  inputs:\n    runCommand: ['touch {}', 'echo {{{{ssm:{missing}}}}}']\n    environment: {{X: '{{{{ssm-secure:{plain}}}}}'}}\n",
            marker.display()
        ),
    );
    let out = rampart(&sb, "apply", &doc, &moto().endpoint)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("Parameter Store has no parameter '{missing}'")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "'{{{{ssm-secure:{plain}}}}}' refers to a String parameter, not a SecureString"
        )),
        "{stderr}"
    );
    assert!(!marker.exists());
}

#[test]
fn secure_reference_outside_an_environment_is_refused() {
    let sb = Sandbox::new();
    let doc = sb.doc(
        "d.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: s\n  inputs: {runCommand: ['echo {{ssm-secure:/x/y}} > /etc/key']}\n",
    );
    // Refused while planning; Parameter Store is never asked.
    let out = rampart(&sb, "apply", &doc, "http://127.0.0.1:1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("can only be the whole value of a variable in a shell step's environment"),
        "{stderr}"
    );
}

#[test]
fn unreachable_endpoint_is_a_clear_runtime_error_and_writes_nothing() {
    let sb = Sandbox::new();
    let target = sb.dir.path().join("key.pem");
    let mut cmd = rampart(&sb, "apply", &install_doc(), "http://127.0.0.1:1");
    cmd.args([
        "-p",
        "parameterName=/web/key",
        "-p",
        &format!("path={}", target.display()),
    ]);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("failed to read Parameter Store"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was run"), "{stderr}");
    assert!(!target.exists());
}

#[test]
fn access_denied_names_the_cause_fake_server() {
    // FAKE: moto does not enforce IAM here; this server answers
    // AccessDeniedException as SSM does for a role without ssm:GetParameters.
    let fake = FakeSsm::start(FakeBehaviour::AccessDenied);
    let sb = Sandbox::new();
    let target = sb.dir.path().join("key.pem");
    let mut cmd = rampart(&sb, "apply", &install_doc(), &fake.endpoint);
    cmd.args([
        "-p",
        "parameterName=/web/key",
        "-p",
        &format!("path={}", target.display()),
    ]);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("AccessDeniedException"), "{stderr}");
    assert!(!target.exists());
}

#[test]
fn throttling_is_retried_with_backoff_fake_server() {
    // FAKE: throttling on demand is not something moto offers.
    let fake = FakeSsm::start(FakeBehaviour::ThrottleFirst(2));
    let sb = Sandbox::new();
    let doc = sb.doc(
        "d.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: s\n  inputs: {runCommand: ['echo {{ssm:/app/a}}']}\n",
    );
    let out = rampart(&sb, "apply", &doc, &fake.endpoint)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two throttled attempts, then success (the SDK's standard retry mode).
    assert_eq!(fake.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step(&rec, "s")["output"], "value-of-/app/a\n");
}

#[test]
fn twenty_five_references_take_three_calls_of_at_most_ten_names() {
    // FAKE: the server counts calls and names per call, which moto cannot.
    let fake = FakeSsm::start(FakeBehaviour::AllFound);
    let sb = Sandbox::new();
    let mut lines = String::new();
    for i in 0..25 {
        // Each name twice: still fetched once per run.
        lines.push_str(&format!(
            "    - 'echo {{{{ssm:/fleet/p{i:02}}}}} {{{{ ssm:/fleet/p{i:02} }}}}'\n"
        ));
    }
    let doc = sb.doc(
        "d.yml",
        &format!("schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: s\n  inputs:\n    runCommand:\n{lines}"),
    );
    let out = rampart(&sb, "apply", &doc, &fake.endpoint)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let batches = fake.batches.lock().unwrap().clone();
    assert_eq!(batches.len(), 25usize.div_ceil(10));
    assert!(batches.iter().all(|b| b.len() <= 10));
    let mut all: Vec<String> = batches.concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 25, "every name exactly once");
}

#[test]
fn version_and_label_selectors_resolve() {
    let sb = Sandbox::new();
    let name = unique("versioned");
    put(&name, "first", ParameterType::String);
    put(&name, "second", ParameterType::String);
    block_on(async {
        let sdk = aws::sdk(&moto().endpoint).await;
        aws_sdk_ssm::Client::new(&sdk)
            .label_parameter_version()
            .name(&name)
            .parameter_version(1)
            .labels("stable")
            .send()
            .await
            .unwrap();
    });
    let doc = sb.doc(
        "d.yml",
        &format!("schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: s\n  inputs: {{runCommand: ['echo {{{{ssm:{name}}}}} {{{{ssm:{name}:1}}}} {{{{ssm:{name}:stable}}}}']}}\n"),
    );
    let out = rampart(&sb, "apply", &doc, &moto().endpoint)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step(&rec, "s")["output"], "second first first\n");
}

#[test]
fn refuses_symlink_hard_link_and_group_writable_parent() {
    let sb = Sandbox::new();
    let name = unique("refuse");
    put(&name, "refused-secret-value", ParameterType::SecureString);
    let base = sb.dir.path().join("t");
    fs::create_dir_all(&base).unwrap();
    let victim = base.join("victim");
    fs::write(&victim, "keep").unwrap();
    std::os::unix::fs::symlink(&victim, base.join("link")).unwrap();
    fs::hard_link(&victim, base.join("hard")).unwrap();
    let open_dir = sb.dir.path().join("open");
    fs::create_dir_all(&open_dir).unwrap();
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o777)).unwrap();

    for (path, why) in [
        (base.join("link"), "is a symlink"),
        (base.join("hard"), "hard links"),
        (open_dir.join("key"), "writable by users other than root"),
    ] {
        let mut cmd = rampart(&sb, "apply", &install_doc(), &moto().endpoint);
        cmd.args([
            "--json",
            "-p",
            &format!("parameterName={name}"),
            "-p",
            &format!("path={}", path.display()),
        ]);
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let rec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let r = resource(&rec, "secretFile", path.to_str().unwrap());
        assert_eq!(r["compliance"], "Failed");
        assert!(r["detail"].as_str().unwrap().contains(why), "{r}");
    }
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    assert!(!open_dir.join("key").exists());
}
