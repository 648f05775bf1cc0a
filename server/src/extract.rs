//! Request bodies with errors in the API's own terms: a body over the
//! request limit in force (SIGHUP can change it) is 413
//! `payload_too_large`, malformed JSON is 400 `invalid_argument` naming the
//! line and column.

use actix_web::dev::{Decompress, Payload};
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use bytes::BytesMut;
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use protoreg_core::{Limits, Registry};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A required JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// An optional JSON body: empty means `T::default()`.
#[derive(Debug)]
pub struct MaybeJson<T>(pub T);

/// Any body, as bytes, under the live request limit (use it instead of
/// `web::Bytes`, whose limit is fixed at start-up).
#[derive(Debug)]
#[allow(dead_code)] // for binary bodies; handlers adopt it as they come
pub struct RawBody(pub web::Bytes);

/// Reads the whole body (decompressed, like actix's own extractors) under
/// the request limit in force now: the registry's limits change on SIGHUP,
/// while actix's `PayloadConfig` is fixed when the app is built.
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<web::Bytes, ApiError>> {
    let limit = req.app_data::<web::Data<Registry>>().map_or_else(
        || Limits::default().max_request_bytes,
        |r| r.limits().max_request_bytes,
    );
    let declared = declared_length(req);
    let mut stream = Decompress::from_headers(payload.take(), req.headers());
    Box::pin(async move {
        if declared? > Some(limit) {
            return Err(over_limit());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| {
                ApiError::invalid(format!("could not read the request body: {err}"))
            })?;
            if body.len() + chunk.len() > limit {
                return Err(over_limit());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    })
}

fn declared_length(req: &HttpRequest) -> Result<Option<usize>, ApiError> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| ApiError::invalid("invalid Content-Length header"))
        })
        .transpose()
}

fn over_limit() -> ApiError {
    ApiError::too_large("request body exceeds the configured limit")
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("malformed JSON body: {e}")))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let bytes = body.await?;
            if bytes.is_empty() {
                return Err(ApiError::invalid("a JSON request body is required"));
            }
            parse(&bytes).map(JsonBody)
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for MaybeJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let bytes = body.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(MaybeJson(T::default()));
            }
            parse(&bytes).map(MaybeJson)
        })
    }
}

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move { body.await.map(RawBody) })
    }
}
