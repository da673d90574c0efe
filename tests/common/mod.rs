//! Helpers shared by the integration tests: the real `rampart` binary, run
//! against a temporary root and state directory.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A scratch area for one test: `root/` (what --root points at), `state/`
/// (the state directory) and room for documents.
pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("root/etc")).unwrap();
        fs::create_dir_all(dir.path().join("state")).unwrap();
        Sandbox { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Path of `p` (absolute, in-root) on the host.
    pub fn host(&self, p: &str) -> PathBuf {
        self.root().join(p.trim_start_matches('/'))
    }

    /// Writes a file under the root, creating parents.
    pub fn put(&self, p: &str, content: &str) -> PathBuf {
        let host = self.host(p);
        fs::create_dir_all(host.parent().unwrap()).unwrap();
        fs::write(&host, content).unwrap();
        host
    }

    /// Writes a document next to the root and returns its path.
    pub fn doc(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        fs::write(&p, text).unwrap();
        p
    }

    /// A `rampart` command with --root and --state-dir for `check`/`apply`.
    pub fn rampart(&self, verb: &str, doc: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
        cmd.arg(verb).arg(doc);
        if verb == "check" || verb == "apply" {
            cmd.arg("--root")
                .arg(self.root())
                .arg("--state-dir")
                .arg(self.state());
        }
        cmd.env_remove("RAMPART_LOG")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        cmd
    }

    /// Runs `rampart VERB DOC --json ARGS` and parses the record.
    pub fn run_json(
        &self,
        verb: &str,
        doc: &Path,
        args: &[&str],
    ) -> (i32, serde_json::Value, Output) {
        let out = self
            .rampart(verb, doc)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, json, out)
    }
}

/// The resource entries of a record with the given type and id.
pub fn resource<'a>(record: &'a serde_json::Value, kind: &str, id: &str) -> &'a serde_json::Value {
    record["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == kind && r["id"] == id)
        .unwrap_or_else(|| panic!("no {kind} resource '{id}' in {record:#}"))
}

/// The one resource entry with this type and id: a second row for the
/// same package would be a record that says two things of it.
pub fn only_row<'a>(record: &'a serde_json::Value, kind: &str, id: &str) -> &'a serde_json::Value {
    let rows: Vec<&serde_json::Value> = record["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == kind && r["id"] == id)
        .collect();
    assert_eq!(rows.len(), 1, "want one {kind} row '{id}': {record:#}");
    rows[0]
}

/// The step entry of a record by name.
pub fn step<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step '{name}' in {record:#}"))
}
pub mod aws;
pub mod debs;
pub mod rpms;

/// A document of one `rampart:package` step named `pkg` with `inputs`
/// (a YAML flow mapping).
pub fn package_doc(sb: &Sandbox, inputs: &str) -> PathBuf {
    sb.doc(
        "pkg.yml",
        &format!(
            "schemaVersion: '2.2'\ndescription: package test\nmainSteps:\n\
             - name: pkg\n  action: rampart:package\n  inputs: {inputs}\n"
        ),
    )
}

/// A document of one `rampart:patchBaseline` step named `patch` with
/// `inputs` (a YAML flow mapping).
pub fn baseline_doc(sb: &Sandbox, inputs: &str) -> PathBuf {
    sb.doc(
        "patch.yml",
        &format!(
            "schemaVersion: '2.2'\nmainSteps:\n\
             - name: patch\n  action: rampart:patchBaseline\n  inputs: {inputs}\n"
        ),
    )
}

/// The `patch` resource of a package in a patch-baseline record.
pub fn patch<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    resource(record, "patch", name)
}

/// The one resource of a one-resource record.
pub fn only_resource(record: &serde_json::Value) -> &serde_json::Value {
    let all = record["resources"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{record:#}");
    &all[0]
}

/// A resource's detail text.
pub fn detail(r: &serde_json::Value) -> &str {
    r["detail"].as_str().unwrap()
}
