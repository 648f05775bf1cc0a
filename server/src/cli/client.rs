//! A small typed wrapper over `reqwest::blocking` for the registry's HTTP
//! API: URLs built from path segments (each one percent-encoded), the bearer
//! token, and `application/problem+json` answers decoded into [`Problem`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::blocking::{Client as Http, RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::CliError;

/// How long to wait for a connection; requests themselves may take longer
/// (a publish compiles the schema).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// A list longer than this many pages is a server that never ends it.
const MAX_PAGES: usize = 100_000;

#[derive(Debug)]
pub struct Client {
    http: Http,
    base: Url,
    token: Option<String>,
}

/// A JSON answer: the body as the server sent it (printed as is by
/// `--output json`) and decoded into `T` (for the text summary).
#[derive(Debug)]
pub struct Reply<T> {
    pub status: StatusCode,
    pub raw: Value,
    pub body: T,
}

/// A non-JSON answer (descriptor sets, transcoded messages).
#[derive(Debug)]
pub struct RawReply {
    pub bytes: Vec<u8>,
}

/// An `application/problem+json` answer (RFC 9457).
#[derive(Debug)]
pub struct Problem {
    pub code: String,
    pub detail: String,
    /// The whole document, for `--output json` and the extension members.
    pub raw: Value,
}

/// `errors[]` of a `compile_failed` problem.
#[derive(Debug, Clone, Deserialize)]
pub struct CompileError {
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub line: u32,
    #[serde(default)]
    pub column: u32,
    #[serde(default)]
    pub message: String,
}

impl fmt::Display for CompileError {
    /// `file:line:column: message`, like protoc and buf.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.as_str(), self.line) {
            ("", _) => write!(f, "{}", self.message),
            (file, 0) => write!(f, "{file}: {}", self.message),
            (file, line) => write!(f, "{file}:{line}:{}: {}", self.column.max(1), self.message),
        }
    }
}

/// A compatibility finding (`Violation` of docs/API.md).
#[derive(Debug, Clone, Deserialize)]
pub struct Violation {
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub line: u32,
    #[serde(default)]
    pub column: u32,
    #[serde(default)]
    pub message: String,
}

impl fmt::Display for Violation {
    /// buf's `file:line:column:message`, then the rule ID.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = if self.file.is_empty() {
            "<input>"
        } else {
            &self.file
        };
        write!(
            f,
            "{file}:{}:{}:{} ({})",
            self.line.max(1),
            self.column.max(1),
            self.message,
            self.rule
        )
    }
}

/// A problem in a message body: `{path, message}` of validate and
/// transcode.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldError {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl Problem {
    fn list<T: DeserializeOwned>(&self, member: &str) -> Vec<T> {
        self.raw
            .get(member)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    /// The compile errors of a `compile_failed` problem.
    pub fn compile_errors(&self) -> Vec<CompileError> {
        if self.code == "compile_failed" {
            self.list("errors")
        } else {
            Vec::new()
        }
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.list("violations")
    }

    /// The field errors of a message that does not decode (`errors` with a
    /// `path`, on any code but `compile_failed`).
    pub fn field_errors(&self) -> Vec<FieldError> {
        if self.code == "compile_failed" {
            return Vec::new();
        }
        let has_paths = self
            .raw
            .get("errors")
            .and_then(Value::as_array)
            .is_some_and(|errors| errors.iter().all(|e| e.get("path").is_some()));
        if has_paths {
            self.list("errors")
        } else {
            Vec::new()
        }
    }
}

/// TLS options of the client (`--ca-cert`, `--client-cert`, `--client-key`).
#[derive(Debug, Default, Clone)]
pub struct TlsOptions {
    /// PEM CA certificates trusted besides the system roots.
    pub ca_cert: Option<PathBuf>,
    /// PEM certificate chain and private key presented to a server that
    /// asks for one (mutual TLS).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

fn read_file(path: &Path, option: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Message(format!("{option} {}: {e}", path.display())))
}

impl Client {
    /// A client of the registry at `server` (`http://HOST:PORT` or
    /// `https://…`, optionally with a path prefix), with the system roots.
    #[cfg(test)]
    pub fn new(server: &str, token: Option<String>) -> Result<Self, CliError> {
        Self::with_tls(server, token, &TlsOptions::default())
    }

    /// [`Client::new`] with extra trusted CAs and a client certificate.
    pub fn with_tls(
        server: &str,
        token: Option<String>,
        tls: &TlsOptions,
    ) -> Result<Self, CliError> {
        let base = Url::parse(server.trim())
            .map_err(|e| CliError::Message(format!("invalid --server URL {server:?}: {e}")))?;
        match base.scheme() {
            "http" | "https" => {}
            other => {
                return Err(CliError::Message(format!(
                    "invalid --server URL {server:?}: scheme {other:?} is not http or https"
                )));
            }
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err(CliError::Message(format!(
                "invalid --server URL {server:?}: expected http(s)://HOST[:PORT]"
            )));
        }
        let mut builder = Http::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("protoreg/", env!("CARGO_PKG_VERSION")))
            .https_only(base.scheme() == "https");
        if let Some(path) = &tls.ca_cert {
            let pem = read_file(path, "--ca-cert")?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| CliError::Message(format!("--ca-cert {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(CliError::Message(format!(
                    "--ca-cert {}: no PEM certificate in the file",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        match (&tls.client_cert, &tls.client_key) {
            (Some(cert), Some(key)) => {
                let mut pem = read_file(cert, "--client-cert")?;
                pem.push(b'\n');
                pem.extend(read_file(key, "--client-key")?);
                let identity = reqwest::Identity::from_pem(&pem).map_err(|e| {
                    CliError::Message(format!(
                        "--client-cert {} / --client-key {}: {e}",
                        cert.display(),
                        key.display()
                    ))
                })?;
                builder = builder.identity(identity);
            }
            (None, None) => {}
            _ => {
                return Err(CliError::Message(
                    "--client-cert and --client-key go together".into(),
                ));
            }
        }
        let http = builder
            .build()
            .map_err(|e| CliError::Message(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            token: token.filter(|t| !t.is_empty()),
        })
    }

    /// `base` + the segments, each percent-encoded, + the query.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    fn request(&self, method: Method, segments: &[&str], query: &[(&str, &str)]) -> Call {
        let url = self.url(segments, query);
        let mut builder = self.http.request(method.clone(), url.clone());
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        Call {
            method,
            url,
            builder,
        }
    }

    pub fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Reply<T>, CliError> {
        self.request(Method::GET, segments, query).json_reply()
    }

    /// Every page of a list (docs/API.md: `?page_token=`, `next_page_token`),
    /// as one answer `{field: [every item]}`.
    pub fn get_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        field: &str,
    ) -> Result<Reply<T>, CliError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        let status = loop {
            let query: Vec<(&str, &str)> = token
                .as_deref()
                .map(|t| vec![("page_token", t)])
                .unwrap_or_default();
            let page = self.get::<Value>(segments, &query)?;
            pages += 1;
            if let Some(Value::Array(list)) = page.raw.get(field) {
                items.extend(list.iter().cloned());
            }
            match page.raw.get("next_page_token").and_then(Value::as_str) {
                // A token that does not move on would loop for ever.
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    if pages >= MAX_PAGES {
                        return Err(CliError::Message(format!(
                            "{}: more than {MAX_PAGES} pages; giving up",
                            segments.join("/")
                        )));
                    }
                    token = Some(next.to_owned());
                }
                _ => break page.status,
            }
        };
        let mut raw = serde_json::Map::new();
        raw.insert(field.to_owned(), Value::Array(items));
        let raw = Value::Object(raw);
        let body = serde_json::from_value(raw.clone()).map_err(|e| {
            CliError::Message(format!(
                "GET /{}: unexpected answer from the server: {e}",
                segments.join("/")
            ))
        })?;
        Ok(Reply { status, raw, body })
    }

    pub fn delete<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<Reply<T>, CliError> {
        self.request(Method::DELETE, segments, &[]).json_reply()
    }

    /// POST or PUT of a JSON body.
    pub fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &Value,
    ) -> Result<Reply<T>, CliError> {
        let mut call = self.request(method, segments, &[]);
        call.builder = call.builder.json(body);
        call.json_reply()
    }

    /// POST of a raw body with its content type; the answer as bytes.
    pub fn post_bytes(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<RawReply, CliError> {
        let mut call = self.request(Method::POST, segments, query);
        call.builder = call
            .builder
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        call.raw_reply()
    }

    /// POST of a raw body whose answer is JSON.
    pub fn post_bytes_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Reply<T>, CliError> {
        let mut call = self.request(Method::POST, segments, query);
        call.builder = call
            .builder
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        call.json_reply()
    }

    /// A GET whose answer is read as it arrives (server-sent events), with
    /// `Last-Event-ID` when resuming.
    pub fn get_stream(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        last_event_id: Option<i64>,
    ) -> Result<Response, CliError> {
        let mut call = self.request(Method::GET, segments, query);
        if let Some(id) = last_event_id {
            call.builder = call.builder.header("last-event-id", id.to_string());
        }
        Ok(call.send()?.0)
    }

    pub fn get_bytes(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<RawReply, CliError> {
        self.request(Method::GET, segments, query).raw_reply()
    }
}

/// One request on its way, with what error messages need to name it.
struct Call {
    method: Method,
    url: Url,
    builder: RequestBuilder,
}

impl Call {
    fn send(self) -> Result<(Response, Method, Url), CliError> {
        let Call {
            method,
            url,
            builder,
        } = self;
        let response = builder.send().map_err(|e| transport_error(&url, &e))?;
        if response.status().is_success() {
            Ok((response, method, url))
        } else {
            Err(problem_of(response, &method, &url))
        }
    }

    fn json_reply<T: DeserializeOwned>(self) -> Result<Reply<T>, CliError> {
        let (response, method, url) = self.send()?;
        let status = response.status();
        let text = response.text().map_err(|e| transport_error(&url, &e))?;
        let raw = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| {
                CliError::Message(format!(
                    "{method} {}: the answer is not JSON: {e}",
                    url.path()
                ))
            })?
        };
        let body = serde_json::from_value(raw.clone()).map_err(|e| {
            CliError::Message(format!(
                "{method} {}: unexpected answer from the server: {e}",
                url.path()
            ))
        })?;
        Ok(Reply { status, raw, body })
    }

    fn raw_reply(self) -> Result<RawReply, CliError> {
        let (response, _, url) = self.send()?;
        let bytes = response
            .bytes()
            .map_err(|e| transport_error(&url, &e))?
            .to_vec();
        Ok(RawReply { bytes })
    }
}

/// The error and its causes, `: `-separated (reqwest's own message names
/// only the URL; the cause says what went wrong).
fn transport_error(url: &Url, err: &reqwest::Error) -> CliError {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
    let server = url.origin().ascii_serialization();
    let why = causes.last().cloned().unwrap_or_else(|| err.to_string());
    // TLS 1.3 reports a refused client certificate only on the first read
    // (an alert), so not as a connect error.
    let certificate = causes
        .iter()
        .any(|c| c.contains("certificate") || c.contains("Certificate") || c.contains("UnknownCA"));
    if certificate {
        CliError::Message(format!(
            "TLS with the server at {server} failed: {why} (is the server's CA trusted? \
             pass --ca-cert FILE or PROTOREG_CA_CERT; a server that asks for a client \
             certificate needs --client-cert and --client-key)"
        ))
    } else if err.is_connect() {
        CliError::Message(format!(
            "cannot connect to the server at {server}: {why} \
             (is it running? set --server or PROTOREG_SERVER)"
        ))
    } else if err.is_timeout() {
        CliError::Message(format!("the server at {server} did not answer in time"))
    } else {
        CliError::Message(format!(
            "request to {server} failed: {}",
            std::iter::once(err.to_string())
                .chain(causes)
                .collect::<Vec<_>>()
                .join(": ")
        ))
    }
}

/// A problem document, or a message naming the status when the answer is
/// not one (e.g. a proxy's error page, an endpoint this server lacks).
fn problem_of(response: Response, method: &Method, url: &Url) -> CliError {
    let status = response.status();
    let text = response.text().unwrap_or_default();
    let parsed: Option<Value> = serde_json::from_str(&text).ok();
    if let Some(raw) = parsed.filter(|v| v.get("code").and_then(Value::as_str).is_some()) {
        let field = |name: &str| {
            raw.get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let detail = match field("detail") {
            detail if detail.is_empty() => field("title"),
            detail => detail,
        };
        return CliError::Problem(Problem {
            code: field("code"),
            detail,
            raw,
        });
    }
    let mut message = format!("{method} {}: the server answered {status}", url.path());
    if status == StatusCode::NOT_FOUND && text.trim().is_empty() {
        message.push_str(" (this server may not have that endpoint)");
    } else if !text.trim().is_empty() {
        let snippet: String = text.trim().chars().take(200).collect();
        message.push_str(&format!(": {snippet}"));
    }
    CliError::Message(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_segments_are_encoded_and_joined_to_the_base_path() {
        let client = Client::new("http://127.0.0.1:9/prefix/", None).unwrap();
        let url = client.url(
            &["v1", "namespaces", "a b", "types", "pkg.Msg"],
            &[("to", "json")],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/v1/namespaces/a%20b/types/pkg.Msg?to=json"
        );
    }

    #[test]
    fn odd_urls_and_half_tls_options_are_refused_up_front() {
        assert!(Client::new("https://registry.example", None).is_ok());
        let half = TlsOptions {
            client_cert: Some("c.pem".into()),
            ..TlsOptions::default()
        };
        let err = Client::with_tls("https://registry.example", None, &half).unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
        let missing = TlsOptions {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let err = Client::with_tls("https://registry.example", None, &missing).unwrap_err();
        assert!(
            err.to_string().contains("--ca-cert /nonexistent/ca.pem"),
            "{err}"
        );
        assert!(Client::new("not a url", None).is_err());
        assert!(Client::new("mailto:x@y", None).is_err());
    }

    #[test]
    fn violations_and_compile_errors_print_like_buf_and_protoc() {
        let violation = Violation {
            rule: "FIELD_NO_DELETE".into(),
            file: "a/b.proto".into(),
            line: 3,
            column: 1,
            message: "Previously present field \"2\" was deleted.".into(),
        };
        assert_eq!(
            violation.to_string(),
            "a/b.proto:3:1:Previously present field \"2\" was deleted. (FIELD_NO_DELETE)"
        );
        let error = CompileError {
            file: "x.proto".into(),
            line: 4,
            column: 7,
            message: "expected ';'".into(),
        };
        assert_eq!(error.to_string(), "x.proto:4:7: expected ';'");
    }
}
