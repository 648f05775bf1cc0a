//! Verification of generated code (`settings.codegen[].verify`): before a
//! job's archive is stored or pushed, the language's own toolchain checks
//! its files.
//!
//! - Python (generator `python`): every `.py` and `.pyi` file is
//!   byte-compiled (`compile()`, as `py_compile` does, writing no `.pyc`)
//!   and every `.py` module is imported with the protobuf runtime (and
//!   grpcio for `_pb2_grpc` modules), by `python3 -I`.
//! - Go (generators `go` and `go-grpc`): `go vet` of the packages the job
//!   wrote, in GOPATH mode (`GO111MODULE=off`) with the generated tree
//!   first on `GOPATH` and Debian's Go sources (`/usr/share/gocode`:
//!   golang-google-protobuf-dev, golang-google-grpc-dev) after it, so that
//!   google.golang.org/protobuf and google.golang.org/grpc resolve without
//!   a network (`GOPROXY=off`). Files land under `src/` at their output
//!   path (`paths=import`, the default, is the import path), or under
//!   `src/<M>/` with `module=M`.
//!
//! The files a job's files import but do not contain (other schemas'
//! messages; for `go-grpc`, the messages of its own files) are generated
//! alongside by the language's message generator ([`support_generator`])
//! and checked only as dependencies. The well-known types come from the
//! runtime.
//!
//! Each tool runs in a fresh temporary directory (`codegen.verify.work_dir`,
//! default the system's), with an empty environment but `PATH` (and pyenv's
//! `PYENV_ROOT`/`PYENV_VERSION`, which its shims need) and what is set here
//! (`HOME` and `GOCACHE` in the temporary directory, `GOFLAGS` empty), in a
//! process group of its own that is killed at `timeout_ms`. Its output
//! (stdout then stderr) is kept to the last [`MAX_OUTPUT`] bytes.
//!
//! A missing toolchain (no interpreter, no protobuf runtime, no `go`, no
//! Go sources) is [`Verification::NotVerified`]: the job says so in its
//! log and records `verified: false`, and still succeeds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The output of a tool kept for the job's log: its last 64 KiB.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// `[codegen.verify]` of the server configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct VerifyConfig {
    /// The Python interpreter (looked up on `PATH` when not a path).
    pub python: PathBuf,
    /// The `go` command.
    pub go: PathBuf,
    /// The GOPATH tree holding google.golang.org/protobuf and
    /// google.golang.org/grpc under `src/` (Debian's packages).
    pub go_path: PathBuf,
    /// A Go build cache kept between jobs; `None`: a fresh one per job
    /// (inside its temporary directory), which makes every Go check build
    /// protobuf-go and grpc-go again.
    pub go_cache: Option<PathBuf>,
    /// Where the temporary directories go; `None`: the system's.
    pub work_dir: Option<PathBuf>,
    /// Each tool is killed (its whole process group) after this long.
    pub timeout_ms: u64,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        Self {
            python: PathBuf::from("python3"),
            go: PathBuf::from("go"),
            go_path: PathBuf::from("/usr/share/gocode"),
            go_cache: None,
            work_dir: None,
            timeout_ms: 300_000,
        }
    }
}

/// The toolchains that can check a generator's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toolchain {
    Python,
    Go,
}

impl Toolchain {
    /// The toolchain of a generator, by its name.
    pub fn of(generator: &str) -> Option<Self> {
        match generator {
            "python" => Some(Self::Python),
            "go" | "go-grpc" => Some(Self::Go),
            _ => None,
        }
    }
}

/// The generator whose output the files of `generator` need beside them
/// (the messages they import), and the parameter it gets: for `go-grpc`,
/// `go` with the options both understand (`paths=`, `module=`, `M…`, the
/// registry's `go_package_prefix=`).
pub fn support_generator(generator: &str, parameter: &str) -> (&'static str, String) {
    match generator {
        "go" | "go-grpc" => {
            let kept: Vec<&str> = parameter
                .split(',')
                .filter(|o| {
                    o.starts_with("paths=")
                        || o.starts_with("module=")
                        || o.starts_with('M')
                        || o.starts_with("go_package_prefix=")
                })
                .collect();
            ("go", kept.join(","))
        }
        _ => ("python", parameter.to_owned()),
    }
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The toolchain checked the files; what it did.
    Verified(String),
    /// The toolchain could not run (not installed, no runtime); why.
    NotVerified(String),
    /// The toolchain rejected the files; its output (bounded).
    Failed(String),
}

/// Checks `files` (a job's output, by path) with `toolchain`; `support`
/// holds generated files they need (written first; `files` win).
pub async fn verify(
    config: &VerifyConfig,
    toolchain: Toolchain,
    parameter: &str,
    files: &BTreeMap<String, Vec<u8>>,
    support: &BTreeMap<String, Vec<u8>>,
) -> Verification {
    let work = match config.work_dir.as_deref() {
        Some(dir) => tempfile::Builder::new()
            .prefix("protoreg-verify-")
            .tempdir_in(dir),
        None => tempfile::Builder::new()
            .prefix("protoreg-verify-")
            .tempdir(),
    };
    let work = match work {
        Ok(work) => work,
        Err(err) => return Verification::NotVerified(format!("no temporary directory: {err}")),
    };
    let result = match toolchain {
        Toolchain::Python => python(config, work.path(), files, support).await,
        Toolchain::Go => go(config, work.path(), parameter, files, support).await,
    };
    result.unwrap_or_else(Verification::NotVerified)
}

/// Writes `support` then `files` under `root`.
fn write_tree(
    root: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    support: &BTreeMap<String, Vec<u8>>,
) -> Result<(), String> {
    for (name, data) in support.iter().chain(files) {
        // Names were checked when the generator's output was read
        // (relative, no `..`).
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("writing {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, data).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}

/// The Python check: compiles every file, imports every module, prints
/// what it did. Exit 3: no runtime (not verified); 1: a file failed.
const PYTHON_CHECK: &str = r#"
import importlib, sys, traceback
root, names = sys.argv[1], sys.argv[2:]
sys.path.insert(0, root)
try:
    import google.protobuf
except Exception as e:
    print("python cannot import google.protobuf (the protobuf runtime): %s" % e)
    sys.exit(3)
if any(n.endswith("_pb2_grpc.py") for n in names):
    try:
        import grpc
    except Exception as e:
        print("python cannot import grpc (grpcio): %s" % e)
        sys.exit(3)
failed = 0
modules = 0
for name in names:
    try:
        with open(root + "/" + name, "rb") as f:
            compile(f.read(), name, "exec", dont_inherit=True)
    except Exception as e:
        failed += 1
        print("%s: does not compile:" % name)
        traceback.print_exc(limit=0, file=sys.stdout)
for name in names:
    if not name.endswith(".py"):
        continue
    module = name[:-3].replace("/", ".")
    try:
        importlib.import_module(module)
        modules += 1
    except BaseException as e:
        failed += 1
        print("%s: import %s failed:" % (name, module))
        traceback.print_exc(file=sys.stdout)
if failed:
    sys.exit(1)
print("compiled %d file(s), imported %d module(s) with protobuf %s"
      % (len(names), modules, google.protobuf.__version__))
"#;

async fn python(
    config: &VerifyConfig,
    work: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    support: &BTreeMap<String, Vec<u8>>,
) -> Result<Verification, String> {
    let tree = work.join("tree");
    write_tree(&tree, files, support)?;
    let names: Vec<&str> = files
        .keys()
        .map(String::as_str)
        .filter(|n| n.ends_with(".py") || n.ends_with(".pyi"))
        .collect();
    let mut args: Vec<&std::ffi::OsStr> = vec!["-I".as_ref(), "-c".as_ref(), PYTHON_CHECK.as_ref()];
    args.push(tree.as_os_str());
    args.extend(names.iter().map(std::ffi::OsStr::new));
    let env = vec![("PYTHONDONTWRITEBYTECODE", "1".into())];
    let run = run_tool(config, &config.python, &args, work, env).await?;
    let program = config.python.display();
    Ok(match run.code {
        Some(0) => Verification::Verified(format!(
            "{program}: {}",
            run.output.lines().last().unwrap_or_default()
        )),
        Some(3) => Verification::NotVerified(run.output.trim().to_owned()),
        _ => Verification::Failed(format!("{program} rejected the files:\n{}", run.output)),
    })
}

async fn go(
    config: &VerifyConfig,
    work: &Path,
    parameter: &str,
    files: &BTreeMap<String, Vec<u8>>,
    support: &BTreeMap<String, Vec<u8>>,
) -> Result<Verification, String> {
    let gocode = config.go_path.join("src");
    let mut needed = vec![("google.golang.org/protobuf", "golang-google-protobuf-dev")];
    if files.keys().any(|n| n.ends_with("_grpc.pb.go")) {
        needed.push(("google.golang.org/grpc", "golang-google-grpc-dev"));
    }
    for (module, package) in needed {
        if !gocode.join(module).is_dir() {
            return Err(format!(
                "{module} is not under {} (Debian package {package})",
                gocode.display()
            ));
        }
    }
    // `module=M`: the generator wrote paths relative to M.
    let module = parameter
        .split(',')
        .find_map(|o| o.strip_prefix("module="))
        .unwrap_or_default();
    let src = work.join("gopath/src");
    let root = if module.is_empty() {
        src.clone()
    } else {
        src.join(module)
    };
    write_tree(&root, files, support)?;
    let mut packages: Vec<String> = files
        .keys()
        .filter(|n| n.ends_with(".go"))
        .map(|n| {
            let dir = Path::new(n).parent().unwrap_or(Path::new(""));
            let dir = Path::new(module).join(dir);
            format!("./{}", dir.display())
                .trim_end_matches('/')
                .to_owned()
        })
        .collect();
    packages.sort();
    packages.dedup();
    if packages.is_empty() {
        return Ok(Verification::Verified("no Go files to vet".into()));
    }
    let go_path = std::env::join_paths([work.join("gopath"), config.go_path.clone()])
        .map_err(|e| format!("GOPATH: {e}"))?;
    let cache = config
        .go_cache
        .clone()
        .unwrap_or_else(|| work.join("go-cache"));
    let env = vec![
        ("GOPATH", go_path),
        ("GOCACHE", cache.into_os_string()),
        ("GO111MODULE", "off".into()),
        ("GOPROXY", "off".into()),
        ("GOFLAGS", "".into()),
        ("GOENV", "off".into()),
        ("GOTOOLCHAIN", "local".into()),
        ("GOTELEMETRY", "off".into()),
        ("CGO_ENABLED", "0".into()),
    ];
    let mut args: Vec<&std::ffi::OsStr> = vec!["vet".as_ref()];
    args.extend(packages.iter().map(std::ffi::OsStr::new));
    let run = run_tool(config, &config.go, &args, &src, env).await?;
    let program = config.go.display();
    Ok(match run.code {
        Some(0) => Verification::Verified(format!(
            "{program} vet: {} package(s) vetted",
            packages.len()
        )),
        _ => Verification::Failed(format!("{program} vet rejected the files:\n{}", run.output)),
    })
}

/// How a tool ended.
struct Run {
    /// The exit code; `None` when a signal ended it.
    code: Option<i32>,
    /// Its stdout then stderr, the last [`MAX_OUTPUT`] bytes.
    output: String,
}

/// Runs `program` in `dir` with a clean environment (see the module
/// documentation) plus `env`, in its own process group, killed at the
/// time limit. `Err`: it could not start (why).
async fn run_tool(
    config: &VerifyConfig,
    program: &Path,
    args: &[&std::ffi::OsStr],
    dir: &Path,
    env: Vec<(&str, std::ffi::OsString)>,
) -> Result<Run, String> {
    let home = dir.join(".home");
    std::fs::create_dir_all(&home).map_err(|e| format!("creating {}: {e}", home.display()))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", &home)
        .env("TMPDIR", dir)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for key in ["PATH", "PYENV_ROOT", "PYENV_VERSION"] {
        if let Some(value) = std::env::var_os(key) {
            cmd.env(key, value);
        }
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{} is not installed (not found)", program.display())
        }
        _ => format!("{} cannot start: {e}", program.display()),
    })?;
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let work = async {
        let (out, err) = tokio::join!(read_tail(&mut stdout), read_tail(&mut stderr));
        let status = child.wait().await;
        (out, err, status)
    };
    let timeout = Duration::from_millis(config.timeout_ms);
    match tokio::time::timeout(timeout, work).await {
        Ok((out, err, status)) => {
            let status = status.map_err(|e| format!("waiting for {}: {e}", program.display()))?;
            let mut output = out;
            output.extend_from_slice(&err);
            Ok(Run {
                code: status.code(),
                output: tail_text(&output),
            })
        }
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            Ok(Run {
                code: None,
                output: format!(
                    "{} ran over {} ms and was stopped",
                    program.display(),
                    config.timeout_ms
                ),
            })
        }
    }
}

/// Kills the process group led by `pid` (the tool and what it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

/// Reads `reader` to its end, keeping the last [`MAX_OUTPUT`] bytes.
async fn read_tail(reader: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                kept.extend_from_slice(&buffer[..n]);
                if kept.len() > 2 * MAX_OUTPUT {
                    kept.drain(..kept.len() - MAX_OUTPUT);
                }
            }
        }
    }
}

/// The last [`MAX_OUTPUT`] bytes of `output` as text, marked when cut.
fn tail_text(output: &[u8]) -> String {
    if output.len() <= MAX_OUTPUT {
        return String::from_utf8_lossy(output).into_owned();
    }
    let tail = String::from_utf8_lossy(&output[output.len() - MAX_OUTPUT..]).into_owned();
    format!(
        "[… the first {} bytes left out]\n{tail}",
        output.len() - MAX_OUTPUT
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        entries
            .iter()
            .map(|(n, c)| (n.to_string(), c.as_bytes().to_vec()))
            .collect()
    }

    #[tokio::test]
    async fn a_missing_toolchain_is_not_verified_and_says_why() {
        let missing = tempfile::tempdir().unwrap();
        let config = VerifyConfig {
            python: missing.path().join("no-python3"),
            go: missing.path().join("no-go"),
            go_path: missing.path().to_owned(),
            ..VerifyConfig::default()
        };
        let tree = files(&[("a_pb2.py", "x = 1\n")]);
        match verify(&config, Toolchain::Python, "", &tree, &BTreeMap::new()).await {
            Verification::NotVerified(why) => {
                assert!(
                    why.contains("no-python3") && why.contains("not installed"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        let tree = files(&[("a/a.pb.go", "package a\n")]);
        match verify(&config, Toolchain::Go, "", &tree, &BTreeMap::new()).await {
            Verification::NotVerified(why) => {
                assert!(
                    why.contains("google.golang.org/protobuf is not under"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
        let with_sources = VerifyConfig {
            go_path: PathBuf::from("/usr/share/gocode"),
            ..config.clone()
        };
        if with_sources
            .go_path
            .join("src/google.golang.org/protobuf")
            .is_dir()
        {
            match verify(&with_sources, Toolchain::Go, "", &tree, &BTreeMap::new()).await {
                Verification::NotVerified(why) => assert!(why.contains("no-go"), "{why}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_tool_over_its_time_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let config = VerifyConfig {
            timeout_ms: 300,
            ..VerifyConfig::default()
        };
        let started = std::time::Instant::now();
        let run = run_tool(
            &config,
            Path::new("sh"),
            &["-c".as_ref(), "sleep 30 & sleep 30; echo never".as_ref()],
            dir.path(),
            Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(run.code, None);
        assert!(run.output.contains("ran over 300 ms"), "{}", run.output);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn the_environment_is_clean_and_the_output_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let config = VerifyConfig::default();
        let run = run_tool(
            &config,
            Path::new("sh"),
            &[
                "-c".as_ref(),
                "echo \"flags=[$GOFLAGS] home=$HOME\"; head -c 200000 /dev/zero | tr '\\0' x >&2; exit 7"
                    .as_ref(),
            ],
            dir.path(),
            vec![("GOFLAGS", "".into())],
        )
        .await
        .unwrap();
        assert_eq!(run.code, Some(7));
        assert!(
            run.output.starts_with("[… the first"),
            "{}",
            &run.output[..80]
        );
        assert!(run.output.len() < MAX_OUTPUT + 100);
        let run = run_tool(
            &config,
            Path::new("sh"),
            &[
                "-c".as_ref(),
                "echo \"flags=[$GOFLAGS] home=$HOME\"".as_ref(),
            ],
            dir.path(),
            Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(
            run.output.trim(),
            format!("flags=[] home={}", dir.path().join(".home").display())
        );
    }

    /// Whether `program --version`-ish runs; the real-tool tests need it.
    fn installed(program: &str, args: &[&str]) -> bool {
        std::process::Command::new(program)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    #[tokio::test]
    async fn go_vets_offline_against_debian_sources_and_reports_what_fails() {
        let config = VerifyConfig::default();
        if !installed("go", &["version"])
            || !config
                .go_path
                .join("src/google.golang.org/protobuf/proto")
                .is_dir()
        {
            eprintln!("skipped: go or golang-google-protobuf-dev is not installed");
            return;
        }
        // `module=`: the files are laid out under the module's path, and
        // the support files (another package of it) resolve by import path.
        let good = files(&[(
            "a/a.pb.go",
            "package a\n\nimport (\n\t\"google.golang.org/protobuf/proto\"\n\t\"example.com/gen/b\"\n)\n\n\
             var _ = proto.Marshal\n\nvar X = b.Y\n",
        )]);
        let support = files(&[("b/b.pb.go", "package b\n\nvar Y = 1\n")]);
        let verdict = verify(
            &config,
            Toolchain::Go,
            "module=example.com/gen",
            &good,
            &support,
        )
        .await;
        assert!(matches!(&verdict, Verification::Verified(_)), "{verdict:?}");
        // One Go package, one name declared twice (as two proto files of
        // one `go_package` with a message and an enum of one name).
        let bad = files(&[
            ("a/a.pb.go", "package a\n\ntype Foo struct{}\n"),
            ("a/b.pb.go", "package a\n\ntype Foo int32\n"),
        ]);
        match verify(&config, Toolchain::Go, "", &bad, &BTreeMap::new()).await {
            Verification::Failed(output) => {
                assert!(output.contains("Foo redeclared"), "{output}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn python_compiles_and_imports_and_reports_what_fails() {
        let config = VerifyConfig::default();
        if !installed("python3", &["-I", "-c", "import google.protobuf"]) {
            eprintln!("skipped: python3 with protobuf is not installed");
            return;
        }
        let good = files(&[
            ("p/a_pb2.py", "from q import b_pb2\nX = b_pb2.Y\n"),
            ("p/a_pb2.pyi", "X: int\n"),
        ]);
        let support = files(&[("q/b_pb2.py", "Y = 1\n")]);
        let verdict = verify(&config, Toolchain::Python, "", &good, &support).await;
        match verdict {
            Verification::Verified(what) => {
                assert!(
                    what.contains("compiled 2 file(s), imported 1 module(s)"),
                    "{what}"
                )
            }
            other => panic!("{other:?}"),
        }
        let bad = files(&[("p/a_pb2.py", "from q import missing_pb2\n")]);
        match verify(&config, Toolchain::Python, "", &bad, &support).await {
            Verification::Failed(output) => {
                assert!(output.contains("import p.a_pb2 failed"), "{output}");
                assert!(output.contains("missing_pb2"), "{output}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn go_grpc_is_supported_by_go_with_the_shared_options() {
        assert_eq!(
            support_generator(
                "go-grpc",
                "paths=source_relative,require_unimplemented_servers=false,Ma.proto=x/a"
            ),
            ("go", "paths=source_relative,Ma.proto=x/a".to_owned())
        );
        assert_eq!(
            support_generator("python", "pyi"),
            ("python", "pyi".to_owned())
        );
        assert_eq!(Toolchain::of("go-grpc"), Some(Toolchain::Go));
        assert_eq!(Toolchain::of("java"), None);
    }
}
