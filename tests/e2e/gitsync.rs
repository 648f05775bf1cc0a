//! Repositories in, schemas out: namespace export, sources, sync jobs
//! against real git repositories (bare repositories made in the test,
//! `file://` URLs), the inbound push webhook and registered services.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use serde_json::{Value, json};

use crate::support::{BIN, Db, Server, path_str, skip_unless_ci};

const ITEM: &str = "syntax = \"proto3\";\npackage stock;\nmessage Item {\n  string sku = 1;\n}\n";
const ORDER: &str = "syntax = \"proto3\";\npackage orders;\nimport \"stock/item.proto\";\nmessage Order {\n  string id = 1;\n  repeated stock.Item items = 2;\n}\n";

/// `protoreg --server BASE ARGS...`: exit code, stdout, stderr.
fn cli(server: &Server, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BIN)
        .arg("--server")
        .arg(&server.base)
        .args(args)
        .env_remove("PROTOREG_SERVER")
        .env_remove("PROTOREG_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("protoreg runs");
    (
        output.status.code().expect("exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The regular entries of a gzip tar: (path, mode, mtime, bytes).
fn tar_entries(archive: &[u8]) -> Vec<(String, u32, u64, Vec<u8>)> {
    use std::io::Read;
    let mut tar = tar::Archive::new(GzDecoder::new(archive));
    let mut out = Vec::new();
    for entry in tar.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mode = entry.header().mode().unwrap();
        let mtime = entry.header().mtime().unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((path, mode, mtime, data));
    }
    out
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn export_is_deterministic_and_loads_back_as_no_change() {
    crate::support::on_each_backend(|db: &Db| {
        let server = Server::start(db);
        server.publish_created("shop", "stock", &[("stock/item.proto", ITEM)]);
        server.publish_created("shop", "orders", &[("orders/order.proto", ORDER)]);
        server.promote_ok("shop");
        // A staged version is not part of the export.
        let staged_item = ITEM.replace("string sku = 1;", "string sku = 1;\n  string name = 2;");
        server.publish_created("shop", "stock", &[("stock/item.proto", &staged_item)]);

        let first = server
            .http
            .get(server.url("/v1/namespaces/shop/export"))
            .send()
            .unwrap();
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers()["content-type"], "application/gzip");
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let first = first.bytes().unwrap().to_vec();
        let (status, second) = server.get_bytes("/v1/namespaces/shop/export");
        assert_eq!(status, 200);
        assert_eq!(first, second, "the same state exports the same bytes");
        assert_eq!(
            etag,
            format!("\"{}\"", protoreg_core::fingerprint::sha256_hex(&first))
        );
        let entries = tar_entries(&first);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            ["orders/orders/order.proto", "stock/stock/item.proto"]
        );
        assert!(entries.iter().all(|e| e.1 == 0o644 && e.2 == 0));
        assert_eq!(entries[0].3, ORDER.as_bytes());
        assert_eq!(
            entries[1].3,
            ITEM.as_bytes(),
            "the current version, not the staged one"
        );

        // The CLI writes the tree; loading it back changes nothing.
        server.call("DELETE", "/v1/namespaces/shop/staging", None, None);
        let revision = server.revision("shop");
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) = cli(&server, &["export", "shop", path_str(dir.path())]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(
            files_under(dir.path()),
            ["orders/orders/order.proto", "stock/stock/item.proto"]
        );
        let (code, out, err) = cli(&server, &["load", "shop", path_str(dir.path())]);
        assert_eq!(code, 0, "{out}{err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines.iter().all(|l| l.contains("no change")), "{out}");
        assert_eq!(
            server.revision("shop"),
            revision,
            "loading the export is a no-change"
        );
        let (_, staging) = server.get("/v1/namespaces/shop/staging");
        assert_eq!(
            staging["staged"].as_array().map(Vec::len),
            Some(0),
            "{staging}"
        );

        // Unknown namespace.
        let (status, body) = server.get("/v1/namespaces/nope/export");
        crate::support::assert_problem(status, &body, 404, "not_found");
    });
}

/// Runs `git ARGS` in `dir` with a fixed author, panicking on failure;
/// returns stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A bare repository (`origin.git`, the source's URL) and a work tree that
/// pushes to it.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "--bare", "--quiet", "origin.git"]);
        git(dir.path(), &["init", "--quiet", "work"]);
        Repo { dir }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().join("origin.git").display())
    }

    fn work(&self) -> std::path::PathBuf {
        self.dir.path().join("work")
    }

    /// Writes `files`, commits them and pushes `main`; returns the commit.
    fn commit_and_push(&self, files: &[(&str, &str)], message: &str) -> String {
        crate::support::write_tree(&self.work(), files);
        git(&self.work(), &["add", "--all"]);
        git(&self.work(), &["commit", "--quiet", "-m", message]);
        git(
            &self.work(),
            &["push", "--quiet", &self.url(), "HEAD:refs/heads/main"],
        );
        git(&self.work(), &["rev-parse", "HEAD"])
    }
}

fn push_payload(repo: &Repo, commit: &str, pusher: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "ref": "refs/heads/main",
        "before": "0000000000000000000000000000000000000000",
        "after": commit,
        "repository": { "clone_url": format!("{}.git", repo.url().trim_end_matches(".git")), "full_name": "acme/shop" },
        "pusher": { "name": pusher, "email": "x@example.invalid" },
    }))
    .unwrap()
}

fn sign(secret: &str, body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs a push webhook; `signature` as given (None: no header).
fn hook(server: &Server, event: &str, body: &[u8], signature: Option<&str>) -> (u16, Value) {
    let mut request = server
        .http
        .post(server.url("/v1/hooks/git"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", "d-1")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-hub-signature-256", signature);
    }
    let response = request.send().unwrap();
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Waits until job `id` has ended; returns it.
fn finished_job(server: &Server, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, job) = server.get(&format!("/v1/jobs/{id}"));
        assert_eq!(status, 200, "{job}");
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} did not finish: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn current_version(server: &Server, ns: &str, schema: &str) -> Option<i64> {
    let (status, body) = server.get(&format!("/v1/namespaces/{ns}/schemas/{schema}"));
    (status == 200)
        .then(|| body["current_version"].as_i64())
        .flatten()
}

const SECRET: &str = "it's a secret to everybody";

fn create_source(server: &Server, repo: &Repo, auto_promote: bool) -> Value {
    let (status, source) = server.post(
        "/v1/sources",
        json!({
            "namespace": "shop", "url": repo.url(), "branch": "main", "root": "protos",
            "auto_promote": auto_promote, "secret": SECRET,
            "service": { "name": "orders-service", "domain": "commerce", "owner": "team-orders",
                         "metadata": { "tier": "1" } },
        }),
    );
    assert_eq!(status, 201, "{source}");
    source
}

#[test]
fn signed_push_syncs_publishes_promotes_and_repeats_as_no_change() {
    crate::support::on_each_backend(|db: &Db| {
        let server = Server::start(db);
        let repo = Repo::new();
        let source = create_source(&server, &repo, true);
        let id = source["id"].as_i64().unwrap();
        assert_eq!(source["has_secret"], true);
        assert!(source.get("secret").is_none(), "{source}");
        assert_eq!(source["layout"], "folders");

        // Folders under protos/ are schemas; orders imports stock (and is
        // published after it although it sorts first); README is ignored.
        let first = repo.commit_and_push(
            &[
                ("protos/orders/orders/order.proto", ORDER),
                ("protos/stock/stock/item.proto", ITEM),
                ("protos/README.md", "not a proto"),
                ("other/ignored.proto", "syntax = \"proto3\";"),
            ],
            "first",
        );
        let body = push_payload(&repo, &first, "alice");
        let (status, queued) = hook(&server, "push", &body, Some(&sign(SECRET, &body)));
        assert_eq!(status, 202, "{queued}");
        let job_id = queued["jobs"][0].as_i64().expect("a job");
        let job = finished_job(&server, job_id);
        assert_eq!(job["status"], "succeeded", "{}", job["log"]);
        assert_eq!(job["kind"], "sync");
        assert_eq!(job["source"], id);
        assert_eq!(job["commit"], first.as_str());
        assert_eq!(job["requested_by"], "alice");
        assert_eq!(current_version(&server, "shop", "stock"), Some(1));
        assert_eq!(current_version(&server, "shop", "orders"), Some(1));
        let (_, version) = server.get("/v1/namespaces/shop/schemas/stock/versions/1");
        assert_eq!(version["created_by"], "git:alice");
        assert_eq!(version["metadata"]["git_commit"], first.as_str());
        assert_eq!(version["metadata"]["git_ref"], "refs/heads/main");
        assert_eq!(version["metadata"]["git_repo"], repo.url());
        assert_eq!(version["files"], json!(["stock/item.proto"]));

        let (_, events) = server.get("/v1/events?kind=sync.finished");
        let event = &events["events"][0];
        assert_eq!(event["payload"]["job"], job_id, "{events}");
        assert_eq!(event["payload"]["status"], "succeeded");
        assert_eq!(event["payload"]["commit"], first.as_str());
        assert_eq!(event["payload"]["published"], json!(["stock", "orders"]));
        assert_eq!(
            event["payload"]["promoted"].as_array().map(Vec::len),
            Some(2)
        );

        let (_, shown) = server.get(&format!("/v1/sources/{id}"));
        assert_eq!(shown["last_sync"]["job"], job_id);
        assert_eq!(shown["last_sync"]["commit"], first.as_str());
        assert_eq!(shown["last_sync"]["status"], "succeeded");
        assert!(shown.get("secret").is_none());
        let (_, services) = server.get("/v1/services?domain=commerce");
        assert_eq!(
            services["services"].as_array().map(Vec::len),
            Some(1),
            "{services}"
        );
        let service = &services["services"][0];
        assert_eq!(service["name"], "orders-service");
        assert_eq!(service["owner"], "team-orders");
        assert_eq!(service["namespace"], "shop");
        assert_eq!(service["source"], id);
        assert_eq!(
            service["schemas"],
            json!([{"schema": "stock", "current_version": 1}, {"schema": "orders", "current_version": 1}])
        );
        let (_, none) = server.get("/v1/services?domain=billing");
        assert_eq!(none["services"], json!([]));

        // The same push again changes nothing.
        let revision = server.revision("shop");
        let (status, queued) = hook(&server, "push", &body, Some(&sign(SECRET, &body)));
        assert_eq!(status, 202);
        let again = finished_job(&server, queued["jobs"][0].as_i64().unwrap());
        assert_eq!(again["status"], "succeeded", "{}", again["log"]);
        assert!(
            again["log"].as_str().unwrap().contains("stock: no change"),
            "{}",
            again["log"]
        );
        assert_eq!(
            server.revision("shop"),
            revision,
            "the same commit is a no-change sync"
        );

        // Bad and missing signatures: 401, nothing queued (the next job id
        // follows the last one).
        let last_job = queued["jobs"][0].as_i64().unwrap();
        let (status, problem) = hook(&server, "push", &body, Some(&sign("wrong", &body)));
        crate::support::assert_problem(status, &problem, 401, "unauthenticated");
        let (status, problem) = hook(&server, "push", &body, None);
        crate::support::assert_problem(status, &problem, 401, "unauthenticated");
        let tampered = push_payload(&repo, &first, "mallory");
        let (status, _) = hook(&server, "push", &tampered, Some(&sign(SECRET, &body)));
        assert_eq!(status, 401, "a signature of another body");
        let (status, pong) = hook(&server, "ping", &body, Some(&sign(SECRET, &body)));
        assert_eq!(status, 200, "{pong}");

        // A breaking change fails the job and promotes nothing.
        let broken = ITEM.replace("  string sku = 1;\n", "");
        let breaking =
            repo.commit_and_push(&[("protos/stock/stock/item.proto", &broken)], "drop sku");
        let body = push_payload(&repo, &breaking, "bob");
        let (status, queued) = hook(&server, "push", &body, Some(&sign(SECRET, &body)));
        assert_eq!(status, 202);
        let failed_id = queued["jobs"][0].as_i64().unwrap();
        assert_eq!(failed_id, last_job + 1, "the refused hooks queued nothing");
        let failed = finished_job(&server, failed_id);
        assert_eq!(failed["status"], "failed");
        let log = failed["log"].as_str().unwrap();
        assert!(log.contains("FIELD_NO_DELETE"), "{log}");
        assert!(log.contains("nothing promoted"), "{log}");
        assert_eq!(current_version(&server, "shop", "stock"), Some(1));
        let (_, event) = server.get(&format!(
            "/v1/events?kind=sync.finished&after={}",
            event["id"]
        ));
        let last = event["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["payload"]["status"], "failed");
        assert_eq!(last["payload"]["promoted"], json!([]));

        // Another branch, or a repository nobody registered: nothing queued.
        let mut other: Value = serde_json::from_slice(&body).unwrap();
        other["ref"] = json!("refs/heads/feature");
        let other = serde_json::to_vec(&other).unwrap();
        let (status, queued) = hook(&server, "push", &other, Some(&sign(SECRET, &other)));
        assert_eq!((status, queued), (202, json!({"jobs": []})));
        let stranger = serde_json::to_vec(&json!({"ref": "refs/heads/main", "after": breaking,
            "repository": {"clone_url": "https://example.invalid/nobody.git"}}))
        .unwrap();
        let (status, queued) = hook(&server, "push", &stranger, None);
        assert_eq!((status, queued), (202, json!({"jobs": []})));
    });
}

#[test]
fn sources_validate_input_and_never_show_the_secret() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    for (body, why) in [
        (
            json!({"namespace": "shop", "url": "http://example.com/x.git"}),
            "http transport",
        ),
        (
            json!({"namespace": "shop", "url": "ext::sh -c touch% /tmp/x"}),
            "ext transport",
        ),
        (
            json!({"namespace": "shop", "url": "https://u:pw@example.com/x.git"}),
            "password in the URL",
        ),
        (
            json!({"namespace": "shop", "url": "https://example.com/x.git", "branch": "-x"}),
            "branch",
        ),
        (
            json!({"namespace": "shop", "url": "https://example.com/x.git", "root": "../x"}),
            "root",
        ),
        (
            json!({"namespace": "shop", "url": "https://example.com/x.git", "layout": "flat"}),
            "layout",
        ),
        (
            json!({"namespace": "bad ns", "url": "https://example.com/x.git"}),
            "namespace",
        ),
        (
            json!({"namespace": "shop", "url": "https://example.com/x.git", "service": {"name": "", "domain": "d"}}),
            "service name",
        ),
        (
            json!({"namespace": "shop", "url": "https://example.com/x.git", "unknown": 1}),
            "unknown field",
        ),
    ] {
        let (status, problem) = server.post("/v1/sources", body);
        assert_eq!(status, 400, "{why}: {problem}");
        assert_eq!(problem["code"], "invalid_argument", "{why}");
    }
    let (_, list) = server.get("/v1/sources");
    assert_eq!(list["sources"], json!([]), "nothing was stored");

    let (status, created) = server.post(
        "/v1/sources",
        json!({"namespace": "shop", "url": "https://example.com/acme/protos.git", "secret": "hush",
               "schemas": [{"schema": "common", "root": "common"}]}),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["layout"], "mapping");
    let id = created["id"].as_i64().unwrap();
    let (status, patched) = server.call(
        "PATCH",
        &format!("/v1/sources/{id}"),
        None,
        Some(&json!({"branch": "release", "secret": null})),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["branch"], "release");
    assert_eq!(patched["has_secret"], false);
    let (_, list) = server.get("/v1/sources");
    assert!(!list.to_string().contains("hush"), "{list}");
    let (status, _) = server.post(
        &format!("/v1/sources/{id}/sync"),
        json!({"commit": "HEAD~1"}),
    );
    assert_eq!(status, 400, "a commit must be hex");
    let (status, _) = server.delete(&format!("/v1/sources/{id}"));
    assert_eq!(status, 204);
    let (status, body) = server.get(&format!("/v1/sources/{id}"));
    crate::support::assert_problem(status, &body, 404, "not_found");
}

#[test]
fn a_sync_killed_with_sigkill_is_resumed_after_restart() {
    crate::support::on_each_backend(|db: &Db| {
        // A slow git (each command waits 1 s) so that the job is surely
        // running when the server is killed.
        let tools = tempfile::tempdir().unwrap();
        let slow_git = tools.path().join("slow-git");
        std::fs::write(&slow_git, "#!/bin/sh\nsleep 1\nexec git \"$@\"\n").unwrap();
        std::fs::set_permissions(
            &slow_git,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let mut server =
            Server::start_with_env(db, &[("PROTOREG_GIT__PROGRAM", path_str(&slow_git))]);
        let repo = Repo::new();
        let id = create_source(&server, &repo, true)["id"].as_i64().unwrap();
        let commit = repo.commit_and_push(
            &[
                ("protos/orders/orders/order.proto", ORDER),
                ("protos/stock/stock/item.proto", ITEM),
            ],
            "first",
        );
        let (status, queued) = server.post(&format!("/v1/sources/{id}/sync"), json!({}));
        assert_eq!(status, 202, "{queued}");
        let job_id = queued["job"].as_i64().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, job) = server.get(&format!("/v1/jobs/{job_id}"));
            if job["status"] == "running" {
                break;
            }
            assert_eq!(job["status"], "queued", "{job}");
            assert!(Instant::now() < deadline, "the job never ran");
            std::thread::sleep(Duration::from_millis(20));
        }
        server.restart_after_kill9();
        let job = finished_job(&server, job_id);
        assert_eq!(job["status"], "succeeded", "{}", job["log"]);
        assert_eq!(job["commit"], commit.as_str());
        assert_eq!(current_version(&server, "shop", "stock"), Some(1));
        assert_eq!(current_version(&server, "shop", "orders"), Some(1));
        let (_, version) = server.get("/v1/namespaces/shop/schemas/orders/versions/current");
        assert_eq!(version["metadata"]["git_commit"], commit.as_str());
        assert_eq!(version["created_by"], "git:sync");
    });
}

#[test]
fn cli_register_sources_and_services() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let repo = Repo::new();
    let commit = repo.commit_and_push(
        &[
            ("orders/orders/order.proto", ORDER),
            ("stock/stock/item.proto", ITEM),
        ],
        "first",
    );
    let url = repo.url();
    let (code, out, err) = cli(
        &server,
        &[
            "register",
            "--namespace",
            "shop",
            "--repo",
            &url,
            "--name",
            "orders-service",
            "--domain",
            "commerce",
            "--auto-promote",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("stock: version 1 staged"), "{out}");
    assert!(out.contains(&format!("succeeded at {commit}")), "{out}");
    assert_eq!(current_version(&server, "shop", "orders"), Some(1));

    let (code, out, _) = cli(&server, &["sources", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains(&url) && out.contains("succeeded"), "{out}");
    let (code, out, _) = cli(&server, &["services", "--domain", "commerce"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("orders-service") && out.contains("stock@1"),
        "{out}"
    );
    let (code, out, _) = cli(&server, &["services", "--domain", "other"]);
    assert_eq!(code, 0);
    assert!(!out.contains("orders-service"), "{out}");

    // Unchanged repository: a no-change sync.
    let (code, out, err) = cli(&server, &["sources", "sync", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("orders: no change"), "{out}");

    // A commit that does not compile: the job fails, exit 1, errors shown.
    repo.commit_and_push(
        &[("stock/stock/item.proto", "syntax = \"proto3\";\nmessage {")],
        "broken",
    );
    let (code, out, _) = cli(&server, &["sources", "sync", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("does not compile") && out.contains("item.proto:"),
        "{out}"
    );
    assert_eq!(current_version(&server, "shop", "stock"), Some(1));

    let (code, out, err) = cli(&server, &["sources", "rm", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = cli(&server, &["sources", "show", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("not_found"), "{err}");
}

#[test]
fn an_explicit_mapping_publishes_the_mapped_folders_without_promoting() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let repo = Repo::new();
    let commit = repo.commit_and_push(
        &[
            ("api/inventory/stock/item.proto", ITEM),
            ("api/sales/orders/order.proto", ORDER),
            ("api/unmapped/x.proto", "syntax = \"proto3\";\npackage x;\n"),
        ],
        "mapped",
    );
    let (status, source) = server.post(
        "/v1/sources",
        json!({"namespace": "mapped", "url": repo.url(), "root": "api",
               "schemas": [{"schema": "sales", "root": "sales"}, {"schema": "inventory", "root": "inventory"}]}),
    );
    assert_eq!(status, 201, "{source}");
    assert_eq!(source["layout"], "mapping");
    let id = source["id"].as_i64().unwrap();
    let (status, queued) =
        server.post(&format!("/v1/sources/{id}/sync"), json!({"commit": commit}));
    assert_eq!(status, 202, "{queued}");
    let job = finished_job(&server, queued["job"].as_i64().unwrap());
    assert_eq!(job["status"], "succeeded", "{}", job["log"]);
    assert_eq!(job["requested_by"], "sync");
    let log = job["log"].as_str().unwrap();
    assert!(log.contains("left staged"), "{log}");
    // Staged, not promoted (auto_promote is off); inventory first (imported).
    let (_, staging) = server.get("/v1/namespaces/mapped/staging");
    let staged: Vec<&str> = staging["staged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["schema"].as_str().unwrap())
        .collect();
    assert_eq!(staged, ["inventory", "sales"]);
    assert_eq!(current_version(&server, "mapped", "inventory"), None);
    let (_, schemas) = server.get("/v1/namespaces/mapped/schemas");
    assert!(!schemas.to_string().contains("unmapped"), "{schemas}");
    let (_, version) = server.get("/v1/namespaces/mapped/schemas/sales/versions/1");
    assert_eq!(version["files"], json!(["orders/order.proto"]));
    assert_eq!(version["created_by"], "git:sync");
}

#[test]
fn the_binary_answers_git_askpass_prompts_from_its_environment() {
    let ask = |prompt: &str| {
        let output = Command::new(BIN)
            .arg(prompt)
            .env("PROTOREG_GIT_ASKPASS", "1")
            .env("PROTOREG_GIT_USERNAME", "x-access-token")
            .env("PROTOREG_GIT_PASSWORD", "tok-123")
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(
        ask("Username for 'https://github.com': "),
        "x-access-token\n"
    );
    assert_eq!(
        ask("Password for 'https://x-access-token@github.com': "),
        "tok-123\n"
    );
    // Without the flag it is the normal CLI (an unknown subcommand fails).
    let status = Command::new(BIN)
        .arg("Password for 'https://github.com': ")
        .env_remove("PROTOREG_GIT_ASKPASS")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}

#[test]
fn pushes_run_one_at_a_time_newer_ones_supersede_queued_ones_and_are_rate_limited() {
    let tools = tempfile::tempdir().unwrap();
    let slow_git = tools.path().join("slow-git");
    std::fs::write(&slow_git, "#!/bin/sh\nsleep 0.5\nexec git \"$@\"\n").unwrap();
    std::fs::set_permissions(
        &slow_git,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let db = Db::sqlite();
    let server = Server::start_with_env(
        &db,
        &[
            ("PROTOREG_GIT__PROGRAM", path_str(&slow_git)),
            ("PROTOREG_GIT__HOOK_RATE_PER_MINUTE", "3"),
        ],
    );
    let repo = Repo::new();
    create_source(&server, &repo, true);
    let first = repo.commit_and_push(&[("protos/stock/stock/item.proto", ITEM)], "one");
    let body = push_payload(&repo, &first, "alice");
    let signature = sign(SECRET, &body);
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let (status, queued) = hook(&server, "push", &body, Some(&signature));
        assert_eq!(status, 202, "{queued}");
        jobs.push(queued["jobs"][0].as_i64().unwrap());
        if jobs.len() == 1 {
            // Let the first job start before the next pushes arrive.
            let deadline = Instant::now() + Duration::from_secs(30);
            while server.get(&format!("/v1/jobs/{}", jobs[0])).1["status"] != "running" {
                assert!(Instant::now() < deadline, "the first job never ran");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    let (status, problem) = hook(&server, "push", &body, Some(&signature));
    crate::support::assert_problem(status, &problem, 429, "unavailable");

    let one = finished_job(&server, jobs[0]);
    let two = finished_job(&server, jobs[1]);
    let three = finished_job(&server, jobs[2]);
    assert_eq!(one["status"], "succeeded", "{}", one["log"]);
    assert_eq!(two["status"], "failed");
    assert_eq!(
        two["log"],
        format!("superseded by job {} before it started", jobs[2])
    );
    assert!(two["started_at"].is_null(), "{two}");
    assert_eq!(three["status"], "succeeded", "{}", three["log"]);
    let at = |job: &Value, field: &str| {
        chrono::DateTime::parse_from_rfc3339(job[field].as_str().unwrap()).unwrap()
    };
    assert!(
        at(&three, "started_at") >= at(&one, "finished_at"),
        "jobs of one source run one at a time: {one} {three}"
    );
    let (status, next) = server.post("/v1/sources/1/sync", json!({}));
    assert_eq!(status, 202, "{next}");
    assert_eq!(next["job"], jobs[2] + 1, "the refused push queued nothing");
}

/// `git ARGS` in the bare repository of `repo`.
fn origin(repo: &Repo, args: &[&str]) -> String {
    git(&repo.dir.path().join("origin.git"), args)
}

/// The files of a branch of `repo`'s origin, sorted.
fn branch_files(repo: &Repo, branch: &str) -> Vec<String> {
    origin(repo, &["ls-tree", "-r", "--name-only", branch])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The subjects of a branch's commits, newest first.
fn subjects(repo: &Repo, branch: &str) -> Vec<String> {
    origin(repo, &["log", "--format=%s", branch])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `others` and the python plugin's three files of each proto stem,
/// sorted.
fn python_files(others: &[&str], stems: &[&str]) -> Vec<String> {
    let mut files: Vec<String> = others.iter().map(|s| s.to_string()).collect();
    for stem in stems {
        for suffix in ["_pb2.py", "_pb2.pyi", "_pb2_grpc.py"] {
            files.push(format!("{stem}{suffix}"));
        }
    }
    files.sort();
    files
}

/// Promotes `ns` and waits for each code generation job it queued.
fn promote_and_wait(server: &Server, ns: &str) -> Vec<Value> {
    let promoted = server.promote_ok(ns);
    promoted["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|id| finished_job(server, id.as_i64().unwrap()))
        .collect()
}

#[test]
fn generated_code_is_pushed_once_per_version_and_target() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let repo = Repo::new();
    repo.commit_and_push(&[("README.md", "hand-written\n")], "readme");
    let per_schema = json!({
        "url": repo.url(), "branch": "main", "path": "gen/{schema}",
        "author_name": "Registry Bot", "author_email": "bot@example.invalid",
    });
    // A branch that does not exist yet; one folder shared by every schema.
    let shared = json!({"url": repo.url(), "branch": "python", "path": ""});
    // (Compatibility off: the test drops a file from a schema.)
    let settings = json!({"compat": {"mode": "NONE"}, "codegen": [
        {"plugin": "python", "push": per_schema},
        {"plugin": "python", "push": shared},
    ]});
    for ns in ["shop", "copy"] {
        let (status, body) = server.put(
            &format!("/v1/namespaces/{ns}"),
            json!({"settings": settings}),
        );
        assert!(status == 200 || status == 201, "{body}");
    }

    server.publish_created("shop", "stock", &[("stock/item.proto", ITEM)]);
    server.publish_created("shop", "orders", &[("orders/order.proto", ORDER)]);
    let jobs = promote_and_wait(&server, "shop");
    assert_eq!(jobs.len(), 2, "one job per promoted version and generator");
    for job in &jobs {
        assert_eq!(job["status"], "succeeded", "{job}");
        let log = job["log"].as_str().unwrap();
        assert_eq!(log.matches("push: committed ").count(), 2, "{log}");
    }

    // One commit per promoted version on each branch; the hand-written file
    // stays; the generated files are the generator's, byte for byte.
    let mut main = subjects(&repo, "main");
    main.sort();
    assert_eq!(
        main,
        [
            "protoreg: shop/orders v1 (python)",
            "protoreg: shop/stock v1 (python)",
            "readme",
        ]
    );
    assert_eq!(subjects(&repo, "python").len(), 2);
    assert_eq!(
        branch_files(&repo, "main"),
        python_files(
            &["README.md"],
            &["gen/orders/orders/order", "gen/stock/stock/item"]
        )
    );
    assert_eq!(
        branch_files(&repo, "python"),
        python_files(&[], &["orders/order", "stock/item"])
    );
    assert_eq!(origin(&repo, &["show", "main:README.md"]), "hand-written");
    assert_eq!(
        origin(&repo, &["log", "-1", "--format=%an <%ae>|%cn", "main"]),
        "Registry Bot <bot@example.invalid>|Registry Bot"
    );
    let (status, archive) =
        server.get_bytes("/v1/namespaces/shop/schemas/stock/versions/1/generated/python");
    assert_eq!(status, 200);
    let generated = tar_entries(&archive);
    assert_eq!(generated.len(), 3);
    for (name, _, _, content) in &generated {
        let pushed = origin(&repo, &["show", &format!("python:{name}")]);
        assert_eq!(
            pushed,
            String::from_utf8(content.clone()).unwrap().trim_end(),
            "{name}"
        );
    }

    // Each commit is announced with its id.
    let (status, events) = server.get("/v1/events?kind=codegen.pushed");
    assert_eq!(status, 200);
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "{events:?}");
    let heads = [
        origin(&repo, &["rev-parse", "main"]),
        origin(&repo, &["rev-parse", "python"]),
    ];
    for event in events {
        let payload = &event["payload"];
        assert_eq!(payload["namespace"], "shop");
        assert_eq!(payload["plugin"], "python");
        assert_eq!(payload["version"], 1);
        let commit = payload["commit"].as_str().unwrap();
        assert_eq!(
            origin(&repo, &["cat-file", "-t", commit]),
            "commit",
            "{payload}"
        );
        let expected_branch = if payload["path"] == "gen/{schema}" {
            "main"
        } else {
            "python"
        };
        assert_eq!(payload["branch"], expected_branch, "{payload}");
    }
    assert!(
        events
            .iter()
            .any(|e| e["payload"]["commit"].as_str() == Some(heads[0].as_str()))
    );

    // The same files again (another namespace, same schemas and targets):
    // no commit anywhere.
    server.publish_created("copy", "stock", &[("stock/item.proto", ITEM)]);
    server.publish_created("copy", "orders", &[("orders/order.proto", ORDER)]);
    for job in promote_and_wait(&server, "copy") {
        assert_eq!(job["status"], "succeeded", "{job}");
        let log = job["log"].as_str().unwrap();
        assert_eq!(log.matches("already holds these files").count(), 2, "{log}");
    }
    assert_eq!(origin(&repo, &["rev-parse", "main"]), heads[0]);
    assert_eq!(origin(&repo, &["rev-parse", "python"]), heads[1]);
    let (_, events) = server.get("/v1/events?kind=codegen.pushed");
    assert_eq!(events["events"].as_array().unwrap().len(), 4);

    // A file added, then dropped again: the schema's own folder loses its
    // output; the shared folder keeps it.
    const EXTRA: &str =
        "syntax = \"proto3\";\npackage stock;\nmessage Extra {\n  string note = 1;\n}\n";
    server.publish_created(
        "shop",
        "stock",
        &[("stock/item.proto", ITEM), ("stock/extra.proto", EXTRA)],
    );
    let jobs = promote_and_wait(&server, "shop");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["status"], "succeeded", "{}", jobs[0]);
    assert_eq!(
        branch_files(&repo, "main"),
        python_files(
            &["README.md"],
            &[
                "gen/orders/orders/order",
                "gen/stock/stock/extra",
                "gen/stock/stock/item"
            ]
        )
    );
    server.publish_created("shop", "stock", &[("stock/item.proto", ITEM)]);
    let jobs = promote_and_wait(&server, "shop");
    assert_eq!(jobs[0]["status"], "succeeded", "{}", jobs[0]);
    assert_eq!(
        branch_files(&repo, "main"),
        python_files(
            &["README.md"],
            &["gen/orders/orders/order", "gen/stock/stock/item"]
        )
    );
    assert_eq!(
        branch_files(&repo, "python"),
        python_files(&[], &["orders/order", "stock/extra", "stock/item"])
    );
    assert_eq!(
        subjects(&repo, "main")[0],
        "protoreg: shop/stock v3 (python)"
    );
}

#[test]
fn a_push_that_fails_fails_its_job_and_bad_targets_are_refused() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let missing = tempfile::tempdir().unwrap();
    let nowhere = format!("file://{}", missing.path().join("absent.git").display());
    for (push, expected) in [
        (
            json!({"url": "http://example.invalid/x.git", "branch": "main"}),
            "push.url",
        ),
        (
            json!({"url": "https://a:secret@example.invalid/x.git", "branch": "main"}),
            "password",
        ),
        (json!({"url": nowhere, "branch": "-f"}), "push.branch"),
        (
            json!({"url": nowhere, "branch": "main", "path": "../up"}),
            "push.path",
        ),
        (
            json!({"url": nowhere, "branch": "main", "path": "gen/{version}"}),
            "braces",
        ),
        (
            json!({"url": nowhere, "branch": "main", "author_email": "a\nb"}),
            "author_email",
        ),
        (json!({"url": nowhere}), "push.branch"),
        (
            json!({"url": nowhere, "branch": "main", "force": true}),
            "unknown field",
        ),
        (json!("file:///x"), "must be an object"),
    ] {
        let (status, body) = server.put(
            "/v1/namespaces/shop",
            json!({"settings": {"codegen": [{"plugin": "python", "push": push}]}}),
        );
        crate::support::assert_problem(status, &body, 400, "invalid_argument");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(expected), "{push}: {detail}");
    }
    let (status, body) = server.get("/v1/namespaces/shop");
    assert_eq!(status, 404, "a refused namespace was not created: {body}");

    let (status, body) = server.put(
        "/v1/namespaces/shop",
        json!({"settings": {"codegen": [{"plugin": "python", "push": {"url": nowhere, "branch": "main"}}]}}),
    );
    assert!(status == 200 || status == 201, "{body}");
    server.publish_created("shop", "stock", &[("stock/item.proto", ITEM)]);
    let jobs = promote_and_wait(&server, "shop");
    assert_eq!(jobs[0]["status"], "failed", "{}", jobs[0]);
    let log = jobs[0]["log"].as_str().unwrap();
    assert!(
        log.contains("generated 3 file(s)") && log.contains("absent.git"),
        "{log}"
    );
    let (_, events) = server.get("/v1/events?kind=codegen.pushed");
    assert_eq!(events["events"].as_array().unwrap().len(), 0);
}

/// Whether `python3` imports the protobuf and grpc runtimes (what
/// `verify: true` on a python target needs); says so when it does not.
fn python_runtime() -> bool {
    let ok = Command::new("python3")
        .args(["-I", "-c", "import google.protobuf, grpc"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_unless_ci(
            "python3 with protobuf and grpcio is not installed (scripts/ensure-python-tools)",
        );
    }
    ok
}

/// An order with a well-known type (from the runtime) and another
/// schema's message (generated beside it for the check).
const ORDER_AT: &str = "syntax = \"proto3\";\npackage orders;\nimport \"stock/item.proto\";\n\
    import \"google/protobuf/timestamp.proto\";\nmessage Order {\n  string id = 1;\n  \
    repeated stock.Item items = 2;\n  google.protobuf.Timestamp at = 3;\n}\n\
    service Orders {\n  rpc Get(Order) returns (Order);\n}\n";

#[test]
fn python_code_that_verifies_is_pushed_and_the_job_says_verified() {
    if !python_runtime() {
        return;
    }
    let db = Db::sqlite();
    let server = Server::start(&db);
    let repo = Repo::new();
    let settings = json!({"codegen": [{
        "plugin": "python", "verify": true,
        "push": {"url": repo.url(), "branch": "main", "path": "gen"},
    }]});
    let (status, body) = server.put("/v1/namespaces/shop", json!({"settings": settings}));
    assert!(status == 200 || status == 201, "{body}");
    assert_eq!(body["settings"]["codegen"][0]["verify"], true, "{body}");
    server.publish_created("shop", "stock", &[("stock/item.proto", ITEM)]);
    server.publish_created("shop", "orders", &[("orders/order.proto", ORDER_AT)]);
    let jobs = promote_and_wait(&server, "shop");
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(job["verified"], true, "{job}");
        let log = job["log"].as_str().unwrap();
        assert_eq!(log.matches("verified: ").count(), 1, "{log}");
        assert!(!log.contains("not verified"), "{log}");
        assert!(
            log.contains("imported") && log.contains("push: committed "),
            "{log}"
        );
    }
    assert_eq!(
        branch_files(&repo, "main"),
        python_files(&[], &["gen/orders/order", "gen/stock/item"])
    );

    // Without `verify` nothing is checked and the job says nothing of it.
    let (status, body) = server.put(
        "/v1/namespaces/plain",
        json!({"settings": {"codegen": [{"plugin": "python"}]}}),
    );
    assert!(status == 200 || status == 201, "{body}");
    server.publish_created("plain", "stock", &[("stock/item.proto", ITEM)]);
    let jobs = promote_and_wait(&server, "plain");
    assert_eq!(jobs[0]["status"], "succeeded", "{}", jobs[0]);
    assert!(jobs[0].get("verified").is_none(), "{}", jobs[0]);
    assert!(!jobs[0]["log"].as_str().unwrap().contains("verified"));

    for bad in [json!("yes"), json!(1), json!({})] {
        let (status, body) = server.put(
            "/v1/namespaces/shop/settings",
            json!({"codegen": [{"plugin": "python", "verify": bad}]}),
        );
        crate::support::assert_problem(status, &body, 400, "invalid_argument");
    }
}

/// `odd/x.proto` and `odd/x_pb2/y.proto`: the python generator (as
/// protoc's) writes the modules `odd.x_pb2` (a file) and `odd.x_pb2.y_pb2`
/// (in a folder of the same name), and the second cannot be imported:
/// `odd.x_pb2` is a module, not a package.
const X: &str = "syntax = \"proto3\";\npackage odd;\nmessage X {\n  string id = 1;\n}\n";
const Y_UNDER_X_PB2: &str =
    "syntax = \"proto3\";\npackage odd.sub;\nmessage Y {\n  string id = 1;\n}\n";

#[test]
fn python_code_that_fails_verification_fails_its_job_and_pushes_nothing() {
    if !python_runtime() {
        return;
    }
    let db = Db::sqlite();
    let server = Server::start(&db);
    let repo = Repo::new();
    let settings = json!({"codegen": [{
        "plugin": "python", "verify": true,
        "push": {"url": repo.url(), "branch": "main", "path": "gen"},
    }]});
    let (status, body) = server.put("/v1/namespaces/shop", json!({"settings": settings}));
    assert!(status == 200 || status == 201, "{body}");
    server.publish_created(
        "shop",
        "odd",
        &[("odd/x.proto", X), ("odd/x_pb2/y.proto", Y_UNDER_X_PB2)],
    );
    let jobs = promote_and_wait(&server, "shop");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["verified"], false, "{job}");
    let log = job["log"].as_str().unwrap();
    assert!(
        log.contains("verification failed; nothing stored or pushed")
            && log.contains("import odd.x_pb2.y_pb2 failed")
            && log.contains("'odd.x_pb2' is not a package"),
        "{log}"
    );
    assert!(!log.contains("push:"), "{log}");
    // Nothing pushed, no event, no artifact: a download generates again,
    // checks again and is refused.
    assert_eq!(origin(&repo, &["for-each-ref", "--format=%(refname)"]), "");
    let (_, events) = server.get("/v1/events?kind=codegen.pushed");
    assert_eq!(events["events"].as_array().unwrap().len(), 0);
    let (status, body) = server.get("/v1/namespaces/shop/schemas/odd/versions/1/generated/python");
    crate::support::assert_problem(status, &body, 422, "invalid_argument");
}

#[test]
fn a_missing_toolchain_is_reported_once_and_the_job_is_marked_not_verified() {
    let db = Db::sqlite();
    let missing = tempfile::tempdir().unwrap();
    let python = missing.path().join("no-python3");
    let server = Server::start_with_env(
        &db,
        &[("PROTOREG_CODEGEN__VERIFY__PYTHON", path_str(&python))],
    );
    let settings = json!({"codegen": [{"plugin": "python", "verify": true}]});
    let (status, body) = server.put("/v1/namespaces/shop", json!({"settings": settings}));
    assert!(status == 200 || status == 201, "{body}");
    server.publish_created("shop", "stock", &[("stock/item.proto", ITEM)]);
    let jobs = promote_and_wait(&server, "shop");
    let job = &jobs[0];
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["verified"], false, "{job}");
    let log = job["log"].as_str().unwrap();
    assert_eq!(log.matches("not verified: ").count(), 1, "{log}");
    assert!(log.contains("no-python3"), "{log}");
}
