//! Generated hostile sources against the real binary: deep nesting in every
//! recursive position of the grammar, long dotted names, huge counts. Each
//! is refused with a stable code (or accepted when it is legitimate), the
//! server stays alive and ready, nothing changes, and the server's peak
//! resident memory stays under a bound.
//!
//! (A 2,000-level option value used to overflow the compile thread's stack
//! and abort the process; a 200 KB dotted package cost 33 s and 9.9 GB.)

use serde_json::{Value, json};

use crate::support::*;

/// The server's peak resident set may not exceed this. An idle server
/// needs a few tens of MB; a compile of the largest accepted input a few
/// more.
const MAX_PEAK_RSS_BYTES: u64 = 512 << 20;

const OPTIONS_HEADER: &str = "syntax = \"proto3\";\npackage o;\n\
import \"google/protobuf/descriptor.proto\";\n\
message Cfg { Cfg c = 1; int32 v = 2; repeated Cfg l = 3; }\n\
extend google.protobuf.FileOptions { Cfg file_cfg = 50000; }\n\
extend google.protobuf.MessageOptions { Cfg msg_cfg = 50000; }\n\
extend google.protobuf.FieldOptions { Cfg field_cfg = 50000; }\n\
extend google.protobuf.OneofOptions { Cfg oneof_cfg = 50000; }\n\
extend google.protobuf.EnumOptions { Cfg enum_cfg = 50000; }\n\
extend google.protobuf.EnumValueOptions { Cfg value_cfg = 50000; }\n\
extend google.protobuf.ServiceOptions { Cfg service_cfg = 50000; }\n\
extend google.protobuf.MethodOptions { Cfg method_cfg = 50000; }\n";

/// An option value `levels` deep in one of the three forms.
fn value(levels: usize, form: &str) -> String {
    match form {
        "braces" => format!("{}{{v:1}}{}", "{c:".repeat(levels), "}".repeat(levels)),
        // An option's value itself must be in braces; inside, `<…>` nests.
        "angles" => format!("{{c:{}<v:1>{}}}", "<c:".repeat(levels), ">".repeat(levels)),
        "lists" => format!("{}{{v:1}}{}", "{l:[".repeat(levels), "]}".repeat(levels)),
        _ => unreachable!("form {form}"),
    }
}

/// One file per recursive position, `levels` deep.
fn deep_sources(levels: usize) -> Vec<(String, String)> {
    let mut cases = Vec::new();
    for form in ["braces", "angles", "lists"] {
        let v = value(levels, form);
        let options = [
            ("file", format!("option (file_cfg) = {v};\n")),
            (
                "message",
                format!("message M {{ option (msg_cfg) = {v}; }}\n"),
            ),
            (
                "field",
                format!("message M {{ int32 f = 1 [(field_cfg) = {v}]; }}\n"),
            ),
            (
                "oneof",
                format!("message M {{ oneof o {{ option (oneof_cfg) = {v}; int32 f = 1; }} }}\n"),
            ),
            (
                "enum",
                format!("enum E {{ option (enum_cfg) = {v}; E0 = 0; }}\n"),
            ),
            (
                "value",
                format!("enum E {{ E0 = 0 [(value_cfg) = {v}]; }}\n"),
            ),
            (
                "service",
                format!("service S {{ option (service_cfg) = {v}; }}\n"),
            ),
            (
                "method",
                format!(
                    "service S {{ rpc R(Cfg) returns (Cfg) {{ option (method_cfg) = {v}; }} }}\n"
                ),
            ),
        ];
        for (position, text) in options {
            cases.push((
                format!("{position} option, {form}"),
                format!("{OPTIONS_HEADER}{text}"),
            ));
        }
    }
    cases.push((
        "nested messages".into(),
        format!(
            "syntax = \"proto3\";\npackage p;\n{}{}\n",
            "message M { ".repeat(levels),
            "}".repeat(levels)
        ),
    ));
    cases.push((
        "nested groups".into(),
        format!(
            "syntax = \"proto2\";\npackage g;\nmessage M {{ {}{} }}\n",
            "optional group G = 1 { ".repeat(levels),
            "}".repeat(levels)
        ),
    ));
    cases.push((
        "nested enums in messages".into(),
        format!(
            "syntax = \"proto3\";\npackage e;\n{}enum E {{ E0 = 0; }}{}\n",
            "message M { ".repeat(levels),
            "}".repeat(levels)
        ),
    ));
    cases.push((
        "parentheses".into(),
        format!(
            "syntax = \"proto3\";\noption {}x{} = 1;\n",
            "(".repeat(levels),
            ")".repeat(levels)
        ),
    ));
    cases
}

fn sources(path: &str, text: &str) -> Value {
    json!({ "sources": { path: text } })
}

fn peak_rss_bytes(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()))
        .expect("the server's /proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status");
    kib * 1024
}

fn assert_peak_rss_bounded(server: &Server) {
    let peak = peak_rss_bytes(server);
    assert!(
        peak <= MAX_PEAK_RSS_BYTES,
        "peak resident memory {} MiB over the bound {} MiB",
        peak >> 20,
        MAX_PEAK_RSS_BYTES >> 20
    );
}

#[test]
fn deep_nesting_in_every_position_is_refused_and_the_server_lives() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let (status, body) = server.publish("ns", "keep", &[("keep/a.proto", MONEY_V1)]);
    assert_eq!(status, 201, "{body}");
    let revision = server.revision("ns");

    for levels in [150, 2_000, 20_000] {
        for (case, text) in deep_sources(levels) {
            let publish = "/v1/namespaces/ns/schemas/deep/versions";
            let (status, body) = server.post(publish, sources("deep/d.proto", &text));
            assert_eq!(status, 422, "{case} at {levels}: {body}");
            assert_eq!(body["code"], "compile_failed", "{case}: {body}");
            let error = &body["errors"][0];
            assert_eq!(error["file"], "deep/d.proto", "{case}: {body}");
            assert!(error["line"].as_u64() > Some(0), "{case}: {body}");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .contains("nesting deeper than 100"),
                "{case}: {body}"
            );
            // The dry run reports the same as data.
            let check = "/v1/namespaces/ns/schemas/deep/check";
            let (status, body) = server.post(check, sources("deep/d.proto", &text));
            assert_eq!(status, 200, "{case}: {body}");
            assert_eq!(body["compatible"], false, "{case}: {body}");
            assert_eq!(body["errors"][0]["file"], "deep/d.proto", "{case}: {body}");
        }
        assert_alive(&server);
    }
    assert_eq!(
        server.revision("ns"),
        revision,
        "a refused publish changed the namespace"
    );
    let (status, body) = server.get("/v1/namespaces/ns/schemas/deep");
    assert_eq!(status, 404, "{body}");

    // Within the bound, the same shapes publish (the limit is not a wall
    // in front of legitimate depth).
    for (case, text) in deep_sources(30) {
        if case == "parentheses" {
            continue; // not valid at any depth
        }
        let (status, body) = server.post(
            "/v1/namespaces/ok/schemas/deep/versions",
            sources("deep/d.proto", &text),
        );
        assert!(
            status == 201 || status == 200,
            "{case} at 30 levels: {body}"
        );
    }
    assert_alive(&server);
    assert_peak_rss_bounded(&server);
}

#[test]
fn long_names_are_refused_quickly_and_protocs_limits_pass() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let publish = |schema: &str, text: &str| {
        server.post(
            &format!("/v1/namespaces/ns/schemas/{schema}/versions"),
            sources(&format!("{schema}/n.proto"), text),
        )
    };
    let dotted = |segments: usize| vec!["a"; segments].join(".");

    // What protoc accepts is accepted: a 100-segment package, a 511-byte one.
    let (status, body) = publish(
        "deep",
        &format!(
            "syntax = \"proto3\";\npackage {};\nmessage M {{}}\n",
            dotted(100)
        ),
    );
    assert_eq!(status, 201, "{body}");
    let long = "p".repeat(511);
    let (status, body) = publish(
        "long",
        &format!("syntax = \"proto3\";\npackage {long};\nmessage M {{}}\n"),
    );
    assert_eq!(status, 201, "{body}");
    let revision = server.revision("ns");

    let hostile = [
        (
            "a 200 KB package",
            format!(
                "syntax = \"proto3\";\npackage {};\nmessage M {{}}\n",
                dotted(100_000)
            ),
        ),
        (
            "a 101-segment package",
            format!(
                "syntax = \"proto3\";\npackage {};\nmessage M {{}}\n",
                dotted(101)
            ),
        ),
        (
            "a 512-byte package",
            format!(
                "syntax = \"proto3\";\npackage {};\nmessage M {{}}\n",
                "p".repeat(512)
            ),
        ),
        (
            "a long type reference",
            format!(
                "syntax = \"proto3\";\nmessage M {{ .{} f = 1; }}\n",
                dotted(100_000)
            ),
        ),
        (
            "a long relative reference",
            format!(
                "syntax = \"proto3\";\nmessage M {{ {} f = 1; }}\n",
                dotted(5_000)
            ),
        ),
        (
            "a long option name",
            format!("syntax = \"proto3\";\noption ({}).b = 1;\n", dotted(50_000)),
        ),
        (
            "a long extension name in an option value",
            format!(
                "syntax = \"proto3\";\nmessage M {{ option (x) = {{ [{}]: 1 }}; }}\n",
                dotted(50_000)
            ),
        ),
        (
            "a 1 MB identifier",
            format!(
                "syntax = \"proto3\";\nmessage {} {{}}\n",
                "m".repeat(1 << 20)
            ),
        ),
        (
            "long names nested into a long full name",
            format!(
                "syntax = \"proto3\";\npackage p;\n{}{}\n",
                format!("message {} {{ ", "n".repeat(1000)).repeat(10),
                "}".repeat(10)
            ),
        ),
        (
            "short fields in a long scope",
            format!(
                "syntax = \"proto3\";\npackage {};\n{}{}{}\n",
                vec!["p".repeat(100); 5].join("."),
                format!("message {} {{ ", "m".repeat(1000)).repeat(3),
                (1..20_000)
                    .map(|i| format!("int32 f{i}={i};"))
                    .collect::<String>(),
                "}".repeat(3)
            ),
        ),
    ];
    for (case, text) in &hostile {
        let started = std::time::Instant::now();
        let (status, body) = publish("hostile", text);
        assert_eq!(status, 400, "{case}: {body}");
        assert_eq!(body["code"], "invalid_argument", "{case}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .starts_with("hostile/n.proto:"),
            "{case}: the message is located: {body}"
        );
        let (status, body) = server.post(
            "/v1/namespaces/ns/schemas/hostile/check",
            sources("hostile/n.proto", text),
        );
        assert_eq!(status, 400, "{case}: {body}");
        assert_alive(&server);
        eprintln!("{case}: refused in {:?}", started.elapsed());
    }
    assert_eq!(server.revision("ns"), revision);
    assert_peak_rss_bounded(&server);
}

/// 2,500 messages of 10 fields: about 500 KB of source, which the
/// compiler needs about 300 MB to compile (measured on the debug build).
fn big_file() -> String {
    let mut text = String::from("syntax = \"proto3\";\npackage big;\n");
    for m in 0..2_500 {
        text.push_str(&format!("message M{m} {{"));
        for f in 1..=10 {
            text.push_str(&format!(" int32 f{f} = {f};"));
        }
        text.push_str(" }\n");
    }
    text
}

#[test]
fn huge_counts_stay_within_time_and_memory() {
    // Compiles run at most one per core: six large publishes at once (each
    // in its own namespace, so no actor serializes them) peak at about
    // 0.85 GB on 2 cores, where running all six together would need six
    // compilers' memory at once.
    const MAX_PEAK: u64 = 1536 << 20;
    let db = Db::sqlite();
    let server = Server::start(&db);
    let text = big_file();
    std::thread::scope(|threads| {
        for n in 0..6 {
            let (server, text) = (&server, &text);
            threads.spawn(move || {
                let (status, body) = server.post(
                    &format!("/v1/namespaces/big{n}/schemas/big/versions"),
                    sources("big/big.proto", text),
                );
                assert_eq!(status, 201, "{body}");
            });
        }
    });
    // 1,000 files, the default file limit, publish; one more is refused
    // before anything compiles.
    let files: serde_json::Map<String, Value> = (0..1000)
        .map(|i| {
            (
                format!("many/f{i}.proto"),
                Value::String(format!(
                    "syntax = \"proto3\";\npackage many.f{i};\nmessage M {{}}\n"
                )),
            )
        })
        .collect();
    let (status, body) = server.post(
        "/v1/namespaces/many/schemas/many/versions",
        json!({ "sources": files }),
    );
    assert_eq!(status, 201, "{body}");
    let mut files = files;
    files.insert(
        "many/extra.proto".into(),
        Value::String("syntax = \"proto3\";".into()),
    );
    let (status, body) = server.post(
        "/v1/namespaces/many/schemas/many/versions",
        json!({ "sources": files }),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(server.promote("many").0, 200);
    assert_alive(&server);
    let peak = peak_rss_bytes(&server);
    assert!(peak <= MAX_PEAK, "peak resident memory {} MiB", peak >> 20);
}
