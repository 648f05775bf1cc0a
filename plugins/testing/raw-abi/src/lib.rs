//! Test fixture: a plugin that uses the ABI table directly, as a C author
//! would, and breaks the protocol in ways the SDK never does:
//! `PROTOREG_RAW_ABI_VERSION` makes it claim another ABI version,
//! `PROTOREG_RAW_ABI_NULL=1` returns no table, and its generators answer
//! garbage bytes or an unknown status.
#![allow(unsafe_code)]

use protoreg_plugin_sdk::abi::{
    PROTOREG_ABI_VERSION, PROTOREG_OK, ProtoregBuffer, ProtoregPluginV1,
};
use protoreg_plugin_sdk::prost::Message;
use protoreg_plugin_sdk::{GeneratorInfo, PluginKind, PluginManifest};

fn write(out: *mut ProtoregBuffer, bytes: Vec<u8>) {
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed).cast::<u8>();
    // SAFETY: the host passes a valid, writable buffer slot.
    unsafe { out.write(ProtoregBuffer { ptr, len }) };
}

unsafe extern "C" fn manifest(out: *mut ProtoregBuffer) -> i32 {
    let manifest = PluginManifest {
        name: "raw-abi".into(),
        version: "0.0.0".into(),
        kinds: vec![PluginKind::CodeGenerator as i32],
        generators: ["raw-garbage", "raw-bad-status"]
            .iter()
            .map(|n| GeneratorInfo {
                name: n.to_string(),
                description: String::new(),
            })
            .collect(),
        ..Default::default()
    };
    write(out, manifest.encode_to_vec());
    PROTOREG_OK
}

unsafe extern "C" fn call(
    _kind: u32,
    target: *const u8,
    target_len: usize,
    _request: *const u8,
    _request_len: usize,
    out: *mut ProtoregBuffer,
) -> i32 {
    // SAFETY: the host passes a target valid for its length.
    let target = unsafe { std::slice::from_raw_parts(target, target_len) };
    match target {
        b"raw-bad-status" => {
            write(out, Vec::new());
            42
        }
        b"raw-garbage" => {
            // Not a protobuf message: a truncated length-delimited field.
            write(out, vec![0x0a, 0xff, 0xff, 0x01, 0x02]);
            PROTOREG_OK
        }
        // CONFIGURE and anything else: an empty (valid) message.
        _ => {
            write(out, Vec::new());
            PROTOREG_OK
        }
    }
}

unsafe extern "C" fn free(buffer: ProtoregBuffer) {
    if !buffer.ptr.is_null() {
        let slice = std::ptr::slice_from_raw_parts_mut(buffer.ptr, buffer.len);
        // SAFETY: allocated by `write` as a boxed slice of this length.
        drop(unsafe { Box::from_raw(slice) });
    }
}

static TABLE: std::sync::OnceLock<ProtoregPluginV1> = std::sync::OnceLock::new();

/// The entry point, honouring the test switches.
#[unsafe(no_mangle)]
pub extern "C" fn protoreg_plugin_v1() -> *const ProtoregPluginV1 {
    if std::env::var("PROTOREG_RAW_ABI_NULL").is_ok_and(|v| v == "1") {
        return std::ptr::null();
    }
    let abi_version = std::env::var("PROTOREG_RAW_ABI_VERSION")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PROTOREG_ABI_VERSION);
    TABLE.get_or_init(|| ProtoregPluginV1 {
        abi_version,
        struct_size: std::mem::size_of::<ProtoregPluginV1>() as u32,
        manifest,
        call,
        free,
    })
}
