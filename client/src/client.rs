//! [`Client`]: typed async calls of the registry's HTTP API, or of its
//! gRPC API (`crate::grpc`) for the calls that has.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use reqwest::{Method, StatusCode, Url, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::grpc::{self, Grpc};
use crate::sse::EventStream;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ordinary call (not a long poll or a stream) may take.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// A list longer than this many pages is a server that never ends it.
const MAX_PAGES: usize = 100_000;

/// A client of one registry: base URL and/or gRPC endpoint, optional
/// bearer token, extra TLS roots. Cheap to clone (the connection pool and
/// the gRPC channel are shared).
///
/// Transports: [`Client::builder`] speaks HTTP;
/// [`ClientBuilder::grpc`] adds a gRPC endpoint, and then every typed call
/// that the gRPC API answers in full goes over gRPC (`promote`, `staging`,
/// `check`, `diff`, `sources`, `descriptor`, `event_stream`) while the
/// rest stay on HTTP. [`Client::builder_grpc`] speaks gRPC alone: the
/// calls the gRPC API answers in part (`namespaces`, `publish`,
/// `discard_staging`, `rollback`, `schema_descriptor`) go over gRPC too,
/// with what it lacks left empty, and the calls it does not have at all
/// fail with [`Error::Unsupported`]. Errors are the same either way:
/// [`Error::Api`] with the server's stable `code`.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Option<Url>,
    grpc: Option<Grpc>,
    token: Option<String>,
    timeout: Duration,
}

/// Builds a [`Client`]: [`Client::builder`] or [`Client::builder_grpc`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base: Option<String>,
    grpc: Option<String>,
    token: Option<String>,
    ca_pem: Vec<Vec<u8>>,
    identity_pem: Option<Vec<u8>>,
    /// The certificate chain and the key apart (tonic takes them so).
    identity_parts: Option<(Vec<u8>, Vec<u8>)>,
    timeout: Duration,
    user_agent: Option<String>,
}

impl ClientBuilder {
    /// Also speaks gRPC to `endpoint` (`http://HOST:PORT`, or `https://`
    /// for TLS with the same roots and identity as HTTP; the server's
    /// `grpc.listen`): every typed call that the gRPC API answers in full
    /// goes there, the others to the HTTP base URL. See [`Client`].
    pub fn grpc(mut self, endpoint: impl Into<String>) -> Self {
        self.grpc = Some(endpoint.into());
        self
    }

    /// Sends `Authorization: Bearer <token>` with every call (an empty token
    /// sends none); over gRPC as `authorization` metadata.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into()).filter(|t: &String| !t.is_empty());
        self
    }

    /// Trusts the CA certificates of this PEM bundle besides the system
    /// roots (a registry with a private CA).
    pub fn add_root_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem.push(pem.into());
        self
    }

    /// Presents this certificate chain and private key (PEM) to a server
    /// that asks for a client certificate (mutual TLS).
    pub fn identity_pem(mut self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        let mut pem = cert_pem.to_vec();
        pem.push(b'\n');
        pem.extend_from_slice(key_pem);
        self.identity_pem = Some(pem);
        self.identity_parts = Some((cert_pem.to_vec(), key_pem.to_vec()));
        self
    }

    /// The `User-Agent` of every call (default `protoreg-client/VERSION`).
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }

    /// Time limit of one ordinary call (default 120 s). Event streams have
    /// none; a long poll gets its `wait` on top.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client; fails on a URL that is not `http(s)://HOST[:PORT][/prefix]`
    /// (a gRPC endpoint: `http(s)://HOST:PORT`) or a PEM bundle without a
    /// certificate. The gRPC channel connects on the first call.
    pub fn build(self) -> Result<Client> {
        let base = match &self.base {
            None => None,
            Some(raw) => {
                let base = Url::parse(raw.trim())
                    .map_err(|e| Error::Config(format!("invalid server URL {raw:?}: {e}")))?;
                if !matches!(base.scheme(), "http" | "https")
                    || base.cannot_be_a_base()
                    || base.host().is_none()
                {
                    return Err(Error::Config(format!(
                        "invalid server URL {raw:?}: expected http(s)://HOST[:PORT]"
                    )));
                }
                Some(base)
            }
        };
        let user_agent = self
            .user_agent
            .as_deref()
            .unwrap_or(concat!("protoreg-client/", env!("CARGO_PKG_VERSION")));
        let grpc = match &self.grpc {
            None => None,
            Some(endpoint) => {
                let identity = self.identity_parts.as_ref();
                Some(Grpc::connect(grpc::Settings {
                    endpoint,
                    token: self.token.as_deref(),
                    ca_pem: &self.ca_pem,
                    identity: identity.map(|(cert, key)| (cert.as_slice(), key.as_slice())),
                    timeout: self.timeout,
                    connect_timeout: CONNECT_TIMEOUT,
                    user_agent,
                })?)
            }
        };
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(user_agent)
            .https_only(base.as_ref().is_some_and(|b| b.scheme() == "https"));
        for pem in &self.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Config(format!("CA certificate: {e}")))?;
            if certs.is_empty() {
                return Err(Error::Config("no PEM certificate in the CA bundle".into()));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(pem) = &self.identity_pem {
            let identity = reqwest::Identity::from_pem(pem)
                .map_err(|e| Error::Config(format!("client certificate and key: {e}")))?;
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            grpc,
            token: self.token,
            timeout: self.timeout,
        })
    }
}

/// The body of a [`Client::call`].
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON document (`Content-Type: application/json`).
    Json(Value),
    /// Bytes of the given content type (a descriptor set, a message).
    Bytes {
        /// The `Content-Type` header.
        content_type: String,
        /// The body.
        bytes: Vec<u8>,
    },
}

/// The answer of a [`Client::call`]: status, headers and body as sent.
#[derive(Debug, Clone)]
pub struct Answer {
    /// A 2xx status, or 304.
    pub status: StatusCode,
    /// The response headers.
    pub headers: header::HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// `GET …/descriptor` answered: the set, or "not modified".
#[derive(Debug, Clone)]
pub enum Descriptor {
    /// The encoded `google.protobuf.FileDescriptorSet` and its ETag.
    Modified {
        /// The set's bytes, as served.
        bytes: Bytes,
        /// The strong ETag (quotes included) to send as `If-None-Match`.
        etag: Option<String>,
    },
    /// `If-None-Match` matched: what the caller holds is current.
    NotModified,
}

/// A namespace (`Namespace` of docs/API.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Namespace {
    /// The namespace's name.
    pub id: String,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_at: String,
    /// RFC 3339 time of the last change.
    #[serde(default)]
    pub updated_at: String,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: Value,
    /// Schemas in it.
    #[serde(default)]
    pub schema_count: i64,
    /// Schemas with a staged version.
    #[serde(default)]
    pub staged_count: i64,
    /// Grows with every change.
    #[serde(default)]
    pub revision: i64,
    /// Compatibility and code generation settings (single GETs only).
    #[serde(default)]
    pub settings: Option<Value>,
}

/// What a publish answered.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Published {
    /// The version number (new, or the existing equal one).
    pub version: i64,
    /// The version's fingerprint.
    #[serde(default)]
    pub fingerprint: String,
    /// The sources equal the staged (else current) version: nothing new.
    #[serde(default)]
    pub no_change: bool,
    /// Whether the version is staged.
    #[serde(default)]
    pub staged: bool,
    /// The version's files.
    #[serde(default)]
    pub files: Vec<String>,
    /// Full names of its messages.
    #[serde(default)]
    pub messages: Vec<String>,
    /// Full names of its enums.
    #[serde(default)]
    pub enums: Vec<String>,
    /// Full names of its services.
    #[serde(default)]
    pub services: Vec<String>,
}

/// One schema moved by a promote.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PromotedSchema {
    /// The schema.
    pub schema: String,
    /// The version current before (none on a first promote).
    pub from_version: Option<i64>,
    /// The version current now.
    pub to_version: i64,
}

/// What a promote answered.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Promoted {
    /// The schemas whose staged version became current.
    #[serde(default)]
    pub promoted: Vec<PromotedSchema>,
    /// The namespace's revision after it.
    #[serde(default)]
    pub revision: i64,
    /// Only checked, nothing changed.
    #[serde(default)]
    pub dry_run: bool,
    /// Code generation jobs queued.
    #[serde(default)]
    pub jobs: Vec<Value>,
}

/// A staged version (`GET …/staging`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Staged {
    /// The schema.
    pub schema: String,
    /// The staged version.
    pub version: i64,
    /// The schema's current version, if any.
    pub current_version: Option<i64>,
}

/// `VersionInfo` of docs/API.md.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct VersionInfo {
    /// The version number.
    pub version: i64,
    /// Its fingerprint.
    #[serde(default)]
    pub fingerprint: String,
    /// Who published it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// RFC 3339 publish time.
    #[serde(default)]
    pub created_at: String,
    /// Free-form metadata.
    #[serde(default)]
    pub metadata: Value,
    /// Its files.
    #[serde(default)]
    pub files: Vec<String>,
    /// `current`, `staged` or `previous`.
    #[serde(default)]
    pub state: String,
}

/// What `POST …/check` answered.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Checked {
    /// Whether the sources would publish and promote.
    pub compatible: bool,
    /// Compatibility findings (`{rule, file, line, column, message}`).
    #[serde(default)]
    pub violations: Vec<Value>,
    /// Compile errors (`{file, line, column, message}`).
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// What `GET …/diff` answered.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Diff {
    /// Breaking changes.
    #[serde(default)]
    pub violations: Vec<Value>,
    /// Elements added (`{kind, name, file, line, ...}`).
    #[serde(default)]
    pub added: Vec<Value>,
    /// Elements removed.
    #[serde(default)]
    pub removed: Vec<Value>,
    /// Elements changed.
    #[serde(default)]
    pub changed: Vec<Value>,
}

/// An event of the outbox (`{id, kind, namespace, created_at, payload}`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Event {
    /// Grows with every event.
    pub id: i64,
    /// `namespace.promoted`, `schema.published`, ... (docs/API.md).
    pub kind: String,
    /// The namespace, when the event has one.
    #[serde(default)]
    pub namespace: Option<String>,
    /// RFC 3339 commit time.
    #[serde(default)]
    pub created_at: String,
    /// The kind's payload.
    #[serde(default)]
    pub payload: Value,
}

/// One answer of the long poll [`Client::events`].
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventPage {
    /// The events, oldest first.
    #[serde(default)]
    pub events: Vec<Event>,
    /// Pass as the next `after`.
    pub last_id: i64,
    /// Events after `after` were pruned: some may be missed.
    #[serde(default)]
    pub truncated: bool,
}

/// Which events to read: [`Client::events`], [`Client::event_stream`].
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events with a larger id.
    pub after: Option<i64>,
    /// Only this namespace's events.
    pub namespace: Option<String>,
    /// Only these kinds.
    pub kinds: Vec<String>,
}

impl EventQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        if let Some(after) = self.after {
            query.push(("after", after.to_string()));
        }
        if let Some(namespace) = &self.namespace {
            query.push(("namespace", namespace.clone()));
        }
        if !self.kinds.is_empty() {
            query.push(("kind", self.kinds.join(",")));
        }
        query
    }
}

/// The sources of a publish or a check: `path → text`.
pub type Sources = BTreeMap<String, String>;

impl Client {
    /// A builder for the registry at `base` (`http://HOST:PORT` or
    /// `https://…`, optionally with a path prefix). Add
    /// [`grpc`](ClientBuilder::grpc) to send what gRPC has over gRPC.
    pub fn builder(base: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: Some(base.into()),
            grpc: None,
            token: None,
            ca_pem: Vec::new(),
            identity_pem: None,
            identity_parts: None,
            timeout: DEFAULT_TIMEOUT,
            user_agent: None,
        }
    }

    /// A builder for a client that speaks gRPC alone, to `endpoint`
    /// (`http://HOST:PORT`, or `https://HOST:PORT` for TLS; the server's
    /// `grpc.listen`). Calls the gRPC API lacks (`namespace`,
    /// `put_namespace`, `delete_namespace`, `versions`, `events`, `call`,
    /// `get_all`) fail with [`Error::Unsupported`]; see [`Client`] for the
    /// calls whose gRPC answer is partial.
    pub fn builder_grpc(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: None,
            grpc: Some(endpoint.into()),
            ..Self::builder("")
        }
    }

    /// A client of `base` without a token or extra roots.
    pub fn new(base: impl Into<String>) -> Result<Self> {
        Self::builder(base).build()
    }

    /// The HTTP base URL (`None` for a client of [`Client::builder_grpc`]).
    pub fn base(&self) -> Option<&Url> {
        self.base.as_ref()
    }

    /// Whether the client has a gRPC endpoint ([`ClientBuilder::grpc`],
    /// [`Client::builder_grpc`]).
    pub fn speaks_grpc(&self) -> bool {
        self.grpc.is_some()
    }

    /// The gRPC transport for a call: one gRPC answers in full (`full`)
    /// whenever there is an endpoint; one it answers in part only when
    /// there is no HTTP base to ask instead.
    fn grpc_for(&self, full: bool) -> Option<&Grpc> {
        self.grpc.as_ref().filter(|_| full || self.base.is_none())
    }

    /// Whether the resolver can read event ids and revisions over HTTP.
    pub(crate) fn has_http(&self) -> bool {
        self.base.is_some()
    }

    /// `base` + the segments, each percent-encoded, + the query.
    fn url(&self, base: &Url, segments: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    /// An HTTP request; [`Error::Unsupported`] without an HTTP base.
    fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<reqwest::RequestBuilder> {
        let Some(base) = &self.base else {
            return Err(Error::Unsupported {
                call: format!("{method} /{}", segments.join("/")),
            });
        };
        let builder = self.http.request(method, self.url(base, segments, query));
        Ok(match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        })
    }

    async fn send(&self, builder: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let response = builder.send().await?;
        if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
            Ok(response)
        } else {
            Err(problem(response).await)
        }
    }

    async fn json<T: DeserializeOwned>(&self, builder: reqwest::RequestBuilder) -> Result<T> {
        let response = self.send(builder.timeout(self.timeout)).await?;
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Unexpected(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        self.json(self.request(Method::GET, segments, &[])?).await
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &Value,
    ) -> Result<T> {
        self.json(self.request(method, segments, &[])?.json(body))
            .await
    }

    /// Every page of a list (`?page_token=`, `next_page_token`), the items
    /// of its `field` (e.g. `namespaces`) from each page.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        field: &str,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let query: Vec<(&str, String)> =
                token.iter().map(|t| ("page_token", t.clone())).collect();
            let page: Value = self
                .json(self.request(Method::GET, segments, &query)?)
                .await?;
            if let Some(list) = page.get(field) {
                let list: Vec<T> = serde_json::from_value(list.clone())
                    .map_err(|e| Error::Unexpected(format!("{field}: {e}")))?;
                items.extend(list);
            }
            match page.get("next_page_token").and_then(Value::as_str) {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                    token = Some(next.to_owned());
                }
                _ => return Ok(items),
            }
        }
        Err(Error::Unexpected(format!(
            "{}: more than {MAX_PAGES} pages",
            segments.join("/")
        )))
    }

    /// Any call of the HTTP API, for what the typed calls do not cover:
    /// `segments` are percent-encoded one by one and joined to the base
    /// URL. A 2xx or 304 answer is returned as sent; any other status is
    /// [`Error::Api`].
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Body,
    ) -> Result<Answer> {
        let mut builder = self.request(method, segments, query)?.timeout(self.timeout);
        builder = match body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(&value),
            Body::Bytes {
                content_type,
                bytes,
            } => builder
                .header(header::CONTENT_TYPE, content_type)
                .body(bytes),
        };
        let response = self.send(builder).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// `GET /v1/namespaces`, every page. Over gRPC alone
    /// (`ListNamespaces`) only `id`, `created_at` and `metadata` (values as
    /// text) are filled in.
    pub async fn namespaces(&self) -> Result<Vec<Namespace>> {
        if let Some(grpc) = self.grpc_for(false) {
            return grpc.namespaces().await;
        }
        self.get_all(&["v1", "namespaces"], "namespaces").await
    }

    /// `GET /v1/namespaces/{ns}`.
    pub async fn namespace(&self, ns: &str) -> Result<Namespace> {
        self.get(&["v1", "namespaces", ns]).await
    }

    /// `PUT /v1/namespaces/{ns}`: creates it, or updates its metadata.
    pub async fn put_namespace(&self, ns: &str, metadata: Option<Value>) -> Result<Namespace> {
        let body = match metadata {
            Some(metadata) => json!({ "metadata": metadata }),
            None => json!({}),
        };
        self.send_json(Method::PUT, &["v1", "namespaces", ns], &body)
            .await
    }

    /// `DELETE /v1/namespaces/{ns}`.
    pub async fn delete_namespace(&self, ns: &str) -> Result<()> {
        let builder = self
            .request(Method::DELETE, &["v1", "namespaces", ns], &[])?
            .timeout(self.timeout);
        self.send(builder).await.map(drop)
    }

    /// Publishes `sources` as a new version of `ns/schema` (staged). Over
    /// gRPC alone (`Publish`) only `version`, `fingerprint` and `no_change`
    /// are filled in.
    pub async fn publish(
        &self,
        ns: &str,
        schema: &str,
        sources: &Sources,
        force: bool,
    ) -> Result<Published> {
        if let Some(grpc) = self.grpc_for(false) {
            return grpc.publish(ns, schema, sources, force).await;
        }
        let mut body = json!({ "sources": sources });
        if force {
            body["force"] = Value::Bool(true);
        }
        self.send_json(
            Method::POST,
            &["v1", "namespaces", ns, "schemas", schema, "versions"],
            &body,
        )
        .await
    }

    /// Promotes every staged version of `ns` at once (`dry_run`: only check).
    pub async fn promote(&self, ns: &str, dry_run: bool) -> Result<Promoted> {
        if let Some(grpc) = self.grpc_for(true) {
            return grpc.promote(ns, dry_run).await;
        }
        self.send_json(
            Method::POST,
            &["v1", "namespaces", ns, "promote"],
            &json!({ "dry_run": dry_run }),
        )
        .await
    }

    /// `GET …/staging`, every page.
    pub async fn staging(&self, ns: &str) -> Result<Vec<Staged>> {
        if let Some(grpc) = self.grpc_for(true) {
            return grpc.staging(ns).await;
        }
        self.get_all(&["v1", "namespaces", ns, "staging"], "staged")
            .await
    }

    /// Discards every staged version of `ns`; the schemas discarded (over
    /// gRPC alone, `DiscardStaging`, whose answer has no list: empty).
    pub async fn discard_staging(&self, ns: &str) -> Result<Vec<String>> {
        if let Some(grpc) = self.grpc_for(false) {
            grpc.discard_staging(ns).await?;
            return Ok(Vec::new());
        }
        #[derive(Deserialize)]
        struct Discarded {
            discarded: Vec<String>,
        }
        let builder = self.request(Method::DELETE, &["v1", "namespaces", ns, "staging"], &[])?;
        let answer: Discarded = self.json(builder).await?;
        Ok(answer.discarded)
    }

    /// Stages an earlier `version` of `ns/schema` (checked for
    /// compatibility unless `force`). Over gRPC alone (`Rollback`, whose
    /// answer is empty) the answer is `{version, staged: true}` without
    /// `revision`.
    pub async fn rollback(
        &self,
        ns: &str,
        schema: &str,
        version: i64,
        force: bool,
    ) -> Result<Value> {
        if let Some(grpc) = self.grpc_for(false) {
            grpc.rollback(ns, schema, version, force).await?;
            return Ok(json!({ "version": version, "staged": true }));
        }
        self.send_json(
            Method::POST,
            &["v1", "namespaces", ns, "schemas", schema, "rollback"],
            &json!({ "version": version, "force": force }),
        )
        .await
    }

    /// Every version of `ns/schema`, every page.
    pub async fn versions(&self, ns: &str, schema: &str) -> Result<Vec<VersionInfo>> {
        self.get_all(
            &["v1", "namespaces", ns, "schemas", schema, "versions"],
            "versions",
        )
        .await
    }

    /// The sources (`path → text`) of a version: a number, `current` or
    /// `staged`.
    pub async fn sources(&self, ns: &str, schema: &str, version: &str) -> Result<Sources> {
        if let Some(grpc) = self.grpc_for(true) {
            return grpc.sources(ns, schema, version).await;
        }
        #[derive(Deserialize)]
        struct Answer {
            sources: Sources,
        }
        let answer: Answer = self
            .get(&[
                "v1",
                "namespaces",
                ns,
                "schemas",
                schema,
                "versions",
                version,
                "sources",
            ])
            .await?;
        Ok(answer.sources)
    }

    /// Would these sources publish, and would promoting them be compatible?
    /// Changes nothing.
    pub async fn check(
        &self,
        ns: &str,
        schema: &str,
        sources: &Sources,
        force: bool,
    ) -> Result<Checked> {
        if let Some(grpc) = self.grpc_for(true) {
            return grpc.check(ns, schema, sources, force).await;
        }
        self.send_json(
            Method::POST,
            &["v1", "namespaces", ns, "schemas", schema, "check"],
            &json!({ "sources": sources, "force": force }),
        )
        .await
    }

    /// The differences between two versions of `ns/schema` (numbers,
    /// `current` or `staged`; the server's defaults when `None`).
    pub async fn diff(
        &self,
        ns: &str,
        schema: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Diff> {
        if let Some(grpc) = self.grpc_for(true) {
            return grpc.diff(ns, schema, from, to).await;
        }
        let mut query = Vec::new();
        if let Some(from) = from {
            query.push(("from", from.to_owned()));
        }
        if let Some(to) = to {
            query.push(("to", to.to_owned()));
        }
        let builder = self.request(
            Method::GET,
            &["v1", "namespaces", ns, "schemas", schema, "diff"],
            &query,
        )?;
        self.json(builder).await
    }

    /// The namespace's linked current `FileDescriptorSet`; with
    /// `if_none_match` (an ETag from before) [`Descriptor::NotModified`]
    /// when it did not change. Over gRPC `GetNamespaceDescriptor`, with
    /// the same ETags (an ETag of either transport works with the other).
    pub async fn descriptor(&self, ns: &str, if_none_match: Option<&str>) -> Result<Descriptor> {
        Ok(self.descriptor_and_revision(ns, if_none_match).await?.0)
    }

    /// [`descriptor`](Self::descriptor) and, over gRPC, the namespace's
    /// revision the answer is of.
    pub(crate) async fn descriptor_and_revision(
        &self,
        ns: &str,
        if_none_match: Option<&str>,
    ) -> Result<(Descriptor, Option<i64>)> {
        if let Some(grpc) = self.grpc_for(true) {
            let (descriptor, revision) = grpc.descriptor(ns, if_none_match).await?;
            return Ok((descriptor, Some(revision)));
        }
        let descriptor = self
            .fetch_descriptor(&["v1", "namespaces", ns, "descriptor"], if_none_match)
            .await?;
        Ok((descriptor, None))
    }

    /// The namespace's revision as the server serves it: over HTTP its
    /// `revision`; over gRPC alone the `revision` of
    /// `GetNamespaceDescriptor`, conditional on `etag` (kept up to date
    /// here), so an unchanged namespace costs no download.
    pub(crate) async fn served_revision(&self, ns: &str, etag: &mut Option<String>) -> Result<i64> {
        if self.has_http() {
            return Ok(self.namespace(ns).await?.revision);
        }
        let (descriptor, revision) = self.descriptor_and_revision(ns, etag.as_deref()).await?;
        if let Descriptor::Modified { etag: new, .. } = descriptor {
            *etag = new;
        }
        Ok(revision.unwrap_or_default())
    }

    /// A version's `FileDescriptorSet` (its files and their imports);
    /// `version` is a number, `current` or `staged`. Over gRPC alone
    /// (`GetDescriptor`, which has no ETag) the ETag is the client's own
    /// (the set's SHA-256): the set is downloaded every time, and
    /// [`Descriptor::NotModified`] answered when it matches.
    pub async fn schema_descriptor(
        &self,
        ns: &str,
        schema: &str,
        version: &str,
        if_none_match: Option<&str>,
    ) -> Result<Descriptor> {
        if let Some(grpc) = self.grpc_for(false) {
            return grpc
                .schema_descriptor(ns, schema, version, if_none_match)
                .await;
        }
        self.fetch_descriptor(
            &[
                "v1",
                "namespaces",
                ns,
                "schemas",
                schema,
                "versions",
                version,
                "descriptor",
            ],
            if_none_match,
        )
        .await
    }

    async fn fetch_descriptor(
        &self,
        segments: &[&str],
        if_none_match: Option<&str>,
    ) -> Result<Descriptor> {
        let mut builder = self
            .request(Method::GET, segments, &[])?
            .timeout(self.timeout);
        if let Some(etag) = if_none_match {
            builder = builder.header(header::IF_NONE_MATCH, etag);
        }
        let response = self.send(builder).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Descriptor::NotModified);
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = response.bytes().await?;
        Ok(Descriptor::Modified { bytes, etag })
    }

    /// `GET /v1/events`: the events after `query.after`; with `wait` > 0
    /// (at most 60 s) held until one arrives.
    pub async fn events(
        &self,
        query: &EventQuery,
        wait: Duration,
        limit: usize,
    ) -> Result<EventPage> {
        let mut pairs = query.pairs();
        pairs.push(("wait", wait.as_secs().to_string()));
        pairs.push(("limit", limit.to_string()));
        let builder = self
            .request(Method::GET, &["v1", "events"], &pairs)?
            .timeout(self.timeout + wait);
        let response = self.send(builder).await?;
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Unexpected(e.to_string()))
    }

    /// `GET /v1/events/stream` (server-sent events), resuming after
    /// `last_event_id` when given (it wins over `query.after`).
    ///
    /// Over gRPC `WatchEvents`, with the same items; without `after` or
    /// `last_event_id` it starts after 0, i.e. with every event still
    /// kept. The gRPC stream sends nothing while nothing happens (HTTP/2
    /// pings keep watch on the connection instead of keep-alive comments).
    pub async fn event_stream(
        &self,
        query: &EventQuery,
        last_event_id: Option<i64>,
    ) -> Result<EventStream> {
        if let Some(grpc) = self.grpc_for(true) {
            let after = last_event_id.or(query.after).unwrap_or(0);
            return Ok(EventStream::grpc(grpc.watch(query, after).await?));
        }
        let mut builder = self
            .request(Method::GET, &["v1", "events", "stream"], &query.pairs())?
            .header(header::ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            builder = builder.header("last-event-id", id.to_string());
        }
        let response = self.send(builder).await?;
        Ok(EventStream::new(response))
    }
}

/// An error answer as [`Error::Api`]: the problem document's `code` and
/// `detail`, or the status when the body is not one.
async fn problem(response: reqwest::Response) -> Error {
    let status = response.status();
    let body: Value = match response.bytes().await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
        Err(_) => Value::Null,
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    Error::Api {
        status: status.as_u16(),
        code: field("code").unwrap_or_else(|| format!("http_{}", status.as_u16())),
        detail: field("detail")
            .filter(|d| !d.is_empty())
            .or_else(|| field("title"))
            .or_else(|| body.as_str().map(str::to_owned))
            .unwrap_or_else(|| status.to_string()),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_segments_are_encoded_and_joined_to_the_base_path() {
        let client = Client::new("http://127.0.0.1:9/prefix/").unwrap();
        let url = client.url(
            client.base().unwrap(),
            &["v1", "namespaces", "a b", "types", "pkg.Msg"],
            &[("to", "json".to_owned())],
        );
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/v1/namespaces/a%20b/types/pkg.Msg?to=json"
        );
    }

    #[test]
    fn a_non_problem_error_page_keeps_its_status_and_text() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let response = http::Response::builder()
            .status(502)
            .body("bad gateway from the proxy")
            .unwrap();
        let err = runtime.block_on(problem(reqwest::Response::from(response)));
        assert_eq!(err.status(), Some(502));
        assert_eq!(err.code(), Some("http_502"));
        assert!(
            err.to_string().contains("bad gateway from the proxy"),
            "{err}"
        );
        let response = http::Response::builder()
            .status(409)
            .body(r#"{"code":"conflict","title":"Conflict","detail":""}"#)
            .unwrap();
        let err = runtime.block_on(problem(reqwest::Response::from(response)));
        assert_eq!(err.code(), Some("conflict"));
        assert!(err.to_string().ends_with("Conflict"), "{err}");
    }
}
