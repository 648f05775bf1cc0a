//! schemathesis against `GET /openapi.json` of the running server: no
//! request gets a 5xx, and every response has a documented status code,
//! content type and body schema.
//!
//! schemathesis (PyPI) is installed by `scripts/test`. Without it the test
//! prints `skipped: ...`, except under CI (`CI=true` or `CI=1`), where it fails.

use std::process::Command;
use std::time::Duration;

use crate::support::*;

/// Pinned in `scripts/test` too.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
const ADMIN_TOKEN: &str = "schemathesis-global-admin";
/// "No 5xx and no response that breaks its schema."
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
const SEED: &str = "4242";
const MAX_EXAMPLES: &str = "12";

/// The schemathesis command (`PROTOREG_SCHEMATHESIS`, else `schemathesis` on
/// the PATH), or `None` after printing why the test is skipped.
fn schemathesis() -> Option<String> {
    let command = std::env::var("PROTOREG_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let found = Command::new(&command)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    match found {
        Some(version) => {
            if !version.contains(SCHEMATHESIS_VERSION) {
                eprintln!("note: {version}, the tests pin {SCHEMATHESIS_VERSION}");
            }
            Some(command)
        }
        None => {
            skip_unless_ci(&format!(
                "`{command}` not found; `pip install schemathesis=={SCHEMATHESIS_VERSION}` or run scripts/test"
            ));
            None
        }
    }
}

/// A client that sends the admin token on every request.
fn admin_client() -> reqwest::blocking::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {ADMIN_TOKEN}").parse().unwrap(),
    );
    reqwest::blocking::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

const INVOICE_V2: &str = "syntax = \"proto3\";\npackage billing;\nimport \"common/money.proto\";\nimport \"google/protobuf/timestamp.proto\";\nmessage Invoice {\n  string id = 1;\n  common.Money total = 2;\n  repeated Line lines = 3;\n  google.protobuf.Timestamp issued_at = 4;\n}\nmessage Line {\n  string sku = 1;\n  int32 quantity = 2;\n  map<string, string> labels = 3;\n}\nenum Status {\n  STATUS_UNSPECIFIED = 0;\n  STATUS_PAID = 1;\n}\nservice Invoices {\n  rpc Get(Invoice) returns (Invoice);\n}\n";

/// `shop` with `common` and `billing` current at version 1 and `billing`
/// version 2 staged, so that the examples of the document (`shop`,
/// `billing`, `billing.Invoice`, version `1`) reach real data.
fn seed(server: &Server) {
    server.money_and_invoice_current("shop");
    let (status, body) =
        server.publish("shop", "billing", &[("billing/invoice.proto", INVOICE_V2)]);
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.put("/v1/namespaces/scratch", serde_json::json!({}));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn schemathesis_finds_no_server_error_and_no_response_off_its_schema() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    // Kept alive for the whole run: dropping it deletes the database file.
    let db = Db::sqlite();
    let mut server = Server::start_with_env(&db, &[("PROTOREG_AUTH__ADMIN_TOKEN", ADMIN_TOKEN)]);
    server.http = admin_client();
    seed(&server);

    // A directory of its own, so that no schemathesis.toml is picked up and
    // nothing is written into the work tree.
    let workdir = tempfile::tempdir().unwrap();
    let output = Command::new(schemathesis)
        .current_dir(workdir.path())
        .env("NO_COLOR", "1")
        .args(["run", &server.url("/openapi.json")])
        .args(["--checks", CHECKS])
        .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES])
        // One worker: schemathesis 4.32 hits internal errors with several.
        .args(["--workers", "1", "--request-timeout", "30"])
        .args(["--generation-database", "none"])
        .args(["--header", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
        .arg("--no-color")
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems (seed {SEED}):\n{stdout}\n{stderr}"
    );
    // It exercised every documented operation (but the document itself,
    // which it loaded), and the server is still healthy afterwards.
    let routes = documented_operations(&server) - 1;
    assert!(
        stdout.contains(&format!("Tested: {routes}")),
        "schemathesis did not test all {routes} operations:\n{stdout}"
    );
    assert!(server.is_running(), "the server died during the run");
    let (status, _) = server.get("/v1/namespaces/shop/schemas/billing");
    assert_eq!(status, 200);
}

/// The number of operations in the served document.
fn documented_operations(server: &Server) -> usize {
    let (status, doc) = server.get("/openapi.json");
    assert_eq!(status, 200);
    doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().keys())
        .filter(|key| ["get", "put", "post", "delete", "patch"].contains(&key.as_str()))
        .count()
}
