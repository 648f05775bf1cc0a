//! Every route × every kind of caller, with the exact status.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

const ADMIN: &str = "admin-secret-for-tests";

fn create_token(server: &Server, namespace: &str, role: &str) -> (i64, String) {
    let body = json!({"name": format!("{role}@{namespace}"), "roles": [{"namespace": namespace, "role": role}]});
    let (status, created) = server.call("POST", "/v1/tokens", Some(ADMIN), Some(&body));
    assert_eq!(status, 201, "{created}");
    (
        created["id"].as_i64().unwrap(),
        created["token"].as_str().unwrap().to_owned(),
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    Public,
    Caller,
    Read,
    Write,
    Admin,
    Global,
}

#[derive(Clone, Copy, Debug)]
enum Who {
    Nobody,
    Reader,
    Writer,
    OtherAdmin,
    TeamAdmin,
    GlobalAdmin,
}

fn allowed(who: Who, need: Need) -> bool {
    use Need::*;
    match who {
        Who::Nobody => need == Public,
        Who::Reader => matches!(need, Public | Caller | Read),
        Who::Writer => matches!(need, Public | Caller | Read | Write),
        Who::OtherAdmin => matches!(need, Public | Caller),
        Who::TeamAdmin => need != Global,
        Who::GlobalAdmin => true,
    }
}

struct Case {
    method: &'static str,
    path: String,
    body: Option<Value>,
    need: Need,
    success: u16,
    /// Run as the admin before each attempt, so every attempt starts alike.
    setup: Option<fn(&Server) -> Option<String>>,
}

fn case(method: &'static str, path: &str, body: Option<Value>, need: Need, success: u16) -> Case {
    Case {
        method,
        path: path.to_owned(),
        body,
        need,
        success,
        setup: None,
    }
}

fn publish_as_admin(server: &Server, ns: &str, schema: &str, path: &str, text: &str) {
    let body = json!({"sources": {path: text}});
    let (status, out) = server.call(
        "POST",
        &format!("/v1/namespaces/{ns}/schemas/{schema}/versions"),
        Some(ADMIN),
        Some(&body),
    );
    assert!(status == 201 || status == 200, "{out}");
}

#[test]
fn every_route_checks_its_role() {
    let server = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    assert_eq!(
        server
            .call("PUT", "/v1/namespaces/team", Some(ADMIN), Some(&json!({})))
            .0,
        201
    );
    assert_eq!(
        server
            .call("PUT", "/v1/namespaces/other", Some(ADMIN), Some(&json!({})))
            .0,
        201
    );
    publish_as_admin(&server, "team", "common", "common/money.proto", MONEY_V1);
    assert_eq!(
        server
            .call("POST", "/v1/namespaces/team/promote", Some(ADMIN), None)
            .0,
        200
    );
    let v2 = MONEY_WITH_NANOS;
    publish_as_admin(&server, "team", "common", "common/money.proto", v2);

    let tokens = [
        (Who::Nobody, None),
        (Who::Reader, Some(create_token(&server, "team", "read").1)),
        (Who::Writer, Some(create_token(&server, "team", "write").1)),
        (
            Who::OtherAdmin,
            Some(create_token(&server, "other", "admin").1),
        ),
        (
            Who::TeamAdmin,
            Some(create_token(&server, "team", "admin").1),
        ),
        (
            Who::GlobalAdmin,
            Some(create_token(&server, "*", "admin").1),
        ),
    ];
    let ns = "/v1/namespaces/team";
    let money = json!({"units": "1"});
    let ts = "syntax = \"proto3\";\npackage google.protobuf;\nmessage Timestamp { int64 seconds = 1; }\n";
    use Need::*;
    let mut cases = vec![
        case("GET", "/healthz", None, Public, 200),
        case("GET", "/readyz", None, Public, 200),
        case("GET", "/v1/namespaces", None, Caller, 200),
        case("GET", "/v1/whoami", None, Caller, 200),
        case("GET", ns, None, Read, 200),
        case(
            "PUT",
            ns,
            Some(json!({"metadata": {"owner": "team"}})),
            Admin,
            200,
        ),
        case("GET", &format!("{ns}/descriptor"), None, Read, 200),
        case("GET", &format!("{ns}/staging"), None, Read, 200),
        case("GET", &format!("{ns}/schemas"), None, Read, 200),
        case("GET", &format!("{ns}/schemas/common"), None, Read, 200),
        case(
            "GET",
            &format!("{ns}/schemas/common/versions"),
            None,
            Read,
            200,
        ),
        case(
            "GET",
            &format!("{ns}/schemas/common/versions/1"),
            None,
            Read,
            200,
        ),
        case(
            "GET",
            &format!("{ns}/schemas/common/versions/1/sources"),
            None,
            Read,
            200,
        ),
        case(
            "GET",
            &format!("{ns}/schemas/common/versions/1/descriptor"),
            None,
            Read,
            200,
        ),
        case(
            "GET",
            &format!("{ns}/schemas/common/diff?from=1&to=2"),
            None,
            Read,
            200,
        ),
        case("GET", &format!("{ns}/types/common.Money"), None, Read, 200),
        case(
            "POST",
            &format!("{ns}/types/common.Money/validate"),
            Some(money.clone()),
            Read,
            200,
        ),
        case(
            "POST",
            &format!("{ns}/types/common.Money/transcode?to=json"),
            Some(money),
            Read,
            200,
        ),
        case(
            "POST",
            &format!("{ns}/schemas/common/versions"),
            Some(json!({"sources": {"common/money.proto": v2}})),
            Write,
            200,
        ),
        case(
            "POST",
            &format!("{ns}/schemas/common/check"),
            Some(json!({"sources": {"common/money.proto": v2}})),
            Write,
            200,
        ),
        case(
            "PUT",
            &format!("{ns}/settings"),
            Some(json!({"compat": {"mode": "BACKWARD"}})),
            Admin,
            200,
        ),
        case(
            "POST",
            &format!("{ns}/promote"),
            Some(json!({"dry_run": true})),
            Admin,
            200,
        ),
        case(
            "POST",
            &format!("{ns}/schemas/common/rollback"),
            Some(json!({"version": 2})),
            Admin,
            200,
        ),
        case("DELETE", &format!("{ns}/staging"), None, Admin, 200),
        case("POST", &format!("{ns}/promote"), None, Admin, 200),
        case(
            "POST",
            &format!("{ns}/schemas/wkt/versions"),
            Some(json!({"sources": {"google/protobuf/timestamp.proto": ts}, "force": true})),
            Global,
            201,
        ),
        case("GET", "/v1/namespaces/__builtins__", None, Caller, 200),
        case(
            "POST",
            "/v1/namespaces/__builtins__/schemas/house/versions",
            Some(
                json!({"sources": {"house/id.proto": "syntax = \"proto3\";\npackage house;\nmessage Id { string value = 1; }\n"}}),
            ),
            Global,
            201,
        ),
        case(
            "POST",
            "/v1/namespaces/__builtins__/promote",
            None,
            Global,
            200,
        ),
        case(
            "DELETE",
            "/v1/namespaces/__builtins__/staging",
            None,
            Global,
            200,
        ),
        case(
            "POST",
            "/v1/tokens",
            Some(json!({"name": "ci", "roles": [{"namespace": "team", "role": "read"}]})),
            Admin,
            201,
        ),
        case("GET", "/v1/tokens", None, Global, 200),
        case("GET", "/v1/plugins", None, Caller, 200),
        // Each caller sees its own namespaces' events (tests/e2e/events.rs).
        case("GET", "/v1/events", None, Caller, 200),
        // The shipped python generator; found-or-not comes after the role.
        case(
            "GET",
            &format!("{ns}/schemas/common/versions/1/generated/python"),
            None,
            Read,
            200,
        ),
        case(
            "GET",
            &format!("{ns}/schemas/common/versions/1/generated/no-such-generator"),
            None,
            Read,
            404,
        ),
        // Any caller may ask; a job's namespace decides who reads it
        // (tests/e2e/codegen.rs).
        case("GET", "/v1/jobs/424242", None, Caller, 404),
    ];
    cases.push(Case {
        method: "DELETE",
        path: "/v1/tokens/{id}".into(),
        body: None,
        need: Global,
        success: 204,
        setup: Some(|server| Some(create_token(server, "team", "read").0.to_string())),
    });
    cases.push(Case {
        method: "DELETE",
        path: ns.into(),
        body: None,
        need: Admin,
        success: 204,
        setup: Some(|server| {
            server.call("PUT", "/v1/namespaces/team", Some(ADMIN), Some(&json!({})));
            None
        }),
    });

    let mut failures = Vec::new();
    for case in &cases {
        for (who, token) in &tokens {
            let path = match case.setup.and_then(|setup| setup(&server)) {
                Some(id) => case.path.replace("{id}", &id),
                None => case.path.clone(),
            };
            let (status, body) =
                server.call(case.method, &path, token.as_deref(), case.body.as_ref());
            let expected = if allowed(*who, case.need) {
                case.success
            } else if matches!(who, Who::Nobody) {
                401
            } else {
                403
            };
            if status != expected {
                failures.push(format!(
                    "{} {path} as {who:?}: {status}, expected {expected}: {body}",
                    case.method
                ));
            }
            if status == 401 || status == 403 {
                let code = if status == 401 {
                    "unauthenticated"
                } else {
                    "permission_denied"
                };
                assert_eq!(body["code"], code, "{body}");
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} checks failed:\n{}",
        failures.len(),
        cases.len() * tokens.len(),
        failures.join("\n")
    );
}

#[test]
fn tokens_are_shown_once_revoked_at_once_and_expire() {
    let server = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    server.call("PUT", "/v1/namespaces/team", Some(ADMIN), Some(&json!({})));
    let (id, secret) = create_token(&server, "team", "read");
    assert!(secret.starts_with("prt_") && secret.len() > 40);
    assert_eq!(
        server
            .call("GET", "/v1/namespaces/team", Some(&secret), None)
            .0,
        200
    );
    let (_, listed) = server.call("GET", "/v1/tokens", Some(ADMIN), None);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never listed"
    );
    let listed_ids: Vec<i64> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert!(listed_ids.contains(&id));
    assert_eq!(
        server
            .call("DELETE", &format!("/v1/tokens/{id}"), Some(ADMIN), None)
            .0,
        204
    );
    let (status, body) = server.call("GET", "/v1/namespaces/team", Some(&secret), None);
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated")),
        "revocation is immediate"
    );
    assert_eq!(
        server
            .call("DELETE", &format!("/v1/tokens/{id}"), Some(ADMIN), None)
            .0,
        404
    );
    assert_eq!(
        server
            .call("GET", "/v1/namespaces/team", Some("prt_forged"), None)
            .0,
        401
    );
    assert_eq!(server.call("GET", "/v1/namespaces/team", None, None).0, 401);

    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let body = json!({"name": "short", "roles": [{"namespace": "team", "role": "read"}], "expires_at": soon});
    let (status, created) = server.call("POST", "/v1/tokens", Some(ADMIN), Some(&body));
    assert_eq!(status, 201, "{created}");
    let short = created["token"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .call("GET", "/v1/namespaces/team", Some(&short), None)
            .0,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while server
        .call("GET", "/v1/namespaces/team", Some(&short), None)
        .0
        != 401
    {
        assert!(Instant::now() < deadline, "the token never expired");
        std::thread::sleep(Duration::from_millis(100));
    }
    for bad in [
        json!({"name": "x", "roles": []}),
        json!({"name": "x", "roles": [{"namespace": "team", "role": "owner"}]}),
        json!({"name": "x", "roles": [{"namespace": "bad ns", "role": "read"}]}),
        json!({"name": "", "roles": [{"namespace": "team", "role": "read"}]}),
        json!({"name": "x", "roles": [{"namespace": "team", "role": "read"}], "expires_at": "2001-01-01T00:00:00Z"}),
    ] {
        let (status, out) = server.call("POST", "/v1/tokens", Some(ADMIN), Some(&bad));
        assert_eq!(
            (status, out["code"].as_str()),
            (400, Some("invalid_argument")),
            "{bad}: {out}"
        );
    }
}

#[test]
fn namespace_list_shows_what_the_caller_may_read() {
    let server = Server::start_with_env(&Db::sqlite(), &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    for ns in ["team", "other"] {
        server.call(
            "PUT",
            &format!("/v1/namespaces/{ns}"),
            Some(ADMIN),
            Some(&json!({})),
        );
    }
    let (_, reader) = create_token(&server, "team", "read");
    let (_, listed) = server.call("GET", "/v1/namespaces", Some(&reader), None);
    let ids: Vec<&str> = listed["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["__builtins__", "team"]);
}
