//! Describes the compatibility-check pair and compares our findings with
//! buf's:
//!
//! ```text
//! cargo run --profile bench -p protoreg-benches --example compat_pair -- \
//!     OLD_DIR NEW_DIR [BUF_JSON] [OUR_JSON_OUT]
//! ```
//!
//! Prints the size of each side (files, lines, messages, fields, enums,
//! services, methods; targets only, the well-known types excluded), the
//! protox compile and check times, and the findings per rule. With
//! `BUF_JSON` (the output of `buf breaking NEW --against OLD --error-format
//! json`), compares the two finding lists line by line and exits with 1 when
//! they differ. `OUR_JSON_OUT` receives our findings in buf's JSON format.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use protoreg_benches::{compile_dir, proto_paths, side_image};
use protoreg_compat::Policy;

fn describe(label: &str, dir: &Path, files: &BTreeSet<String>, bytes: &[u8]) {
    let lines: usize = files
        .iter()
        .map(|f| {
            std::fs::read_to_string(dir.join(f))
                .map(|t| t.lines().count())
                .unwrap_or(0)
        })
        .sum();
    let pool = prost_reflect::DescriptorPool::decode(bytes).expect("a valid descriptor set");
    let own = |name: &str| files.contains(name);
    let messages: Vec<_> = pool
        .all_messages()
        .filter(|m| own(m.parent_file().name()) && !m.is_map_entry())
        .collect();
    let fields: usize = messages.iter().map(|m| m.fields().len()).sum();
    let enums = pool
        .all_enums()
        .filter(|e| own(e.parent_file().name()))
        .count();
    let services: Vec<_> = pool
        .services()
        .filter(|s| own(s.parent_file().name()))
        .collect();
    let methods: usize = services.iter().map(|s| s.methods().len()).sum();
    println!(
        "{label}: {} files, {lines} lines, {} messages (map entries excluded), {fields} fields, \
         {enums} enums, {} services, {methods} methods; descriptor set with source info and \
         imports: {} bytes",
        files.len(),
        messages.len(),
        services.len(),
        bytes.len()
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [old, new, rest @ ..] = args.as_slice() else {
        eprintln!("usage: compat_pair OLD_DIR NEW_DIR [BUF_JSON] [OUR_JSON_OUT]");
        return ExitCode::from(2);
    };
    let (old, new) = (Path::new(old), Path::new(new));
    let old_files = proto_paths(old).expect("listing OLD_DIR");
    let new_files = proto_paths(new).expect("listing NEW_DIR");

    let t = Instant::now();
    let old_bytes = compile_dir(old, &old_files).expect("OLD_DIR compiles");
    let t_old = t.elapsed();
    let t = Instant::now();
    let new_bytes = compile_dir(new, &new_files).expect("NEW_DIR compiles");
    let t_new = t.elapsed();
    println!("protox: old {t_old:.2?}, new {t_new:.2?}");
    describe("old", old, &old_files, &old_bytes);
    describe("new", new, &new_files, &new_bytes);

    let t = Instant::now();
    let previous = side_image(&old_bytes, &old_files).expect("old image");
    let current = side_image(&new_bytes, &new_files).expect("new image");
    let t_decode = t.elapsed();
    let t = Instant::now();
    let violations =
        protoreg_compat::check(&previous, &current, &Policy::default()).expect("check runs");
    println!(
        "decode both images {t_decode:.2?}, check {:.2?}: {} findings",
        t.elapsed(),
        violations.len()
    );
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &violations {
        *per_rule.entry(v.rule.as_str()).or_default() += 1;
    }
    for (rule, n) in &per_rule {
        println!("  {rule}: {n}");
    }
    let ours: Vec<String> = violations.iter().map(|v| v.to_buf_json()).collect();
    if let Some(out) = rest.get(1) {
        let mut text = ours.join("\n");
        text.push('\n');
        std::fs::write(out, text).expect("writing OUR_JSON_OUT");
    }
    let Some(buf_json) = rest.first() else {
        return ExitCode::SUCCESS;
    };
    let theirs: Vec<String> = std::fs::read_to_string(buf_json)
        .expect("reading BUF_JSON")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    if ours == theirs {
        println!(
            "agreement: our {} findings equal buf's, line for line and in order",
            ours.len()
        );
        return ExitCode::SUCCESS;
    }
    let ours_set: BTreeSet<&String> = ours.iter().collect();
    let theirs_set: BTreeSet<&String> = theirs.iter().collect();
    let only_ours: Vec<_> = ours_set.difference(&theirs_set).collect();
    let only_buf: Vec<_> = theirs_set.difference(&ours_set).collect();
    println!(
        "DISAGREEMENT: ours {} findings, buf {}; {} only ours, {} only buf{}",
        ours.len(),
        theirs.len(),
        only_ours.len(),
        only_buf.len(),
        if only_ours.is_empty() && only_buf.is_empty() {
            " (same lines, different order)"
        } else {
            ""
        }
    );
    for line in only_ours.iter().take(50) {
        println!("  only ours: {line}");
    }
    for line in only_buf.iter().take(50) {
        println!("  only buf:  {line}");
    }
    ExitCode::from(1)
}
