//! Publish, promote, read, restore: the registry's main paths over HTTP.

use serde_json::json;

use crate::support::*;

/// publish → no_change → a second schema importing the first → promote →
/// descriptor has both → stage v2 → kill -9 → restart → current v1 and
/// staged v2 are both back.
fn publish_promote_kill_restore(db: &Db) {
    let mut server = Server::start(db);
    let (status, first) = server.publish_money("shop");
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["version"], 1);
    assert_eq!(first["no_change"], false);
    assert_eq!(first["staged"], true);
    assert_eq!(first["messages"], json!(["common.Money"]));

    let (status, again) = server.publish_money("shop");
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["no_change"], true);
    assert_eq!(again["version"], 1);
    assert_eq!(again["fingerprint"], first["fingerprint"]);

    let (status, invoice) = server.publish_invoice("shop");
    assert_eq!(status, 201, "{invoice}");

    let (status, promoted) = server.promote("shop");
    assert_eq!(status, 200, "{promoted}");
    let mut moved: Vec<_> = promoted["promoted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["schema"].as_str().unwrap().to_owned())
        .collect();
    moved.sort();
    assert_eq!(moved, ["billing", "common"]);

    let (status, bytes) = server.get_bytes("/v1/namespaces/shop/descriptor");
    assert_eq!(status, 200);
    let names = descriptor_file_names(&bytes);
    assert_eq!(
        names,
        ["common/money.proto", "billing/invoice.proto"],
        "dependencies first"
    );
    let namespace_descriptor = bytes;
    let (status, bytes) =
        server.get_bytes("/v1/namespaces/shop/schemas/billing/versions/current/descriptor");
    assert_eq!(status, 200);
    assert_eq!(
        descriptor_file_names(&bytes),
        ["common/money.proto", "billing/invoice.proto"]
    );

    let (status, v2) = server.publish(
        "shop",
        "common",
        &[("common/money.proto", MONEY_WITH_NANOS)],
    );
    assert_eq!(status, 201, "{v2}");
    assert_eq!(v2["version"], 2);

    server.restart_after_kill9();

    let (status, common) = server.get("/v1/namespaces/shop/schemas/common");
    assert_eq!(status, 200, "{common}");
    assert_eq!(common["current_version"], 1);
    assert_eq!(common["staged_version"], 2);
    let (_, staged) = server.get("/v1/namespaces/shop/schemas/common/versions/staged/sources");
    assert_eq!(staged["sources"]["common/money.proto"], MONEY_WITH_NANOS);
    let (_, current) = server.get("/v1/namespaces/shop/schemas/common/versions/current/sources");
    assert_eq!(current["sources"]["common/money.proto"], MONEY_V1);
    let (_, restored) = server.get_bytes("/v1/namespaces/shop/descriptor");
    assert_eq!(
        restored, namespace_descriptor,
        "restored byte for byte from the store"
    );
    let (status, promoted) = server.promote("shop");
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(
        promoted["promoted"],
        json!([{"schema": "common", "from_version": 1, "to_version": 2}])
    );
}

#[test]
fn publish_promote_kill9_restore_sqlite() {
    publish_promote_kill_restore(&Db::sqlite());
}

#[test]
fn publish_promote_kill9_restore_postgres() {
    if let Some(db) = Db::postgres() {
        publish_promote_kill_restore(&db);
    }
}

#[test]
fn descriptor_etag_and_json_form() {
    let server = Server::start(&Db::sqlite());
    server.money_current("ns");
    let url = server.url("/v1/namespaces/ns/schemas/common/versions/1/descriptor");
    let first = server.http.get(&url).send().unwrap();
    assert_eq!(first.headers()["content-type"], "application/x-protobuf");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let cached = server
        .http
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(cached.status(), 304);
    let other = server
        .http
        .get(&url)
        .header("If-None-Match", "\"nope\"")
        .send()
        .unwrap();
    assert_eq!(other.status(), 200);
    let json_form = server
        .http
        .get(format!("{url}?format=json"))
        .send()
        .unwrap();
    assert_eq!(json_form.status(), 200);
    assert_ne!(json_form.headers()["etag"].to_str().unwrap(), etag);
    let body: serde_json::Value = json_form.json().unwrap();
    assert_eq!(body["file"][0]["name"], "common/money.proto");
    assert_eq!(body["file"][0]["messageType"][0]["name"], "Money");
    let (status, _) =
        server.get("/v1/namespaces/ns/schemas/common/versions/1/descriptor?format=xml");
    assert_eq!(status, 400);
}

#[test]
fn sixteen_concurrent_publishes_get_dense_versions() {
    on_each_backend(|db| {
        let server = Server::start(db);
        let versions: Vec<i64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let server = &server;
                    scope.spawn(move || {
                        let text = format!(
                            "syntax = \"proto3\";\npackage p;\nmessage M{i} {{ int32 a = 1; }}\n"
                        );
                        let (status, body) = server.publish("dense", "s", &[("p/m.proto", &text)]);
                        assert_eq!(status, 201, "{body}");
                        body["version"].as_i64().unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = versions.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=16).collect::<Vec<_>>(), "{versions:?}");
        let (_, listed) = server.get("/v1/namespaces/dense/schemas/s/versions");
        assert_eq!(listed["versions"].as_array().unwrap().len(), 16);
    });
}

#[test]
fn namespaces_are_isolated() {
    let server = Server::start(&Db::sqlite());
    server.money_current("a");
    let (status, body) = server.publish_invoice("b");
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "compile_failed");
    assert_eq!(body["errors"][0]["file"], "billing/invoice.proto");
    assert_eq!(body["errors"][0]["line"], 3);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("common/money.proto"),
        "{body}"
    );
    // The same path in another namespace is not a conflict.
    let (status, body) = server.publish("b", "money", &[("common/money.proto", MONEY_V1)]);
    assert_eq!(status, 201, "{body}");
}

#[test]
fn builtins_are_importable_and_shadowing_is_refused() {
    let server = Server::start(&Db::sqlite());
    let (status, body) =
        server.publish("__builtins__", "money", &[("common/money.proto", MONEY_V1)]);
    assert_eq!(status, 201, "{body}");
    let (status, _) = server.publish_invoice("team");
    assert_eq!(status, 422, "builtins are importable only once current");
    let (status, body) = server.promote("__builtins__");
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.publish_invoice("team");
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.publish("team", "evil", &[("common/money.proto", MONEY_V1)]);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "conflict");
    let ts = "syntax = \"proto3\";\npackage google.protobuf;\nmessage Timestamp { int64 seconds = 1; }\n";
    let (status, body) = server.publish("team", "wkt", &[("google/protobuf/timestamp.proto", ts)]);
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("well-known"),
        "{body}"
    );
    let (status, body) = server.post(
        "/v1/namespaces/team/schemas/wkt/versions",
        json!({"sources": {"google/protobuf/timestamp.proto": ts}, "force": true}),
    );
    assert_eq!(status, 201, "force allows shadowing: {body}");
}

#[test]
fn discard_rollback_and_multi_schema_promote() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("ns");
    server.invoice_staged("ns");
    let (status, staging) = server.get("/v1/namespaces/ns/staging");
    assert_eq!(status, 200);
    assert_eq!(staging["staged"].as_array().unwrap().len(), 2);
    let (status, dry) = server.post("/v1/namespaces/ns/promote", json!({"dry_run": true}));
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["promoted"].as_array().unwrap().len(), 2);
    assert_eq!(
        server.get("/v1/namespaces/ns/staging").1["staged"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "dry run changes nothing"
    );
    let (status, _) = server.promote("ns");
    assert_eq!(status, 200);

    let v2 = MONEY_V1.replace("Money {", "Money {\n  // cents\n");
    let (status, body) = server.publish("ns", "common", &[("common/money.proto", &v2)]);
    assert_eq!(
        (status, body["version"].as_i64()),
        (201, Some(2)),
        "a comment-only edit is a new version"
    );
    let (status, discarded) = server.delete("/v1/namespaces/ns/staging");
    assert_eq!(status, 200);
    assert_eq!(discarded["discarded"], json!(["common"]));
    assert!(
        server.get("/v1/namespaces/ns/staging").1["staged"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    server.publish("ns", "common", &[("common/money.proto", MONEY_WITH_NANOS)]);
    server.promote("ns");
    assert_eq!(
        server.get("/v1/namespaces/ns/schemas/common").1["current_version"],
        3
    );
    // v1 lacks the field v3 added: under BACKWARD that is a deletion.
    let (status, refused) = server.post(
        "/v1/namespaces/ns/schemas/common/rollback",
        json!({"version": 1}),
    );
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "incompatible");
    assert_eq!(refused["violations"][0]["rule"], "FIELD_NO_DELETE");
    assert_eq!(refused["violations"][0]["schema"], "common");
    assert!(
        server.get("/v1/namespaces/ns/staging").1["staged"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (status, rolled) = server.post(
        "/v1/namespaces/ns/schemas/common/rollback",
        json!({"version": 1, "force": true}),
    );
    assert_eq!(status, 200, "{rolled}");
    assert_eq!(rolled["staged"], true);
    assert_eq!(
        server.get("/v1/namespaces/ns/schemas/common").1["staged_version"],
        1
    );
    let (status, promoted) = server.promote("ns");
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(
        promoted["promoted"],
        json!([{"schema": "common", "from_version": 3, "to_version": 1}])
    );
    let (_, info) = server.get("/v1/namespaces/ns/schemas/common/versions/3");
    assert_eq!(info["state"], "previous");
    let (_, info) = server.get("/v1/namespaces/ns/schemas/common/versions/1");
    assert_eq!(info["state"], "current");
    let (status, body) = server.post(
        "/v1/namespaces/ns/schemas/common/rollback",
        json!({"version": 99}),
    );
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

#[test]
fn promote_fails_when_an_import_no_longer_links() {
    let server = Server::start(&Db::sqlite());
    server.money_and_invoice_current("ns");
    let renamed = MONEY_V1.replace("message Money", "message Amount");
    let (status, body) = server.publish("ns", "common", &[("common/money.proto", &renamed)]);
    assert_eq!(
        status, 201,
        "publish checks only that the schema compiles: {body}"
    );
    let revision = server.revision("ns");
    let (status, body) = server.promote("ns");
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "compile_failed");
    assert!(body["detail"].as_str().unwrap().contains("Money"), "{body}");
    assert_eq!(server.revision("ns"), revision, "nothing changed");
    assert_eq!(
        server.get("/v1/namespaces/ns/schemas/common").1["current_version"],
        1
    );
}

#[test]
fn namespace_crud_and_soft_delete() {
    let server = Server::start(&Db::sqlite());
    let (status, created) = server.put(
        "/v1/namespaces/team",
        json!({"metadata": {"owner": "payments"}}),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["metadata"]["owner"], "payments");
    let (status, updated) = server.put(
        "/v1/namespaces/team",
        json!({"metadata": {"owner": "risk"}}),
    );
    assert_eq!(status, 200);
    assert_eq!(updated["metadata"]["owner"], "risk");
    assert!(updated["revision"].as_i64() > created["revision"].as_i64());
    let (_, list) = server.get("/v1/namespaces");
    let ids: Vec<_> = list["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["__builtins__", "team"]);
    server.money_staged("team");
    let (status, _) = server.delete("/v1/namespaces/team");
    assert_eq!(status, 204);
    assert_eq!(server.get("/v1/namespaces/team").0, 404);
    let (status, recreated) = server.put("/v1/namespaces/team", json!({}));
    assert_eq!(status, 201);
    assert_eq!(
        recreated["schema_count"], 0,
        "a re-created namespace starts empty"
    );
    let (status, body) = server.delete("/v1/namespaces/__builtins__");
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument"))
    );
}

#[test]
fn sigterm_stops_gracefully_with_status_zero() {
    let server = Server::start(&Db::sqlite());
    assert_eq!(server.get("/healthz").0, 200);
    let status = server.terminate();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn promote_refuses_breaking_changes_unless_the_policy_allows_them() {
    let server = Server::start(&Db::sqlite());
    server.money_current("ns");
    let retyped = MONEY_V1.replace("int64 units = 1;", "string units = 1;");
    server.publish("ns", "common", &[("common/money.proto", &retyped)]);
    let revision = server.revision("ns");
    let (status, body) = server.promote("ns");
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "incompatible");
    let violation = &body["violations"][0];
    assert_eq!(violation["rule"], "FIELD_SAME_TYPE");
    assert_eq!(violation["schema"], "common");
    assert_eq!(violation["file"], "common/money.proto");
    assert_eq!(
        (violation["line"].as_i64(), violation["column"].as_i64()),
        (Some(4), Some(3))
    );
    assert!(
        violation["category"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "FILE")
    );
    assert_eq!(
        server.revision("ns"),
        revision,
        "a refused promote changes nothing"
    );

    let (status, body) = server.put(
        "/v1/namespaces/ns",
        json!({"settings": {"compat": {"mode": "NOPE"}}}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument")),
        "{body}"
    );
    let (status, body) = server.put(
        "/v1/namespaces/ns",
        json!({"settings": {"compat": {"use": ["NO_SUCH_RULE"]}}}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument")),
        "{body}"
    );
    let (status, body) = server.put(
        "/v1/namespaces/ns",
        json!({"settings": {"compat": {"use": ["WIRE"]}}}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.promote("ns");
    assert_eq!(status, 409, "int64 -> string breaks the wire too: {body}");
    let (status, body) = server.put(
        "/v1/namespaces/ns",
        json!({"settings": {"compat": {"mode": "NONE"}}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["settings"]["compat"]["mode"], "NONE");
    let (status, body) = server.promote("ns");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn check_is_a_dry_run_publish_with_compatibility() {
    let server = Server::start(&Db::sqlite());
    server.money_current("ns");
    let revision = server.revision("ns");
    let check = |text: &str| {
        server.post(
            "/v1/namespaces/ns/schemas/common/check",
            json!({"sources": {"common/money.proto": text}}),
        )
    };

    let (status, body) = check(MONEY_WITH_NANOS);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["compatible"], true, "{body}");
    let (status, body) = check(&MONEY_V1.replace("  string currency = 2;\n", ""));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["compatible"], false);
    assert_eq!(body["violations"][0]["rule"], "FIELD_NO_DELETE");
    let (status, body) = check("syntax = \"proto3\";\nmessage {");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["compatible"], false);
    assert_eq!(body["errors"][0]["line"], 2);
    let (status, body) = server.post(
        "/v1/namespaces/ns/schemas/common/check",
        json!({"sources": {}}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_argument"))
    );

    assert_eq!(server.revision("ns"), revision, "check changes nothing");
    assert!(
        server.get("/v1/namespaces/ns/staging").1["staged"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn diff_lists_changes_with_lines_and_violations() {
    let server = Server::start(&Db::sqlite());
    server.money_staged("ns");
    let v2 = "syntax = \"proto3\";\npackage common;\nmessage Money {\n  string units = 1;\n  int32 nanos = 3;\n}\nenum Unit {\n  UNIT_UNSPECIFIED = 0;\n}\n";
    server.publish("ns", "common", &[("common/money.proto", v2)]);
    let (status, body) = server.get("/v1/namespaces/ns/schemas/common/diff?from=1&to=2");
    assert_eq!(status, 200, "{body}");
    let names = |key: &str| -> Vec<String> {
        body[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {} {}",
                    e["kind"].as_str().unwrap(),
                    e["name"].as_str().unwrap(),
                    e["line"]
                )
            })
            .collect()
    };
    assert_eq!(
        names("added"),
        [
            "field common.Money.nanos 5",
            "enum common.Unit 7",
            "enum_value common.Unit.UNIT_UNSPECIFIED 8"
        ],
        "by name"
    );
    assert_eq!(names("removed"), ["field common.Money.currency 5"]);
    assert_eq!(names("changed"), ["field common.Money.units 4"]);
    assert!(
        body["changed"][0]["from"]
            .as_str()
            .unwrap()
            .contains("int64"),
        "{body}"
    );
    assert!(
        body["changed"][0]["to"]
            .as_str()
            .unwrap()
            .contains("string"),
        "{body}"
    );
    let rules: Vec<&str> = body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"FIELD_NO_DELETE") && rules.contains(&"FIELD_SAME_TYPE"),
        "{rules:?}"
    );
    let (status, _) = server.get("/v1/namespaces/ns/schemas/common/diff?from=1");
    assert_eq!(status, 400);
    let (status, _) = server.get("/v1/namespaces/ns/schemas/common/diff?from=1&to=9");
    assert_eq!(status, 404);
}

fn set_mode(server: &Server, ns: &str, mode: &str) {
    let (status, body) = server.put(
        &format!("/v1/namespaces/{ns}"),
        json!({"settings": {"compat": {"mode": mode}}}),
    );
    assert_eq!(status, 200, "{body}");
}

fn promote_rules(server: &Server, ns: &str) -> (u16, Vec<String>) {
    let (status, body) = server.promote(ns);
    let rules = body["violations"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|v| v["rule"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (status, rules)
}

#[test]
fn forward_and_full_modes_check_the_other_direction() {
    let server = Server::start(&Db::sqlite());
    let with_nanos = MONEY_WITH_NANOS.to_owned();
    let without_currency = MONEY_V1.replace("  string currency = 2;\n", "");

    server.money_current("fwd");
    set_mode(&server, "fwd", "FORWARD");
    // The current version must read what the proposed one writes: a field
    // only the proposed version has is one the current version lacks.
    server.publish("fwd", "common", &[("common/money.proto", &with_nanos)]);
    let (status, rules) = promote_rules(&server, "fwd");
    assert_eq!((status, rules), (409, vec!["FIELD_NO_DELETE".to_owned()]));
    server.delete("/v1/namespaces/fwd/staging");
    server.publish(
        "fwd",
        "common",
        &[("common/money.proto", &without_currency)],
    );
    assert_eq!(
        promote_rules(&server, "fwd"),
        (200, vec![]),
        "removing is forward compatible"
    );

    server.money_current("full");
    set_mode(&server, "full", "FULL");
    for changed in [&with_nanos, &without_currency] {
        server.publish("full", "common", &[("common/money.proto", changed)]);
        let (status, rules) = promote_rules(&server, "full");
        assert_eq!(
            (status, rules),
            (409, vec!["FIELD_NO_DELETE".to_owned()]),
            "{changed}"
        );
        server.delete("/v1/namespaces/full/staging");
    }
}

#[test]
fn transitive_modes_check_every_version_that_was_current() {
    let server = Server::start(&Db::sqlite());
    server.money_current("ns");
    // An incompatible v2 gets in while the policy allows anything.
    set_mode(&server, "ns", "NONE");
    let retyped = MONEY_V1.replace("int64 units = 1;", "string units = 1;");
    server.publish("ns", "common", &[("common/money.proto", &retyped)]);
    assert_eq!(server.promote("ns").0, 200);
    // v3 is compatible with v2 (current) but not with v1.
    let v3 = format!("// v3\n{retyped}");
    server.publish("ns", "common", &[("common/money.proto", &v3)]);
    set_mode(&server, "ns", "BACKWARD_TRANSITIVE");
    let (status, rules) = promote_rules(&server, "ns");
    assert_eq!((status, rules), (409, vec!["FIELD_SAME_TYPE".to_owned()]));
    set_mode(&server, "ns", "BACKWARD");
    assert_eq!(promote_rules(&server, "ns"), (200, vec![]));
}

#[test]
fn lists_are_paginated() {
    let server = Server::start(&Db::sqlite());
    for i in 0..5 {
        let text = format!("syntax = \"proto3\";\npackage p{i};\nmessage M {{ int32 a = 1; }}\n");
        server.publish("ns", &format!("s{i}"), &[(&format!("p{i}/m.proto"), &text)]);
        server.publish(
            "ns",
            "history",
            &[("h/h.proto", &text.replace(&format!("p{i}"), "h"))],
        );
    }
    for (list, field, want) in [
        ("/v1/namespaces/ns/schemas", "schemas", 6),
        ("/v1/namespaces/ns/staging", "staged", 6),
        ("/v1/namespaces/ns/schemas/history/versions", "versions", 1),
    ] {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let url = match &token {
                Some(t) => format!("{list}?page_size=2&page_token={t}"),
                None => format!("{list}?page_size=2"),
            };
            let (status, body) = server.get(&url);
            assert_eq!(status, 200, "{body}");
            let items = body[field].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().cloned());
            match body.get("next_page_token").and_then(|t| t.as_str()) {
                Some(t) => token = Some(t.to_owned()),
                None => break,
            }
        }
        let (_, all) = server.get(list);
        assert_eq!(
            &seen,
            all[field].as_array().unwrap(),
            "{list}: pages add up to the whole list"
        );
        assert_eq!(seen.len(), want, "{list}");
    }
    assert_eq!(server.get("/v1/namespaces/ns/schemas?page_size=0").0, 400);
    assert_eq!(
        server.get("/v1/namespaces/ns/schemas?page_size=100000").0,
        400
    );
    assert_eq!(server.get("/v1/namespaces/ns/schemas?page_token=zz").0, 400);
    let (_, body) = server.get("/v1/namespaces?page_size=1");
    assert_eq!(body["namespaces"].as_array().unwrap().len(), 1);
    assert!(body["next_page_token"].is_string());
}

#[test]
fn a_type_moved_between_schemas_promoted_together_is_not_deleted_under_package() {
    let server = Server::start(&Db::sqlite());
    let a_v1 = "syntax = \"proto3\";\npackage shop;\nmessage Cart { string id = 1; }\nmessage Line { string sku = 1; }\n";
    let b_v1 = "syntax = \"proto3\";\npackage shop;\nmessage Order { string id = 1; }\n";
    let a_v2 = "syntax = \"proto3\";\npackage shop;\nmessage Cart { string id = 1; }\n";
    let b_v2 = "syntax = \"proto3\";\npackage shop;\nmessage Order { string id = 1; }\nmessage Line { string sku = 1; }\n";
    server.publish("ns", "a", &[("shop/a.proto", a_v1)]);
    server.publish("ns", "b", &[("shop/b.proto", b_v1)]);
    assert_eq!(server.promote("ns").0, 200);
    // Stage both halves of the move; b first, so both define Line only in
    // the proposed state.
    assert_eq!(server.publish("ns", "a", &[("shop/a.proto", a_v2)]).0, 201);
    assert_eq!(server.publish("ns", "b", &[("shop/b.proto", b_v2)]).0, 201);
    let (status, rules) = promote_rules(&server, "ns");
    assert_eq!(
        (status, rules),
        (409, vec!["MESSAGE_NO_DELETE".to_owned()]),
        "FILE: Line left shop/a.proto"
    );
    let (status, body) = server.put(
        "/v1/namespaces/ns/settings",
        json!({"compat": {"use": ["PACKAGE"]}}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        promote_rules(&server, "ns"),
        (200, vec![]),
        "PACKAGE: shop.Line still exists"
    );
}
