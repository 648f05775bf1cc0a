//! The host side of the C ABI: open a library, check its table, call it.
//! The only module of `protoreg-core` with `unsafe`; every block says why
//! it holds.
#![allow(unsafe_code)]

use std::path::Path;

use protoreg_plugin_sdk::abi::{
    PROTOREG_ABI_VERSION, PROTOREG_ERROR, PROTOREG_OK, PROTOREG_PLUGIN_SYMBOL, ProtoregBuffer,
    ProtoregPluginV1,
};

/// An opened plugin library. The library is leaked on purpose: code of a
/// plugin may still run on an abandoned (timed-out) call thread, so it is
/// never unloaded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Library {
    table: &'static ProtoregPluginV1,
}

/// What a call returned.
#[derive(Debug)]
pub(crate) enum Reply {
    Ok(Vec<u8>),
    /// The plugin reported an error (its message).
    Error(String),
}

impl Library {
    /// Opens `path`, finds `protoreg_plugin_v1`, and checks the table's ABI
    /// version and size. Runs the library's initialisers: only configured
    /// (trusted) libraries get here.
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        // SAFETY: loading a library runs its initialisers; the operator
        // configured this path as a plugin, which is the trust boundary.
        let library = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
        let library: &'static libloading::Library = Box::leak(Box::new(library));
        // SAFETY: the symbol's type is the ABI's entry point signature; a
        // library exporting the name with another type breaks the ABI
        // contract, which we cannot check further.
        let entry: libloading::Symbol<'static, unsafe extern "C" fn() -> *const ProtoregPluginV1> =
            unsafe { library.get(PROTOREG_PLUGIN_SYMBOL.as_bytes()) }
                .map_err(|_| format!("no symbol {PROTOREG_PLUGIN_SYMBOL}"))?;
        // SAFETY: calling the entry point takes no arguments; it returns a
        // pointer the plugin keeps valid for the life of the library.
        let table = unsafe { entry() };
        if table.is_null() {
            return Err(format!("{PROTOREG_PLUGIN_SYMBOL} returned null"));
        }
        // SAFETY: non-null, and the two leading u32 fields are present in
        // every ABI version; read them before trusting the size.
        let (abi_version, struct_size) = unsafe {
            let head = table.cast::<u32>();
            (head.read(), head.add(1).read())
        };
        if abi_version != PROTOREG_ABI_VERSION {
            return Err(format!(
                "ABI version {abi_version}, this server speaks {PROTOREG_ABI_VERSION}"
            ));
        }
        let expected = std::mem::size_of::<ProtoregPluginV1>();
        if (struct_size as usize) < expected {
            return Err(format!(
                "table is {struct_size} bytes, ABI v{PROTOREG_ABI_VERSION} needs {expected}"
            ));
        }
        // SAFETY: version and size checked: the table has every v1 field,
        // and lives as long as the (leaked) library.
        let table: &'static ProtoregPluginV1 = unsafe { &*table };
        Ok(Library { table })
    }

    pub(crate) fn manifest(&self) -> Result<Reply, String> {
        let mut out = ProtoregBuffer::EMPTY;
        // SAFETY: `out` is a valid, writable buffer slot.
        let status = unsafe { (self.table.manifest)(&mut out) };
        self.take(status, out, usize::MAX)
    }

    /// One call. A reply longer than `max_output` bytes is refused (and
    /// freed) without being copied.
    pub(crate) fn call(
        &self,
        kind: u32,
        target: &str,
        request: &[u8],
        max_output: usize,
    ) -> Result<Reply, String> {
        let mut out = ProtoregBuffer::EMPTY;
        // SAFETY: the pointers are valid for their lengths for the whole
        // call; `out` is a valid, writable buffer slot.
        let status = unsafe {
            (self.table.call)(
                kind,
                target.as_ptr(),
                target.len(),
                request.as_ptr(),
                request.len(),
                &mut out,
            )
        };
        self.take(status, out, max_output)
    }

    /// Copies the plugin's buffer out (when sane), then returns it to the
    /// plugin's `free`.
    fn take(&self, status: i32, out: ProtoregBuffer, max_output: usize) -> Result<Reply, String> {
        let result = if out.ptr.is_null() && out.len != 0 {
            Err("the plugin returned a null buffer with a length".to_string())
        } else if out.len > max_output {
            Err(format!(
                "the response is {} bytes, over the limit of {max_output}",
                out.len
            ))
        } else {
            let bytes = if out.len == 0 {
                Vec::new()
            } else {
                // SAFETY: the plugin wrote `len` bytes at `ptr`, valid until
                // we hand the buffer to `free` below.
                unsafe { std::slice::from_raw_parts(out.ptr, out.len) }.to_vec()
            };
            match status {
                PROTOREG_OK => Ok(Reply::Ok(bytes)),
                PROTOREG_ERROR => Ok(Reply::Error(String::from_utf8_lossy(&bytes).into_owned())),
                other => Err(format!("the plugin returned unknown status {other}")),
            }
        };
        if !out.ptr.is_null() {
            // SAFETY: the buffer came from this plugin and is freed once.
            unsafe { (self.table.free)(out) };
        }
        result
    }
}
