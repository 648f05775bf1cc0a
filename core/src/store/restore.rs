//! What a restore reads (`restore_heads`, `restore_versions`, through
//! `read_in_place!`) and the restore checkpoints it may read from.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::{
    blobs, namespaces, restore_checkpoints, schema_version_files, schema_versions, schemas,
};
use super::{Store, StoreError, now};

/// What [`Store::restore_heads`] reads.
#[derive(Debug, Default)]
pub struct RestoreHeads {
    pub namespaces: Vec<NamespaceRow>,
    pub schemas: Vec<SchemaRow>,
    pub checkpoints: Vec<CheckpointRow>,
}

/// See [`Store::restore_versions`].
#[derive(Debug, Default)]
pub struct RestoreVersions {
    pub versions: Vec<VersionRow>,
    pub files: Vec<VersionFileRow>,
    /// Descriptor blobs by key.
    pub blobs: HashMap<String, Vec<u8>>,
}

impl Store {
    /// What a restore reads first, on one connection: live namespaces,
    /// their schemas (the version pointers, the truth) and their restore
    /// checkpoints (a cache of version snapshots).
    pub async fn restore_heads(&self) -> Result<RestoreHeads, StoreError> {
        // `$load` loads one query `$q` (see `read_in_place!`).
        macro_rules! heads {
            (|$q:ident| $load:expr) => {{
                let namespaces: Vec<NamespaceRow> = {
                    let $q = namespaces::table
                        .filter(namespaces::deleted_at.is_null())
                        .order(namespaces::name)
                        .select(NamespaceRow::as_select());
                    $load
                };
                let schemas: Vec<SchemaRow> = {
                    let $q = schemas::table
                        .inner_join(namespaces::table)
                        .filter(namespaces::deleted_at.is_null())
                        .order((schemas::namespace_id, schemas::name))
                        .select(SchemaRow::as_select());
                    $load
                };
                let checkpoints: Vec<CheckpointRow> = {
                    let $q = restore_checkpoints::table
                        .inner_join(namespaces::table)
                        .filter(namespaces::deleted_at.is_null())
                        .select(CheckpointRow::as_select());
                    $load
                };
                RestoreHeads {
                    namespaces,
                    schemas,
                    checkpoints,
                }
            }};
        }
        read_in_place!(self, heads)
    }

    /// The versions with these ids, their files and their descriptor
    /// blobs, on one connection: what a restore reads for the versions its
    /// checkpoints lack.
    pub async fn restore_versions(&self, ids: &[i64]) -> Result<RestoreVersions, StoreError> {
        if ids.is_empty() {
            return Ok(RestoreVersions::default());
        }
        let ids = ids.to_vec();
        // As in `restore_heads`: `$load` loads `$q`.
        macro_rules! versions {
            (|$q:ident| $load:expr) => {{
                let mut versions = Vec::with_capacity(ids.len());
                let mut files = Vec::new();
                for chunk in ids.chunks(500) {
                    let found: Vec<VersionRow> = {
                        let $q = schema_versions::table
                            .filter(schema_versions::id.eq_any(chunk))
                            .select(VersionRow::as_select());
                        $load
                    };
                    versions.extend(found);
                    let found: Vec<VersionFileRow> = {
                        let $q = schema_version_files::table
                            .filter(schema_version_files::version_id.eq_any(chunk))
                            .select(VersionFileRow::as_select());
                        $load
                    };
                    files.extend(found);
                }
                let mut keys: Vec<&str> = versions
                    .iter()
                    .map(|v: &VersionRow| v.descriptor_sha256.as_str())
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let mut blobs = HashMap::with_capacity(keys.len());
                for chunk in keys.chunks(500) {
                    let rows: Vec<(String, Vec<u8>)> = {
                        let $q = blobs::table
                            .filter(blobs::sha256.eq_any(chunk))
                            .select((blobs::sha256, blobs::data));
                        $load
                    };
                    blobs.extend(rows);
                }
                RestoreVersions {
                    versions,
                    files,
                    blobs,
                }
            }};
        }
        read_in_place!(self, versions)
    }

    /// Stores a namespace's restore checkpoint unless the stored one is of
    /// this revision or a later one (another replica may have written it).
    /// `true` when written.
    pub async fn put_checkpoint(
        &self,
        namespace_id: i64,
        revision: i64,
        format: i32,
        data: &[u8],
    ) -> Result<bool, StoreError> {
        let at = now();
        with_conn!(self, conn => {
            // Update an older row, else insert; a row of this revision or a
            // later one (say, another replica's) makes both do nothing.
            let updated = diesel::update(
                restore_checkpoints::table
                    .filter(restore_checkpoints::namespace_id.eq(namespace_id))
                    .filter(restore_checkpoints::revision.lt(revision)),
            )
            .set((
                restore_checkpoints::revision.eq(revision),
                restore_checkpoints::format.eq(format),
                restore_checkpoints::data.eq(data),
                restore_checkpoints::written_at.eq(at),
            ))
            .execute(conn)
            .await?;
            let written = if updated > 0 {
                updated
            } else {
                diesel::insert_into(restore_checkpoints::table)
                    .values((
                        restore_checkpoints::namespace_id.eq(namespace_id),
                        restore_checkpoints::revision.eq(revision),
                        restore_checkpoints::format.eq(format),
                        restore_checkpoints::data.eq(data),
                        restore_checkpoints::written_at.eq(at),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?
            };
            Ok(written > 0)
        })
    }

    /// Deletes every restore checkpoint (the next restore reads every
    /// version from its rows). Returns how many there were.
    pub async fn clear_checkpoints(&self) -> Result<usize, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::delete(restore_checkpoints::table).execute(conn).await?)
        })
    }
}
