//! Code generation: archives, generator output, settings, and the job
//! lifecycle on real databases with real `protoc-gen-*` executables (small
//! shell scripts that speak the protoc plugin protocol).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use prost::Message;
use protoreg_plugin_sdk::CodeGeneratorResponse;
use serde_json::json;

use super::*;
use crate::ids::NamespaceId;
use crate::ops::PublishRequest;
use crate::plugin::{NoObserver, PluginConfig, ProtocGenerator};
use crate::registry::{Registry, VersionRef};
use crate::test_support::{TestDb, on_each_backend};

fn file(name: Option<&str>, content: &str) -> prost_types::compiler::code_generator_response::File {
    prost_types::compiler::code_generator_response::File {
        name: name.map(str::to_owned),
        content: Some(content.to_owned()),
        ..Default::default()
    }
}

/// `(name, mode, mtime, uid, gid, username, content)` of every entry.
type Entry = (String, u32, u64, u64, u64, Option<String>, Vec<u8>);

fn entries(archive: &[u8]) -> Vec<Entry> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    tar.entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let header = entry.header().clone();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (
                entry.path().unwrap().display().to_string(),
                header.mode().unwrap(),
                header.mtime().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                header
                    .username()
                    .ok()
                    .flatten()
                    .filter(|u| !u.is_empty())
                    .map(str::to_owned),
                content,
            )
        })
        .collect()
}

#[test]
fn archives_are_sorted_and_depend_only_on_names_and_bytes() {
    let long = format!("{}/deep.txt", "d".repeat(150));
    let files: BTreeMap<String, Vec<u8>> = [
        ("z.txt".to_owned(), b"last".to_vec()),
        ("a/b.go".to_owned(), b"package b\n".to_vec()),
        (long.clone(), b"long name".to_vec()),
    ]
    .into_iter()
    .collect();
    let first = archive(&files).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let second = archive(&files).unwrap();
    assert_eq!(first, second, "the same files give the same bytes");
    // gzip header: no modification time, no file name.
    assert_eq!(&first[4..8], &[0, 0, 0, 0]);
    assert_eq!(first[3] & 0x08, 0, "no FNAME flag");
    let listed = entries(&first);
    let names: Vec<&str> = listed.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["a/b.go", long.as_str(), "z.txt"]);
    for (name, mode, mtime, uid, gid, user, _) in &listed {
        assert_eq!((*mode, *mtime, *uid, *gid), (0o644, 0, 0, 0), "{name}");
        assert_eq!(user, &None, "{name}");
    }
    assert_eq!(listed[2].6, b"last");
}

#[test]
fn output_files_join_continuations_and_refuse_what_cannot_be_archived() {
    let response = CodeGeneratorResponse {
        file: vec![
            file(Some("x/a.go"), "one"),
            file(None, "+two"),
            file(Some("b.go"), "b"),
        ],
        ..Default::default()
    };
    let files = output_files(&response).unwrap();
    assert_eq!(files["x/a.go"], b"one+two");
    assert_eq!(files["b.go"], b"b");

    let refused = |files: Vec<prost_types::compiler::code_generator_response::File>| {
        output_files(&CodeGeneratorResponse {
            file: files,
            ..Default::default()
        })
        .unwrap_err()
    };
    for bad in ["../escape.go", "/abs.go", "a//b.go", "a\\b.go", "./a.go"] {
        assert!(
            refused(vec![file(Some(bad), "")]).contains("invalid file name"),
            "{bad}"
        );
    }
    assert!(refused(vec![file(Some("a.go"), ""), file(Some("a.go"), "")]).contains("twice"));
    assert!(refused(vec![file(None, "x")]).contains("no name"));
    let mut insertion = file(Some("a.go"), "x");
    insertion.insertion_point = Some("imports".into());
    assert!(refused(vec![insertion]).contains("insertion point"));
    let rejected = CodeGeneratorResponse {
        error: Some("no go_package".into()),
        ..Default::default()
    };
    assert_eq!(output_files(&rejected).unwrap_err(), "no go_package");
}

#[test]
fn targets_are_read_from_settings_without_repeats() {
    let settings = json!({"codegen": [
        {"plugin": "go", "parameter": "paths=source_relative"},
        {"plugin": "go", "parameter": "paths=source_relative", "output": "gen/"},
        {"plugin": "python"},
    ]});
    let targets = targets_of(&settings);
    assert_eq!(
        targets,
        [
            JobTarget {
                plugin: "go".into(),
                parameter: "paths=source_relative".into()
            },
            JobTarget {
                plugin: "python".into(),
                parameter: String::new()
            },
        ]
    );
    assert!(targets_of(&json!({"compat": {}})).is_empty());
}

#[test]
fn settings_name_only_known_generators() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_with(dir.path(), &[("echo", "/bin/true")]);
    assert!(validate_settings(&json!({"codegen": [{"plugin": "echo"}]}), &host).is_ok());
    assert!(validate_settings(&json!({}), &host).is_ok());
    for (bad, expected) in [
        (
            json!({"codegen": [{"plugin": "nope"}]}),
            "no code generator named \"nope\"",
        ),
        (json!({"codegen": [{"plugin": ""}]}), "needs a plugin name"),
        (json!({"codegen": {"plugin": "echo"}}), "must be a list"),
        (
            json!({"codegen": [{"plugin": "echo", "paramter": "x"}]}),
            "unknown field",
        ),
        (
            json!({"codegen": [{"plugin": "echo", "parameter": 3}]}),
            "must be a string",
        ),
    ] {
        let err = validate_settings(&bad, &host).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
        assert!(err.to_string().contains(expected), "{bad}: {err}");
    }
}

// ---- the job lifecycle ------------------------------------------------------

/// A plugin host with only these `protoc-gen-*` executables.
fn host_with(dir: &Path, generators: &[(&str, &str)]) -> PluginHost {
    let config = PluginConfig {
        // An empty directory: no plugin libraries.
        paths: vec![dir.join("no-libraries")],
        call_timeout_ms: 20_000,
        protoc: generators
            .iter()
            .map(|(name, path)| ProtocGenerator::new(*name, *path))
            .collect(),
        ..PluginConfig::default()
    };
    std::fs::create_dir_all(dir.join("no-libraries")).unwrap();
    PluginHost::load(&config, Arc::new(NoObserver))
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

/// `CodeGeneratorResponse { file: [{name: "out.txt", content: "hello"}] }`
/// and `CodeGeneratorResponse { error: "bad input" }`, as printf octal.
const HELLO_RESPONSE: &str = r"\172\020\012\007out.txt\172\005hello";
const ERROR_RESPONSE: &str = r"\012\011bad input";

const OWNED_MONEY: &str = "syntax = \"proto3\";\npackage common;\n\
    import \"google/protobuf/descriptor.proto\";\n\
    extend google.protobuf.MessageOptions { string owner = 50001; }\n\
    message Money { option (owner) = \"payments\"; int64 units = 1; }\n";

/// The raw `proto_file` entries of a request.
#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(string, repeated, tag = "1")]
    file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    parameter: Option<String>,
    #[prost(bytes = "bytes", repeated, tag = "15")]
    proto_file: Vec<bytes::Bytes>,
}

async fn finished(registry: &Registry, id: i64) -> crate::registry::JobInfo {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = registry.job(id).await.unwrap();
        if job.status == "succeeded" || job.status == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} still {}", job.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn promote_queues_jobs_that_the_worker_runs_and_a_failing_generator_fails_only_its_job() {
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let dir = tempfile::tempdir().unwrap();
        let request_file = dir.path().join("request.bin");
        let echo = script(
            dir.path(),
            "protoc-gen-echo",
            &format!(
                "cat > '{}'\nprintf '{HELLO_RESPONSE}'",
                request_file.display()
            ),
        );
        let broken = script(
            dir.path(),
            "protoc-gen-broken",
            "cat > /dev/null\necho doomed >&2\nexit 1",
        );
        let rejects = script(
            dir.path(),
            "protoc-gen-rejects",
            &format!("cat > /dev/null\nprintf '{ERROR_RESPONSE}'"),
        );
        let garbage = script(
            dir.path(),
            "protoc-gen-garbage",
            "cat > /dev/null\nprintf '\\377\\377\\377'",
        );
        let host = host_with(
            dir.path(),
            &[
                ("echo", &echo),
                ("broken", &broken),
                ("rejects", &rejects),
                ("garbage", &garbage),
            ],
        );
        let mut config = db.registry_config();
        config.plugins = Arc::new(host);
        let registry = db.registry_with(config).await;
        let shop = NamespaceId::parse("shop").unwrap();

        let unknown = registry
            .put_namespace(&shop, None, Some(json!({"codegen": [{"plugin": "cobol"}]})))
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), "invalid_argument", "{kind}: {unknown}");
        let settings = json!({"codegen": [
            {"plugin": "echo", "parameter": "p=1"},
            {"plugin": "broken", "parameter": ""},
        ]});
        registry
            .put_namespace(&shop, None, Some(settings))
            .await
            .unwrap();
        let published = registry
            .publish(
                &shop,
                PublishRequest {
                    schema: SchemaId::parse("money").unwrap(),
                    sources: [("common/money.proto".to_owned(), OWNED_MONEY.to_owned())].into(),
                    created_by: "tester".into(),
                    metadata: Default::default(),
                    force: false,
                },
            )
            .await
            .unwrap();

        let promoted = registry.promote("shop", false).await.unwrap();
        assert_eq!(
            promoted.jobs.len(),
            2,
            "{kind}: one job per version and target"
        );
        let view = registry.view("shop").unwrap();
        assert_eq!(
            view.schemas["money"].current.as_ref().unwrap().version,
            1,
            "{kind}: promoted"
        );

        let echo_job = finished(&registry, promoted.jobs[0]).await;
        assert_eq!(echo_job.status, "succeeded", "{kind}: {}", echo_job.log);
        assert_eq!(
            (echo_job.plugin.as_str(), echo_job.parameter.as_str()),
            ("echo", "p=1")
        );
        assert_eq!(
            (
                echo_job.schema.as_str(),
                echo_job.version,
                echo_job.kind.as_str()
            ),
            ("money", Some(1), "codegen")
        );
        assert!(echo_job.started_at.is_some() && echo_job.finished_at.is_some());
        let broken_job = finished(&registry, promoted.jobs[1]).await;
        assert_eq!(broken_job.status, "failed", "{kind}");
        assert!(
            broken_job.log.contains("doomed"),
            "{kind}: the generator's stderr is in the log: {}",
            broken_job.log
        );

        // The request: own files, the parameter, and the served descriptor
        // set's files byte for byte (the custom option survives).
        let sent = RawRequest::decode(std::fs::read(&request_file).unwrap().as_slice()).unwrap();
        assert_eq!(sent.file_to_generate, ["common/money.proto"]);
        assert_eq!(sent.parameter.as_deref(), Some("p=1"));
        let served: Vec<bytes::Bytes> =
            descriptor::split_file_descriptor_set(published.version.descriptor_set.clone())
                .unwrap()
                .into_iter()
                .map(|f| f.bytes)
                .collect();
        assert_eq!(served.len(), 2, "descriptor.proto and money.proto");
        assert_eq!(sent.proto_file, served, "{kind}");

        // Served from the stored artifact.
        let stored = registry
            .generated("shop", "money", VersionRef::Current, "echo", "p=1")
            .await
            .unwrap();
        assert_eq!(
            stored.job_id, None,
            "{kind}: no new job for a stored artifact"
        );
        let listed = entries(&stored.archive);
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].0.as_str(), listed[0].6.as_slice()),
            ("out.txt", &b"hello"[..])
        );
        assert_eq!(stored.sha256, sha256_hex(&stored.archive));

        // On demand: a new parameter generates, stores and serves; the
        // second time it is stored.
        let fresh = registry
            .generated("shop", "money", VersionRef::Number(1), "echo", "p=2")
            .await
            .unwrap();
        let job_id = fresh.job_id.expect("generated on demand by a job");
        assert_eq!(registry.job(job_id).await.unwrap().status, "succeeded");
        assert_eq!(
            fresh.archive, stored.archive,
            "{kind}: same output, same bytes"
        );
        let again = registry
            .generated("shop", "money", VersionRef::Current, "echo", "p=2")
            .await
            .unwrap();
        assert_eq!(again.job_id, None, "{kind}");

        match registry
            .generated("shop", "money", VersionRef::Current, "rejects", "")
            .await
        {
            Err(GenerateError::Rejected(message)) => assert_eq!(message, "bad input"),
            other => panic!("{kind}: expected a rejection, got {other:?}"),
        }
        match registry
            .generated("shop", "money", VersionRef::Current, "broken", "")
            .await
        {
            Err(GenerateError::Rejected(message)) => {
                assert!(message.contains("exited"), "{message}")
            }
            other => panic!("{kind}: expected a rejection, got {other:?}"),
        }
        match registry
            .generated("shop", "money", VersionRef::Current, "garbage", "")
            .await
        {
            Err(GenerateError::Unavailable(message)) => {
                assert!(message.contains("decode"), "{message}")
            }
            other => panic!("{kind}: expected unavailable, got {other:?}"),
        }
        match registry
            .generated("shop", "money", VersionRef::Current, "cobol", "")
            .await
        {
            Err(GenerateError::Registry(err)) => assert_eq!(err.code(), "not_found"),
            other => panic!("{kind}: expected not_found, got {other:?}"),
        }
        assert_eq!(registry.job(123_456).await.unwrap_err().code(), "not_found");

        // One codegen.finished event per finished job: 2 on promote, 1
        // generated on demand, 3 failed on demand.
        let events = registry.store().events_of(view.info.row_id).await.unwrap();
        let finished_events: Vec<serde_json::Value> = events
            .iter()
            .filter(|e| e.kind == "codegen.finished")
            .map(|e| serde_json::from_str(&e.payload).unwrap())
            .collect();
        assert_eq!(finished_events.len(), 6, "{kind}: {finished_events:?}");
        assert_eq!(finished_events[0]["job_id"], promoted.jobs[0], "{kind}");
        assert_eq!(finished_events[0]["status"], "succeeded");
        assert_eq!(finished_events[0]["version"], 1);
        assert_eq!(finished_events[0]["plugin"], "echo");
        assert_eq!(finished_events[0]["parameter"], "p=1");
        let promoted_event = events
            .iter()
            .find(|e| e.kind == "namespace.promoted")
            .unwrap();
        let payload: serde_json::Value = serde_json::from_str(&promoted_event.payload).unwrap();
        assert_eq!(payload["jobs"], json!(promoted.jobs), "{kind}");
    })
    .await;
}

#[actix_rt::test]
async fn jobs_left_running_run_again_after_a_restart() {
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let dir = tempfile::tempdir().unwrap();
        let echo = script(
            dir.path(),
            "protoc-gen-echo",
            &format!("cat > /dev/null\nprintf '{HELLO_RESPONSE}'"),
        );
        let shop = NamespaceId::parse("shop").unwrap();
        let job_id = {
            let mut config = db.registry_config();
            config.plugins = Arc::new(host_with(dir.path(), &[("echo", &echo)]));
            let registry = db.registry_with(config).await;
            registry
                .put_namespace(&shop, None, Some(json!({})))
                .await
                .unwrap();
            let published = registry
                .publish(
                    &shop,
                    PublishRequest {
                        schema: SchemaId::parse("money").unwrap(),
                        sources: [("common/money.proto".to_owned(), OWNED_MONEY.to_owned())].into(),
                        created_by: String::new(),
                        metadata: Default::default(),
                        force: false,
                    },
                )
                .await
                .unwrap();
            // A job claimed by a process that then stopped.
            let view = registry.view("shop").unwrap();
            let job = registry
                .store()
                .start_job(
                    view.info.row_id,
                    "shop",
                    "money",
                    published.version.version_id,
                    &JobTarget {
                        plugin: "echo".into(),
                        parameter: String::new(),
                    },
                )
                .await
                .unwrap();
            assert_eq!(job.status, "running");
            // The process running it died: its lease expires.
            registry.store().expire_leases_for_tests().await.unwrap();
            job.id
        };
        let mut config = db.registry_config();
        config.plugins = Arc::new(host_with(dir.path(), &[("echo", &echo)]));
        let registry = db.registry_with(config).await;
        let job = finished(&registry, job_id).await;
        assert_eq!(job.status, "succeeded", "{kind}: {}", job.log);
        let version = registry.view("shop").unwrap().schemas["money"]
            .staged
            .clone()
            .unwrap();
        let artifact = registry
            .store()
            .artifact(version.version_id, "echo", "")
            .await
            .unwrap();
        assert!(
            artifact.is_some(),
            "{kind}: the artifact of the job run after restart"
        );
    })
    .await;
}

#[tokio::test]
async fn recording_a_job_end_is_retried_with_backoff_then_given_up() {
    use std::cell::Cell;
    // Fails twice, then records.
    let calls = Cell::new(0);
    let recorded = retry_finish(7, || {
        calls.set(calls.get() + 1);
        let n = calls.get();
        async move {
            if n < 3 {
                Err(StoreError::Connection("database is locked".into()))
            } else {
                Ok(n)
            }
        }
    })
    .await;
    assert_eq!(recorded.unwrap(), 3);
    assert_eq!(calls.get(), 3);
    // Always failing: bounded, the last error returned.
    let calls = Cell::new(0);
    let failed: std::result::Result<(), StoreError> = retry_finish(7, || {
        calls.set(calls.get() + 1);
        async { Err(StoreError::Connection("gone".into())) }
    })
    .await;
    assert!(matches!(failed, Err(StoreError::Connection(m)) if m == "gone"));
    assert_eq!(calls.get(), FINISH_ATTEMPTS);
}

fn raw_file(name: &str, go_package: Option<&str>) -> RawFile {
    let proto = prost_types::FileDescriptorProto {
        name: Some(name.into()),
        package: Some("p".into()),
        options: go_package.map(|p| prost_types::FileOptions {
            go_package: Some(p.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    RawFile {
        name: name.into(),
        dependencies: Vec::new(),
        bytes: proto.encode_to_vec().into(),
    }
}

#[test]
fn go_package_prefix_maps_each_file_without_go_package() {
    let files = [
        raw_file(
            "google/protobuf/timestamp.proto",
            Some("google.golang.org/protobuf/types/known/timestamppb"),
        ),
        raw_file("shop/v1/order.proto", None),
        raw_file("top.proto", None),
        raw_file("kept/kept.proto", Some("example.org/own/kept")),
    ];
    assert_eq!(
        generator_parameter(
            "paths=source_relative,go_package_prefix=example.com/gen",
            &files
        )
        .unwrap(),
        "paths=source_relative,Mshop/v1/order.proto=example.com/gen/shop/v1,Mtop.proto=example.com/gen"
    );
    // Without the managed option the parameter passes through unchanged.
    assert_eq!(
        generator_parameter("paths=source_relative", &files).unwrap(),
        "paths=source_relative"
    );
    assert_eq!(generator_parameter("", &files).unwrap(), "");
    // The settings' option becomes part of the job's parameter.
    let targets = targets_of(&json!({"codegen": [
        {"plugin": "go", "go_package_prefix": "example.com/gen"},
        {"plugin": "go", "parameter": "paths=source_relative", "go_package_prefix": "example.com/gen"},
    ]}));
    assert_eq!(
        targets
            .iter()
            .map(|t| t.parameter.as_str())
            .collect::<Vec<_>>(),
        [
            "go_package_prefix=example.com/gen",
            "paths=source_relative,go_package_prefix=example.com/gen"
        ]
    );
    for bad in ["", "/x", "x/", "a b", "a=b"] {
        assert!(check_go_package_prefix(bad).is_err(), "{bad:?}");
        let settings = json!({"codegen": [{"plugin": "go", "go_package_prefix": bad}]});
        let err = NamespaceSettings::from_json(&settings)
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("go_package_prefix"), "{err}");
    }
    assert!(validate_parameter("go_package_prefix=a b").is_err());
    assert!(validate_parameter("paths=source_relative,go_package_prefix=example.com/x").is_ok());
}
