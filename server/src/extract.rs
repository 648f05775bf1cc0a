//! Request bodies with errors in the API's own terms: a body over the
//! request limit in force (SIGHUP can change it) is 413
//! `payload_too_large`, malformed JSON is 400 `invalid_argument` naming the
//! line and column, a body of a media type or content coding the route does
//! not take is 415 `unsupported_media_type` (checked before the body is
//! read), and a body that does not arrive within `http.body_timeout_ms` is
//! 408 (the timer is `crate::edge`'s).

use actix_web::dev::{Decompress, Payload};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::mime;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
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

/// A message body of the validate and transcode routes (JSON, text format
/// or binary, by `Content-Type`), as bytes, under the live request limit
/// (use it instead of `web::Bytes`, whose limit is fixed at start-up).
#[derive(Debug)]
pub struct RawBody(pub web::Bytes);

/// A JSON body as its bytes (the push webhook verifies a signature of the
/// exact bytes before it reads them).
#[derive(Debug)]
pub struct RawJson(pub web::Bytes);

impl FromRequest for RawJson {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, Accept::Json);
        Box::pin(async move { body.await.map(RawJson) })
    }
}

/// The media types a body may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accept {
    /// `application/json` or `application/*+json`, parameters allowed.
    Json,
    /// JSON, `text/plain` or `application/x-protobuf` (and its aliases).
    Message,
}

impl Accept {
    fn admits(self, mime: &mime::Mime) -> bool {
        let json = mime.type_() == mime::APPLICATION
            && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON));
        json || (self == Accept::Message
            && protoreg_core::dynamic::Format::from_content_type(mime.essence_str()).is_some())
    }

    fn names(self) -> &'static str {
        match self {
            Accept::Json => "application/json",
            Accept::Message => "application/json, text/plain or application/x-protobuf",
        }
    }
}

/// The content codings a body may have (actix decodes them).
const CODINGS: &[&str] = &["identity", "gzip", "deflate"];

/// Refuses, before the body is read, a body the route cannot take: an
/// unknown `Content-Encoding`, or a `Content-Type` that is not one of
/// `accept`'s. Returns the declared coding and whether a type was declared.
fn check_media(req: &HttpRequest, accept: Accept) -> Result<(&'static str, bool), ApiError> {
    let coding = match req.headers().get(header::CONTENT_ENCODING) {
        None => "identity",
        Some(value) => {
            let given = value
                .to_str()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            *CODINGS.iter().find(|c| **c == given).ok_or_else(|| {
                ApiError::unsupported_media_type(format!(
                    "unsupported Content-Encoding {:?}: use gzip, deflate or none",
                    String::from_utf8_lossy(value.as_bytes())
                ))
            })?
        }
    };
    let declared = match req.headers().get(header::CONTENT_TYPE) {
        None => false,
        Some(value) => {
            let mime = req.mime_type().ok().flatten();
            if !mime.as_ref().is_some_and(|m| accept.admits(m)) {
                return Err(ApiError::unsupported_media_type(format!(
                    "unsupported Content-Type {:?}: this route takes {}",
                    String::from_utf8_lossy(value.as_bytes()),
                    accept.names()
                )));
            }
            true
        }
    };
    Ok((coding, declared))
}

fn undeclared() -> ApiError {
    ApiError::unsupported_media_type(
        "a request body must declare its Content-Type (application/json)",
    )
}

/// Reads the whole body (decompressed, like actix's own extractors) under
/// the request limit in force now: the registry's limits change on SIGHUP,
/// while actix's `PayloadConfig` is fixed when the app is built.
///
/// A body without a `Content-Type` is read only to see that it is empty:
/// one that is not is 415 (with a `Content-Length`, before reading it).
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    accept: Accept,
) -> LocalBoxFuture<'static, Result<web::Bytes, ApiError>> {
    let limit = req.app_data::<web::Data<Registry>>().map_or_else(
        || Limits::default().max_request_bytes,
        |r| r.limits().max_request_bytes,
    );
    let checked = check_media(req, accept);
    let declared = declared_length(req);
    let mut stream = Decompress::from_headers(payload.take(), req.headers());
    Box::pin(async move {
        let (coding, typed) = checked?;
        let declared = declared?;
        if declared > Some(limit) {
            return Err(over_limit());
        }
        if !typed && declared.is_some_and(|n| n > 0) {
            return Err(undeclared());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| read_error(err, coding))?;
            if body.len() + chunk.len() > limit {
                return Err(over_limit());
            }
            body.extend_from_slice(&chunk);
        }
        if !typed && !body.iter().all(u8::is_ascii_whitespace) {
            return Err(undeclared());
        }
        Ok(body.freeze())
    })
}

/// A body that could not be read, in words.
fn read_error(err: PayloadError, coding: &str) -> ApiError {
    match err {
        PayloadError::Io(err) if err.kind() == std::io::ErrorKind::TimedOut => {
            ApiError::BodyTimeout(err.to_string())
        }
        // The decoder's failures (it reports cut streams as incomplete).
        _ if coding != "identity" => ApiError::invalid(format!(
            "the request body is not valid {coding} data (Content-Encoding: {coding})"
        )),
        PayloadError::Incomplete(_) => {
            ApiError::invalid("the request body ended before it was complete")
        }
        PayloadError::Overflow => over_limit(),
        _ => ApiError::invalid("the request body could not be read (malformed framing)"),
    }
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
        let body = read_body(req, payload, Accept::Json);
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
        let body = read_body(req, payload, Accept::Json);
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
        let body = read_body(req, payload, Accept::Message);
        Box::pin(async move { body.await.map(RawBody) })
    }
}
