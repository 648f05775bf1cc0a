//! A promote of one schema, by namespace size: the goal is that a
//! promote scales with the change, not with the namespace (one schema of a
//! 1,000-schema namespace ≤ 5× one of a 10-schema namespace).
//!
//! - `promote/one_schema_of_10` and `promote/one_schema_of_1000`: a
//!   namespace of N single-file schemas (one message each, as
//!   `benches/load/memory.py` publishes), all promoted; each iteration
//!   publishes a new version of one schema (not timed) and times
//!   `Registry::promote` on SQLite (the compatibility check of the changed
//!   schema, the namespace's link, the store transaction, the view swap).
//!
//! The ratio of the two medians is the figure in docs/PERFORMANCE.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use protoreg_benches::{publish_request, sqlite_config};
use protoreg_core::{NamespaceId, Registry};

fn source(schema: usize, fields: usize) -> BTreeMap<String, String> {
    let mut text = format!("syntax = \"proto3\";\npackage s{schema};\nmessage M{schema} {{\n");
    for k in 1..=fields {
        text.push_str(&format!("  string f{k} = {k};\n"));
    }
    text.push_str("}\n");
    BTreeMap::from([(format!("s{schema}/m.proto"), text)])
}

fn promote_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("promote");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    for size in [10usize, 1000] {
        let dir = tempfile::tempdir().expect("temporary directory");
        let system = actix_rt::System::new();
        let registry = system
            .block_on(Registry::open(sqlite_config(
                &dir.path().join("protoreg.db"),
            )))
            .expect("opening the registry");
        let name = format!("bench-promote-{size}");
        let namespace = NamespaceId::parse(&name).expect("valid namespace");
        for schema in 0..size {
            system
                .block_on(registry.publish(
                    &namespace,
                    publish_request(&format!("s{schema}"), source(schema, 2)),
                ))
                .expect("publish");
        }
        let first = system
            .block_on(registry.promote(&name, false))
            .expect("promote");
        assert_eq!(first.promoted.len(), size);
        let mut fields = 2;
        group.bench_function(format!("one_schema_of_{size}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    fields += 1;
                    system
                        .block_on(
                            registry.publish(&namespace, publish_request("s0", source(0, fields))),
                        )
                        .expect("publish");
                    let started = Instant::now();
                    let outcome = system
                        .block_on(registry.promote(&name, false))
                        .expect("promote");
                    total += started.elapsed();
                    assert_eq!(outcome.promoted.len(), 1);
                }
                total
            })
        });
        drop(registry);
        actix_rt::System::current().stop();
        system.run().expect("stopping the actix system");
    }
    group.finish();
}

criterion_group!(benches, promote_benches);
criterion_main!(benches);
