//! Publishing the googleapis-common-protos corpus (63 files, ≈8.8k lines)
//! as one schema:
//!
//! - `publish/compile_schema`: `compile_schema` in process, nothing else;
//! - `publish/bounds_check`: the `bounds` pass over the same sources, which
//!   `compile_schema` runs first (its share of a compile);
//! - `publish/registry_publish_sqlite`: a full `Registry::publish` on SQLite
//!   (validate, fingerprint, actor round trip, compile, store transaction,
//!   view swap); each iteration changes the leading comment of one file so
//!   that every publish compiles and stores a new version;
//! - `publish/no_change_round_trip`: publishing the same sources again
//!   (`no_change: true`); the goal is ≤ 2 ms.
//!
//! The corpus comes from `benches/fetch-corpus` (see docs/PERFORMANCE.md).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use protoreg_benches::{
    bench_mode, corpus_dir, line_count, load_corpus, publish_request, sqlite_config,
};
use protoreg_core::compile::{ImportScope, compile_schema};
use protoreg_core::{NamespaceId, Registry};

const NAMESPACE: &str = "bench-publish";
const SCHEMA: &str = "googleapis-common";
/// The file whose leading comment changes per iteration.
const CHANGED_FILE: &str = "google/type/date.proto";

fn corpus() -> Option<BTreeMap<String, String>> {
    match load_corpus(&corpus_dir()) {
        Ok(files) => Some(files),
        Err(message) if bench_mode() => panic!("{message}"),
        Err(message) => {
            eprintln!("skipping the publish benchmarks in test mode: {message}");
            None
        }
    }
}

/// The corpus with a revision comment on top of [`CHANGED_FILE`]: a real
/// source change that also changes the compiled descriptor set (the comment
/// is kept in `source_code_info`).
fn revision(corpus: &BTreeMap<String, String>, n: u64) -> BTreeMap<String, String> {
    let mut sources = corpus.clone();
    let key = if sources.contains_key(CHANGED_FILE) {
        CHANGED_FILE.to_owned()
    } else {
        sources.keys().next().cloned().expect("non-empty corpus")
    };
    let text = sources.get_mut(&key).expect("key exists");
    *text = format!("// protoreg benchmark revision {n}\n\n{text}");
    sources
}

fn publish_benches(c: &mut Criterion) {
    let Some(corpus) = corpus() else { return };
    let bytes: usize = corpus.values().map(String::len).sum();
    eprintln!(
        "corpus {}: {} files, {} lines, {} bytes",
        corpus_dir().display(),
        corpus.len(),
        line_count(&corpus),
        bytes
    );

    let mut group = c.benchmark_group("publish");
    group.throughput(Throughput::Bytes(bytes as u64));

    // (a) compile_schema in process.
    let sources = Arc::new(corpus.clone());
    let scope = Arc::new(ImportScope::default());
    let compiled = compile_schema(sources.clone(), scope.clone()).expect("the corpus compiles");
    eprintln!(
        "compiled: {} own files, descriptor set {} bytes",
        compiled.files.len(),
        compiled.descriptor_set.len()
    );
    group.bench_function("compile_schema", |b| {
        b.iter(|| black_box(compile_schema(sources.clone(), scope.clone()).expect("compiles")))
    });

    group.bench_function("bounds_check", |b| {
        b.iter(|| {
            for (path, text) in sources.iter() {
                protoreg_core::bounds::check_source(path, text).expect("the corpus is in bounds");
            }
        })
    });

    // (b) and (c): a registry on SQLite in a temporary directory, inside an
    // actix System (the registry starts actix actors).
    let dir = tempfile::tempdir().expect("temporary directory");
    let system = actix_rt::System::new();
    let registry = system
        .block_on(Registry::open(sqlite_config(
            &dir.path().join("protoreg.db"),
        )))
        .expect("opening the registry");
    let namespace = NamespaceId::parse(NAMESPACE).expect("valid namespace");

    // Sanity: consecutive revisions are real publishes with new descriptors.
    let first = system
        .block_on(registry.publish(&namespace, publish_request(SCHEMA, revision(&corpus, 0))))
        .expect("publish");
    let second = system
        .block_on(registry.publish(&namespace, publish_request(SCHEMA, revision(&corpus, 1))))
        .expect("publish");
    assert!(!first.no_change && !second.no_change);
    assert_ne!(
        first.version.descriptor_sha256,
        second.version.descriptor_sha256
    );

    let mut next_revision = 2u64;
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("registry_publish_sqlite", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let request = publish_request(SCHEMA, revision(&corpus, next_revision));
                next_revision += 1;
                let started = Instant::now();
                let outcome = system
                    .block_on(registry.publish(&namespace, request))
                    .expect("publish");
                total += started.elapsed();
                assert!(!outcome.no_change);
            }
            total
        })
    });

    // (c) NoChange: the staged version has these exact sources.
    let same = revision(&corpus, next_revision);
    let staged = system
        .block_on(registry.publish(&namespace, publish_request(SCHEMA, same.clone())))
        .expect("publish");
    assert!(!staged.no_change);
    group.sample_size(100);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("no_change_round_trip", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let request = publish_request(SCHEMA, same.clone());
                let started = Instant::now();
                let outcome = system
                    .block_on(registry.publish(&namespace, request))
                    .expect("publish");
                total += started.elapsed();
                assert!(outcome.no_change);
            }
            total
        })
    });
    group.finish();

    drop(registry);
    actix_rt::System::current().stop();
    system.run().expect("stopping the actix system");
}

criterion_group!(benches, publish_benches);
criterion_main!(benches);
