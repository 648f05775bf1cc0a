//! Times the phases of a restore on the cached benchmark database:
//! `cargo run --profile bench -p protoreg-benches --example restore_phases -- DB`.
use std::time::Instant;

use protoreg_core::StoreConfig;
use protoreg_core::ops;
use protoreg_core::store::Store;

fn main() {
    let db = std::env::args()
        .nth(1)
        .expect("usage: restore_phases PATH/protoreg.db");
    let system = actix_rt::System::new();
    system.block_on(async {
        let t = Instant::now();
        let store = Store::open(&StoreConfig::new(format!("sqlite://{db}"))).await.expect("open");
        eprintln!("Store::open (migrations check + pool): {:?}", t.elapsed());
        let t = Instant::now();
        let rows = store.live_namespaces().await.expect("namespaces");
        eprintln!("live_namespaces: {:?}", t.elapsed());
        for row in &rows {
            let t = Instant::now();
            let schemas = store.schemas_of(row.id).await.expect("schemas");
            let t_schemas = t.elapsed();
            let wanted: Vec<i64> =
                schemas.iter().flat_map(|s| [s.current_version_id, s.staged_version_id]).flatten().collect();
            let t = Instant::now();
            let versions = store.versions_by_ids(&wanted).await.expect("versions");
            let t_versions = t.elapsed();
            let ids: Vec<i64> = versions.iter().map(|v| v.id).collect();
            let t = Instant::now();
            let files = store.files_of_versions(&ids).await.expect("files");
            let t_files = t.elapsed();
            let keys: Vec<&str> = versions.iter().map(|v| v.descriptor_sha256.as_str()).collect();
            let t = Instant::now();
            let blobs = store.blobs(&keys).await.expect("blobs");
            let t_blobs = t.elapsed();
            let names: std::collections::HashMap<i64, protoreg_core::SchemaId> =
                schemas.iter().map(|s| (s.id, protoreg_core::SchemaId::parse(&s.name).unwrap())).collect();
            let t = Instant::now();
            let snaps = ops::load_snapshots(&store, &names, versions.clone()).await.expect("snapshots");
            let t_snaps = t.elapsed();
            let current: Vec<_> = schemas
                .iter()
                .filter_map(|s| s.current_version_id.map(|id| (&names[&s.id], &snaps[&id])))
                .collect();
            let t = Instant::now();
            let _linked = protoreg_core::snapshot::link(current, &[]).expect("link");
            eprintln!("  load_snapshots {t_snaps:?}, link {:?}", t.elapsed());
            let t = Instant::now();
            let view = ops::load_view(&store, row, &[]).await.expect("view");
            let t_view = t.elapsed();
            eprintln!(
                "{}: schemas_of {t_schemas:?}, versions_by_ids({}) {t_versions:?}, files_of_versions({}) {t_files:?}, blobs({}) {t_blobs:?}; load_view total {t_view:?} ({} schemas)",
                row.name,
                wanted.len(),
                files.len(),
                blobs.len(),
                view.schemas.len()
            );
        }
    });
}
