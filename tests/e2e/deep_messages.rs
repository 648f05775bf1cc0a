//! Deeply nested message bodies for validate and transcode: refused with a
//! clear error, never a crash. (A text-format body a few thousand levels deep
//! used to overflow a worker's stack and kill the server.)

use serde_json::Value;

use crate::support::*;

const NODE: &str = "syntax = \"proto3\";\npackage deep;\nmessage Node {\n  Node child = 1;\n  string name = 2;\n}\n";

fn post(server: &Server, path: &str, content_type: &str, body: String) -> (u16, Value) {
    let response = server.post_typed(path, content_type, body);
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

fn text(depth: usize) -> String {
    format!("{}{}", "child { ".repeat(depth), "} ".repeat(depth))
}

fn json(depth: usize) -> String {
    format!("{}{{}}{}", "{\"child\": ".repeat(depth), "}".repeat(depth))
}

#[test]
fn deeply_nested_bodies_are_refused_and_the_server_survives() {
    let db = Db::sqlite();
    let mut server = Server::start(&db);
    let (status, body) = server.publish("ns", "deep", &[("deep/node.proto", NODE)]);
    assert_eq!(status, 201, "{body}");
    assert_eq!(server.promote("ns").0, 200);
    let validate = "/v1/namespaces/ns/types/deep.Node/validate";
    let transcode = "/v1/namespaces/ns/types/deep.Node/transcode?to=binary";

    let (status, body) = post(&server, validate, "text/plain", text(20));
    assert_eq!(
        (status, &body["valid"]),
        (200, &Value::Bool(true)),
        "{body}"
    );

    for depth in [65, 3_000, 200_000] {
        let (status, body) = post(&server, validate, "text/plain", text(depth));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["valid"], false, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nested deeper"),
            "{body}"
        );
        let (status, body) = post(&server, transcode, "text/plain", text(depth));
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["code"], "invalid_argument", "{body}");
    }
    // JSON that serde accepts but whose binary form no decoder would take.
    let (status, body) = post(&server, validate, "application/json", json(120));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], false, "{body}");
    let (status, body) = post(&server, transcode, "application/json", json(120));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_argument", "{body}");

    assert!(server.is_running(), "the server died");
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
}
