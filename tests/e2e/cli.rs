//! The `protoreg` command-line client, run as a subprocess against a real
//! server: output, exit statuses (0, 1, 100) and what ends up in the
//! registry.

use std::io::Write;
use std::process::{Command, Stdio};

use prost::Message;
use serde_json::Value;

use crate::support::{BIN, Db, INVOICE_V1, MONEY_V1, Server, path_str, write_tree};

const MONEY_V2: &str = "syntax = \"proto3\";\npackage common;\nmessage Money {\n  int64 units = 1;\n  string currency = 2;\n  string note = 3;\n}\n";
/// Field 2 deleted: breaks FIELD_NO_DELETE.
const MONEY_NO_CURRENCY: &str =
    "syntax = \"proto3\";\npackage common;\nmessage Money {\n  int64 units = 1;\n}\n";
/// A syntax error on line 4.
const MONEY_BROKEN: &str =
    "syntax = \"proto3\";\npackage common;\nmessage Money {\n  int64 units = ;\n}\n";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// `protoreg --server BASE ARGS...` with `stdin` as its input.
fn run_with(base: &str, args: &[&str], stdin: Option<&[u8]>) -> Run {
    run_env(base, args, stdin, &[])
}

/// Like `run_with`, with environment variables set.
fn run_env(base: &str, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(BIN);
    command
        .arg("--server")
        .arg(base)
        .args(args)
        .env_remove("PROTOREG_SERVER")
        .env_remove("PROTOREG_TOKEN")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("protoreg runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("write stdin");
    }
    let output = child.wait_with_output().expect("protoreg exits");
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run(server: &Server, args: &[&str]) -> Run {
    run_with(&server.base, args, None)
}

/// A fresh directory holding `files`.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), files);
    dir
}

const ORDER: &str = "syntax = \"proto3\";\npackage orders;\nimport \"stock/item.proto\";\nmessage Order {\n  string id = 1;\n  repeated stock.Item items = 2;\n}\n";
const ITEM: &str = "syntax = \"proto3\";\npackage stock;\nmessage Item {\n  string sku = 1;\n}\n";

#[test]
fn cli_push_load_promote_and_read_back() {
    let db = Db::sqlite();
    let server = Server::start(&db);

    // push: nested folders, only .proto files, paths relative to DIR.
    let common = tree(&[
        ("common/money.proto", MONEY_V1),
        ("billing/v1/invoice.proto", INVOICE_V1),
        ("README.md", "not a proto"),
    ]);
    let pushed = run(
        &server,
        &["push", "shop", "common", path_str(common.path())],
    )
    .ok();
    assert!(
        pushed
            .stdout
            .contains("shop/common: version 1 staged (2 files"),
        "{}",
        pushed.stdout
    );
    let again = run(
        &server,
        &["push", "shop", "common", path_str(common.path())],
    )
    .ok();
    assert!(
        again.stdout.contains("no change, version 1"),
        "{}",
        again.stdout
    );
    let json = run(
        &server,
        &[
            "--output",
            "json",
            "push",
            "shop",
            "common",
            path_str(common.path()),
        ],
    )
    .ok()
    .json();
    assert_eq!(json["no_change"], true);
    assert_eq!(
        json["files"],
        serde_json::json!(["billing/v1/invoice.proto", "common/money.proto"])
    );

    // load: "orders" sorts first but imports "stock", which goes first.
    let load = tree(&[
        ("orders/orders/order.proto", ORDER),
        ("stock/stock/item.proto", ITEM),
    ]);
    let loaded = run(&server, &["load", "shop", path_str(load.path())]).ok();
    let lines: Vec<&str> = loaded.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", loaded.stdout);
    assert!(
        lines[0].starts_with("shop/stock: version 1 staged"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("shop/orders: version 1 staged"),
        "{lines:?}"
    );

    let promoted = run(&server, &["promote", "shop"]).ok();
    for schema in ["common", "orders", "stock"] {
        assert!(
            promoted
                .stdout
                .contains(&format!("promoted shop/{schema}: - -> 1")),
            "{}",
            promoted.stdout
        );
    }
    let nothing = run(&server, &["promote", "shop", "--dry-run"]).ok();
    assert!(
        nothing.stdout.contains("nothing staged"),
        "{}",
        nothing.stdout
    );

    // schema list / info, as a table and as JSON.
    let list = run(&server, &["schema", "list", "shop"]).ok();
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["SCHEMA", "CURRENT", "STAGED", "UPDATED"]);
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0]).collect();
    assert_eq!(names, ["common", "orders", "stock"]);
    assert!(
        rows[1..].iter().all(|r| r[1] == "1" && r[2] == "-"),
        "{rows:?}"
    );
    let listed = run(&server, &["schema", "list", "shop", "--output", "json"])
        .ok()
        .json();
    assert_eq!(listed["schemas"].as_array().unwrap().len(), 3);
    let info = run(&server, &["schema", "info", "shop", "common"]).ok();
    assert!(info.stdout.contains("current: 1"), "{}", info.stdout);
    assert!(
        info.stdout
            .lines()
            .any(|l| l.split_whitespace().take(2).eq(["1", "current"])),
        "{}",
        info.stdout
    );

    // schema source: printed, and written under --out.
    let source = run(&server, &["schema", "source", "shop", "common"]).ok();
    assert!(
        source.stdout.contains("// ==> common/money.proto <==\n"),
        "{}",
        source.stdout
    );
    assert!(source.stdout.contains(MONEY_V1));
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("sources");
    run(
        &server,
        &[
            "schema",
            "source",
            "shop",
            "common",
            "--version",
            "1",
            "--out",
            path_str(&out_dir),
        ],
    )
    .ok();
    assert_eq!(
        std::fs::read_to_string(out_dir.join("common/money.proto")).unwrap(),
        MONEY_V1
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("billing/v1/invoice.proto")).unwrap(),
        INVOICE_V1
    );

    // schema descriptor: binary to a file (decodes, imports first), JSON.
    let set_file = out.path().join("orders.binpb");
    run(
        &server,
        &[
            "schema",
            "descriptor",
            "shop",
            "orders",
            "-o",
            path_str(&set_file),
        ],
    )
    .ok();
    let set = prost_types::FileDescriptorSet::decode(&*std::fs::read(&set_file).unwrap())
        .expect("a FileDescriptorSet");
    let files: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    assert_eq!(files, ["stock/item.proto", "orders/order.proto"]);
    let json = run(
        &server,
        &["schema", "descriptor", "shop", "orders", "--json"],
    )
    .ok()
    .json();
    assert_eq!(json["file"][1]["name"], "orders/order.proto");
}

#[test]
fn cli_check_diff_promote_rollback_and_discard() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let v1 = tree(&[("common/money.proto", MONEY_V1)]);
    run(&server, &["push", "ns", "money", path_str(v1.path())]).ok();
    run(&server, &["promote", "ns"]).ok();

    // check: 0 compatible, 100 breaking, 1 compile error.
    let v2 = tree(&[("common/money.proto", MONEY_V2)]);
    let compatible = run(&server, &["check", "ns", "money", path_str(v2.path())]).ok();
    assert!(
        compatible.stdout.contains("compatible"),
        "{}",
        compatible.stdout
    );
    let breaking_dir = tree(&[("common/money.proto", MONEY_NO_CURRENCY)]);
    let breaking = run(
        &server,
        &["check", "ns", "money", path_str(breaking_dir.path())],
    );
    assert_eq!(breaking.code, 100, "{}{}", breaking.stdout, breaking.stderr);
    let line = breaking
        .stdout
        .lines()
        .find(|l| l.ends_with("(FIELD_NO_DELETE)"))
        .unwrap_or_else(|| panic!("no FIELD_NO_DELETE line in:\n{}", breaking.stdout));
    assert!(line.starts_with("common/money.proto:3:1:"), "{line}");
    let json = run(
        &server,
        &[
            "check",
            "ns",
            "money",
            path_str(breaking_dir.path()),
            "--output",
            "json",
        ],
    );
    assert_eq!(json.code, 100);
    assert_eq!(json.json()["compatible"], false);
    let broken_dir = tree(&[("common/money.proto", MONEY_BROKEN)]);
    let broken = run(
        &server,
        &["check", "ns", "money", path_str(broken_dir.path())],
    );
    assert_eq!(broken.code, 1, "{}{}", broken.stdout, broken.stderr);
    assert!(
        broken
            .stderr
            .lines()
            .any(|l| l.starts_with("common/money.proto:4:")),
        "{}",
        broken.stderr
    );
    // A compile error on push: the same lines, exit 1.
    let push_broken = run(
        &server,
        &["push", "ns", "money", path_str(broken_dir.path())],
    );
    assert_eq!(push_broken.code, 1);
    assert!(
        push_broken
            .stderr
            .lines()
            .any(|l| l.starts_with("common/money.proto:4:")),
        "{}",
        push_broken.stderr
    );

    // diff between two current versions.
    run(&server, &["push", "ns", "money", path_str(v2.path())]).ok();
    run(&server, &["promote", "ns"]).ok();
    let diff = run(&server, &["diff", "ns", "money", "1", "2"]).ok();
    assert!(
        diff.stdout.contains("+ field common.Money.note"),
        "{}",
        diff.stdout
    );
    let diff_json = run(
        &server,
        &["--output", "json", "diff", "ns", "money", "1", "2"],
    )
    .ok()
    .json();
    assert_eq!(diff_json["added"][0]["name"], "common.Money.note");

    // An incompatible staged version: promote refuses with the violation.
    run(
        &server,
        &["push", "ns", "money", path_str(breaking_dir.path())],
    )
    .ok();
    let refused = run(&server, &["promote", "ns"]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused
            .stderr
            .lines()
            .any(|l| l.starts_with("common/money.proto:") && l.ends_with("(FIELD_NO_DELETE)")),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("(incompatible)"),
        "{}",
        refused.stderr
    );
    let discarded = run(&server, &["discard", "ns"]).ok();
    assert!(
        discarded.stdout.contains("discarded money"),
        "{}",
        discarded.stdout
    );
    let empty = run(&server, &["discard", "ns"]).ok();
    assert!(empty.stdout.contains("nothing staged"), "{}", empty.stdout);

    // rollback to 1 drops field 3: refused without --force, staged with it.
    let rollback = run(&server, &["rollback", "ns", "money", "1"]);
    assert_eq!(rollback.code, 1, "{}{}", rollback.stdout, rollback.stderr);
    assert!(
        rollback.stderr.contains("(FIELD_NO_DELETE)"),
        "{}",
        rollback.stderr
    );
    let forced = run(&server, &["rollback", "ns", "money", "1", "--force"]).ok();
    assert!(
        forced.stdout.contains("ns/money: version 1 staged"),
        "{}",
        forced.stdout
    );
    let staged = run(
        &server,
        &["--output", "json", "schema", "info", "ns", "money"],
    )
    .ok()
    .json();
    assert_eq!(staged["current_version"], 2);
    assert_eq!(staged["staged_version"], 1);
    let bad_version = run(&server, &["rollback", "ns", "money", "0"]);
    assert_eq!(bad_version.code, 2, "clap refuses version 0");
}

#[test]
fn cli_validate_and_transcode_messages() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let dir = tree(&[("common/money.proto", MONEY_V1)]);
    run(&server, &["push", "ns", "money", path_str(dir.path())]).ok();
    run(&server, &["promote", "ns"]).ok();

    let valid = run_with(
        &server.base,
        &["validate", "ns", "common.Money"],
        Some(br#"{"units": "5", "currency": "EUR"}"#),
    )
    .ok();
    assert!(
        valid.stdout.contains("valid common.Money"),
        "{}",
        valid.stdout
    );
    let invalid = run_with(
        &server.base,
        &["validate", "ns", "common.Money", "-"],
        Some(br#"{"units": "5", "colour": "red"}"#),
    );
    assert_eq!(invalid.code, 1, "{}{}", invalid.stdout, invalid.stderr);
    assert!(invalid.stderr.contains("colour"), "{}", invalid.stderr);
    let text = run_with(
        &server.base,
        &["validate", "ns", "common.Money", "--format", "text"],
        Some(b"units: 5 currency: \"EUR\""),
    )
    .ok();
    assert!(text.stdout.contains("valid"));
    let missing = run_with(
        &server.base,
        &["validate", "ns", "common.Nope"],
        Some(b"{}"),
    );
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("(not_found)"), "{}", missing.stderr);

    let message = tempfile::tempdir().unwrap();
    let file = message.path().join("m.json");
    std::fs::write(&file, r#"{"units": "7", "currency": "CHF"}"#).unwrap();
    let transcoded = run(
        &server,
        &[
            "transcode",
            "ns",
            "common.Money",
            "--to",
            "text",
            path_str(&file),
        ],
    )
    .ok();
    assert!(
        transcoded.stdout.contains("currency") && transcoded.stdout.contains("\"CHF\""),
        "{}",
        transcoded.stdout
    );
    // And back: text in, JSON out, the same message.
    let back = run_with(
        &server.base,
        &[
            "transcode",
            "ns",
            "common.Money",
            "--from",
            "text",
            "--to",
            "json",
        ],
        Some(transcoded.stdout.as_bytes()),
    )
    .ok()
    .json();
    assert_eq!(back, serde_json::json!({"units": "7", "currency": "CHF"}));
    let refused = run_with(
        &server.base,
        &["transcode", "ns", "common.Money", "--to", "binary"],
        Some(br#"{"units": true}"#),
    );
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("(invalid_argument)"),
        "{}",
        refused.stderr
    );
}

#[test]
fn cli_namespace_lifecycle() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let created = run(
        &server,
        &["namespace", "create", "team-a", "--metadata", "owner=ops"],
    )
    .ok();
    assert_eq!(created.stdout.trim(), "created namespace team-a");
    let updated = run(&server, &["ns", "create", "team-a"]).ok();
    assert_eq!(updated.stdout.trim(), "updated namespace team-a");
    let list = run(&server, &["namespace", "list"]).ok();
    assert!(
        list.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some("team-a")),
        "{}",
        list.stdout
    );
    let get = run(&server, &["namespace", "get", "team-a"]).ok();
    assert!(get.stdout.contains("namespace: team-a"), "{}", get.stdout);
    assert!(get.stdout.contains("owner: ops"), "{}", get.stdout);
    let json = run(&server, &["--output", "json", "namespace", "get", "team-a"])
        .ok()
        .json();
    assert_eq!(json["id"], "team-a");
    assert_eq!(json["metadata"]["owner"], "ops");
    run(&server, &["namespace", "delete", "team-a"]).ok();
    let gone = run(&server, &["namespace", "get", "team-a"]);
    assert_eq!(gone.code, 1);
    assert!(gone.stderr.starts_with("protoreg: "), "{}", gone.stderr);
    assert!(gone.stderr.contains("(not_found)"), "{}", gone.stderr);
    let json_error = run(&server, &["--output", "json", "namespace", "get", "team-a"]);
    assert_eq!(json_error.code, 1);
    assert_eq!(json_error.json()["code"], "not_found");
}

#[test]
fn cli_reports_an_unreachable_server() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let failed = run_with(&base, &["namespace", "list"], None);
    assert_eq!(failed.code, 1);
    assert!(
        failed
            .stderr
            .starts_with(&format!("protoreg: cannot connect to the server at {base}")),
        "{}",
        failed.stderr
    );
    let https = run_with(
        &format!("https://127.0.0.1:{port}"),
        &["namespace", "list"],
        None,
    );
    assert_eq!(https.code, 1);
    assert!(
        https.stderr.starts_with(&format!(
            "protoreg: cannot connect to the server at https://127.0.0.1:{port}"
        )),
        "{}",
        https.stderr
    );
}

#[test]
fn cli_push_refuses_a_directory_without_protos() {
    // Refused before any request: no server needed.
    let empty = tree(&[("notes.txt", "x")]);
    let failed = run_with(
        "http://127.0.0.1:9",
        &["push", "ns", "s", path_str(empty.path())],
        None,
    );
    assert_eq!(failed.code, 1);
    assert!(
        failed.stderr.contains("no .proto files under"),
        "{}",
        failed.stderr
    );
}

const ADMIN: &str = "cli-admin-secret";

#[test]
fn cli_tokens_and_bearer_auth() {
    let db = Db::sqlite();
    let server = Server::start_with_env(&db, &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN)]);
    let anonymous = run(&server, &["namespace", "list"]);
    assert_eq!(anonymous.code, 1);
    assert!(
        anonymous.stderr.contains("(unauthenticated)"),
        "{}",
        anonymous.stderr
    );
    run(&server, &["--token", ADMIN, "namespace", "create", "team"]).ok();

    // The secret alone on stdout; the id on stderr.
    let created = run(
        &server,
        &[
            "--token",
            ADMIN,
            "token",
            "create",
            "--name",
            "ci",
            "--role",
            "team=write",
        ],
    )
    .ok();
    let secret = created.stdout.trim().to_owned();
    assert!(!secret.is_empty() && !secret.contains(char::is_whitespace));
    assert!(
        created.stderr.contains("shown only once"),
        "{}",
        created.stderr
    );

    // The writer's token from PROTOREG_TOKEN: push works, promote is 403.
    let dir = tree(&[("common/money.proto", MONEY_V1)]);
    let env = [("PROTOREG_TOKEN", secret.as_str())];
    run_env(
        &server.base,
        &["push", "team", "money", path_str(dir.path())],
        None,
        &env,
    )
    .ok();
    let denied = run_env(&server.base, &["promote", "team"], None, &env);
    assert_eq!(denied.code, 1);
    assert!(
        denied.stderr.contains("(permission_denied)"),
        "{}",
        denied.stderr
    );

    let list = run(&server, &["--token", ADMIN, "token", "list"]).ok();
    assert!(
        list.stdout.lines().any(|l| l
            .split_whitespace()
            .skip(1)
            .take(2)
            .eq(["ci", "team=write"])),
        "{}",
        list.stdout
    );
    assert!(!list.stdout.contains(&secret), "the list shows no secret");
    let listed = run(
        &server,
        &["--token", ADMIN, "--output", "json", "token", "list"],
    )
    .ok()
    .json();
    let id = listed["tokens"][0]["id"].to_string();
    run(&server, &["--token", ADMIN, "token", "revoke", &id]).ok();
    let revoked = run_env(&server.base, &["schema", "list", "team"], None, &env);
    assert_eq!(revoked.code, 1);
    assert!(
        revoked.stderr.contains("(unauthenticated)"),
        "{}",
        revoked.stderr
    );
}

#[test]
fn cli_lists_follow_every_page() {
    let db = Db::sqlite();
    let server = Server::start_with_env(&db, &[("PROTOREG_LIMITS__MAX_PAGE_SIZE", "2")]);
    let files: Vec<(String, String)> = (0..5)
        .map(|i| {
            (
                format!("s{i}/s{i}/m.proto"),
                format!("syntax = \"proto3\";\npackage s{i};\nmessage M {{}}\n"),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let dir = tree(&files);
    run(&server, &["load", "paged", path_str(dir.path())]).ok();
    let (status, page) = server.get("/v1/namespaces/paged/schemas");
    assert_eq!(status, 200);
    assert_eq!(page["schemas"].as_array().unwrap().len(), 2, "{page}");
    let list = run(&server, &["schema", "list", "paged"]).ok();
    let names: Vec<&str> = list
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["s0", "s1", "s2", "s3", "s4"]);
    let json = run(&server, &["--output", "json", "schema", "list", "paged"])
        .ok()
        .json();
    assert_eq!(json["schemas"].as_array().unwrap().len(), 5);
    assert!(json.get("next_page_token").is_none());
}
