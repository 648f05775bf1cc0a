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
    pub namespace_id: i64,
    pub namespace: String,
    pub schema: String,
    pub version_id: i64,
    pub plugin: String,
    pub parameter: String,
    pub status: String,
    pub log: String,
    pub artifact_sha256: Option<String>,
    pub created_at: NaiveDateTime,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
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
