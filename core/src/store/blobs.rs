//! Content-addressed blobs (sources, descriptor sets, generated archives),
//! keyed by SHA-256. Mutations store theirs with `store_blobs!`.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::schema::blobs;
use super::{Store, StoreError};

/// A blob to store if its content is not stored yet.
#[derive(Debug, Clone, Copy)]
pub struct BlobRef<'a> {
    pub sha256: &'a str,
    pub data: &'a [u8],
}

impl Store {
    /// The blobs with these keys (missing keys are simply absent).
    pub async fn blobs(&self, keys: &[&str]) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(200) {
            let rows: Vec<(String, Vec<u8>)> = with_conn!(self, conn => {
                blobs::table
                    .filter(blobs::sha256.eq_any(chunk))
                    .select((blobs::sha256, blobs::data))
                    .load(conn)
                    .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }
}

#[cfg(test)]
impl Store {
    pub async fn blob_count(&self) -> Result<i64, StoreError> {
        with_conn!(self, conn => {
            Ok(blobs::table.count().get_result(conn).await?)
        })
    }

    /// Overwrites the content of stored blobs (tests that must prove a code
    /// path never reads them). Returns how many rows changed.
    pub(crate) async fn overwrite_blobs_for_tests(
        &self,
        keys: &[String],
        data: &[u8],
    ) -> Result<usize, StoreError> {
        with_conn!(self, conn => {
            Ok(diesel::update(blobs::table.filter(blobs::sha256.eq_any(keys)))
                .set(blobs::data.eq(data))
                .execute(conn)
                .await?)
        })
    }
}
