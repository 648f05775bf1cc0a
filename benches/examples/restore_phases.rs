//! Times the phases of a restore (`restore::load_all_views`, the bulk of
//! `Registry::restore`) on the cached benchmark database, several times in
//! one process:
//! `cargo run --profile bench -p protoreg-benches --example restore_phases -- DB [RUNS]`.
use std::time::Instant;

use protoreg_core::StoreConfig;
use protoreg_core::restore;
use protoreg_core::store::Store;

fn main() {
    let mut args = std::env::args().skip(1);
    let db = args
        .next()
        .expect("usage: restore_phases PATH/protoreg.db [RUNS]");
    let runs: usize = args
        .next()
        .map_or(10, |n| n.parse().expect("RUNS: a number"));
    let system = actix_rt::System::new();
    system.block_on(async {
        let t = Instant::now();
        let store = Store::open(&StoreConfig::new(format!("sqlite://{db}")))
            .await
            .expect("open");
        eprintln!("Store::open (migrations check + pool): {:?}", t.elapsed());
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        println!("run\ttotal_ms\tread_heads_ms\tdecode_checkpoints_ms\tread_versions_ms\tassemble_ms\tversions\tfrom_checkpoints");
        for run in 1..=runs {
            let t = Instant::now();
            let restored = restore::load_all_views(&store).await.expect("restore");
            let total = t.elapsed();
            let p = restored.phases;
            println!(
                "{run}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{}\t{}",
                ms(total),
                ms(p.read_heads),
                ms(p.decode_checkpoints),
                ms(p.read_versions),
                ms(p.assemble),
                restored.versions,
                restored.from_checkpoints
            );
        }
    });
}
