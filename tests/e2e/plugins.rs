//! Plugins in the real server: the shipped plugins load from the
//! executable's directory with no configuration, a house rule blocks a
//! promote, the JSON-lines sink receives events, and broken libraries are
//! refused while the server keeps serving.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// A cdylib of this workspace, next to the `protoreg` binary.
fn library(crate_name: &str) -> PathBuf {
    let dir = std::path::Path::new(BIN).parent().expect("target dir");
    let path = dir.join(format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        path.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

fn plugin_names(server: &Server) -> Vec<String> {
    let (status, body) = server.get("/v1/plugins");
    assert_eq!(status, 200, "{body}");
    body["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

/// The entry of `GET /v1/plugins` (`body`) named `name`.
#[track_caller]
fn plugin<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not loaded: {body}"))
}

const EVENTS_V1: &str = r#"syntax = "proto3";
package shop.v1;
message OrderEvent {
  string id = 1;
}
message Order {
  string id = 1;
}
"#;

#[test]
fn shipped_plugins_load_without_configuration() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let (_, body) = server.get("/v1/plugins");
    let suffix = plugin(&body, "suffix-rules");
    assert_eq!(suffix["kinds"], json!(["compat_rule"]));
    assert_eq!(
        suffix["rules"],
        json!([
            "SERVICE_SUFFIXES_NO_CHANGE",
            "MESSAGE_SUFFIXES_NO_CHANGE",
            "ENUM_SUFFIXES_NO_CHANGE"
        ])
    );
    assert_eq!(suffix["healthy"], true);
    let names = plugin_names(&server);
    assert!(names.contains(&"jsonl-events".to_string()), "{names:?}");
    let python = plugin(&body, "python");
    assert_eq!(python["generators"], json!(["python"]));
    let go = plugin(&body, "go");
    assert_eq!(go["generators"], json!(["go", "go-grpc"]));
    // Test fixtures are never picked up by the default scan.
    assert!(!plugin_names(&server).contains(&"misbehave".to_string()));
}

#[test]
fn a_plugin_rule_blocks_a_promote_with_its_finding() {
    on_each_backend(|db| {
        let server = Server::start(db);
        assert_eq!(server.put("/v1/namespaces/shop", json!({})).0, 201);
        let (status, body) = server.put(
            "/v1/namespaces/shop/settings",
            json!({"compat": {"plugin_options": {"message_no_change_suffixes": ["Event"]}}}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            server
                .publish("shop", "orders", &[("shop/v1/orders.proto", EVENTS_V1)])
                .0,
            201
        );
        assert_eq!(server.promote("shop").0, 200);

        // Adding a field to Order is fine; to OrderEvent it is not.
        let ok = EVENTS_V1.replace(
            "message Order {\n  string id = 1;",
            "message Order {\n  string id = 1;\n  int32 n = 2;",
        );
        assert_eq!(
            server
                .publish("shop", "orders", &[("shop/v1/orders.proto", &ok)])
                .0,
            201
        );
        let (status, body) = server.promote("shop");
        assert_eq!(status, 200, "{body}");

        let bad = ok.replace(
            "message OrderEvent {\n  string id = 1;",
            "message OrderEvent {\n  string id = 1;\n  int64 at = 2;",
        );
        assert_eq!(
            server
                .publish("shop", "orders", &[("shop/v1/orders.proto", &bad)])
                .0,
            201
        );
        let before = server.revision("shop");
        let (status, body) = server.promote("shop");
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "incompatible");
        let violations = body["violations"].as_array().unwrap();
        assert_eq!(violations.len(), 1, "{body}");
        let v = &violations[0];
        assert_eq!(v["rule"], "MESSAGE_SUFFIXES_NO_CHANGE");
        assert_eq!(v["plugin"], "suffix-rules");
        assert_eq!(v["schema"], "orders");
        assert_eq!(v["file"], "shop/v1/orders.proto");
        assert_eq!(v["line"], 3);
        assert_eq!(
            server.revision("shop"),
            before,
            "a refused promote changes nothing"
        );

        // The rule is selectable like a built-in one: excepting it lets the
        // promote through.
        let (status, body) = server.put(
            "/v1/namespaces/shop/settings",
            json!({"compat": {"except": ["MESSAGE_SUFFIXES_NO_CHANGE"],
                              "plugin_options": {"message_no_change_suffixes": ["Event"]}}}),
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(server.promote("shop").0, 200);
    });
}

#[test]
fn unknown_plugin_rules_in_settings_are_refused() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    server.put("/v1/namespaces/shop", json!({}));
    let (status, body) = server.put(
        "/v1/namespaces/shop/settings",
        json!({"compat": {"use": ["NOT_A_RULE"]}}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_argument");
}

fn read_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn the_jsonl_sink_receives_every_event_in_order_across_restarts() {
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let config = dir.path().join("protoreg.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins]\npaths = [{:?}]\n[plugins.settings.jsonl-events]\npath = {:?}\n",
            library("protoreg-plugin-jsonl-events")
                .display()
                .to_string(),
            events.display().to_string()
        ),
    )
    .unwrap();
    let mut server = Server::start_with_config(&db, &config);
    assert_eq!(plugin_names(&server), vec!["jsonl-events"]);
    assert_eq!(
        server
            .publish("shop", "orders", &[("shop/v1/orders.proto", EVENTS_V1)])
            .0,
        201
    );
    assert_eq!(server.promote("shop").0, 200);
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let lines = read_lines(&events);
            if lines.len() >= n {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} events arrived: {lines:?}",
                lines.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let lines = wait_for(3);
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "namespace.created",
            "schema.published",
            "namespace.promoted"
        ]
    );
    assert!(lines.iter().all(|l| l["namespace"] == "shop"));
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()),
        "in order"
    );

    // Events written while the server is down are delivered after restart.
    server.kill9();
    server.restart_after_kill9();
    let seen = read_lines(&events).len();
    let v2 = EVENTS_V1.replace(
        "string id = 1;\n}\nmessage Order",
        "string id = 1;\n  int32 n = 2;\n}\nmessage Order",
    );
    assert_eq!(
        server
            .publish("shop", "orders", &[("shop/v1/orders.proto", &v2)])
            .0,
        201
    );
    let lines = wait_for(seen + 1);
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "schema.published", "{last}");
    // At least once: a line may repeat after the kill, none may be missing.
    let mut ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "every event, once or more: {ids:?}");
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "no gap: {ids:?}");
}

#[test]
fn broken_libraries_are_refused_and_the_server_serves() {
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libnot_a_plugin.so");
    std::fs::write(&fake, b"\x7fELF but not really").unwrap();
    let config = dir.path().join("protoreg.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins]\npaths = [{:?}, {:?}, {:?}]\n",
            fake.display().to_string(),
            library("protoreg-test-plugin-raw-abi")
                .display()
                .to_string(),
            library("protoreg-test-plugin-misbehave")
                .display()
                .to_string(),
        ),
    )
    .unwrap();
    for (env, expected) in [
        ("PROTOREG_RAW_ABI_VERSION", "2"),
        ("PROTOREG_RAW_ABI_NULL", "1"),
    ] {
        let server = Server::start_with_config_and_env(&db, &config, &[(env, expected)]);
        assert_eq!(plugin_names(&server), vec!["misbehave"], "{env}={expected}");
        assert_eq!(
            server
                .publish(
                    "ok",
                    "s",
                    &[("a.proto", "syntax = \"proto3\";\nmessage A {}\n")]
                )
                .0
                / 100,
            2
        );
        assert_eq!(server.get("/healthz").0, 200);
    }
}

#[test]
fn a_misbehaving_generator_fails_its_own_request_and_nothing_else() {
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("protoreg.toml");
    std::fs::write(
        &config,
        format!(
            "[plugins]\npaths = [{:?}, {:?}]\ncall_timeout_ms = 4000\nmax_output_bytes = 1048576\n",
            library("protoreg-test-plugin-misbehave")
                .display()
                .to_string(),
            library("protoreg-plugin-python").display().to_string(),
        ),
    )
    .unwrap();
    let server = Server::start_with_config(&db, &config);
    assert_eq!(
        server
            .publish("shop", "orders", &[("shop/v1/orders.proto", EVENTS_V1)])
            .0,
        201
    );
    let generated = |plugin: &str| {
        server.get_bytes(&format!(
            "/v1/namespaces/shop/schemas/orders/versions/1/generated/{plugin}"
        ))
    };
    for (plugin, status) in [
        ("misbehave-panic", 422),
        ("misbehave-error", 422),
        ("misbehave-oversize", 503),
        ("misbehave-hang", 503),
    ] {
        let (got, body) = generated(plugin);
        assert_eq!(got, status, "{plugin}: {}", String::from_utf8_lossy(&body));
        // Every other request is still served, the python plugin included.
        assert_eq!(server.get("/healthz").0, 200, "after {plugin}");
        let (python, archive) = generated("python");
        assert_eq!(python, 200, "python after {plugin}");
        assert!(archive.starts_with(&[0x1f, 0x8b]), "a gzip archive");
    }
    // The hung call left the plugin unhealthy; the listing says so.
    let (_, body) = server.get("/v1/plugins");
    let misbehave = plugin(&body, "misbehave");
    assert_eq!(misbehave["healthy"], false, "{misbehave}");
    let (_, metrics) = server.get_bytes("/metrics");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(
            r#"protoreg_plugin_calls_total{kind="generate",plugin="misbehave",result="timeout"} 1"#
        ),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("plugin_calls"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The repository's root (the workspace).
fn repository() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// The packages `scripts/serve` builds besides the server.
fn plugins_scripts_serve_builds() -> Vec<String> {
    let script = std::fs::read_to_string(repository().join("scripts/serve")).unwrap();
    let list = script
        .split_once("SHIPPED_PLUGINS=(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .expect("scripts/serve has a SHIPPED_PLUGINS list")
        .0;
    assert!(
        script.contains("for plugin in \"${SHIPPED_PLUGINS[@]}\"; do packages+=(-p \"$plugin\")"),
        "scripts/serve builds its list"
    );
    let mut names: Vec<String> = list.split_whitespace().map(str::to_owned).collect();
    names.sort();
    names
}

/// Every plugin the workspace ships: the cdylib packages under `plugins/`
/// (not the test fixtures under `plugins/testing/`).
fn shipped_plugin_packages() -> Vec<String> {
    let root = repository();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .expect("workspace members")
        .0;
    let mut names = Vec::new();
    for member in members.split(',').map(|m| m.trim().trim_matches('"')) {
        if !member.starts_with("plugins/") || member.starts_with("plugins/testing/") {
            continue;
        }
        let manifest = std::fs::read_to_string(root.join(member).join("Cargo.toml")).unwrap();
        if !manifest.contains("\"cdylib\"") {
            continue;
        }
        let name = manifest
            .lines()
            .find_map(|line| line.strip_prefix("name = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .expect("a package name");
        names.push(name.to_owned());
    }
    names.sort();
    names
}

/// The README's run command (`scripts/serve`) builds every shipped plugin
/// next to the server, and the server started from there, as the script
/// starts it (no plugin configuration), loads each of them.
#[test]
fn the_run_command_builds_and_loads_every_shipped_plugin() {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    assert!(
        readme.contains("```sh\nscripts/serve\n```"),
        "the README runs the server with scripts/serve"
    );
    let shipped = shipped_plugin_packages();
    assert_eq!(
        shipped,
        [
            "protoreg-plugin-go",
            "protoreg-plugin-jsonl-events",
            "protoreg-plugin-python",
            "protoreg-plugin-suffix-rules",
            "protoreg-plugin-webhook"
        ],
        "the shipped plugins changed: check scripts/serve and the README"
    );
    assert_eq!(plugins_scripts_serve_builds(), shipped);
    let server = Server::start(&Db::sqlite());
    let loaded = plugin_names(&server);
    for package in &shipped {
        library(package);
        let name = package.strip_prefix("protoreg-plugin-").unwrap();
        assert!(
            loaded.iter().any(|l| l == name),
            "{name} not loaded: {loaded:?}"
        );
    }
}
