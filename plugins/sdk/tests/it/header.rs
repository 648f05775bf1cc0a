use std::path::Path;

/// The checked-in C header is what cbindgen generates from `src/abi.rs`.
/// `PROTOREG_BLESS=1` rewrites it.
#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("config");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/abi.rs"))
        .generate()
        .expect("cbindgen")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("utf-8 header");
    let path = crate_dir.join("include/protoreg_plugin.h");
    if std::env::var("PROTOREG_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write header");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/protoreg_plugin.h is stale; run PROTOREG_BLESS=1 cargo test -p protoreg-plugin-sdk --test it header\n--- generated ---\n{generated}"
    );
    for name in [
        "ProtoregPluginV1",
        "ProtoregBuffer",
        "PROTOREG_ABI_VERSION",
        "PROTOREG_CALL_GENERATE",
    ] {
        assert!(generated.contains(name), "{name} missing from the header");
    }
}
