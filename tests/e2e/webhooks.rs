//! Webhooks against a real receiver: a small HTTP server in the test that
//! records every request and answers as told.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::*;

#[derive(Debug, Clone)]
pub(crate) struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// Records requests; answers `status` (after holding each request
/// `hold_ms`).
pub(crate) struct Receiver {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    hold_ms: Arc<AtomicU64>,
}

impl Receiver {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let hold_ms = Arc::new(AtomicU64::new(0));
        let (r, s, h) = (received.clone(), status.clone(), hold_ms.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, s, h) = (r.clone(), s.clone(), h.clone());
                std::thread::spawn(move || serve(stream, &r, &s, &h));
            }
        });
        Receiver {
            url,
            received,
            status,
            hold_ms,
        }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Event ids in arrival order, duplicates dropped.
    fn event_ids(&self) -> Vec<i64> {
        let mut seen = Vec::new();
        for r in self.received() {
            let id = r.json()["id"].as_i64().unwrap();
            if !seen.contains(&id) {
                seen.push(id);
            }
        }
        seen
    }
}

fn serve(stream: TcpStream, received: &Mutex<Vec<Received>>, status: &AtomicU16, hold: &AtomicU64) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let wait = hold.load(Ordering::SeqCst);
        if wait > 0 {
            std::thread::sleep(Duration::from_millis(wait));
        }
        let code = status.load(Ordering::SeqCst);
        received.lock().unwrap().push(Received { headers, body });
        let answer = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\n\r\n");
        if reader.get_mut().write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const FAST: &[(&str, &str)] = &[
    ("PROTOREG_WEBHOOKS__ALLOW_PRIVATE", "true"),
    ("PROTOREG_WEBHOOKS__INITIAL_BACKOFF_MS", "100"),
    ("PROTOREG_WEBHOOKS__MAX_BACKOFF_S", "1"),
    ("PROTOREG_WEBHOOKS__POLL_INTERVAL_MS", "200"),
];

fn create(server: &Server, body: Value) -> Value {
    let (status, created) = server.post("/v1/webhooks", body);
    assert_eq!(status, 201, "{created}");
    created
}

fn deliveries(server: &Server, id: i64) -> Vec<Value> {
    let (status, body) = server.get(&format!("/v1/webhooks/{id}/deliveries"));
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Events the test makes: three per namespace (created, published,
/// promoted).
fn make_events(server: &Server, ns: &str) {
    let (status, body) = server.put(&format!("/v1/namespaces/{ns}"), json!({}));
    assert!(status == 201 || status == 200, "{body}");
    server.money_current(ns);
}

#[test]
fn signed_events_arrive_in_order_through_failures() {
    on_each_backend(|db| {
        let receiver = Receiver::start();
        let server = Server::start_with_env(db, FAST);
        let created = create(
            &server,
            json!({"url": receiver.url, "events": ["*"], "description": "all"}),
        );
        let id = created["id"].as_i64().unwrap();
        let secret = created["secret"].as_str().unwrap().to_string();
        assert!(secret.len() >= 32, "{created}");
        // The secret is never in a GET answer.
        for path in ["/v1/webhooks".to_string(), format!("/v1/webhooks/{id}")] {
            let (status, body) = server.get(&path);
            assert_eq!(status, 200);
            assert!(!body.to_string().contains(&secret), "{path}: {body}");
        }
        assert_eq!(
            server.get("/v1/webhooks").1["webhooks"][0]["url"],
            receiver.url
        );

        // The receiver fails for a while: the first event is retried and
        // the next ones wait.
        receiver.answer(500);
        make_events(&server, "shop");
        wait_for("three failed attempts", || receiver.received().len() >= 3);
        let log = deliveries(&server, id);
        assert_eq!(
            log.len(),
            1,
            "the next events wait behind the retrying one: {log:?}"
        );
        assert_eq!(log[0]["status"], "retrying", "{log:?}");
        assert_eq!(log[0]["response_code"], 500);
        assert!(log[0]["attempts"].as_i64().unwrap() >= 2, "{log:?}");
        assert!(log[0].get("next_attempt_at").is_some(), "{log:?}");
        receiver.answer(200);
        make_events(&server, "billing");
        wait_for("six events", || receiver.event_ids().len() >= 6);
        wait_for("every delivery delivered", || {
            let log = deliveries(&server, id);
            log.len() == 6 && log.iter().all(|d| d["status"] == "delivered")
        });
        let ids = receiver.event_ids();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "out of order: {ids:?}");
        let kinds: Vec<String> = receiver
            .received()
            .iter()
            .map(|r| r.json()["kind"].as_str().unwrap().to_string())
            .collect();
        assert!(
            kinds.starts_with(&["namespace.created".to_string()]),
            "{kinds:?}"
        );
        let log = deliveries(&server, id);
        let mut logged: Vec<i64> = log
            .iter()
            .map(|d| d["event_id"].as_i64().unwrap())
            .collect();
        logged.reverse();
        assert_eq!(logged, ids, "the log and the receiver agree");
        // The first delivery went through several attempts.
        assert!(
            log.last().unwrap()["attempts"].as_i64().unwrap() >= 3,
            "{log:?}"
        );

        for r in receiver.received() {
            let body = r.json();
            assert_eq!(r.headers["content-type"], "application/json");
            assert!(
                r.headers["user-agent"].starts_with("protoreg/"),
                "{:?}",
                r.headers
            );
            assert_eq!(
                r.headers["x-protoreg-event"],
                body["kind"].as_str().unwrap()
            );
            assert_eq!(r.headers["x-protoreg-event-id"], body["id"].to_string());
            assert!(r.headers["x-protoreg-delivery"].parse::<i64>().unwrap() > 0);
            assert_eq!(
                r.headers["x-protoreg-signature-256"],
                signature(&secret, &r.body),
                "the signature verifies with the secret"
            );
            assert!(body["namespace"].is_string() && body["created_at"].is_string());
            assert!(body["payload"].is_object(), "{body}");
        }
        let promoted = receiver
            .received()
            .iter()
            .map(Received::json)
            .find(|b| b["kind"] == "namespace.promoted")
            .expect("a promote was delivered");
        assert_eq!(
            promoted["payload"]["promoted"][0]["schema"], "common",
            "{promoted}"
        );

        // Redeliver queues the event again.
        let first = log.last().unwrap()["id"].as_i64().unwrap();
        let before = receiver.received().len();
        let (status, queued) = server.post(
            &format!("/v1/webhooks/{id}/deliveries/{first}/redeliver"),
            json!({}),
        );
        assert_eq!(status, 202, "{queued}");
        wait_for("the redelivery", || receiver.received().len() > before);
        assert_eq!(receiver.received().last().unwrap().json()["id"], ids[0]);

        // Ping: delivered at once, logged.
        let (status, ping) = server.post(&format!("/v1/webhooks/{id}/ping"), json!({}));
        assert_eq!(status, 200, "{ping}");
        assert_eq!(ping["status"], "delivered", "{ping}");
        assert_eq!(ping["kind"], "ping");
        assert_eq!(
            receiver.received().last().unwrap().headers["x-protoreg-event"],
            "ping"
        );

        // Metrics.
        let (_, metrics) = server.get_bytes("/metrics");
        let metrics = String::from_utf8(metrics).unwrap();
        assert!(
            metrics.contains("protoreg_webhook_deliveries_total{result=\"retrying\"}"),
            "{metrics}"
        );
        assert!(metrics.contains("protoreg_webhook_delivery_latency_seconds_count"));
        assert!(metrics.contains("protoreg_webhook_subscriptions_failing 0"));

        // Filters: a subscription for one namespace and kind.
        let filtered = create(
            &server,
            json!({"url": receiver.url, "events": ["namespace.promoted"], "namespaces": ["other"]}),
        );
        let fid = filtered["id"].as_i64().unwrap();
        make_events(&server, "ignored");
        make_events(&server, "other");
        wait_for("the filtered delivery", || {
            deliveries(&server, fid)
                .iter()
                .any(|d| d["status"] == "delivered")
        });
        let log = deliveries(&server, fid);
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0]["kind"], "namespace.promoted");

        let (status, _) = server.delete(&format!("/v1/webhooks/{fid}"));
        assert_eq!(status, 204);
        assert_eq!(server.get(&format!("/v1/webhooks/{fid}")).0, 404);
    });
}

#[test]
fn a_receiver_that_is_down_gets_every_event_afterwards() {
    let db = Db::sqlite();
    // A port with nothing listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start_with_env(&db, FAST);
    let created = create(
        &server,
        json!({"url": format!("http://127.0.0.1:{port}/hook"), "events": ["*"]}),
    );
    let id = created["id"].as_i64().unwrap();
    make_events(&server, "shop");
    wait_for("a failed attempt", || {
        deliveries(&server, id)
            .last()
            .is_some_and(|d| d["attempts"].as_i64().unwrap() >= 2)
    });
    let log = deliveries(&server, id);
    let oldest = log.last().unwrap();
    assert_eq!(oldest["status"], "retrying");
    assert!(
        oldest["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{log:?}"
    );
    // The receiver comes up on that port.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let r = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let r = r.clone();
            std::thread::spawn(move || serve(stream, &r, &AtomicU16::new(204), &AtomicU64::new(0)));
        }
    });
    make_events(&server, "more");
    wait_for("six events", || received.lock().unwrap().len() >= 6);
    let ids: Vec<i64> = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.json()["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

/// kill -9 while the receiver holds a delivery: after the restart every
/// event arrives (a duplicate is allowed, a gap is not).
#[test]
fn kill_9_mid_delivery_loses_nothing() {
    on_each_backend(|db| {
        let receiver = Receiver::start();
        let mut server = Server::start_with_env(db, FAST);
        let id = create(&server, json!({"url": receiver.url, "events": ["*"]}))["id"]
            .as_i64()
            .unwrap();
        receiver.hold_ms.store(3000, Ordering::SeqCst);
        make_events(&server, "shop");
        make_events(&server, "billing");
        std::thread::sleep(Duration::from_millis(800));
        server.restart_after_kill9();
        receiver.hold_ms.store(0, Ordering::SeqCst);
        make_events(&server, "after");
        wait_for("nine events", || receiver.event_ids().len() >= 9);
        wait_for("the log settled", || {
            let log = deliveries(&server, id);
            log.len() == 9 && log.iter().all(|d| d["status"] == "delivered")
        });
        let ids = receiver.event_ids();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "out of order or gap: {ids:?}"
        );
        let mut logged: Vec<i64> = deliveries(&server, id)
            .iter()
            .map(|d| d["event_id"].as_i64().unwrap())
            .collect();
        logged.reverse();
        assert_eq!(logged, ids, "every queued event arrived");
    });
}

#[test]
fn private_destinations_are_refused_unless_allowed() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/",
        "http://169.254.169.254/",
        "http://[::1]:9/",
    ] {
        let (status, body) = server.post("/v1/webhooks", json!({"url": url, "events": ["*"]}));
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["code"], "invalid_argument", "{body}");
        assert!(body.to_string().contains("private"), "{body}");
    }
    for bad in [
        json!({"url": "ftp://x/", "events": ["*"]}),
        json!({"url": "http://127.0.0.1/", "events": []}),
        json!({"url": "http://127.0.0.1/", "events": ["Bad Kind"]}),
    ] {
        assert_eq!(server.post("/v1/webhooks", bad.clone()).0, 400, "{bad}");
    }
    assert_eq!(server.get("/v1/webhooks").1["webhooks"], json!([]));
}

#[test]
fn only_admins_manage_webhooks() {
    const ADMIN: &str = "webhook-admin-token";
    let db = Db::sqlite();
    let server = Server::start_with_env(
        &db,
        &[
            ("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN),
            ("PROTOREG_WEBHOOKS__ALLOW_PRIVATE", "true"),
        ],
    );
    let token = |ns: &str, role: &str| -> String {
        let body = json!({"name": "t", "roles": [{"namespace": ns, "role": role}]});
        let (status, created) = server.call("POST", "/v1/tokens", Some(ADMIN), Some(&body));
        assert_eq!(status, 201, "{created}");
        created["token"].as_str().unwrap().to_owned()
    };
    let writer = token("shop", "write");
    let shop_admin = token("shop", "admin");
    let body = |namespaces: Value| json!({"url": "http://127.0.0.1:9/", "events": ["*"], "namespaces": namespaces});
    assert_eq!(
        server
            .call("POST", "/v1/webhooks", None, Some(&body(json!([]))))
            .0,
        401
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/v1/webhooks",
                Some(&writer),
                Some(&body(json!(["shop"])))
            )
            .0,
        403
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/v1/webhooks",
                Some(&shop_admin),
                Some(&body(json!([])))
            )
            .0,
        403
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/v1/webhooks",
                Some(&shop_admin),
                Some(&body(json!(["shop", "billing"])))
            )
            .0,
        403
    );
    let (status, created) = server.call(
        "POST",
        "/v1/webhooks",
        Some(&shop_admin),
        Some(&body(json!(["shop"]))),
    );
    assert_eq!(status, 201, "{created}");
    let global = server
        .call("POST", "/v1/webhooks", Some(ADMIN), Some(&body(json!([]))))
        .1;
    // The namespace admin sees its own subscription only.
    let (_, list) = server.call("GET", "/v1/webhooks", Some(&shop_admin), None);
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/v1/webhooks/{}", global["id"]),
                Some(&shop_admin),
                None
            )
            .0,
        404
    );
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/v1/webhooks/{}", created["id"]),
                Some(&writer),
                None
            )
            .0,
        404
    );
    assert_eq!(
        server
            .call(
                "DELETE",
                &format!("/v1/webhooks/{}", global["id"]),
                Some(&shop_admin),
                None
            )
            .0,
        404
    );
    assert_eq!(
        server.call("GET", "/v1/webhooks", Some(ADMIN), None).1["webhooks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn gone_disables_the_subscription_with_an_event() {
    on_each_backend(|db| {
        let gone = Receiver::start();
        let watcher = Receiver::start();
        let server = Server::start_with_env(db, FAST);
        let id = create(
            &server,
            json!({"url": gone.url, "events": ["namespace.created"]}),
        )["id"]
            .as_i64()
            .unwrap();
        create(
            &server,
            json!({"url": watcher.url, "events": ["webhook.disabled"]}),
        );
        gone.answer(410);
        make_events(&server, "shop");
        wait_for("the 410", || !gone.received().is_empty());
        wait_for("the subscription deactivated", || {
            server.get(&format!("/v1/webhooks/{id}")).1["active"] == false
        });
        wait_for("webhook.disabled", || !watcher.received().is_empty());
        let event = watcher.received()[0].json();
        assert_eq!(event["kind"], "webhook.disabled");
        assert_eq!(event["payload"]["webhook"], id);
        let (_, hook) = server.get(&format!("/v1/webhooks/{id}"));
        assert_eq!(hook["active"], false, "{hook}");
        let log = deliveries(&server, id);
        assert_eq!(log[0]["status"], "failed");
        assert_eq!(log[0]["response_code"], 410);
        // Nothing more is delivered to it.
        let before = gone.received().len();
        make_events(&server, "more");
        std::thread::sleep(Duration::from_millis(1000));
        assert_eq!(gone.received().len(), before);
        // PATCH reactivates it.
        let (status, patched) = server.call(
            "PATCH",
            &format!("/v1/webhooks/{id}"),
            None,
            Some(&json!({"active": true})),
        );
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["active"], true);
    });
}

#[test]
fn an_unconfigured_sink_is_not_started_and_shows_as_disabled() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let (status, body) = server.get("/v1/plugins");
    assert_eq!(status, 200);
    let jsonl = body["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "jsonl-events")
        .unwrap_or_else(|| panic!("jsonl-events not loaded: {body}"));
    assert_eq!(jsonl["disabled_sinks"][0]["name"], "jsonl", "{jsonl}");
    assert!(
        jsonl["disabled_sinks"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no path")
    );
    // Not started: no event calls to it, however many events there are.
    make_events(&server, "shop");
    std::thread::sleep(Duration::from_millis(1500));
    let (_, metrics) = server.get_bytes("/metrics");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        !metrics.contains("protoreg_plugin_calls_total{kind=\"event\",plugin=\"jsonl-events\""),
        "{metrics}"
    );
}

/// `protoreg webhook ...` against the server and a receiver.
#[test]
fn the_cli_manages_webhooks() {
    let receiver = Receiver::start();
    let db = Db::sqlite();
    let server = Server::start_with_env(&db, FAST);
    let cli = |args: &[&str]| -> (i32, String, String) {
        let output = std::process::Command::new(BIN)
            .arg("--server")
            .arg(&server.base)
            .args(args)
            .env_remove("PROTOREG_SERVER")
            .env_remove("PROTOREG_TOKEN")
            .output()
            .expect("protoreg runs");
        (
            output.status.code().unwrap(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = cli(&[
        "webhook",
        "create",
        &receiver.url,
        "--event",
        "namespace.created",
        "--secret",
        "cli-secret",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "cli-secret");
    let (code, stdout, _) = cli(&["webhook", "list"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&receiver.url) && stdout.contains("namespace.created"),
        "{stdout}"
    );
    assert!(!stdout.contains("cli-secret"), "{stdout}");
    let id = server.get("/v1/webhooks").1["webhooks"][0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let (code, stdout, stderr) = cli(&["webhook", "ping", &id]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("delivered"), "{stdout}");
    make_events(&server, "shop");
    wait_for("the event", || receiver.received().len() >= 2);
    let (code, stdout, _) = cli(&["--output", "json", "webhook", "deliveries", &id]);
    assert_eq!(code, 0);
    let log: Value = serde_json::from_str(&stdout).unwrap();
    let event = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "namespace.created")
        .unwrap_or_else(|| panic!("{log}"))
        .clone();
    let delivery = event["id"].to_string();
    let (code, _, stderr) = cli(&["webhook", "redeliver", &id, &delivery]);
    assert_eq!(code, 0, "{stderr}");
    wait_for("the redelivery", || receiver.received().len() >= 3);
    let (code, _, stderr) = cli(&["webhook", "rm", &id]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(server.get("/v1/webhooks").1["webhooks"], json!([]));
    let (code, _, stderr) = cli(&["webhook", "rm", "x1"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("invalid webhook id"), "{stderr}");
}
