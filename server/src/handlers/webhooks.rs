//! Webhook subscriptions (`/v1/webhooks`): created with a secret shown
//! once, listed without it; their delivery log, redelivery and ping. A
//! subscription is managed by a global admin, or by a caller who is admin
//! of every namespace it lists.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use protoreg_core::auth::{Principal, Role};
use protoreg_core::store::{DeliveryRow, NewWebhook, WebhookChanges, WebhookRow, now};
use protoreg_core::webhooks::{Webhooks, check_destination};
use protoreg_core::{NamespaceId, RegistryError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Reg;
use crate::auth::caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;

type Hooks = web::Data<Webhooks>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `http://` or `https://` destination.
    url: String,
    /// Event kinds, or `["*"]` for every kind.
    events: Vec<String>,
    /// Only events of these namespaces; absent or empty: every namespace
    /// (global admin only).
    #[serde(default)]
    namespaces: Vec<String>,
    /// The signing secret; generated when absent.
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchWebhook {
    url: Option<String>,
    events: Option<Vec<String>>,
    namespaces: Option<Vec<String>>,
    active: Option<bool>,
    secret: Option<String>,
    description: Option<String>,
}

/// A subscription, never with its secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookInfo {
    id: i64,
    url: String,
    events: Vec<String>,
    namespaces: Vec<String>,
    description: String,
    active: bool,
    created_at: DateTime<Utc>,
    created_by: String,
}

/// A new subscription; `secret` is shown only here.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    info: WebhookInfo,
    secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    webhooks: Vec<WebhookInfo>,
}

/// One delivery of an event (or ping) to a subscription.
#[derive(Serialize, ToSchema)]
pub struct DeliveryInfo {
    id: i64,
    /// 0 for a ping.
    event_id: i64,
    kind: String,
    attempts: i32,
    /// `pending`, `retrying`, `delivered` or `failed`.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivered_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    deliveries: Vec<DeliveryInfo>,
    /// Absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

impl From<WebhookRow> for WebhookInfo {
    fn from(row: WebhookRow) -> Self {
        WebhookInfo {
            id: row.id,
            url: row.url,
            events: serde_json::from_str(&row.events).unwrap_or_default(),
            namespaces: serde_json::from_str(&row.namespaces).unwrap_or_default(),
            description: row.description,
            active: row.active,
            created_at: row.created_at.and_utc(),
            created_by: row.created_by,
        }
    }
}

impl From<DeliveryRow> for DeliveryInfo {
    fn from(row: DeliveryRow) -> Self {
        DeliveryInfo {
            id: row.id,
            event_id: row.event_id,
            kind: row.kind,
            attempts: row.attempts,
            status: row.status,
            response_code: row.response_code,
            error: row.error,
            duration_ms: row.duration_ms,
            next_attempt_at: row.next_attempt_at.map(|t| t.and_utc()),
            created_at: row.created_at.and_utc(),
            delivered_at: row.delivered_at.map(|t| t.and_utc()),
        }
    }
}

fn may_manage(principal: &Principal, namespaces: &[String]) -> bool {
    principal.is_global_admin()
        || (!namespaces.is_empty() && namespaces.iter().all(|ns| principal.can(ns, Role::Admin)))
}

fn denied() -> ApiError {
    ApiError::Registry(RegistryError::PermissionDenied(
        "managing this webhook needs a global admin, or admin of every namespace it lists".into(),
    ))
}

fn parse_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::invalid(format!("invalid {what} id {raw:?}")))
}

/// The subscription `raw` names, if the caller may manage it (404 for one
/// it may not: ids do not leak).
async fn managed(registry: &Reg, req: &HttpRequest, raw: &str) -> ApiResult<WebhookRow> {
    let id = parse_id(raw, "webhook")?;
    let row = registry
        .store()
        .webhook(id)
        .await
        .map_err(RegistryError::from)?
        .filter(|row| {
            let namespaces: Vec<String> = serde_json::from_str(&row.namespaces).unwrap_or_default();
            may_manage(&caller(req), &namespaces)
        })
        .ok_or_else(|| ApiError::not_found(format!("webhook {id} not found")))?;
    Ok(row)
}

fn check_events(events: &[String]) -> ApiResult<String> {
    if events.is_empty() || events.len() > 64 {
        return Err(ApiError::invalid(
            "events must list 1 to 64 kinds, or [\"*\"]",
        ));
    }
    for kind in events {
        let ok = kind == "*"
            || (!kind.is_empty()
                && kind.len() <= 64
                && kind
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'));
        if !ok {
            return Err(ApiError::invalid(format!("invalid event kind {kind:?}")));
        }
    }
    Ok(serde_json::to_string(events).unwrap_or_default())
}

fn check_namespaces(namespaces: &[String]) -> ApiResult<String> {
    if namespaces.len() > 256 {
        return Err(ApiError::invalid("at most 256 namespaces"));
    }
    for ns in namespaces {
        NamespaceId::parse(ns)?;
    }
    Ok(serde_json::to_string(namespaces).unwrap_or_default())
}

async fn check_url(hooks: &Webhooks, url: &str) -> ApiResult<()> {
    if url.len() > 2048 {
        return Err(ApiError::invalid("url is longer than 2048 bytes"));
    }
    check_destination(url, hooks.config())
        .await
        .map(drop)
        .map_err(|reason| ApiError::invalid(format!("url refused: {reason}")))
}

fn check_secret(secret: &str) -> ApiResult<()> {
    if secret.is_empty() || secret.len() > 256 {
        return Err(ApiError::invalid("secret must be 1 to 256 bytes"));
    }
    Ok(())
}

fn check_description(description: &str) -> ApiResult<()> {
    if description.len() > 1024 {
        return Err(ApiError::invalid("description is longer than 1024 bytes"));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The subscription; `secret` is shown only here", body = CreatedWebhook),
        (status = 400, description = "Invalid argument: a malformed body, or a destination refused by the address rules"),
        (status = 403, description = "Not admin of every listed namespace"),
    )
)]
pub async fn create(
    registry: Reg,
    hooks: Hooks,
    req: HttpRequest,
    JsonBody(body): JsonBody<CreateWebhook>,
) -> ApiResult<HttpResponse> {
    let principal = caller(&req);
    let events = check_events(&body.events)?;
    let namespaces = check_namespaces(&body.namespaces)?;
    if !may_manage(&principal, &body.namespaces) {
        return Err(denied());
    }
    let description = body.description.unwrap_or_default();
    check_description(&description)?;
    let secret = match body.secret {
        Some(secret) => {
            check_secret(&secret)?;
            secret
        }
        None => hex::encode(rand::random::<[u8; 32]>()),
    };
    check_url(&hooks, &body.url).await?;
    let at = now();
    let row = registry
        .store()
        .create_webhook(NewWebhook {
            url: &body.url,
            events: &events,
            namespaces: &namespaces,
            secret: &secret,
            description: &description,
            active: body.active.unwrap_or(true),
            last_event_id: 0,
            created_at: at,
            created_by: &principal.name,
            updated_at: at,
        })
        .await
        .map_err(RegistryError::from)?;
    tracing::info!(webhook = row.id, url = %row.url, by = %principal.name, "webhook created");
    Ok(HttpResponse::Created().json(CreatedWebhook {
        info: row.into(),
        secret,
    }))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    responses((status = 200, description = "The subscriptions the caller may manage, without secrets", body = WebhookList))
)]
pub async fn list(registry: Reg, req: HttpRequest) -> ApiResult<HttpResponse> {
    let principal = caller(&req);
    let rows = registry
        .store()
        .webhooks()
        .await
        .map_err(RegistryError::from)?;
    let webhooks = rows
        .into_iter()
        .map(WebhookInfo::from)
        .filter(|info| may_manage(&principal, &info.namespaces))
        .collect();
    Ok(HttpResponse::Ok().json(WebhookList { webhooks }))
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(super::params::WebhookId),
    responses(
        (status = 200, description = "The subscription, without its secret", body = WebhookInfo),
        (status = 400, description = "Invalid argument: a malformed path parameter"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn get(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = managed(&registry, &req, &path).await?;
    Ok(HttpResponse::Ok().json(WebhookInfo::from(row)))
}

#[utoipa::path(
    patch,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(super::params::WebhookId),
    request_body = PatchWebhook,
    responses(
        (status = 200, description = "The changed subscription, without its secret", body = WebhookInfo),
        (status = 400, description = "Invalid argument"),
        (status = 403, description = "Not admin of every newly listed namespace"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn update(
    registry: Reg,
    hooks: Hooks,
    req: HttpRequest,
    path: web::Path<String>,
    JsonBody(body): JsonBody<PatchWebhook>,
) -> ApiResult<HttpResponse> {
    let row = managed(&registry, &req, &path).await?;
    let mut changes = WebhookChanges::default();
    if let Some(events) = &body.events {
        changes.events = Some(check_events(events)?);
    }
    if let Some(namespaces) = &body.namespaces {
        changes.namespaces = Some(check_namespaces(namespaces)?);
        if !may_manage(&caller(&req), namespaces) {
            return Err(denied());
        }
    }
    if let Some(secret) = body.secret {
        check_secret(&secret)?;
        changes.secret = Some(secret);
    }
    if let Some(description) = body.description {
        check_description(&description)?;
        changes.description = Some(description);
    }
    if let Some(url) = body.url {
        check_url(&hooks, &url).await?;
        changes.url = Some(url);
    }
    changes.active = body.active;
    let updated = registry
        .store()
        .update_webhook(row.id, changes)
        .await
        .map_err(RegistryError::from)?
        .ok_or_else(|| ApiError::not_found(format!("webhook {} not found", row.id)))?;
    Ok(HttpResponse::Ok().json(WebhookInfo::from(updated)))
}

#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "webhooks",
    params(super::params::WebhookId),
    responses(
        (status = 204, description = "Removed, with its delivery log"),
        (status = 400, description = "Invalid argument: a malformed path parameter"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn delete(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = managed(&registry, &req, &path).await?;
    registry
        .store()
        .delete_webhook(row.id)
        .await
        .map_err(RegistryError::from)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get,
    path = "/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(super::params::WebhookId, super::PageQuery),
    responses(
        (status = 200, description = "The delivery log, newest first", body = DeliveryPage),
        (status = 400, description = "Invalid argument: a malformed path parameter or query"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn deliveries(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<String>,
    page: web::Query<super::PageQuery>,
) -> ApiResult<HttpResponse> {
    let row = managed(&registry, &req, &path).await?;
    let max = registry.limits().max_page_size.max(1);
    let size = match page.page_size {
        None => max,
        Some(n) if n == 0 || n > max => {
            return Err(ApiError::invalid(format!("page_size must be 1 to {max}")));
        }
        Some(n) => n,
    };
    let before = match page.page_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(
            token
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("invalid page_token"))?,
        ),
    };
    let mut rows = registry
        .store()
        .deliveries(
            row.id,
            before,
            i64::try_from(size).unwrap_or(i64::MAX).saturating_add(1),
        )
        .await
        .map_err(RegistryError::from)?;
    let next_page_token = if rows.len() > size {
        rows.truncate(size);
        rows.last().map(|r| r.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(DeliveryPage {
        deliveries: rows.into_iter().map(DeliveryInfo::from).collect(),
        next_page_token,
    }))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/deliveries/{delivery}/redeliver",
    tag = "webhooks",
    params(super::params::WebhookDelivery),
    responses(
        (status = 202, description = "The event is queued again for this subscription: the new delivery", body = DeliveryInfo),
        (status = 400, description = "Invalid argument: a malformed path parameter"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn redeliver(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let row = managed(&registry, &req, &id).await?;
    let delivery_id = parse_id(&delivery, "delivery")?;
    let delivery = registry
        .store()
        .delivery(row.id, delivery_id)
        .await
        .map_err(RegistryError::from)?
        .ok_or_else(|| ApiError::not_found(format!("delivery {delivery_id} not found")))?;
    let queued = registry
        .store()
        .requeue_delivery(&delivery)
        .await
        .map_err(RegistryError::from)?;
    Ok(HttpResponse::Accepted().json(DeliveryInfo::from(queued)))
}

#[utoipa::path(
    post,
    path = "/v1/webhooks/{id}/ping",
    tag = "webhooks",
    params(super::params::WebhookId),
    responses(
        (status = 200, description = "A `ping` event delivered now, once: the delivery", body = DeliveryInfo),
        (status = 400, description = "Invalid argument: a malformed path parameter"),
        (status = 404, description = "Not found"),
        (status = 503, description = "The webhook sink is not loaded"),
    )
)]
pub async fn ping(
    registry: Reg,
    hooks: Hooks,
    req: HttpRequest,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = managed(&registry, &req, &path).await?;
    let delivery = hooks.ping(&row).await?;
    Ok(HttpResponse::Ok().json(DeliveryInfo::from(delivery)))
}
