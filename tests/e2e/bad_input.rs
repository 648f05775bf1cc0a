//! Bad input gets a clear error with a stable code and changes nothing.

use serde_json::{Value, json};

use crate::support::*;

#[test]
fn bad_publishes_are_refused_and_change_nothing() {
    let server = Server::start_with_env(
        &Db::sqlite(),
        &[
            ("PROTOREG_LIMITS__MAX_FILES", "3"),
            ("PROTOREG_LIMITS__MAX_FILE_BYTES", "2000"),
            ("PROTOREG_LIMITS__MAX_REQUEST_BYTES", "100000"),
        ],
    );
    server.money_staged("ns");
    let revision = server.revision("ns");
    let publish = |ns: &str, schema: &str, body: Value| {
        server.post(
            &format!("/v1/namespaces/{ns}/schemas/{schema}/versions"),
            body,
        )
    };

    let (s, b) = publish(
        "ns",
        "bad id!",
        json!({"sources": {"a.proto": "syntax = \"proto3\";"}}),
    );
    assert_problem(s, &b, 400, "invalid_argument");
    let (s, b) = publish(
        "-ns",
        "x",
        json!({"sources": {"a.proto": "syntax = \"proto3\";"}}),
    );
    assert_problem(s, &b, 400, "invalid_argument");
    for path in [
        "../a.proto",
        "/abs.proto",
        "a//b.proto",
        "a\\b.proto",
        "a.txt",
        "",
    ] {
        let (s, b) = publish(
            "ns",
            "x",
            json!({"sources": {path: "syntax = \"proto3\";"}}),
        );
        assert_problem(s, &b, 400, "invalid_argument");
    }
    let (s, b) = publish("ns", "x", json!({"sources": {}}));
    assert_problem(s, &b, 400, "invalid_argument");
    let (s, b) = publish("ns", "x", json!({"source": {"a.proto": "x"}}));
    assert_problem(s, &b, 400, "invalid_argument");
    let four: serde_json::Map<String, Value> = (0..4)
        .map(|i| (format!("f{i}.proto"), json!("syntax = \"proto3\";")))
        .collect();
    let (s, b) = publish("ns", "x", json!({"sources": four}));
    assert_problem(s, &b, 413, "payload_too_large");
    let (s, b) = publish(
        "ns",
        "x",
        json!({"sources": {"big.proto": "/".repeat(2001)}}),
    );
    assert_problem(s, &b, 413, "payload_too_large");
    let (s, b) = server.post_raw("/v1/namespaces/ns/schemas/x/versions", vec![b' '; 100_001]);
    assert_problem(s, &b, 413, "payload_too_large");
    let (s, b) = server.post_raw(
        "/v1/namespaces/ns/schemas/x/versions",
        b"{\"sources\": {".to_vec(),
    );
    assert_problem(s, &b, 400, "invalid_argument");
    let mut non_utf8 = b"{\"sources\": {\"a.proto\": \"syntax = \\\"proto3\\\"; // ".to_vec();
    non_utf8.extend_from_slice(&[0xff, 0xfe]);
    non_utf8.extend_from_slice(b"\"}}");
    let (s, b) = server.post_raw("/v1/namespaces/ns/schemas/x/versions", non_utf8);
    assert_problem(s, &b, 400, "invalid_argument");
    let (s, b) = publish(
        "ns",
        "x",
        json!({"sources": {"x.proto": "syntax = \"proto3\";\nmessage {"}}),
    );
    assert_problem(s, &b, 422, "compile_failed");
    assert_eq!(b["errors"][0]["file"], "x.proto");
    assert_eq!(b["errors"][0]["line"], 2);
    let (s, b) = publish(
        "ns",
        "other",
        json!({"sources": {"common/money.proto": MONEY_V1}}),
    );
    assert_problem(s, &b, 409, "conflict");

    assert_eq!(
        server.revision("ns"),
        revision,
        "no bad request changed the namespace"
    );
    let (_, list) = server.get("/v1/namespaces/ns/schemas");
    assert_eq!(list["schemas"].as_array().unwrap().len(), 1);
}

#[test]
fn unknown_things_are_not_found() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("ns");
    for path in [
        "/v1/namespaces/nope",
        "/v1/namespaces/nope/schemas",
        "/v1/namespaces/nope/descriptor",
        "/v1/namespaces/ns/schemas/nope",
        "/v1/namespaces/ns/schemas/common/versions/7",
        "/v1/namespaces/ns/schemas/common/versions/current",
        "/v1/namespaces/ns/schemas/common/versions/7/sources",
        "/v1/namespaces/ns/schemas/common/versions/7/descriptor",
        "/v1/no/such/route",
    ] {
        let (s, b) = server.get(path);
        assert_problem(s, &b, 404, "not_found");
    }
    for version in ["0", "-1", "abc", "1.5"] {
        let (s, b) = server.get(&format!(
            "/v1/namespaces/ns/schemas/common/versions/{version}"
        ));
        assert_problem(s, &b, 400, "invalid_argument");
    }
    let (s, b) = server.post("/v1/namespaces/nope/promote", json!({}));
    assert_problem(s, &b, 404, "not_found");
    let (s, b) = server.post("/v1/namespaces/ns/promote", json!({"dry_run": "yes"}));
    assert_problem(s, &b, 400, "invalid_argument");
    let (s, b) = server.post(
        "/v1/namespaces/ns/schemas/common/rollback",
        json!({"version": 0}),
    );
    assert_problem(s, &b, 400, "invalid_argument");
    let r = server.http.get(server.url("/healthz")).send().unwrap();
    assert!(r.headers().contains_key("x-request-id"));
}

#[test]
fn a_method_a_route_does_not_have_is_405_with_allow() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("shop");
    let revision = server.revision("shop");
    for (method, path, allow) in [
        ("PATCH", "/v1/namespaces/shop", "PUT, GET, DELETE"),
        ("POST", "/healthz", "GET"),
        ("GET", "/v1/namespaces/shop/promote", "POST"),
        (
            "DELETE",
            "/v1/namespaces/shop/schemas/common/versions",
            "GET, POST",
        ),
    ] {
        let response = server
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                server.url(path),
            )
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let body: Value = response.json().unwrap();
        assert_problem(405, &body, 405, "invalid_argument");
        assert!(body["detail"].as_str().unwrap().contains(method), "{body}");
    }
    // A path that names no route stays 404, and nothing changed.
    assert_eq!(server.get("/v1/no/such/route").0, 404);
    assert_eq!(server.revision("shop"), revision);
}

#[test]
fn bad_settings_are_refused_and_change_nothing() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("ns");
    let revision = server.revision("ns");
    for codegen in [
        json!([{"plugin": ""}]),
        json!([{"plugin": "  ", "parameter": "x"}]),
    ] {
        let (s, b) = server.put("/v1/namespaces/ns/settings", json!({ "codegen": codegen }));
        assert_problem_detail(s, &b, 400, "invalid_argument", "needs a plugin name");
    }
    let (s, b) = server.put(
        "/v1/namespaces/ns/settings",
        json!({"codegen": [{"parameter": "x"}]}),
    );
    assert_problem(s, &b, 400, "invalid_argument");
    let (s, b) = server.put(
        "/v1/namespaces/ns/settings",
        json!({"codegen": [{"plugin": "nope"}]}),
    );
    assert_problem_detail(s, &b, 400, "invalid_argument", "no code generator named");
    assert_eq!(
        server.revision("ns"),
        revision,
        "no bad settings changed the namespace"
    );
}
