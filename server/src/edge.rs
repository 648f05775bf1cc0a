//! The edge in front of every route, against hostile clients and hostile
//! browsers:
//!
//! - a client address over `http.max_connections_per_client` open
//!   connections has its requests answered 503 `unavailable`;
//! - while anonymous access is in force, only `Host` values naming a
//!   loopback address, `localhost` or one of `http.allowed_hosts` are served
//!   (403 `permission_denied` otherwise), so that a DNS-rebound web page
//!   cannot talk to a zero-config server;
//! - a request that would change state (any method but GET, HEAD and
//!   OPTIONS), or a CORS preflight, carrying an `Origin` that is neither the
//!   server's own (`scheme://Host`) nor one of `http.allowed_origins` is
//!   refused with 403 `permission_denied`;
//! - `HEAD` is served as `GET` (actix's codec then writes no body);
//! - the request body must arrive within `http.body_timeout_ms` (reading it
//!   then fails with a timeout error, which `extract` answers 408);
//! - a response written before the request body was read to its end closes
//!   the connection: actix closes a connection whose unread body is still
//!   held when the response goes out (otherwise it would drain a chunked
//!   body, which a stalled client never finishes), so the body is held in
//!   the response until it is written, and `Connection: close` is set.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{ConnectionType, Method};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError, web};
use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::ApiError;
use crate::reload::RuntimeConfig;

/// Open connections per client address, shared by every worker.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// Kept in a connection's data for as long as the connection lives: counts
/// it against its address and knows whether it was over the limit.
#[derive(Debug)]
pub struct ClientSlot {
    ip: IpAddr,
    over: Option<usize>,
    counts: Arc<ConnectionCounts>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The `on_connect` hook of the server: counts the connection against its
/// peer's address (`limit` 0: no limit).
pub fn on_connect(
    counts: Arc<ConnectionCounts>,
    limit: usize,
) -> impl Fn(&dyn std::any::Any, &mut Extensions) + Send + Sync + 'static {
    move |io, data| {
        let tcp = io.downcast_ref::<actix_web::rt::net::TcpStream>().or_else(|| {
            io.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>>()
                .map(|tls| tls.get_ref().0)
        });
        let Some(peer) = tcp.and_then(|stream| stream.peer_addr().ok()) else {
            return;
        };
        let ip = peer.ip();
        let mut open = counts.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_default();
        *n += 1;
        let over = (limit > 0 && *n > limit).then_some(limit);
        drop(open);
        data.insert(ClientSlot {
            ip,
            over,
            counts: counts.clone(),
        });
    }
}

/// The middleware (outermost: it sees every request first).
pub async fn edge(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let live = req
        .app_data::<web::Data<RuntimeConfig>>()
        .map(|runtime| runtime.live());
    let Some(live) = live else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let config = &live.config;
    let has_body = has_body(req.headers());
    let head = head_bytes(&req);
    if head > config.http.max_header_bytes {
        let err = ApiError::HeadersTooLarge(format!(
            "the request head is {head} bytes; the limit is {}",
            config.http.max_header_bytes
        ));
        return Ok(refuse_and_close(req, err, has_body));
    }
    if let Some(limit) = req.conn_data::<ClientSlot>().and_then(|slot| slot.over) {
        let err = ApiError::Registry(protoreg_core::RegistryError::Unavailable(format!(
            "too many open connections from this address (the limit is {limit}); close some and retry"
        )));
        // Closed whatever it was: the connection is the problem.
        return Ok(refuse_and_close(req, err, has_body));
    }
    let anonymous = live
        .auth
        .as_ref()
        .map(|settings| settings.anonymous.is_some())
        .unwrap_or(true);
    if anonymous && let Err(err) = check_host(req.headers(), &config.http.allowed_hosts) {
        return Ok(refuse(req, err, has_body));
    }
    if let Err(err) = check_origin(&req, &config.http.allowed_origins) {
        return Ok(refuse(req, err, has_body));
    }
    if req.method() == Method::HEAD {
        // The codec already knows the request is HEAD and writes no body.
        req.head_mut().method = Method::GET;
    }
    let held = Rc::new(RefCell::new(req.take_payload()));
    let finished = Rc::new(Cell::new(!has_body));
    let timeout = Duration::from_millis(config.http.body_timeout_ms.max(1));
    req.set_payload(Payload::Stream {
        payload: Box::pin(TimedPayload {
            inner: held.clone(),
            finished: finished.clone(),
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }),
    });
    let response = next.call(req).await?.map_into_boxed_body();
    if finished.get() {
        Ok(response)
    } else {
        Ok(close_holding(response, held))
    }
}

/// [`refuse`], and close the connection even when the request has no body.
fn refuse_and_close(
    req: ServiceRequest,
    err: ApiError,
    has_body: bool,
) -> ServiceResponse<BoxBody> {
    let mut response = refuse(req, err, has_body);
    response
        .response_mut()
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response
}

/// The size of the request head as sent: request line and headers, each
/// with its separators.
fn head_bytes(req: &ServiceRequest) -> usize {
    let target = req
        .uri()
        .path_and_query()
        .map_or(1, |target| target.as_str().len());
    let line = req.method().as_str().len() + target + " HTTP/1.1\r\n".len() + 1;
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + line
}

/// Whether the request has a body to read.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().map_or(true, |v| v.trim() != "0"))
}

/// Answers `err` at once; with an unread body, closes the connection.
fn refuse(req: ServiceRequest, err: ApiError, has_body: bool) -> ServiceResponse<BoxBody> {
    let (req, payload) = req.into_parts();
    let response = ServiceResponse::new(req, err.error_response());
    if has_body {
        close_holding(response, Rc::new(RefCell::new(payload)))
    } else {
        response
    }
}

/// Closes the connection after `response`: actix does so when the request
/// body is unfinished and still held when the response has been written
/// (dropped, a chunked body would be drained, for ever if it stalled), so
/// the response body holds it.
fn close_holding(
    mut response: ServiceResponse<BoxBody>,
    request_body: Rc<RefCell<Payload>>,
) -> ServiceResponse<BoxBody> {
    response
        .response_mut()
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response.map_body(|_, body| {
        BoxBody::new(Holding {
            body,
            _request_body: request_body,
        })
    })
}

/// A response body that holds the unread request body until it is dropped.
struct Holding {
    body: BoxBody,
    _request_body: Rc<RefCell<Payload>>,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// The request body with a deadline; records whether it was read to its end.
struct TimedPayload {
    inner: Rc<RefCell<Payload>>,
    finished: Rc<Cell<bool>>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl Stream for TimedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished.get() {
            return Poll::Ready(None);
        }
        let polled = self.inner.borrow_mut().poll_next_unpin(cx);
        match polled {
            Poll::Ready(None) => {
                self.finished.set(true);
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "the request body did not arrive within {} ms",
                        self.timeout.as_millis()
                    ),
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// The host part of a `Host` value (no port, no brackets), lower-cased.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a `Host` value (or an `http.allowed_hosts` entry) has a port.
fn has_port(host: &str) -> bool {
    let host = host.trim();
    if host.starts_with('[') {
        host.contains("]:")
    } else {
        host.matches(':').count() == 1
    }
}

/// Whether `Host` may be served to anonymous callers.
fn check_host(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::HOST) else {
        // HTTP/1.0 without Host: no browser sends that.
        return Ok(());
    };
    let host = value.to_str().unwrap_or_default();
    let name = host_name(host);
    let loopback = name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    // `name` matches it on any port, `name:port` on that port only.
    let listed = allowed.iter().any(|entry| {
        entry.trim().eq_ignore_ascii_case(host.trim())
            || !has_port(entry) && host_name(entry) == name
    });
    if loopback || listed {
        Ok(())
    } else {
        Err(ApiError::permission_denied(format!(
            "host {:?} is not served while anonymous access is on: use a loopback address or localhost, or list it in http.allowed_hosts",
            String::from_utf8_lossy(value.as_bytes())
        )))
    }
}

/// Whether `origin` may use this server: its own origin or a listed one.
pub fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.trim().trim_end_matches('/');
    let own = host.is_some_and(|host| {
        ["http://", "https://"].iter().any(|scheme| {
            origin
                .strip_prefix(scheme)
                .is_some_and(|rest| rest.eq_ignore_ascii_case(host.trim()))
        })
    });
    own || allowed.iter().any(|entry| {
        entry
            .trim()
            .trim_end_matches('/')
            .eq_ignore_ascii_case(origin)
    })
}

/// Refuses a state-changing request or a preflight from a foreign origin.
fn check_origin(req: &ServiceRequest, allowed: &[String]) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe && !preflight {
        return Ok(());
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let text = origin.to_str().unwrap_or_default();
    if origin_allowed(text, host, allowed) {
        Ok(())
    } else {
        Err(ApiError::permission_denied(format!(
            "requests from origin {:?} may not change anything here: list it in http.allowed_origins",
            String::from_utf8_lossy(origin.as_bytes())
        )))
    }
}

/// CORS for the allowed origins (and the server's own): preflights and
/// response headers; other origins get none.
pub fn cors(allowed: Vec<String>) -> actix_cors::Cors {
    actix_cors::Cors::default()
        .allowed_origin_fn(move |origin, head| {
            let host = head
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok());
            origin
                .to_str()
                .is_ok_and(|origin| origin_allowed(origin, host, &allowed))
        })
        .allowed_methods(["GET", "HEAD", "PUT", "POST", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::CONTENT_ENCODING,
            header::ACCEPT,
            header::IF_NONE_MATCH,
        ])
        .expose_headers([
            header::ETAG,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(600)
        .block_on_origin_mismatch(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_match_with_or_without_port() {
        let allowed = vec![
            "registry.internal".to_owned(),
            "[fd00::1]".to_owned(),
            "10.0.0.5:8080".to_owned(),
        ];
        let ok = |host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, host.parse().unwrap());
            check_host(&headers, &allowed).is_ok()
        };
        assert!(ok("registry.internal:9000"));
        assert!(ok("[fd00::1]:8080"));
        assert!(ok("10.0.0.5:8080"));
        assert!(!ok("10.0.0.5:8081"));
        assert!(!ok("registry.internal.evil"));
        assert!(ok("127.0.0.1:1") && ok("[::1]") && ok("localhost"));
    }

    #[test]
    fn host_names() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("LocalHost."), "localhost");
        assert_eq!(host_name("evil.example:1"), "evil.example");
    }

    #[test]
    fn origins() {
        let none: Vec<String> = Vec::new();
        assert!(origin_allowed(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            &none
        ));
        assert!(!origin_allowed(
            "http://evil.example",
            Some("127.0.0.1:8080"),
            &none
        ));
        assert!(!origin_allowed("null", Some("127.0.0.1:8080"), &none));
        let listed = vec!["https://console.example".to_owned()];
        assert!(origin_allowed(
            "https://console.example",
            Some("x"),
            &listed
        ));
        assert!(!origin_allowed(
            "https://console.example.evil",
            Some("x"),
            &listed
        ));
    }
}
