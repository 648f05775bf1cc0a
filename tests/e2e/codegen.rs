//! Code generation on promote, against the real binary with Debian's real
//! `protoc-gen-go` configured as `[[plugins.protoc]]`: jobs queued by a
//! promote, their status, the stored artifacts, generation on demand, and
//! generators that fail without failing the promote.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use serde_json::{Value, json};

use crate::support::*;

const ADMIN: &str = "admin-secret-for-codegen";
const GO_PARAMETER: &str = "paths=source_relative";

const MONEY_GO: &str = "syntax = \"proto3\";\npackage common;\n\
    option go_package = \"example.com/shop/common;common\";\n\
    message Money {\n  int64 units = 1;\n  string currency = 2;\n}\n";
const NO_GO_PACKAGE: &str =
    "syntax = \"proto3\";\npackage plain;\nmessage Plain {\n  string id = 1;\n}\n";

/// `protoc-gen-go` on PATH; `None` (after saying so) when it is missing
/// outside CI. Under CI a missing generator fails the test.
fn protoc_gen_go() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("protoc-gen-go"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip_unless_ci("protoc-gen-go is not installed (Debian package protoc-gen-go)");
    }
    found
}

/// A config file: the admin token, no plugin libraries, and `go` (the real
/// protoc-gen-go), `broken` (exits 1), `slow` (never answers) and `missing`
/// (no such executable) as protoc generators.
fn write_config(dir: &Path, go: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let broken = dir.join("protoc-gen-broken");
    std::fs::write(
        &broken,
        "#!/bin/sh\ncat > /dev/null\necho 'broken on purpose' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Never answers within the call time limit below.
    let slow = dir.join("protoc-gen-slow");
    std::fs::write(&slow, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let libraries = dir.join("no-plugin-libraries");
    std::fs::create_dir_all(&libraries).unwrap();
    let config = dir.join("protoreg.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nadmin_token = \"{ADMIN}\"\n\n[plugins]\npaths = [{libraries:?}]\ncall_timeout_ms = 5000\n\n\
             [[plugins.protoc]]\nname = \"slow\"\npath = {slow:?}\n\n\
             [[plugins.protoc]]\nname = \"go\"\npath = {go:?}\n\n\
             [[plugins.protoc]]\nname = \"broken\"\npath = {broken:?}\n\n\
             [[plugins.protoc]]\nname = \"missing\"\npath = {missing:?}\n",
            libraries = libraries.display().to_string(),
            go = go.display().to_string(),
            broken = broken.display().to_string(),
            slow = slow.display().to_string(),
            missing = dir.join("protoc-gen-missing").display().to_string(),
        ),
    )
    .unwrap();
    config
}

fn admin(server: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    server.call(method, path, Some(ADMIN), body.as_ref())
}

/// Polls a job until it has finished, with a deadline.
fn finished_job(server: &Server, id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, job) = admin(server, "GET", &format!("/v1/jobs/{id}"), None);
        assert_eq!(status, 200, "{job}");
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never finished: {job}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The files of a gzip tar, by name.
fn untar(archive: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    tar.entries()
        .expect("a tar")
        .map(|entry| {
            let mut entry = entry.expect("an entry");
            assert_eq!(entry.header().mode().unwrap(), 0o644);
            assert_eq!(entry.header().mtime().unwrap(), 0);
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (entry.path().unwrap().display().to_string(), content)
        })
        .collect()
}

/// A `FileDescriptorSet`'s files as raw bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct RawSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

/// A `CodeGeneratorRequest` written as protoc would: the files to generate,
/// the parameter, and the descriptor set's files as they are.
#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(string, repeated, tag = "1")]
    file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    parameter: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "15")]
    proto_file: Vec<Vec<u8>>,
}

/// Runs protoc-gen-go ourselves on the version's served descriptor set.
fn run_protoc_gen_go(
    go: &Path,
    descriptor_set: &[u8],
    files: &[&str],
) -> BTreeMap<String, Vec<u8>> {
    let set = RawSet::decode(descriptor_set).expect("a FileDescriptorSet");
    let request = RawRequest {
        file_to_generate: files.iter().map(|f| f.to_string()).collect(),
        parameter: Some(GO_PARAMETER.into()),
        proto_file: set.file,
    };
    let mut child = Command::new(go)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run protoc-gen-go");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&request.encode_to_vec())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let response =
        prost_types::compiler::CodeGeneratorResponse::decode(output.stdout.as_slice()).unwrap();
    assert_eq!(response.error, None);
    response
        .file
        .into_iter()
        .map(|f| {
            (
                f.name.unwrap_or_default(),
                f.content.unwrap_or_default().into_bytes(),
            )
        })
        .collect()
}

#[test]
fn promote_generates_go_code_and_failing_generators_fail_only_their_jobs() {
    let Some(go) = protoc_gen_go() else { return };
    on_each_backend(|db| {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start_with_config(db, &write_config(dir.path(), &go));

        // Settings name only generators the server has.
        let (status, body) = admin(&server, "PUT", "/v1/namespaces/shop", Some(json!({})));
        assert_eq!(status, 201, "{body}");
        let (status, body) = admin(
            &server,
            "PUT",
            "/v1/namespaces/shop/settings",
            Some(json!({"codegen": [{"plugin": "cobol", "parameter": ""}]})),
        );
        assert_problem_detail(status, &body, 400, "invalid_argument", "cobol");
        let (status, body) = admin(
            &server,
            "PUT",
            "/v1/namespaces/shop/settings",
            Some(
                json!({"codegen": [{"plugin": "go", "parameter": GO_PARAMETER}, {"plugin": "broken"}]}),
            ),
        );
        assert_eq!(status, 200, "{body}");

        let (status, body) = admin(
            &server,
            "POST",
            "/v1/namespaces/shop/schemas/money/versions",
            Some(json!({"sources": {"common/money.proto": MONEY_GO}})),
        );
        assert_eq!(status, 201, "{body}");
        let (status, promoted) = admin(&server, "POST", "/v1/namespaces/shop/promote", None);
        assert_eq!(
            status, 200,
            "a failing generator never fails the promote: {promoted}"
        );
        let jobs = promoted["jobs"].as_array().expect("jobs").clone();
        assert_eq!(jobs.len(), 2, "{promoted}");
        let (_, schema) = admin(&server, "GET", "/v1/namespaces/shop/schemas/money", None);
        assert_eq!(schema["current_version"], 1, "{schema}");

        let go_job = finished_job(&server, &jobs[0]);
        assert_eq!(go_job["status"], "succeeded", "{go_job}");
        for (key, expected) in [
            ("kind", json!("codegen")),
            ("namespace", json!("shop")),
            ("schema", json!("money")),
            ("version", json!(1)),
            ("plugin", json!("go")),
            ("parameter", json!(GO_PARAMETER)),
        ] {
            assert_eq!(go_job[key], expected, "{key}: {go_job}");
        }
        assert!(
            go_job["created_at"].is_string()
                && go_job["started_at"].is_string()
                && go_job["finished_at"].is_string(),
            "{go_job}"
        );
        let broken_job = finished_job(&server, &jobs[1]);
        assert_eq!(broken_job["status"], "failed", "{broken_job}");
        assert!(
            broken_job["log"]
                .as_str()
                .unwrap()
                .contains("broken on purpose"),
            "{broken_job}"
        );

        // The stored artifact: exactly what protoc-gen-go writes for the
        // same request.
        let generated = server.request("GET",
            "/v1/namespaces/shop/schemas/money/versions/1/generated/go?parameter=paths%3Dsource_relative",
            Some(ADMIN),
            None,
        );
        assert_eq!(generated.status(), 200);
        assert_eq!(generated.headers()["content-type"], "application/gzip");
        assert!(
            generated.headers().get("x-protoreg-job").is_none(),
            "served from the artifact, no new job"
        );
        let files = untar(&generated.bytes().unwrap());
        let descriptor = server
            .request(
                "GET",
                "/v1/namespaces/shop/schemas/money/versions/1/descriptor",
                Some(ADMIN),
                None,
            )
            .bytes()
            .unwrap();
        let expected = run_protoc_gen_go(&go, &descriptor, &["common/money.proto"]);
        assert_eq!(files.keys().collect::<Vec<_>>(), ["common/money.pb.go"]);
        assert_eq!(files, expected, "byte for byte what protoc-gen-go writes");
        let code = String::from_utf8(files["common/money.pb.go"].clone()).unwrap();
        assert!(
            code.contains("\npackage common\n") && code.contains("type Money struct"),
            "{code}"
        );

        // On demand: a version without an artifact is generated, stored
        // (a job records it) and served; the next time it is stored.
        let v2 = MONEY_GO.replace(
            "string currency = 2;",
            "string currency = 2;\n  int32 nanos = 3;",
        );
        let (status, body) = admin(
            &server,
            "POST",
            "/v1/namespaces/shop/schemas/money/versions",
            Some(json!({"sources": {"common/money.proto": v2}})),
        );
        assert_eq!(status, 201, "{body}");
        let path = "/v1/namespaces/shop/schemas/money/versions/staged/generated/go?parameter=paths%3Dsource_relative";
        let fresh = server.request("GET", path, Some(ADMIN), None);
        assert_eq!(fresh.status(), 200);
        let job = fresh.headers()["x-protoreg-job"]
            .to_str()
            .unwrap()
            .to_owned();
        let fresh_files = untar(&fresh.bytes().unwrap());
        assert!(
            String::from_utf8_lossy(&fresh_files["common/money.pb.go"]).contains("Nanos"),
            "version 2's code"
        );
        let (_, on_demand) = admin(&server, "GET", &format!("/v1/jobs/{job}"), None);
        assert_eq!(
            (on_demand["status"].as_str(), on_demand["version"].as_i64()),
            (Some("succeeded"), Some(2)),
            "{on_demand}"
        );
        let again = server.request("GET", path, Some(ADMIN), None);
        assert_eq!(again.status(), 200);
        assert!(
            again.headers().get("x-protoreg-job").is_none(),
            "stored the first time"
        );
        assert_eq!(untar(&again.bytes().unwrap()), fresh_files);

        // Errors: an unknown generator, a failing one, bad job ids.
        let (status, body) = admin(
            &server,
            "GET",
            "/v1/namespaces/shop/schemas/money/versions/1/generated/cobol",
            None,
        );
        assert_problem(status, &body, 404, "not_found");
        let (status, body) = admin(
            &server,
            "GET",
            "/v1/namespaces/shop/schemas/money/versions/1/generated/broken",
            None,
        );
        assert_problem_detail(status, &body, 422, "invalid_argument", "broken on purpose");
        let (status, body) = admin(
            &server,
            "GET",
            "/v1/namespaces/shop/schemas/money/versions/1/generated/slow",
            None,
        );
        assert_problem_detail(status, &body, 503, "unavailable", "did not answer");
        // A generator the server cannot start is the server's problem.
        let (status, body) = admin(
            &server,
            "GET",
            "/v1/namespaces/shop/schemas/money/versions/1/generated/missing",
            None,
        );
        assert_problem_detail(status, &body, 503, "unavailable", "cannot start");
        let (status, body) = admin(&server, "GET", "/v1/jobs/not-a-number", None);
        assert_problem(status, &body, 400, "invalid_argument");
        let (status, body) = admin(&server, "GET", "/v1/jobs/987654", None);
        assert_problem(status, &body, 404, "not_found");

        // A proto without go_package: protoc-gen-go refuses it, the job
        // fails, the promote succeeds, and on demand it is a 422.
        admin(
            &server,
            "PUT",
            "/v1/namespaces/plain",
            Some(json!({"settings": {"codegen": [{"plugin": "go"}]}})),
        );
        let (status, body) = admin(
            &server,
            "POST",
            "/v1/namespaces/plain/schemas/plain/versions",
            Some(json!({"sources": {"plain/plain.proto": NO_GO_PACKAGE}})),
        );
        assert_eq!(status, 201, "{body}");
        let (status, promoted) = admin(&server, "POST", "/v1/namespaces/plain/promote", None);
        assert_eq!(status, 200, "{promoted}");
        let refused = finished_job(&server, &promoted["jobs"][0]);
        assert_eq!(refused["status"], "failed", "{refused}");
        assert!(
            refused["log"].as_str().unwrap().contains("Go import path"),
            "{refused}"
        );
        let (status, body) = admin(
            &server,
            "GET",
            "/v1/namespaces/plain/schemas/plain/versions/1/generated/go",
            None,
        );
        assert_problem_detail(status, &body, 422, "invalid_argument", "Go import path");
    });
}

#[test]
fn a_job_is_read_by_those_who_may_read_its_namespace() {
    let Some(go) = protoc_gen_go() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let server = Server::start_with_config(&db, &write_config(dir.path(), &go));
    admin(
        &server,
        "PUT",
        "/v1/namespaces/team",
        Some(json!({"settings": {"codegen": [{"plugin": "go", "parameter": GO_PARAMETER}]}})),
    );
    admin(&server, "PUT", "/v1/namespaces/other", Some(json!({})));
    let (status, body) = admin(
        &server,
        "POST",
        "/v1/namespaces/team/schemas/money/versions",
        Some(json!({"sources": {"common/money.proto": MONEY_GO}})),
    );
    assert_eq!(status, 201, "{body}");
    let (_, promoted) = admin(&server, "POST", "/v1/namespaces/team/promote", None);
    let job = promoted["jobs"][0].clone();
    let token = |namespace: &str, role: &str| {
        let (status, created) = admin(
            &server,
            "POST",
            "/v1/tokens",
            Some(
                json!({"name": format!("{role}@{namespace}"), "roles": [{"namespace": namespace, "role": role}]}),
            ),
        );
        assert_eq!(status, 201, "{created}");
        created["token"].as_str().unwrap().to_owned()
    };
    let reader = token("team", "read");
    let other_admin = token("other", "admin");
    let path = format!("/v1/jobs/{job}");
    let (status, body) = server.call("GET", &path, None, None);
    assert_problem(status, &body, 401, "unauthenticated");
    // A job in a namespace the caller cannot read is not found, exactly as
    // a job that does not exist: the answer tells nothing about its id.
    let (status, body) = server.call("GET", &path, Some(&other_admin), None);
    assert_problem(status, &body, 404, "not_found");
    let missing = job.as_i64().unwrap() + 1000;
    let (missing_status, missing_body) = server.call(
        "GET",
        &format!("/v1/jobs/{missing}"),
        Some(&other_admin),
        None,
    );
    assert_problem(missing_status, &missing_body, 404, "not_found");
    assert_eq!(
        body["detail"]
            .as_str()
            .unwrap()
            .replace(&job.to_string(), "N"),
        missing_body["detail"]
            .as_str()
            .unwrap()
            .replace(&missing.to_string(), "N"),
    );
    let (status, body) = server.call("GET", &path, Some(&reader), None);
    assert_eq!(
        (status, body["namespace"].as_str()),
        (200, Some("team")),
        "{body}"
    );
    let generated = format!(
        "/v1/namespaces/team/schemas/money/versions/1/generated/go?parameter={GO_PARAMETER}"
    );
    assert_eq!(
        server
            .request("GET", &generated, Some(&other_admin), None)
            .status(),
        403
    );
    assert_eq!(
        server
            .request("GET", &generated, Some(&reader), None)
            .status(),
        200
    );
}

/// Builds the Go package in `dir` of a module `example.com/gen` rooted at
/// `root`, offline, against Debian's protobuf-go; `None` (after saying so)
/// when Go or protobuf-go is missing outside CI.
fn go_build(root: &Path, package: &str) -> Option<()> {
    const GOCODE: &str = "/usr/share/gocode/src";
    let go = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("go"))
            .find(|p| p.is_file())
    });
    let protobuf = Path::new(GOCODE).join("google.golang.org/protobuf/go.mod");
    let (Some(go), true) = (go, protobuf.is_file()) else {
        skip_unless_ci(
            "go or protobuf-go is missing (Debian golang-go golang-google-protobuf-dev)",
        );
        return None;
    };
    // Modules in protobuf-go's (go 1.11, unpruned) graph that Debian does
    // not ship and nothing compiled imports: empty stand-ins.
    let mut go_mod = format!(
        "module example.com/gen\n\ngo 1.19\n\nrequire google.golang.org/protobuf v1.28.1\n\n\
         replace google.golang.org/protobuf => {GOCODE}/google.golang.org/protobuf\n"
    );
    for stub in ["github.com/golang/protobuf", "github.com/google/go-cmp"] {
        let dir = root.join("stubs").join(stub);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("go.mod"), format!("module {stub}\n")).unwrap();
        go_mod.push_str(&format!("replace {stub} => {}\n", dir.display()));
    }
    std::fs::write(root.join("go.mod"), go_mod).unwrap();
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/go-build-cache");
    let output = Command::new(go)
        .args(["build", &format!("./{package}")])
        .current_dir(root)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOSUMDB", "off")
        .env("GO111MODULE", "on")
        .env("GOPATH", root.join("gopath"))
        .env("GOCACHE", cache)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "go build failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(())
}

/// Managed mode: with `go_package_prefix` a proto without `go_package`
/// generates (protoc-gen-go gets `M` mappings) and the code builds; a proto
/// with its own `go_package` generates exactly what it generates without
/// managed mode.
#[test]
fn go_package_prefix_generates_go_without_go_package_in_the_protos() {
    let Some(go) = protoc_gen_go() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let server = Server::start_with_config(&db, &write_config(dir.path(), &go));
    let managed =
        json!({"plugin": "go", "parameter": GO_PARAMETER, "go_package_prefix": "example.com/gen"});
    for (ns, target) in [
        ("managed", managed),
        (
            "unmanaged",
            json!({"plugin": "go", "parameter": GO_PARAMETER}),
        ),
    ] {
        let (status, body) = admin(
            &server,
            "PUT",
            &format!("/v1/namespaces/{ns}"),
            Some(json!({"settings": {"codegen": [target]}})),
        );
        assert_eq!(status, 201, "{body}");
        let (status, body) = admin(
            &server,
            "POST",
            &format!("/v1/namespaces/{ns}/schemas/money/versions"),
            Some(json!({"sources": {"common/money.proto": MONEY_GO}})),
        );
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = admin(
        &server,
        "POST",
        "/v1/namespaces/managed/schemas/plain/versions",
        Some(json!({"sources": {"plain/v1/plain.proto": NO_GO_PACKAGE}})),
    );
    assert_eq!(status, 201, "{body}");
    let mut archives = BTreeMap::new();
    for ns in ["managed", "unmanaged"] {
        let (status, promoted) = admin(
            &server,
            "POST",
            &format!("/v1/namespaces/{ns}/promote"),
            None,
        );
        assert_eq!(status, 200, "{promoted}");
        for job in promoted["jobs"].as_array().unwrap() {
            let job = finished_job(&server, job);
            assert_eq!(job["status"], "succeeded", "{ns}: {job}");
        }
        let schemas: &[&str] = if ns == "managed" {
            &["money", "plain"]
        } else {
            &["money"]
        };
        for schema in schemas {
            let parameter = if ns == "managed" {
                format!("{GO_PARAMETER},go_package_prefix=example.com/gen")
            } else {
                GO_PARAMETER.to_owned()
            };
            let response = server.request(
                "GET",
                &format!("/v1/namespaces/{ns}/schemas/{schema}/versions/1/generated/go?parameter={parameter}"),
                Some(ADMIN),
                None,
            );
            assert_eq!(response.status(), 200, "{ns}/{schema}");
            assert!(
                response.headers().get("x-protoreg-job").is_none(),
                "{ns}/{schema}: the promote's job stored it"
            );
            archives.insert(format!("{ns}/{schema}"), untar(&response.bytes().unwrap()));
        }
    }
    // An explicit go_package is kept, byte for byte.
    assert_eq!(archives["managed/money"], archives["unmanaged/money"]);
    let plain = &archives["managed/plain"];
    let source = String::from_utf8(plain["plain/v1/plain.pb.go"].clone()).unwrap();
    // The package name of the derived import path example.com/gen/plain/v1.
    assert!(source.contains("\npackage v1\n"), "{source}");
    let module = tempfile::tempdir().unwrap();
    for (name, bytes) in plain {
        let path = module.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    go_build(module.path(), "plain/v1");
}
