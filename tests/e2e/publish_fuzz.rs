//! Publish with random proto text: token soup, truncations and byte flips
//! of valid files, deep nesting, huge numbers, odd Unicode. The server never
//! crashes or answers 5xx, a refusal is a problem with a stable code, and a
//! refused publish changes nothing (the namespace revision and the schema's
//! versions stay as they were).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::support::*;

const SEED: u64 = 0x5eed_f0a2;
/// Cases per generator; seven generators.
const CASES: usize = 48;

const RICH: &str = r#"syntax = "proto2";
package fuzz.rich;
import "common/money.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/descriptor.proto";
option java_package = "com.example.fuzz";
extend google.protobuf.FieldOptions { optional string note = 50001; }
message Order {
  required string id = 1 [(note) = "primary key"];
  optional common.Money total = 2;
  repeated Line lines = 3 [packed = false];
  map<string, int64> counters = 4;
  oneof payment { string card = 5; bytes token = 6; }
  optional google.protobuf.Timestamp at = 7;
  optional Kind kind = 8 [default = KIND_RETAIL];
  extensions 100 to 199;
  reserved 20 to 29, 40;
  reserved "legacy";
  message Line { optional string sku = 1; optional sint32 qty = 2 [default = -1]; }
  enum Kind { KIND_UNKNOWN = 0; KIND_RETAIL = 1; KIND_BULK = 2; }
}
extend Order { optional double weight = 100; }
service Orders {
  rpc Get(Order) returns (Order) { option deprecated = true; }
  rpc Watch(stream Order) returns (stream Order);
}
"#;

const PROTO3: &str = "syntax = \"proto3\";\npackage fuzz.three;\nimport \"google/protobuf/any.proto\";\nenum Color { COLOR_UNSPECIFIED = 0; COLOR_RED = 1; }\nmessage Thing {\n  string name = 1;\n  optional int32 size = 2;\n  repeated google.protobuf.Any extras = 3;\n  Color color = 4;\n  message Inner { fixed64 a = 1; float b = 2; }\n  Inner inner = 5;\n}\n";

const KEYWORDS: &[&str] = &[
    "syntax",
    "edition",
    "package",
    "import",
    "public",
    "weak",
    "option",
    "message",
    "enum",
    "service",
    "rpc",
    "returns",
    "stream",
    "oneof",
    "map",
    "extend",
    "extensions",
    "reserved",
    "to",
    "max",
    "optional",
    "required",
    "repeated",
    "group",
    "int32",
    "int64",
    "uint32",
    "sint64",
    "fixed32",
    "sfixed64",
    "bool",
    "string",
    "bytes",
    "double",
    "float",
    "true",
    "false",
    "inf",
    "nan",
    "default",
    "json_name",
    "packed",
    "deprecated",
    "\"proto2\"",
    "\"proto3\"",
    "\"2023\"",
    "=",
    ";",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    ",",
    ".",
    ":",
    "-",
    "+",
    "/",
    "//",
    "/*",
    "*/",
    "\"",
    "'",
    "\\",
    "0",
    "1",
    "-1",
    "0x7fffffff",
    "1e400",
    "536870911",
    "536870912",
    "19000",
    "Foo",
    "foo.Bar",
    ".google.protobuf.Any",
    "_",
    "é",
    "\n",
    " ",
    "\t",
];

/// One random source, by generator.
fn generate(rng: &mut StdRng, generator: usize) -> String {
    match generator {
        0 => token_soup(rng),
        1 => truncated(rng),
        2 => flipped(rng),
        3 => deep_nesting(rng),
        4 => huge_numbers(rng),
        5 => odd_unicode(rng),
        _ => spliced(rng),
    }
}

fn valid(rng: &mut StdRng) -> &'static str {
    [RICH, PROTO3, MONEY_V1, INVOICE_V1][rng.random_range(0..4)]
}

fn token_soup(rng: &mut StdRng) -> String {
    let mut text = String::new();
    if rng.random_bool(0.5) {
        text.push_str("syntax = \"proto3\";\n");
    }
    for _ in 0..rng.random_range(1..400) {
        text.push_str(KEYWORDS[rng.random_range(0..KEYWORDS.len())]);
        text.push(' ');
    }
    text
}

fn truncated(rng: &mut StdRng) -> String {
    let source = valid(rng);
    let mut cut = rng.random_range(0..source.len());
    while !source.is_char_boundary(cut) {
        cut -= 1;
    }
    source[..cut].to_owned()
}

/// Flips, inserts and deletes a few bytes; the result is made valid UTF-8
/// (a JSON string must be), replacement characters included.
fn flipped(rng: &mut StdRng) -> String {
    let mut bytes = valid(rng).as_bytes().to_vec();
    for _ in 0..rng.random_range(1..8) {
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..3) {
            0 => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes.insert(at, rng.random()),
            _ => {
                bytes.remove(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn deep_nesting(rng: &mut StdRng) -> String {
    let depth = [64, 500, 5_000, 50_000][rng.random_range(0..4)];
    let mut text = String::from("syntax = \"proto2\";\npackage deep;\n");
    match rng.random_range(0..4) {
        0 => {
            for i in 0..depth {
                text.push_str(&format!("message M{i} {{\n"));
            }
            text.push_str(&"}\n".repeat(depth));
        }
        1 => {
            text.push_str("import \"google/protobuf/descriptor.proto\";\nextend google.protobuf.MessageOptions { optional string o = 50000; }\nmessage M { option (o) = ");
            text.push_str(&"{ a: ".repeat(depth));
            text.push_str(&"}".repeat(depth));
            text.push_str("; }\n");
        }
        2 => {
            text.push_str("message M { optional group G = 1 { ");
            for i in 0..depth {
                text.push_str(&format!("optional group G{i} = 1 {{ "));
            }
            text.push_str(&"} ".repeat(depth + 1));
            text.push_str("}\n");
        }
        _ => {
            text.push_str("message M { optional int32 a = 1 [default = ");
            text.push_str(&"(".repeat(depth));
            text.push('1');
            text.push_str(&")".repeat(depth));
            text.push_str("]; }\n");
        }
    }
    text
}

fn huge_numbers(rng: &mut StdRng) -> String {
    const NUMBERS: &[&str] = &[
        "0",
        "-1",
        "536870911",
        "536870912",
        "2147483647",
        "2147483648",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999999999999999999",
        "0x7FFFFFFFFFFFFFFFFFFF",
        "0777777777777777777777777",
        "1e308",
        "1e309",
        "-1e-400",
        "19000",
        "19999",
    ];
    let mut pick = || NUMBERS[rng.random_range(0..NUMBERS.len())];
    let (a, b, c, d, e) = (pick(), pick(), pick(), pick(), pick());
    format!(
        "syntax = \"proto2\";\npackage huge;\nmessage M {{\n  optional int64 a = {a} [default = {b}];\n  optional double d = 2 [default = {c}];\n  extensions {d} to {e};\n  reserved {e} to max;\n}}\nenum E {{ option allow_alias = true; E0 = 0; E1 = {b}; E2 = -{c}; }}\n"
    )
}

fn odd_unicode(rng: &mut StdRng) -> String {
    const ODD: &[&str] = &[
        "\u{feff}",
        "\u{0}",
        "\u{202e}",
        "\u{200b}",
        "é",
        "e\u{301}",
        "😀",
        "Ω",
        "ß",
        "\u{7f}",
        "\u{fffd}",
        "\r",
        "\u{2028}",
        "\u{10ffff}",
    ];
    let source = valid(rng);
    let mut text = String::new();
    for ch in source.chars() {
        text.push(ch);
        if rng.random_bool(0.05) {
            text.push_str(ODD[rng.random_range(0..ODD.len())]);
        }
    }
    text
}

/// Lines of two valid files, shuffled together.
fn spliced(rng: &mut StdRng) -> String {
    let (a, b) = (valid(rng), valid(rng));
    let mut lines: Vec<&str> = a.lines().chain(b.lines()).collect();
    for i in (1..lines.len()).rev() {
        lines.swap(i, rng.random_range(0..=i));
    }
    lines.truncate(rng.random_range(1..=lines.len()));
    lines.join("\n")
}

/// A refusal is a problem with the code its status stands for.
fn assert_refusal(status: u16, body: &Value, case: &str) {
    let want = match status {
        400 => "invalid_argument",
        409 => "conflict",
        413 => "payload_too_large",
        422 => "compile_failed",
        _ => panic!("{case}: unexpected status {status}: {body}"),
    };
    assert_eq!(body["code"], want, "{case}: {body}");
    assert_eq!(body["status"], status, "{case}: {body}");
    assert!(body["detail"].is_string(), "{case}: {body}");
    if status == 422 {
        let errors = body["errors"].as_array().expect("compile errors");
        assert!(!errors.is_empty(), "{case}: {body}");
        for error in errors {
            assert!(
                error["file"].is_string()
                    && error["line"].is_u64()
                    && error["column"].is_u64()
                    && error["message"].is_string(),
                "{case}: {error}"
            );
        }
    }
}

fn version_count(server: &Server) -> usize {
    let (status, body) = server.get("/v1/namespaces/ns/schemas/fuzz/versions");
    match status {
        200 => body["versions"].as_array().unwrap().len(),
        404 => 0,
        _ => panic!("listing versions: {status} {body}"),
    }
}

#[test]
fn random_proto_text_never_breaks_publish() {
    let db = Db::sqlite();
    let mut server = Server::start(&db);
    server.money_staged("ns");
    let mut rng = StdRng::seed_from_u64(SEED);
    let (mut created, mut unchanged, mut refused) = (0, 0, 0);
    for case_number in 0..CASES * 7 {
        let generator = case_number % 7;
        let source = generate(&mut rng, generator);
        let path = ["fuzz/a.proto", "fuzz/deep/b.proto"][rng.random_range(0..2)];
        let case = format!("case {case_number} (generator {generator}, seed {SEED:#x})");
        let revision = server.revision("ns");
        let versions = version_count(&server);
        let response = server
            .http
            .post(server.url("/v1/namespaces/ns/schemas/fuzz/versions"))
            .json(&json!({ "sources": { path: source } }))
            .send();
        let response = match response {
            Ok(response) => response,
            Err(err) => panic!(
                "{case}: no answer ({err}); server running: {}\n{source}",
                server.is_running()
            ),
        };
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap_or(Value::Null);
        match status {
            200 | 201 => {
                if status == 201 {
                    created += 1;
                } else {
                    unchanged += 1;
                }
                assert_eq!(body["files"], json!([path]), "{case}: {body}");
                assert_eq!(body["no_change"], status == 200, "{case}: {body}");
            }
            _ => {
                refused += 1;
                assert_refusal(status, &body, &case);
                assert_eq!(
                    server.revision("ns"),
                    revision,
                    "{case}: a refused publish changed the namespace"
                );
                assert_eq!(
                    version_count(&server),
                    versions,
                    "{case}: a refused publish added a version"
                );
            }
        }
    }
    assert!(server.is_running(), "the server died");
    eprintln!("publish fuzz: {refused} refused, {created} created, {unchanged} unchanged");
    assert!(
        refused > CASES * 5,
        "the generators should mostly produce broken files: {refused} refused, {created} created"
    );
    assert_eq!(
        version_count(&server),
        created,
        "versions come from created publishes only"
    );
    // The namespace still works.
    server.invoice_staged("ns");
}

#[test]
fn a_publish_body_that_is_not_utf8_is_refused() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let mut rng = StdRng::seed_from_u64(SEED);
    for case_number in 0..32 {
        let mut body = b"{\"sources\": {\"fuzz/a.proto\": \"".to_vec();
        let mut source = MONEY_V1.as_bytes().to_vec();
        let at = rng.random_range(0..source.len());
        source.insert(at, [0xff, 0xc0, 0xed, 0x80][rng.random_range(0..4)]);
        body.extend(source.iter().flat_map(|b| match b {
            b'\n' => b"\\n".to_vec(),
            b'"' => b"\\\"".to_vec(),
            other => vec![*other],
        }));
        body.extend_from_slice(b"\"}}");
        let (status, problem) = server.post_raw("/v1/namespaces/ns/schemas/fuzz/versions", body);
        assert_refusal(status, &problem, &format!("non-UTF-8 case {case_number}"));
        assert_eq!(status, 400, "{problem}");
    }
    let (status, _) = server.get("/v1/namespaces/ns");
    assert_eq!(status, 404, "no refused publish created the namespace");
}
