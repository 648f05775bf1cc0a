//! Restoring a registry from its store versus recompiling the same data:
//!
//! - `restore/registry_open`: `Registry::open` on a SQLite store holding
//!   1,000 schemas × 10 versions (10 namespaces × 100 schemas; version 9
//!   current and version 10 staged everywhere, each namespace's restore
//!   checkpoint written as a server does when it stops or has been idle):
//!   migrations check, then restore of every namespace's current and staged
//!   versions from the stored compiled descriptors (no pool is linked; each
//!   is built on first use);
//! - `restore/registry_open_without_checkpoints`: the same on a copy with
//!   no restore checkpoints (every version read from its rows and blob);
//! - `restore/write_one_checkpoint`: encoding and storing one namespace's
//!   checkpoint (200 versions), the work the background writer does;
//! - `restore/recompile`: `compile_schema` on the sources of the same 2,000
//!   current and staged versions, one after the other.
//!
//! The database takes a while to build; it is built once and cached under
//! `target/bench-restore/<key>/`, where the key covers the data set and the
//! SQLite migrations; a cached database that no longer opens or restores
//! as expected (say, after a migration was edited in place) is rebuilt.
//! In test mode (`cargo bench -- --test`) a small data
//! set is used instead.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use protoreg_benches::{
    Dataset, bench_mode, build_dataset, recompile_dataset, sqlite_config, verify_restored,
    workspace_root,
};
use protoreg_core::Registry;

/// The registry's configuration on `db`, with no background checkpoint
/// writes (so that a timed restore never writes and the database without
/// checkpoints stays so).
fn config(db: &Path) -> protoreg_core::RegistryConfig {
    let mut config = sqlite_config(db);
    config.checkpoint_interval = None;
    config
}

/// Runs `f` with a registry opened on `db` inside a fresh actix System,
/// then stops the System (which stops the registry's actors) and waits
/// until the database is closed.
fn with_registry<T>(db: &Path, f: impl AsyncFnOnce(Registry) -> T) -> Result<T, String> {
    let system = actix_rt::System::new();
    let out = system.block_on(async {
        // Right after a build, the previous registry's connections may
        // still be closing (see `wait_closed`): retry a "locked" open.
        let mut attempts = 0;
        loop {
            match Registry::open(config(db)).await {
                Ok(registry) => break Ok(f(registry).await),
                Err(err) if err.to_string().contains("locked") && attempts < 20 => {
                    attempts += 1;
                    eprintln!("opening {} met a lock ({err}); retrying", db.display());
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(err) => break Err(format!("opening the registry on {}: {err}", db.display())),
            }
        }
    });
    actix_rt::System::current().stop();
    system.run().expect("stopping the actix system");
    wait_closed(db);
    out
}

/// Waits until every connection to `db` is closed: the registry's actors
/// stop on their own threads after the System stops, and the last SQLite
/// connection to close checkpoints and removes the `-wal` file. Opening the
/// database again before that can meet a lock.
fn wait_closed(db: &Path) {
    let wal = db.with_extension("db-wal");
    let deadline = Instant::now() + Duration::from_secs(10);
    while wal.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    if wal.exists() {
        eprintln!(
            "warning: {} still exists 10 s after the registry stopped",
            wal.display()
        );
    }
}

/// The cached database of the data set, built when missing.
fn database(data: Dataset) -> PathBuf {
    let root = workspace_root().join("target/bench-restore");
    let dir = root.join(data.cache_key());
    let db = dir.join("protoreg.db");
    if dir.join(".complete").is_file() {
        match with_registry(&db, async |r| verify_restored(&r, data)).and_then(|verified| verified)
        {
            Ok(_) => return db,
            Err(err) => {
                eprintln!(
                    "cached database {} is unusable ({err}); rebuilding",
                    db.display()
                );
            }
        }
    }
    let building = root.join(format!("{}.building", data.cache_key()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&building);
    std::fs::create_dir_all(&building).expect("creating the cache directory");
    eprintln!(
        "building the restore data set ({} schemas × {} versions) in {} …",
        data.schemas(),
        data.versions,
        building.display()
    );
    let started = Instant::now();
    with_registry(&building.join("protoreg.db"), async |r| {
        build_dataset(&r, data).await
    })
    .and_then(|built| built)
    .unwrap_or_else(|e| panic!("building the data set: {e}"));
    eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
    std::fs::write(building.join(".complete"), format!("{data:?}\n")).expect("writing the marker");
    std::fs::rename(&building, &dir).expect("moving the built database into place");
    db
}

fn restore_benches(c: &mut Criterion) {
    let data = if bench_mode() {
        Dataset::FULL
    } else {
        Dataset::SMALL
    };
    let db = database(data);
    let snapshots = with_registry(&db, async |r| verify_restored(&r, data))
        .and_then(|verified| verified)
        .unwrap_or_else(|e| panic!("the data set does not restore: {e}"));
    let size: u64 = std::fs::read_dir(db.parent().expect("db has a parent"))
        .expect("cache dir")
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    eprintln!(
        "data set {data:?}: {} schemas, {snapshots} current + staged versions restored; database {} ({:.1} MiB)",
        data.schemas(),
        db.display(),
        size as f64 / (1024.0 * 1024.0)
    );

    // The same data with no restore checkpoints: what a restart meets after
    // a crash in the middle of a burst of changes, or after an upgrade from
    // a version without them.
    let bare = db.with_file_name("protoreg-no-checkpoints.db");
    let _ = std::fs::remove_file(&bare);
    std::fs::copy(&db, &bare).expect("copying the database");
    let (with, without) = with_registry(&db, async |r| r.store().restore_heads().await)
        .and_then(|heads| heads.map_err(|e| e.to_string()))
        .map(|heads| heads.checkpoints.len())
        .and_then(|with| {
            with_registry(&bare, async |r| r.store().clear_checkpoints().await)
                .and_then(|cleared| cleared.map_err(|e| e.to_string()))
                .map(|cleared| (with, cleared))
        })
        .unwrap_or_else(|e| panic!("counting restore checkpoints: {e}"));
    assert_eq!(
        (with, without),
        (data.namespaces + 1, data.namespaces + 1),
        "one restore checkpoint per namespace (and __builtins__) in the data set"
    );

    let mut group = c.benchmark_group("restore");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);

    group.measurement_time(Duration::from_secs(5));
    for (name, file) in [
        ("registry_open", &db),
        ("registry_open_without_checkpoints", &bare),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Timed: only `Registry::open` (System start/stop excluded).
                    let system = actix_rt::System::new();
                    let started = Instant::now();
                    let registry = system.block_on(Registry::open(config(file))).expect("open");
                    total += started.elapsed();
                    black_box(&registry);
                    drop(registry);
                    actix_rt::System::current().stop();
                    system.run().expect("stopping the actix system");
                    wait_closed(file);
                }
                total
            })
        });
    }

    // What moved off the restore: writing one namespace's checkpoint (100
    // schemas, 200 versions), encode and store, as the background writer
    // does. On the copy, so the cached database stays as built.
    let system = actix_rt::System::new();
    let registry = system
        .block_on(Registry::open(config(&bare)))
        .expect("open");
    let view = registry
        .view(&data.namespace_name(0))
        .expect("the namespace");
    // Criterion calls the routine more than once: keep counting across calls,
    // so that every write is of a newer revision (an older one is refused).
    let mut revision = view.info.revision;
    group.bench_function("write_one_checkpoint", |b| {
        b.iter(|| {
            revision += 1;
            let data = protoreg_core::checkpoint::encode(&view).expect("encode");
            let written = system
                .block_on(registry.store().put_checkpoint(
                    view.info.row_id,
                    revision,
                    protoreg_core::checkpoint::FORMAT,
                    &data,
                ))
                .expect("store");
            assert!(written, "revision {revision} was not written");
        });
    });
    drop(registry);
    actix_rt::System::current().stop();
    system.run().expect("stopping the actix system");
    wait_closed(&bare);

    group.measurement_time(Duration::from_secs(15));
    group.bench_function("recompile", |b| {
        b.iter(|| black_box(recompile_dataset(data)))
    });
    group.finish();
}

criterion_group!(benches, restore_benches);
criterion_main!(benches);
