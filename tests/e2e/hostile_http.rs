//! Hostile clients and hostile browsers: cross-site requests, DNS
//! rebinding, stalled bodies, connection floods, odd methods, encodings and
//! headers, a locked database. After every hostile request the server must
//! still answer `/readyz`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

const ADMIN: &str = "admin-secret-for-hostile-tests";

fn addr(server: &Server) -> SocketAddr {
    server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("base is host:port")
}

fn money() -> Value {
    json!({"sources": {"common/money.proto": MONEY_V1}})
}

/// Sends `request` on a new connection and reads until the server closes it
/// or `within` passes; returns what was read and whether it was closed.
fn exchange(to: SocketAddr, request: &[u8], within: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(to).expect("connect");
    stream.write_all(request).expect("write");
    read_until_closed(&mut stream, within)
}

fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (String::from_utf8_lossy(&out).into_owned(), false);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            // A reset after the answer is a close too.
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), true),
        }
    }
}

/// The status code of a raw HTTP/1.1 answer.
fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

/// The JSON body of a raw answer (with `Content-Length`, not chunked).
fn body_of(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()))
}

fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = server.http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        server.url(path),
    );
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

#[test]
fn bodies_must_declare_a_json_content_type() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("shop");
    let revision = server.revision("shop");
    let publish = "/v1/namespaces/shop/schemas/x/versions";
    let forced =
        serde_json::to_vec(&json!({"sources": {"x.proto": "syntax = \"proto3\";"}, "force": true}))
            .unwrap();
    // What a cross-site form or `fetch` without preflight can send.
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "text/json",
    ] {
        let (s, _, b) = send(
            &server,
            "POST",
            publish,
            &[("content-type", content_type)],
            Some(forced.clone()),
        );
        assert_problem(s, &b, 415, "unsupported_media_type");
        assert!(
            b["detail"].as_str().unwrap().contains("Content-Type"),
            "{b}"
        );
        assert_alive(&server);
    }
    // A body without any Content-Type.
    let (s, _, b) = send(&server, "POST", publish, &[], Some(forced.clone()));
    assert_problem(s, &b, 415, "unsupported_media_type");
    assert_alive(&server);
    // Promote and token creation, the other cross-site targets.
    let (s, _, b) = send(
        &server,
        "POST",
        "/v1/namespaces/shop/promote",
        &[("content-type", "text/plain")],
        Some(b"{}".to_vec()),
    );
    assert_problem(s, &b, 415, "unsupported_media_type");
    assert_alive(&server);
    let (s, _, b) = send(
        &server,
        "POST",
        "/v1/namespaces/shop/promote",
        &[("content-type", "text/plain")],
        None,
    );
    assert_problem(s, &b, 415, "unsupported_media_type");
    assert_alive(&server);
    let token =
        serde_json::to_vec(&json!({"name": "x", "roles": [{"namespace": "*", "role": "admin"}]}))
            .unwrap();
    let (s, _, b) = send(
        &server,
        "POST",
        "/v1/tokens",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(token.clone()),
    );
    assert_problem(s, &b, 415, "unsupported_media_type");
    assert_alive(&server);
    assert_alive(&server);
    assert_eq!(server.revision("shop"), revision, "nothing changed");
    let (_, listed) = server.get("/v1/namespaces/shop/schemas");
    assert_eq!(listed["schemas"].as_array().unwrap().len(), 1);

    // JSON with parameters, and `+json` types, are JSON.
    let (s, _, b) = send(
        &server,
        "POST",
        "/v1/namespaces/shop/schemas/common/versions",
        &[("content-type", "application/json; charset=utf-8")],
        Some(serde_json::to_vec(&money()).unwrap()),
    );
    assert_eq!(s, 200, "{b}"); // no change: the same sources
    let (s, _, b) = send(
        &server,
        "POST",
        "/v1/namespaces/shop/promote",
        &[("content-type", "application/merge-patch+json")],
        Some(br#"{"dry_run": true}"#.to_vec()),
    );
    assert_eq!(s, 200, "{b}");
    // An empty promote without a Content-Type, as `curl -X POST` sends.
    let (s, _, b) = send(&server, "POST", "/v1/namespaces/shop/promote", &[], None);
    assert_eq!(s, 200, "{b}");
    assert_alive(&server);
}

#[test]
fn message_routes_take_their_three_types_and_nothing_else() {
    let server = Server::start(&Db::sqlite());
    server.money_current("shop");
    let validate = "/v1/namespaces/shop/types/common.Money/validate";
    for (content_type, body) in [
        ("application/json", br#"{"units": "3"}"#.to_vec()),
        ("text/plain; charset=utf-8", b"units: 3".to_vec()),
        ("application/x-protobuf", vec![0x08, 0x03]),
    ] {
        let (s, _, b) = send(
            &server,
            "POST",
            validate,
            &[("content-type", content_type)],
            Some(body),
        );
        assert_eq!(s, 200, "{content_type}: {b}");
        assert_eq!(b["valid"], true, "{content_type}: {b}");
    }
    for content_type in ["application/xml", "image/png", "text/html"] {
        let (s, _, b) = send(
            &server,
            "POST",
            validate,
            &[("content-type", content_type)],
            Some(b"units: 3".to_vec()),
        );
        assert_problem(s, &b, 415, "unsupported_media_type");
        assert_alive(&server);
    }
    assert_alive(&server);
}

#[test]
fn foreign_origins_cannot_change_state_or_read_with_cors() {
    let server = Server::start_with_env(
        &Db::sqlite(),
        &[(
            "PROTOREG_HTTP__ALLOWED_ORIGINS",
            "[\"https://console.example\"]",
        )],
    );
    server.money_staged("shop");
    let revision = server.revision("shop");
    let json = [("content-type", "application/json")];
    let evil = "http://evil.example";
    for (method, path, body) in [
        ("POST", "/v1/namespaces/shop/promote", Some(b"{}".to_vec())),
        (
            "POST",
            "/v1/tokens",
            Some(br#"{"name":"x","roles":[{"namespace":"*","role":"admin"}]}"#.to_vec()),
        ),
        ("DELETE", "/v1/namespaces/shop", None),
        ("PUT", "/v1/namespaces/shop/settings", Some(b"{}".to_vec())),
    ] {
        for origin in [evil, "null", "http://127.0.0.1.evil.example"] {
            let (s, h, b) = send(
                &server,
                method,
                path,
                &[json[0], ("origin", origin)],
                body.clone(),
            );
            assert_problem(s, &b, 403, "permission_denied");
            assert!(b["detail"].as_str().unwrap().contains("origin"), "{b}");
            assert!(
                !h.contains_key("access-control-allow-origin"),
                "{method} {path}"
            );
            assert_alive(&server);
        }
    }
    assert_eq!(server.revision("shop"), revision, "nothing changed");
    // A preflight from a foreign origin is refused, with no CORS headers.
    let preflight = |origin: &str| {
        send(
            &server,
            "OPTIONS",
            "/v1/namespaces/shop/promote",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            None,
        )
    };
    let (s, h, b) = preflight(evil);
    assert_problem(s, &b, 403, "permission_denied");
    assert_alive(&server);
    assert!(!h.contains_key("access-control-allow-origin"));
    // Reading is not refused, but a foreign page gets no CORS headers.
    let (s, h, _) = send(
        &server,
        "GET",
        "/v1/namespaces/shop",
        &[("origin", evil)],
        None,
    );
    assert_eq!(s, 200);
    assert!(!h.contains_key("access-control-allow-origin"));

    // The listed origin: preflight answered, headers sent, writes allowed.
    let console = "https://console.example";
    let (s, h, _) = preflight(console);
    assert_eq!(s, 200);
    assert_eq!(h["access-control-allow-origin"], console);
    let (s, h, b) = send(
        &server,
        "POST",
        "/v1/namespaces/shop/promote",
        &[json[0], ("origin", console)],
        Some(b"{}".to_vec()),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(h["access-control-allow-origin"], console);
    // The server's own origin (the same-origin web console).
    let own = server.base.clone();
    let (s, _, b) = send(
        &server,
        "POST",
        "/v1/namespaces/shop/promote",
        &[json[0], ("origin", &own)],
        Some(b"{}".to_vec()),
    );
    assert_eq!(s, 200, "{b}");
    assert_alive(&server);
}

#[test]
fn anonymous_servers_serve_only_loopback_hosts() {
    let server = Server::start_with_env(
        &Db::sqlite(),
        &[("PROTOREG_HTTP__ALLOWED_HOSTS", "[\"registry.internal\"]")],
    );
    let to = addr(&server);
    let port = to.port();
    let get = |host: &str| {
        let request =
            format!("GET /v1/namespaces HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let (answer, _) = exchange(to, request.as_bytes(), Duration::from_secs(30));
        answer
    };
    for host in [
        format!("evil.example:{port}"),
        "evil.example".to_owned(),
        format!("127.0.0.1.evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        "10.0.0.1".to_owned(),
    ] {
        let answer = get(&host);
        assert_eq!(status_of(&answer), 403, "{host}: {answer}");
        assert_problem(403, &body_of(&answer), 403, "permission_denied");
        assert_alive(&server);
    }
    for host in [
        format!("127.0.0.1:{port}"),
        format!("127.1.2.3:{port}"),
        format!("localhost:{port}"),
        "LOCALHOST".to_owned(),
        format!("[::1]:{port}"),
        "registry.internal".to_owned(),
        format!("registry.internal:{port}"),
    ] {
        let answer = get(&host);
        assert_eq!(status_of(&answer), 200, "{host}: {answer}");
    }

    // Without anonymous access any Host is served (a token is needed).
    let closed = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    let request = format!(
        "GET /v1/namespaces HTTP/1.1\r\nHost: registry.example.com\r\nAuthorization: Bearer {ADMIN}\r\nConnection: close\r\n\r\n"
    );
    let (answer, _) = exchange(addr(&closed), request.as_bytes(), Duration::from_secs(30));
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert_alive(&closed);
}

fn stalled_chunked_publish(token: Option<&str>) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    // One chunk of 0x100 bytes announced, 2 sent, then silence.
    format!(
        "POST /v1/namespaces/shop/schemas/x/versions HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n{{\""
    )
}

#[test]
fn a_stalled_body_is_timed_out_and_its_connection_closed() {
    let server = Server::start_with_env(
        &Db::sqlite(),
        &[
            ("PROTOREG_HTTP__BODY_TIMEOUT_MS", "300"),
            ("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN),
        ],
    );
    let to = addr(&server);
    // The body is read, stalls, times out: 408 and the connection closed.
    let (answer, closed) = exchange(
        to,
        stalled_chunked_publish(Some(ADMIN)).as_bytes(),
        Duration::from_secs(30),
    );
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert_problem(408, &body_of(&answer), 408, "invalid_argument");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(closed, "the connection stayed open: {answer}");
    assert_alive(&server);
    // Refused before the body is read (no token): 401, and closed too.
    let (answer, closed) = exchange(
        to,
        stalled_chunked_publish(None).as_bytes(),
        Duration::from_secs(30),
    );
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(
        closed,
        "the connection stayed open after an early answer: {answer}"
    );
    // An early 415 with a Content-Length body not yet sent: closed.
    let request = format!(
        "POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n{{"
    );
    let (answer, closed) = exchange(to, request.as_bytes(), Duration::from_secs(30));
    assert_eq!(status_of(&answer), 415, "{answer}");
    assert!(closed, "{answer}");
    assert_alive(&server);
}

/// A connection to `to` from the loopback address `from`.
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    socket
        .bind(&local.into())
        .expect("bind a loopback source address");
    socket.connect(&to.into()).expect("connect");
    socket.into()
}

#[test]
fn stalled_connections_from_one_address_do_not_stop_others() {
    const LIMIT: usize = 8;
    let server = Server::start_with_env(
        &Db::sqlite(),
        &[
            ("PROTOREG_HTTP__MAX_CONNECTIONS_PER_CLIENT", "8"),
            // Long, so that only the per-client limit protects the server.
            ("PROTOREG_HTTP__BODY_TIMEOUT_MS", "600000"),
        ],
    );
    let to = addr(&server);
    let mut held = Vec::new();
    for _ in 0..LIMIT {
        let mut stream = connect_from("127.0.0.2", to);
        // An answered request first, so that the server has surely
        // accepted (and counted) this connection before the next one.
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        stream
            .write_all(stalled_chunked_publish(None).as_bytes())
            .unwrap();
        held.push(stream);
    }
    // Every further connection from that address is answered 503 and closed.
    for _ in 0..LIMIT {
        let mut stream = connect_from("127.0.0.2", to);
        stream
            .write_all(stalled_chunked_publish(None).as_bytes())
            .unwrap();
        let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(30));
        assert_eq!(status_of(&answer), 503, "{answer}");
        assert_problem(503, &body_of(&answer), 503, "unavailable");
        assert!(closed, "{answer}");
        assert_alive(&server);
    }
    // A request without a body is refused too, and its connection closed.
    let mut stream = connect_from("127.0.0.2", to);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(30));
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(closed, "{answer}");
    assert_alive(&server);
    // Other clients are served meanwhile.
    let (s, b) = server.get("/healthz");
    assert_eq!(s, 200, "{b}");
    assert_alive(&server);
    // Once the held connections close, their address is served again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        let mut stream = connect_from("127.0.0.2", to);
        stream.write_all(request.as_bytes()).unwrap();
        let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(30));
        if status_of(&answer) == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "127.0.0.2 is still refused: {answer}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn head_is_served_like_get_without_a_body() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("shop");
    for path in [
        "/healthz",
        "/readyz",
        "/v1/namespaces/shop",
        "/v1/namespaces/shop/schemas/common/versions/1/sources",
    ] {
        let get = server.http.get(server.url(path)).send().unwrap();
        let get_status = get.status();
        let get_length = get.bytes().unwrap().len();
        let head = server.http.head(server.url(path)).send().unwrap();
        assert_eq!(head.status(), get_status, "HEAD {path}");
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            get_length.to_string(),
            "HEAD {path}"
        );
        assert!(head.bytes().unwrap().is_empty(), "HEAD {path} has a body");
        assert_alive(&server);
    }
    // HEAD of a route without GET is still 405.
    let head = server
        .http
        .head(server.url("/v1/namespaces/shop/promote"))
        .send()
        .unwrap();
    assert_eq!(head.status().as_u16(), 405);
    assert_alive(&server);
}

#[test]
fn unknown_or_broken_content_encodings_are_refused_in_words() {
    let server = Server::start(&Db::sqlite());
    let publish = "/v1/namespaces/shop/schemas/common/versions";
    let body = serde_json::to_vec(&money()).unwrap();
    for coding in ["br", "zstd", "foo", "gzip, br"] {
        let (s, _, b) = send(
            &server,
            "POST",
            publish,
            &[
                ("content-type", "application/json"),
                ("content-encoding", coding),
            ],
            Some(body.clone()),
        );
        assert_problem(s, &b, 415, "unsupported_media_type");
        assert!(
            b["detail"].as_str().unwrap().contains("Content-Encoding"),
            "{b}"
        );
        assert_alive(&server);
    }
    for coding in ["gzip", "deflate"] {
        let (s, _, b) = send(
            &server,
            "POST",
            publish,
            &[
                ("content-type", "application/json"),
                ("content-encoding", coding),
            ],
            Some(b"this is not compressed at all".to_vec()),
        );
        assert_problem(s, &b, 400, "invalid_argument");
        let detail = b["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("not valid {coding} data")),
            "{detail}"
        );
        assert!(
            !detail.contains("Custom {") && !detail.contains("kind:"),
            "{detail}"
        );
        assert_alive(&server);
    }
    // Real gzip still works.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&body).unwrap();
    let (s, _, b) = send(
        &server,
        "POST",
        publish,
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        Some(encoder.finish().unwrap()),
    );
    assert_eq!(s, 201, "{b}");
}

/// A request head over `http.max_header_bytes` (64 KiB) is answered 431
/// `payload_too_large` and its connection closed; over actix's own 128 KiB
/// buffer, actix answers 431 itself. A head just under the limit is served.
#[test]
fn an_oversized_request_header_is_answered_431() {
    let server = Server::start(&Db::sqlite());
    let to = addr(&server);
    let head = |value_bytes: usize| {
        format!(
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
            "a".repeat(value_bytes)
        )
    };
    for over in [70 * 1024, 200 * 1024] {
        let (answer, closed) = exchange(to, head(over).as_bytes(), Duration::from_secs(30));
        assert_eq!(status_of(&answer), 431, "{over}: {answer}");
        assert!(closed, "{over}: the connection stays open");
        if over < 128 * 1024 {
            assert!(answer.contains("payload_too_large"), "{answer}");
        }
        assert_alive(&server);
    }
    let (answer, _) = exchange(to, head(60 * 1024).as_bytes(), Duration::from_secs(30));
    assert_eq!(status_of(&answer), 200, "{answer}");
}

#[test]
fn a_locked_sqlite_database_is_503_unavailable_and_not_ready() {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;

    let db = Db::sqlite();
    let server = Server::start_with_env(&db, &[("PROTOREG_DATABASE__BUSY_TIMEOUT_MS", "200")]);
    server.money_staged("shop");
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    let mut other = diesel::SqliteConnection::establish(&path).expect("open the database");
    other
        .batch_execute("BEGIN IMMEDIATE")
        .expect("take the write lock");

    let (s, b) = server.post("/v1/namespaces/shop/promote", json!({}));
    assert_problem(s, &b, 503, "unavailable");
    assert!(b["detail"].as_str().unwrap().contains("locked"), "{b}");
    let (s, b) = server.publish_invoice("shop");
    assert_problem(s, &b, 503, "unavailable");
    let (s, b) = server.delete("/v1/namespaces/shop/staging");
    assert_problem(s, &b, 503, "unavailable");
    let (s, _) = server.get("/readyz");
    assert_eq!(s, 503);
    // Reads from memory still answer.
    assert_eq!(server.get("/v1/namespaces/shop").0, 200);

    other.batch_execute("ROLLBACK").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.get("/readyz").0 != 200 {
        assert!(Instant::now() < deadline, "never ready again");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (s, b) = server.post("/v1/namespaces/shop/promote", json!({}));
    assert_eq!(s, 200, "{b}");
}

#[test]
fn updated_at_is_the_same_before_and_after_a_restart() {
    on_each_backend(|db| {
        let mut server = Server::start(db);
        server.money_current("shop");
        server.invoice_staged("shop");
        assert_eq!(server.delete("/v1/namespaces/shop/staging").0, 200);
        let read = |server: &Server| {
            let (_, ns) = server.get("/v1/namespaces/shop");
            let (_, schemas) = server.get("/v1/namespaces/shop/schemas");
            (ns["updated_at"].clone(), schemas["schemas"].clone())
        };
        let before = read(&server);
        assert!(before.0.is_string(), "{before:?}");
        let schemas = before.1.as_array().unwrap();
        assert_eq!(schemas.len(), 2, "{before:?}");
        assert!(
            schemas.iter().all(|s| s["updated_at"].is_string()),
            "{before:?}"
        );
        server.restart_after_kill9();
        assert_eq!(read(&server), before);
    });
}

#[test]
fn a_permission_error_names_the_namespace_as_asked() {
    let server = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    let (s, _, created) = send(
        &server,
        "POST",
        "/v1/tokens",
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {ADMIN}")),
        ],
        Some(br#"{"name":"reader","roles":[{"namespace":"other","role":"read"}]}"#.to_vec()),
    );
    assert_eq!(s, 201, "{created}");
    let token = created["token"].as_str().unwrap();
    let (s, _, b) = send(
        &server,
        "GET",
        "/v1/namespaces/SHOP",
        &[("authorization", &format!("Bearer {token}"))],
        None,
    );
    assert_problem(s, &b, 403, "permission_denied");
    assert_alive(&server);
    assert!(
        b["detail"].as_str().unwrap().contains("namespace SHOP"),
        "{b}"
    );
}

#[test]
fn metrics_and_openapi_are_public_by_a_setting() {
    // Default on loopback: public, even with anonymous access off.
    let open = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    for path in ["/metrics", "/openapi.json"] {
        assert_eq!(open.get_bytes(path).0, 200, "{path}");
    }
    let closed = Server::start_with_env(
        &Db::sqlite(),
        &[
            ("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN),
            ("PROTOREG_METRICS__PUBLIC", "false"),
        ],
    );
    for path in ["/metrics", "/openapi.json"] {
        let (s, _, b) = send(&closed, "GET", path, &[], None);
        assert_problem(s, &b, 401, "unauthenticated");
        assert_alive(&closed);
        let (s, _, _) = send(
            &closed,
            "GET",
            path,
            &[("authorization", &format!("Bearer {ADMIN}"))],
            None,
        );
        assert_eq!(s, 200, "{path}");
    }
    // Health stays public.
    assert_eq!(closed.get("/healthz").0, 200);
    assert_alive(&closed);
}

/// The `x-request-id` of a raw answer's head, if it has one.
fn request_id_of(answer: &str) -> Option<String> {
    let head = answer.split_once("\r\n\r\n").map_or(answer, |(h, _)| h);
    head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("x-request-id")
            .then(|| value.trim().to_owned())
    })
}

#[test]
fn every_error_answer_carries_the_request_id() {
    // Anonymous (the host check is on); one connection per client on the
    // second one.
    let open = Server::start_with_env(
        &Db::sqlite(),
        &[("PROTOREG_LIMITS__MAX_REQUEST_BYTES", "4096")],
    );
    let limited = Server::start_with_env(
        &Db::sqlite(),
        &[("PROTOREG_HTTP__MAX_CONNECTIONS_PER_CLIENT", "1")],
    );
    let closed = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    let (s, _, created) = send(
        &closed,
        "POST",
        "/v1/tokens",
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {ADMIN}")),
        ],
        Some(br#"{"name":"reader","roles":[{"namespace":"other","role":"read"}]}"#.to_vec()),
    );
    assert_eq!(s, 201, "{created}");
    let reader = created["token"].as_str().unwrap().to_owned();

    let check = |server: &Server, what: &str, want: u16, head: &str, body: &str| {
        let id = format!("rid-{}", want);
        let request = format!(
            "{head}\r\nHost: 127.0.0.1\r\nX-Request-Id: {id}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (answer, _) = exchange(addr(server), request.as_bytes(), Duration::from_secs(30));
        assert_eq!(status_of(&answer), want, "{what}: {answer}");
        assert_eq!(
            request_id_of(&answer).as_deref(),
            Some(id.as_str()),
            "{what}: no request id in {answer}"
        );
        assert_alive(server);
    };
    let bad = "syntax = \\\"proto3\\\";\\nmessage {";
    check(&open, "no such route", 404, "GET /v1/nothing HTTP/1.1", "");
    check(
        &open,
        "no such namespace",
        404,
        "GET /v1/namespaces/nope HTTP/1.1",
        "",
    );
    check(&open, "method", 405, "PATCH /healthz HTTP/1.1", "");
    check(
        &open,
        "query",
        400,
        "GET /v1/namespaces?page_size=zz HTTP/1.1",
        "",
    );
    check(
        &open,
        "media type",
        415,
        "POST /v1/namespaces/x/schemas/y/versions HTTP/1.1\r\nContent-Type: text/html",
        "{}",
    );
    check(
        &open,
        "compile",
        422,
        "POST /v1/namespaces/x/schemas/y/versions HTTP/1.1\r\nContent-Type: application/json",
        &format!("{{\"sources\": {{\"a.proto\": \"{bad}\"}}}}"),
    );
    check(
        &open,
        "too large",
        413,
        "POST /v1/namespaces/x/schemas/y/versions HTTP/1.1\r\nContent-Type: application/json",
        &format!("{{\"sources\": {{\"a.proto\": \"{}\"}}}}", "a".repeat(8192)),
    );
    check(
        &open,
        "header too large",
        431,
        &format!("GET /healthz HTTP/1.1\r\nX-Big: {}", "a".repeat(70 * 1024)),
        "",
    );
    check(
        &open,
        "foreign origin",
        403,
        "POST /v1/namespaces/x/promote HTTP/1.1\r\nOrigin: http://evil.example",
        "",
    );
    // The host check refuses before anything else: `Host` is its own here.
    let request = "GET /healthz HTTP/1.1\r\nHost: evil.example\r\nX-Request-Id: rid-host\r\nConnection: close\r\n\r\n";
    let (answer, _) = exchange(addr(&open), request.as_bytes(), Duration::from_secs(30));
    assert_eq!(status_of(&answer), 403, "{answer}");
    assert_eq!(
        request_id_of(&answer).as_deref(),
        Some("rid-host"),
        "{answer}"
    );
    // Over the connection limit of its address.
    let mut first = connect_from("127.0.0.3", addr(&limited));
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    first.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    let mut second = connect_from("127.0.0.3", addr(&limited));
    second
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: rid-flood\r\n\r\n")
        .unwrap();
    let (answer, _) = read_until_closed(&mut second, Duration::from_secs(30));
    assert_eq!(status_of(&answer), 503, "{answer}");
    assert_eq!(
        request_id_of(&answer).as_deref(),
        Some("rid-flood"),
        "{answer}"
    );
    drop(first);

    check(
        &closed,
        "no token",
        401,
        "GET /v1/namespaces/x HTTP/1.1",
        "",
    );
    check(
        &closed,
        "malformed token",
        401,
        "GET /v1/namespaces/x HTTP/1.1\r\nAuthorization: Basic eA==",
        "",
    );
    check(
        &closed,
        "unknown token",
        401,
        "GET /v1/namespaces/x HTTP/1.1\r\nAuthorization: Bearer not-a-token",
        "",
    );
    check(
        &closed,
        "no role",
        403,
        &format!("GET /v1/namespaces/x HTTP/1.1\r\nAuthorization: Bearer {reader}"),
        "",
    );
}
