//! Differential fuzzing against buf: random schema pairs (`fuzzgen`), checked
//! by our engine (both sides compiled by protox, with source info) and by
//! `buf breaking NEW --against OLD --error-format json --exclude-imports`
//! under a random category. The findings must be identical multisets of
//! (rule, path, span, message). The generator writes no tabs and no field
//! defaults, the two known differences between protox's source info and buf's
//! (`tests/compat/*/known-difference.txt`), so every pair must match exactly.
//!
//! `PROTOREG_FUZZ_PAIRS` (default 200) pairs from `PROTOREG_FUZZ_SEED`
//! (default fixed, so CI is reproducible); pair `i` uses seed `SEED + i`.
//! A failing pair's directory is kept and printed. Needs buf (see
//! `oracle.rs`); without it the test fails under CI (`CI=1` too) and prints
//! "skipped: buf not found" otherwise. `compat/tests/fuzz.sh` runs thousands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use protoreg_compat::{Image, Policy};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng};
use serde_json::Value;

use crate::fuzzgen::{Gen, Schema, generate, mutate, render};
use crate::oracle::find_buf;
use crate::support::{compile_with_protox, proto_files};

const DEFAULT_SEED: u64 = 0x5eed_0001;
const CATEGORIES: &[&str] = &["FILE", "PACKAGE", "WIRE_JSON", "WIRE"];

struct Pair {
    category: &'static str,
    unstable: bool,
    previous: Schema,
    current: Schema,
    mutations: Vec<String>,
}

fn make_pair(seed: u64) -> Pair {
    let mut g = Gen::new(StdRng::seed_from_u64(seed));
    let previous = generate(&mut g);
    let mut current = previous.clone();
    let mutations = mutate(&mut g, &mut current);
    let category = CATEGORIES[g.rng.random_range(0..CATEGORIES.len())];
    let unstable = g.rng.random_bool(0.1);
    Pair {
        category,
        unstable,
        previous,
        current,
        mutations,
    }
}

fn buf_yaml(pair: &Pair) -> String {
    let mut yaml = format!("version: v2\nbreaking:\n  use: [{}]\n", pair.category);
    if pair.unstable {
        yaml.push_str("  ignore_unstable_packages: true\n");
    }
    yaml
}

fn write_side(dir: &Path, schema: &Schema) {
    for (name, text) in render(schema) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
        std::fs::write(path, text).expect("write proto");
    }
    std::fs::create_dir_all(dir).expect("create side dir");
}

/// A finding as a comparable JSON object (buf's fields).
fn parse_lines(text: &str) -> Result<Vec<Value>, String> {
    let mut out: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("bad json {l:?}: {e}")))
        .collect::<Result<_, _>>()?;
    out.sort_by_key(|v| v.to_string());
    Ok(out)
}

fn ours(dir: &Path, pair: &Pair) -> Result<Vec<Value>, String> {
    let side = |name: &str| -> Result<Image, String> {
        let root = dir.join(name);
        let targets = proto_files(&root);
        let bytes = std::panic::catch_unwind(|| compile_with_protox(&root, &targets))
            .map_err(|_| format!("protox cannot compile {name}"))?;
        Image::from_file_descriptor_set_bytes_with_targets(&bytes, &targets)
            .map_err(|e| e.to_string())
    };
    let policy = Policy::from_buf_yaml(&buf_yaml(pair)).map_err(|e| e.to_string())?;
    let violations = protoreg_compat::check(&side("previous")?, &side("current")?, &policy)
        .map_err(|e| e.to_string())?;
    let lines: Vec<String> = violations.iter().map(|v| v.to_buf_json()).collect();
    parse_lines(&lines.join("\n"))
}

fn theirs(buf: &Path, dir: &Path) -> Result<Vec<Value>, String> {
    let output = Command::new(buf)
        .args([
            "breaking",
            ".",
            "--against",
            "../previous",
            "--error-format",
            "json",
            "--exclude-imports",
        ])
        .current_dir(dir.join("current"))
        .output()
        .map_err(|e| format!("buf does not run: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match output.status.code() {
        Some(0 | 100) => parse_lines(&stdout),
        code => Err(format!(
            "buf failed ({code:?}): {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

enum Outcome {
    Agree(Vec<String>),
    Differ(String),
}

fn run_pair(buf: &Path, root: &Path, seed: u64) -> Outcome {
    let pair = make_pair(seed);
    let dir = root.join(format!("pair-{seed}"));
    write_side(&dir.join("previous"), &pair.previous);
    write_side(&dir.join("current"), &pair.current);
    std::fs::write(dir.join("current/buf.yaml"), buf_yaml(&pair)).expect("write buf.yaml");
    let outcome = match (ours(&dir, &pair), theirs(buf, &dir)) {
        (Ok(ours), Ok(theirs)) if ours == theirs => {
            let rules = theirs
                .iter()
                .map(|v| v["type"].as_str().unwrap_or_default().to_owned())
                .collect();
            Outcome::Agree(rules)
        }
        (ours, theirs) => {
            let show = |r: Result<Vec<Value>, String>| match r {
                Ok(lines) => lines
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
                Err(e) => format!("error: {e}"),
            };
            Outcome::Differ(format!(
                "== seed {seed} ({}, unstable={}) in {}\nmutations: {:?}\n-- buf\n{}\n-- ours\n{}",
                pair.category,
                pair.unstable,
                dir.display(),
                pair.mutations,
                show(theirs),
                show(ours)
            ))
        }
    };
    if matches!(outcome, Outcome::Agree(_)) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

fn fuzz_root(seed: u64) -> PathBuf {
    std::env::temp_dir().join(format!("protoreg-fuzz-{seed}-{}", std::process::id()))
}

#[test]
fn fuzz_engine_agrees_with_buf_on_random_schema_pairs() {
    let Some(buf) = find_buf() else {
        crate::support::skip_unless_ci(
            "buf not found: set PROTOREG_BUF or make scripts/ensure-buf work",
        );
        return;
    };
    let pairs = env_u64("PROTOREG_FUZZ_PAIRS", 200);
    let seed = env_u64("PROTOREG_FUZZ_SEED", DEFAULT_SEED);
    let root = fuzz_root(seed);
    println!(
        "fuzz: {pairs} pairs from seed {seed} (PROTOREG_FUZZ_SEED), dirs under {}",
        root.display()
    );
    let next = AtomicUsize::new(0);
    let fired: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let breaking_pairs = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if i >= pairs {
                        break;
                    }
                    match run_pair(&buf, &root, seed.wrapping_add(i)) {
                        Outcome::Agree(rules) => {
                            if !rules.is_empty() {
                                breaking_pairs.fetch_add(1, Ordering::Relaxed);
                            }
                            let mut fired = fired.lock().expect("lock");
                            for rule in rules {
                                *fired.entry(rule).or_default() += 1;
                            }
                        }
                        Outcome::Differ(report) => {
                            failures.lock().expect("lock").push(report);
                        }
                    }
                }
            });
        }
    });
    let fired = fired.into_inner().expect("lock");
    let failures = failures.into_inner().expect("lock");
    println!(
        "fuzz: {} of {pairs} pairs agree, {} with findings; findings per rule:",
        pairs as usize - failures.len(),
        breaking_pairs.load(Ordering::Relaxed)
    );
    for (rule, count) in &fired {
        println!("  {rule}: {count}");
    }
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&root);
    }
    assert!(
        failures.is_empty(),
        "{} of {pairs} pairs differ from buf (seed {seed}; failing dirs kept):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The generator must keep exercising the rules: most pairs break
    // something, and many rules fire.
    assert!(
        fired.len() >= 15.min(pairs as usize / 4),
        "only {} rules fired",
        fired.len()
    );
}
