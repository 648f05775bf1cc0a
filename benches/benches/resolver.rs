//! The cost of a type lookup through `protoreg_client::Resolver` (an
//! atomic pointer load, then the pool's lookup) against the same lookup on
//! a plain `prost_reflect::DescriptorPool`, on a namespace of 200 message
//! types:
//!
//! - `resolver_lookup/pool`: `DescriptorPool::get_message_by_name`;
//! - `resolver_lookup/resolver`: `Resolver::message` (the current snapshot
//!   through `ArcSwap::load`, then the same lookup);
//! - `resolver_lookup/pinned`: `Snapshot::message` on a pinned snapshot
//!   (what a request handler holding a pin pays);
//! - `resolver_lookup/pin`: `Resolver::pin` alone (an `Arc` clone).
//!
//! `cargo bench -p protoreg-benches --bench resolver`; the results are in
//! docs/PERFORMANCE.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use prost_reflect::DescriptorPool;
use protoreg_client::Resolver;

const TYPES: usize = 200;

fn descriptor_set() -> Vec<u8> {
    let mut source = String::from("syntax = \"proto3\";\npackage bench.v1;\n");
    for i in 0..TYPES {
        source.push_str(&format!(
            "message M{i} {{\n  string id = 1;\n  int64 n = 2;\n  repeated string tags = 3;\n}}\n"
        ));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bench.proto"), source).expect("write");
    let files = protox::compile(["bench.proto"], [dir.path()]).expect("compile");
    prost::Message::encode_to_vec(&files)
}

fn lookups(c: &mut Criterion) {
    let set = descriptor_set();
    let pool = DescriptorPool::decode(set.as_slice()).expect("pool");
    let resolver = Resolver::from_descriptor_set("bench", set).expect("resolver");
    let pinned = resolver.pin();
    let names: Vec<String> = (0..TYPES).map(|i| format!("bench.v1.M{i}")).collect();
    let mut group = c.benchmark_group("resolver_lookup");
    let mut i = 0;
    group.bench_function("pool", |b| {
        b.iter(|| {
            i = (i + 1) % TYPES;
            black_box(pool.get_message_by_name(black_box(&names[i])))
        })
    });
    group.bench_function("resolver", |b| {
        b.iter(|| {
            i = (i + 1) % TYPES;
            black_box(resolver.message(black_box(&names[i])))
        })
    });
    group.bench_function("pinned", |b| {
        b.iter(|| {
            i = (i + 1) % TYPES;
            black_box(pinned.message(black_box(&names[i])))
        })
    });
    group.bench_function("pin", |b| b.iter(|| black_box(resolver.pin())));
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
