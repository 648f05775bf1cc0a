//! [`Resolver`]: a namespace's descriptors behind an atomic pointer, kept
//! current by the registry's event stream.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};
use bytes::{Bytes, BytesMut};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use crate::cache;
use crate::client::{Client, Descriptor, EventQuery};
use crate::error::{Error, Result};
use crate::snapshot::{Format, Origin, Snapshot};
use crate::sse::StreamItem;

/// A callback of [`Resolver::on_change`].
type Callback = Arc<dyn Fn(&Arc<Snapshot>) + Send + Sync>;

/// Event kinds that never change a namespace's current descriptors: no
/// refetch for them. Every other kind of the namespace (promote, sync,
/// create, delete, and kinds added later) refetches, conditionally.
const UNCHANGING_KINDS: &[&str] = &[
    "schema.published",
    "schema.rolled_back",
    "staging.discarded",
    "codegen.finished",
];

/// Events read per page while looking for the newest id.
const HEAD_PAGE: usize = 1000;

/// Sets up a [`Resolver`]: [`Resolver::builder`].
#[derive(Debug, Clone)]
pub struct ResolverBuilder {
    client: Client,
    namespace: String,
    schemas: Option<Vec<String>>,
    cache_dir: Option<PathBuf>,
    start_timeout: Duration,
    idle_timeout: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
}

impl ResolverBuilder {
    /// Only these schemas' current files (and their imports) instead of the
    /// whole namespace. Each schema's descriptor is fetched on its own (by
    /// ETag, so only the changed ones are downloaded again).
    pub fn schemas<I, S>(mut self, schemas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut list: Vec<String> = schemas.into_iter().map(Into::into).collect();
        list.sort();
        list.dedup();
        self.schemas = Some(list);
        self
    }

    /// Persists the last good snapshot in `dir` and starts from it when the
    /// registry is unreachable at start.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// How long [`start`](Self::start) tries the registry before it falls
    /// back to the cache (default 10 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// A stream silent this long (no event, no keep-alive) is taken for
    /// dead and reopened (default 45 s; the server sends a keep-alive at
    /// least every 15 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The first and the longest wait between reconnection attempts
    /// (default 100 ms doubling to 5 s, with jitter).
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }

    /// Loads the first snapshot — from the registry, or from `cache_dir`
    /// when the registry is unreachable (a transport error or a 5xx) — and
    /// starts following the event stream on the current tokio runtime.
    ///
    /// Fails when the registry refuses (e.g. 404 `not_found`, 403) or when
    /// it is unreachable and there is no usable cache.
    pub async fn start(self) -> Result<Resolver> {
        let cache_file = self
            .cache_dir
            .as_deref()
            .map(|dir| cache::file(dir, &self.namespace, self.schemas.as_deref()));
        let parts = match &self.schemas {
            None => vec![Part::default()],
            Some(list) => list.iter().map(|_| Part::default()).collect(),
        };
        let mut follower = Follower {
            shared: None,
            client: self.client.clone(),
            namespace: self.namespace.clone(),
            schemas: self.schemas.clone(),
            cache_file,
            parts,
            cursor: None,
            want_revision: None,
            revision_etag: None,
            idle_timeout: self.idle_timeout,
            min_backoff: self.min_backoff,
            max_backoff: self.max_backoff,
            generation: 0,
        };
        let first = tokio::time::timeout(self.start_timeout, async {
            let head = follower.head().await?;
            follower.cursor = Some(head);
            follower.fetch().await
        })
        .await;
        let snapshot = match first {
            Ok(Ok(Some(snapshot))) => snapshot,
            Ok(Ok(None)) => {
                return Err(Error::Unexpected(
                    "304 Not Modified to a request without If-None-Match".into(),
                ));
            }
            Ok(Err(err)) if err.status().is_some_and(|s| s < 500) => return Err(err),
            Ok(Err(err)) => follower.load_cache(err.to_string())?,
            Err(_) => follower.load_cache(format!("no answer within {:?}", self.start_timeout))?,
        };
        let from_server = snapshot.origin == Origin::Server;
        let shared = Arc::new(Shared {
            current: ArcSwap::from_pointee(snapshot),
            callbacks: RwLock::new(Vec::new()),
            connected: AtomicBool::new(false),
        });
        follower.shared = Some(shared.clone());
        if from_server {
            follower.persist(&shared.current.load_full()).await;
        }
        let task = tokio::spawn(follower.run());
        Ok(Resolver {
            shared,
            task: Some(task),
        })
    }
}

/// What the resolver, its handles and the follower task share.
struct Shared {
    current: ArcSwap<Snapshot>,
    callbacks: RwLock<Vec<Callback>>,
    connected: AtomicBool,
}

/// The descriptors of one namespace (or a subset of its schemas), always
/// the latest state the registry pushed: lookups read an atomic pointer
/// and never block; a promote swaps the whole pool at once.
///
/// A background task follows `/v1/events/stream` for the namespace; on a
/// change it fetches the descriptor set (conditionally, by ETag) and swaps
/// it in. While the registry is unreachable the last good snapshot keeps
/// being served and the task reconnects with backoff, resuming with
/// `Last-Event-ID`. Dropping the resolver stops the task.
pub struct Resolver {
    shared: Arc<Shared>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.shared.current.load();
        f.debug_struct("Resolver")
            .field("namespace", &current.namespace)
            .field("generation", &current.generation)
            .field("origin", &current.origin)
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Resolver {
    /// A builder for a resolver of `namespace` through `client`.
    pub fn builder(client: Client, namespace: impl Into<String>) -> ResolverBuilder {
        ResolverBuilder {
            client,
            namespace: namespace.into(),
            schemas: None,
            cache_dir: None,
            start_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(45),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }

    /// A resolver of a fixed descriptor set that follows no registry (for
    /// tests and benchmarks, or a program given its descriptors).
    pub fn from_descriptor_set(namespace: &str, set: impl Into<Bytes>) -> Result<Self> {
        let snapshot = Snapshot::from_set(namespace, set.into(), None, None, Origin::Fixed, 1)?;
        Ok(Self {
            shared: Arc::new(Shared {
                current: ArcSwap::from_pointee(snapshot),
                callbacks: RwLock::new(Vec::new()),
                connected: AtomicBool::new(false),
            }),
            task: None,
        })
    }

    /// The current snapshot, held for as long as the caller keeps it: it
    /// never changes, however many newer ones arrive.
    pub fn pin(&self) -> Arc<Snapshot> {
        self.shared.current.load_full()
    }

    /// A short-lived view of the current snapshot (cheaper than
    /// [`pin`](Self::pin); do not hold it across awaits or for long).
    pub fn current(&self) -> Guard<Arc<Snapshot>> {
        self.shared.current.load()
    }

    /// The current pool (cheap to clone).
    pub fn pool(&self) -> DescriptorPool {
        self.current().pool.clone()
    }

    /// The message type `full_name` in the current snapshot.
    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.current().message(full_name)
    }

    /// Decodes binary `bytes` as a `type_name` message (current snapshot).
    pub fn decode(&self, type_name: &str, bytes: &[u8]) -> Result<DynamicMessage> {
        self.current().decode(type_name, bytes)
    }

    /// Checks that `input` is a valid `type_name` message (current
    /// snapshot).
    pub fn validate(&self, type_name: &str, input: &[u8], format: Format) -> Result<()> {
        self.current().validate(type_name, input, format)
    }

    /// Converts a `type_name` message between JSON and binary (current
    /// snapshot).
    pub fn transcode(
        &self,
        type_name: &str,
        input: &[u8],
        from: Format,
        to: Format,
    ) -> Result<Vec<u8>> {
        self.current().transcode(type_name, input, from, to)
    }

    /// Calls `callback` with each new snapshot after it was swapped in, on
    /// the resolver's task: keep it short, and do not block in it.
    pub fn on_change<F>(&self, callback: F)
    where
        F: Fn(&Arc<Snapshot>) + Send + Sync + 'static,
    {
        self.shared
            .callbacks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(callback));
    }

    /// Whether the event stream is open now (false while the registry is
    /// unreachable: the last good snapshot is served meanwhile).
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Relaxed)
    }
}

/// One fetched descriptor set: the namespace's, or one schema's.
#[derive(Default)]
struct Part {
    etag: Option<String>,
    set: Bytes,
}

/// The background task's state.
struct Follower {
    shared: Option<Arc<Shared>>,
    client: Client,
    namespace: String,
    schemas: Option<Vec<String>>,
    cache_file: Option<PathBuf>,
    parts: Vec<Part>,
    cursor: Option<i64>,
    /// The largest `revision` of the change events seen since the last
    /// refresh: the server may announce an event a moment before its
    /// in-memory view serves it, so a refresh first waits for it.
    want_revision: Option<i64>,
    /// The namespace descriptor's ETag [`Client::served_revision`] keeps
    /// (a gRPC-only client of a subset).
    revision_etag: Option<String>,
    idle_timeout: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
    generation: u64,
}

/// Why a connection ended.
enum Ended {
    Stream(String),
    Refresh(Error),
}

impl Follower {
    fn query(&self) -> EventQuery {
        EventQuery {
            after: None,
            namespace: Some(self.namespace.clone()),
            kinds: Vec::new(),
        }
    }

    /// The id of the newest event (of any namespace): a stream opened after
    /// it sees every later change of ours.
    ///
    /// A gRPC-only client has no call for it: 0, so the first stream
    /// replays the namespace's kept events (each batch one conditional
    /// fetch, which the ETag makes cheap).
    async fn head(&self) -> Result<i64> {
        if !self.client.has_http() {
            return Ok(0);
        }
        let mut query = self.query();
        loop {
            let page = self
                .client
                .events(&query, Duration::ZERO, HEAD_PAGE)
                .await?;
            if page.events.len() < HEAD_PAGE {
                return Ok(page.last_id);
            }
            query.after = Some(page.last_id);
        }
    }

    /// The current descriptors if they changed since the last fetch
    /// (`None`: every ETag matched).
    async fn fetch(&mut self) -> Result<Option<Snapshot>> {
        let (changed, _) = self.fetch_parts().await?;
        self.snapshot_if(changed)
    }

    /// Fetches every part (conditionally): whether any changed, and the
    /// revision the answer is of when the transport tells it (gRPC's
    /// `GetNamespaceDescriptor`).
    async fn fetch_parts(&mut self) -> Result<(bool, Option<i64>)> {
        let mut changed = false;
        let mut revision = None;
        for (i, part) in self.parts.iter_mut().enumerate() {
            let etag = part.etag.as_deref();
            let answer = match &self.schemas {
                None => {
                    let (answer, at) = self
                        .client
                        .descriptor_and_revision(&self.namespace, etag)
                        .await?;
                    revision = at;
                    answer
                }
                Some(list) => {
                    self.client
                        .schema_descriptor(&self.namespace, &list[i], "current", etag)
                        .await?
                }
            };
            if let Descriptor::Modified { bytes, etag } = answer {
                part.set = bytes;
                part.etag = etag;
                changed = true;
            }
        }
        Ok((changed, revision))
    }

    /// A new snapshot of the parts when they `changed`.
    fn snapshot_if(&mut self, changed: bool) -> Result<Option<Snapshot>> {
        if !changed {
            return Ok(None);
        }
        let (set, etag) = match self.schemas {
            None => (self.parts[0].set.clone(), self.parts[0].etag.clone()),
            Some(_) => (merge(self.parts.iter().map(|p| &p.set))?, None),
        };
        self.generation += 1;
        Snapshot::from_set(
            &self.namespace,
            set,
            etag,
            self.cursor,
            Origin::Server,
            self.generation,
        )
        .map(Some)
    }

    /// The cached snapshot, or [`Error::NoSnapshot`] saying why there is
    /// none.
    fn load_cache(&mut self, unreachable: String) -> Result<Snapshot> {
        let no_snapshot = |detail: String| Error::NoSnapshot {
            namespace: self.namespace.clone(),
            detail,
        };
        let Some(path) = &self.cache_file else {
            return Err(no_snapshot(format!(
                "the registry is unreachable ({unreachable}) and there is no cache_dir"
            )));
        };
        let Some((header, set)) = cache::read(path, &self.namespace, self.schemas.as_deref())
        else {
            return Err(no_snapshot(format!(
                "the registry is unreachable ({unreachable}) and {} holds no usable cache",
                path.display()
            )));
        };
        let snapshot = match Snapshot::from_set(
            &self.namespace,
            set,
            header.etag.clone(),
            header.last_event_id,
            Origin::Cache,
            1,
        ) {
            Ok(snapshot) => snapshot,
            Err(err) => {
                tracing::warn!(path = %path.display(), %err, "resolver cache ignored");
                return Err(no_snapshot(format!(
                    "the registry is unreachable ({unreachable}) and the cache is unusable"
                )));
            }
        };
        tracing::warn!(
            namespace = %self.namespace,
            error = %unreachable,
            "registry unreachable; serving the cached snapshot"
        );
        self.generation = 1;
        // The ETag lets the first refresh skip the download when the
        // registry still holds the cached state (namespace mode only).
        if self.schemas.is_none() {
            self.parts[0] = Part {
                etag: header.etag,
                set: snapshot.set.clone(),
            };
        }
        self.cursor = header.last_event_id;
        Ok(snapshot)
    }

    async fn persist(&self, snapshot: &Arc<Snapshot>) {
        let Some(path) = self.cache_file.clone() else {
            return;
        };
        let header = cache::Header {
            namespace: self.namespace.clone(),
            schemas: self.schemas.clone(),
            etag: snapshot.etag.clone(),
            last_event_id: snapshot.last_event_id,
            len: 0,
            sha256: String::new(),
        };
        let set = snapshot.set.clone();
        let written = tokio::task::spawn_blocking(move || cache::write(&path, header, &set)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(%err, "writing the resolver cache failed"),
            Err(err) => tracing::warn!(%err, "writing the resolver cache failed"),
        }
    }

    /// Fetches and, when it changed, swaps in, tells the callbacks and
    /// persists.
    async fn refresh(&mut self) -> Result<()> {
        let snapshot = match self.want_revision.take() {
            Some(want) if self.schemas.is_none() && self.client.speaks_grpc() => {
                self.fetch_revision(want).await?
            }
            Some(want) => {
                self.await_revision(want).await?;
                self.fetch().await?
            }
            None => self.fetch().await?,
        };
        let Some(snapshot) = snapshot else {
            return Ok(());
        };
        let snapshot = Arc::new(snapshot);
        let Some(shared) = self.shared.clone() else {
            return Ok(());
        };
        shared.current.store(snapshot.clone());
        tracing::debug!(
            namespace = %self.namespace,
            generation = snapshot.generation,
            "resolver swapped in a new snapshot"
        );
        let callbacks: Vec<Callback> = shared
            .callbacks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for callback in callbacks {
            callback(&snapshot);
        }
        self.persist(&snapshot).await;
        Ok(())
    }

    /// Fetches (conditionally) until the answer is of revision `want` or
    /// later (at most 5 s, with a doubling pause from 1 ms): over gRPC the
    /// descriptor's answer tells its revision, so no other call is needed.
    async fn fetch_revision(&mut self, want: i64) -> Result<Option<Snapshot>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut pause = Duration::from_millis(1);
        let mut changed = false;
        loop {
            let (fetched, revision) = self.fetch_parts().await?;
            changed |= fetched;
            if revision.is_none_or(|r| r >= want) || tokio::time::Instant::now() >= deadline {
                return self.snapshot_if(changed);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Waits (at most 5 s, polling with a doubling pause from 1 ms) until the
    /// namespace's served revision reaches `want`.
    async fn await_revision(&mut self, want: i64) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut pause = Duration::from_millis(1);
        loop {
            let served = self
                .client
                .served_revision(&self.namespace, &mut self.revision_etag)
                .await;
            match served {
                Ok(revision) if revision >= want => return Ok(()),
                // Deleted: nothing to wait for.
                Err(err) if err.status() == Some(404) => return Ok(()),
                Err(err) => return Err(err),
                Ok(_) if tokio::time::Instant::now() >= deadline => return Ok(()),
                Ok(_) => {}
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Follows the stream for ever: connect, catch up, read; on any failure
    /// wait (backoff with jitter) and do it again.
    async fn run(mut self) {
        let mut backoff = self.min_backoff;
        loop {
            match self.connection().await {
                Ok(ended) => {
                    backoff = self.min_backoff;
                    match ended {
                        Ended::Stream(why) => tracing::info!(
                            namespace = %self.namespace, why, "event stream ended; reconnecting"
                        ),
                        Ended::Refresh(err) => tracing::warn!(
                            namespace = %self.namespace, %err, "fetching descriptors failed; reconnecting"
                        ),
                    }
                }
                Err(err) => tracing::warn!(
                    namespace = %self.namespace,
                    %err,
                    retry_in = ?backoff,
                    "registry unreachable; serving the last good snapshot"
                ),
            }
            if let Some(shared) = &self.shared {
                shared.connected.store(false, Ordering::Relaxed);
            }
            let jitter = backoff.mul_f64(rand::random::<f64>() * 0.5);
            tokio::time::sleep(backoff + jitter).await;
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    /// One connection: open the stream after the cursor, refresh (what
    /// changed while disconnected), then refresh on each relevant event.
    /// `Err` when it could not connect or catch up.
    async fn connection(&mut self) -> Result<Ended> {
        if self.cursor.is_none() {
            self.cursor = Some(self.head().await?);
        }
        let query = self.query();
        let open = self.client.event_stream(&query, self.cursor);
        let mut stream = tokio::time::timeout(self.idle_timeout, open)
            .await
            .map_err(|_| {
                Error::Unexpected(format!(
                    "the event stream did not open within {:?}",
                    self.idle_timeout
                ))
            })??;
        self.refresh().await?;
        if let Some(shared) = &self.shared {
            shared.connected.store(true, Ordering::Relaxed);
        }
        // A gRPC stream is silent while nothing happens (HTTP/2 pings watch
        // its connection): no idle timeout for it.
        let idle_timeout = if stream.keeps_alive() {
            self.idle_timeout
        } else {
            Duration::MAX
        };
        loop {
            let next = tokio::time::timeout(idle_timeout, stream.next());
            let item = match next.await {
                Err(_) => return Ok(Ended::Stream("idle timeout".into())),
                Ok(Err(err)) => return Ok(Ended::Stream(err.to_string())),
                Ok(Ok(None)) => return Ok(Ended::Stream("closed by the server".into())),
                Ok(Ok(Some(item))) => item,
            };
            // Every item already received counts as one change: one fetch.
            let mut dirty = self.note(&item);
            while stream.has_buffered() {
                match stream.next().await {
                    Ok(Some(item)) => dirty |= self.note(&item),
                    _ => break,
                }
            }
            if dirty && let Err(err) = self.refresh().await {
                return Ok(Ended::Refresh(err));
            }
        }
    }

    /// Moves the cursor past `item`; whether it may change the descriptors.
    fn note(&mut self, item: &StreamItem) -> bool {
        match item {
            StreamItem::Truncated => true,
            StreamItem::Event(event) => {
                self.cursor = Some(self.cursor.map_or(event.id, |c| c.max(event.id)));
                let changes = !UNCHANGING_KINDS.contains(&event.kind.as_str());
                if changes
                    && event.kind != "namespace.deleted"
                    && let Some(revision) = event.payload.get("revision").and_then(|r| r.as_i64())
                {
                    self.want_revision =
                        Some(self.want_revision.map_or(revision, |w| w.max(revision)));
                }
                changes
            }
        }
    }
}

/// One `FileDescriptorSet` of the files of `sets`, each file once (by
/// name), kept byte for byte (custom options survive).
fn merge<'a>(sets: impl Iterator<Item = &'a Bytes>) -> Result<Bytes> {
    let mut seen = std::collections::HashSet::new();
    let mut out = BytesMut::new();
    for set in sets {
        let mut rest: &[u8] = set;
        while !rest.is_empty() {
            let bad = |e: prost::DecodeError| Error::Descriptor(e.to_string());
            let (tag, wire_type) = prost::encoding::decode_key(&mut rest).map_err(bad)?;
            if wire_type != prost::encoding::WireType::LengthDelimited {
                return Err(Error::Descriptor(format!(
                    "unexpected field {tag} in a FileDescriptorSet"
                )));
            }
            let len = usize::try_from(prost::encoding::decode_varint(&mut rest).map_err(bad)?)
                .map_err(|_| Error::Descriptor("length overflow".into()))?;
            if len > rest.len() {
                return Err(Error::Descriptor("truncated FileDescriptorSet".into()));
            }
            let (file, tail) = rest.split_at(len);
            rest = tail;
            if tag != 1 {
                continue;
            }
            let name = prost_types_name(file).map_err(bad)?;
            if seen.insert(name) {
                prost::encoding::encode_key(
                    1,
                    prost::encoding::WireType::LengthDelimited,
                    &mut out,
                );
                prost::encoding::encode_varint(len as u64, &mut out);
                out.extend_from_slice(file);
            }
        }
    }
    Ok(out.freeze())
}

/// The `name` (field 1) of an encoded `FileDescriptorProto`.
fn prost_types_name(file: &[u8]) -> Result<String, prost::DecodeError> {
    #[derive(Clone, PartialEq, Message)]
    struct NameOnly {
        #[prost(string, optional, tag = "1")]
        name: Option<String>,
    }
    Ok(NameOnly::decode(file)?.name.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str) -> Vec<u8> {
        // FileDescriptorProto { name = 1, package = 2 }
        let mut out = Vec::new();
        prost::encoding::string::encode(1, &name.to_owned(), &mut out);
        prost::encoding::string::encode(2, &"p".to_owned(), &mut out);
        out
    }

    fn set(names: &[&str]) -> Bytes {
        let mut out = Vec::new();
        for name in names {
            prost::encoding::bytes::encode(1, &file(name), &mut out);
        }
        Bytes::from(out)
    }

    #[test]
    fn merge_keeps_each_file_once_byte_for_byte() {
        let merged =
            merge([set(&["a.proto", "c.proto"]), set(&["b.proto", "c.proto"])].iter()).unwrap();
        assert_eq!(merged, set(&["a.proto", "c.proto", "b.proto"]));
        let err = merge([Bytes::from_static(&[0x0a, 0x05, 0x01])].iter()).unwrap_err();
        assert!(matches!(err, Error::Descriptor(_)), "{err}");
    }
}
