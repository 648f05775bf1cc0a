//! The command line's side of `protoreg-client`: the CLI is blocking, so each
//! call runs the library's async [`protoreg_client::Client`] on a
//! current-thread runtime. This module adds only what the command line
//! needs on top: the JSON answer kept as sent (`--output json`), messages
//! that tell a person what to do about a transport failure, and the problem
//! document's members printed like protoc and buf.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use protoreg_client::{Answer, Body, EventQuery, EventStream, Method, StatusCode, StreamItem};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::CliError;

/// How long one call may take (a publish compiles the schema; a load of a
/// large export promotes it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug)]
pub struct Client {
    inner: protoreg_client::Client,
    runtime: tokio::runtime::Runtime,
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
        let mut builder = protoreg_client::Client::builder(server)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("protoreg/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = token {
            builder = builder.token(token);
        }
        if let Some(path) = &tls.ca_cert {
            builder = builder.add_root_ca_pem(read_file(path, "--ca-cert")?);
        }
        match (&tls.client_cert, &tls.client_key) {
            (Some(cert), Some(key)) => {
                builder = builder.identity_pem(
                    &read_file(cert, "--client-cert")?,
                    &read_file(key, "--client-key")?,
                );
            }
            (None, None) => {}
            _ => {
                return Err(CliError::Message(
                    "--client-cert and --client-key go together".into(),
                ));
            }
        }
        let inner = builder.build().map_err(|err| {
            let option = match (&tls.ca_cert, &tls.client_cert) {
                (Some(path), _) if err.to_string().contains("CA") => {
                    format!("--ca-cert {}", path.display())
                }
                (_, Some(path)) if err.to_string().contains("client certificate") => {
                    format!("--client-cert {}", path.display())
                }
                _ => format!("--server {server:?}"),
            };
            CliError::Message(format!("{option}: {err}"))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Message(format!("cannot start the I/O runtime: {e}")))?;
        Ok(Self { inner, runtime })
    }

    /// One call, its failure turned into what the command line prints.
    fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Body,
    ) -> Result<Answer, CliError> {
        let query: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        self.runtime
            .block_on(self.inner.call(method.clone(), segments, &query, body))
            .map_err(|err| self.failure(err, &method, segments))
    }

    fn json_call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Body,
    ) -> Result<Reply<T>, CliError> {
        let answer = self.call(method.clone(), segments, query, body)?;
        let path = segments.join("/");
        let raw = if answer.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&answer.body).map_err(|e| {
                CliError::Message(format!("{method} /{path}: the answer is not JSON: {e}"))
            })?
        };
        let body = serde_json::from_value(raw.clone()).map_err(|e| {
            CliError::Message(format!(
                "{method} /{path}: unexpected answer from the server: {e}"
            ))
        })?;
        Ok(Reply {
            status: answer.status,
            raw,
            body,
        })
    }

    pub fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Reply<T>, CliError> {
        self.json_call(Method::GET, segments, query, Body::Empty)
    }

    /// Every page of a list (`?page_token=`, `next_page_token`), as one
    /// answer `{field: [every item]}`.
    pub fn get_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        field: &str,
    ) -> Result<Reply<T>, CliError> {
        let items: Vec<Value> = self
            .runtime
            .block_on(self.inner.get_all(segments, field))
            .map_err(|err| self.failure(err, &Method::GET, segments))?;
        let mut raw = serde_json::Map::new();
        raw.insert(field.to_owned(), Value::Array(items));
        let raw = Value::Object(raw);
        let body = serde_json::from_value(raw.clone()).map_err(|e| {
            CliError::Message(format!(
                "GET /{}: unexpected answer from the server: {e}",
                segments.join("/")
            ))
        })?;
        Ok(Reply {
            status: StatusCode::OK,
            raw,
            body,
        })
    }

    pub fn delete<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<Reply<T>, CliError> {
        self.json_call(Method::DELETE, segments, &[], Body::Empty)
    }

    /// POST or PUT of a JSON body.
    pub fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &Value,
    ) -> Result<Reply<T>, CliError> {
        self.json_call(method, segments, &[], Body::Json(body.clone()))
    }

    /// POST of a raw body with its content type; the answer as bytes.
    pub fn post_bytes(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<RawReply, CliError> {
        let body = Body::Bytes {
            content_type: content_type.to_owned(),
            bytes: body,
        };
        let answer = self.call(Method::POST, segments, query, body)?;
        Ok(RawReply {
            bytes: answer.body.to_vec(),
        })
    }

    /// POST of a raw body whose answer is JSON.
    pub fn post_bytes_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Reply<T>, CliError> {
        let body = Body::Bytes {
            content_type: content_type.to_owned(),
            bytes: body,
        };
        self.json_call(Method::POST, segments, query, body)
    }

    pub fn get_bytes(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<RawReply, CliError> {
        let answer = self.call(Method::GET, segments, query, Body::Empty)?;
        Ok(RawReply {
            bytes: answer.body.to_vec(),
        })
    }

    /// `GET /v1/events/stream`, resumed after `last_event_id` when given.
    pub fn event_stream(
        &self,
        query: &EventQuery,
        last_event_id: Option<i64>,
    ) -> Result<Events<'_>, CliError> {
        let stream = self
            .runtime
            .block_on(self.inner.event_stream(query, last_event_id))
            .map_err(|err| self.failure(err, &Method::GET, &["v1", "events", "stream"]))?;
        Ok(Events {
            stream,
            runtime: &self.runtime,
        })
    }

    /// The library's error as the command line reports it: the problem
    /// document of a refusal, or a message that says what to do.
    fn failure(&self, err: protoreg_client::Error, method: &Method, segments: &[&str]) -> CliError {
        // The command line's client always has an HTTP base URL.
        let server = self
            .inner
            .base()
            .map(|base| base.origin().ascii_serialization())
            .unwrap_or_default();
        match err {
            protoreg_client::Error::Api {
                status,
                code,
                detail,
                body,
            } => {
                if body.get("code").and_then(Value::as_str).is_some() {
                    return CliError::Problem(Problem {
                        code,
                        detail,
                        raw: body,
                    });
                }
                let text = body.as_str().unwrap_or_default().trim();
                let shown =
                    StatusCode::from_u16(status).map_or(status.to_string(), |s| s.to_string());
                let mut message = format!(
                    "{method} /{}: the server answered {shown}",
                    segments.join("/")
                );
                if status == 404 && text.is_empty() {
                    message.push_str(" (this server may not have that endpoint)");
                } else if !text.is_empty() {
                    let snippet: String = text.chars().take(200).collect();
                    message.push_str(&format!(": {snippet}"));
                }
                CliError::Message(message)
            }
            protoreg_client::Error::Transport(err) => transport_error(&server, &err),
            other => CliError::Message(format!("{method} /{}: {other}", segments.join("/"))),
        }
    }
}

/// An open event stream, read item by item.
pub struct Events<'a> {
    stream: EventStream,
    runtime: &'a tokio::runtime::Runtime,
}

impl Events<'_> {
    /// The next item; `None` when the stream ended or broke.
    pub fn next(&mut self) -> Option<StreamItem> {
        self.runtime.block_on(self.stream.next()).ok().flatten()
    }

    /// The id of the last event read (to resume after).
    pub fn last_event_id(&self) -> Option<i64> {
        self.stream.last_event_id()
    }
}

/// The error and its causes, `: `-separated (reqwest's own message names
/// only the URL; the cause says what went wrong).
fn transport_error(server: &str, err: &reqwest::Error) -> CliError {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = cause.source();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
