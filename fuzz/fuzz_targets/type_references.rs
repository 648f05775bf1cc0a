//! Names from arbitrary text where the grammar takes dotted names: the
//! bytes, split on NUL, are a package, a field's type reference, a custom
//! option's name and a nested message's name, in a fixed template. Long
//! dotted names once cost the square of their length; the bounds must
//! refuse them first, and everything else must compile or fail cleanly.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

#[path = "shared/mod.rs"]
mod shared;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\0');
    let mut next = |default: &'static str| parts.next().unwrap_or(default).to_owned();
    let (package, reference, option, nested) = (next("p"), next("M"), next("x"), next("N"));
    let file = format!(
        "syntax = \"proto3\";\npackage {package};\n\
         import \"google/protobuf/descriptor.proto\";\n\
         extend google.protobuf.MessageOptions {{ int32 x = 50000; }}\n\
         message M {{ message {nested} {{ {reference} self = 1; }} {reference} f = 1; \
         option ({option}) = 1; }}\n"
    );
    let sources = BTreeMap::from([("fuzz/t.proto".to_owned(), file)]);
    shared::compile_and_check(sources, Default::default());
});
