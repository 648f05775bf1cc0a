//! HTTPS: the API, health and metrics over TLS, the CLI with `--ca-cert`,
//! a wrong CA, mutual TLS, and a certificate replaced on SIGHUP. Every
//! certificate is made here, with rcgen.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::support::{BIN, Db, Server, path_str};

/// A certificate authority of the test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf certificate (PEM) and its key (PEM): a server's for
    /// localhost and 127.0.0.1, or a client's.
    fn issue(&self, client: bool) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, if client { "client" } else { "server" });
        params.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Files of a TLS server: its certificate and key, the CA's certificate,
/// and the configuration naming them.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(server_ca: &Ca, client_ca: Option<&Ca>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = Files { dir };
        let (cert, key) = server_ca.issue(false);
        files.write("server.pem", &cert);
        files.write("server.key", &key);
        files.write("ca.pem", &server_ca.pem());
        let mut config = format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            path_str(&files.path("server.pem")),
            path_str(&files.path("server.key")),
        );
        if let Some(client_ca) = client_ca {
            files.write("client-ca.pem", &client_ca.pem());
            config.push_str(&format!(
                "client_ca_file = {:?}\n",
                path_str(&files.path("client-ca.pem"))
            ));
        }
        files.write("protoreg.toml", &config);
        files
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).unwrap();
    }

    fn start(&self, http: reqwest::blocking::Client) -> Server {
        let config = self.path("protoreg.toml");
        Server::start_with_client(
            &Db::sqlite(),
            &[],
            vec!["--config".to_owned(), path_str(&config).to_owned()],
            http,
        )
    }
}

/// A client that trusts only `ca` (no system roots) and records the peer
/// certificate of each connection.
fn client_trusting(ca: &Ca, identity: Option<(&str, &str)>) -> reqwest::blocking::Client {
    let mut builder = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .tls_info(true);
    if let Some((cert, key)) = identity {
        let pem = format!("{cert}\n{key}");
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

/// The DER of the certificate the server presented for `response`.
fn peer_certificate(response: &reqwest::blocking::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("a TLS response carries the peer certificate")
        .to_vec()
}

fn der_of_pem(pem: &str) -> Vec<u8> {
    let text: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64_decode(&text)
}

/// Standard base64 (certificates only; no crate for one test helper).
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = ALPHABET.iter().position(|a| *a == byte).unwrap() as u32;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The CLI against `base` with extra global options.
fn cli(base: &str, options: &[&str], args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--server")
        .arg(base)
        .args(options)
        .args(args)
        .env_remove("PROTOREG_SERVER")
        .env_remove("PROTOREG_TOKEN")
        .env_remove("PROTOREG_CA_CERT")
        .env_remove("PROTOREG_CLIENT_CERT")
        .env_remove("PROTOREG_CLIENT_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("run the CLI")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every error in the chain, `: `-separated.
fn chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

fn ca_option(path: &Path) -> String {
    format!("--ca-cert={}", path_str(path))
}

#[test]
fn https_serves_the_api_health_and_metrics_and_the_cli() {
    let ca = Ca::new("protoreg test CA");
    let files = Files::new(&ca, None);
    let server = files.start(client_trusting(&ca, None));
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );

    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = server.http.get(server.url(path)).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            peer_certificate(&response),
            der_of_pem(&std::fs::read_to_string(files.path("server.pem")).unwrap())
        );
    }
    server.money_current("shop");

    // TLS 1.2 is accepted as well as 1.3.
    let tls12 = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    let response = tls12.get(server.url("/v1/namespaces/shop")).send().unwrap();
    assert_eq!(response.status(), 200);

    // Plain HTTP on the TLS port gets no answer.
    let plain = server.base.replace("https://", "http://");
    let err = reqwest::blocking::get(format!("{plain}/healthz")).err();
    assert!(err.is_some(), "plain HTTP was answered on the TLS listener");

    // The CLI, trusting the CA by option and by environment variable.
    let ca_file = files.path("ca.pem");
    let out = cli(
        &server.base,
        &[&ca_option(&ca_file)],
        &["--output", "json", "namespace", "get", "shop"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"shop\""),
        "{}",
        text(&out.stdout)
    );
    let out = Command::new(BIN)
        .args(["--server", &server.base, "namespace", "list"])
        .env("PROTOREG_CA_CERT", &ca_file)
        .env_remove("PROTOREG_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("shop"), "{}", text(&out.stdout));
}

#[test]
fn a_wrong_ca_fails_with_a_clear_message() {
    let ca = Ca::new("protoreg test CA");
    let files = Files::new(&ca, None);
    let server = files.start(client_trusting(&ca, None));

    let other = Ca::new("some other CA");
    let err = client_trusting(&other, None)
        .get(server.url("/healthz"))
        .send()
        .unwrap_err();
    assert!(
        chain(&err).contains("UnknownIssuer"),
        "unexpected error: {}",
        chain(&err)
    );

    files.write("other-ca.pem", &other.pem());
    let out = cli(
        &server.base,
        &[&ca_option(&files.path("other-ca.pem"))],
        &["namespace", "list"],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("TLS with the server at") && stderr.contains("--ca-cert"),
        "{stderr}"
    );
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");

    // Without --ca-cert only the system roots count: refused the same way.
    let out = cli(&server.base, &[], &["namespace", "list"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("TLS with the server at"),
        "{}",
        text(&out.stderr)
    );

    // A file that holds no certificate is named.
    files.write("empty.pem", "nothing here\n");
    let out = cli(
        &server.base,
        &[&ca_option(&files.path("empty.pem"))],
        &["namespace", "list"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("empty.pem"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn mutual_tls_refuses_a_client_without_a_certificate() {
    let ca = Ca::new("protoreg test CA");
    let client_ca = Ca::new("protoreg client CA");
    let files = Files::new(&ca, Some(&client_ca));
    let (client_cert, client_key) = client_ca.issue(true);
    let server = files.start(client_trusting(
        &ca,
        Some((client_cert.as_str(), client_key.as_str())),
    ));
    server.money_current("shop");

    let err = client_trusting(&ca, None)
        .get(server.url("/healthz"))
        .send()
        .unwrap_err();
    assert!(
        chain(&err).to_lowercase().contains("certificate"),
        "unexpected error: {}",
        chain(&err)
    );

    // A certificate from a CA the server does not trust is refused too.
    let stranger = Ca::new("stranger CA");
    let (cert, key) = stranger.issue(true);
    let err = client_trusting(&ca, Some((cert.as_str(), key.as_str())))
        .get(server.url("/healthz"))
        .send()
        .unwrap_err();
    assert!(chain(&err).contains("UnknownCA"), "{}", chain(&err));

    // The CLI: refused without a certificate, served with one.
    let ca_file = ca_option(&files.path("ca.pem"));
    let out = cli(&server.base, &[&ca_file], &["namespace", "list"]);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("--client-cert"),
        "{}",
        text(&out.stderr)
    );
    files.write("client.pem", &client_cert);
    files.write("client.key", &client_key);
    let cert_option = format!("--client-cert={}", path_str(&files.path("client.pem")));
    let key_option = format!("--client-key={}", path_str(&files.path("client.key")));
    let out = cli(
        &server.base,
        &[&ca_file, &cert_option, &key_option],
        &["namespace", "list"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("shop"), "{}", text(&out.stdout));
}

#[test]
fn sighup_serves_a_reloaded_certificate_to_new_connections() {
    let old_ca = Ca::new("old CA");
    let new_ca = Ca::new("new CA");
    let files = Files::new(&old_ca, None);
    let old_der = der_of_pem(&std::fs::read_to_string(files.path("server.pem")).unwrap());
    let server = files.start(client_trusting(&old_ca, None));
    // `server.http` holds a kept-alive connection made with the old one.
    let response = server.http.get(server.url("/healthz")).send().unwrap();
    assert_eq!(peer_certificate(&response), old_der);
    let trusts_new = || client_trusting(&new_ca, None);
    assert!(trusts_new().get(server.url("/healthz")).send().is_err());

    let (cert, key) = new_ca.issue(false);
    files.write("server.pem", &cert);
    files.write("server.key", &key);
    server.hangup();
    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        if let Ok(response) = trusts_new().get(server.url("/healthz")).send() {
            break response;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served after SIGHUP"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(response.status(), 200);
    assert_eq!(peer_certificate(&response), der_of_pem(&cert));

    // The open connection was kept: it still answers, with the certificate
    // it was made with (a new connection of this client would fail: it
    // trusts only the old CA).
    let response = server.http.get(server.url("/healthz")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(peer_certificate(&response), old_der);

    // A broken pair on the next SIGHUP: the new certificate stays.
    files.write("server.pem", "-----BEGIN CERTIFICATE-----\nbroken\n");
    server.hangup();
    std::thread::sleep(Duration::from_millis(500));
    let response = trusts_new().get(server.url("/healthz")).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(peer_certificate(&response), der_of_pem(&cert));
}

#[test]
fn a_half_set_tls_section_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("protoreg.toml");
    std::fs::write(&config, "[tls]\ncert_file = \"server.pem\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--database-url")
        .arg(format!("sqlite://{}/db.sqlite", dir.path().display()))
        .env_remove("PROTOREG_TLS__KEY_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("tls.cert_file and tls.key_file go together"),
        "{}",
        text(&out.stderr)
    );
}

/// gRPC over TLS on `grpc.listen`: the same certificate, ALPN h2; a client
/// that does not trust the CA is refused. The client is Python's grpcio
/// (skipped outside CI without it).
#[test]
fn grpc_serves_over_tls_with_the_same_certificate() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python).args(["-c", "import grpc"]).output();
    if !probe.is_ok_and(|out| out.status.success()) {
        crate::support::skip_unless_ci("grpcio is not importable (scripts/ensure-python-tools)");
        return;
    }
    let ca = Ca::new("protoreg test CA");
    let files = Files::new(&ca, None);
    let server = files.start(client_trusting(&ca, None));
    let grpc = server.grpc.clone().expect("gRPC is on");
    assert!(grpc.starts_with("https://127.0.0.1:"), "{grpc}");
    let script = r#"
import sys, time, grpc
addr, ca = sys.argv[1], open(sys.argv[2], "rb").read()
channel = grpc.secure_channel(addr, grpc.ssl_channel_credentials(ca))
check = channel.unary_unary("/grpc.health.v1.Health/Check")
deadline = time.time() + 10
while True:
    answer = check(b"", timeout=10)
    if answer == b"\x08\x01" or time.time() > deadline:
        break
    time.sleep(0.05)
assert answer == b"\x08\x01", answer
untrusting = grpc.secure_channel(addr, grpc.ssl_channel_credentials())
try:
    untrusting.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
    sys.exit("a client without the CA was served")
except grpc.RpcError as err:
    assert err.code() == grpc.StatusCode.UNAVAILABLE, err
print("ok")
"#;
    let out = Command::new(&python)
        .args(["-c", script, grpc.trim_start_matches("https://")])
        .arg(files.path("ca.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success() && text(&out.stdout).contains("ok"),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The Rust client's gRPC transport over mutual TLS: the CA and the client
/// certificate as for HTTP; without the certificate, or without the CA,
/// no answer (and no registry status).
#[test]
fn rust_grpc_client_over_mutual_tls() {
    let ca = Ca::new("protoreg test CA");
    let client_ca = Ca::new("protoreg client CA");
    let files = Files::new(&ca, Some(&client_ca));
    let (cert, key) = client_ca.issue(true);
    let server = files.start(client_trusting(&ca, Some((cert.as_str(), key.as_str()))));
    server.money_current("shop");
    let endpoint = server.grpc.clone().expect("gRPC is on");
    assert!(endpoint.starts_with("https://"), "{endpoint}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let build = |ca_pem: Option<String>, identity: bool| {
        let mut builder = protoreg_client::Client::builder_grpc(endpoint.clone())
            .timeout(Duration::from_secs(10));
        if let Some(pem) = ca_pem {
            builder = builder.add_root_ca_pem(pem);
        }
        if identity {
            builder = builder.identity_pem(cert.as_bytes(), key.as_bytes());
        }
        builder.build().unwrap()
    };
    let client = build(Some(ca.pem()), true);
    let Ok(protoreg_client::Descriptor::Modified { bytes, .. }) =
        rt.block_on(client.descriptor("shop", None))
    else {
        panic!("a descriptor over gRPC with TLS");
    };
    assert!(
        crate::support::descriptor_file_names(&bytes).contains(&"common/money.proto".to_owned())
    );
    let missing = rt.block_on(client.staging("nowhere")).unwrap_err();
    assert_eq!(missing.code(), Some("not_found"), "{missing}");

    for (name, client) in [
        ("without a client certificate", build(Some(ca.pem()), false)),
        ("without the CA", build(None, true)),
    ] {
        let err = rt.block_on(client.staging("shop")).unwrap_err();
        assert!(
            matches!(err, protoreg_client::Error::GrpcTransport(_)),
            "{name}: {err}"
        );
    }
}
