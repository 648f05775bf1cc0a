//! The Rust client library (`protoreg-client`) against the real binary:
//! typed calls and their problem codes, and the resolver — a promote
//! pushed to it, pinned snapshots, a killed and restarted server, a start
//! from `cache_dir`, and caches it must ignore.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use protoreg_client::{Client, Descriptor, Format, Origin, Resolver, Snapshot, Sources};

use crate::support::*;

/// Generous: the machine is shared and loaded.
const DEADLINE: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn client(server: &Server) -> Client {
    Client::new(server.base.clone()).unwrap()
}

/// A resolver of `ns` with fast reconnects, and a channel of its swaps.
fn resolver(
    rt: &tokio::runtime::Runtime,
    base: &str,
    ns: &str,
    cache: Option<&Path>,
) -> protoreg_client::Result<(Resolver, Receiver<Arc<Snapshot>>)> {
    let mut builder = Resolver::builder(Client::new(base).unwrap(), ns)
        .backoff(Duration::from_millis(50), Duration::from_millis(500))
        .start_timeout(Duration::from_secs(5));
    if let Some(dir) = cache {
        builder = builder.cache_dir(dir);
    }
    let resolver = rt.block_on(builder.start())?;
    let (tx, rx) = channel();
    resolver.on_change(move |snapshot| {
        let _ = tx.send(snapshot.clone());
    });
    Ok((resolver, rx))
}

/// The next swap, within [`DEADLINE`].
#[track_caller]
fn next_swap(rx: &Receiver<Arc<Snapshot>>) -> Arc<Snapshot> {
    rx.recv_timeout(DEADLINE)
        .expect("the resolver swapped in a new snapshot in time")
}

/// Polls `condition` until it holds, within [`DEADLINE`].
#[track_caller]
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `--listen` arguments of a free port other than `home`'s.
fn elsewhere(home: &[String]) -> Vec<String> {
    loop {
        let args = fixed_listen_args();
        if args != home {
            return args;
        }
    }
}

fn money_fields(snapshot: &Snapshot) -> usize {
    snapshot
        .message("common.Money")
        .expect("common.Money")
        .fields()
        .count()
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "resolver-cache"))
                .collect()
        })
        .unwrap_or_default()
}

fn sources(files: &[(&str, &str)]) -> Sources {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

#[test]
fn client_calls_answer_typed_and_errors_carry_problem_codes() {
    let server = Server::start(&Db::sqlite());
    let rt = runtime();
    let client = client(&server);
    rt.block_on(async {
        let missing = client.namespace("nowhere").await.unwrap_err();
        assert_eq!(missing.code(), Some("not_found"), "{missing}");
        assert_eq!(missing.status(), Some(404));

        let broken = client
            .publish("shop", "common", &sources(&[("common/money.proto", "message {")]), false)
            .await
            .unwrap_err();
        assert_eq!(broken.code(), Some("compile_failed"), "{broken}");

        let published = client
            .publish("shop", "common", &sources(&[("common/money.proto", MONEY_V1)]), false)
            .await
            .unwrap();
        assert_eq!(published.version, 1);
        assert!(published.messages.contains(&"common.Money".to_owned()));
        let staged = client.staging("shop").await.unwrap();
        assert_eq!(staged.len(), 1);
        assert_eq!(staged[0].schema, "common");

        let promoted = client.promote("shop", false).await.unwrap();
        assert_eq!(promoted.promoted[0].to_version, 1);
        let namespaces = client.namespaces().await.unwrap();
        assert!(namespaces.iter().any(|n| n.id == "shop"));
        assert_eq!(client.namespace("shop").await.unwrap().revision, promoted.revision);

        let versions = client.versions("shop", "common").await.unwrap();
        assert_eq!(versions[0].state, "current");
        let read = client.sources("shop", "common", "current").await.unwrap();
        assert_eq!(read["common/money.proto"], MONEY_V1);

        let checked = client
            .check(
                "shop",
                "common",
                &sources(&[("common/money.proto", "syntax = \"proto3\";\npackage common;\nmessage Money {\n  string units = 1;\n}\n")]),
                false,
            )
            .await
            .unwrap();
        assert!(!checked.compatible);
        assert!(!checked.violations.is_empty());

        let Descriptor::Modified { etag, bytes } = client.descriptor("shop", None).await.unwrap()
        else {
            panic!("a first descriptor GET is not 304");
        };
        assert!(descriptor_file_names(&bytes).contains(&"common/money.proto".to_owned()));
        let etag = etag.expect("an ETag");
        assert!(matches!(
            client.descriptor("shop", Some(&etag)).await.unwrap(),
            Descriptor::NotModified
        ));

        client
            .publish("shop", "common", &sources(&[("common/money.proto", MONEY_WITH_NANOS)]), false)
            .await
            .unwrap();
        let diff = client.diff("shop", "common", Some("current"), Some("staged")).await.unwrap();
        assert!(!diff.added.is_empty(), "{diff:?}");
        assert_eq!(client.discard_staging("shop").await.unwrap(), vec!["common"]);
    });
}

#[test]
fn a_promote_is_pushed_to_the_resolver_and_a_pinned_snapshot_does_not_change() {
    let server = Server::start(&Db::sqlite());
    server.money_current("shop");
    let rt = runtime();
    let (resolver, swaps) = resolver(&rt, &server.base, "shop", None).unwrap();
    let pinned = resolver.pin();
    assert_eq!(pinned.origin(), Origin::Server);
    assert_eq!(money_fields(&pinned), 2);

    server.publish_created(
        "shop",
        "common",
        &[("common/money.proto", MONEY_WITH_NANOS)],
    );
    let promoted_revision = server.promote_ok("shop")["revision"].as_i64().unwrap();
    let swapped = next_swap(&swaps);
    assert_eq!(money_fields(&swapped), 3);
    assert!(swapped.generation() > pinned.generation());
    assert_eq!(money_fields(&resolver.current()), 3);
    assert!(
        resolver
            .message("common.Money")
            .unwrap()
            .get_field_by_name("nanos")
            .is_some()
    );
    // The pin still sees the state it was taken at.
    assert_eq!(money_fields(&pinned), 2);
    assert!(
        pinned
            .message("common.Money")
            .unwrap()
            .get_field_by_name("nanos")
            .is_none()
    );
    assert_eq!(server.revision("shop"), promoted_revision);

    // Events that change nothing current (a publish) swap nothing: the next
    // swap is the next promote's.
    server.publish_created("shop", "billing", &[("billing/invoice.proto", INVOICE_V1)]);
    server.promote_ok("shop");
    let swapped = next_swap(&swaps);
    assert!(swapped.message("billing.Invoice").is_some());
    assert!(swaps.try_recv().is_err(), "one promote, one swap");
}

#[test]
fn resolver_helpers_decode_validate_and_transcode() {
    let server = Server::start(&Db::sqlite());
    server.money_and_invoice_current("shop");
    let rt = runtime();
    let (resolver, _swaps) = resolver(&rt, &server.base, "shop", None).unwrap();
    let json = br#"{"id":"i-1","total":{"units":"12","currency":"EUR"}}"#;
    let binary = resolver
        .transcode("billing.Invoice", json, Format::Json, Format::Binary)
        .unwrap();
    let message = resolver.decode("billing.Invoice", &binary).unwrap();
    assert_eq!(
        message.get_field_by_name("id").unwrap().as_str(),
        Some("i-1")
    );
    let back = resolver
        .transcode("billing.Invoice", &binary, Format::Binary, Format::Json)
        .unwrap();
    let back: serde_json::Value = serde_json::from_slice(&back).unwrap();
    assert_eq!(back["total"]["currency"], "EUR");
    resolver
        .validate("billing.Invoice", json, Format::Json)
        .unwrap();

    let wrong = resolver
        .validate("billing.Invoice", br#"{"id": 5, "nope": 1}"#, Format::Json)
        .unwrap_err();
    assert!(
        matches!(wrong, protoreg_client::Error::InvalidMessage { .. }),
        "{wrong}"
    );
    let garbage = resolver
        .decode("billing.Invoice", &[0xff, 0xff, 0xff])
        .unwrap_err();
    assert!(
        matches!(garbage, protoreg_client::Error::InvalidMessage { .. }),
        "{garbage}"
    );
    let unknown = resolver.decode("billing.Nothing", &binary).unwrap_err();
    assert!(
        matches!(unknown, protoreg_client::Error::UnknownType(_)),
        "{unknown}"
    );
}

#[test]
fn a_resolver_of_some_schemas_holds_their_files_and_imports_only() {
    let server = Server::start(&Db::sqlite());
    server.money_and_invoice_current("shop");
    server.publish_created(
        "shop",
        "other",
        &[(
            "other/x.proto",
            "syntax = \"proto3\";\npackage other;\nmessage X {}\n",
        )],
    );
    server.promote_ok("shop");
    let rt = runtime();
    let builder = Resolver::builder(client(&server), "shop").schemas(["billing"]);
    let resolver = rt.block_on(builder.start()).unwrap();
    assert!(resolver.message("billing.Invoice").is_some());
    assert!(resolver.message("common.Money").is_some(), "the import");
    assert!(resolver.message("other.X").is_none());
    assert_eq!(resolver.pin().etag(), None);
}

#[test]
fn a_killed_server_keeps_lookups_working_and_a_restart_catches_up() {
    let db = Db::sqlite();
    let home = fixed_listen_args();
    let mut server = Server::start_with_args(&db, &[], home.clone());
    server.money_current("shop");
    let cache = tempfile::tempdir().unwrap();
    let rt = runtime();
    let (resolver, swaps) = resolver(&rt, &server.base, "shop", Some(cache.path())).unwrap();
    wait_until("the stream to open", || resolver.is_connected());
    let before = resolver.pin();

    // Down: the last good snapshot is served from memory.
    server.kill9();
    wait_until("the resolver to notice", || !resolver.is_connected());
    assert_eq!(money_fields(&resolver.current()), 2);
    assert_eq!(resolver.pin().generation(), before.generation());

    // A change the resolver cannot see: made on another address.
    server.restart_after_kill9_with_args(elsewhere(&home));
    server.publish_created(
        "shop",
        "common",
        &[("common/money.proto", MONEY_WITH_NANOS)],
    );
    server.promote_ok("shop");
    assert!(!resolver.is_connected());
    assert_eq!(money_fields(&resolver.current()), 2);

    // Back on its address: the stream resumes and catches up.
    server.restart_after_kill9_with_args(home);
    let swapped = next_swap(&swaps);
    assert_eq!(money_fields(&swapped), 3);
    assert_eq!(swapped.origin(), Origin::Server);
    wait_until("the stream to reopen", || resolver.is_connected());

    // And follows new changes after that.
    server.publish_created("shop", "billing", &[("billing/invoice.proto", INVOICE_V1)]);
    server.promote_ok("shop");
    assert!(next_swap(&swaps).message("billing.Invoice").is_some());
    // Pinned before the outage, still the same.
    assert_eq!(money_fields(&before), 2);
}

#[test]
fn a_resolver_starts_from_cache_dir_while_the_server_is_down() {
    let db = Db::sqlite();
    let home = fixed_listen_args();
    let mut server = Server::start_with_args(&db, &[], home.clone());
    server.money_current("shop");
    let cache = tempfile::tempdir().unwrap();
    let base = server.base.clone();
    let rt = runtime();
    {
        let (_shop, _) = resolver(&rt, &base, "shop", Some(cache.path())).unwrap();
    }
    assert_eq!(
        cache_files(cache.path()).len(),
        1,
        "the cache was written at start"
    );
    server.kill9();

    // Down, no cache: no snapshot, a clear error.
    let empty = tempfile::tempdir().unwrap();
    let err = resolver(&rt, &base, "shop", Some(empty.path())).unwrap_err();
    assert!(
        matches!(err, protoreg_client::Error::NoSnapshot { .. }),
        "{err}"
    );

    // Down, with the cache: served from it.
    let (shop, swaps) = resolver(&rt, &base, "shop", Some(cache.path())).unwrap();
    assert_eq!(shop.pin().origin(), Origin::Cache);
    assert_eq!(money_fields(&shop.current()), 2);

    // Back up with a newer state: the cache-started resolver catches up.
    server.restart_after_kill9_with_args(elsewhere(&home));
    server.publish_created(
        "shop",
        "common",
        &[("common/money.proto", MONEY_WITH_NANOS)],
    );
    server.promote_ok("shop");
    server.restart_after_kill9_with_args(home);
    let swapped = next_swap(&swaps);
    assert_eq!(swapped.origin(), Origin::Server);
    assert_eq!(money_fields(&swapped), 3);
    drop(shop);
    server.kill9();

    // Copies only (the cache is replaced by rename, so a copy is always a
    // whole file, even while the last swap's write may still be running).
    let shop_file = cache.path().join("shop.resolver-cache");
    let copy_to = |name: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&shop_file, dir.path().join(name)).unwrap();
        dir
    };

    // Another namespace's cache under this namespace's name is ignored.
    let other_dir = copy_to("other.resolver-cache");
    let err = resolver(&rt, &base, "other", Some(other_dir.path())).unwrap_err();
    assert!(
        matches!(err, protoreg_client::Error::NoSnapshot { .. }),
        "{err}"
    );

    // A corrupt cache is ignored: a flipped byte, or not a cache at all.
    let corrupt = copy_to("shop.resolver-cache");
    let file = corrupt.path().join("shop.resolver-cache");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let err = resolver(&rt, &base, "shop", Some(corrupt.path())).unwrap_err();
    assert!(
        matches!(err, protoreg_client::Error::NoSnapshot { .. }),
        "{err}"
    );
    std::fs::write(&file, b"not a cache at all").unwrap();
    let err = resolver(&rt, &base, "shop", Some(corrupt.path())).unwrap_err();
    assert!(
        matches!(err, protoreg_client::Error::NoSnapshot { .. }),
        "{err}"
    );

    // The untouched cache still starts a resolver (the checks above failed
    // for the reasons named, not for every cache).
    let good = copy_to("shop.resolver-cache");
    let (shop, _) = resolver(&rt, &base, "shop", Some(good.path())).unwrap();
    assert_eq!(shop.pin().origin(), Origin::Cache);
}

// ---- The gRPC transport (`Client::builder_grpc`) ----

fn grpc_client(server: &Server) -> Client {
    Client::builder_grpc(server.grpc.clone().expect("the gRPC API is on"))
        .build()
        .unwrap()
}

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap()
}

#[test]
fn grpc_calls_answer_like_http_with_the_same_problem_codes() {
    let server = Server::start(&Db::sqlite());
    let rt = runtime();
    let http = client(&server);
    let grpc = grpc_client(&server);
    assert!(grpc.speaks_grpc() && grpc.base().is_none());
    rt.block_on(async {
        // not_found: the same code and status over both.
        let over_http = http.staging("nowhere").await.unwrap_err();
        let over_grpc = grpc.staging("nowhere").await.unwrap_err();
        assert_eq!(over_grpc.code(), Some("not_found"), "{over_grpc}");
        assert_eq!(over_grpc.status(), over_http.status());
        assert_eq!(over_grpc.to_string(), over_http.to_string());
        // A call gRPC does not have.
        let unsupported = grpc.namespace("shop").await.unwrap_err();
        assert!(
            matches!(unsupported, protoreg_client::Error::Unsupported { .. }),
            "{unsupported}"
        );

        let broken = grpc
            .publish(
                "shop",
                "common",
                &sources(&[("common/money.proto", "message {")]),
                false,
            )
            .await
            .unwrap_err();
        assert_eq!(broken.code(), Some("compile_failed"), "{broken}");
        assert_eq!(broken.status(), Some(422));

        let published = grpc
            .publish(
                "shop",
                "common",
                &sources(&[("common/money.proto", MONEY_V1)]),
                false,
            )
            .await
            .unwrap();
        assert_eq!(published.version, 1);
        assert!(!published.no_change);
        assert_eq!(
            json(&grpc.staging("shop").await.unwrap()),
            json(&http.staging("shop").await.unwrap())
        );

        let promoted = grpc.promote("shop", false).await.unwrap();
        assert_eq!(promoted.promoted[0].to_version, 1);
        assert_eq!(promoted.promoted[0].from_version, None);
        assert_eq!(
            http.namespace("shop").await.unwrap().revision,
            promoted.revision
        );
        let versions = http.versions("shop", "common").await.unwrap();
        assert_eq!(versions[0].fingerprint, published.fingerprint);
        let names = |list: Vec<protoreg_client::Namespace>| -> Vec<String> {
            list.into_iter().map(|n| n.id).collect()
        };
        assert_eq!(
            names(grpc.namespaces().await.unwrap()),
            names(http.namespaces().await.unwrap())
        );
        assert_eq!(
            grpc.sources("shop", "common", "current").await.unwrap(),
            http.sources("shop", "common", "current").await.unwrap()
        );

        let incompatible = sources(&[(
            "common/money.proto",
            "syntax = \"proto3\";\npackage common;\nmessage Money {\n  string units = 1;\n}\n",
        )]);
        let checked = grpc
            .check("shop", "common", &incompatible, false)
            .await
            .unwrap();
        assert!(!checked.compatible);
        assert_eq!(
            json(&checked),
            json(
                &http
                    .check("shop", "common", &incompatible, false)
                    .await
                    .unwrap()
            )
        );

        // The namespace descriptor: the same bytes and ETag; either
        // transport's ETag works with the other.
        let (
            Descriptor::Modified {
                bytes: g,
                etag: g_etag,
            },
            Descriptor::Modified {
                bytes: h,
                etag: h_etag,
            },
        ) = (
            grpc.descriptor("shop", None).await.unwrap(),
            http.descriptor("shop", None).await.unwrap(),
        )
        else {
            panic!("a first descriptor read is not 'not modified'");
        };
        assert_eq!(g, h);
        assert_eq!(g_etag, h_etag);
        let etag = h_etag.expect("an ETag");
        assert!(matches!(
            grpc.descriptor("shop", Some(&etag)).await.unwrap(),
            Descriptor::NotModified
        ));
        // A schema's descriptor: the same bytes as HTTP's.
        let Descriptor::Modified {
            bytes: schema_set,
            etag: own,
        } = grpc
            .schema_descriptor("shop", "common", "current", None)
            .await
            .unwrap()
        else {
            panic!("no set");
        };
        let Descriptor::Modified {
            bytes: http_set, ..
        } = http
            .schema_descriptor("shop", "common", "current", None)
            .await
            .unwrap()
        else {
            panic!("no set");
        };
        assert_eq!(schema_set, http_set);
        assert!(matches!(
            grpc.schema_descriptor("shop", "common", "current", own.as_deref())
                .await
                .unwrap(),
            Descriptor::NotModified
        ));

        grpc.publish(
            "shop",
            "common",
            &sources(&[("common/money.proto", MONEY_WITH_NANOS)]),
            false,
        )
        .await
        .unwrap();
        let diff = grpc
            .diff("shop", "common", Some("current"), Some("staged"))
            .await
            .unwrap();
        assert!(!diff.added.is_empty(), "{diff:?}");
        assert_eq!(
            json(&diff),
            json(
                &http
                    .diff("shop", "common", Some("current"), Some("staged"))
                    .await
                    .unwrap()
            )
        );
        assert_eq!(
            grpc.sources("shop", "common", "staged").await.unwrap()["common/money.proto"],
            MONEY_WITH_NANOS
        );

        // An incompatible promote: `incompatible`, 409 and the violations,
        // as over HTTP.
        grpc.publish("shop", "common", &incompatible, false)
            .await
            .unwrap();
        let over_http = http.promote("shop", false).await.unwrap_err();
        let over_grpc = grpc.promote("shop", false).await.unwrap_err();
        assert_eq!(over_grpc.code(), Some("incompatible"), "{over_grpc}");
        assert_eq!(over_grpc.status(), Some(409));
        let (
            protoreg_client::Error::Api { body: g, .. },
            protoreg_client::Error::Api { body: h, .. },
        ) = (&over_grpc, &over_http)
        else {
            panic!("refusals");
        };
        assert!(!g["violations"].as_array().unwrap().is_empty(), "{g}");
        assert_eq!(g["violations"], h["violations"]);
        assert_eq!(g["detail"], h["detail"]);

        // The event stream: the same items as HTTP's, resumable.
        let query = protoreg_client::EventQuery {
            after: Some(0),
            namespace: Some("shop".into()),
            kinds: Vec::new(),
        };
        let mut over_grpc = grpc.event_stream(&query, None).await.unwrap();
        let mut over_http = http.event_stream(&query, None).await.unwrap();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let (
                Some(protoreg_client::StreamItem::Event(g)),
                Some(protoreg_client::StreamItem::Event(h)),
            ) = (
                over_grpc.next().await.unwrap(),
                over_http.next().await.unwrap(),
            )
            else {
                panic!("events");
            };
            assert_eq!(
                (g.id, &g.kind, &g.namespace, &g.payload),
                (h.id, &h.kind, &h.namespace, &h.payload)
            );
            ids.push(g.id);
        }
        assert_eq!(over_grpc.last_event_id(), Some(ids[2]));
        let mut resumed = grpc.event_stream(&query, Some(ids[1])).await.unwrap();
        let Some(protoreg_client::StreamItem::Event(next)) = resumed.next().await.unwrap() else {
            panic!("an event");
        };
        assert_eq!(next.id, ids[2]);

        assert!(grpc.discard_staging("shop").await.unwrap().is_empty());
        assert!(http.staging("shop").await.unwrap().is_empty());
    });
}

#[test]
fn a_resolver_over_grpc_sees_a_promote_without_polling_and_survives_a_restart() {
    let db = Db::sqlite();
    let grpc_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let grpc_listen = format!("127.0.0.1:{grpc_port}");
    let mut server = Server::start_with_args(
        &db,
        &[("PROTOREG_GRPC__LISTEN", grpc_listen.as_str())],
        fixed_listen_args(),
    );
    server.money_current("shop");
    let cache = tempfile::tempdir().unwrap();
    let rt = runtime();
    let client = grpc_client(&server);
    let resolver = rt
        .block_on(
            Resolver::builder(client.clone(), "shop")
                .backoff(Duration::from_millis(50), Duration::from_millis(500))
                .start_timeout(Duration::from_secs(5))
                .cache_dir(cache.path())
                .start(),
        )
        .unwrap();
    let (tx, swaps) = channel();
    resolver.on_change(move |snapshot| {
        let _ = tx.send(snapshot.clone());
    });
    assert_eq!(resolver.pin().origin(), Origin::Server);
    assert_eq!(money_fields(&resolver.current()), 2);
    wait_until("the stream to open", || resolver.is_connected());
    let etag = resolver.pin().etag().map(str::to_owned);
    assert!(etag.is_some());

    // Pushed: the promote's event over WatchEvents, no polling.
    server.publish_created(
        "shop",
        "common",
        &[("common/money.proto", MONEY_WITH_NANOS)],
    );
    server.promote_ok("shop");
    let swapped = next_swap(&swaps);
    assert_eq!(money_fields(&swapped), 3);
    assert_ne!(swapped.etag().map(str::to_owned), etag);

    // Down: the last good snapshot keeps being served.
    server.kill9();
    wait_until("the resolver to notice", || !resolver.is_connected());
    assert_eq!(money_fields(&resolver.current()), 3);
    assert!(
        rt.block_on(client.staging("shop"))
            .unwrap_err()
            .status()
            .is_none()
    );

    // Back (same addresses): it reconnects, resumes and follows.
    server.restart_after_kill9();
    wait_until("the stream to reopen", || resolver.is_connected());
    server.publish_created("shop", "billing", &[("billing/invoice.proto", INVOICE_V1)]);
    server.promote_ok("shop");
    let swapped = loop {
        let swapped = next_swap(&swaps);
        if swapped.message("billing.Invoice").is_some() {
            break swapped;
        }
    };
    assert_eq!(money_fields(&swapped), 3);
    drop(resolver);

    // A second resolver over gRPC starts from the cache while the server
    // is down.
    server.kill9();
    let cached = rt
        .block_on(
            Resolver::builder(grpc_client_of(&grpc_listen), "shop")
                .start_timeout(Duration::from_secs(2))
                .cache_dir(cache.path())
                .start(),
        )
        .unwrap();
    assert_eq!(cached.pin().origin(), Origin::Cache);
    assert!(cached.message("billing.Invoice").is_some());
}

fn grpc_client_of(listen: &str) -> Client {
    Client::builder_grpc(format!("http://{listen}"))
        .build()
        .unwrap()
}

#[test]
fn a_client_of_both_transports_takes_full_answers_from_http_and_the_rest_from_grpc() {
    let server = Server::start(&Db::sqlite());
    let rt = runtime();
    let both = Client::builder(server.base.clone())
        .grpc(server.grpc.clone().expect("the gRPC API is on"))
        .build()
        .unwrap();
    assert!(both.speaks_grpc() && both.base().is_some());
    rt.block_on(async {
        // Publish's gRPC answer is partial: HTTP's whole one.
        let published = both
            .publish(
                "shop",
                "common",
                &sources(&[("common/money.proto", MONEY_V1)]),
                false,
            )
            .await
            .unwrap();
        assert!(published.messages.contains(&"common.Money".to_owned()));
        let promoted = both.promote("shop", false).await.unwrap();
        assert_eq!(
            both.namespace("shop").await.unwrap().revision,
            promoted.revision
        );
        let missing = both.promote("nowhere", false).await.unwrap_err();
        assert_eq!(
            (missing.code(), missing.status()),
            (Some("not_found"), Some(404))
        );
    });
    // A subset resolver of it follows a promote.
    let resolver = rt
        .block_on(Resolver::builder(both, "shop").schemas(["common"]).start())
        .unwrap();
    let (tx, swaps) = channel();
    resolver.on_change(move |snapshot| {
        let _ = tx.send(snapshot.clone());
    });
    wait_until("the stream to open", || resolver.is_connected());
    server.publish_created(
        "shop",
        "common",
        &[("common/money.proto", MONEY_WITH_NANOS)],
    );
    server.promote_ok("shop");
    assert_eq!(money_fields(&next_swap(&swaps)), 3);
}

#[test]
fn a_subset_resolver_over_grpc_alone_follows_a_promote() {
    let server = Server::start(&Db::sqlite());
    server.money_and_invoice_current("shop");
    let rt = runtime();
    let resolver = rt
        .block_on(
            Resolver::builder(grpc_client(&server), "shop")
                .schemas(["billing"])
                .start(),
        )
        .unwrap();
    assert!(resolver.message("billing.Invoice").is_some());
    assert!(resolver.message("common.Money").is_some(), "the import");
    let (tx, swaps) = channel();
    resolver.on_change(move |snapshot| {
        let _ = tx.send(snapshot.clone());
    });
    wait_until("the stream to open", || resolver.is_connected());
    // A subset holds the schema's versions: a change of billing itself.
    let invoice_v2 = INVOICE_V1.replace(
        "common.Money total = 2;",
        "common.Money total = 2;\n  string note = 3;",
    );
    server.publish_created("shop", "billing", &[("billing/invoice.proto", &invoice_v2)]);
    server.promote_ok("shop");
    let swapped = next_swap(&swaps);
    let invoice = swapped.message("billing.Invoice").unwrap();
    assert!(invoice.get_field_by_name("note").is_some());
    assert!(swapped.message("common.Money").is_some());
}
