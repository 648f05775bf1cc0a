//! One module per resource. A handler parses and validates its input,
//! calls one registry method and maps the result; no business logic here.

pub mod health;
pub mod namespaces;
pub mod schemas;
pub mod staging;
pub mod tokens;
pub mod types;

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

#[derive(Debug, Deserialize)]
pub struct DescriptorQuery {
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
