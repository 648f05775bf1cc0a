//! The host against real plugin libraries built by this workspace
//! (`plugins/testing/*`), loaded with libloading as in production.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use protoreg_plugin_sdk::{CodeGeneratorRequest, prost::Message};

use super::*;

/// A library `cargo build --workspace` put next to the test executable's
/// directory (`target/debug`).
fn library(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    let file = format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    );
    let path = dir.join(file);
    assert!(
        path.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        path.display()
    );
    path
}

fn host(libraries: &[&str], timeout_ms: u64, max_output: usize) -> PluginHost {
    let config = PluginConfig {
        paths: libraries.iter().map(|l| library(l)).collect(),
        call_timeout_ms: timeout_ms,
        max_output_bytes: max_output,
        ..PluginConfig::default()
    };
    PluginHost::load(&config, Arc::new(NoObserver))
}

fn generate(host: &PluginHost, name: &str) -> Result<CodeGeneratorResponse, PluginCallError> {
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["a.proto".into()],
        ..Default::default()
    };
    host.generator(name)
        .unwrap_or_else(|| panic!("generator {name} not found"))
        .generate(request.encode_to_vec())
}

#[test]
fn an_sdk_plugin_loads_with_its_manifest() {
    let host = host(&["protoreg-test-plugin-misbehave"], 5_000, 1 << 20);
    assert_eq!(host.plugins().len(), 1);
    let plugin = &host.plugins()[0];
    assert_eq!(plugin.name(), "misbehave");
    assert_eq!(plugin.kinds(), vec!["codegen"]);
    assert!(plugin.healthy());
    let response = generate(&host, "misbehave-ok").expect("ok generator");
    assert_eq!(response.file[0].name(), "ok.txt");
}

#[test]
fn a_panic_is_an_error_for_that_call_only() {
    let host = host(&["protoreg-test-plugin-misbehave"], 5_000, 1 << 20);
    match generate(&host, "misbehave-panic") {
        Err(PluginCallError::Failed { plugin, message }) => {
            assert_eq!(plugin, "misbehave");
            assert!(message.contains("deliberate panic"), "{message}");
        }
        other => panic!("expected a failed call, got {other:?}"),
    }
    assert!(host.plugins()[0].healthy());
    generate(&host, "misbehave-ok").expect("the next call works");
}

thread_local! {
    /// Makes this thread's plugin calls fail to start their call thread.
    pub(super) static FAIL_CALL_THREADS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[test]
fn a_call_thread_that_cannot_start_is_unavailable_not_a_refusal() {
    let host = host(&["protoreg-test-plugin-misbehave"], 5_000, 1 << 20);
    FAIL_CALL_THREADS.set(true);
    let err = generate(&host, "misbehave-ok").unwrap_err();
    FAIL_CALL_THREADS.set(false);
    match &err {
        PluginCallError::CannotStart { plugin, message } => {
            assert_eq!(plugin, "misbehave");
            assert!(message.contains("cannot start a call thread"), "{message}");
        }
        other => panic!("expected CannotStart, got {other:?}"),
    }
    // Code generation reports it as unavailable (503), not as the
    // generator refusing the schema (422).
    assert!(matches!(
        crate::codegen::GenerateError::from(err),
        crate::codegen::GenerateError::Unavailable(_)
    ));
    assert!(host.plugins()[0].healthy());
    generate(&host, "misbehave-ok").expect("the next call works");
}

#[test]
fn a_reported_error_is_returned() {
    let host = host(&["protoreg-test-plugin-misbehave"], 5_000, 1 << 20);
    let err = generate(&host, "misbehave-error").unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin misbehave: misbehave: deliberate error"
    );
}

#[test]
fn an_oversized_response_is_refused() {
    let host = host(&["protoreg-test-plugin-misbehave"], 5_000, 1 << 20);
    match generate(&host, "misbehave-oversize") {
        Err(PluginCallError::Invalid { message, .. }) => {
            assert!(message.contains("over the limit of 1048576"), "{message}")
        }
        other => panic!("expected an invalid response, got {other:?}"),
    }
    generate(&host, "misbehave-ok").expect("the next call works");
}

#[test]
fn a_hung_call_times_out_and_the_plugin_recovers_when_it_returns() {
    let host = host(&["protoreg-test-plugin-misbehave"], 300, 1 << 20);
    let started = Instant::now();
    let err = generate(&host, "misbehave-hang").unwrap_err();
    assert!(
        matches!(
            err,
            PluginCallError::Timeout {
                timeout_ms: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "did not wait for the hang"
    );
    assert!(!host.plugins()[0].healthy());
    assert!(matches!(
        generate(&host, "misbehave-ok"),
        Err(PluginCallError::Unhealthy { .. })
    ));
    // The hang lasts 5 s; once it returns the plugin takes calls again.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !host.plugins()[0].healthy() {
        assert!(Instant::now() < deadline, "the plugin never recovered");
        std::thread::sleep(Duration::from_millis(50));
    }
    generate(&host, "misbehave-ok").expect("works again");
}

#[test]
fn garbage_bytes_and_unknown_statuses_are_invalid_responses() {
    let host = host(&["protoreg-test-plugin-raw-abi"], 5_000, 1 << 20);
    assert_eq!(host.plugins().len(), 1, "the raw plugin loads");
    match generate(&host, "raw-garbage") {
        Err(PluginCallError::Invalid { message, .. }) => {
            assert!(message.contains("cannot decode"), "{message}")
        }
        other => panic!("expected an invalid response, got {other:?}"),
    }
    match generate(&host, "raw-bad-status") {
        Err(PluginCallError::Invalid { message, .. }) => {
            assert!(message.contains("unknown status 42"), "{message}")
        }
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_a_plugin_is_refused_and_the_rest_load() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libfake.so");
    std::fs::write(&fake, b"not a shared library").unwrap();
    let config = PluginConfig {
        paths: vec![
            fake,
            dir.path().join("missing.so"),
            library("protoreg-test-plugin-misbehave"),
        ],
        ..PluginConfig::default()
    };
    let host = PluginHost::load(&config, Arc::new(NoObserver));
    let names: Vec<&str> = host.plugins().iter().map(|p| p.name()).collect();
    assert_eq!(names, vec!["misbehave"]);
    assert_eq!(host.refused().len(), 2, "{:?}", host.refused());
}

#[test]
fn the_same_plugin_twice_is_refused_the_second_time() {
    let path = library("protoreg-test-plugin-misbehave");
    let config = PluginConfig {
        paths: vec![path.clone(), path],
        ..PluginConfig::default()
    };
    let host = PluginHost::load(&config, Arc::new(NoObserver));
    assert_eq!(host.plugins().len(), 1);
    assert!(
        host.refused()[0].1.contains("already loaded"),
        "{:?}",
        host.refused()
    );
}

#[test]
fn a_protoc_executable_is_a_generator_with_the_same_limits() {
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&path, perms).unwrap();
        path
    };
    let config = PluginConfig {
        call_timeout_ms: 300,
        protoc: vec![
            // An empty CodeGeneratorResponse is zero bytes.
            ProtocGenerator::new("empty", script("empty", "cat >/dev/null")),
            ProtocGenerator::new("fails", script("fails", "echo broken >&2; exit 3")),
            ProtocGenerator::new("sleeps", script("sleeps", "exec sleep 10")),
        ],
        ..PluginConfig::default()
    };
    let host = PluginHost::load(&config, Arc::new(NoObserver));
    let response = generate(&host, "empty").expect("empty response");
    assert!(response.file.is_empty());
    let err = generate(&host, "fails").unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
    let started = Instant::now();
    assert!(matches!(
        generate(&host, "sleeps"),
        Err(PluginCallError::Timeout { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}
