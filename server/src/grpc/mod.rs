//! The gRPC API (docs/API.md, gRPC), served by tonic next to the HTTP
//! server on `grpc.listen`: `protoregistry.v1.RegistryService`
//! ([`protoregistry`], wire-compatible with the protoregistry project's
//! service), `protoreg.v1.Registry` ([`protoreg`]: check, diff, staging,
//! namespace descriptor, validate, transcode, the event stream), gRPC
//! health and server reflection (v1 and v1alpha).
//!
//! Every call goes through the same registry calls, auth (a
//! `authorization: Bearer <token>` metadata entry, the same roles), limits
//! and error codes as HTTP ([`status`] maps them to gRPC codes). The code
//! of both services is generated at build time from `client/proto/` with
//! protox as the compiler (`build.rs`); descriptor sets go out as stored
//! ([`raw`]).

pub mod protoreg;
pub mod protoregistry;
pub mod status;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use protoreg_core::auth::{Principal, Role};
use protoreg_core::feed::EventFeed;
use protoreg_core::{Registry, RegistryError};
use serde_json::{Map, Value};
use tokio::sync::watch;
use tonic::metadata::MetadataMap;
use tonic::{Code, Response, Status};

use crate::metrics::Metrics;
use crate::reload::RuntimeConfig;

/// Generated from `client/proto/protoregistry/v1/registry.proto`.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod protoregistry_v1 {
    tonic::include_proto!("protoregistry.v1");
}

/// Generated from `client/proto/protoreg/v1/registry.proto`.
#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
pub mod protoreg_v1 {
    tonic::include_proto!("protoreg.v1");
}

/// The encoded descriptor set of both services and their imports, for
/// reflection.
const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/grpc_descriptor_set.bin"));

/// What every gRPC handler shares.
#[derive(Clone)]
pub struct Grpc {
    pub registry: Registry,
    pub runtime: Arc<RuntimeConfig>,
    pub metrics: Arc<Metrics>,
    pub feed: EventFeed,
    /// `grpc.listen` is a loopback address: `auth.anonymous = "auto"`
    /// grants anonymous admin over gRPC only then (and when HTTP's
    /// `listen` is loopback too).
    pub loopback: bool,
}

impl Grpc {
    /// Who is calling: the `authorization` metadata, checked as HTTP checks
    /// its header, against the configuration in force.
    pub async fn caller(&self, metadata: &MetadataMap) -> Result<Principal, Status> {
        let live = self.runtime.live();
        let mut settings = live.auth.clone().map_err(|err| {
            status::status(&RegistryError::Internal(format!("auth settings: {err}")))
        })?;
        if live.config.auth.anonymous == "auto" && !self.loopback {
            settings.anonymous = None;
        }
        let value = metadata.get("authorization").map(|v| v.as_bytes());
        Ok(crate::auth::principal_of(value, &self.registry, &settings).await?)
    }

    /// The caller, checked for `role` in `namespace`.
    pub async fn caller_in(
        &self,
        metadata: &MetadataMap,
        namespace: &str,
        role: Role,
    ) -> Result<Principal, Status> {
        let principal = self.caller(metadata).await?;
        crate::auth::check_namespace_role(&principal, namespace, role)?;
        Ok(principal)
    }

    /// The caller, who must hold some role (HTTP's `Caller` routes).
    pub async fn any_caller(&self, metadata: &MetadataMap) -> Result<Principal, Status> {
        let principal = self.caller(metadata).await?;
        if principal.grants.is_empty() {
            let err = if principal.anonymous {
                RegistryError::Unauthenticated("a token is required: this needs a role".into())
            } else {
                RegistryError::PermissionDenied("this needs a role".into())
            };
            return Err(status::status(&err));
        }
        Ok(principal)
    }

    /// Runs one call, counting it in `protoreg_grpc_requests_total{method,
    /// code}` and timing it in `protoreg_grpc_request_duration_seconds`.
    pub async fn run<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = Result<T, Status>>,
    ) -> Result<Response<T>, Status> {
        let start = Instant::now();
        let result = call.await;
        let code = match &result {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
        self.metrics.observe_grpc(method, code, start.elapsed());
        result.map(Response::new)
    }
}

/// A JSON object as protoregistry's `map<string, string>`: strings as they
/// are, other values as JSON text.
pub fn string_map(map: &Map<String, Value>) -> std::collections::HashMap<String, String> {
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A running gRPC server: [`Running::stop`] drains it.
pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Starts the drain when called (on SIGTERM, with the HTTP server's).
    pub fn stopper(&self) -> impl Fn() + Send + Sync + 'static {
        let stop = self.stop.clone();
        move || {
            let _ = stop.send(true);
        }
    }

    /// Stops taking connections, lets calls in flight finish (at most
    /// `grace`), then closes what is left.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            tracing::warn!("gRPC calls still running after the shutdown timeout; closing them");
            task.abort();
        }
    }
}

/// Binds `listen` and serves the gRPC API on it (over TLS with `tls`) until
/// [`Running::stop`].
pub async fn start(
    listen: &str,
    grpc: Grpc,
    tls: Option<Arc<rustls::ServerConfig>>,
    max_message_bytes: usize,
) -> anyhow::Result<Running> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("gRPC: listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let stop = Arc::new(stop);

    // NOT_SERVING until the registry has restored (as `/readyz`).
    let (health_reporter, health) = tonic_health::server::health_reporter();
    type RegistryService =
        protoregistry_v1::registry_service_server::RegistryServiceServer<protoregistry::Service>;
    type ProtoregService = protoreg_v1::registry_server::RegistryServer<protoreg::Service>;
    health_reporter.set_not_serving::<RegistryService>().await;
    health_reporter.set_not_serving::<ProtoregService>().await;
    health_reporter
        .set_service_status("", tonic_health::ServingStatus::NotServing)
        .await;
    {
        let registry = grpc.registry.clone();
        tokio::spawn(async move {
            while !registry.is_ready() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            health_reporter.set_serving::<RegistryService>().await;
            health_reporter.set_serving::<ProtoregService>().await;
            health_reporter
                .set_service_status("", tonic_health::ServingStatus::Serving)
                .await;
        });
    }
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("gRPC reflection")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("gRPC reflection")?;
    let registry_service = protoregistry_v1::registry_service_server::RegistryServiceServer::new(
        protoregistry::Service(grpc.clone()),
    )
    .max_decoding_message_size(max_message_bytes)
    .max_encoding_message_size(usize::MAX);
    let protoreg_service =
        protoreg_v1::registry_server::RegistryServer::new(protoreg::Service(grpc.clone()))
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(usize::MAX);

    let router = tonic::transport::Server::builder()
        .add_service(registry_service)
        .add_service(protoreg_service)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let task = match tls {
        None => {
            // Small answers go out at once (no Nagle delay behind a
            // delayed ACK: without this a call took ~40 ms).
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            tokio::spawn(async move {
                if let Err(err) = router
                    .serve_with_incoming_shutdown(incoming, shutdown)
                    .await
                {
                    tracing::error!(%err, "gRPC server failed");
                }
            })
        }
        Some(tls) => {
            let mut tls = (*tls).clone();
            tls.alpn_protocols = vec![b"h2".to_vec()];
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
            let incoming = tls_incoming(listener, acceptor);
            tokio::spawn(async move {
                if let Err(err) = router
                    .serve_with_incoming_shutdown(incoming, shutdown)
                    .await
                {
                    tracing::error!(%err, "gRPC server failed");
                }
            })
        }
    };
    Ok(Running { addr, stop, task })
}

/// TLS connections of `listener`: each handshake on a task of its own (at
/// most 10 s), so a slow client holds up no other; failed handshakes are
/// logged and dropped.
fn tls_incoming(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
) -> impl tokio_stream::Stream<Item = std::io::Result<TlsConnection>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, "gRPC: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if sender.is_closed() {
                break;
            }
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, %peer, "gRPC: setting TCP_NODELAY failed");
            }
            let acceptor = acceptor.clone();
            let sender = sender.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = sender.send(Ok(TlsConnection { stream, peer })).await;
                    }
                    Ok(Err(err)) => tracing::debug!(%err, %peer, "gRPC: TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "gRPC: TLS handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(receiver)
}

/// One TLS connection of the gRPC listener.
pub struct TlsConnection {
    stream: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    peer: SocketAddr,
}

impl tonic::transport::server::Connected for TlsConnection {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        tonic::transport::server::TcpConnectInfo {
            local_addr: self.stream.get_ref().0.local_addr().ok(),
            remote_addr: Some(self.peer),
        }
    }
}

impl tokio::io::AsyncRead for TlsConnection {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
