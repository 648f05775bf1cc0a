//! Test harness: start the real `protoreg` binary on a free port against a
//! fresh database (SQLite file or a new PostgreSQL database) and talk HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_protoreg");

/// Where a server keeps its data.
pub enum Db {
    Sqlite {
        /// Shared with every server started on it, so that a database made
        /// inline (`Server::start(&Db::sqlite())`) outlives the statement.
        dir: std::sync::Arc<tempfile::TempDir>,
        url: String,
    },
    Postgres {
        url: String,
        admin_url: String,
        name: String,
    },
}

impl Db {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}/protoreg.db", dir.path().display());
        Db::Sqlite {
            dir: std::sync::Arc::new(dir),
            url,
        }
    }

    /// A fresh PostgreSQL database, or `None` (with a printed notice) when
    /// PostgreSQL is unreachable outside CI. Under CI ([`under_ci`]) that
    /// panics.
    pub fn postgres() -> Option<Self> {
        let admin_url = std::env::var("PROTOREG_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut client = match postgres::Client::connect(&admin_url, postgres::NoTls) {
            Ok(client) => client,
            Err(err) => {
                skip_unless_ci(&format!("PostgreSQL unreachable at {admin_url}: {err}"));
                return None;
            }
        };
        let name = format!("protoreg_e2e_{:016x}", rand::random::<u64>());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let url = replace_database(&admin_url, &name);
        Some(Db::Postgres {
            url,
            admin_url,
            name,
        })
    }

    pub fn url(&self) -> &str {
        match self {
            Db::Sqlite { url, .. } | Db::Postgres { url, .. } => url,
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut client) = postgres::Client::connect(admin_url, postgres::NoTls)
        {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let head = base[authority..]
        .find('/')
        .map_or(base, |i| &base[..authority + i]);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{head}/{name}{query}")
}

/// A running `protoreg serve`.
pub struct Server {
    child: Child,
    pub base: String,
    /// `http://127.0.0.1:PORT` (or `https://`) of the gRPC API, when on.
    pub grpc: Option<String>,
    database_url: String,
    workdir: tempfile::TempDir,
    /// Keeps a SQLite database's directory while the server runs.
    _db_dir: Option<std::sync::Arc<tempfile::TempDir>>,
    extra_env: Vec<(String, String)>,
    extra_args: Vec<String>,
    pub http: reqwest::blocking::Client,
}

impl Server {
    pub fn start(db: &Db) -> Self {
        Self::start_with_env(db, &[])
    }

    pub fn start_with_env(db: &Db, env: &[(&str, &str)]) -> Self {
        Self::start_with_args(db, env, Vec::new())
    }

    /// Starts with `--config FILE`; the file is read again on SIGHUP.
    pub fn start_with_config(db: &Db, config_file: &Path) -> Self {
        let args = vec!["--config".to_owned(), config_file.display().to_string()];
        Self::start_with_args(db, &[], args)
    }

    /// `--config FILE` plus extra environment variables.
    pub fn start_with_config_and_env(db: &Db, config_file: &Path, env: &[(&str, &str)]) -> Self {
        let args = vec!["--config".to_owned(), config_file.display().to_string()];
        Self::start_with_args(db, env, args)
    }

    /// Starts with extra command-line arguments (`--listen ADDR` replaces
    /// the default free port, e.g. to restart on the same address).
    pub fn start_with_args(db: &Db, env: &[(&str, &str)], extra_args: Vec<String>) -> Self {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self::start_with_client(db, env, extra_args, http)
    }

    /// Starts with `extra_args`, speaking to the server (readiness included)
    /// through `http`, e.g. a client that trusts a test CA.
    pub fn start_with_client(
        db: &Db,
        env: &[(&str, &str)],
        extra_args: Vec<String>,
        http: reqwest::blocking::Client,
    ) -> Self {
        let workdir = tempfile::tempdir().expect("tempdir");
        let extra_env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, base, grpc) = spawn(
            db.url(),
            workdir.path().to_path_buf(),
            &extra_env,
            &extra_args,
        );
        let server = Server {
            child,
            base,
            grpc,
            database_url: db.url().to_owned(),
            workdir,
            _db_dir: match db {
                Db::Sqlite { dir, .. } => Some(dir.clone()),
                Db::Postgres { .. } => None,
            },
            extra_env,
            extra_args,
            http,
        };
        server.wait_ready();
        server
    }

    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(self.url("/readyz")).send()
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server at {} never became ready",
                self.base
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `HOST:PORT` of the gRPC API.
    pub fn grpc_addr(&self) -> String {
        let url = self.grpc.as_deref().expect("the gRPC API is on");
        url.split_once("://")
            .map_or(url, |(_, rest)| rest)
            .to_owned()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGHUP (reload the configuration).
    pub fn hangup(&self) {
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kill -9 and start again on the same database and work dir.
    pub fn restart_after_kill9(&mut self) {
        self.kill9();
        let (child, base, grpc) = spawn(
            &self.database_url,
            self.workdir.path().to_path_buf(),
            &self.extra_env,
            &self.extra_args,
        );
        self.child = child;
        self.base = base;
        self.grpc = grpc;
        self.wait_ready();
    }

    /// Kill -9 and start again on the same database and work dir with
    /// `args` instead of the arguments it was started with.
    pub fn restart_after_kill9_with_args(&mut self, args: Vec<String>) {
        self.extra_args = args;
        self.restart_after_kill9();
    }

    /// SIGTERM and the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(self.url(path)).send().expect("GET");
        status_json(r)
    }

    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self.http.get(self.url(path)).send().expect("GET");
        (r.status().as_u16(), r.bytes().unwrap().to_vec())
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .expect("POST");
        status_json(r)
    }

    pub fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        status_json(self.post_typed(path, "application/json", body))
    }

    /// POSTs `body` as it is, declared as `content_type`.
    pub fn post_typed(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> reqwest::blocking::Response {
        self.http
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("POST")
    }

    pub fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .put(self.url(path))
            .json(&body)
            .send()
            .expect("PUT");
        status_json(r)
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        let r = self.http.delete(self.url(path)).send().expect("DELETE");
        status_json(r)
    }

    /// A `method` request to `path` with an optional bearer token and JSON
    /// body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::blocking::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().expect("request")
    }

    /// [`Server::request`]: the status and the body as JSON (a body that is
    /// not JSON as a string, an empty one as null).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        status_json(self.request(method, path, token, body))
    }

    /// Publishes `files` into `ns/schema`.
    pub fn publish(&self, ns: &str, schema: &str, files: &[(&str, &str)]) -> (u16, Value) {
        let sources: serde_json::Map<String, Value> = files
            .iter()
            .map(|(p, t)| (p.to_string(), Value::String(t.to_string())))
            .collect();
        self.post(
            &format!("/v1/namespaces/{ns}/schemas/{schema}/versions"),
            json!({ "sources": sources }),
        )
    }

    pub fn promote(&self, ns: &str) -> (u16, Value) {
        self.post(&format!("/v1/namespaces/{ns}/promote"), json!({}))
    }

    /// Publishes [`MONEY_V1`] as `common/money.proto` of schema `common`.
    pub fn publish_money(&self, ns: &str) -> (u16, Value) {
        self.publish(ns, "common", &[("common/money.proto", MONEY_V1)])
    }

    /// Publishes [`INVOICE_V1`] as `billing/invoice.proto` of schema
    /// `billing` (it imports `common/money.proto`).
    pub fn publish_invoice(&self, ns: &str) -> (u16, Value) {
        self.publish(ns, "billing", &[("billing/invoice.proto", INVOICE_V1)])
    }

    /// [`Server::publish_money`], asserting a new version (201).
    #[track_caller]
    pub fn money_staged(&self, ns: &str) -> Value {
        self.publish_created(ns, "common", &[("common/money.proto", MONEY_V1)])
    }

    /// [`Server::publish_invoice`], asserting a new version (201).
    #[track_caller]
    pub fn invoice_staged(&self, ns: &str) -> Value {
        self.publish_created(ns, "billing", &[("billing/invoice.proto", INVOICE_V1)])
    }

    /// Publishes `files` into `ns/schema`, asserting a new version (201);
    /// returns the response body.
    #[track_caller]
    pub fn publish_created(&self, ns: &str, schema: &str, files: &[(&str, &str)]) -> Value {
        let (status, body) = self.publish(ns, schema, files);
        assert_eq!(status, 201, "publishing {ns}/{schema}: {body}");
        body
    }

    /// Promotes `ns`, asserting 200; returns the response body.
    #[track_caller]
    pub fn promote_ok(&self, ns: &str) -> Value {
        let (status, body) = self.promote(ns);
        assert_eq!(status, 200, "promoting {ns}: {body}");
        body
    }

    /// `common` ([`MONEY_V1`]) published (201) and promoted (200) in `ns`.
    #[track_caller]
    pub fn money_current(&self, ns: &str) {
        self.money_staged(ns);
        self.promote_ok(ns);
    }

    /// `common` ([`MONEY_V1`]) and `billing` ([`INVOICE_V1`]) published
    /// (201 each) and promoted together (200) in `ns`.
    #[track_caller]
    pub fn money_and_invoice_current(&self, ns: &str) {
        self.money_staged(ns);
        self.invoice_staged(ns);
        self.promote_ok(ns);
    }

    pub fn revision(&self, ns: &str) -> i64 {
        let (status, body) = self.get(&format!("/v1/namespaces/{ns}"));
        assert_eq!(status, 200, "{body}");
        body["revision"].as_i64().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(
    database_url: &str,
    workdir: PathBuf,
    env: &[(String, String)],
    args: &[String],
) -> (Child, String, Option<String>) {
    let mut command = Command::new(BIN);
    command.arg("serve");
    // A free port unless the caller chose an address.
    if !args.iter().any(|a| a == "--listen") {
        command.args(["--listen", "127.0.0.1:0"]);
    }
    command
        .args(["--database-url", database_url])
        .args(args)
        .current_dir(&workdir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PROTOREG_")) {
        command.env_remove(key);
    }
    command.env("PROTOREG_LOG__LEVEL", "warn");
    // A free port, so that servers run side by side (a test may override).
    command.env("PROTOREG_GRPC__LISTEN", "127.0.0.1:0");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("start protoreg");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut grpc = None;
    let base = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("protoreg grpc listening on ") {
                    grpc = Some(url.trim().to_owned());
                } else if let Some(url) = line.strip_prefix("protoreg listening on ") {
                    break url.trim().to_owned();
                }
            }
            _ => panic!(
                "protoreg exited before listening (status {:?})",
                child.try_wait()
            ),
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base, grpc)
}

fn status_json(r: reqwest::blocking::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// `--listen 127.0.0.1:PORT` of a port free now, for a server that must
/// come back on the same address after a restart.
pub fn fixed_listen_args() -> Vec<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("local address").port();
    vec!["--listen".to_owned(), format!("127.0.0.1:{port}")]
}

/// `/readyz` still answers 200 (after a hostile request).
#[track_caller]
pub fn assert_alive(server: &Server) {
    let (status, body) = server.get("/readyz");
    assert_eq!(
        status, 200,
        "the server is not ready after a hostile request: {body}"
    );
}

/// Runs `test` on SQLite and, when reachable, on PostgreSQL.
pub fn on_each_backend(test: impl Fn(&Db)) {
    test(&Db::sqlite());
    if let Some(db) = Db::postgres() {
        test(&db);
    }
}

/// Decodes a served `FileDescriptorSet` into file names.
pub fn descriptor_file_names(bytes: &[u8]) -> Vec<String> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(bytes).expect("a FileDescriptorSet");
    set.file
        .into_iter()
        .map(|f| f.name.unwrap_or_default())
        .collect()
}

pub const MONEY_V1: &str = "syntax = \"proto3\";\npackage common;\nmessage Money {\n  int64 units = 1;\n  string currency = 2;\n}\n";
pub const INVOICE_V1: &str = "syntax = \"proto3\";\npackage billing;\nimport \"common/money.proto\";\nmessage Invoice {\n  string id = 1;\n  common.Money total = 2;\n}\n";
/// [`MONEY_V1`] with a third field, `int32 nanos = 3` (a compatible change).
pub const MONEY_WITH_NANOS: &str = "syntax = \"proto3\";\npackage common;\nmessage Money {\n  int64 units = 1;\n  string currency = 2;\n  int32 nanos = 3;\n}\n";

/// Whether the tests run under CI: `CI` is `true` or `1` (every test crate
/// of the workspace accepts the same values). Under CI a missing tool or
/// database fails a test instead of skipping it.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A test cannot run because `reason`: under CI ([`under_ci`]) that fails
/// the test; elsewhere it prints `skipped: {reason}` and the caller returns.
#[track_caller]
pub fn skip_unless_ci(reason: &str) {
    if under_ci() {
        panic!("{reason}; required under CI");
    }
    eprintln!("skipped: {reason}");
}

/// An `application/problem+json` body with this status and code: the HTTP
/// status, and `type`, `title`, `status`, `detail` and `code` all present,
/// with `status` and `code` as wanted.
#[track_caller]
pub fn assert_problem(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert_eq!(body["status"], want_status, "{body}");
    assert!(
        body["type"].is_string() && body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
}

/// [`assert_problem`], and the `detail` contains `detail`.
#[track_caller]
pub fn assert_problem_detail(
    status: u16,
    body: &Value,
    want_status: u16,
    want_code: &str,
    detail: &str,
) {
    assert_problem(status, body, want_status, want_code);
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains(detail)),
        "detail should contain {detail:?}: {body}"
    );
}

/// Writes `files` (relative path, text) under `dir`, creating folders.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
        std::fs::write(path, text).expect("write file");
    }
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

/// A path as the `&str` a command line takes.
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
