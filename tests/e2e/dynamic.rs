//! Types as data: descriptors of types, and messages validated and
//! transcoded between JSON, binary and text format.

use serde_json::{Value, json};

use crate::support::*;

const SHOP: &str = r#"syntax = "proto3";
package shop.v1;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Status {
  STATUS_UNSPECIFIED = 0;
  STATUS_OPEN = 1;
  STATUS_PAID = 2;
}

message Money {
  string currency = 1;
  int64 units = 2;
  int32 nanos = 3;
}

message Item {
  string sku = 1;
  uint32 quantity = 2;
  Money price = 3;
}

message Order {
  string id = 1;
  Status status = 2;
  repeated Item items = 3;
  map<string, string> labels = 4;
  map<string, Money> totals = 5;
  oneof payment {
    string card_token = 6;
    string iban = 7;
  }
  google.protobuf.Timestamp created_at = 8;
  google.protobuf.Duration ttl = 9;
  google.protobuf.StringValue note = 10;
  google.protobuf.Int64Value priority = 11;
  google.protobuf.Struct extra = 12;
  google.protobuf.Any detail = 13;
  message Audit {
    repeated string events = 1;
  }
  Audit audit = 14;
  bytes blob = 15;
  double score = 16;
}
"#;

const LEGACY: &str = r#"syntax = "proto2";
package legacy;
message Req {
  required string id = 1;
  optional Inner inner = 2;
}
message Inner {
  required int32 n = 1;
}
"#;

fn order() -> Value {
    json!({
        "id": "o-1",
        "status": "STATUS_PAID",
        "items": [
            {"sku": "a", "quantity": 2, "price": {"currency": "EUR", "units": "3", "nanos": 500000000}},
            {"sku": "b", "quantity": 1, "price": {"currency": "EUR", "units": "10"}}
        ],
        "labels": {"channel": "web", "region": "eu"},
        "totals": {"gross": {"currency": "EUR", "units": "17"}},
        "cardToken": "tok_123",
        "createdAt": "2026-11-23T12:00:00Z",
        "ttl": "3600s",
        "note": "leave at the door",
        "priority": "7",
        "extra": {"gift": true, "tags": ["x", "y"], "weight": 1.5, "none": null},
        "detail": {"@type": "type.googleapis.com/shop.v1.Money", "currency": "USD", "units": "1"},
        "audit": {"events": ["created", "paid"]},
        "blob": "AAEC",
        "score": 0.25
    })
}

fn start() -> Server {
    let server = Server::start(&Db::sqlite());
    server.publish("shop", "orders", &[("shop/v1/order.proto", SHOP)]);
    server.publish("shop", "legacy", &[("legacy/req.proto", LEGACY)]);
    assert_eq!(server.promote("shop").0, 200);
    server
}

fn post(server: &Server, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
    let r = server.post_typed(path, content_type, body);
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, r.bytes().unwrap().to_vec())
}

#[test]
fn json_binary_text_json_round_trip_is_lossless() {
    let server = start();
    let base = "/v1/namespaces/shop/types/shop.v1.Order/transcode";
    let original = order();
    let (status, ct, binary) = post(
        &server,
        &format!("{base}?to=binary"),
        "application/json",
        original.to_string().into_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&binary));
    assert_eq!(ct, "application/x-protobuf");
    let (status, ct, text) = post(
        &server,
        &format!("{base}?to=text"),
        "application/x-protobuf",
        binary.clone(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&text));
    assert!(ct.starts_with("text/plain"));
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("card_token:\"tok_123\"") || text.contains("card_token: \"tok_123\""),
        "{text}"
    );
    let (status, _, back) = post(
        &server,
        &format!("{base}?to=json"),
        "text/plain",
        text.into_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&back));
    let back: Value = serde_json::from_slice(&back).unwrap();
    assert_eq!(back, original);
    let (status, _, again) = post(
        &server,
        &format!("{base}?to=binary"),
        "application/json",
        back.to_string().into_bytes(),
    );
    assert_eq!(status, 200);
    // Map entries have no fixed wire order, so compare binary by meaning.
    assert_eq!(again.len(), binary.len());
    let (_, _, again_json) = post(
        &server,
        &format!("{base}?to=json"),
        "application/x-protobuf",
        again,
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&again_json).unwrap(),
        original
    );
}

#[test]
fn validation_reports_field_paths() {
    let server = start();
    let validate = |ty: &str, body: Value| {
        let (status, _, out) = post(
            &server,
            &format!("/v1/namespaces/shop/types/{ty}/validate"),
            "application/json",
            body.to_string().into_bytes(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&out));
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let ok = validate("shop.v1.Order", order());
    assert_eq!(ok, json!({"valid": true, "errors": []}));

    let mut bad = order();
    bad["items"][1]["price"]["units"] = json!("ten");
    let out = validate("shop.v1.Order", bad);
    assert_eq!(out["valid"], false);
    assert_eq!(out["errors"][0]["path"], "items[1].price.units", "{out}");

    let out = validate("shop.v1.Order", json!({"id": "x", "colour": "red"}));
    assert_eq!(out["valid"], false);
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{out}"
    );

    let out = validate("shop.v1.Order", json!({"status": "STATUS_NOPE"}));
    assert_eq!(
        (out["valid"].as_bool(), out["errors"][0]["path"].as_str()),
        (Some(false), Some("status")),
        "{out}"
    );

    let out = validate("legacy.Req", json!({"inner": {}}));
    assert_eq!(out["valid"], false);
    let paths: Vec<&str> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["id", "inner.n"], "{out}");
    assert_eq!(
        validate("legacy.Req", json!({"id": "1", "inner": {"n": 2}}))["valid"],
        true
    );

    // Unknown fields in binary: field 99, varint 1.
    let (status, _, out) = post(
        &server,
        "/v1/namespaces/shop/types/shop.v1.Money/validate",
        "application/x-protobuf",
        vec![0x0a, 0x01, b'E', 0x98, 0x06, 0x01],
    );
    assert_eq!(status, 200);
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(out["valid"], false, "{out}");
    assert!(
        out["errors"][0]["message"].as_str().unwrap().contains("99"),
        "{out}"
    );
}

#[test]
fn types_are_served_with_their_owner() {
    let server = start();
    let (status, body) = server.get("/v1/namespaces/shop/types/shop.v1.Order");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["kind"], "message");
    assert_eq!(body["schema"], "orders");
    assert_eq!(body["file"], "shop/v1/order.proto");
    assert_eq!(body["descriptor"]["name"], "Order");
    assert_eq!(
        server.get("/v1/namespaces/shop/types/shop.v1.Status").1["kind"],
        "enum"
    );
    assert_eq!(
        server
            .get("/v1/namespaces/shop/types/shop.v1.Order?schema=orders&version=1")
            .0,
        200
    );
    assert_eq!(
        server
            .get("/v1/namespaces/shop/types/shop.v1.Order?schema=legacy")
            .0,
        404,
        "limited to one schema"
    );
    assert_eq!(server.get("/v1/namespaces/shop/types/shop.v1.Nope").0, 404);
    assert_eq!(
        server
            .get("/v1/namespaces/shop/types/shop.v1.Order?version=1")
            .0,
        400,
        "a number needs a schema"
    );
    // A staged type is visible only in staged reads.
    let v2 = SHOP.replace(
        "message Money {",
        "message Refund { string id = 1; }\nmessage Money {",
    );
    server.publish("shop", "orders", &[("shop/v1/order.proto", &v2)]);
    assert_eq!(
        server.get("/v1/namespaces/shop/types/shop.v1.Refund").0,
        404
    );
    assert_eq!(
        server
            .get("/v1/namespaces/shop/types/shop.v1.Refund?version=staged")
            .0,
        200
    );
    assert_eq!(
        server
            .get("/v1/namespaces/shop/types/shop.v1.Refund?schema=orders&version=staged")
            .0,
        200
    );
}

#[test]
fn hostile_message_bodies_never_break_the_server() {
    let server = start();
    let revision = server.revision("shop");
    let mut rng = rand::rng();
    let mut bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", "[".repeat(100_000).into_bytes()),
        (
            "application/json",
            format!("{}{}", "{\"audit\":".repeat(5_000), "}".repeat(5_000)).into_bytes(),
        ),
        (
            "application/json",
            br#"{"items":[{"quantity": 1e999}]}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"score": "NaN", "priority": "99999999999999999999999"}"#.to_vec(),
        ),
        (
            "application/json",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'],
        ),
        ("application/json", br#"{"items": {"sku": 1}}"#.to_vec()),
        ("text/plain", "audit { ".repeat(10_000).into_bytes()),
        ("text/plain", vec![0xc3, 0x28]),
        ("application/x-protobuf", [0x72u8, 0x02].repeat(5_000)),
        ("application/x-protobuf", vec![0xff; 64]),
        ("application/xml", b"<order/>".to_vec()),
    ];
    for _ in 0..200 {
        let len = rand::Rng::random_range(&mut rng, 0..512);
        let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        let ct = ["application/json", "text/plain", "application/x-protobuf"]
            [rand::Rng::random_range(&mut rng, 0..3)];
        bodies.push((ct, bytes));
    }
    for (ct, body) in bodies {
        for endpoint in ["validate", "transcode?to=json"] {
            let (status, _, out) = post(
                &server,
                &format!("/v1/namespaces/shop/types/shop.v1.Order/{endpoint}"),
                ct,
                body.clone(),
            );
            assert!(
                status < 500,
                "{ct} {endpoint}: {status} {}",
                String::from_utf8_lossy(&out)
            );
        }
    }
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.revision("shop"), revision);
}
