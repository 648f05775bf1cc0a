//! The compatibility check on a googleapis-size pair: the google-proto-files
//! subset (`old/`) against its mutated copy (`new/`), both written by
//! `benches/fetch-large-corpus` (see docs/PERFORMANCE.md), under the default
//! policy (category FILE, what `buf breaking` uses without a `breaking`
//! section):
//!
//! - `compat/check`: `protoreg_compat::check` on the two images, compiled
//!   with protox (source info, imports) and decoded in the setup: the engine
//!   alone;
//! - `compat/check_images`: reading the two encoded images (protox's
//!   descriptor sets, written to a temporary directory in the setup),
//!   decoding them and checking: the like-for-like counterpart of `buf
//!   breaking new.binpb --against old.binpb`;
//! - `compat/end_to_end`: from the `.proto` files: listing both
//!   directories, compiling each side with protox, decoding, checking, on
//!   one thread: what `buf breaking NEW --against OLD` does;
//! - `compat/end_to_end_2_threads`: the same with the two sides compiled on
//!   two threads at once (buf builds concurrently too).
//!
//! `benches/run` times buf on the same pair and prints the ratios. In test
//! mode (`cargo bench -- --test`) the benchmarks run once on a small
//! generated pair, so that they stay fast whether or not the large pair is
//! there.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use protoreg_benches::{
    Dataset, bench_mode, check_dirs, compat_pair, compile_dir, proto_paths, side_image,
};
use protoreg_compat::{Image, Policy, check};

/// A small pair for test mode: two namespaces of the restore data set at
/// version 4 (`old/`) and version 3 (`new/`: a field deleted per message).
fn small_pair(root: &Path) -> (PathBuf, PathBuf) {
    let data = Dataset::SMALL;
    let (old, new) = (root.join("old"), root.join("new"));
    for (dir, version) in [(&old, 4), (&new, 3)] {
        for ns in 0..data.namespaces {
            for schema in 0..data.schemas_per_namespace {
                for (name, text) in data.sources(ns, schema, version) {
                    let path = dir.join(name);
                    std::fs::create_dir_all(path.parent().expect("a parent"))
                        .expect("creating the small pair");
                    std::fs::write(&path, text).expect("writing the small pair");
                }
            }
        }
    }
    (old, new)
}

struct Side {
    files: BTreeSet<String>,
    bytes: Vec<u8>,
}

fn side(dir: &Path) -> Side {
    let files = proto_paths(dir).expect("listing the pair");
    let bytes = compile_dir(dir, &files).unwrap_or_else(|e| panic!("{e}"));
    Side { files, bytes }
}

/// One side from its directory: list, compile with protox, decode.
fn load_dir(dir: &Path) -> Image {
    let files = proto_paths(dir).expect("listing");
    let bytes = compile_dir(dir, &files).expect("compiles");
    side_image(&bytes, &files).expect("image")
}

fn compat_benches(c: &mut Criterion) {
    let small = tempfile::tempdir().expect("temporary directory");
    let (old, new) = if bench_mode() {
        compat_pair().unwrap_or_else(|message| panic!("{message}"))
    } else {
        match compat_pair() {
            Ok(_) => eprintln!(
                "compat benchmarks in test mode: using a small generated pair, not the large one"
            ),
            Err(message) => eprintln!(
                "compat benchmarks in test mode: using a small generated pair ({message})"
            ),
        }
        small_pair(small.path())
    };
    let policy = Policy::default();

    // Setup: compile both sides once, decode the images, write them out.
    let (previous_side, current_side) = (side(&old), side(&new));
    let previous = side_image(&previous_side.bytes, &previous_side.files).expect("old image");
    let current = side_image(&current_side.bytes, &current_side.files).expect("new image");
    let findings = check(&previous, &current, &policy).expect("check runs");
    eprintln!(
        "compat pair {} -> {}: {} / {} files, images {} / {} bytes, {} findings",
        old.display(),
        new.display(),
        previous_side.files.len(),
        current_side.files.len(),
        previous_side.bytes.len(),
        current_side.bytes.len(),
        findings.len()
    );
    assert!(!findings.is_empty(), "the pair must have breaking changes");
    let images = tempfile::tempdir().expect("temporary directory");
    let (old_image, new_image) = (
        images.path().join("old.binpb"),
        images.path().join("new.binpb"),
    );
    std::fs::write(&old_image, &previous_side.bytes).expect("writing old.binpb");
    std::fs::write(&new_image, &current_side.bytes).expect("writing new.binpb");
    // The end-to-end path finds the same.
    let e2e = check_dirs(&old, &new, &policy).expect("end to end");
    assert_eq!(e2e, findings);

    // Seconds per iteration on the large pair: ten flat samples of one
    // iteration each (criterion's minimum), the budget set accordingly.
    let mut group = c.benchmark_group("compat");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(45));
    group.bench_function("check", |b| {
        b.iter(|| {
            let found = check(&previous, &current, &policy).expect("check runs");
            assert_eq!(found.len(), findings.len());
            black_box(found)
        })
    });

    group.bench_function("check_images", |b| {
        b.iter(|| {
            let old_bytes = std::fs::read(&old_image).expect("reading old.binpb");
            let new_bytes = std::fs::read(&new_image).expect("reading new.binpb");
            let previous = side_image(&old_bytes, &previous_side.files).expect("old image");
            let current = side_image(&new_bytes, &current_side.files).expect("new image");
            let found = check(&previous, &current, &policy).expect("check runs");
            assert_eq!(found.len(), findings.len());
            black_box(found)
        })
    });

    group.measurement_time(Duration::from_secs(150));
    group.bench_function("end_to_end", |b| {
        b.iter(|| {
            let found = check_dirs(&old, &new, &policy).expect("end to end");
            assert_eq!(found.len(), findings.len());
            black_box(found)
        })
    });

    group.bench_function("end_to_end_2_threads", |b| {
        b.iter(|| {
            let (previous, current) = std::thread::scope(|scope| {
                let old_side = scope.spawn(|| load_dir(&old));
                let current = load_dir(&new);
                (old_side.join().expect("old side"), current)
            });
            let found = check(&previous, &current, &policy).expect("check runs");
            assert_eq!(found.len(), findings.len());
            black_box(found)
        })
    });
    group.finish();
}

criterion_group!(benches, compat_benches);
criterion_main!(benches);
