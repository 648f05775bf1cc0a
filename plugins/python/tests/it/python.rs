//! The Python side: grpcio-tools as the reference generator and the
//! protobuf / grpcio runtimes to import generated code with.

use std::path::Path;
use std::process::Command;

use crate::corpus::Outputs;

/// Missing tools fail under CI (`CI=true` or `CI=1`, as every test crate of
/// the workspace reads it) and are reported as skipped elsewhere.
pub fn skip_or_fail(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("{reason} (required under CI; run scripts/ensure-python-tools)");
    }
    eprintln!("skipped: {reason}");
}

pub struct Tools {
    python: String,
}

impl Tools {
    /// python3 with grpcio-tools, protobuf and grpcio importable.
    pub fn find() -> Option<Tools> {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let probe = Command::new(&python)
            .args(["-c", "import grpc_tools.protoc, google.protobuf, grpc"])
            .output();
        match probe {
            Ok(output) if output.status.success() => Some(Tools { python }),
            Ok(output) => {
                skip_or_fail(&format!(
                    "grpcio-tools/protobuf/grpcio not importable by {python}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
                None
            }
            Err(err) => {
                skip_or_fail(&format!("{python} not runnable: {err}"));
                None
            }
        }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let output = Command::new(&self.python)
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "python {:?} failed:\n{}\n{}",
            args.first(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn run_grpc_tools(&self, set: &Path, out: &Path, files: &[String]) {
        let set_arg = format!("--descriptor_set_in={}", set.display());
        let out = out.display().to_string();
        let python_out = format!("--python_out={out}");
        let pyi_out = format!("--pyi_out={out}");
        let grpc_out = format!("--grpc_python_out={out}");
        let mut args = vec![
            "-m",
            "grpc_tools.protoc",
            &set_arg,
            &python_out,
            &pyi_out,
            &grpc_out,
        ];
        args.extend(files.iter().map(String::as_str));
        self.run(&args, &[]);
    }

    /// A descriptor set compiled by grpcio-tools' protoc (imports and
    /// source info included), for what protox cannot compile (editions).
    pub fn compile_descriptor_set(&self, include: &Path, files: &[String]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let set = dir.path().join("set.pb");
        let include_arg = format!("-I{}", include.display());
        let out_arg = format!("--descriptor_set_out={}", set.display());
        let mut args = vec![
            "-m",
            "grpc_tools.protoc",
            &include_arg,
            &out_arg,
            "--include_imports",
            "--include_source_info",
        ];
        args.extend(files.iter().map(String::as_str));
        self.run(&args, &[]);
        std::fs::read(&set).expect("read descriptor set")
    }

    /// The site-packages directory holding googleapis-common-protos' protos.
    pub fn googleapis_root(&self) -> Option<String> {
        let script = "import google.api, os; print(os.path.dirname(os.path.dirname(list(google.api.__path__)[0])))";
        let output = Command::new(&self.python)
            .args(["-c", script])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The .proto files the googleapis-common-protos wheel installs.
    pub fn googleapis_files(&self) -> Vec<String> {
        let script = "import importlib.metadata as m\n\
            files = m.files('googleapis-common-protos') or []\n\
            print('\\n'.join(sorted(str(f) for f in files if str(f).endswith('.proto'))))";
        let listing = self.run(&["-c", script], &[]);
        listing.lines().map(str::to_owned).collect()
    }
}

/// Imports every generated module under both runtime backends and checks
/// messages and descriptors round-trip.
/// `unimportable_grpc` lists files whose `_pb2_grpc.py` is not imported
/// (named with `--no-grpc=FILE`).
pub fn check_imports(
    tools: &Tools,
    outputs: &Outputs,
    files: &[String],
    unimportable_grpc: &[&str],
) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content) in outputs {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write module");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/import_check.py");
    let script = script.display().to_string();
    let root = dir.path().display().to_string();
    let skips: Vec<String> = unimportable_grpc
        .iter()
        .map(|f| format!("--no-grpc={f}"))
        .collect();
    let mut args = vec![script.as_str(), root.as_str()];
    args.extend(skips.iter().map(String::as_str));
    args.extend(files.iter().map(String::as_str));
    for backend in ["upb", "python"] {
        let report = tools.run(
            &args,
            &[("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", backend)],
        );
        assert!(report.contains(&format!("backend={backend}")), "{report}");
        eprintln!("{}", report.trim());
    }
}
