//! The event API over HTTP: payloads per kind, long polls woken by a
//! publish, scoping by token, SSE resume, retention's `truncated`, the held
//! cap and shutdown with a held request.

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

const ADMIN: &str = "events-admin-secret";

fn events(server: &Server, query: &str) -> Value {
    let (status, body) = server.get(&format!("/v1/events?{query}"));
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until the server holds `n` event requests (its gauge says so).
fn wait_held(server: &Server, n: usize) {
    let want = format!("protoreg_events_held_requests {n}\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = server.get_bytes("/metrics");
        if String::from_utf8_lossy(&body).contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never {n} held requests");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every mutation writes its kind with the payload docs/API.md names; the
/// kinds seen are `store::EVENT_KINDS` but for those of later features.
#[test]
fn each_mutation_writes_its_event_with_its_payload() {
    on_each_backend(|db| {
        let server = Server::start(db);
        let (status, body) = server.put("/v1/namespaces/shop", json!({}));
        assert!(status == 201 || status == 200, "{body}");
        let (status, body) = server.put("/v1/namespaces/shop", json!({"metadata": {"team": "a"}}));
        assert_eq!(status, 200, "{body}");
        server.money_staged("shop");
        server.promote_ok("shop");
        server.publish_created(
            "shop",
            "common",
            &[("common/money.proto", MONEY_WITH_NANOS)],
        );
        server.promote_ok("shop");
        let (status, body) = server.post(
            "/v1/namespaces/shop/schemas/common/rollback",
            json!({"version": 1, "force": true}),
        );
        assert_eq!(status, 200, "{body}");
        let (status, body) = server.delete("/v1/namespaces/shop/staging");
        assert_eq!(status, 200, "{body}");
        let (status, token) = server.post(
            "/v1/tokens",
            json!({"name": "ci", "roles": [{"namespace": "shop", "role": "read"}]}),
        );
        assert_eq!(status, 201, "{token}");
        let (status, body) = server.delete(&format!("/v1/tokens/{}", token["id"]));
        assert!(status == 200 || status == 204, "{body}");
        let (status, body) = server.delete("/v1/namespaces/shop");
        assert!(status == 200 || status == 204, "{body}");

        let page = events(&server, "limit=1000");
        let list = page["events"].as_array().unwrap().clone();
        assert!(
            list.windows(2)
                .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
        );
        assert_eq!(page["last_id"], list.last().unwrap()["id"]);
        let of = |kind: &str| -> Vec<Value> {
            list.iter()
                .filter(|e| e["kind"] == kind && e["namespace"] != "__builtins__")
                .cloned()
                .collect()
        };
        for event in &list {
            assert!(
                event["created_at"]
                    .as_str()
                    .is_some_and(|t| t.ends_with('Z')),
                "{event}"
            );
        }
        assert_eq!(of("namespace.created")[0]["payload"]["namespace"], "shop");
        assert_eq!(of("namespace.updated")[0]["payload"]["revision"], 2);
        let published = of("schema.published");
        assert_eq!(published.len(), 2);
        assert_eq!(published[1]["payload"]["schema"], "common");
        assert_eq!(published[1]["payload"]["version"], 2);
        assert!(published[1]["payload"]["fingerprint"].is_string());
        let promoted = of("namespace.promoted");
        assert_eq!(
            promoted[0]["payload"]["promoted"],
            json!([{"schema": "common", "from_version": null, "to_version": 1}])
        );
        assert_eq!(
            promoted[1]["payload"]["promoted"],
            json!([{"schema": "common", "from_version": 1, "to_version": 2}])
        );
        assert!(promoted[1]["payload"]["revision"].is_i64());
        let rolled_back = &of("schema.rolled_back")[0]["payload"];
        assert_eq!(
            (
                rolled_back["schema"].as_str(),
                rolled_back["version"].as_i64()
            ),
            (Some("common"), Some(1))
        );
        assert_eq!(
            of("staging.discarded")[0]["payload"]["discarded"],
            json!(["common"])
        );
        let created = &of("token.created")[0];
        assert_eq!(
            created["namespace"],
            Value::Null,
            "token events belong to no namespace"
        );
        assert_eq!(created["payload"]["name"], "ci");
        assert_eq!(of("token.revoked")[0]["payload"]["token_id"], token["id"]);
        assert_eq!(of("namespace.deleted")[0]["payload"]["namespace"], "shop");

        let mut seen: Vec<&str> = list.iter().filter_map(|e| e["kind"].as_str()).collect();
        seen.sort();
        seen.dedup();
        // Written by features that come later (code generation is covered
        // by the codegen tests).
        let later = [
            "codegen.finished",
            "codegen.pushed",
            "sync.finished",
            "webhook.disabled",
        ];
        let mut expected: Vec<&str> = protoreg_kinds()
            .into_iter()
            .filter(|k| !later.contains(k))
            .collect();
        expected.sort();
        assert_eq!(seen, expected);

        let (status, body) = server.get("/v1/events?kind=namespace.promoted,schema.published");
        assert_eq!(status, 200);
        assert_eq!(body["events"].as_array().unwrap().len(), 4, "{body}");
        let (status, body) = server.get("/v1/events?kind=nonsense");
        assert_problem(status, &body, 400, "invalid_argument");
        for bad in [
            "after=-1",
            "wait=61",
            "limit=0",
            "limit=1001",
            "namespace=a%20b",
            "bogus=1",
        ] {
            let (status, body) = server.get(&format!("/v1/events?{bad}"));
            assert_problem(status, &body, 400, "invalid_argument");
        }
    });
}

/// The kinds of `store::EVENT_KINDS`, as the server's 400 for an unknown
/// kind lists them (the test binary does not link the core crate).
fn protoreg_kinds() -> Vec<&'static str> {
    vec![
        "namespace.created",
        "namespace.updated",
        "namespace.deleted",
        "schema.published",
        "schema.rolled_back",
        "namespace.promoted",
        "staging.discarded",
        "codegen.finished",
        "codegen.pushed",
        "sync.finished",
        "webhook.disabled",
        "token.created",
        "token.revoked",
    ]
}

#[test]
fn the_kind_list_is_the_servers() {
    let server = Server::start(&Db::sqlite());
    let (status, body) = server.get("/v1/events?kind=nonsense");
    assert_eq!(status, 400);
    let detail = body["detail"].as_str().unwrap();
    let listed = detail.split(": one of ").nth(1).unwrap();
    assert_eq!(listed.split(", ").collect::<Vec<_>>(), protoreg_kinds());
}

#[test]
fn a_long_poll_is_answered_by_the_next_publish_not_the_timeout() {
    on_each_backend(|db| {
        let server = Server::start(db);
        server.money_current("shop");
        let last = events(&server, "")["last_id"].as_i64().unwrap();
        let url = server.url(&format!("/v1/events?after={last}&wait=30&namespace=shop"));
        let started = Instant::now();
        let poll = std::thread::spawn(move || {
            let response = reqwest::blocking::Client::new().get(url).send().unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().unwrap(),
                started.elapsed(),
            )
        });
        wait_held(&server, 1);
        server.invoice_staged("shop");
        let (status, body, elapsed) = poll.join().unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            elapsed < Duration::from_secs(20),
            "answered after {elapsed:?}, not by the publish"
        );
        let list = body["events"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{body}");
        assert_eq!(list[0]["kind"], "schema.published");
        assert_eq!(list[0]["payload"]["schema"], "billing");
        assert_eq!(body["last_id"], list[0]["id"]);
        wait_held(&server, 0);
        // Nothing new: an empty page at the timeout, the cursor kept.
        let after = body["last_id"].as_i64().unwrap();
        let empty = events(&server, &format!("after={after}&wait=1"));
        assert_eq!(empty, json!({"events": [], "last_id": after}));
    });
}

#[test]
fn a_token_sees_only_the_events_of_namespaces_it_may_read() {
    let db = Db::sqlite();
    let server = Server::start_with_env(&db, &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    for ns in ["shop", "billing"] {
        let (status, body) = server.call(
            "POST",
            &format!("/v1/namespaces/{ns}/schemas/common/versions"),
            Some(ADMIN),
            Some(&json!({"sources": {"common/money.proto": MONEY_V1}})),
        );
        assert_eq!(status, 201, "{body}");
    }
    let body = json!({"name": "shop-reader", "roles": [{"namespace": "shop", "role": "read"}]});
    let (status, created) = server.call("POST", "/v1/tokens", Some(ADMIN), Some(&body));
    assert_eq!(status, 201, "{created}");
    let reader = created["token"].as_str().unwrap().to_owned();

    let (status, all) = server.call("GET", "/v1/events", Some(ADMIN), None);
    assert_eq!(status, 200);
    let namespaces = |page: &Value| -> Vec<Value> {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["namespace"].clone())
            .collect()
    };
    let everything = namespaces(&all);
    assert!(everything.contains(&json!("billing")) && everything.contains(&Value::Null));
    let (status, mine) = server.call("GET", "/v1/events", Some(&reader), None);
    assert_eq!(status, 200, "{mine}");
    let seen = namespaces(&mine);
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|ns| ns == "shop" || ns == "__builtins__"),
        "a shop reader saw {seen:?}"
    );
    assert_eq!(
        mine["last_id"], all["last_id"],
        "the cursor moves past what it may not see"
    );
    let (status, body) = server.call("GET", "/v1/events?namespace=billing", Some(&reader), None);
    assert_problem(status, &body, 403, "permission_denied");
    let (status, body) = server.call(
        "GET",
        "/v1/events/stream?namespace=billing",
        Some(&reader),
        None,
    );
    assert_problem(status, &body, 403, "permission_denied");
    let (status, body) = server.call("GET", "/v1/events", None, None);
    assert_problem(status, &body, 401, "unauthenticated");
}

/// Reads SSE frames (`id`, `event`, `data`) until `n` events have come.
fn read_frames(reader: &mut impl BufRead, n: usize) -> Vec<(Option<i64>, String, Value)> {
    let mut frames = Vec::new();
    let (mut id, mut event, mut data) = (None, String::new(), String::new());
    let mut line = String::new();
    while frames.len() < n {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended");
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !event.is_empty() {
                frames.push((
                    id.take(),
                    std::mem::take(&mut event),
                    serde_json::from_str(&data).unwrap(),
                ));
            }
            data.clear();
        } else if let Some(v) = text.strip_prefix("id: ") {
            id = Some(v.parse().unwrap());
        } else if let Some(v) = text.strip_prefix("event: ") {
            event = v.to_owned();
        } else if let Some(v) = text.strip_prefix("data: ") {
            data.push_str(v);
        }
    }
    frames
}

fn open_stream(
    server: &Server,
    query: &str,
    last_event_id: Option<i64>,
) -> BufReader<reqwest::blocking::Response> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut request = client.get(server.url(&format!("/v1/events/stream?{query}")));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    BufReader::new(response)
}

#[test]
fn a_stream_resumes_after_a_dropped_connection_with_exactly_the_missed_events() {
    on_each_backend(|db| {
        let server = Server::start(db);
        server.money_staged("shop");
        let mut stream = open_stream(&server, "namespace=shop", None);
        let first = read_frames(&mut stream, 2);
        assert_eq!(first[0].1, "namespace.created");
        assert_eq!(first[1].1, "schema.published");
        assert_eq!(
            first[1].0,
            first[1].2["id"].as_i64(),
            "id: is the event's id"
        );
        // Live: the next event arrives on the open stream.
        server.promote_ok("shop");
        let live = read_frames(&mut stream, 1);
        assert_eq!(live[0].1, "namespace.promoted");
        let last_seen = live[0].0.unwrap();
        drop(stream);
        server.invoice_staged("shop");
        server.promote_ok("shop");
        let missed: Vec<Value> =
            events(&server, &format!("after={last_seen}&namespace=shop"))["events"]
                .as_array()
                .unwrap()
                .clone();
        assert_eq!(missed.len(), 2);
        let mut resumed = open_stream(&server, "namespace=shop&after=0", Some(last_seen));
        let frames = read_frames(&mut resumed, 2);
        let got: Vec<Value> = frames.into_iter().map(|(_, _, data)| data).collect();
        assert_eq!(
            got, missed,
            "exactly the events missed, Last-Event-ID over after"
        );
    });
}

#[test]
fn an_idle_stream_gets_keep_alive_comments() {
    let db = Db::sqlite();
    let server = Server::start_with_env(&db, &[("PROTOREG_EVENTS__KEEP_ALIVE_MS", "50")]);
    let mut stream = open_stream(&server, "after=1000", None);
    let mut line = String::new();
    stream.read_line(&mut line).unwrap();
    assert_eq!(line, ": keep-alive\n");
}

#[test]
fn pruned_events_are_reported_as_truncated() {
    let db = Db::sqlite();
    let server = Server::start_with_env(
        &db,
        &[
            // About 0.4 s.
            ("PROTOREG_EVENTS__RETENTION_DAYS", "0.000005"),
            ("PROTOREG_EVENTS__PRUNE_INTERVAL_MS", "50"),
        ],
    );
    server.money_staged("shop");
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = events(&server, "after=1");
        // Every event is past its retention soon.
        if page["truncated"] == true && page["events"] == json!([]) {
            break page;
        }
        assert!(Instant::now() < deadline, "never truncated: {page}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(page["events"].as_array().unwrap().is_empty(), "{page}");
    let last = page["last_id"].as_i64().unwrap();
    let current = events(&server, &format!("after={last}"));
    assert_eq!(
        current.get("truncated"),
        None,
        "nothing after the newest id was pruned"
    );
    let mut stream = open_stream(&server, "after=1", None);
    let frames = read_frames(&mut stream, 1);
    assert_eq!(frames[0].0, None, "the notice has no id");
    assert_eq!(
        (frames[0].1.as_str(), &frames[0].2["truncated"]),
        ("truncated", &json!(true))
    );
}

#[test]
fn held_requests_over_the_cap_are_refused_and_shutdown_releases_them() {
    let db = Db::sqlite();
    let server = Server::start_with_env(&db, &[("PROTOREG_EVENTS__MAX_HELD_REQUESTS", "1")]);
    let url = server.url("/v1/events?after=1000&wait=60");
    let held = std::thread::spawn(move || {
        let response = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap()
            .get(url)
            .send();
        response.map(|r| r.status().as_u16())
    });
    wait_held(&server, 1);
    let (status, body) = server.get("/v1/events?after=1000&wait=60");
    assert_problem(status, &body, 503, "unavailable");
    let (status, body) = server.get("/v1/events/stream?after=1000");
    assert_problem(status, &body, 503, "unavailable");
    // Without waiting, no slot is needed.
    assert_eq!(server.get("/v1/events?after=1000").0, 200);

    let started = Instant::now();
    let exit = server.terminate();
    assert!(exit.success(), "{exit:?}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "SIGTERM waited {:?} for the 60 s long poll",
        started.elapsed()
    );
    let answered = held.join().unwrap();
    assert!(
        matches!(answered, Ok(200)),
        "the held poll was answered: {answered:?}"
    );
}

#[test]
fn the_cli_prints_events_and_follows_the_stream() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("shop");
    let out = std::process::Command::new(BIN)
        .args([
            "events",
            "--namespace",
            "shop",
            "--output",
            "json",
            "--server",
            &server.base,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["namespace.created", "schema.published"]);
    let text = std::process::Command::new(BIN)
        .args([
            "events",
            "--kind",
            "schema.published",
            "--server",
            &server.base,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("schema.published  shop  {"), "{text}");

    let mut follower = std::process::Command::new(BIN)
        .args([
            "events",
            "--follow",
            "--namespace",
            "shop",
            "--output",
            "json",
            "--server",
            &server.base,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(follower.stdout.take().unwrap());
    let mut next = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str::<Value>(&line).unwrap()
    };
    assert_eq!(next()["kind"], "namespace.created");
    assert_eq!(next()["kind"], "schema.published");
    server.promote_ok("shop");
    assert_eq!(
        next()["kind"],
        "namespace.promoted",
        "a new event arrives live"
    );
    let _ = follower.kill();
    let _ = follower.wait();
}
