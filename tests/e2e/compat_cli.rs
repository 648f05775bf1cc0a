//! `protoreg compat check`, run as a subprocess: exit codes, output formats
//! (compared with buf's own output when buf is available), policies from
//! buf.yaml files and flags, compile errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{BIN, copy_dir, path_str, skip_unless_ci, write_tree};

const PROTO3_INT32: &str =
    "syntax = \"proto3\";\n\npackage foo.v1;\n\nmessage M {\n  int32 a = 1;\n}\n";
const PROTO3_INT64: &str =
    "syntax = \"proto3\";\n\npackage foo.v1;\n\nmessage M {\n  int64 a = 1;\n}\n";

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn protoreg(args: &[&str]) -> Output {
    let output = Command::new(BIN)
        .args(["compat", "check"])
        .args(args)
        .output()
        .expect("protoreg runs");
    Output {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// previous/ and current/ in a fresh temp dir.
fn sides(previous: &[(&str, &str)], current: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(&dir.path().join("previous"), previous);
    write_tree(&dir.path().join("current"), current);
    dir
}

fn corpus_case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/compat")
        .join(name)
}

/// buf from `PROTOREG_BUF` or `scripts/ensure-buf`; `None` (after a notice)
/// when missing outside CI, a panic under CI.
fn find_buf() -> Option<PathBuf> {
    let found = std::env::var_os("PROTOREG_BUF")
        .map(PathBuf::from)
        .or_else(|| {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ensure-buf");
            let output = Command::new("bash").arg(script).output().ok()?;
            let path = String::from_utf8(output.stdout).ok()?.trim().to_owned();
            (output.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
        .filter(|path| path.is_file());
    if found.is_none() {
        skip_unless_ci("buf not found: set PROTOREG_BUF or make scripts/ensure-buf work");
    }
    found
}

/// `buf breaking` on `current` against `previous` with `buf_yaml` as the
/// module's config, both copied to a scratch dir (buf refuses an input inside
/// another module, e.g. a corpus case holding a buf.yaml); returns (exit
/// code, stdout).
fn run_buf(
    buf: &Path,
    previous: &Path,
    current: &Path,
    buf_yaml: &str,
    format: &str,
) -> (i32, String) {
    let work = tempfile::tempdir().expect("tempdir");
    copy_dir(previous, &work.path().join("previous"));
    copy_dir(current, &work.path().join("current"));
    std::fs::write(work.path().join("current/buf.yaml"), buf_yaml).expect("write buf.yaml");
    let output = Command::new(buf)
        .args(["breaking", ".", "--against", "../previous"])
        .args(["--error-format", format, "--exclude-imports"])
        .current_dir(work.path().join("current"))
        .output()
        .expect("buf runs");
    let code = output.status.code().expect("buf exit code");
    assert!(
        matches!(code, 0 | 100),
        "buf failed ({code}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        code,
        String::from_utf8(output.stdout).expect("utf-8 buf output"),
    )
}

#[test]
fn compat_check_exits_0_without_output_when_compatible() {
    let dir = sides(
        &[("a.proto", PROTO3_INT32)],
        &[
            ("a.proto", PROTO3_INT32),
            ("b.proto", PROTO3_INT64.replace("M", "N").as_str()),
        ],
    );
    let out = protoreg(&[
        "--root",
        path_str(&dir.path().join("current")),
        "--against",
        path_str(&dir.path().join("previous")),
    ]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
}

#[test]
fn compat_check_output_equals_buf_on_corpus_cases() {
    let buf = find_buf();
    for name in [
        "scenario__nested_changes_file",
        "scenario__wkt_and_maps",
        "scenario__options_many_files",
        "scenario__services_wire_json",
        "scenario__renamed_file_package",
    ] {
        let case = corpus_case(name);
        let (previous, current) = (case.join("previous"), case.join("current"));
        let config = case.join("buf.yaml");
        let run = |format: &str| {
            protoreg(&[
                "--root",
                path_str(&current),
                "--against",
                path_str(&previous),
                "--config",
                path_str(&config),
                "--error-format",
                format,
            ])
        };
        let json = run("json");
        let text = run("text");
        let recorded = std::fs::read_to_string(case.join("expected.json")).expect("expected.json");
        assert_eq!(
            json.stdout, recorded,
            "{name}: json differs from expected.json"
        );
        assert_eq!(
            json.code,
            if recorded.is_empty() { 0 } else { 100 },
            "{name}"
        );
        assert_eq!(text.code, json.code, "{name}");
        assert_eq!(text.stdout.lines().count(), json.stdout.lines().count());
        if let Some(buf) = &buf {
            let yaml = std::fs::read_to_string(&config).expect("buf.yaml");
            for (format, ours) in [("json", &json), ("text", &text)] {
                let (code, theirs) = run_buf(buf, &previous, &current, &yaml, format);
                assert_eq!(
                    ours.stdout, theirs,
                    "{name}: {format} output differs from buf"
                );
                assert_eq!(ours.code, code, "{name}: exit code differs from buf");
            }
        }
    }
}

#[test]
fn compat_check_reads_buf_yaml_v1_and_v2_and_flags_override_them() {
    let dir = sides(&[("a.proto", PROTO3_INT32)], &[("a.proto", PROTO3_INT64)]);
    let (previous, current) = (dir.path().join("previous"), dir.path().join("current"));
    let v1 = "version: v1\nbreaking:\n  use:\n    - WIRE\n";
    let v2 = "version: v2\nmodules:\n  - path: .\n    breaking:\n      use: [FILE]\n      except: [FIELD_SAME_TYPE]\n";
    let v2_file = "version: v2\nbreaking:\n  use: [WIRE_JSON]\n";
    let check = |yaml: &str, extra: &[&str]| {
        let config = dir.path().join("buf.yaml");
        std::fs::write(&config, yaml).expect("write buf.yaml");
        let mut args = vec![
            "--root",
            path_str(&current),
            "--against",
            path_str(&previous),
            "--config",
            path_str(&config),
            "--error-format",
            "json",
        ];
        args.extend_from_slice(extra);
        protoreg(&args)
    };
    // int32 -> int64 is wire compatible, but not JSON compatible.
    assert_eq!(check(v1, &[]).code, 0);
    assert_eq!(check(v2, &[]).code, 0);
    let json = check(v2_file, &[]);
    assert_eq!(json.code, 100);
    assert!(
        json.stdout
            .contains("\"type\":\"FIELD_WIRE_JSON_COMPATIBLE_TYPE\""),
        "{}",
        json.stdout
    );
    // --use replaces the config's use; --except adds to it.
    let overridden = check(v1, &["--use", "FILE"]);
    assert_eq!(overridden.code, 100);
    assert!(overridden.stdout.contains("\"type\":\"FIELD_SAME_TYPE\""));
    assert_eq!(
        check(v1, &["--use", "FILE", "--except", "FIELD_SAME_TYPE"]).code,
        0
    );
    assert_eq!(check(v2_file, &["--ignore", "a.proto"]).code, 0);
    if let Some(buf) = find_buf() {
        for yaml in [v1, v2, v2_file] {
            let (code, theirs) = run_buf(&buf, &previous, &current, yaml, "json");
            let ours = check(yaml, &[]);
            assert_eq!((ours.code, ours.stdout), (code, theirs), "config {yaml:?}");
        }
    }
}

#[test]
fn compat_check_ignore_only_silences_a_rule_or_category_in_one_path() {
    let dir = sides(
        &[
            ("a.proto", PROTO3_INT32),
            ("sub/b.proto", &PROTO3_INT32.replace("foo.v1", "foo.sub.v1")),
        ],
        &[
            ("a.proto", PROTO3_INT64),
            ("sub/b.proto", &PROTO3_INT64.replace("foo.v1", "foo.sub.v1")),
        ],
    );
    let (previous, current) = (dir.path().join("previous"), dir.path().join("current"));
    let check = |extra: &[&str]| {
        let mut args = vec![
            "--root",
            path_str(&current),
            "--against",
            path_str(&previous),
            "--use",
            "FIELD_SAME_TYPE",
        ];
        args.extend_from_slice(extra);
        protoreg(&args)
    };
    let all = check(&[]);
    assert_eq!(all.code, 100);
    assert_eq!(all.stdout.lines().count(), 2, "{}", all.stdout);
    let only_b = check(&["--ignore-only", "FIELD_SAME_TYPE=a.proto"]);
    assert_eq!(only_b.code, 100);
    assert_eq!(
        only_b.stdout,
        "sub/b.proto:6:3:Field \"1\" with name \"a\" on message \"M\" changed type from \"int32\" to \"int64\".\n"
    );
    assert_eq!(
        check(&["--ignore-only", "FILE=a.proto,FIELD_SAME_TYPE=sub"]).code,
        0
    );
    let other_rule = check(&[
        "--ignore-only",
        "FIELD_SAME_NAME=a.proto,FIELD_SAME_NAME=sub",
    ]);
    assert_eq!(other_rule.stdout.lines().count(), 2);
    assert_eq!(
        check(&["--ignore-only", "a.proto"]).code,
        2,
        "clap usage error"
    );
}

#[test]
fn compat_check_resolves_imports_across_roots_of_one_side() {
    let dep = "syntax = \"proto3\";\n\npackage dep.v1;\n\nmessage D {\n  int32 x = 1;\n}\n";
    let user = |field: &str| {
        format!(
            "syntax = \"proto3\";\n\npackage foo.v1;\n\nimport \"dep/d.proto\";\n\nmessage M {{\n  {field} a = 1;\n}}\n"
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let root = |side: &str, n: u8| dir.path().join(format!("{side}{n}"));
    write_tree(&root("old", 1), &[("a.proto", &user("dep.v1.D"))]);
    write_tree(&root("old", 2), &[("dep/d.proto", dep)]);
    write_tree(&root("new", 1), &[("a.proto", &user("int32"))]);
    write_tree(&root("new", 2), &[("dep/d.proto", dep)]);
    let out = protoreg(&[
        "--root",
        path_str(&root("new", 1)),
        "--root",
        path_str(&root("new", 2)),
        "--against",
        path_str(&root("old", 1)),
        "--against",
        path_str(&root("old", 2)),
        "--use",
        "FIELD_SAME_TYPE",
    ]);
    assert_eq!(out.code, 100, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "a.proto:8:3:Field \"1\" with name \"a\" on message \"M\" changed type from \"message\" to \"int32\".\n"
    );
    // Without the second root the import does not resolve: no other file
    // system access.
    let missing = protoreg(&[
        "--root",
        path_str(&root("new", 1)),
        "--against",
        path_str(&root("old", 1)),
    ]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "a.proto:5:1: import 'dep/d.proto' not found\n"
    );
}

#[test]
fn compat_check_prints_compile_errors_as_file_line_column_and_exits_1() {
    let bad = "syntax = \"proto3\";\n\nmessage M {\n  int32 x = 1\n  string y = 2;\n}\n";
    let dir = sides(&[("a.proto", PROTO3_INT32)], &[("sub/bad.proto", bad)]);
    let out = protoreg(&[
        "--root",
        path_str(&dir.path().join("current")),
        "--against",
        path_str(&dir.path().join("previous")),
        "--error-format",
        "json",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "sub/bad.proto:5:3: expected ';' or '[', but found 'string'\n"
    );

    let undefined = "syntax = \"proto3\";\n\nmessage M {\n  Nope x = 1;\n}\n";
    write_tree(&dir.path().join("current"), &[("sub/bad.proto", undefined)]);
    let out = protoreg(&[
        "--root",
        path_str(&dir.path().join("current")),
        "--against",
        path_str(&dir.path().join("previous")),
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "sub/bad.proto:4:3: name 'Nope' is not defined\n"
    );
}

#[test]
fn compat_check_exits_1_on_editions_unknown_rules_and_bad_config() {
    let editions = "edition = \"2023\";\n\npackage foo.v1;\n\nmessage M {\n  int32 a = 1;\n}\n";
    let dir = sides(&[("a.proto", PROTO3_INT32)], &[("a.proto", editions)]);
    let (previous, current) = (dir.path().join("previous"), dir.path().join("current"));
    let out = protoreg(&[
        "--root",
        path_str(&current),
        "--against",
        path_str(&previous),
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("editions") && out.stderr.contains("a.proto"),
        "{}",
        out.stderr
    );

    let out = protoreg(&[
        "--root",
        path_str(&previous),
        "--against",
        path_str(&previous),
        "--use",
        "NOT_A_RULE",
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("NOT_A_RULE"), "{}", out.stderr);

    let config = dir.path().join("buf.yaml");
    std::fs::write(&config, "version: v9\n").expect("write buf.yaml");
    let out = protoreg(&[
        "--root",
        path_str(&previous),
        "--against",
        path_str(&previous),
        "--config",
        path_str(&config),
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("v9"), "{}", out.stderr);
}

#[test]
fn compat_check_runs_plugin_rules_with_their_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old, new) = (dir.path().join("old"), dir.path().join("new"));
    let v1 = "syntax = \"proto3\";\n\npackage foo.v1;\n\nmessage OrderEvent {\n  int32 a = 1;\n}\n";
    let v2 = v1.replace("int32 a = 1;", "int32 a = 1;\n  int32 b = 2;");
    write_tree(&old, &[("foo/v1/e.proto", v1)]);
    write_tree(&new, &[("foo/v1/e.proto", &v2)]);
    let plugin = Path::new(BIN).parent().expect("target dir").join(format!(
        "{}protoreg_plugin_suffix_rules{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(
        plugin.is_file(),
        "{} missing: cargo build --workspace",
        plugin.display()
    );
    let (old, new, plugin) = (
        old.to_str().unwrap(),
        new.to_str().unwrap(),
        plugin.to_str().unwrap(),
    );
    // Adding a field breaks nothing built in; without options the plugin's
    // rules do nothing either.
    let quiet = protoreg(&["--root", new, "--against", old, "--plugin", plugin]);
    assert_eq!(quiet.code, 0, "{}{}", quiet.stdout, quiet.stderr);
    let options = r#"{"message_no_change_suffixes": ["Event"]}"#;
    let found = protoreg(&[
        "--root",
        new,
        "--against",
        old,
        "--plugin",
        plugin,
        "--plugin-options",
        options,
    ]);
    assert_eq!(found.code, 100, "{}{}", found.stdout, found.stderr);
    assert!(
        found
            .stdout
            .starts_with("foo/v1/e.proto:5:1:Message \"foo.v1.OrderEvent\""),
        "{}",
        found.stdout
    );
    // Selected like a built-in rule.
    let excepted = protoreg(&[
        "--root",
        new,
        "--against",
        old,
        "--plugin",
        plugin,
        "--plugin-options",
        options,
        "--except",
        "MESSAGE_SUFFIXES_NO_CHANGE",
    ]);
    assert_eq!(excepted.code, 0, "{}{}", excepted.stdout, excepted.stderr);
    let missing = protoreg(&[
        "--root",
        new,
        "--against",
        old,
        "--plugin",
        "/nonexistent.so",
    ]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
    let bad = protoreg(&["--root", new, "--against", old, "--plugin-options", "[1]"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("--plugin-options"), "{}", bad.stderr);
}
