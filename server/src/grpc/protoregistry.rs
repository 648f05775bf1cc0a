//! `protoregistry.v1.RegistryService`: the protoregistry project's service
//! on protoreg's registry. Semantics follow protoregistry's where the two
//! differ only in naming: version 0 means current, `force` needs a global
//! admin, an empty `next_page_token` ends a list, `page_size` 0 is the
//! default (100, at most `limits.max_page_size`) and a larger one is
//! capped. Roles are HTTP's: read for the reads, write for Publish, admin
//! for Promote, DiscardStaging, Rollback and CreateNamespace.

use std::collections::BTreeMap;

use protoreg_core::auth::Role;
use protoreg_core::{NamespaceId, PublishRequest, SchemaId, VersionRef};
use tonic::{Request, Response, Status};

use super::protoregistry_v1 as pb;
use super::status::{invalid, status};
use super::{Grpc, string_map, timestamp};
use crate::handlers::{PageQuery, paginate};
use protoreg_client::RawFileDescriptorSet;

/// protoregistry's default page size.
const DEFAULT_PAGE_SIZE: usize = 100;

pub struct Service(pub Grpc);

fn namespace(raw: &str) -> Result<NamespaceId, Status> {
    NamespaceId::parse(raw).map_err(|e| status(&e))
}

fn schema(raw: &str) -> Result<SchemaId, Status> {
    SchemaId::parse(raw).map_err(|e| status(&e))
}

/// A version number of a request: 0 is current.
fn version_ref(version: u64) -> Result<VersionRef, Status> {
    match version {
        0 => Ok(VersionRef::Current),
        n => i32::try_from(n)
            .map(VersionRef::Number)
            .map_err(|_| invalid(format!("version {n} is out of range"))),
    }
}

fn version_u64(version: i32) -> u64 {
    u64::try_from(version).unwrap_or(0)
}

/// One page: `page_size` 0 → the default, above the cap → the cap
/// (protoregistry clamps where HTTP refuses).
fn page<T>(
    grpc: &Grpc,
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    page_size: u32,
    page_token: String,
) -> Result<(Vec<T>, String), Status> {
    let max = grpc.registry.limits().max_page_size.max(1);
    let size = match usize::try_from(page_size).unwrap_or(usize::MAX) {
        0 => DEFAULT_PAGE_SIZE.min(max),
        n => n.min(max),
    };
    let query = PageQuery {
        page_size: Some(size),
        page_token: Some(page_token),
    };
    let (items, next) = paginate(&grpc.registry, items, key, &query)?;
    Ok((items, next.unwrap_or_default()))
}

/// The schema's versions' sources as UTF-8 text.
fn text_sources(
    sources: std::collections::HashMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, String>, Status> {
    sources
        .into_iter()
        .map(|(path, content)| match String::from_utf8(content) {
            Ok(text) => Ok((path, text)),
            Err(_) => Err(invalid(format!("{path}: the source is not UTF-8 text"))),
        })
        .collect()
}

#[tonic::async_trait]
impl pb::registry_service_server::RegistryService for Service {
    async fn publish(
        &self,
        request: Request<pb::PublishRequest>,
    ) -> Result<Response<pb::PublishResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/Publish", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            let principal = grpc.caller_in(&metadata, ns.as_str(), Role::Write).await?;
            if req.force {
                crate::auth::check_global_admin(&principal, "force")?;
            }
            let schema = schema(&req.schema_id)?;
            let sources = text_sources(req.sources)?;
            let outcome = grpc
                .registry
                .publish(
                    &ns,
                    PublishRequest {
                        schema,
                        sources,
                        created_by: req.created_by,
                        metadata: req
                            .metadata
                            .into_iter()
                            .map(|(k, v)| (k, serde_json::Value::String(v)))
                            .collect(),
                        force: req.force,
                    },
                )
                .await;
            let outcome = grpc.metrics.publish(outcome).map_err(|e| status(&e))?;
            Ok(pb::PublishResponse {
                version: version_u64(outcome.version.version),
                fingerprint: outcome.version.fingerprint.clone(),
                no_change: outcome.no_change,
            })
        })
        .await
    }

    async fn promote(
        &self,
        request: Request<pb::PromoteRequest>,
    ) -> Result<Response<pb::PromoteResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/Promote", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Admin).await?;
            let outcome = grpc
                .metrics
                .promote(grpc.registry.promote(ns.as_str(), false).await)
                .map_err(|e| status(&e))?;
            Ok(pb::PromoteResponse {
                promoted: outcome
                    .promoted
                    .into_iter()
                    .map(|p| pb::PromotedSchema {
                        schema_id: p.schema.to_string(),
                        current_version: version_u64(p.to_version),
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn discard_staging(
        &self,
        request: Request<pb::DiscardStagingRequest>,
    ) -> Result<Response<pb::DiscardStagingResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/DiscardStaging", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Admin).await?;
            grpc.registry
                .discard(ns.as_str())
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::DiscardStagingResponse {})
        })
        .await
    }

    async fn rollback(
        &self,
        request: Request<pb::RollbackRequest>,
    ) -> Result<Response<pb::RollbackResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/Rollback", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            let principal = grpc.caller_in(&metadata, ns.as_str(), Role::Admin).await?;
            if req.force {
                crate::auth::check_global_admin(&principal, "force")?;
            }
            let schema = schema(&req.schema_id)?;
            let version = match version_ref(req.version)? {
                VersionRef::Number(n) => n,
                _ => return Err(invalid("version is required (a positive integer)")),
            };
            grpc.registry
                .rollback(ns.as_str(), schema, version, req.force)
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::RollbackResponse {})
        })
        .await
    }

    async fn get_schema(
        &self,
        request: Request<pb::GetSchemaRequest>,
    ) -> Result<Response<pb::GetSchemaResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/GetSchema", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let schema = schema(&req.schema_id)?;
            let versions = grpc
                .registry
                .versions(ns.as_str(), schema.as_str())
                .await
                .map_err(|e| status(&e))?;
            let view = grpc.registry.view(ns.as_str()).map_err(|e| status(&e))?;
            let entry = view.schemas.get(schema.as_str());
            let latest = entry.and_then(|e| e.proposed());
            Ok(pb::GetSchemaResponse {
                schema: Some(pb::SchemaInfo {
                    namespace_id: ns.to_string(),
                    schema_id: schema.to_string(),
                    current_version: entry
                        .and_then(|e| e.current.as_ref())
                        .map(|v| version_u64(v.version)),
                    staged_version: entry
                        .and_then(|e| e.staged.as_ref())
                        .map(|v| version_u64(v.version)),
                    // The schema came to be with its first version.
                    created_at: versions.first().map(|v| timestamp(v.created_at)),
                    metadata: latest.map(|v| string_map(&v.metadata)).unwrap_or_default(),
                    versions: versions.iter().map(|v| version_u64(v.version)).collect(),
                }),
            })
        })
        .await
    }

    async fn list_schemas(
        &self,
        request: Request<pb::ListSchemasRequest>,
    ) -> Result<Response<pb::ListSchemasResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/ListSchemas", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let view = grpc.registry.view(ns.as_str()).map_err(|e| status(&e))?;
            let schemas: Vec<pb::SchemaInfo> = view
                .schemas
                .iter()
                .map(|(id, entry)| pb::SchemaInfo {
                    namespace_id: ns.to_string(),
                    schema_id: id.to_string(),
                    current_version: entry.current.as_ref().map(|v| version_u64(v.version)),
                    staged_version: entry.staged.as_ref().map(|v| version_u64(v.version)),
                    // As protoregistry's list: no version list; the
                    // creation time is GetSchema's.
                    created_at: None,
                    metadata: entry
                        .proposed()
                        .map(|v| string_map(&v.metadata))
                        .unwrap_or_default(),
                    versions: Vec::new(),
                })
                .collect();
            let (schemas, next_page_token) = page(
                grpc,
                schemas,
                |s| s.schema_id.clone(),
                req.page_size,
                req.page_token,
            )?;
            Ok(pb::ListSchemasResponse {
                schemas,
                next_page_token,
            })
        })
        .await
    }

    async fn get_descriptor(
        &self,
        request: Request<pb::GetDescriptorRequest>,
    ) -> Result<Response<pb::GetDescriptorResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/GetDescriptor", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let schema = schema(&req.schema_id)?;
            let (snapshot, _) = grpc
                .registry
                .version(ns.as_str(), schema.as_str(), version_ref(req.version)?)
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::GetDescriptorResponse {
                version: version_u64(snapshot.version),
                file_descriptor_set: Some(RawFileDescriptorSet(snapshot.descriptor_set.clone())),
            })
        })
        .await
    }

    async fn get_source(
        &self,
        request: Request<pb::GetSourceRequest>,
    ) -> Result<Response<pb::GetSourceResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/GetSource", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let schema = schema(&req.schema_id)?;
            let which = version_ref(req.version)?;
            let (snapshot, _) = grpc
                .registry
                .version(ns.as_str(), schema.as_str(), which)
                .await
                .map_err(|e| status(&e))?;
            let sources = grpc
                .registry
                .sources(
                    ns.as_str(),
                    schema.as_str(),
                    VersionRef::Number(snapshot.version),
                )
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::GetSourceResponse {
                version: version_u64(snapshot.version),
                sources: sources
                    .into_iter()
                    .map(|(path, text)| (path, text.into_bytes()))
                    .collect(),
            })
        })
        .await
    }

    async fn list_namespaces(
        &self,
        request: Request<pb::ListNamespacesRequest>,
    ) -> Result<Response<pb::ListNamespacesResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/ListNamespaces", async {
            let (metadata, _, req) = request.into_parts();
            let caller = grpc.any_caller(&metadata).await?;
            let namespaces: Vec<pb::NamespaceInfo> = grpc
                .registry
                .views()
                .map_err(|e| status(&e))?
                .iter()
                .filter(|v| {
                    v.info.name.is_builtins() || caller.can(v.info.name.as_str(), Role::Read)
                })
                .map(|v| pb::NamespaceInfo {
                    id: v.info.name.to_string(),
                    created_at: Some(timestamp(v.info.created_at)),
                    metadata: string_map(&v.info.metadata),
                    parent_namespace_id: None,
                })
                .collect();
            let (namespaces, next_page_token) = page(
                grpc,
                namespaces,
                |n| n.id.clone(),
                req.page_size,
                req.page_token,
            )?;
            Ok(pb::ListNamespacesResponse {
                namespaces,
                next_page_token,
            })
        })
        .await
    }

    async fn create_namespace(
        &self,
        request: Request<pb::CreateNamespaceRequest>,
    ) -> Result<Response<pb::CreateNamespaceResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/CreateNamespace", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Admin).await?;
            if req.parent_namespace_id.is_some() {
                return Err(invalid(
                    "parent_namespace_id: protoreg has no namespace hierarchy",
                ));
            }
            if ns.is_builtins() {
                return Err(invalid("__builtins__ is reserved"));
            }
            let exists = grpc
                .registry
                .views()
                .map_err(|e| status(&e))?
                .iter()
                .any(|v| v.info.name == ns);
            if exists {
                return Err(Status::already_exists(format!(
                    "namespace {ns} already exists"
                )));
            }
            let metadata = (!req.metadata.is_empty()).then(|| {
                req.metadata
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect()
            });
            let (_, created) = grpc
                .registry
                .put_namespace(&ns, metadata, None)
                .await
                .map_err(|e| status(&e))?;
            if !created {
                return Err(Status::already_exists(format!(
                    "namespace {ns} already exists"
                )));
            }
            Ok(pb::CreateNamespaceResponse {})
        })
        .await
    }

    async fn set_namespace_parent(
        &self,
        request: Request<pb::SetNamespaceParentRequest>,
    ) -> Result<Response<pb::SetNamespaceParentResponse>, Status> {
        let grpc = &self.0;
        grpc.run(
            "protoregistry.v1.RegistryService/SetNamespaceParent",
            async {
                let (metadata, _, req) = request.into_parts();
                let ns = namespace(&req.namespace_id)?;
                grpc.caller_in(&metadata, ns.as_str(), Role::Admin).await?;
                Err(Status::unimplemented(
                    "protoreg has no namespace hierarchy: namespaces import __builtins__ only",
                ))
            },
        )
        .await
    }

    async fn get_rebase_status(
        &self,
        request: Request<pb::GetRebaseStatusRequest>,
    ) -> Result<Response<pb::GetRebaseStatusResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/GetRebaseStatus", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Read).await?;
            let schema = schema(&req.schema_id)?;
            // The schema must exist; it has no pins on parent namespaces.
            grpc.registry
                .version(ns.as_str(), schema.as_str(), VersionRef::Current)
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::GetRebaseStatusResponse {
                pin_statuses: Vec::new(),
                rebase_available: false,
            })
        })
        .await
    }

    async fn rebase(
        &self,
        request: Request<pb::RebaseRequest>,
    ) -> Result<Response<pb::RebaseResponse>, Status> {
        let grpc = &self.0;
        grpc.run("protoregistry.v1.RegistryService/Rebase", async {
            let (metadata, _, req) = request.into_parts();
            let ns = namespace(&req.namespace_id)?;
            grpc.caller_in(&metadata, ns.as_str(), Role::Write).await?;
            let schema = schema(&req.schema_id)?;
            // No parent pins, so nothing to re-resolve: the current version.
            let (snapshot, _) = grpc
                .registry
                .version(ns.as_str(), schema.as_str(), VersionRef::Current)
                .await
                .map_err(|e| status(&e))?;
            Ok(pb::RebaseResponse {
                version: version_u64(snapshot.version),
                fingerprint: snapshot.fingerprint.clone(),
                no_change: true,
            })
        })
        .await
    }
}
