//! API tokens: only the secret's hash is stored; creation and revocation
//! write an audit event.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::models::*;
use super::schema::tokens;
use super::{Store, StoreError, now};

impl Store {
    /// Stores a token (its secret's hash only) and its audit event.
    pub async fn create_token(&self, token: &NewToken<'_>) -> Result<TokenRow, StoreError> {
        transaction!(self, conn => {
            let row: TokenRow = diesel::insert_into(tokens::table)
                .values(token)
                .returning(TokenRow::as_returning())
                .get_result(conn)
                .await?;
            insert_event!(conn, None, "", "token.created",
                serde_json::json!({"token_id": row.id, "name": row.name, "roles": serde_json::from_str::<serde_json::Value>(&row.roles).unwrap_or_default()}), token.created_at);
            Ok(row)
        })
    }

    /// The live (not revoked) token with this secret hash, if any. Expiry is
    /// the caller's to check.
    pub async fn token_by_secret_hash(
        &self,
        secret_sha256: &str,
    ) -> Result<Option<TokenRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(tokens::table
                .filter(tokens::secret_sha256.eq(secret_sha256).and(tokens::revoked_at.is_null()))
                .select(TokenRow::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    pub async fn live_tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(tokens::table
                .filter(tokens::revoked_at.is_null())
                .order(tokens::id)
                .select(TokenRow::as_select())
                .load(conn)
                .await?)
        })
    }

    pub async fn token(&self, id: i64) -> Result<Option<TokenRow>, StoreError> {
        with_conn!(self, conn => {
            Ok(tokens::table.find(id).select(TokenRow::as_select()).first(conn).await.optional()?)
        })
    }

    /// Revokes a token; `false` when it did not exist or was revoked already.
    pub async fn revoke_token(&self, id: i64) -> Result<bool, StoreError> {
        let at = now();
        transaction!(self, conn => {
            let updated = diesel::update(tokens::table.find(id).filter(tokens::revoked_at.is_null()))
                .set(tokens::revoked_at.eq(Some(at)))
                .execute(conn)
                .await?;
            if updated == 1 {
                insert_event!(conn, None, "", "token.revoked", serde_json::json!({"token_id": id}), at);
            }
            Ok(updated == 1)
        })
    }
}
