//! The event API: `GET /v1/events` (a long poll) and `GET /v1/events/stream`
//! (server-sent events), both over the process's event feed
//! (`protoreg_core::feed`), both showing only events of namespaces the
//! caller may read.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use protoreg_core::auth::Role;
use protoreg_core::feed::{Event, EventFeed, EventFilter, Held, Scope, Wake};
use protoreg_core::{NamespaceId, store::EVENT_KINDS};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

/// The longest `wait` (docs/API.md).
pub const MAX_WAIT_SECS: u64 = 60;
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events with a larger id than this (default 0).
    pub after: Option<i64>,
    /// Seconds to hold the request when there is nothing new (at most 60;
    /// default 0: answer at once).
    pub wait: Option<u64>,
    /// Only this namespace's events (the caller needs read in it).
    pub namespace: Option<String>,
    /// Only events of these kinds (comma-separated).
    pub kind: Option<String>,
    /// At most this many events (default 100, at most 1000).
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Events with a larger id than this (default 0); `Last-Event-ID`
    /// takes precedence.
    pub after: Option<i64>,
    /// Only this namespace's events (the caller needs read in it).
    pub namespace: Option<String>,
    /// Only events of these kinds (comma-separated).
    pub kind: Option<String>,
}

/// One answer of `GET /v1/events`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// `{id, kind, namespace, created_at, payload}` each, in id order.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Event>,
    /// Pass as the next `after`.
    last_id: i64,
    /// Events after `after` were pruned (retention): some may be missed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

/// One server-sent event of `GET /v1/events/stream`, as an event-stream
/// parser reads it (the OpenAPI schema of each event).
#[derive(Debug, utoipa::ToSchema)]
pub struct StreamEvent {
    /// The event id (`Last-Event-ID` resumes after it); none for `truncated`.
    id: Option<String>,
    /// The event's kind, or `truncated`.
    event: String,
    /// The Event JSON `{id, kind, namespace, created_at, payload}`, or
    /// `{truncated: true, after}`.
    data: String,
}

impl StreamEvent {
    fn frame(&self) -> Bytes {
        let id = self
            .id
            .as_ref()
            .map(|id| format!("id: {id}\n"))
            .unwrap_or_default();
        Bytes::from(format!(
            "{id}event: {}\ndata: {}\n\n",
            self.event, self.data
        ))
    }
}

fn feed(req: &HttpRequest) -> ApiResult<web::Data<EventFeed>> {
    req.app_data::<web::Data<EventFeed>>()
        .cloned()
        .ok_or_else(|| {
            ApiError::Registry(protoreg_core::RegistryError::Unavailable(
                "the event feed is not running".into(),
            ))
        })
}

/// The caller's scope and the filters asked for, checked.
fn filter(
    req: &HttpRequest,
    namespace: Option<&str>,
    kind: Option<&str>,
) -> ApiResult<EventFilter> {
    let namespace = match namespace {
        None => None,
        Some(name) => {
            let id = NamespaceId::parse(name)?;
            crate::auth::require_namespace_role(req, id.as_str(), Role::Read)?;
            Some(id.as_str().to_owned())
        }
    };
    let kinds = match kind {
        None => None,
        Some(list) => Some(
            list.split(',')
                .map(|kind| {
                    let kind = kind.trim();
                    if EVENT_KINDS.contains(&kind) {
                        Ok(kind.to_owned())
                    } else {
                        Err(ApiError::invalid(format!(
                            "unknown event kind {kind:?}: one of {}",
                            EVENT_KINDS.join(", ")
                        )))
                    }
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
    };
    Ok(EventFilter {
        scope: Scope::of(&crate::auth::caller(req)),
        namespace,
        kinds,
    })
}

fn cursor(after: Option<i64>) -> ApiResult<i64> {
    match after {
        Some(after) if after < 0 => Err(ApiError::invalid("after must be 0 or more")),
        other => Ok(other.unwrap_or(0)),
    }
}

/// Events in id order after `after`; with `wait`, held until one arrives.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, description = "The events after `after` the caller may read (empty when `wait` passed with none), `last_id` to continue from, and `truncated: true` when events after `after` were pruned", body = EventPage),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 503, description = "`unavailable`: `events.max_held_requests` requests are held already"),
    )
)]
pub async fn list(req: HttpRequest, query: web::Query<EventsQuery>) -> ApiResult<HttpResponse> {
    let after = cursor(query.after)?;
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::invalid(format!(
            "wait must be at most {MAX_WAIT_SECS} seconds"
        )));
    }
    let limit = match query.limit {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::invalid(format!(
                "limit must be from 1 to {MAX_LIMIT}"
            )));
        }
    };
    let filter = filter(&req, query.namespace.as_deref(), query.kind.as_deref())?;
    let page = feed(&req)?
        .poll(after, &filter, limit, Duration::from_secs(wait))
        .await?;
    Ok(HttpResponse::Ok().json(EventPage {
        events: page.events.iter().map(|e| Event::clone(e)).collect(),
        last_id: page.last_id,
        truncated: page.truncated,
    }))
}

/// The events after `after` (or `Last-Event-ID`), then each new one as it
/// commits, as server-sent events.
#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "events",
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: each event as `id: <id>`, `event: <kind>`, `data: <Event JSON>`; a `: keep-alive` comment every `events.keep_alive_ms`; first an `event: truncated` (no id) when events after the cursor were pruned", content_type = "text/event-stream", body = StreamEvent),
        (status = 400, description = "Invalid argument: a malformed path parameter, query or body"),
        (status = 503, description = "`unavailable`: `events.max_held_requests` requests are held already"),
    )
)]
pub async fn stream(
    req: HttpRequest,
    query: web::Query<StreamQuery>,
    runtime: web::Data<crate::reload::RuntimeConfig>,
) -> ApiResult<HttpResponse> {
    let last_event_id = match req.headers().get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or_else(|| ApiError::invalid("Last-Event-ID must be an event id"))?,
        ),
    };
    let after = match last_event_id {
        Some(id) => id,
        None => cursor(query.after)?,
    };
    let filter = filter(&req, query.namespace.as_deref(), query.kind.as_deref())?;
    let feed = feed(&req)?;
    let held = feed.hold()?;
    let keep_alive = Duration::from_millis(runtime.current().events.keep_alive_ms);
    let state = Stream {
        feed: feed.into_inner(),
        held,
        filter,
        cursor: after,
        keep_alive,
        pending: VecDeque::new(),
        first: true,
        done: false,
    };
    let body = futures::stream::unfold(state, |mut state| async move {
        state
            .next()
            .await
            .map(|chunk| (Ok::<_, actix_web::Error>(chunk), state))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// An open event stream: what it has to send, and where it is.
struct Stream {
    feed: Arc<EventFeed>,
    held: Held,
    filter: EventFilter,
    cursor: i64,
    keep_alive: Duration,
    pending: VecDeque<Bytes>,
    first: bool,
    done: bool,
}

impl Stream {
    /// The next chunk; `None` ends the stream (shutdown, or the store
    /// failing).
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some(chunk);
            }
            if self.done {
                return None;
            }
            let page = if self.first {
                self.feed.read(self.cursor, &self.filter, MAX_LIMIT).await
            } else {
                self.feed
                    .read_known(self.cursor, &self.filter, MAX_LIMIT)
                    .await
            };
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    tracing::warn!(%err, "event stream: reading events failed; closing it");
                    self.done = true;
                    return Some(Bytes::from_static(b": error reading events\n\n"));
                }
            };
            if std::mem::take(&mut self.first) && page.truncated {
                let data = serde_json::json!({"truncated": true, "after": self.cursor});
                self.pending.push_back(
                    StreamEvent {
                        id: None,
                        event: "truncated".into(),
                        data: data.to_string(),
                    }
                    .frame(),
                );
            }
            self.cursor = page.last_id;
            for event in &page.events {
                let data = serde_json::to_string(event.as_ref()).unwrap_or_default();
                self.pending.push_back(
                    StreamEvent {
                        id: Some(event.id.to_string()),
                        event: event.kind.clone(),
                        data,
                    }
                    .frame(),
                );
            }
            if !self.pending.is_empty() {
                continue;
            }
            match self.held.wait(self.keep_alive).await {
                Wake::NewEvents => {}
                Wake::TimedOut => return Some(Bytes::from_static(b": keep-alive\n\n")),
                Wake::Closed => return None,
            }
        }
    }
}
