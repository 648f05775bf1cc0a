//! Operations: `/metrics` in the Prometheus text format, and SIGHUP reloads
//! of the configuration file.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

const PUBLISH_ROUTE: &str = "/v1/namespaces/{ns}/schemas/{schema}/versions";

/// The value of one series (`name{labels}` exactly as served), 0 when the
/// series has not been created yet.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse::<f64>().expect("a numeric sample"))
        })
        .unwrap_or(0.0)
}

fn scrape(server: &Server) -> String {
    let response = server.http.get(server.url("/metrics")).send().unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().unwrap()
}

fn publishes(text: &str, result: &str) -> f64 {
    sample(
        text,
        &format!("protoreg_publish_total{{result=\"{result}\"}}"),
    )
}

fn promotes(text: &str, result: &str) -> f64 {
    sample(
        text,
        &format!("protoreg_promote_total{{result=\"{result}\"}}"),
    )
}

fn compiles(text: &str) -> f64 {
    sample(text, "protoreg_compile_duration_seconds_count")
}

#[test]
fn metrics_are_prometheus_text_with_every_registry_metric() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("shop");
    let (status, _) = server.get("/no/such/route");
    assert_eq!(status, 404);
    let text = scrape(&server);
    for name in [
        "protoreg_http_requests_total",
        "protoreg_http_request_duration_seconds",
        "protoreg_publish_total",
        "protoreg_compile_duration_seconds",
        "protoreg_promote_total",
        "protoreg_namespaces",
        "protoreg_schema_versions",
        "protoreg_restore_versions",
        "protoreg_restore_duration_seconds",
        "protoreg_store_errors_total",
        "protoreg_config_reloads_total",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# TYPE {name} "))),
            "{name} missing from:\n{text}"
        );
    }
    assert_eq!(
        sample(
            &text,
            &format!(
                "protoreg_http_requests_total{{method=\"POST\",route=\"{PUBLISH_ROUTE}\",status=\"201\"}}"
            )
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(
                "protoreg_http_request_duration_seconds_count{{method=\"POST\",route=\"{PUBLISH_ROUTE}\"}}"
            )
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "protoreg_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ),
        1.0,
        "{text}"
    );
    assert!(
        !text.contains("/v1/namespaces/shop") && !text.contains("/no/such/route"),
        "raw paths must not become labels:\n{text}"
    );
    assert_eq!(sample(&text, "protoreg_store_errors_total"), 0.0);
}

#[test]
fn publish_and_promote_counters_follow_outcomes() {
    let server = Server::start(&Db::sqlite());
    let before = scrape(&server);
    assert_eq!(compiles(&before), 0.0, "{before}");

    server.money_staged("shop");
    let created = scrape(&server);
    assert_eq!(publishes(&created, "created"), 1.0, "{created}");
    assert_eq!(compiles(&created), 1.0, "{created}");
    assert!(sample(&created, "protoreg_compile_duration_seconds_sum") > 0.0);

    let (status, body) = server.publish_money("shop");
    assert_eq!(status, 200, "{body}");
    let unchanged = scrape(&server);
    assert_eq!(publishes(&unchanged, "no_change"), 1.0, "{unchanged}");
    assert_eq!(publishes(&unchanged, "created"), 1.0, "{unchanged}");
    assert_eq!(compiles(&unchanged), 1.0, "no_change compiles nothing");

    let (status, body) = server.publish("shop", "broken", &[("broken/x.proto", "message {")]);
    assert_eq!(status, 422, "{body}");
    let failed = scrape(&server);
    assert_eq!(publishes(&failed, "compile_failed"), 1.0, "{failed}");

    let (status, body) = server.post("/v1/namespaces/shop/promote", json!({"dry_run": true}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.promote("shop");
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.promote("nowhere");
    assert_eq!(status, 404, "{body}");
    let promoted = scrape(&server);
    assert_eq!(promotes(&promoted, "dry_run"), 1.0, "{promoted}");
    assert_eq!(promotes(&promoted, "ok"), 1.0, "{promoted}");
    assert_eq!(promotes(&promoted, "not_found"), 1.0, "{promoted}");
    // `shop` and `__builtins__`; common v1 is current, nothing staged.
    assert_eq!(sample(&promoted, "protoreg_namespaces"), 2.0, "{promoted}");
    assert_eq!(
        sample(&promoted, "protoreg_schema_versions"),
        1.0,
        "{promoted}"
    );

    let (status, body) = server.publish(
        "shop",
        "common",
        &[("common/money.proto", MONEY_WITH_NANOS)],
    );
    assert_eq!(status, 201, "{body}");
    let staged = scrape(&server);
    assert_eq!(sample(&staged, "protoreg_schema_versions"), 2.0, "{staged}");
    assert_eq!(compiles(&staged), 2.0, "{staged}");
}

/// `count` small independent files for `schema`, each in its own package.
fn files(schema: &str, count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            (
                format!("{schema}/f{i}.proto"),
                format!("syntax = \"proto3\";\npackage {schema}.f{i};\nmessage M{i} {{}}\n"),
            )
        })
        .collect()
}

fn publish_files(server: &Server, schema: &str, files: &[(String, String)]) -> (u16, Value) {
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    server.publish("ops", schema, &files)
}

/// A single file whose body is larger than `bytes`.
fn big_file(bytes: usize) -> Vec<(String, String)> {
    let comment = format!("// {}\n", "x".repeat(bytes));
    vec![(
        "big/big.proto".to_owned(),
        format!("syntax = \"proto3\";\n{comment}package big;\nmessage Big {{}}\n"),
    )]
}

fn write_config(path: &Path, max_files: usize, max_request_bytes: usize) {
    std::fs::write(
        path,
        format!("[limits]\nmax_files = {max_files}\nmax_request_bytes = {max_request_bytes}\n"),
    )
    .unwrap();
}

/// Polls `check` until it returns true or 30 s have passed.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn sighup_reloads_limits_and_a_bad_file_keeps_the_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("protoreg.toml");
    write_config(&config, 2, 4096);
    let mut server = Server::start_with_config(&Db::sqlite(), &config);

    let (status, body) = publish_files(&server, "three", &files("three", 3));
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large", "{body}");
    let (status, body) = publish_files(&server, "big", &big_file(5000));
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large", "{body}");

    write_config(&config, 5, 65536);
    server.hangup();
    eventually("the new max_files applies", || {
        publish_files(&server, "three", &files("three", 3)).0 == 201
    });
    // The body limit is read per request, not fixed when the app was built.
    let (status, body) = publish_files(&server, "big", &big_file(5000));
    assert_eq!(status, 201, "{body}");
    let text = scrape(&server);
    assert_eq!(
        sample(&text, "protoreg_config_reloads_total{result=\"ok\"}"),
        1.0,
        "{text}"
    );

    std::fs::write(&config, "[limits\nmax_files = 1\n").unwrap();
    server.hangup();
    eventually("the bad file is reported", || {
        sample(
            &scrape(&server),
            "protoreg_config_reloads_total{result=\"error\"}",
        ) == 1.0
    });
    assert!(server.is_running(), "a bad file must not stop the server");
    let (status, body) = publish_files(&server, "five", &files("five", 5));
    assert_eq!(status, 201, "old limits still apply: {body}");
    let (status, body) = publish_files(&server, "six", &files("six", 6));
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large", "{body}");
}

#[test]
fn sighup_reloads_the_anonymous_mode_and_the_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("protoreg.toml");
    std::fs::write(
        &config,
        "[auth]\nanonymous = \"none\"\nadmin_token = \"first-admin\"\n",
    )
    .unwrap();
    let server = Server::start_with_config(&Db::sqlite(), &config);
    let get = |token: Option<&str>| {
        let mut request = server.http.get(server.url("/v1/namespaces"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap().status().as_u16()
    };
    assert_eq!(get(None), 401);
    assert_eq!(get(Some("first-admin")), 200);

    std::fs::write(
        &config,
        "[auth]\nanonymous = \"read\"\nadmin_token = \"second-admin\"\n",
    )
    .unwrap();
    server.hangup();
    eventually("anonymous reads are allowed", || get(None) == 200);
    assert_eq!(
        get(Some("first-admin")),
        401,
        "the old admin token no longer works"
    );
    assert_eq!(get(Some("second-admin")), 200);
    let created = server
        .http
        .put(server.url("/v1/namespaces/x"))
        .send()
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(created, 401, "anonymous read does not allow writes");

    std::fs::write(&config, "[auth]\nanonymous = \"sometimes\"\n").unwrap();
    server.hangup();
    eventually("the bad auth setting is reported", || {
        sample(
            &scrape(&server),
            "protoreg_config_reloads_total{result=\"error\"}",
        ) == 1.0
    });
    assert_eq!(get(None), 200, "the old settings stay in force");
    assert_eq!(get(Some("second-admin")), 200);
}

#[test]
fn openapi_document_is_served_and_lists_publish() {
    let server = Server::start(&Db::sqlite());
    let response = server.http.get(server.url("/openapi.json")).send().unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc: Value = response.json().unwrap();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi = {version:?}");
    let publish = &doc["paths"][PUBLISH_ROUTE]["post"];
    assert!(publish.is_object(), "no POST {PUBLISH_ROUTE} in {doc}");
    assert!(publish["responses"]["201"].is_object(), "{publish}");
    assert!(publish["security"].is_array(), "{publish}");
    // Public routes need no token.
    assert!(doc["paths"]["/healthz"]["get"].get("security").is_none());
}

/// The namespace descriptor and each schema's staged descriptor, as served.
fn served_bytes(server: &Server) -> Vec<Vec<u8>> {
    [
        "/v1/namespaces/shop/descriptor",
        "/v1/namespaces/shop/schemas/common/versions/current/descriptor",
        "/v1/namespaces/shop/schemas/common/versions/staged/descriptor",
        "/v1/namespaces/shop/schemas/billing/versions/staged/descriptor",
    ]
    .iter()
    .map(|path| {
        let (status, bytes) = server.get_bytes(path);
        assert_eq!(status, 200, "{path}");
        bytes
    })
    .collect()
}

/// `(from checkpoints, from the store)` of the restore at start.
fn restore_sources(server: &Server) -> (f64, f64) {
    let text = scrape(server);
    for source in ["checkpoint", "store"] {
        let series = format!("protoreg_restore_versions{{source=\"{source}\"}} ");
        assert!(
            text.lines().any(|l| l.starts_with(&series)),
            "{series} missing from:\n{text}"
        );
    }
    assert!(
        sample(&text, "protoreg_restore_duration_seconds") > 0.0,
        "{text}"
    );
    (
        sample(&text, "protoreg_restore_versions{source=\"checkpoint\"}"),
        sample(&text, "protoreg_restore_versions{source=\"store\"}"),
    )
}

#[test]
fn sigterm_leaves_restore_checkpoints_and_kill_9_restores_from_the_store() {
    on_each_backend(|db| {
        // No background checkpoint writes: only a shutdown writes them.
        let env = [("PROTOREG_DATABASE__CHECKPOINT_INTERVAL_MS", "0")];
        let mut server = Server::start_with_env(db, &env);
        let money_v2 = format!("{MONEY_V1}message Rate {{ double value = 1; }}\n");
        server.money_current("shop");
        assert_eq!(
            server
                .publish("shop", "common", &[("common/money.proto", &money_v2)])
                .0,
            201
        );
        server.invoice_staged("shop");
        let before = served_bytes(&server);

        server.restart_after_kill9();
        assert_eq!(
            restore_sources(&server),
            (0.0, 3.0),
            "no checkpoint was written"
        );
        assert_eq!(served_bytes(&server), before);

        assert_eq!(server.terminate().code(), Some(0));
        let server = Server::start_with_env(db, &env);
        assert_eq!(
            restore_sources(&server),
            (3.0, 0.0),
            "the shutdown wrote the checkpoints"
        );
        assert_eq!(served_bytes(&server), before);
        // And it carries on from there.
        assert_eq!(server.promote("shop").0, 200);
        let (status, _) =
            server.get_bytes("/v1/namespaces/shop/schemas/billing/versions/current/descriptor");
        assert_eq!(status, 200);
    });
}
