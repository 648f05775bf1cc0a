//! Types of a namespace as data: their descriptors, and messages of them
//! validated and converted between JSON, text format and binary.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use prost_reflect::{DescriptorPool, MessageDescriptor, ReflectMessage};
use protoreg_core::dynamic::{self, Format};
use protoreg_core::{TypeScope, VersionRef};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Reg;
use crate::api_types::{self, FieldError};
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TypeQuery {
    /// A version number, `current` or `staged`.
    version: Option<String>,
    /// Limit the lookup to one schema.
    schema: Option<String>,
    /// Transcode target: json, binary or text.
    #[param(example = "json")]
    to: Option<String>,
}

async fn scope(registry: &Reg, ns: &str, query: &TypeQuery) -> ApiResult<TypeScope> {
    let version = query
        .version
        .as_deref()
        .map(VersionRef::parse)
        .transpose()?;
    Ok(registry
        .type_scope(ns, query.schema.as_deref(), version)
        .await?)
}

/// A message, enum or service of a namespace.
#[derive(Serialize, ToSchema)]
pub struct TypeBody {
    full_name: String,
    /// `message`, `enum` or `service`.
    kind: String,
    /// The schema that owns the file; absent for a well-known type.
    schema: Option<String>,
    file: String,
    package: String,
    /// The `DescriptorProto`, `EnumDescriptorProto` or
    /// `ServiceDescriptorProto` in the proto3 JSON mapping.
    #[schema(value_type = Object)]
    descriptor: Value,
}

/// Whether a message is valid, and what is wrong with it.
#[derive(Serialize, ToSchema)]
pub struct Validation {
    valid: bool,
    errors: Vec<FieldError>,
}

fn not_found(full_name: &str) -> ApiError {
    ApiError::not_found(format!("type {full_name} not found"))
}

/// A descriptor proto as JSON (the proto3 JSON mapping of
/// `google.protobuf.DescriptorProto` and its siblings).
fn descriptor_json(message: &impl ReflectMessage) -> Value {
    serde_json::to_value(message.transcode_to_dynamic()).unwrap_or(Value::Null)
}

fn find_message(scope: &TypeScope, full_name: &str) -> ApiResult<MessageDescriptor> {
    scope
        .pool
        .get_message_by_name(full_name)
        .filter(|m| scope.admits(m.parent_file().name()))
        .ok_or_else(|| not_found(full_name))
}

#[utoipa::path(
    get,
    path = "/v1/namespaces/{ns}/types/{full_name}",
    tag = "types",
    params(super::params::Ns, super::params::FullName, TypeQuery),
    responses(
        (status = 200, description = "The type's descriptor, owning schema and file", body = TypeBody),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 404, description = "Not found"),
    )
)]
pub async fn get(
    registry: Reg,
    path: web::Path<(String, String)>,
    query: web::Query<TypeQuery>,
) -> ApiResult<HttpResponse> {
    let (ns, full_name) = path.into_inner();
    let scope = scope(&registry, &ns, &query).await?;
    let pool: &DescriptorPool = &scope.pool;
    let (kind, file, descriptor) = if let Some(m) = pool.get_message_by_name(&full_name) {
        (
            "message",
            m.parent_file(),
            descriptor_json(m.descriptor_proto()),
        )
    } else if let Some(e) = pool.get_enum_by_name(&full_name) {
        (
            "enum",
            e.parent_file(),
            descriptor_json(e.enum_descriptor_proto()),
        )
    } else if let Some(s) = pool.get_service_by_name(&full_name) {
        (
            "service",
            s.parent_file(),
            descriptor_json(s.service_descriptor_proto()),
        )
    } else {
        return Err(not_found(&full_name));
    };
    if !scope.admits(file.name()) {
        return Err(not_found(&full_name));
    }
    Ok(HttpResponse::Ok().json(TypeBody {
        schema: scope.owner(file.name()).map(ToString::to_string),
        file: file.name().to_owned(),
        package: file.package_name().to_owned(),
        full_name,
        kind: kind.to_owned(),
        descriptor,
    }))
}

fn body_format(req: &HttpRequest) -> ApiResult<Format> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    // `application/*+json` is JSON too (as `extract` admits it).
    let json_suffix = content_type.split(';').next().is_some_and(|essence| {
        essence.trim().starts_with("application/") && essence.trim().ends_with("+json")
    });
    if json_suffix {
        return Ok(Format::Json);
    }
    Format::from_content_type(content_type).ok_or_else(|| {
        ApiError::unsupported_media_type(format!(
            "unsupported Content-Type {content_type:?}: use application/json, text/plain or application/x-protobuf"
        ))
    })
}

/// The body's format and the message type a validate or transcode names.
async fn message_type(
    registry: &Reg,
    req: &HttpRequest,
    path: web::Path<(String, String)>,
    query: &TypeQuery,
) -> ApiResult<(Format, MessageDescriptor)> {
    let (ns, full_name) = path.into_inner();
    let format = body_format(req)?;
    let scope = scope(registry, &ns, query).await?;
    Ok((format, find_message(&scope, &full_name)?))
}

/// `{valid, errors: [{path, message}]}`: a message that does not decode, a
/// missing required field or an unknown field makes it invalid.
#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/types/{full_name}/validate",
    tag = "types",
    params(super::params::Ns, super::params::FullName, TypeQuery),
    request_body(description = "A message of the type: JSON, text format or binary, by Content-Type", content((Object = "application/json", example = json!({"id": "inv-1", "total": {"units": "12", "currency": "EUR"}})), (String = "text/plain", example = json!("id: \"inv-1\"")), (inline(super::Binary) = "application/x-protobuf"))),
    responses(
        (status = 200, description = "Whether the message is valid, and its errors", body = Validation),
        (status = 400, description = "Invalid argument: a malformed query"),
        (status = 404, description = "Not found"),
        (status = 413, description = "The request body exceeds the configured limit"),
    )
)]
pub async fn validate(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<TypeQuery>,
    crate::extract::RawBody(body): crate::extract::RawBody,
) -> ApiResult<HttpResponse> {
    let (format, descriptor) = message_type(&registry, &req, path, &query).await?;
    let errors = match dynamic::decode(&descriptor, format, &body) {
        Ok((_, problems)) => problems,
        Err(errors) => errors,
    };
    Ok(HttpResponse::Ok().json(Validation {
        valid: errors.is_empty(),
        errors: api_types::all(errors),
    }))
}

/// The message converted to `?to=json|binary|text`.
#[utoipa::path(
    post,
    path = "/v1/namespaces/{ns}/types/{full_name}/transcode",
    tag = "types",
    params(super::params::Ns, super::params::FullName, TypeQuery),
    request_body(description = "A message of the type: JSON, text format or binary, by Content-Type", content((Object = "application/json", example = json!({"id": "inv-1", "total": {"units": "12", "currency": "EUR"}})), (String = "text/plain", example = json!("id: \"inv-1\"")), (inline(super::Binary) = "application/x-protobuf"))),
    responses(
        (status = 200, description = "The message in the `?to=` format", content((Object = "application/json"), (String = "text/plain"), (inline(super::Binary) = "application/x-protobuf"))),
        (status = 400, description = "Invalid argument: no or an unknown `?to=`, or a message that does not decode (`errors`)"),
        (status = 404, description = "Not found"),
        (status = 413, description = "The request body exceeds the configured limit"),
    )
)]
pub async fn transcode(
    registry: Reg,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<TypeQuery>,
    crate::extract::RawBody(body): crate::extract::RawBody,
) -> ApiResult<HttpResponse> {
    let to = query
        .to
        .as_deref()
        .ok_or_else(|| ApiError::invalid("?to= is required: json, binary or text"))?;
    let target = Format::from_name(to).ok_or_else(|| {
        ApiError::invalid(format!("unknown target {to:?}: use json, binary or text"))
    })?;
    let (format, descriptor) = message_type(&registry, &req, path, &query).await?;
    let (message, _) =
        dynamic::decode(&descriptor, format, &body).map_err(ApiError::InvalidMessage)?;
    let encoded = dynamic::encode(&message, target).map_err(|e| {
        ApiError::Registry(protoreg_core::RegistryError::InvalidArgument(format!(
            "cannot encode as {to}: {e}"
        )))
    })?;
    Ok(HttpResponse::Ok()
        .content_type(target.content_type())
        .body(encoded))
}
