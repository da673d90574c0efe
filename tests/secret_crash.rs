//! kill -9 at every step of a SecureString write (crash points from the
//! `failpoints` feature) leaves the old file or the new one, whole and with
//! its own owner and mode; never a partial or wrongly-permissioned file.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use aws_sdk_ssm::types::ParameterType;
use common::aws::{self, block_on, moto};
use common::Sandbox;

/// Crash points of the atomic write helper, in order; see
/// agent/src/platform/atomic.rs.
const FAILPOINTS: [&str; 7] = [
    "before-create",
    "after-create",
    "after-chmod",
    "mid-write",
    "after-fsync",
    "after-rename",
    "after-dir-fsync",
];
/// The rename is the commit point: before it the old file stands.
const COMMITTED_FROM: usize = 5;

/// `rampart apply DOC --root /` with the sandbox's state directory.
fn host_apply(sb: &Sandbox, doc: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
    cmd.arg("apply")
        .arg(doc)
        .arg("--root")
        .arg("/")
        .arg("--state-dir")
        .arg(sb.state());
    cmd
}

#[test]
fn kill_at_each_crash_point_leaves_old_or_new_whole() {
    let name = format!("/rampart-test/crash/{}", uuid::Uuid::new_v4());
    let new_value = "-----BEGIN KEY-----\nNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEW\n-----END KEY-----\n";
    block_on(async {
        let sdk = aws::sdk(&moto().endpoint).await;
        aws_sdk_ssm::Client::new(&sdk)
            .put_parameter()
            .name(&name)
            .value(new_value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    });
    let doc =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../documents/Rampart-InstallSecretFile.yml");

    for (i, fp) in FAILPOINTS.iter().enumerate() {
        let sb = Sandbox::new();
        let dir = sb.dir.path().join("keys");
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("private.key");
        let old_value = "-----BEGIN KEY-----\nOLDOLDOLD\n-----END KEY-----\n";
        fs::write(&target, old_value).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o440)).unwrap();

        let mut cmd = host_apply(&sb, &doc);
        aws::aws_env(&mut cmd, &moto().endpoint);
        cmd.args([
            "-p",
            &format!("parameterName={name}"),
            "-p",
            &format!("path={}", target.display()),
        ])
        .env("RAMPART_FAILPOINT", fp);
        let status = cmd.output().unwrap().status;
        assert_eq!(
            status.signal(),
            Some(9),
            "{fp}: rampart was not killed at the crash point"
        );

        let content = fs::read_to_string(&target).unwrap();
        let mode = fs::metadata(&target).unwrap().mode() & 0o7777;
        if i < COMMITTED_FROM {
            assert_eq!(
                (content.as_str(), mode),
                (old_value, 0o440),
                "{fp}: old file not intact"
            );
        } else {
            assert_eq!(
                (content.as_str(), mode),
                (new_value, 0o400),
                "{fp}: new file not whole"
            );
        }
        // A temp file left behind is hidden, and never more open than the
        // final file: empty and private to root until it has the final owner
        // and mode, which it has before its first byte.
        for e in fs::read_dir(&dir).unwrap().flatten() {
            if e.path() == target {
                continue;
            }
            let meta = e.metadata().unwrap();
            let bytes = fs::read(e.path()).unwrap();
            let (mode, uid) = (meta.mode() & 0o7777, meta.uid());
            if bytes.is_empty() {
                assert!(
                    uid == 0 && mode & !0o600 == 0,
                    "{fp}: empty temp is {mode:o} uid {uid}"
                );
            } else {
                assert_eq!(
                    (mode, uid),
                    (0o400, 0),
                    "{fp}: temp with content has wrong mode/owner"
                );
                assert!(
                    new_value.as_bytes().starts_with(&bytes),
                    "{fp}: temp holds foreign bytes"
                );
            }
        }

        // The next run completes the write and clears the dead writer's temp.
        let mut again = host_apply(&sb, &doc);
        aws::aws_env(&mut again, &moto().endpoint);
        again.args([
            "-p",
            &format!("parameterName={name}"),
            "-p",
            &format!("path={}", target.display()),
        ]);
        assert_eq!(
            again.output().unwrap().status.code(),
            Some(0),
            "{fp}: recovery run failed"
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), new_value);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("private.key")],
            "{fp}: leftovers"
        );
    }
}
