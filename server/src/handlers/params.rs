//! The path parameters of the routes, each described once for the OpenAPI
//! document (`params(...)` of each handler's `#[utoipa::path]`). Handlers
//! take their path as strings (`web::Path<(String, ...)>`) and validate it
//! themselves; these types are documentation only.
#![allow(dead_code)]

use utoipa::IntoParams;

/// `{ns}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct Ns {
    /// Namespace id
    #[param(
        pattern = "^(__builtins__|[A-Za-z0-9][A-Za-z0-9_.-]{0,127})$",
        example = "shop"
    )]
    ns: String,
}

/// `{ns}` of `DELETE /v1/namespaces/{ns}`: [`Ns`] with an example that is
/// not the namespace the other examples read (`scratch`, which the OpenAPI
/// fuzz test seeds for it).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct NsToDelete {
    /// Namespace id
    #[param(
        pattern = "^(__builtins__|[A-Za-z0-9][A-Za-z0-9_.-]{0,127})$",
        example = "scratch"
    )]
    ns: String,
}

/// `{schema}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct Schema {
    /// Schema id
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", example = "billing")]
    schema: String,
}

/// `{version}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct Version {
    /// A version number, `current` or `staged`
    #[param(example = "1")]
    version: String,
}

/// `{full_name}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FullName {
    /// Fully qualified name of a message, enum or service
    #[param(example = "billing.Invoice")]
    full_name: String,
}

/// `{plugin}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct Plugin {
    /// A code generator: a plugin's generator or a configured `protoc-gen-*`
    plugin: String,
}

/// `{id}` of `/v1/tokens/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenId {
    /// Token id
    #[param(minimum = 1, example = 1)]
    id: i64,
}

/// `{id}` of `/v1/jobs/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct JobId {
    /// Job id (from a promote's `jobs`)
    id: i64,
}

/// `{id}` of a repository source.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SourceId {
    /// Source id
    id: i64,
}

/// `{id}` of a webhook subscription.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookId {
    /// Subscription id
    #[param(example = 1)]
    id: i64,
}

/// `{id}` and `{delivery}` of a webhook delivery.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookDelivery {
    /// Subscription id
    #[param(example = 1)]
    id: i64,
    /// Delivery id
    #[param(example = 1)]
    delivery: i64,
}
