//! Bearer tokens: created with a secret shown once, listed without it,
//! revoked immediately.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use protoreg_core::RegistryError;
use protoreg_core::auth::{self, ALL_NAMESPACES, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Reg;
use crate::api_types::{self, Grant, TokenInfo};
use crate::auth::caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    /// `[{namespace, role}]`: a namespace id or `*`, and `read`, `write` or `admin`.
    roles: Vec<Grant>,
    #[serde(default)]
    expires_at: Option<DateTime<Utc>>,
}

/// A new token; `token` is its secret, shown only here.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    id: i64,
    token: String,
    name: String,
    roles: Vec<Grant>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
}

/// One page of `GET /v1/tokens`, without secrets.
#[derive(Serialize, ToSchema)]
pub struct TokenPage {
    tokens: Vec<TokenInfo>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// A caller may hand out roles only where it is admin itself (`*` needs a
/// global admin).
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "tokens",
    request_body = CreateToken,
    responses(
        (status = 201, description = "The token; `token` is the secret, shown only here", body = CreatedToken),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 403, description = "Granting a role where the caller is not admin"),
    )
)]
pub async fn create(
    registry: Reg,
    req: HttpRequest,
    JsonBody(body): JsonBody<CreateToken>,
) -> ApiResult<HttpResponse> {
    let principal = caller(&req);
    for grant in &body.roles {
        let allowed = if grant.namespace == ALL_NAMESPACES {
            principal.is_global_admin()
        } else {
            principal.can(&grant.namespace, Role::Admin)
        };
        if !allowed {
            return Err(ApiError::Registry(RegistryError::PermissionDenied(
                format!("granting a role in {} needs admin there", grant.namespace),
            )));
        }
    }
    let roles: Vec<auth::Grant> = api_types::all(body.roles);
    let (token, secret) =
        auth::create_token(registry.store(), &body.name, &roles, body.expires_at).await?;
    Ok(HttpResponse::Created().json(CreatedToken {
        id: token.id,
        token: secret,
        name: token.name,
        roles: api_types::all(token.roles),
        created_at: token.created_at,
        expires_at: token.expires_at,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "tokens",
    params(super::PageQuery),
    responses(
        (status = 200, description = "One page of the tokens, without secrets", body = TokenPage),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
    )
)]
pub async fn list(registry: Reg, page: web::Query<super::PageQuery>) -> ApiResult<HttpResponse> {
    let tokens: Vec<TokenInfo> = api_types::all(auth::list_tokens(registry.store()).await?);
    let (tokens, next_page_token) =
        super::paginate(&registry, tokens, |t| format!("{:020}", t.id), &page)?;
    Ok(HttpResponse::Ok().json(TokenPage {
        tokens,
        next_page_token,
    }))
}

fn token_id(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid(format!("invalid token id {raw:?}")))
}

#[utoipa::path(
    get,
    path = "/v1/tokens/{id}",
    tag = "tokens",
    params(super::params::TokenId),
    responses(
        (status = 200, description = "The token, without its secret", body = TokenInfo),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn get(registry: Reg, path: web::Path<String>) -> ApiResult<HttpResponse> {
    let id = token_id(&path)?;
    let token = auth::token(registry.store(), id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("token {id} not found")))?;
    Ok(HttpResponse::Ok().json(TokenInfo::from(token)))
}

#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    tag = "tokens",
    params(super::params::TokenId),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn revoke(registry: Reg, path: web::Path<String>) -> ApiResult<HttpResponse> {
    auth::revoke_token(registry.store(), token_id(&path)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the caller is and what it may do: what the web console asks to
/// hide the buttons a role cannot use (the server enforces every route
/// regardless).
#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    /// The token's name, `admin-token` or `anonymous`.
    name: String,
    anonymous: bool,
    /// Admin of every namespace (`*`).
    global_admin: bool,
    /// `[{namespace, role}]`, `namespace` an id or `*`.
    roles: Vec<Grant>,
}

#[utoipa::path(
    get,
    path = "/v1/whoami",
    tag = "tokens",
    responses(
        (status = 200, description = "The caller and its roles", body = WhoAmI),
    )
)]
pub async fn whoami(req: HttpRequest) -> ApiResult<HttpResponse> {
    let principal = caller(&req);
    Ok(HttpResponse::Ok().json(WhoAmI {
        global_admin: principal.is_global_admin(),
        name: principal.name,
        anonymous: principal.anonymous,
        roles: api_types::all(principal.grants),
    }))
}
