//! Builds the generated Go offline with Go 1.19 against Debian's
//! protobuf-go and grpc-go sources and runs `go/roundtrip_test.go`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::corpus;
use crate::tools;

const GOCODE: &str = "/usr/share/gocode/src";

/// Modules the build list needs, from Debian's GOPATH tree.
const LOCAL_MODULES: &[&str] = &[
    "google.golang.org/protobuf",
    "google.golang.org/grpc",
    "google.golang.org/genproto",
    "github.com/golang/protobuf",
    "github.com/google/go-cmp",
    "golang.org/x/net",
    "golang.org/x/sys",
    "golang.org/x/text",
    "golang.org/x/oauth2",
];

/// Modules in the (unpruned, go 1.11) module graph of Debian's grpc and
/// x/* packages that no compiled package imports and Debian does not ship
/// as modules: empty stand-ins so the graph resolves offline. Found by
/// building with `GOPROXY=off` until no lookup failed.
const STUB_MODULES: &[&str] = &[
    "github.com/cncf/udpa/go",
    "github.com/envoyproxy/go-control-plane",
    "github.com/golang/glog",
    "github.com/google/uuid",
    "golang.org/x/term",
    "cloud.google.com/go/compute/metadata",
    "google.golang.org/appengine",
    "golang.org/x/lint",
    "golang.org/x/tools",
    "honnef.co/go/tools",
    "golang.org/x/mod",
];

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn go_mod(stubs: &Path) -> String {
    let mut go_mod = String::from("module example.com/acme\n\ngo 1.19\n\nrequire (\n");
    go_mod
        .push_str("\tgoogle.golang.org/grpc v1.33.3\n\tgoogle.golang.org/protobuf v1.28.1\n)\n\n");
    for module in LOCAL_MODULES {
        go_mod.push_str(&format!("replace {module} => {GOCODE}/{module}\n"));
    }
    for module in STUB_MODULES {
        go_mod.push_str(&format!(
            "replace {module} => {}\n",
            stubs.join(module).display()
        ));
    }
    go_mod
}

/// Writes every file of `response` under `root`; returns how many.
fn write_generated(root: &Path, response: &prost_types::compiler::CodeGeneratorResponse) -> usize {
    assert_eq!(response.error, None, "generator failed");
    for file in &response.file {
        write(&root.join(file.name()), file.content());
    }
    response.file.len()
}

fn go_cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("go-build-cache")
}

#[test]
fn generated_go_compiles_and_round_trips() {
    let Some(go) = tools::require("go", "Debian package golang-go") else {
        return;
    };
    for dependency in ["google.golang.org/protobuf", "google.golang.org/grpc"] {
        let path = format!("{GOCODE}/{dependency}/go.mod");
        let hint = "Debian packages golang-google-protobuf-dev golang-google-grpc-dev";
        if tools::require(&path, hint).is_none() {
            return;
        }
    }
    let module = tempfile::tempdir().unwrap();
    let root = module.path();
    let stubs = root.join("stubs");
    for stub in STUB_MODULES {
        write(
            &stubs.join(stub).join("go.mod"),
            &format!("module {stub}\n"),
        );
    }
    write(&root.join("go.mod"), &go_mod(&stubs));

    let request = corpus::corpus_request("module=example.com/acme");
    let go_files = write_generated(root, &protoreg_plugin_go::generate_go(&request));
    let grpc_files = write_generated(root, &protoreg_plugin_go::generate_go_grpc(&request));
    assert_eq!(
        (go_files, grpc_files),
        (corpus::FILES.len(), corpus::FILES_WITH_SERVICES)
    );
    let test_source = include_str!("go/roundtrip_test.go");
    write(&root.join("roundtrip/roundtrip_test.go"), test_source);

    let gopath = root.join("gopath");
    let output = Command::new(go)
        .args(["test", "-count=1", "./..."])
        .current_dir(root)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOSUMDB", "off")
        .env("GO111MODULE", "on")
        .env("GOPATH", &gopath)
        .env("GOCACHE", go_cache_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "go test failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("ok  \texample.com/acme/roundtrip"),
        "{stdout}"
    );
}
