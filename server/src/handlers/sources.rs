//! Repository sources (`/v1/sources`), sync jobs on demand
//! (`POST /v1/sources/{id}/sync`), the inbound push webhook
//! (`POST /v1/hooks/git`) and registered services (`GET /v1/services`).
//!
//! A source is managed by an admin of its namespace; it is read by whoever
//! may read that namespace. Its secret (the push webhook's HMAC key) is
//! stored to verify signatures and never returned: answers carry only
//! `has_secret`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use protoreg_core::auth::Role;
use protoreg_core::git::{self as gitcmd};
use protoreg_core::store::{JobRow, SourceFields, SourceRow, SyncRequest};
use protoreg_core::sync::{LAYOUT_FOLDERS, LAYOUT_MAPPING, SyncWorker};
use protoreg_core::{NamespaceId, RegistryError, SchemaId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use utoipa::ToSchema;

use super::Reg;
use crate::auth::require_namespace_role;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, MaybeJson, RawJson};

/// What the source handlers share: the sync worker to wake, and the push
/// webhook's rate limit per source (`git.hook_rate_per_minute`; 0: none),
/// which the store counts over every replica's jobs.
#[derive(Debug)]
pub struct GitSync {
    pub worker: SyncWorker,
    per_minute: Option<u32>,
}

impl GitSync {
    pub fn new(worker: SyncWorker, per_minute: u32) -> Self {
        Self {
            worker,
            per_minute: (per_minute > 0).then_some(per_minute),
        }
    }
}

type Sync = web::Data<GitSync>;

/// One folder of an explicit mapping (core `sync::SchemaMapping`, the same
/// JSON).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaMapping {
    schema: String,
    /// A folder under the source's `root`.
    root: String,
}

/// A registered service (protomanager's registration).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    name: String,
    domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSource {
    namespace: String,
    /// `https://`, `ssh://`, `file://` or `user@host:path`.
    url: String,
    /// Default `main`.
    #[serde(default)]
    branch: Option<String>,
    /// Folder of the repository the schemas are under; default `.`.
    #[serde(default)]
    root: Option<String>,
    /// `folders` (default: each folder directly under `root` is a schema
    /// named after it); `schemas` maps folders explicitly instead.
    #[serde(default)]
    layout: Option<String>,
    #[serde(default)]
    schemas: Option<Vec<SchemaMapping>>,
    #[serde(default)]
    auto_promote: Option<bool>,
    /// The push webhook's HMAC-SHA256 key; never returned.
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    service: Option<Service>,
}

/// `PATCH /v1/sources/{id}`: the fields to change (`secret: null` and
/// `service: null` remove them).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchSource {
    url: Option<String>,
    branch: Option<String>,
    root: Option<String>,
    layout: Option<String>,
    schemas: Option<Vec<SchemaMapping>>,
    auto_promote: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    secret: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Service>)]
    service: Option<Option<Service>>,
}

/// A field that is present (`Some(None)` for `null`) or absent (`None`).
fn present<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The last finished sync of a source.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastSync {
    job: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    /// `succeeded` or `failed`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<DateTime<Utc>>,
}

/// A source, never with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceInfo {
    id: i64,
    namespace: String,
    url: String,
    branch: String,
    root: String,
    layout: String,
    schemas: Vec<SchemaMapping>,
    auto_promote: bool,
    /// Whether push webhooks can be verified (a secret is set).
    has_secret: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<Service>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_sync: Option<LastSync>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceList {
    sources: Vec<SourceInfo>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    /// The commit to sync; default: the branch's head when the job runs.
    #[serde(default)]
    commit: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queued {
    job: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedJobs {
    jobs: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceSchema {
    schema: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceInfo {
    name: String,
    domain: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<Map<String, Value>>,
    namespace: String,
    /// The source's id.
    source: i64,
    url: String,
    schemas: Vec<ServiceSchema>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_sync: Option<LastSync>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    services: Vec<ServiceInfo>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ServicesQuery {
    /// Only services of this domain.
    domain: Option<String>,
    /// Only services whose source publishes into this namespace.
    namespace: Option<String>,
}

fn last_sync(job: Option<&JobRow>) -> Option<LastSync> {
    job.map(|job| LastSync {
        job: job.id,
        commit: job.git_info().commit,
        status: job.status.clone(),
        finished_at: job.finished_at.map(|t| t.and_utc()),
    })
}

fn info(row: SourceRow, last: Option<&JobRow>) -> SourceInfo {
    SourceInfo {
        id: row.id,
        namespace: row.namespace,
        url: row.url,
        branch: row.branch,
        root: row.root,
        layout: row.layout,
        schemas: serde_json::from_str(&row.schemas).unwrap_or_default(),
        auto_promote: row.auto_promote,
        has_secret: row.secret.is_some(),
        service: row
            .service
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        last_sync: last_sync(last),
    }
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid(format!("invalid source id {raw:?}")))
}

fn check_service(service: &Service) -> ApiResult<()> {
    let text = |what: &str, value: &str, max: usize, required: bool| {
        if (required && value.trim().is_empty())
            || value.len() > max
            || value.chars().any(char::is_control)
        {
            Err(ApiError::invalid(format!(
                "service.{what} must be {}at most {max} bytes without control characters",
                if required { "1 to " } else { "" }
            )))
        } else {
            Ok(())
        }
    };
    text("name", &service.name, 128, true)?;
    text("domain", &service.domain, 128, true)?;
    if let Some(owner) = &service.owner {
        text("owner", owner, 256, false)?;
    }
    if let Some(metadata) = &service.metadata
        && Value::Object(metadata.clone()).to_string().len() > 16 * 1024
    {
        return Err(ApiError::invalid("service.metadata is over 16 KiB"));
    }
    Ok(())
}

/// Checks every field and builds the stored columns.
#[allow(clippy::too_many_arguments)]
fn fields(
    namespace: &str,
    url: String,
    branch: String,
    root: String,
    layout: String,
    schemas: Vec<SchemaMapping>,
    auto_promote: bool,
    secret: Option<String>,
    service: Option<Service>,
) -> ApiResult<SourceFields> {
    NamespaceId::parse(namespace)?;
    if namespace == protoreg_core::BUILTINS {
        return Err(ApiError::invalid("__builtins__ cannot have a source"));
    }
    gitcmd::validate_url(&url).map_err(ApiError::invalid)?;
    gitcmd::validate_branch(&branch).map_err(ApiError::invalid)?;
    gitcmd::normalize_root(&root).map_err(ApiError::invalid)?;
    match layout.as_str() {
        LAYOUT_FOLDERS if schemas.is_empty() => {}
        LAYOUT_FOLDERS => {
            return Err(ApiError::invalid(
                "schemas maps folders explicitly: use layout \"mapping\" (or leave layout out)",
            ));
        }
        LAYOUT_MAPPING if schemas.is_empty() => {
            return Err(ApiError::invalid("layout \"mapping\" needs schemas"));
        }
        LAYOUT_MAPPING => {}
        other => {
            return Err(ApiError::invalid(format!(
                "unknown layout {other:?}: use \"folders\" or \"mapping\""
            )));
        }
    }
    if schemas.len() > 1000 {
        return Err(ApiError::invalid("at most 1000 schemas"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for entry in &schemas {
        SchemaId::parse(&entry.schema)?;
        gitcmd::normalize_root(&entry.root).map_err(ApiError::invalid)?;
        if !seen.insert(entry.schema.as_str()) {
            return Err(ApiError::invalid(format!(
                "schema {:?} is mapped twice",
                entry.schema
            )));
        }
    }
    if let Some(secret) = &secret
        && (secret.is_empty() || secret.len() > 256)
    {
        return Err(ApiError::invalid("secret must be 1 to 256 bytes"));
    }
    if let Some(service) = &service {
        check_service(service)?;
    }
    Ok(SourceFields {
        namespace: namespace.to_owned(),
        url_key: gitcmd::url_key(&url),
        url,
        branch,
        root,
        layout,
        schemas: serde_json::to_string(&schemas).unwrap_or_else(|_| "[]".into()),
        auto_promote,
        secret,
        service_domain: service.as_ref().map(|s| s.domain.clone()),
        service: service.map(|s| serde_json::to_string(&s).unwrap_or_default()),
    })
}

/// The source `raw` names when the caller has `role` in its namespace; a
/// caller who may not read it gets 404 (ids do not leak).
async fn source_for(
    registry: &Reg,
    req: &HttpRequest,
    raw: &str,
    role: Role,
) -> ApiResult<SourceRow> {
    let id = parse_id(raw)?;
    let row = registry
        .store()
        .source(id)
        .await
        .map_err(RegistryError::from)?
        .filter(|row| require_namespace_role(req, &row.namespace, Role::Read).is_ok())
        .ok_or_else(|| ApiError::not_found(format!("source {id} not found")))?;
    require_namespace_role(req, &row.namespace, role)?;
    Ok(row)
}

async fn with_last_sync(registry: &Reg, rows: Vec<SourceRow>) -> ApiResult<Vec<SourceInfo>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let last = registry
        .store()
        .last_syncs(&ids)
        .await
        .map_err(RegistryError::from)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let job = last.get(&row.id);
            info(row, job)
        })
        .collect())
}

#[utoipa::path(
    post,
    path = "/v1/sources",
    tag = "sources",
    request_body = CreateSource,
    responses(
        (status = 201, description = "The source (never its secret)", body = SourceInfo),
        (status = 400, description = "Invalid argument: a malformed body, a URL of another transport or with a password, a bad branch, root, layout or mapping"),
        (status = 403, description = "Not admin of the namespace"),
    )
)]
pub async fn create(
    registry: Reg,
    req: HttpRequest,
    JsonBody(body): JsonBody<CreateSource>,
) -> ApiResult<HttpResponse> {
    NamespaceId::parse(&body.namespace)?;
    require_namespace_role(&req, &body.namespace, Role::Admin)?;
    let schemas = body.schemas.unwrap_or_default();
    let layout = body.layout.unwrap_or_else(|| {
        if schemas.is_empty() {
            LAYOUT_FOLDERS.to_owned()
        } else {
            LAYOUT_MAPPING.to_owned()
        }
    });
    let fields = fields(
        &body.namespace,
        body.url,
        body.branch.unwrap_or_else(|| "main".into()),
        body.root.unwrap_or_else(|| ".".into()),
        layout,
        schemas,
        body.auto_promote.unwrap_or(false),
        body.secret,
        body.service,
    )?;
    let row = registry
        .store()
        .create_source(fields)
        .await
        .map_err(RegistryError::from)?;
    tracing::info!(source = row.id, namespace = %row.namespace, url = %row.url, "source created");
    Ok(HttpResponse::Created().json(info(row, None)))
}

#[utoipa::path(
    get,
    path = "/v1/sources",
    tag = "sources",
    responses(
        (status = 200, description = "The sources of the namespaces the caller may read, with their last sync", body = SourceList),
    )
)]
pub async fn list(registry: Reg, req: HttpRequest) -> ApiResult<HttpResponse> {
    let rows: Vec<SourceRow> = registry
        .store()
        .sources()
        .await
        .map_err(RegistryError::from)?
        .into_iter()
        .filter(|row| require_namespace_role(&req, &row.namespace, Role::Read).is_ok())
        .collect();
    let sources = with_last_sync(&registry, rows).await?;
    Ok(HttpResponse::Ok().json(SourceList { sources }))
}

#[utoipa::path(
    get,
    path = "/v1/sources/{id}",
    tag = "sources",
    params(super::params::SourceId),
    responses(
        (status = 200, description = "The source with its last sync", body = SourceInfo),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn get(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = source_for(&registry, &req, &path, Role::Read).await?;
    let mut infos = with_last_sync(&registry, vec![row]).await?;
    Ok(HttpResponse::Ok().json(infos.remove(0)))
}

#[utoipa::path(
    patch,
    path = "/v1/sources/{id}",
    tag = "sources",
    params(super::params::SourceId),
    request_body = PatchSource,
    responses(
        (status = 200, description = "The changed source", body = SourceInfo),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 403, description = "Not admin of the source's namespace"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn update(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<String>,
    JsonBody(body): JsonBody<PatchSource>,
) -> ApiResult<HttpResponse> {
    let row = source_for(&registry, &req, &path, Role::Admin).await?;
    let current = info(row.clone(), None);
    let schemas = body.schemas.unwrap_or(current.schemas);
    let layout = match (body.layout, schemas.is_empty()) {
        (Some(layout), _) => layout,
        (None, false) => LAYOUT_MAPPING.to_owned(),
        (None, true) => LAYOUT_FOLDERS.to_owned(),
    };
    let fields = fields(
        &row.namespace,
        body.url.unwrap_or(row.url),
        body.branch.unwrap_or(row.branch),
        body.root.unwrap_or(row.root),
        layout,
        schemas,
        body.auto_promote.unwrap_or(row.auto_promote),
        body.secret.unwrap_or(row.secret),
        body.service.unwrap_or(current.service),
    )?;
    let row = registry
        .store()
        .update_source(row.id, fields)
        .await
        .map_err(RegistryError::from)?
        .ok_or_else(|| ApiError::not_found("source not found"))?;
    let mut infos = with_last_sync(&registry, vec![row]).await?;
    Ok(HttpResponse::Ok().json(infos.remove(0)))
}

#[utoipa::path(
    delete,
    path = "/v1/sources/{id}",
    tag = "sources",
    params(super::params::SourceId),
    responses(
        (status = 204, description = "Removed; published versions stay, queued sync jobs fail"),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 403, description = "Not admin of the source's namespace"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn delete(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = source_for(&registry, &req, &path, Role::Admin).await?;
    registry
        .store()
        .delete_source(row.id)
        .await
        .map_err(RegistryError::from)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/v1/sources/{id}/sync",
    tag = "sources",
    params(super::params::SourceId),
    request_body(content = SyncBody, description = "Optional: `{commit}`"),
    responses(
        (status = 202, description = "The sync job, queued (`GET /v1/jobs/{id}`)", body = Queued),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 403, description = "No write role in the source's namespace"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn sync(
    registry: Reg,
    git: Sync,
    req: HttpRequest,
    path: web::Path<String>,
    MaybeJson(body): MaybeJson<SyncBody>,
) -> ApiResult<HttpResponse> {
    let row = source_for(&registry, &req, &path, Role::Write).await?;
    if let Some(commit) = &body.commit {
        gitcmd::validate_commit(commit).map_err(ApiError::invalid)?;
    }
    let request = SyncRequest {
        commit: body.commit,
        git_ref: None,
        requested_by: "sync".into(),
        per_minute: None,
    };
    let job = registry
        .store()
        .enqueue_sync(&row, &request)
        .await
        .map_err(RegistryError::from)?
        .ok_or_else(|| ApiError::TooManyRequests("the sync was not queued".into()))?;
    git.worker.wake();
    Ok(HttpResponse::Accepted().json(Queued { job: job.id }))
}

#[utoipa::path(
    get,
    path = "/v1/services",
    tag = "sources",
    params(ServicesQuery),
    responses(
        (status = 200, description = "Registered services (sources with a `service`) of namespaces the caller may read: their schemas with current versions, and the last sync", body = ServiceList),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
    )
)]
pub async fn services(
    registry: Reg,
    req: HttpRequest,
    query: web::Query<ServicesQuery>,
) -> ApiResult<HttpResponse> {
    let rows: Vec<SourceRow> = registry
        .store()
        .sources()
        .await
        .map_err(RegistryError::from)?
        .into_iter()
        .filter(|row| row.service.is_some())
        .filter(|row| {
            query
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == row.namespace)
        })
        .filter(|row| {
            query
                .domain
                .as_ref()
                .is_none_or(|d| row.service_domain.as_deref() == Some(d.as_str()))
        })
        .filter(|row| require_namespace_role(&req, &row.namespace, Role::Read).is_ok())
        .collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let last = registry
        .store()
        .last_syncs(&ids)
        .await
        .map_err(RegistryError::from)?;
    let mut services = Vec::new();
    for row in rows {
        let Some(service) = row
            .service
            .as_deref()
            .and_then(|s| serde_json::from_str::<Service>(s).ok())
        else {
            continue;
        };
        let mut names: Vec<String> = serde_json::from_str(&row.synced_schemas).unwrap_or_default();
        if names.is_empty() {
            let mapping: Vec<SchemaMapping> =
                serde_json::from_str(&row.schemas).unwrap_or_default();
            names = mapping.into_iter().map(|m| m.schema).collect();
        }
        let view = registry.view(&row.namespace).ok();
        let schemas = names
            .into_iter()
            .map(|schema| ServiceSchema {
                current_version: view.as_ref().and_then(|v| {
                    v.schemas
                        .get(schema.as_str())
                        .and_then(|e| e.current.as_ref())
                        .map(|c| c.version)
                }),
                schema,
            })
            .collect();
        services.push(ServiceInfo {
            name: service.name,
            domain: service.domain,
            owner: service.owner,
            metadata: service.metadata,
            namespace: row.namespace,
            source: row.id,
            url: row.url,
            schemas,
            last_sync: last_sync(last.get(&row.id)),
        });
    }
    Ok(HttpResponse::Ok().json(ServiceList { services }))
}

/// The parts of a GitHub (Gitea, Forgejo) push payload a sync needs.
#[derive(Debug, Default, Deserialize)]
struct PushPayload {
    #[serde(default, rename = "ref")]
    git_ref: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    repository: Option<PushRepository>,
    #[serde(default)]
    pusher: Option<Named>,
    #[serde(default)]
    sender: Option<Named>,
}

#[derive(Debug, Default, Deserialize)]
struct PushRepository {
    #[serde(default)]
    clone_url: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    ssh_url: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Named {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    login: Option<String>,
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under
/// `secret`, compared in constant time.
pub fn signature_ok(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A pusher's name as recorded in `created_by` (`git:<name>`): printable,
/// at most 64 bytes.
fn pusher_name(payload: &PushPayload) -> String {
    let name = [&payload.pusher, &payload.sender]
        .into_iter()
        .flatten()
        .find_map(|n| n.name.clone().or_else(|| n.login.clone()))
        .unwrap_or_else(|| "push".into());
    let clean: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    if clean.trim().is_empty() {
        "push".into()
    } else {
        clean
    }
}

#[utoipa::path(
    post,
    path = "/v1/hooks/git",
    tag = "sources",
    request_body(content = Object, description = "GitHub's push (or ping) payload; Gitea and Forgejo send the same", content_type = "application/json"),
    params(
        ("X-GitHub-Event" = String, Header, description = "`push` or `ping` (also read from `X-Gitea-Event`, `X-Forgejo-Event`)"),
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=<hex HMAC-SHA256 of the body>` keyed by the source's secret"),
    ),
    responses(
        (status = 200, description = "`ping` answered", body = QueuedJobs),
        (status = 202, description = "Sync jobs queued for the sources whose repository URL and branch the push names and whose secret verifies the signature; `[]` when no source matches", body = QueuedJobs),
        (status = 400, description = "Invalid argument: no event header, or a body that is not JSON"),
        (status = 401, description = "Missing or bad signature for every matching source: nothing queued"),
        (status = 429, description = "Every matching source is over `git.hook_rate_per_minute`: nothing queued"),
    )
)]
pub async fn hook(
    registry: Reg,
    git: Sync,
    req: HttpRequest,
    RawJson(body): RawJson,
) -> ApiResult<HttpResponse> {
    let event = ["x-github-event", "x-gitea-event", "x-forgejo-event"]
        .iter()
        .find_map(|h| header(&req, h))
        .ok_or_else(|| ApiError::invalid("no X-GitHub-Event header"))?
        .to_owned();
    let signature = header(&req, "x-hub-signature-256");
    // The repository's URLs pick the candidate sources (whose secrets can
    // verify the signature); nothing else of the body is used before one
    // of them has.
    let payload: PushPayload = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("the payload is not a push event: {e}")))?;
    let mut keys: Vec<String> = payload
        .repository
        .iter()
        .flat_map(|r| [&r.clone_url, &r.html_url, &r.ssh_url, &r.url])
        .flatten()
        .map(|u| gitcmd::url_key(u))
        .collect();
    keys.sort();
    keys.dedup();
    let mut candidates: Vec<SourceRow> = Vec::new();
    for key in &keys {
        for row in registry
            .store()
            .sources_of_repository(key)
            .await
            .map_err(RegistryError::from)?
        {
            if !candidates.iter().any(|c| c.id == row.id) {
                candidates.push(row);
            }
        }
    }
    if candidates.is_empty() {
        let mut status = if event == "ping" {
            HttpResponse::Ok()
        } else {
            HttpResponse::Accepted()
        };
        return Ok(status.json(QueuedJobs { jobs: Vec::new() }));
    }
    let verified: Vec<SourceRow> = candidates
        .into_iter()
        .filter(|row| {
            row.secret
                .as_deref()
                .is_some_and(|secret| signature_ok(secret, &body, signature))
        })
        .collect();
    if verified.is_empty() {
        tracing::warn!(event = %event, "push webhook with a missing or bad signature refused");
        return Err(RegistryError::Unauthenticated(
            "missing or bad X-Hub-Signature-256 for this repository".into(),
        )
        .into());
    }
    if event == "ping" {
        return Ok(HttpResponse::Ok().json(QueuedJobs { jobs: Vec::new() }));
    }
    if event != "push" || payload.deleted {
        return Ok(HttpResponse::Accepted().json(QueuedJobs { jobs: Vec::new() }));
    }
    let git_ref = payload.git_ref.clone().unwrap_or_default();
    let commit = payload
        .after
        .clone()
        .filter(|c| gitcmd::validate_commit(c).is_ok() && c.chars().any(|ch| ch != '0'));
    let matching: Vec<SourceRow> = verified
        .into_iter()
        .filter(|row| git_ref == format!("refs/heads/{}", row.branch))
        .collect();
    let request = SyncRequest {
        commit,
        git_ref: Some(git_ref),
        requested_by: pusher_name(&payload),
        per_minute: git.per_minute,
    };
    let mut jobs = Vec::new();
    for row in &matching {
        match registry
            .store()
            .enqueue_sync(row, &request)
            .await
            .map_err(RegistryError::from)?
        {
            Some(job) => {
                tracing::info!(source = row.id, job = job.id, "push webhook queued a sync");
                jobs.push(job.id);
            }
            None => tracing::warn!(source = row.id, "push webhook over the rate limit"),
        }
    }
    if jobs.is_empty() && !matching.is_empty() {
        return Err(ApiError::TooManyRequests(
            "too many pushes for this source; try again in a minute".into(),
        ));
    }
    if !jobs.is_empty() {
        git.worker.wake();
    }
    Ok(HttpResponse::Accepted().json(QueuedJobs { jobs }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures_verify_only_with_the_secret_and_the_exact_body() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = sign("s3cret", body);
        assert!(signature_ok("s3cret", body, Some(&good)));
        assert!(!signature_ok("other", body, Some(&good)));
        assert!(!signature_ok("s3cret", b"{}", Some(&good)));
        assert!(!signature_ok("s3cret", body, None));
        assert!(!signature_ok("s3cret", body, Some("sha256=zz")));
        assert!(!signature_ok(
            "s3cret",
            body,
            Some(good.trim_start_matches("sha256="))
        ));
    }
}
