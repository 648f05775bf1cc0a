//! The gRPC transport of [`Client`](crate::Client): the typed calls that
//! `protoreg.v1.Registry` and `protoregistry.v1.RegistryService` have, with
//! the same answers and errors as over HTTP.

pub mod raw;

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::FutureExt;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::client::{
    Checked, Descriptor, Diff, Event, EventQuery, Namespace, Promoted, PromotedSchema, Published,
    Sources, Staged,
};
use crate::error::{Error, Result};
use crate::sse::StreamItem;

/// Generated from `proto/protoreg/v1/registry.proto` (client stubs only).
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub(crate) mod pb {
    tonic::include_proto!("protoreg.v1");
}

/// Generated from `proto/protoregistry/v1/registry.proto` (client stubs only).
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub(crate) mod pr {
    tonic::include_proto!("protoregistry.v1");
}

type Registry = pb::registry_client::RegistryClient<Channel>;
type RegistryService = pr::registry_service_client::RegistryServiceClient<Channel>;

/// A list longer than this many pages is a server that never ends it.
const MAX_PAGES: usize = 100_000;
/// HTTP/2 pings on an idle connection: a dead one (an event stream that
/// sends nothing while nothing happens) is noticed within ~35 s.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// What [`Grpc::connect`] needs from the builder.
pub(crate) struct Settings<'a> {
    pub endpoint: &'a str,
    pub token: Option<&'a str>,
    pub ca_pem: &'a [Vec<u8>],
    pub identity: Option<(&'a [u8], &'a [u8])>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub user_agent: &'a str,
}

/// One registry's gRPC endpoint: a lazily connected channel (HTTP/2,
/// multiplexed; cheap to clone) and the call metadata.
#[derive(Debug, Clone)]
pub(crate) struct Grpc {
    endpoint: Endpoint,
    /// Made on the first call: a channel spawns its worker on the tokio
    /// runtime, which `ClientBuilder::build` (not async) may lack.
    channel: Arc<OnceLock<Channel>>,
    authorization: Option<AsciiMetadataValue>,
    timeout: Duration,
}

impl Grpc {
    /// Sets up the channel; it connects on the first call (and reconnects
    /// after a failure by itself).
    pub(crate) fn connect(settings: Settings<'_>) -> Result<Self> {
        let config = |what: &str, e: &dyn std::fmt::Display| {
            Error::Config(format!("{what} {:?}: {e}", settings.endpoint))
        };
        let uri: tonic::codegen::http::Uri = settings
            .endpoint
            .trim()
            .parse()
            .map_err(|e| config("invalid gRPC endpoint", &e))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(Error::Config(format!(
                    "invalid gRPC endpoint {:?}: expected http(s)://HOST:PORT",
                    settings.endpoint
                )));
            }
        };
        let Some(host) = uri.host().map(|h| h.trim_matches(['[', ']']).to_owned()) else {
            return Err(Error::Config(format!(
                "invalid gRPC endpoint {:?}: no host",
                settings.endpoint
            )));
        };
        let mut endpoint = Endpoint::from(uri)
            .connect_timeout(settings.connect_timeout)
            .http2_keep_alive_interval(KEEP_ALIVE)
            .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
            .keep_alive_while_idle(true)
            .tcp_nodelay(true)
            .user_agent(settings.user_agent)
            .map_err(|e| config("invalid user agent for", &e))?;
        if tls {
            endpoint = endpoint
                .tls_config(tls_config(&settings, &host)?)
                .map_err(|e| config("TLS setup of", &e))?;
        } else if !settings.ca_pem.is_empty() || settings.identity.is_some() {
            return Err(Error::Config(format!(
                "CA certificates or a client certificate given for {:?}, which is not https://",
                settings.endpoint
            )));
        }
        let authorization = match settings.token {
            Some(token) => Some(
                MetadataValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| Error::Config("the token is not valid header text".into()))?,
            ),
            None => None,
        };
        Ok(Self {
            endpoint,
            channel: Arc::new(OnceLock::new()),
            authorization,
            timeout: settings.timeout,
        })
    }

    /// A request carrying the token; a deadline of the client's timeout
    /// unless it is a stream.
    fn request<T>(&self, message: T, deadline: bool) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(value) = &self.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        if deadline {
            request.set_timeout(self.timeout);
        }
        request
    }

    /// The channel, connecting lazily on the runtime of the first call.
    fn channel(&self) -> Channel {
        self.channel
            .get_or_init(|| self.endpoint.connect_lazy())
            .clone()
    }

    fn registry(&self) -> Registry {
        Registry::new(self.channel()).max_decoding_message_size(usize::MAX)
    }

    fn service(&self) -> RegistryService {
        RegistryService::new(self.channel()).max_decoding_message_size(usize::MAX)
    }

    /// `GetNamespaceDescriptor`: the set (ETag quoted as HTTP's) and the
    /// namespace's revision.
    pub(crate) async fn descriptor(
        &self,
        ns: &str,
        if_none_match: Option<&str>,
    ) -> Result<(Descriptor, i64)> {
        let request = pb::GetNamespaceDescriptorRequest {
            namespace: ns.to_owned(),
            if_none_match: if_none_match
                .map(|etag| unquote(etag).to_owned())
                .unwrap_or_default(),
        };
        let answer = self
            .registry()
            .get_namespace_descriptor(self.request(request, true))
            .await
            .map_err(error)?
            .into_inner();
        let descriptor = if answer.not_modified {
            Descriptor::NotModified
        } else {
            Descriptor::Modified {
                bytes: answer.file_descriptor_set,
                etag: Some(format!("\"{}\"", answer.etag)),
            }
        };
        Ok((descriptor, answer.revision))
    }

    /// `GetDescriptor` of a version (`current`, `staged` or a number). gRPC
    /// has no ETag here: the client makes one of the set's SHA-256 and
    /// answers [`Descriptor::NotModified`] when it matches (the set is
    /// downloaded either way).
    pub(crate) async fn schema_descriptor(
        &self,
        ns: &str,
        schema: &str,
        version: &str,
        if_none_match: Option<&str>,
    ) -> Result<Descriptor> {
        let version = self.version_number(ns, schema, version).await?;
        let request = pr::GetDescriptorRequest {
            namespace_id: ns.to_owned(),
            schema_id: schema.to_owned(),
            version,
        };
        let answer = self
            .service()
            .get_descriptor(self.request(request, true))
            .await
            .map_err(error)?
            .into_inner();
        let bytes = answer.file_descriptor_set.unwrap_or_default().0;
        let etag = format!("\"sha256-{}\"", hex::encode(Sha256::digest(&bytes)));
        if if_none_match.is_some_and(|held| held == etag) {
            return Ok(Descriptor::NotModified);
        }
        Ok(Descriptor::Modified {
            bytes,
            etag: Some(etag),
        })
    }

    /// `GetSource`: the sources of a version (`current`, `staged` or a
    /// number), as UTF-8 text.
    pub(crate) async fn sources(&self, ns: &str, schema: &str, version: &str) -> Result<Sources> {
        let version = self.version_number(ns, schema, version).await?;
        let request = pr::GetSourceRequest {
            namespace_id: ns.to_owned(),
            schema_id: schema.to_owned(),
            version,
        };
        let answer = self
            .service()
            .get_source(self.request(request, true))
            .await
            .map_err(error)?
            .into_inner();
        answer
            .sources
            .into_iter()
            .map(|(path, bytes)| match String::from_utf8(bytes) {
                Ok(text) => Ok((path, text)),
                Err(_) => Err(Error::Unexpected(format!("{path} is not UTF-8"))),
            })
            .collect()
    }

    /// The number protoregistry's calls take: `current` is 0, `staged` the
    /// schema's staged version (`GetSchema`).
    async fn version_number(&self, ns: &str, schema: &str, version: &str) -> Result<u64> {
        match version {
            "current" => Ok(0),
            "staged" => {
                let request = pr::GetSchemaRequest {
                    namespace_id: ns.to_owned(),
                    schema_id: schema.to_owned(),
                };
                let info = self
                    .service()
                    .get_schema(self.request(request, true))
                    .await
                    .map_err(error)?
                    .into_inner()
                    .schema
                    .unwrap_or_default();
                info.staged_version.ok_or_else(|| Error::Api {
                    status: 404,
                    code: "not_found".into(),
                    detail: format!("schema {schema} of namespace {ns} has no staged version"),
                    body: json!({"code": "not_found", "status": 404,
                        "detail": format!("schema {schema} of namespace {ns} has no staged version")}),
                })
            }
            number => match number.parse::<u64>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(Error::Api {
                    status: 400,
                    code: "invalid_argument".into(),
                    detail: format!("invalid version {number:?}: a number, current or staged"),
                    body: json!({"code": "invalid_argument", "status": 400,
                        "detail": format!("invalid version {number:?}: a number, current or staged")}),
                }),
            },
        }
    }

    /// `ListNamespaces`, every page.
    pub(crate) async fn namespaces(&self) -> Result<Vec<Namespace>> {
        let mut items = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let request = pr::ListNamespacesRequest {
                page_size: 0,
                page_token: token.clone(),
            };
            let page = self
                .service()
                .list_namespaces(self.request(request, true))
                .await
                .map_err(error)?
                .into_inner();
            items.extend(page.namespaces.into_iter().map(|ns| Namespace {
                id: ns.id,
                created_at: ns.created_at.map(|t| t.to_string()).unwrap_or_default(),
                updated_at: String::new(),
                metadata: text_map(ns.metadata),
                schema_count: 0,
                staged_count: 0,
                revision: 0,
                settings: None,
            }));
            if page.next_page_token.is_empty() || page.next_page_token == token {
                return Ok(items);
            }
            token = page.next_page_token;
        }
        Err(Error::Unexpected(format!(
            "ListNamespaces: more than {MAX_PAGES} pages"
        )))
    }

    /// `Publish` (protoregistry): version, fingerprint and `no_change`.
    pub(crate) async fn publish(
        &self,
        ns: &str,
        schema: &str,
        sources: &Sources,
        force: bool,
    ) -> Result<Published> {
        let request = pr::PublishRequest {
            namespace_id: ns.to_owned(),
            schema_id: schema.to_owned(),
            sources: sources
                .iter()
                .map(|(path, text)| (path.clone(), text.clone().into_bytes()))
                .collect(),
            force,
            ..Default::default()
        };
        let answer = self
            .service()
            .publish(self.request(request, true))
            .await
            .map_err(error)?
            .into_inner();
        Ok(Published {
            version: number(answer.version)?,
            fingerprint: answer.fingerprint,
            no_change: answer.no_change,
            staged: false,
            files: Vec::new(),
            messages: Vec::new(),
            enums: Vec::new(),
            services: Vec::new(),
        })
    }

    /// `Promote` (protoreg.v1): HTTP's whole answer.
    pub(crate) async fn promote(&self, ns: &str, dry_run: bool) -> Result<Promoted> {
        let request = pb::PromoteRequest {
            namespace: ns.to_owned(),
            dry_run,
        };
        let answer = self
            .registry()
            .promote(self.request(request, true))
            .await
            .map_err(error)?
            .into_inner();
        Ok(Promoted {
            promoted: answer
                .promoted
                .into_iter()
                .map(|p| {
                    Ok(PromotedSchema {
                        schema: p.schema,
                        from_version: p.from_version.map(number).transpose()?,
                        to_version: number(p.to_version)?,
                    })
                })
                .collect::<Result<_>>()?,
            revision: answer.revision,
            dry_run: answer.dry_run,
            jobs: answer.jobs.into_iter().map(Value::from).collect(),
        })
    }

    /// `ListStaging`, every page.
    pub(crate) async fn staging(&self, ns: &str) -> Result<Vec<Staged>> {
        let mut items = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let request = pb::ListStagingRequest {
                namespace: ns.to_owned(),
                page_size: 0,
                page_token: token.clone(),
            };
            let page = self
                .registry()
                .list_staging(self.request(request, true))
                .await
                .map_err(error)?
                .into_inner();
            for staged in page.staged {
                items.push(Staged {
                    schema: staged.schema,
                    version: number(staged.version)?,
                    current_version: staged.current_version.map(number).transpose()?,
                });
            }
            if page.next_page_token.is_empty() || page.next_page_token == token {
                return Ok(items);
            }
            token = page.next_page_token;
        }
        Err(Error::Unexpected(format!(
            "ListStaging: more than {MAX_PAGES} pages"
        )))
    }

    /// `DiscardStaging` (protoregistry; its answer is empty).
    pub(crate) async fn discard_staging(&self, ns: &str) -> Result<()> {
        let request = pr::DiscardStagingRequest {
            namespace_id: ns.to_owned(),
        };
        self.service()
            .discard_staging(self.request(request, true))
            .await
            .map_err(error)?;
        Ok(())
    }

    /// `Rollback` (protoregistry; its answer is empty).
    pub(crate) async fn rollback(
        &self,
        ns: &str,
        schema: &str,
        version: i64,
        force: bool,
    ) -> Result<()> {
        let version = u64::try_from(version).map_err(|_| Error::Api {
            status: 400,
            code: "invalid_argument".into(),
            detail: format!("invalid version {version}"),
            body: json!({"code": "invalid_argument", "status": 400,
                "detail": format!("invalid version {version}")}),
        })?;
        let request = pr::RollbackRequest {
            namespace_id: ns.to_owned(),
            schema_id: schema.to_owned(),
            version,
            force,
        };
        self.service()
            .rollback(self.request(request, true))
            .await
            .map_err(error)?;
        Ok(())
    }

    /// `Check`: HTTP's whole answer.
    pub(crate) async fn check(
        &self,
        ns: &str,
        schema: &str,
        sources: &Sources,
        force: bool,
    ) -> Result<Checked> {
        let request = pb::CheckRequest {
            namespace: ns.to_owned(),
            schema: schema.to_owned(),
            sources: sources.clone().into_iter().collect(),
            force,
        };
        let answer = self
            .registry()
            .check(self.request(request, true))
            .await
            .map_err(error)?
            .into_inner();
        Ok(Checked {
            compatible: answer.compatible,
            violations: answer.violations.into_iter().map(violation).collect(),
            errors: answer
                .errors
                .into_iter()
                .map(|e| {
                    json!({"file": e.file, "line": e.line, "column": e.column, "message": e.message})
                })
                .collect(),
        })
    }

    /// `Diff`: HTTP's whole answer (`from`/`to` empty: the server's
    /// defaults, as HTTP without the query parameters).
    pub(crate) async fn diff(
        &self,
        ns: &str,
        schema: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Diff> {
        let request = pb::DiffRequest {
            namespace: ns.to_owned(),
            schema: schema.to_owned(),
            from: from.unwrap_or_default().to_owned(),
            to: to.unwrap_or_default().to_owned(),
        };
        let answer = self
            .registry()
            .diff(self.request(request, true))
            .await
            .map_err(error)?
            .into_inner();
        let entries = |list: Vec<pb::DiffEntry>| -> Vec<Value> {
            list.into_iter()
                .map(|e| {
                    let mut entry =
                        json!({"kind": e.kind, "name": e.name, "file": e.file, "line": e.line});
                    if let Some(from) = e.from {
                        entry["from"] = Value::String(from);
                    }
                    if let Some(to) = e.to {
                        entry["to"] = Value::String(to);
                    }
                    entry
                })
                .collect()
        };
        Ok(Diff {
            violations: answer.violations.into_iter().map(violation).collect(),
            added: entries(answer.added),
            removed: entries(answer.removed),
            changed: entries(answer.changed),
        })
    }

    /// `WatchEvents` after `after` (0: every event still kept).
    pub(crate) async fn watch(&self, query: &EventQuery, after: i64) -> Result<Watch> {
        let request = pb::WatchEventsRequest {
            after,
            namespace: query.namespace.clone().unwrap_or_default(),
            kinds: query.kinds.clone(),
        };
        let stream = self
            .registry()
            .watch_events(self.request(request, false))
            .await
            .map_err(error)?
            .into_inner();
        Ok(Watch {
            stream,
            ended: false,
            failed: None,
        })
    }
}

/// An open `WatchEvents` call: [`crate::EventStream`] reads it.
pub(crate) struct Watch {
    stream: tonic::Streaming<pb::Event>,
    ended: bool,
    /// A failure met while reading ahead, reported after the items before it.
    failed: Option<Error>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Watch {
    /// Waits for the next message, then takes every one already received
    /// without waiting (so events that arrived together are handled
    /// together); `false` when the server ended the stream.
    pub(crate) async fn fill(&mut self, pending: &mut VecDeque<StreamItem>) -> Result<bool> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        if self.ended {
            return Ok(false);
        }
        match self.stream.message().await.map_err(error)? {
            None => {
                self.ended = true;
                return Ok(false);
            }
            Some(event) => pending.push_back(item(event)?),
        }
        while let Some(next) = self.stream.message().now_or_never() {
            match next {
                Ok(Some(event)) => match item(event) {
                    Ok(item) => pending.push_back(item),
                    Err(err) => {
                        self.failed = Some(err);
                        break;
                    }
                },
                Ok(None) => {
                    self.ended = true;
                    break;
                }
                Err(status) => {
                    self.failed = Some(error(status));
                    break;
                }
            }
        }
        Ok(true)
    }
}

/// An event message as the stream item HTTP's event stream gives.
fn item(event: pb::Event) -> Result<StreamItem> {
    if event.truncated {
        return Ok(StreamItem::Truncated);
    }
    let payload = if event.payload_json.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&event.payload_json)
            .map_err(|e| Error::Unexpected(format!("event {}: payload: {e}", event.id)))?
    };
    Ok(StreamItem::Event(Event {
        id: event.id,
        kind: event.kind,
        namespace: Some(event.namespace).filter(|ns| !ns.is_empty()),
        created_at: event.created_at,
        payload,
    }))
}

/// HTTP's JSON of a violation (`api_types::Violation` of the server).
fn violation(v: pb::Violation) -> Value {
    let mut out = json!({
        "rule": v.rule,
        "category": v.category,
        "schema": v.schema,
        "file": v.file,
        "line": v.line,
        "column": v.column,
        "end_line": v.end_line,
        "end_column": v.end_column,
        "message": v.message,
    });
    if let Some(plugin) = v.plugin {
        out["plugin"] = Value::String(plugin);
    }
    out
}

/// Metadata values of protoregistry's `map<string, string>` as a JSON object.
fn text_map(map: std::collections::HashMap<String, String>) -> Value {
    let mut sorted: Vec<(String, String)> = map.into_iter().collect();
    sorted.sort();
    Value::Object(
        sorted
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<Map<_, _>>(),
    )
}

/// A version number of the gRPC API as the HTTP API's.
fn number(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Unexpected(format!("version {n} out of range")))
}

/// An ETag's value without its quotes (gRPC carries it bare).
fn unquote(etag: &str) -> &str {
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(etag)
}

/// The TLS settings: the system roots, the extra CAs, the client identity.
fn tls_config(settings: &Settings<'_>, host: &str) -> Result<ClientTlsConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::debug!(errors = ?native.errors, "some system CA certificates were not loaded");
    }
    roots.add_parsable_certificates(native.certs);
    for pem in settings.ca_pem {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Config("no PEM certificate in the CA bundle".into()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
        }
    }
    let mut config = ClientTlsConfig::new()
        .domain_name(host)
        .trust_anchors(roots.roots);
    if let Some((cert, key)) = settings.identity {
        config = config.identity(Identity::from_pem(cert, key));
    }
    Ok(config)
}

/// A gRPC status as this crate's error: a registry refusal (its problem
/// document in the message, `ErrorInfo.reason` its code) is
/// [`Error::Api`] with the same `status`, `code`, `detail` and `body` as
/// over HTTP; a call that got no answer (connection refused or lost,
/// deadline, TLS) is [`Error::GrpcTransport`]; any other status (a proxy,
/// an unknown method) is [`Error::Api`] with code `grpc_<code>`.
pub(crate) fn error(status: Status) -> Error {
    let body: Option<Value> = serde_json::from_str::<Value>(status.message())
        .ok()
        .filter(|v| v.get("code").and_then(Value::as_str).is_some());
    let reason = status
        .get_details_error_info()
        .filter(|info| info.domain == "protoreg" && !info.reason.is_empty())
        .map(|info| info.reason);
    if body.is_none() && reason.is_none() {
        let no_answer = matches!(
            status.code(),
            Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Unknown
        ) || std::error::Error::source(&status).is_some();
        if no_answer {
            return Error::GrpcTransport(Box::new(status));
        }
    }
    let body = body.unwrap_or_else(|| Value::String(status.message().to_owned()));
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let code = reason
        .or_else(|| field("code"))
        .unwrap_or_else(|| format!("grpc_{}", code_name(status.code())));
    let http = body
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or_else(|| http_status(status.code()));
    Error::Api {
        status: http,
        code,
        detail: field("detail")
            .filter(|d| !d.is_empty())
            .or_else(|| field("title"))
            .or_else(|| body.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            .unwrap_or_else(|| status.code().description().to_owned()),
        body,
    }
}

/// The HTTP status the registry answers for the error it maps to `code`.
fn http_status(code: Code) -> u16 {
    match code {
        Code::Ok => 200,
        Code::InvalidArgument | Code::OutOfRange => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => 409,
        Code::ResourceExhausted => 413,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
        Code::Cancelled => 499,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
    }
}

/// `NOT_FOUND` → `not_found`.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_status_reads_like_the_http_problem() {
        let mut details = tonic_types::ErrorDetails::new();
        details.set_error_info("incompatible", "protoreg", std::collections::HashMap::new());
        let problem = r#"{"type":"about:blank","title":"Incompatible change","status":409,"code":"incompatible","detail":"2 violations","violations":[]}"#;
        let status = Status::with_error_details(Code::FailedPrecondition, problem, details);
        let err = error(status);
        assert_eq!(err.code(), Some("incompatible"));
        assert_eq!(err.status(), Some(409));
        assert!(err.to_string().ends_with("2 violations"), "{err}");
        let Error::Api { body, .. } = err else {
            unreachable!()
        };
        assert!(body["violations"].is_array());
    }

    #[test]
    fn other_statuses_keep_their_grpc_code() {
        let err = error(Status::unimplemented("unknown method"));
        assert_eq!(err.code(), Some("grpc_unimplemented"));
        assert_eq!(err.status(), Some(501));
        let err = error(Status::unavailable("tcp connect error"));
        assert!(matches!(err, Error::GrpcTransport(_)), "{err}");
        assert_eq!(err.status(), None);
    }

    #[test]
    fn etags_travel_without_quotes() {
        assert_eq!(unquote("\"abc\""), "abc");
        assert_eq!(unquote("W/\"abc\""), "abc");
        assert_eq!(unquote("abc"), "abc");
    }
}
