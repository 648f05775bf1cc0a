//! JSON bodies with errors in the API's own terms: a body over the request
//! limit is 413 `payload_too_large`, malformed JSON is 400
//! `invalid_argument` naming the line and column.

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, web};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A required JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// An optional JSON body: empty means `T::default()`.
#[derive(Debug)]
pub struct MaybeJson<T>(pub T);

fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<web::Bytes, ApiError>> {
    let bytes = web::Bytes::from_request(req, payload);
    Box::pin(async move {
        bytes
            .await
            .map_err(|err| match err.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => {
                    ApiError::too_large("request body exceeds the configured limit")
                }
                _ => match err.as_error::<actix_web::error::PayloadError>() {
                    Some(other) => {
                        ApiError::invalid(format!("could not read the request body: {other}"))
                    }
                    None => ApiError::too_large(format!("request body rejected: {err}")),
                },
            })
    })
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
