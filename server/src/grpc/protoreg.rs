//! `protoreg.v1.Registry`: what the HTTP API does beyond protoregistry's
//! service, with HTTP's roles: check (write), diff, staging, namespace
//! descriptor, validate, transcode (read), promote (admin), and
//! `WatchEvents`, the event feed as a server stream (any caller; each sees
//! the events of the namespaces it may read, as on `GET /v1/events/stream`).

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use prost_reflect::MessageDescriptor;
use protoreg_core::auth::Role;
use protoreg_core::dynamic::{self, Format};
use protoreg_core::feed::{EventFeed, EventFilter, Held, Scope, Wake};
use protoreg_core::store::EVENT_KINDS;
use protoreg_core::{NamespaceId, SchemaId, TypeScope, VersionRef};
use tonic::{Request, Response, Status};

use super::Grpc;
use super::protoreg_v1 as pb;
use super::status::{invalid, status};
use crate::handlers::{PageQuery, paginate};

/// Events read from the feed at a time.
const EVENT_BATCH: usize = 1000;

pub struct Service(pub Grpc);

fn namespace(raw: &str) -> Result<NamespaceId, Status> {
    NamespaceId::parse(raw).map_err(|e| status(&e))
}

fn schema(raw: &str) -> Result<SchemaId, Status> {
    SchemaId::parse(raw).map_err(|e| status(&e))
}

fn version_ref(raw: &str) -> Result<VersionRef, Status> {
    VersionRef::parse(raw).map_err(|e| status(&e))
}

fn u64_of(version: i32) -> u64 {
    u64::try_from(version).unwrap_or(0)
}

fn violation(v: protoreg_core::Violation) -> pb::Violation {
    pb::Violation {
        rule: v.rule,
        category: v.category,
        schema: v.schema,
        file: v.file,
        line: v.line,
        column: v.column,
        end_line: v.end_line,
        end_column: v.end_column,
        message: v.message,
        plugin: v.plugin,
    }
}

fn diff_entry(e: protoreg_core::diff::DiffEntry) -> pb::DiffEntry {
    let e = crate::api_types::DiffEntry::from(e);
    pb::DiffEntry {
        kind: e.kind,
        name: e.name,
        file: e.file,
        line: e.line,
        from: e.from,
        to: e.to,
    }
}

fn format_of(format: i32, what: &str) -> Result<Format, Status> {
    match pb::Format::try_from(format) {
        Ok(pb::Format::Binary) => Ok(Format::Binary),
        Ok(pb::Format::Json) => Ok(Format::Json),
        Ok(pb::Format::Text) => Ok(Format::Text),
        _ => Err(invalid(format!(
            "{what} must be FORMAT_BINARY, FORMAT_JSON or FORMAT_TEXT"
        ))),
    }
}

fn field_errors(errors: Vec<dynamic::FieldError>) -> Vec<pb::FieldError> {
    errors
        .into_iter()
        .map(|e| pb::FieldError {
            path: e.path,
            message: e.message,
        })
        .collect()
}

impl Service {
    /// The type a validate or transcode names, after a read check, and the
    /// body's format.
    async fn message_type(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        message: &pb::TypedMessage,
    ) -> Result<(Format, MessageDescriptor), Status> {
        let grpc = &self.0;
        let ns = namespace(&message.namespace)?;
        grpc.caller_in(metadata, ns.as_str(), Role::Read).await?;
        let format = format_of(message.format, "format")?;
        let version = (!message.version.is_empty())
            .then(|| version_ref(&message.version))
            .transpose()?;
        let schema = (!message.schema.is_empty()).then_some(message.schema.as_str());
        let scope: TypeScope = grpc
            .registry
            .type_scope(ns.as_str(), schema, version)
            .await
            .map_err(|e| status(&e))?;
        let descriptor = scope
            .pool
            .get_message_by_name(&message.full_name)
            .filter(|m| scope.admits(m.parent_file().name()))
            .ok_or_else(|| {
                status(&protoreg_core::RegistryError::NotFound(format!(
                    "type {} not found",
                    message.full_name
                )))
            })?;
        Ok((format, descriptor))
    }
}

type EventStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl pb::registry_server::Registry for Service {
    async fn check(
        &self,
        request: Request<pb::CheckRequest>,
    ) -> Result<Response<pb::CheckResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/Check", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace)?;
            let principal = grpc.caller_in(&metadata, ns.as_str(), Role::Write).await?;
            if req.force {
                crate::auth::check_global_admin(&principal, "force")?;
            }
            let schema = schema(&req.schema)?;
            let outcome = grpc
                .registry
                .check(
                    ns.as_str(),
                    schema,
                    req.sources.into_iter().collect(),
                    req.force,
                )
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::CheckResponse {
                compatible: outcome.compatible,
                violations: outcome.violations.into_iter().map(violation).collect(),
                errors: outcome
                    .errors
                    .into_iter()
                    .map(|e| pb::CompileError {
                        file: e.file,
                        line: e.line,
                        column: e.column,
                        message: e.message,
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn diff(
        &self,
        request: Request<pb::DiffRequest>,
    ) -> Result<Response<pb::DiffResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/Diff", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let schema = schema(&req.schema)?;
            let (changes, violations) = grpc
                .registry
                .diff(
                    ns.as_str(),
                    schema.as_str(),
                    version_ref(&req.from)?,
                    version_ref(&req.to)?,
                )
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::DiffResponse {
                violations: violations.into_iter().map(violation).collect(),
                added: changes.added.into_iter().map(diff_entry).collect(),
                removed: changes.removed.into_iter().map(diff_entry).collect(),
                changed: changes.changed.into_iter().map(diff_entry).collect(),
            })
        })
        .await
    }

    async fn list_staging(
        &self,
        request: Request<pb::ListStagingRequest>,
    ) -> Result<Response<pb::ListStagingResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/ListStaging", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let view = grpc.registry.view(ns.as_str()).map_err(|e| status(&e))?;
            let staged: Vec<pb::Staged> = view
                .staged()
                .map(|(schema, entry, version)| pb::Staged {
                    schema: schema.to_string(),
                    version: u64_of(version.version),
                    current_version: entry.current.as_ref().map(|v| u64_of(v.version)),
                })
                .collect();
            // As HTTP: page_size 0 is the default (limits.max_page_size).
            let query = PageQuery {
                page_size: (req.page_size > 0).then_some(req.page_size as usize),
                page_token: Some(req.page_token),
            };
            let (staged, next) = paginate(&grpc.registry, staged, |s| s.schema.clone(), &query)?;
            Ok(pb::ListStagingResponse {
                staged,
                next_page_token: next.unwrap_or_default(),
            })
        })
        .await
    }

    async fn promote(
        &self,
        request: Request<pb::PromoteRequest>,
    ) -> Result<Response<pb::PromoteResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/Promote", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Admin).await?;
            let outcome = grpc
                .metrics
                .promote(grpc.registry.promote(ns.as_str(), req.dry_run).await)
                .map_err(|e| status(&e))?;
            Ok(pb::PromoteResponse {
                promoted: outcome
                    .promoted
                    .into_iter()
                    .map(|p| pb::Promoted {
                        schema: p.schema.to_string(),
                        from_version: p.from_version.map(u64_of),
                        to_version: u64_of(p.to_version),
                    })
                    .collect(),
                revision: outcome.revision,
                dry_run: outcome.dry_run,
                compat_checker: outcome.compat_checker,
                jobs: outcome.jobs,
            })
        })
        .await
    }

    async fn get_namespace_descriptor(
        &self,
        request: Request<pb::GetNamespaceDescriptorRequest>,
    ) -> Result<Response<pb::GetNamespaceDescriptorResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/GetNamespaceDescriptor", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let view = grpc.registry.view(ns.as_str()).map_err(|e| status(&e))?;
            let etag = view.current.etag.clone();
            let not_modified = !req.if_none_match.is_empty() && req.if_none_match == etag;
            Ok(pb::GetNamespaceDescriptorResponse {
                file_descriptor_set: if not_modified {
                    Bytes::new()
                } else {
                    view.current.descriptor_set.clone()
                },
                etag,
                not_modified,
                revision: view.info.revision,
            })
        })
        .await
    }

    async fn validate(
        &self,
        request: Request<pb::ValidateRequest>,
    ) -> Result<Response<pb::ValidateResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/Validate", async {
            let (metadata, _, req) = request.into_parts();
            let message = req.message.ok_or_else(|| invalid("message is required"))?;
            let (format, descriptor) = self.message_type(&metadata, &message).await?;
            let body = Bytes::from(message.body);
            let errors = match dynamic::decode(&descriptor, format, &body) {
                Ok((_, problems)) => problems,
                Err(errors) => errors,
            };
            Ok(pb::ValidateResponse {
                valid: errors.is_empty(),
                errors: field_errors(errors),
            })
        })
        .await
    }

    async fn transcode(
        &self,
        request: Request<pb::TranscodeRequest>,
    ) -> Result<Response<pb::TranscodeResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/Transcode", async {
            let (metadata, _, req) = request.into_parts();
            let target = format_of(req.to, "to")?;
            let message = req.message.ok_or_else(|| invalid("message is required"))?;
            let (format, descriptor) = self.message_type(&metadata, &message).await?;
            let body = Bytes::from(message.body);
            let (decoded, _) = dynamic::decode(&descriptor, format, &body)
                .map_err(|errors| Status::from(crate::error::ApiError::InvalidMessage(errors)))?;
            let encoded = dynamic::encode(&decoded, target)
                .map_err(|e| invalid(format!("cannot encode the message: {e}")))?;
            Ok(pb::TranscodeResponse {
                body: encoded.to_vec(),
                format: req.to,
            })
        })
        .await
    }

    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let grpc = &self.0;
        grpc.run("protoreg.v1.Registry/WatchEvents", async {
            let (metadata, _, req) = request.into_parts();
            let principal = grpc.any_caller(&metadata).await?;
            if req.after < 0 {
                return Err(invalid("after must be 0 or more"));
            }
            let namespace = match req.namespace.as_str() {
                "" => None,
                name => {
                    let id = namespace(name)?;
                    crate::auth::check_namespace_role(&principal, id.as_str(), Role::Read)?;
                    Some(id.as_str().to_owned())
                }
            };
            let kinds = if req.kinds.is_empty() {
                None
            } else {
                for kind in &req.kinds {
                    if !EVENT_KINDS.contains(&kind.as_str()) {
                        return Err(invalid(format!(
                            "unknown event kind {kind:?}: one of {}",
                            EVENT_KINDS.join(", ")
                        )));
                    }
                }
                Some(req.kinds)
            };
            let filter = EventFilter {
                scope: Scope::of(&principal),
                namespace,
                kinds,
            };
            let held = grpc.feed.hold().map_err(|e| status(&e))?;
            let state = Watch {
                feed: grpc.feed.clone(),
                held,
                filter,
                cursor: req.after,
                pending: VecDeque::new(),
                first: true,
                done: false,
            };
            let stream = futures::stream::unfold(state, |mut state| async move {
                state.next().await.map(|item| (item, state))
            });
            Ok(Box::pin(stream) as EventStream)
        })
        .await
    }
}

/// An open `WatchEvents` stream.
struct Watch {
    feed: EventFeed,
    held: Held,
    filter: EventFilter,
    cursor: i64,
    pending: VecDeque<pb::Event>,
    first: bool,
    done: bool,
}

impl Watch {
    /// The next event; `None` ends the stream (shutdown).
    async fn next(&mut self) -> Option<Result<pb::Event, Status>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            let page = if self.first {
                self.feed.read(self.cursor, &self.filter, EVENT_BATCH).await
            } else {
                self.feed
                    .read_known(self.cursor, &self.filter, EVENT_BATCH)
                    .await
            };
            let page = match page {
                Ok(page) => page,
                Err(err) => {
                    self.done = true;
                    return Some(Err(status(&err)));
                }
            };
            if std::mem::take(&mut self.first) && page.truncated {
                self.pending.push_back(pb::Event {
                    truncated: true,
                    ..Default::default()
                });
            }
            self.cursor = page.last_id;
            for event in &page.events {
                self.pending.push_back(pb::Event {
                    id: event.id,
                    kind: event.kind.clone(),
                    namespace: event.namespace.clone().unwrap_or_default(),
                    created_at: event
                        .created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    payload_json: event.payload.to_string(),
                    truncated: false,
                });
            }
            if !self.pending.is_empty() {
                continue;
            }
            match self.held.wait(Duration::from_secs(15)).await {
                Wake::NewEvents | Wake::TimedOut => {}
                Wake::Closed => return None,
            }
        }
    }
}
