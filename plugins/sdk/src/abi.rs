//! The C ABI: one exported symbol, `protoreg_plugin_v1`, returning a
//! [`ProtoregPluginV1`] table. Bytes in, bytes out (protobuf); whoever
//! allocates frees. `include/protoreg_plugin.h` is generated from this file
//! by cbindgen.
#![allow(unsafe_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use crate::plugin::Plugin;

/// The ABI version this SDK speaks. A host refuses any other.
pub const PROTOREG_ABI_VERSION: u32 = 1;

/// The name of the one exported symbol.
pub const PROTOREG_PLUGIN_SYMBOL: &str = "protoreg_plugin_v1";

/// A call succeeded; the output buffer holds the response message.
pub const PROTOREG_OK: i32 = 0;
/// A call failed; the output buffer holds a UTF-8 error message.
pub const PROTOREG_ERROR: i32 = 1;

/// `call` kind: `ConfigureRequest` → `ConfigureResponse`.
pub const PROTOREG_CALL_CONFIGURE: u32 = 1;
/// `call` kind: `CompatRequest` → `CompatResponse`.
pub const PROTOREG_CALL_COMPAT: u32 = 2;
/// `call` kind: `CodeGeneratorRequest` → `CodeGeneratorResponse`; the target
/// names the generator.
pub const PROTOREG_CALL_GENERATE: u32 = 3;
/// `call` kind: `Event` → `EventAck`; the target names the sink.
pub const PROTOREG_CALL_EVENT: u32 = 4;

/// Bytes allocated by the plugin. The host hands it back to the table's
/// `free` exactly once and never frees it itself.
#[repr(C)]
#[derive(Debug)]
pub struct ProtoregBuffer {
    pub ptr: *mut u8,
    pub len: usize,
}

impl ProtoregBuffer {
    /// An empty buffer (nothing to free).
    pub const EMPTY: ProtoregBuffer = ProtoregBuffer {
        ptr: std::ptr::null_mut(),
        len: 0,
    };

    fn from_vec(bytes: Vec<u8>) -> Self {
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        let len = boxed.len();
        ProtoregBuffer {
            ptr: Box::into_raw(boxed).cast::<u8>(),
            len,
        }
    }
}

/// The table a plugin returns. Fields are only ever appended; a host reads
/// `struct_size` before any field past it.
#[repr(C)]
#[derive(Debug)]
pub struct ProtoregPluginV1 {
    /// [`PROTOREG_ABI_VERSION`].
    pub abi_version: u32,
    /// `sizeof(ProtoregPluginV1)` as the plugin was built.
    pub struct_size: u32,
    /// Writes the encoded `PluginManifest` to `out`; returns a status.
    pub manifest: unsafe extern "C" fn(out: *mut ProtoregBuffer) -> i32,
    /// Runs one call of `kind` on `target` (a generator or sink name, or
    /// empty) with an encoded request; writes the response (or an error
    /// message) to `out` and returns a status.
    pub call: unsafe extern "C" fn(
        kind: u32,
        target: *const u8,
        target_len: usize,
        request: *const u8,
        request_len: usize,
        out: *mut ProtoregBuffer,
    ) -> i32,
    /// Frees a buffer this plugin wrote.
    pub free: unsafe extern "C" fn(buffer: ProtoregBuffer),
}

static PLUGIN: OnceLock<Option<Plugin>> = OnceLock::new();

static TABLE: ProtoregPluginV1 = ProtoregPluginV1 {
    abi_version: PROTOREG_ABI_VERSION,
    struct_size: std::mem::size_of::<ProtoregPluginV1>() as u32,
    manifest: plugin_manifest,
    call: plugin_call,
    free: plugin_free,
};

/// Builds the plugin once and returns the table, or null when building it
/// panicked. Called by the symbol [`crate::export_plugin!`] defines.
#[doc(hidden)]
pub fn install(build: fn() -> Plugin) -> *const ProtoregPluginV1 {
    let plugin = PLUGIN.get_or_init(|| catch_unwind(build).ok());
    match plugin {
        Some(_) => &TABLE,
        None => std::ptr::null(),
    }
}

/// Writes `result` to `out` and returns its status.
fn respond(out: *mut ProtoregBuffer, result: Result<Vec<u8>, String>) -> i32 {
    if out.is_null() {
        return PROTOREG_ERROR;
    }
    let (status, bytes) = match result {
        Ok(bytes) => (PROTOREG_OK, bytes),
        Err(message) => (PROTOREG_ERROR, message.into_bytes()),
    };
    // SAFETY: `out` is non-null and, per the ABI, points to writable memory
    // for one `ProtoregBuffer`.
    unsafe { out.write(ProtoregBuffer::from_vec(bytes)) };
    status
}

/// Runs `f`, turning a panic into an error response.
fn guarded(out: *mut ProtoregBuffer, f: impl FnOnce() -> Result<Vec<u8>, String>) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(format!("plugin panicked: {text}"))
    });
    respond(out, result)
}

fn installed() -> Result<&'static Plugin, String> {
    PLUGIN
        .get()
        .and_then(Option::as_ref)
        .ok_or_else(|| "plugin not installed".to_string())
}

/// # Safety
/// `out` is null or points to writable memory for one `ProtoregBuffer`.
unsafe extern "C" fn plugin_manifest(out: *mut ProtoregBuffer) -> i32 {
    guarded(out, || Ok(installed()?.manifest_bytes()))
}

/// Borrows `len` bytes at `ptr`; null with length 0 is the empty slice.
///
/// # Safety
/// `ptr` is null (then `len` is 0) or valid for `len` bytes for `'a`.
unsafe fn borrowed<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], String> {
    match (ptr.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err("null pointer with a non-zero length".into()),
        // SAFETY: the caller guarantees `ptr` is valid for `len` bytes.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// # Safety
/// `target`/`request` are valid for their lengths (or null with length 0);
/// `out` as for `plugin_manifest`.
unsafe extern "C" fn plugin_call(
    kind: u32,
    target: *const u8,
    target_len: usize,
    request: *const u8,
    request_len: usize,
    out: *mut ProtoregBuffer,
) -> i32 {
    guarded(out, || {
        // SAFETY: forwarded from this function's contract.
        let target = unsafe { borrowed(target, target_len) }?;
        let target = std::str::from_utf8(target).map_err(|_| "target is not UTF-8")?;
        // SAFETY: as above.
        let request = unsafe { borrowed(request, request_len) }?;
        installed()?.dispatch(kind, target, request)
    })
}

/// # Safety
/// `buffer` was written by this plugin's `manifest` or `call` and is freed
/// once.
unsafe extern "C" fn plugin_free(buffer: ProtoregBuffer) {
    if buffer.ptr.is_null() {
        return;
    }
    let slice = std::ptr::slice_from_raw_parts_mut(buffer.ptr, buffer.len);
    // SAFETY: `ptr`/`len` came from `Box::<[u8]>::into_raw` in `from_vec`.
    drop(unsafe { Box::from_raw(slice) });
}

/// Exports `protoreg_plugin_v1` from a `cdylib`. `$build` is a
/// `fn() -> Plugin` that describes the plugin; it runs once, on first load.
///
/// ```ignore
/// fn plugin() -> protoreg_plugin_sdk::Plugin {
///     protoreg_plugin_sdk::Plugin::new("my-rules", env!("CARGO_PKG_VERSION"))
///         .rule(MyRule)
/// }
/// protoreg_plugin_sdk::export_plugin!(plugin);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($build:path) => {
        /// The protoreg plugin entry point (ABI v1).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn protoreg_plugin_v1() -> *const $crate::abi::ProtoregPluginV1 {
            $crate::abi::install($build)
        }
    };
}
