//! The TLS stack for real: moto's server behind HTTPS, with a certificate
//! from a throw-away CA made by openssl. Rampart reaches it only when that CA
//! is trusted (SSL_CERT_FILE, honoured by the system trust store loader) and
//! refuses it otherwise, so certificate checking is on.

mod common;

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::aws::{self, REGION};
use common::Sandbox;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl (tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &Path, ca_name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let subject = format!("/CN={ca_name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", &subject,
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn moto_exe() -> PathBuf {
    PathBuf::from(std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into()))
}

fn start_https_moto(cert: &Path, key: &Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("setpriv")
        .args(["--pdeathsig", "KILL", "--"])
        .arg(moto_exe())
        .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-c"])
        .arg(cert)
        .arg("-k")
        .arg(key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server (tests/run.sh installs it)");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto did not come up on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, format!("https://127.0.0.1:{port}"))
}

/// Puts a parameter with boto3 from moto's own virtual environment,
/// verifying the server against the test CA: an independent check that the
/// certificates are right before Rampart is judged by them.
fn put_parameter(endpoint: &str, ca: &Path, name: &str, value: &str) {
    let python = moto_exe()
        .parent()
        .map(|d| d.join("python3"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| "python3".into());
    let script = format!(
        "import boto3\nboto3.client('ssm', endpoint_url='{endpoint}', region_name='{REGION}', aws_access_key_id='testing', aws_secret_access_key='testing', verify='{}').put_parameter(Name='{name}', Value='{value}', Type='String')\n",
        ca.display()
    );
    let out = Command::new(python).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "boto3 put_parameter over TLS: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `rampart apply` trusting exactly the CA certificates in `ca`, never this
/// machine's trust store.
fn apply(sb: &Sandbox, doc: &Path, endpoint: &str, ca: &Path, empty_dir: &Path) -> Output {
    let mut cmd = sb.rampart("apply", doc);
    aws::aws_env(&mut cmd, endpoint);
    cmd.env("SSL_CERT_DIR", empty_dir).env("SSL_CERT_FILE", ca);
    cmd.output().unwrap()
}

#[test]
fn parameter_store_over_https_needs_a_trusted_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(certs.path(), "Rampart test CA");
    // A second, unrelated CA: what an instance trusts when the endpoint's
    // certificate is not from a CA it knows.
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = certificates(other.path(), "Some other CA");
    let empty = tempfile::tempdir().unwrap();
    let (_server, endpoint) = start_https_moto(&cert, &key);
    put_parameter(&endpoint, &ca, "/tls/motd", "hello-over-tls");

    let sb = Sandbox::new();
    let doc = sb.doc(
        "motd.yml",
        "schemaVersion: '2.2'\nmainSteps:\n- action: rampart:file\n  name: motd\n  inputs: {path: /etc/motd, content: \"{{ssm:/tls/motd}}\\n\", mode: \"0644\"}\n",
    );

    // Untrusted: refused before any step, nothing written.
    let out = apply(&sb, &doc, &endpoint, &other_ca, empty.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(0),
        "an untrusted server was accepted: {err}"
    );
    assert!(!sb.host("/etc/motd").exists());
    assert!(
        err.contains("certificate") && err.contains("SSL_CERT_FILE"),
        "the error must say why and what to do: {err}"
    );

    // Trusted through SSL_CERT_FILE: the value arrives over TLS.
    let out = apply(&sb, &doc, &endpoint, &ca, empty.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_to_string(sb.host("/etc/motd")).unwrap(),
        "hello-over-tls\n"
    );
}
