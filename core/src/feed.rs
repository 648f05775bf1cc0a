//! The event feed behind `GET /v1/events` and `GET /v1/events/stream`.
//!
//! One task per process follows the outbox: woken by this process's
//! commits ([`Store::committed`]) and, for events other replicas wrote, by a
//! periodic look, it reads each new event once into a bounded buffer of
//! recent events and announces the newest id on a `watch` channel. A held
//! request is a future waiting on that channel: it costs no thread and no
//! polling loop, and wakes on the next event. Readers whose cursor is older
//! than the buffer read the store.
//!
//! Retention: a second task deletes events older than the retention period
//! and records the highest id deleted (the watermark); a reader asking for
//! the events after an id below it is told `truncated`. Pruning goes by age
//! only, never held back by a sink's cursor: a sink (or a client) more than
//! the retention period behind resumes at the oldest kept event.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;

use crate::auth::{ALL_NAMESPACES, Principal};
use crate::error::{RegistryError, Result};
use crate::ids::BUILTINS;
use crate::store::{EventRow, EventSelection, Store};

/// Recent events kept in memory for held readers.
const RECENT: usize = 4096;
/// Events read from the store per query while catching up.
const CATCH_UP_BATCH: i64 = 500;
/// Events deleted per prune transaction.
const PRUNE_BATCH: i64 = 1000;

/// `[events]` of the configuration, as the feed uses it.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    /// Events older than this are pruned.
    pub retention: Duration,
    pub prune_interval: Duration,
    /// How often the feed looks for events other processes wrote.
    pub poll_interval: Duration,
    /// Held requests (long polls waiting, open streams) at once; more are
    /// refused as `unavailable`.
    pub max_held: usize,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(30 * 86_400),
            prune_interval: Duration::from_secs(600),
            poll_interval: Duration::from_secs(1),
            max_held: 1024,
        }
    }
}

/// An event as the API shows it (docs/API.md, Events).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    pub kind: String,
    /// `None` for events of no namespace (token audit events).
    pub namespace: Option<String>,
    pub created_at: DateTime<Utc>,
    pub payload: Value,
}

impl Event {
    fn of(row: EventRow) -> Self {
        Self {
            id: row.id,
            payload: serde_json::from_str(&row.payload).unwrap_or(Value::String(row.payload)),
            kind: row.kind,
            namespace: (!row.namespace.is_empty()).then_some(row.namespace),
            created_at: crate::convert::to_utc(row.created_at),
        }
    }
}

/// Whose events a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A global admin: every event, those of no namespace too.
    Everything,
    /// Read in every namespace (`"*"`), without global admin.
    AllNamespaces,
    /// These namespaces (`__builtins__`, which every caller may read,
    /// among them).
    Namespaces(Vec<String>),
}

impl Scope {
    pub fn of(principal: &Principal) -> Self {
        if principal.is_global_admin() {
            Scope::Everything
        } else if principal
            .grants
            .iter()
            .any(|grant| grant.namespace == ALL_NAMESPACES)
        {
            Scope::AllNamespaces
        } else if principal.grants.is_empty() {
            Scope::Namespaces(Vec::new())
        } else {
            let mut namespaces: Vec<String> = principal
                .grants
                .iter()
                .map(|grant| grant.namespace.clone())
                .chain([BUILTINS.to_owned()])
                .collect();
            namespaces.sort();
            namespaces.dedup();
            Scope::Namespaces(namespaces)
        }
    }

    /// Whether events of `namespace` (`""`: of none) are in scope.
    pub fn admits(&self, namespace: &str) -> bool {
        match self {
            Scope::Everything => true,
            Scope::AllNamespaces => !namespace.is_empty(),
            Scope::Namespaces(list) => list.iter().any(|n| n == namespace),
        }
    }
}

/// What a reader sees: its scope, and what it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    pub scope: Scope,
    pub namespace: Option<String>,
    /// `None`: every kind.
    pub kinds: Option<Vec<String>>,
}

impl EventFilter {
    pub fn admits(&self, event: &Event) -> bool {
        let namespace = event.namespace.as_deref().unwrap_or_default();
        self.scope.admits(namespace)
            && self.namespace.as_deref().is_none_or(|n| n == namespace)
            && self
                .kinds
                .as_ref()
                .is_none_or(|kinds| kinds.contains(&event.kind))
    }

    fn selection(&self) -> EventSelection {
        let (namespaces, exclude_global) = match (&self.namespace, &self.scope) {
            (Some(namespace), scope) => (
                Some(if scope.admits(namespace) {
                    vec![namespace.clone()]
                } else {
                    Vec::new()
                }),
                false,
            ),
            (None, Scope::Everything) => (None, false),
            (None, Scope::AllNamespaces) => (None, true),
            (None, Scope::Namespaces(list)) => (Some(list.clone()), false),
        };
        EventSelection {
            namespaces,
            exclude_global,
            kinds: self.kinds.clone(),
        }
    }
}

/// One answer: the events after the cursor, oldest first, and where to
/// continue.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub events: Vec<Arc<Event>>,
    /// Pass as the next `after`: the last event's id when the page is full,
    /// else the newest id looked at (events the filter left out are not
    /// looked at again).
    pub last_id: i64,
    /// The cursor is below the retention watermark: events after it were
    /// pruned, and some may have been missed.
    pub truncated: bool,
}

/// The events of `(start, head]`, all of them, oldest first.
struct Recent {
    start: i64,
    head: i64,
    watermark: i64,
    events: VecDeque<Arc<Event>>,
}

impl Recent {
    fn covers(&self, after: i64) -> bool {
        after >= self.start
    }

    fn page(&self, after: i64, filter: &EventFilter, limit: usize) -> Page {
        let first = self.events.partition_point(|e| e.id <= after);
        let events: Vec<Arc<Event>> = self
            .events
            .range(first..)
            .filter(|e| filter.admits(e))
            .take(limit)
            .cloned()
            .collect();
        Page {
            last_id: last_id(&events, limit, self.head, after),
            events,
            truncated: after < self.watermark,
        }
    }

    fn push(&mut self, event: Event) {
        if event.id <= self.head {
            return;
        }
        self.head = event.id;
        self.events.push_back(Arc::new(event));
        while self.events.len() > RECENT {
            if let Some(dropped) = self.events.pop_front() {
                self.start = dropped.id;
            }
        }
    }

    fn prune(&mut self, watermark: i64) {
        self.watermark = self.watermark.max(watermark);
        while self.events.front().is_some_and(|e| e.id <= watermark) {
            self.events.pop_front();
        }
        self.start = self.start.max(watermark);
        self.head = self.head.max(watermark);
    }
}

fn last_id(events: &[Arc<Event>], limit: usize, head: i64, after: i64) -> i64 {
    match events.last() {
        Some(last) if events.len() >= limit => last.id,
        _ => head.max(after),
    }
}

/// The feed: cheap to clone, one per process ([`EventFeed::start`]).
#[derive(Clone)]
pub struct EventFeed {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventFeed")
            .field("held", &self.held())
            .finish_non_exhaustive()
    }
}

struct Inner {
    store: Store,
    config: FeedConfig,
    recent: RwLock<Recent>,
    /// The newest event id in `recent`.
    head: watch::Sender<i64>,
    closed: watch::Sender<bool>,
    held: AtomicUsize,
}

/// What a held reader woke up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A new event (perhaps not one the reader wants).
    NewEvents,
    TimedOut,
    /// The server is shutting down.
    Closed,
}

/// A held request: counts against `max_held` until dropped, and waits for
/// the next event.
pub struct Held {
    inner: Arc<Inner>,
    head: watch::Receiver<i64>,
    closed: watch::Receiver<bool>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

impl Held {
    /// Waits for an event newer than the last one this reader was woken
    /// for (or than when it was made), at most `timeout`.
    pub async fn wait(&mut self, timeout: Duration) -> Wake {
        if *self.closed.borrow() {
            return Wake::Closed;
        }
        tokio::select! {
            changed = self.head.changed() => match changed {
                Ok(()) => Wake::NewEvents,
                Err(_) => Wake::Closed,
            },
            _ = closed_wait(&mut self.closed) => Wake::Closed,
            _ = tokio::time::sleep(timeout) => Wake::TimedOut,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.inner.held.fetch_sub(1, Ordering::AcqRel);
    }
}

impl EventFeed {
    /// Reads where the outbox stands and starts the follower and the
    /// pruner on the current runtime.
    pub async fn start(store: Store, config: FeedConfig) -> Result<Self> {
        let feed = Self::new(store, config).await?;
        tokio::spawn(follow(feed.inner.clone()));
        tokio::spawn(prune(feed.inner.clone()));
        Ok(feed)
    }

    async fn new(store: Store, config: FeedConfig) -> Result<Self> {
        let head = store.last_event_id().await?;
        let watermark = store.events_watermark().await?;
        let recent = Recent {
            start: head,
            head,
            watermark,
            events: VecDeque::new(),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                recent: RwLock::new(recent),
                head: watch::Sender::new(head),
                closed: watch::Sender::new(false),
                held: AtomicUsize::new(0),
            }),
        })
    }

    /// Requests held now (long polls waiting, streams open).
    pub fn held(&self) -> usize {
        self.inner.held.load(Ordering::Acquire)
    }

    pub fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    /// Releases every held request and stops the tasks (at shutdown).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// A slot for a held request, subscribed from now on; `unavailable`
    /// when `max_held` are held already.
    pub fn hold(&self) -> Result<Held> {
        let max = self.inner.config.max_held;
        let taken = self
            .inner
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < max).then_some(held + 1)
            });
        if taken.is_err() {
            return Err(RegistryError::Unavailable(format!(
                "{max} requests are waiting for events already (events.max_held_requests); retry later"
            )));
        }
        Ok(Held {
            inner: self.inner.clone(),
            head: self.inner.head.subscribe(),
            closed: self.inner.closed.subscribe(),
        })
    }

    /// Up to `limit` events after `after` that `filter` admits, now: every
    /// event committed before the call is looked at (a client reads its own
    /// writes), so the buffer catches up first.
    pub async fn read(&self, after: i64, filter: &EventFilter, limit: usize) -> Result<Page> {
        self.inner.catch_up().await?;
        self.read_known(after, filter, limit).await
    }

    /// [`EventFeed::read`] of the events the feed has read already: for a
    /// reader the follower woke, which need not look at the store again.
    pub async fn read_known(&self, after: i64, filter: &EventFilter, limit: usize) -> Result<Page> {
        let upto = {
            let recent = self.inner.recent.read().unwrap_or_else(|e| e.into_inner());
            if recent.covers(after) {
                return Ok(recent.page(after, filter, limit));
            }
            recent.head
        };
        let (rows, watermark) = self
            .inner
            .store
            .events_page(after, upto, &filter.selection(), limit as i64)
            .await?;
        let events: Vec<Arc<Event>> = rows.into_iter().map(|r| Arc::new(Event::of(r))).collect();
        Ok(Page {
            last_id: last_id(&events, limit, upto, after),
            events,
            truncated: after < watermark,
        })
    }

    /// A long poll: the events after `after` as [`EventFeed::read`], and
    /// when there are none, held until one arrives, `wait` passes or the
    /// server shuts down (then an empty page). `unavailable` when it would
    /// be held and `max_held` are held already.
    pub async fn poll(
        &self,
        after: i64,
        filter: &EventFilter,
        limit: usize,
        wait: Duration,
    ) -> Result<Page> {
        let first = self.read(after, filter, limit).await?;
        if !first.events.is_empty() || wait.is_zero() || self.is_closed() {
            return Ok(first);
        }
        // Subscribed before the second read: an event committed between
        // that read and the wait wakes it.
        let mut held = self.hold()?;
        let deadline = tokio::time::Instant::now() + wait;
        let truncated = first.truncated;
        let mut page = self.read_known(first.last_id, filter, limit).await?;
        loop {
            if !page.events.is_empty() {
                page.truncated |= truncated;
                return Ok(page);
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match held.wait(left).await {
                Wake::NewEvents if !left.is_zero() => {}
                _ => {
                    return Ok(Page {
                        events: Vec::new(),
                        last_id: page.last_id,
                        truncated,
                    });
                }
            }
            page = self.read_known(page.last_id, filter, limit).await?;
        }
    }
}

impl Inner {
    /// Reads every event past the buffer's head into it, then announces
    /// the new head.
    async fn catch_up(&self) -> Result<()> {
        loop {
            let from = self.recent.read().unwrap_or_else(|e| e.into_inner()).head;
            let rows = self.store.events_after(from, CATCH_UP_BATCH).await?;
            let full = rows.len() as i64 == CATCH_UP_BATCH;
            let head = {
                let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
                for row in rows {
                    recent.push(Event::of(row));
                }
                recent.head
            };
            self.head.send_if_modified(|announced| {
                let newer = head > *announced;
                *announced = head.max(*announced);
                newer
            });
            if !full {
                return Ok(());
            }
        }
    }

    fn apply_watermark(&self, watermark: i64) {
        self.recent
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .prune(watermark);
    }
}

/// Resolves once the feed is closed (or its sender gone).
async fn closed_wait(closed: &mut watch::Receiver<bool>) {
    let _ = closed.wait_for(|closed| *closed).await.map(|_| ());
}

/// The follower: catches up after each commit of this process, and every
/// poll interval for other processes' events (and their prunes).
async fn follow(inner: Arc<Inner>) {
    let mut closed = inner.closed.subscribe();
    let mut failing = false;
    loop {
        let committed = inner.store.committed().notified();
        tokio::pin!(committed);
        committed.as_mut().enable();
        match inner.catch_up().await {
            Ok(()) if failing => {
                tracing::info!("the event feed reads the outbox again");
                failing = false;
            }
            Ok(()) => {}
            Err(err) if !failing => {
                tracing::warn!(%err, "the event feed cannot read the outbox; retrying");
                failing = true;
            }
            Err(_) => {}
        }
        let periodic = tokio::select! {
            _ = &mut committed => false,
            _ = tokio::time::sleep(inner.config.poll_interval) => true,
            _ = closed_wait(&mut closed) => return,
        };
        // Other replicas prune too.
        if periodic && let Ok(watermark) = inner.store.events_watermark().await {
            inner.apply_watermark(watermark);
        }
    }
}

/// The pruner: every prune interval, deletes the events older than the
/// retention period.
async fn prune(inner: Arc<Inner>) {
    let mut closed = inner.closed.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(inner.config.prune_interval) => {}
            _ = closed_wait(&mut closed) => return,
        }
        // One replica prunes at a time (the others learn the watermark on
        // their periodic look).
        match inner.store.hold_lease("events:retention").await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(err) => {
                tracing::warn!(%err, "pruning old events: cannot take the lease; retrying later");
                continue;
            }
        }
        let Ok(retention) = chrono::Duration::from_std(inner.config.retention) else {
            continue;
        };
        let Some(cutoff) = crate::store::now().checked_sub_signed(retention) else {
            continue;
        };
        match inner.store.prune_events(cutoff, PRUNE_BATCH).await {
            Ok(Some(watermark)) => {
                tracing::info!(watermark, "pruned events past their retention");
                inner.apply_watermark(watermark);
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(%err, "pruning old events failed; retrying later"),
        }
    }
}

#[cfg(test)]
mod tests;
