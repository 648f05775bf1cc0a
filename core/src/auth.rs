//! Who may do what: roles per namespace, bearer tokens stored as hashes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{RegistryError, Result};
use crate::fingerprint::sha256_hex;
use crate::ids::NamespaceId;
use crate::store::{NewToken, Store, TokenRow, now};

/// A role in a namespace; each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// GET.
    Read,
    /// Publish and check.
    Write,
    /// Promote, discard, rollback, settings, namespace administration.
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Every namespace, in a grant.
pub const ALL_NAMESPACES: &str = "*";

/// A role in one namespace, or in every namespace (`"*"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub namespace: String,
    pub role: Role,
}

impl Grant {
    fn validate(&self) -> Result<()> {
        if self.namespace != ALL_NAMESPACES {
            NamespaceId::parse(&self.namespace)?;
        }
        Ok(())
    }
}

/// The caller of a request, with its grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Token name, `admin-token` or `anonymous`.
    pub name: String,
    pub token_id: Option<i64>,
    pub grants: Vec<Grant>,
    pub anonymous: bool,
}

impl Principal {
    /// An unauthenticated caller with `role` everywhere (or nothing).
    pub fn anonymous(role: Option<Role>) -> Self {
        Self {
            name: "anonymous".into(),
            token_id: None,
            grants: role
                .into_iter()
                .map(|role| Grant {
                    namespace: ALL_NAMESPACES.into(),
                    role,
                })
                .collect(),
            anonymous: true,
        }
    }

    /// The configured admin token's holder: admin everywhere.
    pub fn global_admin(name: &str) -> Self {
        Self {
            name: name.into(),
            token_id: None,
            grants: vec![Grant {
                namespace: ALL_NAMESPACES.into(),
                role: Role::Admin,
            }],
            anonymous: false,
        }
    }

    /// The strongest role the caller has in `namespace`.
    pub fn role_in(&self, namespace: &str) -> Option<Role> {
        self.grants
            .iter()
            .filter(|g| g.namespace == ALL_NAMESPACES || g.namespace == namespace)
            .map(|g| g.role)
            .max()
    }

    pub fn can(&self, namespace: &str, role: Role) -> bool {
        self.role_in(namespace).is_some_and(|have| have >= role)
    }

    /// Admin of every namespace: needed to write `__builtins__`, to `force`,
    /// and to manage tokens of every namespace.
    pub fn is_global_admin(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.namespace == ALL_NAMESPACES && g.role == Role::Admin)
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub roles: Vec<Grant>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn info(row: &TokenRow) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: row.id,
        name: row.name.clone(),
        roles: serde_json::from_str(&row.roles)
            .map_err(|e| RegistryError::internal("stored token roles", e))?,
        created_at: crate::convert::to_utc(row.created_at),
        expires_at: row.expires_at.map(crate::convert::to_utc),
    })
}

/// The SHA-256 under which a secret is stored and looked up.
pub fn secret_hash(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// Creates a token; returns it with its secret, which is not stored.
pub async fn create_token(
    store: &Store,
    name: &str,
    grants: &[Grant],
    expires_at: Option<DateTime<Utc>>,
) -> Result<(TokenInfo, String)> {
    if name.trim().is_empty() || name.len() > 256 {
        return Err(RegistryError::InvalidArgument(
            "a token needs a name of 1 to 256 bytes".into(),
        ));
    }
    if grants.is_empty() {
        return Err(RegistryError::InvalidArgument(
            "a token needs at least one role".into(),
        ));
    }
    for grant in grants {
        grant.validate()?;
    }
    if expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(RegistryError::InvalidArgument(
            "expires_at is in the past".into(),
        ));
    }
    let secret = format!("prt_{}", hex::encode(rand::random::<[u8; 32]>()));
    let hash = secret_hash(&secret);
    let roles =
        serde_json::to_string(grants).map_err(|e| RegistryError::internal("encoding roles", e))?;
    let row = store
        .create_token(&NewToken {
            name,
            secret_sha256: &hash,
            roles: &roles,
            created_at: now(),
            expires_at: expires_at.map(|at| at.naive_utc()),
        })
        .await?;
    Ok((info(&row)?, secret))
}

/// The principal a secret stands for; `None` for an unknown, revoked or
/// expired token.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<Principal>> {
    let Some(row) = store.token_by_secret_hash(&secret_hash(secret)).await? else {
        return Ok(None);
    };
    if row.expires_at.is_some_and(|at| at <= now()) {
        return Ok(None);
    }
    let token = info(&row)?;
    Ok(Some(Principal {
        name: token.name,
        token_id: Some(token.id),
        grants: token.roles,
        anonymous: false,
    }))
}

pub async fn list_tokens(store: &Store) -> Result<Vec<TokenInfo>> {
    store.live_tokens().await?.iter().map(info).collect()
}

pub async fn token(store: &Store, id: i64) -> Result<Option<TokenInfo>> {
    store
        .token(id)
        .await?
        .filter(|t| t.revoked_at.is_none())
        .as_ref()
        .map(info)
        .transpose()
}

/// Revokes a token; the next request with it is refused.
pub async fn revoke_token(store: &Store, id: i64) -> Result<()> {
    if store.revoke_token(id).await? {
        Ok(())
    } else {
        Err(RegistryError::NotFound(format!("token {id} not found")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_and_grants_combine() {
        let p = Principal {
            name: "t".into(),
            token_id: Some(1),
            grants: vec![
                Grant {
                    namespace: "a".into(),
                    role: Role::Write,
                },
                Grant {
                    namespace: "*".into(),
                    role: Role::Read,
                },
            ],
            anonymous: false,
        };
        assert!(p.can("a", Role::Read) && p.can("a", Role::Write) && !p.can("a", Role::Admin));
        assert!(p.can("b", Role::Read) && !p.can("b", Role::Write));
        assert!(!p.is_global_admin());
        assert!(Principal::global_admin("x").can("anything", Role::Admin));
        assert!(!Principal::anonymous(None).can("a", Role::Read));
        assert!(Principal::anonymous(Some(Role::Read)).can("a", Role::Read));
    }
}
