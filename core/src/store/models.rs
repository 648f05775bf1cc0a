//! Row types: `Foo` is a row as read, `NewFoo` a row to insert.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = namespaces)]
pub struct NamespaceRow {
    pub id: i64,
    pub name: String,
    pub metadata: String,
    pub settings: String,
    pub revision: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = namespaces)]
pub struct NewNamespace<'a> {
    pub name: &'a str,
    pub metadata: &'a str,
    pub settings: &'a str,
    pub revision: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = blobs)]
pub struct NewBlob<'a> {
    pub sha256: &'a str,
    pub size: i64,
    pub data: &'a [u8],
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = schemas)]
pub struct SchemaRow {
    pub id: i64,
    pub namespace_id: i64,
    pub name: String,
    pub current_version_id: Option<i64>,
    pub staged_version_id: Option<i64>,
    pub staged_forced: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = schemas)]
pub struct NewSchema<'a> {
    pub namespace_id: i64,
    pub name: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = schema_versions)]
pub struct VersionRow {
    pub id: i64,
    pub schema_id: i64,
    pub version: i32,
    pub fingerprint: String,
    pub descriptor_sha256: String,
    pub created_by: String,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub promoted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = schema_versions)]
pub struct NewVersion<'a> {
    pub schema_id: i64,
    pub version: i32,
    pub fingerprint: &'a str,
    pub descriptor_sha256: &'a str,
    pub created_by: &'a str,
    pub metadata: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema_version_files)]
pub struct VersionFileRow {
    pub version_id: i64,
    pub path: String,
    pub source_sha256: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = schema_version_deps)]
pub struct VersionDepRow {
    pub version_id: i64,
    pub file_path: String,
    pub import_path: String,
    pub dep_version_id: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub namespace_id: Option<i64>,
    pub namespace: String,
    pub kind: String,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent<'a> {
    pub namespace_id: Option<i64>,
    pub namespace: &'a str,
    pub kind: &'a str,
    pub payload: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub secret_sha256: String,
    pub roles: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tokens)]
pub struct NewToken<'a> {
    pub name: &'a str,
    pub secret_sha256: &'a str,
    pub roles: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: i64,
    pub kind: String,
    /// `None` for a sync job whose namespace did not exist when queued.
    pub namespace_id: Option<i64>,
    pub namespace: String,
    pub schema: String,
    /// The generated version of a codegen job; `None` for sync jobs.
    pub version_id: Option<i64>,
    pub plugin: String,
    pub parameter: String,
    pub status: String,
    pub log: String,
    pub artifact_sha256: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
    /// Sync jobs: the source, and as JSON ([`GitInfo`]) the commit
    /// (wanted, then synced), the ref and who pushed.
    pub source_id: Option<i64>,
    pub git: Option<String>,
    /// The replica running it (see `store::leases`), while it runs.
    pub lease_holder: Option<String>,
    pub lease_expires_at: Option<NaiveDateTime>,
    /// Codegen jobs of a target with `verify`: whether the toolchain
    /// checked the files (`false`: not checked, or checked and failed);
    /// `None` when no verification was asked.
    pub verified: Option<bool>,
}

/// The `jobs.git` column of a sync job.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GitInfo {
    /// The commit asked for (`None`: the branch's head when it runs); the
    /// commit read once the job ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
}

impl GitInfo {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

impl JobRow {
    /// The git details of a sync job (empty for other jobs).
    pub fn git_info(&self) -> GitInfo {
        self.git
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = jobs)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    pub namespace_id: i64,
    pub namespace: &'a str,
    pub schema: &'a str,
    pub version_id: i64,
    pub plugin: &'a str,
    pub parameter: &'a str,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = artifacts)]
pub struct ArtifactRow {
    pub version_id: i64,
    pub plugin: String,
    pub parameter: String,
    pub blob_sha256: String,
    pub created_at: NaiveDateTime,
}

/// A namespace's restore checkpoint, as read (see `core/src/checkpoint.rs`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = restore_checkpoints)]
pub struct CheckpointRow {
    pub namespace_id: i64,
    pub revision: i64,
    pub format: i32,
    pub data: Vec<u8>,
}

/// A webhook subscription. `secret` never leaves the server except in the
/// answer that created it and in the deliveries it signs.
#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: i64,
    pub url: String,
    /// JSON list of event kinds, or `["*"]`.
    pub events: String,
    /// JSON list of namespaces; empty: every namespace.
    pub namespaces: String,
    pub secret: String,
    pub description: String,
    pub active: bool,
    /// The subscription's cursor over the events outbox.
    pub last_event_id: i64,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for WebhookRow {
    // Without the secret: rows may end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("namespaces", &self.namespaces)
            .field("active", &self.active)
            .field("last_event_id", &self.last_event_id)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = webhooks)]
pub struct NewWebhook<'a> {
    pub url: &'a str,
    pub events: &'a str,
    pub namespaces: &'a str,
    pub secret: &'a str,
    pub description: &'a str,
    pub active: bool,
    pub last_event_id: i64,
    pub created_at: NaiveDateTime,
    pub created_by: &'a str,
    pub updated_at: NaiveDateTime,
}

/// A change to a subscription; `None` leaves a column as it is.
#[derive(Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub events: Option<String>,
    pub namespaces: Option<String>,
    pub secret: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    /// 0 for a ping.
    pub event_id: i64,
    pub kind: String,
    pub namespace: String,
    pub payload: String,
    pub event_created_at: NaiveDateTime,
    pub status: String,
    pub attempts: i32,
    pub response_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct NewDelivery<'a> {
    pub webhook_id: i64,
    pub event_id: i64,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub payload: &'a str,
    pub event_created_at: NaiveDateTime,
    pub status: &'a str,
    pub attempts: i32,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// The outcome of one attempt, written to its delivery row.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = webhook_deliveries, treat_none_as_null = true)]
pub struct DeliveryAttempt {
    pub status: String,
    pub attempts: i32,
    pub response_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
}

/// A repository source (`/v1/sources`). `secret` is the push webhook's HMAC
/// key: never returned by the API or logged (`Debug` leaves it out).
#[derive(Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sources)]
pub struct SourceRow {
    pub id: i64,
    pub namespace: String,
    pub url: String,
    pub url_key: String,
    pub branch: String,
    pub root: String,
    pub layout: String,
    /// JSON `[{schema, root}]`.
    pub schemas: String,
    pub auto_promote: bool,
    pub secret: Option<String>,
    /// JSON `{name, domain, owner, metadata}` or `None`.
    pub service: Option<String>,
    pub service_domain: Option<String>,
    /// JSON `[schema]`.
    pub synced_schemas: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for SourceRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceRow")
            .field("id", &self.id)
            .field("namespace", &self.namespace)
            .field("url", &self.url)
            .field("branch", &self.branch)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// The columns a source is created with and replaced by (PATCH merges into
/// the stored row, then writes them all).
#[derive(Clone, Insertable, AsChangeset)]
#[diesel(table_name = sources, treat_none_as_null = true)]
pub struct SourceFields {
    pub namespace: String,
    pub url: String,
    pub url_key: String,
    pub branch: String,
    pub root: String,
    pub layout: String,
    pub schemas: String,
    pub auto_promote: bool,
    pub secret: Option<String>,
    pub service: Option<String>,
    pub service_domain: Option<String>,
}

impl std::fmt::Debug for SourceFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceFields")
            .field("namespace", &self.namespace)
            .field("url", &self.url)
            .field("branch", &self.branch)
            .finish_non_exhaustive()
    }
}

impl SourceFields {
    pub fn of(row: &SourceRow) -> Self {
        Self {
            namespace: row.namespace.clone(),
            url: row.url.clone(),
            url_key: row.url_key.clone(),
            branch: row.branch.clone(),
            root: row.root.clone(),
            layout: row.layout.clone(),
            schemas: row.schemas.clone(),
            auto_promote: row.auto_promote,
            secret: row.secret.clone(),
            service: row.service.clone(),
            service_domain: row.service_domain.clone(),
        }
    }
}
