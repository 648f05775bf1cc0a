//! One module per resource. A handler parses and validates its input,
//! calls one registry method and maps the result; no business logic here.

pub mod codegen;
pub mod events;
pub mod health;
pub mod namespaces;
pub mod params;
pub mod plugins;
pub mod schemas;
pub mod sources;
pub mod staging;
pub mod tokens;
pub mod types;
pub mod webhooks;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use prost_reflect::{DescriptorPool, DynamicMessage};
use protoreg_core::{NamespaceId, Registry, SchemaId};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};

pub type Reg = web::Data<Registry>;

pub fn namespace_id(raw: &str) -> ApiResult<NamespaceId> {
    Ok(NamespaceId::parse(raw)?)
}

pub fn schema_id(raw: &str) -> ApiResult<SchemaId> {
    Ok(SchemaId::parse(raw)?)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DescriptorQuery {
    /// `binary` (the default, `application/x-protobuf`) or `json`.
    pub format: Option<String>,
}

/// Serves an encoded `FileDescriptorSet` (binary, or `?format=json`) with a
/// strong ETag, answering `If-None-Match` with 304.
pub fn descriptor_response(
    req: &HttpRequest,
    query: &DescriptorQuery,
    set: &Bytes,
    content_hash: &str,
) -> ApiResult<HttpResponse> {
    let json = match query.format.as_deref() {
        None | Some("binary") => false,
        Some("json") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "unknown format {other:?}: use json or binary"
            )));
        }
    };
    let etag = if json {
        format!("\"{content_hash}.json\"")
    } else {
        format!("\"{content_hash}\"")
    };
    if if_none_match(req, &etag) {
        return Err(ApiError::NotModified(etag));
    }
    let mut response = HttpResponse::Ok();
    response.insert_header((header::ETAG, etag.as_str()));
    if json {
        let descriptor = DescriptorPool::global()
            .get_message_by_name("google.protobuf.FileDescriptorSet")
            .ok_or_else(|| {
                ApiError::Registry(protoreg_core::RegistryError::Internal(
                    "FileDescriptorSet type missing".into(),
                ))
            })?;
        let message = DynamicMessage::decode(descriptor, set.clone()).map_err(|e| {
            protoreg_core::RegistryError::internal("decoding a served descriptor set", e)
        })?;
        Ok(response.json(message))
    } else {
        Ok(response
            .content_type("application/x-protobuf")
            .body(set.clone()))
    }
}

fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| {
            candidate == "*" || candidate == etag || candidate.strip_prefix("W/") == Some(etag)
        })
}

/// `?page_size=N&page_token=T` of every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// At most this many items (default and cap: `limits.max_page_size`).
    pub page_size: Option<usize>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// One page of `items` (sorted by `key`, unique): those after the token's
/// key, at most `page_size` (default and cap: `limits.max_page_size`), and
/// the token of the next page when there is one. A token is the hex of the
/// last key served, so pages stay stable while items are added.
pub fn paginate<T>(
    registry: &Registry,
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    query: &PageQuery,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let max = registry.limits().max_page_size.max(1);
    let size = match query.page_size {
        None => max,
        Some(0) => return Err(ApiError::invalid("page_size must be at least 1")),
        Some(n) if n > max => {
            return Err(ApiError::invalid(format!(
                "page_size must be at most {max}"
            )));
        }
        Some(n) => n,
    };
    let after = match query.page_token.as_deref() {
        None | Some("") => None,
        Some(token) => Some(
            hex::decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| ApiError::invalid("invalid page_token"))?,
        ),
    };
    let mut page: Vec<T> = items
        .into_iter()
        .filter(|item| after.as_ref().is_none_or(|after| key(item) > *after))
        .take(size + 1)
        .collect();
    let next = if page.len() > size {
        page.truncate(size);
        page.last().map(|last| hex::encode(key(last)))
    } else {
        None
    };
    Ok((page, next))
}

/// Raw bytes of a body (an encoded protobuf message or descriptor set), for
/// the OpenAPI document.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for Binary {}
