//! AWS-protocol peers for the tests.
//!
//! [`Moto`] is the real thing: moto's server (PyPI `moto[server]`) speaking
//! the SSM, KMS and S3 wire protocols on loopback, started once per test
//! binary. [`FakeSsm`] is a hand-written stand-in used only for faults moto
//! cannot produce (access denied, throttling) and for counting calls; it is
//! labelled as a fake wherever it is used.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const REGION: &str = "us-east-1";

/// Environment for a `rampart` run against `endpoint` with test credentials.
pub fn aws_env(cmd: &mut Command, endpoint: &str) {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
}

pub struct Moto {
    pub endpoint: String,
    _child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The shared moto server of this test binary. `MOTO_SERVER` names the
/// executable (tests/run.sh sets it); it dies with the test process.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let exe = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = free_port();
        // setpriv --pdeathsig kills the server when the thread that started
        // it ends, so it is started from a thread that lives as long as the
        // test process; the server thus dies with the tests, however they end.
        let (tx, rx) = std::sync::mpsc::channel();
        let exe2 = exe.clone();
        std::thread::spawn(move || {
            let child = Command::new("setpriv")
                .args(["--pdeathsig", "KILL", "--"])
                .arg(&exe2)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let _ = tx.send(child);
            loop {
                std::thread::park();
            }
        });
        let child = rx.recv().unwrap().unwrap_or_else(|e| {
            panic!("cannot start {exe} (run the tests through tests/run.sh): {e}")
        });
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if http_get(port, "/moto-api/").is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto server did not come up on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            endpoint,
            _child: child,
        }
    })
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.starts_with("HTTP/1.1 200").then_some(out)
}

/// An SDK configuration pointing at `endpoint`, for test setup.
pub async fn sdk(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(rampart::cloud::https_client())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// What the fake answers to each GetParameters call.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FakeBehaviour {
    /// Every requested name exists as a String whose value is "value-of-<name>".
    AllFound,
    /// AccessDeniedException, as IAM would answer without ssm:GetParameters.
    AccessDenied,
    /// ThrottlingException for the first `n` calls, then AllFound.
    ThrottleFirst(usize),
}

/// FAKE: a minimal SSM endpoint (AWS JSON 1.1) for faults moto cannot
/// produce. It answers only GetParameters and records each call's names.
pub struct FakeSsm {
    pub endpoint: String,
    pub calls: Arc<AtomicUsize>,
    pub batches: Arc<Mutex<Vec<Vec<String>>>>,
}

impl FakeSsm {
    pub fn start(behaviour: FakeBehaviour) -> FakeSsm {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let batches = Arc::new(Mutex::new(Vec::new()));
        let (c, b) = (calls.clone(), batches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (c, b) = (c.clone(), b.clone());
                std::thread::spawn(move || serve(stream, behaviour, &c, &b));
            }
        });
        FakeSsm {
            endpoint,
            calls,
            batches,
        }
    }
}

fn serve(
    stream: TcpStream,
    behaviour: FakeBehaviour,
    calls: &AtomicUsize,
    batches: &Mutex<Vec<Vec<String>>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = calls.fetch_add(1, Ordering::SeqCst);
        let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let names: Vec<String> = req["Names"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        batches.lock().unwrap().push(names.clone());
        let (status, body) = match behaviour {
            FakeBehaviour::AccessDenied => (
                "400 Bad Request",
                serde_json::json!({"__type": "AccessDeniedException", "message": "User: arn:aws:iam::123456789012:user/test is not authorized to perform: ssm:GetParameters"}),
            ),
            FakeBehaviour::ThrottleFirst(k) if n < k => (
                "400 Bad Request",
                serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
            ),
            _ => (
                "200 OK",
                serde_json::json!({
                    "Parameters": names.iter().map(|n| serde_json::json!({
                        "Name": n, "Type": "String", "Value": format!("value-of-{n}"), "Version": 1
                    })).collect::<Vec<_>>(),
                    "InvalidParameters": []
                }),
            ),
        };
        let body = body.to_string();
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: fake\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// A moto server owned by one test, which may stop and restart it (for
/// outage tests). It dies with the thread that started it.
pub struct OwnMoto {
    pub port: u16,
    child: Option<Child>,
}

impl OwnMoto {
    pub fn start() -> OwnMoto {
        let mut m = OwnMoto {
            port: free_port(),
            child: None,
        };
        m.restart();
        m
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port, with empty state.
    pub fn restart(&mut self) {
        self.stop();
        let exe = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--"])
            .arg(&exe)
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {exe}: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while http_get(self.port, "/moto-api/").is_none() {
            assert!(Instant::now() < deadline, "moto did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Creates a bucket, optionally with default encryption ("AES256" or a KMS
/// key id for aws:kms).
pub fn create_bucket(endpoint: &str, bucket: &str, default_sse: Option<&str>) {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    block_on(async {
        let s3 = s3_client(endpoint).await;
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        if let Some(sse) = default_sse {
            let by_default = if sse == "AES256" {
                ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
            } else {
                ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::AwsKms)
                    .kms_master_key_id(sse)
            };
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default.build().unwrap())
                .build();
            s3.put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(rule)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
    });
}

/// A path-style S3 client for test setup and inspection.
pub async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = sdk(endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    )
}

/// One stored object as S3 reports it.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: String,
    pub sse: Option<String>,
    pub kms_key: Option<String>,
    pub etag: String,
}

/// Every object under `prefix`, with body and metadata.
pub fn objects(endpoint: &str, bucket: &str, prefix: &str) -> Vec<StoredObject> {
    block_on(async {
        let s3 = s3_client(endpoint).await;
        let list = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for o in list.contents() {
            let key = o.key().unwrap().to_string();
            let got = s3
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            out.push(StoredObject {
                content_type: got.content_type().unwrap_or_default().to_string(),
                sse: got.server_side_encryption().map(|s| s.as_str().to_string()),
                kms_key: got.ssekms_key_id().map(str::to_string),
                etag: got.e_tag().unwrap_or_default().to_string(),
                body: got.body.collect().await.unwrap().into_bytes().to_vec(),
                key,
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    })
}

/// Creates a KMS key and returns its id.
pub fn create_kms_key(endpoint: &str) -> String {
    block_on(async {
        let kms = aws_sdk_kms::Client::new(&sdk(endpoint).await);
        kms.create_key()
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .key_id()
            .to_string()
    })
}

/// FAKE: State Manager's association reads, which moto does not implement
/// (it answers HTTP 500). Answers `DescribeEffectiveInstanceAssociations`
/// and `DescribeAssociation` in the AWS JSON 1.1 shape the real SDK parses;
/// every other operation gets a 400.
pub struct FakeStateManager {
    pub endpoint: String,
}

/// One association the fake serves: id, name, document content (JSON
/// text), parameters, schedule.
#[derive(Clone)]
pub struct FakeAssociation {
    pub id: String,
    pub name: String,
    pub content: String,
    pub parameters: serde_json::Value,
    pub schedule: String,
}

impl FakeStateManager {
    pub fn start(instance_id: &str, associations: Vec<FakeAssociation>) -> FakeStateManager {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let instance_id = instance_id.to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (assocs, instance) = (associations.clone(), instance_id.clone());
                std::thread::spawn(move || serve_sm(stream, &instance, &assocs));
            }
        });
        FakeStateManager { endpoint }
    }
}

fn serve_sm(stream: TcpStream, instance: &str, assocs: &[FakeAssociation]) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let (mut len, mut target) = (0usize, String::new());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if k.eq_ignore_ascii_case("x-amz-target") {
                    target = v.trim().to_string();
                }
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let (status, reply) = match target.rsplit('.').next().unwrap_or_default() {
            "DescribeEffectiveInstanceAssociations" => (
                "200 OK",
                serde_json::json!({"Associations": assocs.iter().map(|a| serde_json::json!({
                    "AssociationId": a.id, "InstanceId": instance, "Content": a.content, "AssociationVersion": "1"
                })).collect::<Vec<_>>()}),
            ),
            "DescribeAssociation" => match assocs
                .iter()
                .find(|a| req["AssociationId"] == a.id.as_str())
            {
                Some(a) => (
                    "200 OK",
                    serde_json::json!({"AssociationDescription": {
                        "AssociationId": a.id, "AssociationName": a.name, "Name": "Custom-Doc",
                        "InstanceId": instance, "Parameters": a.parameters, "ScheduleExpression": a.schedule
                    }}),
                ),
                None => (
                    "400 Bad Request",
                    serde_json::json!({"__type": "AssociationDoesNotExist", "message": "no such association"}),
                ),
            },
            other => (
                "400 Bad Request",
                serde_json::json!({"__type": "InvalidAction", "message": format!("fake does not serve {other}")}),
            ),
        };
        let reply = reply.to_string();
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nx-amzn-RequestId: fake\r\n\r\n{reply}",
            reply.len()
        );
        if writer.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}
