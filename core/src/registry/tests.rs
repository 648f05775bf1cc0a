//! Registry behaviour on real databases (SQLite and PostgreSQL) with real
//! protos: imports, versions, promote, rollback, restore, bad input.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::checkpoint;
use crate::ids::BUILTINS;
use crate::test_support::{TestDb, on_each_backend};

const MONEY: &str = "syntax = \"proto3\";\npackage common;\n\
    message Money { int64 units = 1; string currency = 2; }\n";
const INVOICE: &str = "syntax = \"proto3\";\npackage billing;\nimport \"common/money.proto\";\n\
    message Invoice { common.Money total = 1; }\n";

fn ns(name: &str) -> NamespaceId {
    NamespaceId::parse(name).unwrap()
}

fn request(schema: &str, files: &[(&str, &str)]) -> PublishRequest {
    PublishRequest {
        schema: SchemaId::parse(schema).unwrap(),
        sources: files
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect(),
        created_by: "tester".into(),
        metadata: Map::new(),
        force: false,
    }
}

fn forced(schema: &str, files: &[(&str, &str)]) -> PublishRequest {
    PublishRequest {
        force: true,
        ..request(schema, files)
    }
}

async fn publish(
    registry: &Registry,
    namespace: &str,
    schema: &str,
    files: &[(&str, &str)],
) -> Result<PublishOutcome> {
    registry
        .publish(&ns(namespace), request(schema, files))
        .await
}

async fn create(registry: &Registry, namespace: &str) {
    registry
        .put_namespace(&ns(namespace), None, None)
        .await
        .unwrap();
}

fn revision(registry: &Registry, namespace: &str) -> i64 {
    registry.view(namespace).unwrap().info.revision
}

/// `(current, staged)` version numbers of a schema.
fn pointers(registry: &Registry, namespace: &str, schema: &str) -> (Option<i32>, Option<i32>) {
    let view = registry.view(namespace).unwrap();
    let entry = &view.schemas[schema];
    (
        entry.current.as_ref().map(|v| v.version),
        entry.staged.as_ref().map(|v| v.version),
    )
}

#[track_caller]
fn expect_code<T: std::fmt::Debug>(result: Result<T>, code: &str) -> RegistryError {
    let err = result.expect_err("expected an error");
    assert_eq!(err.code(), code, "{err:?}");
    err
}

fn compile_errors(err: &RegistryError) -> &[crate::error::CompileError] {
    match err {
        RegistryError::CompileFailed { errors, .. } => errors,
        other => panic!("expected compile_failed, got {other:?}"),
    }
}

// ---- import resolution -------------------------------------------------------

#[actix_rt::test]
async fn imports_do_not_cross_namespaces() {
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        publish(
            &registry,
            "alpha",
            "money",
            &[("common/money.proto", MONEY)],
        )
        .await
        .unwrap();
        registry.promote("alpha", false).await.unwrap();
        create(&registry, "beta").await;
        let before = revision(&registry, "beta");

        let err = expect_code(
            publish(
                &registry,
                "beta",
                "invoice",
                &[("billing/invoice.proto", INVOICE)],
            )
            .await,
            "compile_failed",
        );
        let errors = compile_errors(&err);
        assert_eq!(errors[0].file, "billing/invoice.proto", "{errors:?}");
        assert!(
            errors[0].message.contains("common/money.proto"),
            "{errors:?}"
        );
        assert_eq!(revision(&registry, "beta"), before, "{}", db.kind);
        assert!(registry.view("beta").unwrap().schemas.is_empty());

        // The very same sources compile where the import lives.
        publish(
            &registry,
            "alpha",
            "invoice",
            &[("billing/invoice.proto", INVOICE)],
        )
        .await
        .unwrap();
    })
    .await;
}

#[actix_rt::test]
async fn builtins_are_importable_from_every_namespace_once_promoted() {
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        let money = registry
            .publish(
                &NamespaceId::builtins(),
                request("money", &[("common/money.proto", MONEY)]),
            )
            .await
            .unwrap();

        // Staged builtins are not visible yet.
        expect_code(
            publish(
                &registry,
                "alpha",
                "invoice",
                &[("billing/invoice.proto", INVOICE)],
            )
            .await,
            "compile_failed",
        );
        registry.promote(BUILTINS, false).await.unwrap();

        for namespace in ["alpha", "beta"] {
            let invoice = publish(
                &registry,
                namespace,
                "invoice",
                &[("billing/invoice.proto", INVOICE)],
            )
            .await
            .unwrap();
            let deps = registry
                .store()
                .deps_of_versions(&[invoice.version.version_id])
                .await
                .unwrap();
            assert_eq!(deps.len(), 1);
            assert_eq!(deps[0].import_path, "common/money.proto");
            assert_eq!(
                deps[0].dep_version_id,
                Some(money.version.version_id),
                "{}",
                db.kind
            );
            registry.promote(namespace, false).await.unwrap();
            let view = registry.view(namespace).unwrap();
            assert!(
                view.current
                    .pool()
                    .unwrap()
                    .get_message_by_name("common.Money")
                    .is_some(),
                "{namespace}"
            );
            assert!(
                view.current
                    .pool()
                    .unwrap()
                    .get_message_by_name("billing.Invoice")
                    .is_some(),
                "{namespace}"
            );
            assert!(
                !view.current.owners.contains_key("common/money.proto"),
                "builtins are not owned here"
            );
        }
    })
    .await;
}

#[actix_rt::test]
async fn shadowing_a_well_known_file_needs_force() {
    let timestamp = "syntax = \"proto3\";\npackage google.protobuf;\n\
        message Timestamp { int64 seconds = 1; int32 nanos = 2; }\n";
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        create(&registry, "alpha").await;
        let before = revision(&registry, "alpha");
        let files = [("google/protobuf/timestamp.proto", timestamp)];

        let err = expect_code(
            publish(&registry, "alpha", "clock", &files).await,
            "conflict",
        );
        assert!(
            err.to_string().contains("google/protobuf/timestamp.proto"),
            "{err}"
        );
        assert_eq!(revision(&registry, "alpha"), before, "{}", db.kind);

        let outcome = registry
            .publish(&ns("alpha"), forced("clock", &files))
            .await
            .unwrap();
        assert_eq!(outcome.version.version, 1);
        assert_eq!(revision(&registry, "alpha"), before + 1);
    })
    .await;
}

#[actix_rt::test]
async fn shadowing_a_builtins_file_needs_force() {
    let my_money = "syntax = \"proto3\";\npackage common;\nmessage Money { int64 cents = 1; }\n";
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        registry
            .publish(
                &NamespaceId::builtins(),
                request("money", &[("common/money.proto", MONEY)]),
            )
            .await
            .unwrap();
        registry.promote(BUILTINS, false).await.unwrap();
        create(&registry, "alpha").await;
        let before = revision(&registry, "alpha");
        let files = [("common/money.proto", my_money)];

        let err = expect_code(
            publish(&registry, "alpha", "money", &files).await,
            "conflict",
        );
        assert!(err.to_string().contains(BUILTINS), "{err}");
        assert_eq!(revision(&registry, "alpha"), before, "{}", db.kind);

        registry
            .publish(&ns("alpha"), forced("money", &files))
            .await
            .unwrap();
        assert_eq!(pointers(&registry, "alpha", "money"), (None, Some(1)));
    })
    .await;
}

#[actix_rt::test]
async fn a_path_owned_by_another_schema_is_a_conflict() {
    let other = "syntax = \"proto3\";\npackage common;\nmessage Other {}\n";
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        publish(
            &registry,
            "alpha",
            "money",
            &[("common/money.proto", MONEY)],
        )
        .await
        .unwrap();
        let before = revision(&registry, "alpha");
        let files = [("common/money.proto", other)];

        // Owned by a staged version, then by a current one; force does not help.
        let err = expect_code(
            publish(&registry, "alpha", "thief", &files).await,
            "conflict",
        );
        assert!(err.to_string().contains("money"), "{err}");
        expect_code(
            registry
                .publish(&ns("alpha"), forced("thief", &files))
                .await,
            "conflict",
        );
        registry.promote("alpha", false).await.unwrap();
        expect_code(
            publish(&registry, "alpha", "thief", &files).await,
            "conflict",
        );
        assert_eq!(
            revision(&registry, "alpha"),
            before + 1,
            "{}: only the promote counted",
            db.kind
        );
        assert!(
            !registry
                .view("alpha")
                .unwrap()
                .schemas
                .contains_key("thief")
        );

        // The owner itself may change the file.
        publish(&registry, "alpha", "money", &files).await.unwrap();
    })
    .await;
}

// ---- fingerprints and version numbers ---------------------------------------

#[actix_rt::test]
async fn republishing_the_same_sources_is_no_change() {
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        let files = [("common/money.proto", MONEY)];
        let first = publish(&registry, "alpha", "money", &files).await.unwrap();
        assert!(!first.no_change);
        let before = revision(&registry, "alpha");

        let again = publish(&registry, "alpha", "money", &files).await.unwrap();
        assert!(again.no_change, "{}", db.kind);
        assert_eq!(again.version.version_id, first.version.version_id);
        assert_eq!(
            revision(&registry, "alpha"),
            before,
            "no_change writes nothing"
        );

        // Still no change once the version is current.
        registry.promote("alpha", false).await.unwrap();
        let after_promote = publish(&registry, "alpha", "money", &files).await.unwrap();
        assert!(after_promote.no_change);
        assert_eq!(after_promote.version.version, 1);
        assert_eq!(pointers(&registry, "alpha", "money"), (Some(1), None));
        assert_eq!(registry.versions("alpha", "money").await.unwrap().len(), 1);
    })
    .await;
}

#[actix_rt::test]
async fn a_comment_only_edit_is_a_new_version() {
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        let first = publish(
            &registry,
            "alpha",
            "money",
            &[("common/money.proto", MONEY)],
        )
        .await
        .unwrap();
        let commented = format!("{MONEY}// Amounts are in minor units.\n");
        let second = publish(
            &registry,
            "alpha",
            "money",
            &[("common/money.proto", &commented)],
        )
        .await
        .unwrap();
        assert!(!second.no_change, "{}", db.kind);
        assert_eq!(second.version.version, 2);
        assert_ne!(second.version.fingerprint, first.version.fingerprint);
        assert_eq!(pointers(&registry, "alpha", "money"), (None, Some(2)));
    })
    .await;
}

#[actix_rt::test]
async fn concurrent_publishes_get_dense_versions() {
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        let namespace = ns("dense");
        let texts: Vec<String> = (0..16)
            .map(|i| {
                format!(
                    "syntax = \"proto3\";\npackage dense;\nmessage M {{ int32 field_{i} = 1; }}\n"
                )
            })
            .collect();
        // The namespace does not exist yet: the first publishes race to create it.
        let outcomes =
            futures::future::join_all(texts.iter().map(|text| {
                registry.publish(&namespace, request("s", &[("dense/m.proto", text)]))
            }))
            .await;
        let mut versions: Vec<i32> = outcomes
            .into_iter()
            .map(|o| o.unwrap().version.version)
            .collect();
        versions.sort_unstable();
        assert_eq!(versions, (1..=16).collect::<Vec<_>>(), "{}", db.kind);
        let stored: Vec<i32> = registry
            .versions("dense", "s")
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(stored, (1..=16).collect::<Vec<_>>());
        assert_eq!(revision(&registry, "dense"), 1 + 16);
        assert_eq!(pointers(&registry, "dense", "s"), (None, Some(16)));
    })
    .await;
}

// ---- promote ----------------------------------------------------------------

/// Schemas promoted together each round: `a` ← `b` ← `c` (imports). Every
/// file carries the round number as a field name.
fn round_sources(round: i32) -> [(&'static str, &'static str, String); 3] {
    let header = "syntax = \"proto3\";\npackage atomic;\n";
    [
        (
            "a",
            "atomic/a.proto",
            format!("{header}message A {{ int32 round_{round} = 1; }}\n"),
        ),
        (
            "b",
            "atomic/b.proto",
            format!(
                "{header}import \"atomic/a.proto\";\nmessage B {{ A a = 1; int32 round_{round} = 2; }}\n"
            ),
        ),
        (
            "c",
            "atomic/c.proto",
            format!(
                "{header}import \"atomic/b.proto\";\nmessage C {{ B b = 1; int32 round_{round} = 2; }}\n"
            ),
        ),
    ]
}

/// Panics unless `view` is one whole round: every schema current at the
/// same round, and the linked pool holding exactly that round. Returns it.
fn check_view_is_one_round(view: &NamespaceView) -> i32 {
    let versions: Vec<i32> = ["a", "b", "c"]
        .iter()
        .map(|s| {
            view.schemas[*s]
                .current
                .as_ref()
                .expect("current version")
                .version
        })
        .collect();
    assert!(
        versions.iter().all(|v| *v == versions[0]),
        "half a promote is visible: {versions:?}"
    );
    let round = versions[0];
    for (_, version) in view.current_files() {
        for file in &version.files {
            let linked = view
                .current
                .pool()
                .unwrap()
                .get_file_by_name(&file.name)
                .expect("current file in the pool");
            assert_eq!(linked.file_descriptor_proto().name(), file.name);
        }
    }
    for message in ["atomic.A", "atomic.B", "atomic.C"] {
        let descriptor = view
            .current
            .pool()
            .unwrap()
            .get_message_by_name(message)
            .expect("message in the pool");
        assert!(
            descriptor
                .get_field_by_name(&format!("round_{round}"))
                .is_some(),
            "the pool of round {round} has {message} of another round"
        );
    }
    round
}

async fn publish_round(registry: &Registry, round: i32) {
    for (schema, path, text) in round_sources(round) {
        publish(registry, "atomic", schema, &[(path, &text)])
            .await
            .unwrap();
    }
}

#[actix_rt::test]
async fn promote_is_atomic_across_schemas() {
    const ROUNDS: i32 = 15;
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        publish_round(&registry, 1).await;
        registry.promote("atomic", false).await.unwrap();

        let stop = Arc::new(AtomicBool::new(false));
        let last_seen = Arc::new(AtomicI32::new(0));
        let reader = {
            let (registry, stop, last_seen) = (registry.clone(), stop.clone(), last_seen.clone());
            std::thread::spawn(move || {
                let mut views = 0u64;
                loop {
                    let stopping = stop.load(Ordering::Acquire);
                    let round = check_view_is_one_round(&registry.view("atomic").unwrap());
                    last_seen.store(round, Ordering::Release);
                    views += 1;
                    if stopping {
                        return views;
                    }
                }
            })
        };

        for round in 2..=ROUNDS {
            publish_round(&registry, round).await;
            let outcome = registry.promote("atomic", false).await.unwrap();
            assert_eq!(outcome.promoted.len(), 3);
            // Let the reader catch up, so it reads while the next promote runs.
            let deadline = Instant::now() + Duration::from_secs(30);
            while last_seen.load(Ordering::Acquire) != round && !reader.is_finished() {
                assert!(
                    Instant::now() < deadline,
                    "the reader never saw round {round}"
                );
                tokio::task::yield_now().await;
            }
        }
        stop.store(true, Ordering::Release);
        let views = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        assert!(
            views >= ROUNDS as u64,
            "{}: the reader saw {views} views",
            db.kind
        );
        assert_eq!(
            check_view_is_one_round(&registry.view("atomic").unwrap()),
            ROUNDS
        );
    })
    .await;
}

#[actix_rt::test]
async fn promote_refuses_a_namespace_that_would_not_link() {
    let currency_only =
        "syntax = \"proto3\";\npackage common;\nmessage Currency { string code = 1; }\n";
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        publish(&registry, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap();
        publish(
            &registry,
            "shop",
            "invoice",
            &[("billing/invoice.proto", INVOICE)],
        )
        .await
        .unwrap();
        registry.promote("shop", false).await.unwrap();
        let promoted = registry.view("shop").unwrap();

        // money v2 drops the type invoice uses: it compiles on its own...
        publish(
            &registry,
            "shop",
            "money",
            &[("common/money.proto", currency_only)],
        )
        .await
        .unwrap();
        let staged = registry.view("shop").unwrap();
        for dry_run in [true, false] {
            // ...but the namespace would not link.
            let err = expect_code(registry.promote("shop", dry_run).await, "compile_failed");
            assert!(
                err.to_string().contains("common.Money"),
                "{}: {err}",
                db.kind
            );
            let view = registry.view("shop").unwrap();
            assert_eq!(
                view.info.revision, staged.info.revision,
                "dry_run={dry_run}"
            );
            assert_eq!(pointers(&registry, "shop", "money"), (Some(1), Some(2)));
            assert_eq!(pointers(&registry, "shop", "invoice"), (Some(1), None));
            assert_eq!(
                view.current.etag, promoted.current.etag,
                "the served image is unchanged"
            );
        }

        // money v3 moves its file away: the import no longer resolves.
        registry.discard("shop").await.unwrap();
        publish(
            &registry,
            "shop",
            "money",
            &[("common/currency.proto", currency_only)],
        )
        .await
        .unwrap();
        let err = expect_code(registry.promote("shop", false).await, "compile_failed");
        let errors = compile_errors(&err);
        assert_eq!(errors[0].file, "billing/invoice.proto", "{errors:?}");
        assert!(
            errors[0].message.contains("common/money.proto"),
            "{errors:?}"
        );
        assert_eq!(pointers(&registry, "shop", "money"), (Some(1), Some(3)));
        assert_eq!(
            registry.view("shop").unwrap().current.etag,
            promoted.current.etag
        );
    })
    .await;
}

#[actix_rt::test]
async fn dry_run_promote_reports_without_changing() {
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        publish(&registry, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap();
        publish(
            &registry,
            "shop",
            "invoice",
            &[("billing/invoice.proto", INVOICE)],
        )
        .await
        .unwrap();
        let before = registry.view("shop").unwrap();

        let dry = registry.promote("shop", true).await.unwrap();
        assert!(dry.dry_run);
        assert_eq!(dry.compat_checker, registry.compat_checker());
        let promoted: Vec<(&str, Option<i32>, i32)> = dry
            .promoted
            .iter()
            .map(|p| (p.schema.as_str(), p.from_version, p.to_version))
            .collect();
        assert_eq!(
            promoted,
            [("invoice", None, 1), ("money", None, 1)],
            "{}",
            db.kind
        );
        assert_eq!(dry.revision, before.info.revision);
        let after = registry.view("shop").unwrap();
        assert_eq!(after.info.revision, before.info.revision);
        assert_eq!(after.staged_count(), 2);
        assert_eq!(after.current_files().count(), 0);
        assert!(
            after
                .current
                .pool()
                .unwrap()
                .get_message_by_name("common.Money")
                .is_none()
        );

        let real = registry.promote("shop", false).await.unwrap();
        assert_eq!(real.revision, before.info.revision + 1);
        assert_eq!(real.promoted.len(), 2);
        assert!(
            registry
                .view("shop")
                .unwrap()
                .current
                .pool()
                .unwrap()
                .get_message_by_name("billing.Invoice")
                .is_some()
        );
    })
    .await;
}

#[actix_rt::test]
async fn discard_clears_every_staged_version() {
    let money_v2 = format!("{MONEY}message Rate {{ double value = 1; }}\n");
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        publish(&registry, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap();
        registry.promote("shop", false).await.unwrap();
        publish(
            &registry,
            "shop",
            "money",
            &[("common/money.proto", &money_v2)],
        )
        .await
        .unwrap();
        publish(
            &registry,
            "shop",
            "invoice",
            &[("billing/invoice.proto", INVOICE)],
        )
        .await
        .unwrap();
        let before = revision(&registry, "shop");

        let discarded = registry.discard("shop").await.unwrap();
        assert_eq!(
            discarded.iter().map(SchemaId::as_str).collect::<Vec<_>>(),
            ["invoice", "money"]
        );
        assert_eq!(revision(&registry, "shop"), before + 1, "{}", db.kind);
        assert_eq!(pointers(&registry, "shop", "money"), (Some(1), None));
        assert_eq!(pointers(&registry, "shop", "invoice"), (None, None));
        assert!(registry.discard("shop").await.unwrap().is_empty());

        // Nothing left to promote; the store agrees after a restart.
        let nothing = registry.promote("shop", false).await.unwrap();
        assert!(nothing.promoted.is_empty());
        assert_eq!(nothing.revision, before + 1);
        let reopened = db.registry().await;
        assert_eq!(pointers(&reopened, "shop", "money"), (Some(1), None));
        assert_eq!(pointers(&reopened, "shop", "invoice"), (None, None));

        // Version numbers are never reused.
        let again = publish(
            &registry,
            "shop",
            "money",
            &[("common/money.proto", &money_v2)],
        )
        .await
        .unwrap();
        assert!(!again.no_change);
        assert_eq!(again.version.version, 3);
    })
    .await;
}

#[actix_rt::test]
async fn rollback_stages_an_earlier_version_and_promote_makes_it_current() {
    let v2_text = "syntax = \"proto3\";\npackage common;\nmessage Money { int64 units = 1; string currency = 2; int32 nanos = 3; }\n";
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        let v1 = publish(&registry, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap()
            .version;
        registry.promote("shop", false).await.unwrap();
        let v2 = publish(
            &registry,
            "shop",
            "money",
            &[("common/money.proto", v2_text)],
        )
        .await
        .unwrap()
        .version;
        registry.promote("shop", false).await.unwrap();
        let before = revision(&registry, "shop");

        expect_code(
            registry
                .rollback("shop", SchemaId::parse("money").unwrap(), 9, false)
                .await,
            "not_found",
        );
        expect_code(
            registry
                .rollback("shop", SchemaId::parse("nobody").unwrap(), 1, false)
                .await,
            "not_found",
        );
        assert_eq!(revision(&registry, "shop"), before);

        let outcome = registry
            .rollback("shop", SchemaId::parse("money").unwrap(), 1, false)
            .await
            .unwrap();
        assert_eq!(
            (outcome.version, outcome.revision),
            (1, before + 1),
            "{}",
            db.kind
        );
        let (staged, state) = registry
            .version("shop", "money", VersionRef::Staged)
            .await
            .unwrap();
        assert_eq!(state, VersionState::Staged);
        assert_eq!(
            staged.version_id, v1.version_id,
            "a rollback is a pointer move"
        );
        assert_eq!(staged.descriptor_set, v1.descriptor_set);
        assert_eq!(
            registry.versions("shop", "money").await.unwrap().len(),
            2,
            "no new version"
        );

        registry.promote("shop", false).await.unwrap();
        assert_eq!(pointers(&registry, "shop", "money"), (Some(1), None));
        let view = registry.view("shop").unwrap();
        let money = view
            .current
            .pool()
            .unwrap()
            .get_message_by_name("common.Money")
            .unwrap();
        assert!(
            money.get_field_by_name("nanos").is_none(),
            "the pool serves v1 again"
        );

        // The replaced version loads from the store, byte for byte.
        let (previous, state) = registry
            .version("shop", "money", VersionRef::Number(2))
            .await
            .unwrap();
        assert_eq!(state, VersionState::Previous);
        assert_eq!(previous.descriptor_set, v2.descriptor_set);
        assert_eq!(previous.fingerprint, v2.fingerprint);
    })
    .await;
}

#[actix_rt::test]
async fn cross_schema_imports_resolve_to_the_owning_schema() {
    on_each_backend(async |db: &TestDb| {
        let registry = db.registry().await;
        // Publish compiles against the proposed state: money is only staged.
        let money = publish(&registry, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap()
            .version;
        let invoice = publish(
            &registry,
            "shop",
            "invoice",
            &[("billing/invoice.proto", INVOICE)],
        )
        .await
        .unwrap()
        .version;

        let served =
            crate::descriptor::split_file_descriptor_set(invoice.descriptor_set.clone()).unwrap();
        let names: Vec<&str> = served.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["common/money.proto", "billing/invoice.proto"],
            "imports first"
        );
        assert_eq!(
            served[0].bytes, money.files[0].bytes,
            "the import is money's file, byte for byte"
        );
        assert_eq!(invoice.files.len(), 1, "only its own file is invoice's");
        let deps = registry
            .store()
            .deps_of_versions(&[invoice.version_id])
            .await
            .unwrap();
        assert_eq!(
            deps[0].dep_version_id,
            Some(money.version_id),
            "{}",
            db.kind
        );

        registry.promote("shop", false).await.unwrap();
        let view = registry.view("shop").unwrap();
        assert_eq!(view.current.owners["common/money.proto"].as_str(), "money");
        assert_eq!(
            view.current.owners["billing/invoice.proto"].as_str(),
            "invoice"
        );
        let total = view
            .current
            .pool()
            .unwrap()
            .get_message_by_name("billing.Invoice")
            .unwrap()
            .get_field_by_name("total")
            .unwrap();
        assert_eq!(
            total.kind().as_message().unwrap().full_name(),
            "common.Money"
        );
    })
    .await;
}

// ---- restore ----------------------------------------------------------------

fn assert_same_version(restored: &VersionSnapshot, original: &VersionSnapshot) {
    let what = format!("{} v{}", original.schema, original.version);
    assert_eq!(restored.version, original.version, "{what}");
    assert_eq!(restored.version_id, original.version_id, "{what}");
    assert_eq!(restored.fingerprint, original.fingerprint, "{what}");
    assert_eq!(
        restored.descriptor_set, original.descriptor_set,
        "{what}: descriptor bytes"
    );
    assert_eq!(
        restored.descriptor_sha256, original.descriptor_sha256,
        "{what}"
    );
    assert_eq!(restored.source_hashes, original.source_hashes, "{what}");
    assert_eq!(restored.created_at, original.created_at, "{what}");
    assert_eq!(restored.created_by, original.created_by, "{what}");
    assert_eq!(restored.metadata, original.metadata, "{what}");
    assert_eq!(restored.types.messages, original.types.messages, "{what}");
    assert_eq!(restored.types.enums, original.types.enums, "{what}");
    assert_eq!(restored.types.services, original.types.services, "{what}");
    let files = |v: &VersionSnapshot| {
        v.files
            .iter()
            .map(|f| (f.name.clone(), f.dependencies.clone(), f.bytes.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(files(restored), files(original), "{what}: own files");
}

fn assert_same_view(restored: &NamespaceView, original: &NamespaceView) {
    let name = &original.info.name;
    assert_eq!(restored.info.revision, original.info.revision, "{name}");
    assert_eq!(
        restored.schemas.keys().collect::<Vec<_>>(),
        original.schemas.keys().collect::<Vec<_>>(),
        "{name}"
    );
    for (schema, entry) in &original.schemas {
        let back = &restored.schemas[schema];
        for (restored, original) in [
            (&back.current, &entry.current),
            (&back.staged, &entry.staged),
        ] {
            match (restored, original) {
                (Some(r), Some(o)) => assert_same_version(r, o),
                (None, None) => {}
                _ => panic!("{name}/{schema}: pointer differs after restore"),
            }
        }
    }
    assert_eq!(
        restored.current.descriptor_set, original.current.descriptor_set,
        "{name}: linked image"
    );
    assert_eq!(restored.current.etag, original.current.etag, "{name}");
}

#[actix_rt::test]
async fn restore_rebuilds_current_and_staged_without_recompiling() {
    on_each_backend(async |db: &TestDb| {
        let original = db.registry().await;
        build_checkpointed_state(&original).await;
        let before = original.views().unwrap();
        drop(original);

        // Make every stored source unreadable: restoring must not need them.
        let store = db.store().await;
        let mut source_keys = BTreeSet::new();
        for view in &before {
            for entry in view.schemas.values() {
                for version in [&entry.current, &entry.staged].into_iter().flatten() {
                    source_keys.extend(version.source_hashes.values().cloned());
                }
            }
        }
        let source_keys: Vec<String> = source_keys.into_iter().collect();
        let changed = store
            .overwrite_blobs_for_tests(&source_keys, b"message {{ not proto")
            .await
            .unwrap();
        assert_eq!(changed, source_keys.len());

        let restored = db.registry().await;
        let after = restored.views().unwrap();
        assert_eq!(after.len(), before.len(), "{}", db.kind);
        for (restored_view, original_view) in after.iter().zip(&before) {
            assert_same_view(restored_view, original_view);
        }
        let sources = restored
            .sources("shop", "money", VersionRef::Current)
            .await
            .unwrap();
        assert_eq!(
            sources["common/money.proto"], "message {{ not proto",
            "the sources really are gone"
        );

        // The restored registry carries on: the staged state promotes, and
        // numbering continues.
        restored.promote("shop", false).await.unwrap();
        assert_eq!(pointers(&restored, "shop", "money"), (Some(2), None));
        assert_eq!(pointers(&restored, "shop", "invoice"), (Some(1), None));
        let next = publish(&restored, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap();
        assert_eq!(next.version.version, 3, "{}", db.kind);
    })
    .await;
}

// ---- restore checkpoints --------------------------------------------------------

/// `__builtins__` with a file, and `shop` with current and staged versions
/// that import it and each other (enums and services included). The
/// registry's own checkpoint writer is off in tests: the state has no
/// restore checkpoint until a test writes one.
async fn build_checkpointed_state(registry: &Registry) {
    let time = "syntax = \"proto3\";\npackage common;\nimport \"google/protobuf/timestamp.proto\";\n\
        message Instant { google.protobuf.Timestamp at = 1; }\n";
    let ledger = "syntax = \"proto3\";\npackage ledger;\nimport \"common/money.proto\";\nimport \"common/time.proto\";\n\
        enum Kind { KIND_UNSPECIFIED = 0; KIND_DEBIT = 1; }\n\
        message Entry { common.Money amount = 1; common.Instant at = 2; Kind kind = 3; }\n\
        service Ledger { rpc Get(Entry) returns (Entry); }\n";
    let builtin_time = PublishRequest {
        metadata: Map::from_iter([("ticket".into(), "T-7".into())]),
        ..request("time", &[("common/time.proto", time)])
    };
    registry
        .publish(&NamespaceId::builtins(), builtin_time)
        .await
        .unwrap();
    registry.promote(BUILTINS, false).await.unwrap();
    publish(registry, "shop", "money", &[("common/money.proto", MONEY)])
        .await
        .unwrap();
    publish(
        registry,
        "shop",
        "ledger",
        &[("ledger/entry.proto", ledger)],
    )
    .await
    .unwrap();
    registry.promote("shop", false).await.unwrap();
    let money_v2 = format!("{MONEY}message Rate {{ double value = 1; }}\n");
    publish(
        registry,
        "shop",
        "money",
        &[("common/money.proto", &money_v2)],
    )
    .await
    .unwrap();
    publish(
        registry,
        "shop",
        "invoice",
        &[("billing/invoice.proto", INVOICE)],
    )
    .await
    .unwrap();
}

fn descriptor_keys(views: &[Arc<NamespaceView>]) -> Vec<String> {
    let mut keys = BTreeSet::new();
    for view in views {
        for entry in view.schemas.values() {
            for version in [&entry.current, &entry.staged].into_iter().flatten() {
                keys.insert(version.descriptor_sha256.clone());
            }
        }
    }
    keys.into_iter().collect()
}

#[actix_rt::test]
async fn restore_from_checkpoints_serves_the_same_bytes_without_reading_descriptor_blobs() {
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let original = db.registry().await;
        build_checkpointed_state(&original).await;
        let before = original.views().unwrap();
        assert_eq!(
            original.write_checkpoints().await.unwrap(),
            2,
            "{kind}: __builtins__ and shop"
        );
        assert_eq!(
            original.write_checkpoints().await.unwrap(),
            0,
            "{kind}: nothing changed since"
        );
        drop(original);

        let store = db.store().await;
        let restored = crate::restore::load_all_views(&store).await.unwrap();
        let revisions: BTreeSet<i64> = before.iter().map(|v| v.info.revision).collect();
        assert_eq!(
            restored.checkpointed.len(),
            2,
            "{kind}: both namespaces whole from their checkpoints"
        );
        assert!(
            restored
                .checkpointed
                .iter()
                .all(|(_, r)| revisions.contains(r)),
            "{kind}"
        );

        // Break every descriptor blob: a restore from the checkpoints does
        // not read them, and serves the bytes it served before.
        let keys = descriptor_keys(&before);
        let broken = store
            .overwrite_blobs_for_tests(&keys, b"\xff\xff not a descriptor set")
            .await
            .unwrap();
        assert_eq!(broken, keys.len(), "{kind}");
        let again = db.registry().await;
        let after = again.views().unwrap();
        assert_eq!(after.len(), before.len(), "{kind}");
        for (restored_view, original_view) in after.iter().zip(&before) {
            assert_same_view(restored_view, original_view);
        }
        let (served, _) = again
            .version("shop", "ledger", VersionRef::Current)
            .await
            .unwrap();
        assert_eq!(
            served.descriptor_set,
            before[1].schemas["ledger"]
                .current
                .as_ref()
                .unwrap()
                .descriptor_set,
            "{kind}"
        );
        // It carries on: the staged state links and promotes.
        again.promote("shop", false).await.unwrap();
        assert_eq!(pointers(&again, "shop", "money"), (Some(2), None));

        // Without the checkpoints the broken blobs are read, and refused.
        drop(again);
        assert_eq!(store.clear_checkpoints().await.unwrap(), 2, "{kind}");
        let err = Registry::open(db.registry_config())
            .await
            .expect_err("the blobs are broken");
        assert!(err.to_string().contains("descriptor"), "{kind}: {err}");
    })
    .await;
}

#[actix_rt::test]
async fn a_stale_checkpoint_is_completed_from_the_version_rows() {
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let original = db.registry().await;
        build_checkpointed_state(&original).await;
        original.write_checkpoints().await.unwrap();
        // Changes after the checkpoint: a promote, a new staged version and
        // a new schema.
        original.promote("shop", false).await.unwrap();
        let money_v3 = format!("{MONEY}message Fee {{ int64 units = 1; }}\n");
        publish(
            &original,
            "shop",
            "money",
            &[("common/money.proto", &money_v3)],
        )
        .await
        .unwrap();
        publish(
            &original,
            "shop",
            "tax",
            &[(
                "tax/tax.proto",
                "syntax = \"proto3\";\npackage tax;\nmessage Tax {}\n",
            )],
        )
        .await
        .unwrap();
        let before = original.views().unwrap();
        drop(original);

        let store = db.store().await;
        let restored = crate::restore::load_all_views(&store).await.unwrap();
        let shop_row = before[1].info.row_id;
        assert!(
            !restored.checkpointed.iter().any(|(id, _)| *id == shop_row),
            "{kind}: shop's checkpoint is behind"
        );
        assert_eq!(
            restored.checkpointed.len(),
            1,
            "{kind}: __builtins__'s is not"
        );
        for (restored_view, original_view) in restored.views.iter().zip(&before) {
            assert_same_view(restored_view, original_view);
        }
        let again = db.registry().await;
        assert_eq!(
            again.write_checkpoints().await.unwrap(),
            1,
            "{kind}: only shop is rewritten"
        );
        drop(again);
        let restored = crate::restore::load_all_views(&store).await.unwrap();
        assert_eq!(restored.checkpointed.len(), 2, "{kind}");
    })
    .await;
}

#[actix_rt::test]
async fn unreadable_foreign_and_older_checkpoints_change_nothing() {
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let original = db.registry().await;
        build_checkpointed_state(&original).await;
        let before = original.views().unwrap();
        let shop = before[1].info.clone();
        original.write_checkpoints().await.unwrap();
        drop(original);
        let store = db.store().await;
        let good = store.restore_heads().await.unwrap().checkpoints;
        let good = good
            .iter()
            .find(|c| c.namespace_id == shop.row_id)
            .unwrap()
            .data
            .clone();

        // An older revision never replaces a newer one.
        assert!(
            !store
                .put_checkpoint(shop.row_id, shop.revision - 1, checkpoint::FORMAT, b"old")
                .await
                .unwrap(),
            "{kind}"
        );
        assert!(
            !store
                .put_checkpoint(shop.row_id, shop.revision, checkpoint::FORMAT, b"same")
                .await
                .unwrap(),
            "{kind}"
        );
        // Garbage, then a format this build does not know: both skipped.
        for (revision, format, data) in [
            (
                shop.revision + 1,
                checkpoint::FORMAT,
                b"\xff\xff\xff garbage".to_vec(),
            ),
            (shop.revision + 2, checkpoint::FORMAT + 1, good.clone()),
        ] {
            assert!(
                store
                    .put_checkpoint(shop.row_id, revision, format, &data)
                    .await
                    .unwrap(),
                "{kind}"
            );
            let restored = crate::restore::load_all_views(&store).await.unwrap();
            assert_eq!(
                restored.checkpointed.len(),
                1,
                "{kind}: only __builtins__ from its checkpoint"
            );
            for (restored_view, original_view) in restored.views.iter().zip(&before) {
                assert_same_view(restored_view, original_view);
            }
        }
        // Deleting the namespace deletes its checkpoint.
        let registry = db.registry().await;
        registry.delete_namespace("shop").await.unwrap();
        let left = store.restore_heads().await.unwrap().checkpoints;
        assert!(left.iter().all(|c| c.namespace_id != shop.row_id), "{kind}");
    })
    .await;
}

#[actix_rt::test]
async fn changed_namespaces_get_their_checkpoint_in_the_background() {
    on_each_backend(async |db: &TestDb| {
        let kind = db.kind;
        let config = RegistryConfig {
            checkpoint_interval: Some(Duration::from_millis(50)),
            ..db.registry_config()
        };
        let registry = db.registry_with(config).await;
        publish(&registry, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap();
        let view = registry.view("shop").unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let heads = registry.store().restore_heads().await.unwrap();
            if heads
                .checkpoints
                .iter()
                .any(|c| c.namespace_id == view.info.row_id && c.revision == view.info.revision)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{kind}: no checkpoint of shop's revision written"
            );
            actix_rt::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            registry.write_checkpoints().await.unwrap(),
            0,
            "{kind}: already written"
        );
    })
    .await;
}

// ---- replicas ------------------------------------------------------------------

#[actix_rt::test]
async fn a_stale_replica_gets_a_conflict_and_reloads_from_the_store() {
    let money_v2 = format!("{MONEY}message Rate {{ double value = 1; }}\n");
    let money_v3 = format!("{MONEY}message Fee {{ int64 units = 1; }}\n");
    on_each_backend(async |db: &TestDb| {
        let first = db.registry().await;
        create(&first, "shop").await;
        let second = db.registry().await;
        publish(&first, "shop", "money", &[("common/money.proto", MONEY)])
            .await
            .unwrap();
        let expected = revision(&first, "shop");

        // The second replica still holds the old revision: the store refuses it.
        expect_code(
            publish(
                &second,
                "shop",
                "money",
                &[("common/money.proto", &money_v2)],
            )
            .await,
            "conflict",
        );
        assert_eq!(
            first.versions("shop", "money").await.unwrap().len(),
            1,
            "{}: nothing written",
            db.kind
        );

        // ...and it reloads the namespace in the background.
        let deadline = Instant::now() + Duration::from_secs(30);
        while revision(&second, "shop") != expected {
            assert!(
                Instant::now() < deadline,
                "{}: the stale replica never reloaded",
                db.kind
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pointers(&second, "shop", "money"), (None, Some(1)));
        let retried = publish(
            &second,
            "shop",
            "money",
            &[("common/money.proto", &money_v3)],
        )
        .await
        .unwrap();
        assert_eq!(retried.version.version, 2, "{}", db.kind);
    })
    .await;
}

// ---- bad input ----------------------------------------------------------------

#[actix_rt::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let small = Limits {
        max_files: 2,
        max_file_bytes: 200,
        max_request_bytes: 300,
        ..Limits::default()
    };
    let big = format!("syntax = \"proto3\";\n{}", "// padding\n".repeat(20));
    let half = format!("syntax = \"proto3\";\n{}", "// padding\n".repeat(13));
    let ok = "syntax = \"proto3\";\n";
    // (what, sources, expected code)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("no files", vec![], "invalid_argument"),
        (
            "parent segment",
            vec![("../escape.proto", ok)],
            "invalid_argument",
        ),
        (
            "absolute path",
            vec![("/abs.proto", ok)],
            "invalid_argument",
        ),
        ("not .proto", vec![("notes.txt", ok)], "invalid_argument"),
        ("backslash", vec![("a\\b.proto", ok)], "invalid_argument"),
        (
            "too many files",
            vec![("a.proto", ok), ("b.proto", ok), ("c.proto", ok)],
            "payload_too_large",
        ),
        (
            "file too large",
            vec![("a.proto", &big)],
            "payload_too_large",
        ),
        (
            "request too large",
            vec![("a.proto", &half), ("b.proto", &half)],
            "payload_too_large",
        ),
        (
            "syntax error",
            vec![(
                "bad.proto",
                "syntax = \"proto3\";\nmessage Broken { int32 = 1; }\n",
            )],
            "compile_failed",
        ),
        (
            "unknown type",
            vec![(
                "bad.proto",
                "syntax = \"proto3\";\nmessage M { Missing m = 1; }\n",
            )],
            "compile_failed",
        ),
    ];
    assert!(
        big.len() > 200 && half.len() <= 200 && 2 * half.len() > 300,
        "the cases test the limits"
    );
    on_each_backend(async |db: &TestDb| {
        let registry = db
            .registry_with(RegistryConfig {
                limits: small.clone(),
                ..db.registry_config()
            })
            .await;
        publish(&registry, "strict", "s", &[("s.proto", ok)])
            .await
            .unwrap();
        let store = registry.store();
        let revision_before = revision(&registry, "strict");
        let blobs_before = store.blob_count().await.unwrap();
        let events_before = store.event_count_for_tests().await.unwrap();

        for (what, files, code) in &cases {
            let err = expect_code(publish(&registry, "strict", "s", files).await, code);
            if *code == "compile_failed" {
                let errors = compile_errors(&err);
                assert_eq!(
                    (errors[0].file.as_str(), errors[0].line),
                    ("bad.proto", 2),
                    "{what}: {errors:?}"
                );
            }
            // Refused before the namespace would be created.
            expect_code(publish(&registry, "never-created", "s", files).await, code);
            expect_code(registry.view("never-created"), "not_found");
            assert_eq!(
                revision(&registry, "strict"),
                revision_before,
                "{}: {what}",
                db.kind
            );
        }
        assert_eq!(
            store.blob_count().await.unwrap(),
            blobs_before,
            "{}",
            db.kind
        );
        assert_eq!(
            store.event_count_for_tests().await.unwrap(),
            events_before,
            "{}",
            db.kind
        );
        assert_eq!(registry.versions("strict", "s").await.unwrap().len(), 1);
        assert_eq!(pointers(&registry, "strict", "s"), (None, Some(1)));
        expect_code(SchemaId::parse("../s"), "invalid_argument");
        expect_code(NamespaceId::parse("a/b").map(|_| ()), "invalid_argument");
    })
    .await;
}
