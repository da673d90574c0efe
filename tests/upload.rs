//! Results to S3 through the spool, against moto's real S3 protocol server:
//! SSM's key layout, content types, encryption, multipart, outages and
//! crashes, and spool limits.

mod common;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::aws::{self, create_bucket, create_kms_key, moto, objects, OwnMoto};
use common::{step, Sandbox};

const INSTANCE: &str = "i-0123456789abcdef0";

fn rampart(sb: &Sandbox, args: &[&str], endpoint: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.args(args).arg("--state-dir").arg(sb.state());
    aws::aws_env(&mut cmd, endpoint);
    cmd.env("RAMPART_INSTANCE_ID", INSTANCE)
        .env_remove("RAMPART_LOG");
    cmd
}

fn apply(sb: &Sandbox, doc: &Path, endpoint: &str, extra: &[&str]) -> Output {
    let mut cmd = rampart(sb, &["apply", doc.to_str().unwrap()], endpoint);
    cmd.arg("--root").arg(sb.root()).args(extra);
    cmd.output().unwrap()
}

fn bucket_name(tag: &str) -> String {
    format!("{tag}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A 2.2 document with several steps: two scripts (one writing stderr, one
/// silent), and a file step.
fn three_steps(sb: &Sandbox) -> PathBuf {
    sb.doc(
        "multi.yml",
        "schemaVersion: '2.2'\nmainSteps:\n\
         - action: aws:runShellScript\n  name: collect\n  inputs: {runCommand: ['echo out-one', 'echo err-one >&2']}\n\
         - action: aws:runShellScript\n  name: silent\n  inputs: {runCommand: ['true']}\n\
         - action: rampart:file\n  name: motd\n  inputs: {path: /etc/motd, content: \"hi\\n\"}\n",
    )
}

/// Files still waiting in the spool.
fn spooled(sb: &Sandbox) -> usize {
    fs::read_dir(sb.state().join("outbox"))
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn keys_and_content_types_are_those_ssm_writes() {
    let sb = Sandbox::new();
    let bucket = bucket_name("layout");
    create_bucket(&moto().endpoint, &bucket, None);
    let out = apply(
        &sb,
        &three_steps(&sb),
        &moto().endpoint,
        &[
            "--output",
            &format!("s3://{bucket}/team//runs/"),
            "--command-id",
            "cmd-layout-1",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // SSM: <prefix>/<commandId>/<instanceId>/<action without ':'>/<step>/stdout|stderr,
    // empty prefix components dropped, only non-empty streams uploaded.
    let base = format!("team/runs/cmd-layout-1/{INSTANCE}");
    let got = objects(&moto().endpoint, &bucket, "");
    let keys: Vec<&str> = got.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            format!("{base}/awsrunShellScript/collect/stderr"),
            format!("{base}/awsrunShellScript/collect/stdout"),
            format!("{base}/rampart-result.json"),
            format!("{base}/rampartfile/motd/stdout"),
        ]
    );
    let by_key = |suffix: &str| got.iter().find(|o| o.key.ends_with(suffix)).unwrap();
    assert_eq!(by_key("collect/stdout").body, b"out-one\n");
    assert_eq!(by_key("collect/stderr").body, b"err-one\n");
    assert_eq!(by_key("collect/stdout").content_type, "text/plain");
    assert_eq!(
        by_key("rampart-result.json").content_type,
        "application/json"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&by_key("rampart-result.json").body).unwrap();
    assert_eq!(record["commandId"], "cmd-layout-1");
    assert_eq!(step(&record, "silent")["status"], "Success");
    assert_eq!(spooled(&sb), 0, "delivered results must leave the spool");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!(
        "results: s3://{bucket}/team/runs/cmd-layout-1/{INSTANCE}/"
    )));
}

#[test]
fn bucket_default_encryption_is_copied_onto_uploads() {
    let sb = Sandbox::new();
    let key_id = create_kms_key(&moto().endpoint);
    let kms_bucket = bucket_name("kms");
    let aes_bucket = bucket_name("aes");
    create_bucket(&moto().endpoint, &kms_bucket, Some(&key_id));
    create_bucket(&moto().endpoint, &aes_bucket, Some("AES256"));
    let doc = three_steps(&sb);
    for (bucket, want_sse, want_key) in [
        (&kms_bucket, "aws:kms", Some(key_id.as_str())),
        (&aes_bucket, "AES256", None),
    ] {
        let out = apply(
            &sb,
            &doc,
            &moto().endpoint,
            &["--output", &format!("s3://{bucket}/p")],
        );
        assert_eq!(out.status.code(), Some(0));
        let got = objects(&moto().endpoint, bucket, "p/");
        assert_eq!(got.len(), 4);
        for o in got {
            assert_eq!(o.sse.as_deref(), Some(want_sse), "{}", o.key);
            if let Some(k) = want_key {
                assert!(
                    o.kms_key.as_deref().is_some_and(|g| g.ends_with(k)),
                    "{}: {:?}",
                    o.key,
                    o.kms_key
                );
            }
        }
    }
}

#[test]
fn fifty_megabytes_go_up_in_parts_with_bounded_memory() {
    let sb = Sandbox::new();
    let bucket = bucket_name("big");
    create_bucket(&moto().endpoint, &bucket, None);
    const SIZE: u64 = 50 * 1024 * 1024;
    let doc = sb.doc(
        "big.yml",
        &format!("schemaVersion: '2.2'\nmainSteps:\n- action: aws:runShellScript\n  name: big\n  inputs: {{runCommand: ['yes rampart-output-line | head -c {SIZE}']}}\n"),
    );
    // GNU time reports the peak RSS of the rampart process alone.
    let rss = sb.dir.path().join("rss");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(env!("CARGO_BIN_EXE_rampart"));
    cmd.args([
        "apply",
        doc.to_str().unwrap(),
        "--output",
        &format!("s3://{bucket}/p"),
        "--output-limit",
        "60000000",
    ])
    .arg("--root")
    .arg(sb.root())
    .arg("--state-dir")
    .arg(sb.state());
    aws::aws_env(&mut cmd, &moto().endpoint);
    cmd.env("RAMPART_INSTANCE_ID", INSTANCE);
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let got = objects(&moto().endpoint, &bucket, "p/");
    let big = got.iter().find(|o| o.key.ends_with("big/stdout")).unwrap();
    assert_eq!(big.body.len() as u64, SIZE);
    let line = b"rampart-output-line\n";
    assert!(
        big.body.chunks(line.len()).all(|c| line.starts_with(c)),
        "content differs"
    );
    // A multipart upload's ETag ends in -<parts> (S3 documents this form).
    assert!(
        big.etag.trim_matches('"').ends_with("-7"),
        "not multipart in 8 MiB parts: {}",
        big.etag
    );
    let peak_kib: u64 = fs::read_to_string(&rss).unwrap().trim().parse().unwrap();
    assert!(
        peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB for a 50 MiB upload"
    );
}

#[test]
fn an_outage_keeps_results_and_a_later_drain_delivers_each_once() {
    let sb = Sandbox::new();
    let mut server = OwnMoto::start();
    let endpoint = server.endpoint();
    server.stop();

    let doc = three_steps(&sb);
    let dest = "s3://outage-bucket/p";
    for n in 0..3 {
        let out = apply(
            &sb,
            &doc,
            &endpoint,
            &["--output", dest, "--command-id", &format!("cmd-{n}")],
        );
        // The host is compliant: the exit code reports the host, not the network.
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("kept in the spool"), "{stderr}");
    }
    assert_eq!(spooled(&sb), 3);
    let local: Vec<(String, Vec<u8>)> = local_files(&sb);

    server.restart();
    create_bucket(&endpoint, "outage-bucket", None);
    let out = rampart(&sb, &["results", "upload"], &endpoint)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(spooled(&sb), 0);
    let got = objects(&endpoint, "outage-bucket", "p/");
    assert_eq!(got.len(), local.len());
    for (rel, body) in local {
        let o = got
            .iter()
            .find(|o| o.key == format!("p/{rel}"))
            .unwrap_or_else(|| panic!("{rel} missing"));
        assert_eq!(o.body, body, "{rel} differs from what was spooled");
    }
}

/// Non-empty spooled files as (relative key, content).
fn local_files(sb: &Sandbox) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let body = fs::read(&p).unwrap();
                if !body.is_empty() {
                    out.push((
                        p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                        body,
                    ));
                }
            }
        }
    }
    let mut out = Vec::new();
    for item in fs::read_dir(sb.state().join("outbox")).unwrap().flatten() {
        let keys = item.path().join("keys");
        if keys.is_dir() {
            walk(&keys, &keys, &mut out);
        }
    }
    out
}

#[test]
fn kill_9_mid_upload_then_restart_drains_the_spool() {
    let sb = Sandbox::new();
    let bucket = bucket_name("crash");
    create_bucket(&moto().endpoint, &bucket, None);
    let doc = three_steps(&sb);
    // Spool without a reachable S3 first, so the upload can be crashed alone.
    let out = apply(
        &sb,
        &doc,
        "http://127.0.0.1:1",
        &[
            "--output",
            &format!("s3://{bucket}/p"),
            "--command-id",
            "cmd-crash",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let local = local_files(&sb);

    let mut crash = rampart(&sb, &["results", "upload"], &moto().endpoint);
    crash.env("RAMPART_FAILPOINT", "upload-after-object");
    let crashed = crash.output().unwrap();
    if cfg!(feature = "failpoints") {
        assert_eq!(
            crashed.status.signal(),
            Some(9),
            "rampart was not killed after the first object: {}",
            String::from_utf8_lossy(&crashed.stderr)
        );
        assert_eq!(
            objects(&moto().endpoint, &bucket, "p/").len(),
            1,
            "exactly the first object made it"
        );
        assert_eq!(spooled(&sb), 1);
    }

    let out = rampart(&sb, &["results", "upload"], &moto().endpoint)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(spooled(&sb), 0);
    let got = objects(&moto().endpoint, &bucket, "p/");
    assert_eq!(got.len(), local.len());
    for (rel, body) in local {
        assert_eq!(
            got.iter()
                .find(|o| o.key == format!("p/{rel}"))
                .unwrap()
                .body,
            body
        );
    }
}

#[test]
fn missing_bucket_and_bad_endpoint_keep_results_with_a_clear_warning() {
    let sb = Sandbox::new();
    let doc = three_steps(&sb);
    let out = apply(
        &sb,
        &doc,
        &moto().endpoint,
        &["--output", "s3://no-such-bucket-rampart/p"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("no-such-bucket-rampart") && stderr.contains("the bucket does not exist"),
        "{stderr}"
    );
    assert_eq!(spooled(&sb), 1);

    let out = apply(
        &sb,
        &doc,
        "http://127.0.0.1:1",
        &["--output", "s3://some-bucket/p"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kept in the spool"), "{stderr}");
    assert_eq!(spooled(&sb), 2);

    let out = apply(
        &sb,
        &doc,
        &moto().endpoint,
        &["--output", "https://not-s3/p"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must look like s3://bucket/prefix"));
}

#[test]
fn spool_limits_drop_the_oldest_and_count_the_drops() {
    let sb = Sandbox::new();
    let config = sb.doc("rampart.toml", "[spool]\nmax_items = 3\n");
    let doc = three_steps(&sb);
    for n in 0..5 {
        let mut cmd = rampart(
            &sb,
            &[
                "apply",
                doc.to_str().unwrap(),
                "--command-id",
                &format!("cmd-{n}"),
            ],
            "http://127.0.0.1:1",
        );
        cmd.arg("--root")
            .arg(sb.root())
            .arg("--config")
            .arg(&config);
        assert_eq!(cmd.output().unwrap().status.code(), Some(0));
    }
    assert_eq!(spooled(&sb), 3);
    let out = rampart(
        &sb,
        &["results", "list", "--config", config.to_str().unwrap()],
        "http://127.0.0.1:1",
    )
    .output()
    .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("2 result(s) dropped by spool limits"),
        "{listing}"
    );
    for kept in ["cmd-2", "cmd-3", "cmd-4"] {
        assert!(listing.contains(kept), "{listing}");
    }
    assert!(
        !listing.contains("cmd-0") && !listing.contains("cmd-1"),
        "{listing}"
    );
}

#[test]
fn run_payload_executes_a_send_command_message_end_to_end() {
    let sb = Sandbox::new();
    let bucket = bucket_name("payload");
    create_bucket(&moto().endpoint, &bucket, None);
    let payload = serde_json::json!({
        "CommandId": "4c9f3ab5-1111-2222-3333-444455556666",
        "DocumentName": "AWS-RunShellScript",
        "DocumentContent": {
            "schemaVersion": "1.2",
            "parameters": {"commands": {"type": "StringList"}},
            "runtimeConfig": {"aws:runShellScript": {"properties": [
                {"id": "0.aws:runShellScript", "runCommand": "{{ commands }}"}
            ]}}
        },
        "Parameters": {"commands": ["echo from-payload", "echo $SSM_COMMAND_ID"]},
        "OutputS3BucketName": bucket,
        "OutputS3KeyPrefix": "send-command"
    });
    let file = sb.doc("payload.json", &payload.to_string());
    let mut cmd = rampart(
        &sb,
        &["run-payload", file.to_str().unwrap()],
        &moto().endpoint,
    );
    cmd.arg("--root").arg(sb.root());
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = objects(&moto().endpoint, &bucket, "send-command/");
    let stdout = got
        .iter()
        .find(|o| o.key == format!("send-command/4c9f3ab5-1111-2222-3333-444455556666/{INSTANCE}/awsrunShellScript/0.awsrunShellScript/stdout"))
        .expect("stdout under Run Command's key layout");
    assert_eq!(
        stdout.body,
        b"from-payload\n4c9f3ab5-1111-2222-3333-444455556666\n"
    );
}

#[test]
fn ids_from_amazon_ssm_agent_environment_place_results_beside_run_command_output() {
    let sb = Sandbox::new();
    let bucket = bucket_name("envids");
    create_bucket(&moto().endpoint, &bucket, None);
    let mut cmd = rampart(
        &sb,
        &[
            "apply",
            three_steps(&sb).to_str().unwrap(),
            "--output",
            &format!("s3://{bucket}/ssm"),
        ],
        &moto().endpoint,
    );
    cmd.arg("--root")
        .arg(sb.root())
        .env_remove("RAMPART_INSTANCE_ID")
        .env("AWS_SSM_INSTANCE_ID", "i-0fedcba9876543210")
        .env("SSM_COMMAND_ID", "b1e2c3d4-0000-1111-2222-333344445555");
    assert_eq!(cmd.output().unwrap().status.code(), Some(0));
    let got = objects(
        &moto().endpoint,
        &bucket,
        "ssm/b1e2c3d4-0000-1111-2222-333344445555/i-0fedcba9876543210/",
    );
    assert_eq!(got.len(), 4);
}

#[test]
fn shipped_ssm_document_runs_rampart_and_files_results_under_the_command() {
    // The SSM document uses only aws:runShellScript, so Rampart itself can
    // stand in for amazon-ssm-agent here: it exports SSM_COMMAND_ID and the
    // ENV_VAR parameters exactly as the reference agent does.
    let sb = Sandbox::new();
    let bucket = bucket_name("ssmdoc");
    create_bucket(&moto().endpoint, &bucket, None);
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents/ssm/Rampart-Run.json");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rampart"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = rampart(
        &sb,
        &[
            "apply",
            doc.to_str().unwrap(),
            "--command-id",
            "run-command-7",
        ],
        &moto().endpoint,
    );
    cmd.arg("--root")
        .arg(sb.root())
        .args(["-p", "document=Rampart-ShellExample", "-p", "mode=check"])
        .args(["-p", r#"documentParameters={"greeting": "hi"}"#])
        .args(["-p", &format!("outputS3Uri=s3://{bucket}/ssm-output")])
        .env("PATH", path)
        .env("RAMPART_STATE_DIR", sb.dir.path().join("inner-state"));
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let got = objects(
        &moto().endpoint,
        &bucket,
        &format!("ssm-output/run-command-7/{INSTANCE}/"),
    );
    let record = got
        .iter()
        .find(|o| o.key.ends_with("/rampart-result.json"))
        .expect("inner record uploaded");
    let record: serde_json::Value = serde_json::from_slice(&record.body).unwrap();
    assert_eq!(record["document"], "Rampart-ShellExample");
    assert_eq!(record["mode"], "check");
    assert_eq!(record["parameters"]["greeting"], "hi");
}
