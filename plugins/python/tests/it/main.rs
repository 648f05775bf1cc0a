//! Compares the generator with grpcio-tools on the same descriptors, byte
//! for byte, and imports the generated modules with the real protobuf
//! runtime (upb and pure-Python backends).

mod corpus;
mod python;
mod raw;

use std::path::Path;

use corpus::Corpus;

#[test]
fn test_corpus_is_byte_identical_to_grpcio_tools() {
    let Some(tools) = python::Tools::find() else {
        return;
    };
    let corpus = Corpus::compile_test_protos();
    let outputs = corpus.compare_with_grpcio_tools(&tools);
    // Byte-identical to grpcio-tools, which writes an import Python cannot
    // parse (`from edge.from import ...`) into this _pb2_grpc.py.
    let unimportable_grpc = ["edge/grpc_keyword_import.proto"];
    python::check_imports(
        &tools,
        &outputs,
        &corpus.files_to_generate,
        &unimportable_grpc,
    );
}

#[test]
fn googleapis_common_protos_are_byte_identical_to_grpcio_tools() {
    let Some(tools) = python::Tools::find() else {
        return;
    };
    let Some(root) = tools.googleapis_root() else {
        python::skip_or_fail(
            "googleapis-common-protos is not installed (scripts/ensure-python-tools)",
        );
        return;
    };
    let corpus = Corpus::compile_dir(Path::new(&root), &tools.googleapis_files());
    let outputs = corpus.compare_with_grpcio_tools(&tools);
    python::check_imports(&tools, &outputs, &corpus.files_to_generate, &[]);
}

#[test]
fn editions_corpus_is_byte_identical_to_grpcio_tools() {
    let Some(tools) = python::Tools::find() else {
        return;
    };
    let corpus = Corpus::compile_editions_protos(&tools);
    let outputs = corpus.compare_with_grpcio_tools(&tools);
    python::check_imports(&tools, &outputs, &corpus.files_to_generate, &[]);
}

#[test]
fn parameters_select_a_subset_of_outputs() {
    let corpus = Corpus::compile_test_protos();
    let names = |parameter: &str| -> Vec<String> {
        let response = protoreg_plugin_python::generate(&corpus.request(parameter));
        assert_eq!(response.error, None);
        response.file.into_iter().filter_map(|f| f.name).collect()
    };
    let pyi = names("pyi");
    assert!(
        !pyi.is_empty() && pyi.iter().all(|n| n.ends_with("_pb2.pyi")),
        "{pyi:?}"
    );
    let grpc = names("grpc");
    assert_eq!(grpc.len(), corpus.files_to_generate.len());
    assert!(grpc.iter().all(|n| n.ends_with("_pb2_grpc.py")), "{grpc:?}");
    let all = names("");
    assert_eq!(all.len(), 3 * corpus.files_to_generate.len());
    let error = protoreg_plugin_python::generate(&corpus.request("cpp")).error;
    assert_eq!(error.as_deref(), Some("Unknown generator option: cpp"));
}

#[test]
fn a_file_missing_from_proto_file_is_an_error() {
    let corpus = Corpus::compile_test_protos();
    let mut request = corpus.request("");
    protoreg_plugin_sdk::wire::write_len_delimited(&mut request, 1, b"nowhere.proto");
    let response = protoreg_plugin_python::generate(&request);
    assert_eq!(
        response.error.as_deref(),
        Some("nowhere.proto: not found in proto_file")
    );
}

/// A large corpus, when `PROTOREG_PYTHON_LARGE_CORPUS` names a directory
/// holding `google/` (npm `google-proto-files`, see
/// `benches/fetch-large-corpus`): every file under `google/` except the
/// well-known types (or the first `PROTOREG_PYTHON_LARGE_CORPUS_LIMIT`),
/// compared with grpcio-tools, with timings.
#[test]
#[ignore = "minutes long; run with --ignored and PROTOREG_PYTHON_LARGE_CORPUS=DIR"]
fn large_corpus_is_byte_identical_to_grpcio_tools() {
    let root = std::env::var("PROTOREG_PYTHON_LARGE_CORPUS")
        .expect("PROTOREG_PYTHON_LARGE_CORPUS must name a directory holding google/");
    let Some(tools) = python::Tools::find() else {
        return;
    };
    let mut files = corpus::protos_under(Path::new(&root), "google", "google/protobuf/");
    // PROTOREG_PYTHON_LARGE_CORPUS_LIMIT=N keeps the first N files (sorted).
    if let Some(limit) = std::env::var("PROTOREG_PYTHON_LARGE_CORPUS_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        files.truncate(limit);
    }
    let corpus = Corpus::compile_dir(Path::new(&root), &files);
    corpus.compare_with_grpcio_tools(&tools);
}
